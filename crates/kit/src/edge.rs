//! The edge check of a decoded message (THREATS H1.1, L10.1): no control characters in strings, bounded strings,
//! bytes and lists, as `pdop_proto::edge` documents. A violation is `INVALID_ARGUMENT` naming the field path.

use pdop_proto::Edge;
use pdop_proto::common::DocumentRef;

use crate::Violations;

/// Checks `message` against the edge rules, naming every field that breaks them.
pub fn check<M: Edge>(message: &M) -> Result<(), Violations> {
    let mut found = Vec::new();
    message.check_edge("", &mut found);
    if found.is_empty() {
        return Ok(());
    }
    let mut violations = Violations::new();
    for (field, description) in found {
        violations.add(field, description);
    }
    Err(violations)
}

/// A document is named by its URI and pinned by its SHA-256 (64 hex digits) when one is given.
pub fn document(d: Option<&DocumentRef>, field: &str, v: &mut Violations) {
    let Some(d) = d else { return };
    if d.uri.trim().is_empty() {
        v.add(format!("{field}.uri"), "is required");
    }
    if !d.sha256.is_empty() && (d.sha256.len() != 64 || !d.sha256.bytes().all(|b| b.is_ascii_hexdigit())) {
        v.add(format!("{field}.sha256"), "must be 64 hexadecimal digits");
    }
}

#[cfg(test)]
mod tests {
    use pdop_proto::common::DocumentRef;
    use pdop_proto::disclosure::v1::{CreateObjectionRequest, Objection};
    use tonic::Code;

    use super::*;
    use crate::ErrorDomain;

    fn objection(evidence: Vec<DocumentRef>) -> CreateObjectionRequest {
        CreateObjectionRequest {
            objection: Some(Objection {
                grounds: "The notice names the wrong provider.\nSee the attached register extract."
                    .to_owned(),
                evidence,
                ..Default::default()
            }),
            request_id: "0190c5a8-7d5e-7000-8000-000000000001".to_owned(),
        }
    }

    #[test]
    fn a_clean_request_passes() {
        let evidence = vec![DocumentRef {
            uri: "doc://extract".to_owned(),
            ..Default::default()
        }];
        assert_eq!(check(&objection(evidence)), Ok(()));
    }

    #[test]
    fn a_nul_is_invalid_argument_naming_the_field_path() {
        // THREATS L10.1: a NUL anywhere is INVALID_ARGUMENT naming the field, never a database error.
        let evidence = vec![
            DocumentRef::default(),
            DocumentRef {
                title: "report\0".to_owned(),
                ..Default::default()
            },
        ];
        let violations = check(&objection(evidence)).unwrap_err();
        assert_eq!(
            violations.fields().collect::<Vec<_>>(),
            ["objection.evidence[1].title"]
        );
        let status = ErrorDomain::new("disclosure").invalid(&violations);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "objection.evidence[1].title: must not contain control characters (U+0000 at character 7)"
        );
    }

    #[test]
    fn an_oversized_evidence_list_is_refused_on_the_list() {
        // THREATS H1: 20,000 evidence documents are refused on `objection.evidence`.
        let evidence = vec![
            DocumentRef {
                uri: "x".repeat(60),
                ..Default::default()
            };
            20_000
        ];
        let violations = check(&objection(evidence)).unwrap_err();
        assert_eq!(violations.fields().collect::<Vec<_>>(), ["objection.evidence"]);
    }
}
