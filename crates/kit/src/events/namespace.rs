//! Every name the kit gives a thing in NATS (streams, the subjects on the wire, durable consumers, dead letters)
//! derives from `nats.namespace` (THREATS M15). Two releases, or a test and a running deployment, that share one
//! NATS server then never see each other's events. The contract keeps `pdop.`: the outbox stores, handlers match
//! on, and `ce-type` carries the contract subject; only the subject on the wire takes the namespace.

use std::fmt;

use serde::Deserialize;

/// The first token of every contract subject (`pdop.registry.jurisdiction.created`).
pub(super) const CONTRACT_ROOT: &str = "pdop";
const MAX_LEN: usize = 32;

/// A validated `nats.namespace`: 1 to 32 lowercase ASCII letters, digits, `_` or `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Namespace(String);

/// Why a string is not a namespace.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not a NATS namespace: use 1 to {MAX_LEN} lowercase ASCII letters, digits, `_` or `-`, starting with a letter"
)]
pub struct InvalidNamespace(String);

impl Namespace {
    /// The namespace of a deployment that sets none.
    pub const DEFAULT: &'static str = CONTRACT_ROOT;

    pub fn new(name: impl Into<String>) -> Result<Self, InvalidNamespace> {
        let name = name.into();
        let mut chars = name.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_allowed =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if starts_with_letter && rest_allowed && name.len() <= MAX_LEN {
            Ok(Self(name))
        } else {
            Err(InvalidNamespace(name))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What every stream name of this namespace starts with: `PDOP_` for `pdop`, `TEAM_A_` for `team-a`.
    pub fn stream_prefix(&self) -> String {
        format!("{}_", self.0.to_ascii_uppercase().replace('-', "_"))
    }

    /// The stream a producing service owns: `PDOP_REGISTRY` for `registry`.
    pub fn stream(&self, service: &str) -> String {
        format!("{}{}", self.stream_prefix(), service.to_ascii_uppercase())
    }

    /// The subjects that stream holds: `pdop.registry.>`.
    pub fn stream_subjects(&self, service: &str) -> String {
        format!("{}.{service}.>", self.0)
    }

    /// The stream that keeps every consumer's dead letters: `PDOP_DLQ`.
    pub fn dead_letter_stream(&self) -> String {
        self.stream("dlq")
    }

    /// The subjects of the dead-letter stream: `pdop.dlq.>`.
    pub fn dead_letter_subjects(&self) -> String {
        self.stream_subjects("dlq")
    }

    /// Where consumer `durable` (its own name, e.g. `registry-objections`) moves a message it gives up on.
    pub fn dead_letter_subject(&self, durable: &str) -> String {
        format!("{}.dlq.{durable}", self.0)
    }

    /// The durable consumer's name on the server: `pdop-registry-objections`.
    pub fn durable(&self, name: &str) -> String {
        format!("{}-{name}", self.0)
    }

    /// The subject a contract subject travels on: `pdop.registry.x.y` becomes `<namespace>.registry.x.y`.
    /// A subject outside the contract is put under the namespace as a whole, so nothing leaves it.
    pub fn wire_subject(&self, contract: &str) -> String {
        match contract
            .strip_prefix(CONTRACT_ROOT)
            .and_then(|rest| rest.strip_prefix('.'))
        {
            Some(rest) => format!("{}.{rest}", self.0),
            None => format!("{}.{contract}", self.0),
        }
    }

    /// The contract subject of a subject received on the wire; `None` when it is not in this namespace.
    pub fn contract_subject(&self, wire: &str) -> Option<String> {
        let rest = wire.strip_prefix(self.0.as_str())?.strip_prefix('.')?;
        Some(format!("{CONTRACT_ROOT}.{rest}"))
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

impl TryFrom<String> for Namespace {
    type Error = InvalidNamespace;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::new(name)
    }
}

impl std::str::FromStr for Namespace {
    type Err = InvalidNamespace;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::new(name)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(name: &str) -> Namespace {
        Namespace::new(name).unwrap()
    }

    // THREATS M15: every stream, subject, durable and dead-letter name derives from the namespace.
    #[test]
    fn every_name_derives_from_the_namespace() {
        let team = ns("team-a7");
        assert_eq!(team.stream("registry"), "TEAM_A7_REGISTRY");
        assert_eq!(team.stream_subjects("registry"), "team-a7.registry.>");
        assert_eq!(team.dead_letter_stream(), "TEAM_A7_DLQ");
        assert_eq!(team.dead_letter_subjects(), "team-a7.dlq.>");
        assert_eq!(
            team.dead_letter_subject("registry-objections"),
            "team-a7.dlq.registry-objections"
        );
        assert_eq!(team.durable("disclosure-registry"), "team-a7-disclosure-registry");
        assert_eq!(
            team.wire_subject("pdop.review.product_review.>"),
            "team-a7.review.product_review.>"
        );
        for name in [team.stream("pricing"), team.dead_letter_stream()] {
            assert!(name.starts_with(&team.stream_prefix()), "{name}");
        }
    }

    #[test]
    fn the_default_namespace_keeps_the_names_of_a_deployment_that_sets_none() {
        let default = Namespace::default();
        assert_eq!(default.stream("registry"), "PDOP_REGISTRY");
        assert_eq!(default.stream_subjects("registry"), "pdop.registry.>");
        assert_eq!(default.dead_letter_stream(), "PDOP_DLQ");
        assert_eq!(default.dead_letter_subjects(), "pdop.dlq.>");
        assert_eq!(
            default.wire_subject("pdop.registry.jurisdiction.created"),
            "pdop.registry.jurisdiction.created"
        );
    }

    #[test]
    fn the_wire_subject_maps_back_to_the_contract_subject() {
        let t = ns("t1f2e3d4c5b6a");
        let wire = t.wire_subject("pdop.registry.jurisdiction.created");
        assert_eq!(wire, "t1f2e3d4c5b6a.registry.jurisdiction.created");
        assert_eq!(
            t.contract_subject(&wire).as_deref(),
            Some("pdop.registry.jurisdiction.created")
        );
        assert_eq!(t.contract_subject("pdop.registry.jurisdiction.created"), None);
        assert_eq!(t.contract_subject("t1f2e3d4c5b6abc.registry.x"), None);
        assert_eq!(t.wire_subject("other.x"), "t1f2e3d4c5b6a.other.x");
    }

    #[test]
    fn only_short_lowercase_names_starting_with_a_letter_are_namespaces() {
        for good in ["pdop", "a", "staging-2", "t_0", &"x".repeat(32)] {
            assert!(Namespace::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Pdop",
            "2pdop",
            "-a",
            "a.b",
            "a b",
            "a*",
            "a>",
            "ä",
            &"x".repeat(33),
        ] {
            assert!(Namespace::new(bad).is_err(), "{bad}");
        }
    }
}
