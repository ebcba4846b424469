//! Bearer-token authentication and per-RPC role checks.
//!
//! A tower layer validates the JWT (issuer, audience, expiry; EdDSA keys from config, HS256 only in
//! dev mode), puts the [`Caller`] into the request extensions, and checks the RPC's allowed roles
//! from the service's [`Policy`]. Missing or invalid token: `UNAUTHENTICATED`; role not allowed:
//! `PERMISSION_DENIED`. Ownership checks (an operator sees only its own data) stay in handlers.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tonic::Status;

use crate::config::AuthSettings;
use crate::error::ErrorDomain;

/// The platform roles (ARCHITECTURE "Security").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DataAuthority,
    ImplementingAgency,
    DataProvider,
    Operator,
    Developer,
    PricingAuthority,
    Evaluator,
    Auditor,
    /// 行业主管部门: sits on review panels and co-applies; never leads (REVIEW-EVALUATION §1.1).
    IndustryRegulator,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::DataAuthority,
        Role::ImplementingAgency,
        Role::DataProvider,
        Role::Operator,
        Role::Developer,
        Role::PricingAuthority,
        Role::Evaluator,
        Role::Auditor,
        Role::IndustryRegulator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::DataAuthority => "data_authority",
            Role::ImplementingAgency => "implementing_agency",
            Role::DataProvider => "data_provider",
            Role::Operator => "operator",
            Role::Developer => "developer",
            Role::PricingAuthority => "pricing_authority",
            Role::Evaluator => "evaluator",
            Role::Auditor => "auditor",
            Role::IndustryRegulator => "industry_regulator",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Token claims. `org` and `jurisdiction` are resource names (`organizations/…`, `jurisdictions/…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    #[serde(default)]
    pub org: String,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub jurisdiction: String,
}

/// The authenticated caller, available to handlers through `request.extensions()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub subject: String,
    pub organization: String,
    pub roles: Vec<Role>,
    pub jurisdiction: String,
}

impl Caller {
    /// The service itself (a scheduler, a consumer), audited as `service:<name>`; it holds no role.
    pub fn system(name: &str) -> Self {
        Self {
            subject: format!("service:{name}"),
            organization: String::new(),
            roles: Vec::new(),
            jurisdiction: String::new(),
        }
    }

    /// A caller without a token (public reads, objections).
    pub fn public() -> Self {
        Self {
            subject: "public".to_owned(),
            organization: String::new(),
            roles: Vec::new(),
            jurisdiction: String::new(),
        }
    }

    /// True for [`Caller::public`]: the request carried no token.
    pub fn is_public(&self) -> bool {
        self.subject == "public" && self.roles.is_empty()
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller oversees operator agreements, and so reads every agreement and what hangs off one
    /// (revenue sharing) without being a party to it.
    pub fn oversees_agreements(&self) -> bool {
        [
            Role::DataAuthority,
            Role::PricingAuthority,
            Role::Evaluator,
            Role::Auditor,
        ]
        .iter()
        .any(|r| self.has_role(*r))
    }

    /// Returns the caller of a request, or `UNAUTHENTICATED` for a public method called without one.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<&Caller, Status> {
        request
            .extensions()
            .get::<Caller>()
            .ok_or_else(|| Status::unauthenticated("this method needs a bearer token"))
    }
}

/// Who may call an RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No token needed (disclosure reads, objections, health, reflection).
    Public,
    /// A valid token carrying at least one of these roles.
    Roles(Vec<Role>),
    /// Any valid token.
    Authenticated,
    /// Not built yet: answers `UNIMPLEMENTED` and never reaches a handler.
    Unimplemented,
}

/// One RPC's line: who may call it, and the audit action its calls are recorded under.
#[derive(Debug, Clone)]
struct Line {
    access: Access,
    /// `<service>.<Rpc>`, e.g. `registry.RefuseRegistration`.
    action: Arc<str>,
}

/// The method a request is for, as its policy line names it; the auth layer puts it in the request's extensions.
#[derive(Debug, Clone)]
pub struct Action(pub Arc<str>);

/// The per-service table of allowed roles, keyed by full method path
/// (`/pdop.registry.v1.RegistryService/GetResource`). Deny by default: a method without a line is refused to
/// everyone, and `pdop_kit::testing::assert_policy_covers` checks that every RPC of the contract has one.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    methods: HashMap<String, Line>,
}

impl Policy {
    pub fn new() -> Self {
        Self::default()
    }

    /// The policy of `service` (`pdop.registry.v1.RegistryService`), one `(Rpc, access)` line per RPC.
    pub fn table(service: &str, lines: impl IntoIterator<Item = (&'static str, Access)>) -> Self {
        lines.into_iter().fold(Self::new(), |policy, (method, access)| {
            policy.allow(service, method, access)
        })
    }

    /// Adds `method` of `service` (e.g. `pdop.registry.v1.RegistryService`, `GetResource`).
    pub fn allow(mut self, service: &str, method: &str, access: Access) -> Self {
        let action = format!("{}.{method}", short_service_name(service));
        self.methods.insert(
            format!("/{service}/{method}"),
            Line {
                access,
                action: action.into(),
            },
        );
        self
    }

    /// Adds several methods of one service with the same access.
    pub fn allow_all(mut self, service: &str, methods: &[&str], access: Access) -> Self {
        for m in methods {
            self = self.allow(service, m, access.clone());
        }
        self
    }

    /// The lines of `service`, as `(Rpc, access)`.
    pub fn lines<'a>(&'a self, service: &str) -> impl Iterator<Item = (&'a str, &'a Access)> + 'a {
        let prefix = format!("/{service}/");
        self.methods.iter().filter_map(move |(path, line)| {
            path.strip_prefix(prefix.as_str())
                .map(|method| (method, &line.access))
        })
    }

    fn line(&self, path: &str) -> Option<&Line> {
        self.methods.get(path)
    }
}

/// `registry` for `pdop.registry.v1.RegistryService` (the audit action's prefix).
fn short_service_name(service: &str) -> &str {
    let mut parts = service.split('.');
    match (parts.next(), parts.next()) {
        (Some("pdop"), Some(short)) => short,
        _ => service,
    }
}

/// The Ed25519 public keys in a file of PEM blocks; a file without any is refused, as it is surely a mistake.
fn keys_in_file(path: &std::path::Path) -> anyhow::Result<Vec<DecodingKey>> {
    const END: &str = "-----END PUBLIC KEY-----";
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("auth.ed25519_public_keys_file {}: {e}", path.display()))?;
    let blocks: Vec<&str> = text
        .split_inclusive(END)
        .filter(|block| block.contains(END))
        .collect();
    if blocks.is_empty() {
        anyhow::bail!(
            "auth.ed25519_public_keys_file {} holds no PEM public key",
            path.display()
        );
    }
    blocks
        .iter()
        .enumerate()
        .map(|(i, block)| {
            DecodingKey::from_ed_pem(block.trim().as_bytes()).map_err(|e| {
                anyhow::anyhow!(
                    "key {} of auth.ed25519_public_keys_file {} is not an Ed25519 PEM key: {e}",
                    i + 1,
                    path.display()
                )
            })
        })
        .collect()
}

/// Validates tokens with the configured keys.
#[derive(Clone)]
pub struct Authenticator {
    keys: Arc<Vec<(DecodingKey, Algorithm)>>,
    issuer: String,
    audience: String,
}

impl Authenticator {
    pub fn from_settings(settings: &AuthSettings) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        for (i, pem) in settings.ed25519_public_keys.iter().enumerate() {
            let key = DecodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| {
                anyhow::anyhow!("auth.ed25519_public_keys[{i}] is not an Ed25519 PEM key: {e}")
            })?;
            keys.push((key, Algorithm::EdDSA));
        }
        if let Some(path) = &settings.ed25519_public_keys_file {
            keys.extend(keys_in_file(path)?.into_iter().map(|k| (k, Algorithm::EdDSA)));
        }
        if settings.dev_mode {
            let secret = settings.dev_secret.expose_secret();
            if secret.len() < 16 {
                anyhow::bail!("auth.dev_secret must be at least 16 characters when auth.dev_mode is on");
            }
            tracing::warn!("auth.dev_mode is on: HS256 development tokens are accepted");
            keys.push((DecodingKey::from_secret(secret.as_bytes()), Algorithm::HS256));
        }
        Ok(Self {
            keys: Arc::new(keys),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        })
    }

    /// Returns the caller named by a valid token, or why the token was refused.
    pub fn authenticate(&self, token: &str) -> Result<Caller, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        let mut last_error = "no key accepts this token's algorithm".to_owned();
        for (key, alg) in self.keys.iter().filter(|(_, alg)| *alg == header.alg) {
            let mut validation = Validation::new(*alg);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.leeway = 30;
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let c = data.claims;
                    if let Some(missing) = missing_scope(&c) {
                        return Err(missing);
                    }
                    return Ok(Caller {
                        subject: c.sub,
                        organization: c.org,
                        roles: c.roles,
                        jurisdiction: c.jurisdiction,
                    });
                }
                Err(e) => last_error = describe(e.kind()),
            }
        }
        Err(last_error)
    }
}

/// THREATS H2: every token but a pure auditor's acts for an organization inside a jurisdiction, so that party,
/// self-approval and jurisdiction checks always have something to compare; an empty claim would pass them all.
fn missing_scope(claims: &Claims) -> Option<String> {
    if !claims.roles.is_empty() && claims.roles.iter().all(|r| *r == Role::Auditor) {
        return None;
    }
    let named = |value: &str, collection: &str| {
        value
            .strip_prefix(collection)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    if !named(&claims.org, "organizations") {
        return Some("token lacks an `org` claim naming organizations/{id}".to_owned());
    }
    if !named(&claims.jurisdiction, "jurisdictions") {
        return Some("token lacks a `jurisdiction` claim naming jurisdictions/{id}".to_owned());
    }
    None
}

fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "token has expired".into(),
        K::InvalidIssuer => "token issuer is not accepted".into(),
        K::InvalidAudience => "token audience is not accepted".into(),
        K::InvalidSignature => "token signature is invalid".into(),
        K::MissingRequiredClaim(c) => format!("token lacks the `{c}` claim"),
        other => format!("token rejected: {other:?}"),
    }
}

/// What the auth layer lets through: the caller (if a token was given) and the method's audit action.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub caller: Option<Caller>,
    pub action: Option<Action>,
}

/// Decides one request: returns the caller (if any) and the method's action, or the refusal.
pub fn authorize(
    policy: &Policy,
    authenticator: &Authenticator,
    domain: &ErrorDomain,
    path: &str,
    authorization: Option<&str>,
) -> Result<Admitted, Status> {
    if path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.") {
        return Ok(Admitted {
            caller: None,
            action: None,
        });
    }
    let Some(line) = policy.line(path) else {
        return Err(domain.permission_denied("METHOD_NOT_ALLOWED", format!("no role may call {path}")));
    };
    if line.access == Access::Unimplemented {
        return Err(domain.unimplemented(path));
    }
    let token = authorization.and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let caller = match token {
        Some(token) => match authenticator.authenticate(token.trim()) {
            Ok(caller) => Some(caller),
            Err(reason) => return Err(domain.unauthenticated("INVALID_TOKEN", reason)),
        },
        None => None,
    };
    let admitted = |caller| {
        Ok(Admitted {
            caller,
            action: Some(Action(line.action.clone())),
        })
    };
    match (&line.access, caller) {
        (Access::Public, caller) => admitted(caller),
        (Access::Unimplemented, _) => Err(domain.unimplemented(path)),
        (_, None) => Err(domain.unauthenticated("MISSING_TOKEN", "this method needs a bearer token")),
        (Access::Authenticated, Some(caller)) => admitted(Some(caller)),
        (Access::Roles(allowed), Some(caller)) => {
            if caller.roles.iter().any(|r| allowed.contains(r)) {
                admitted(Some(caller))
            } else {
                let names: Vec<_> = allowed.iter().map(|r| r.as_str()).collect();
                Err(domain.permission_denied(
                    "ROLE_NOT_ALLOWED",
                    format!("{path} needs one of the roles: {}", names.join(", ")),
                ))
            }
        }
    }
}

/// Tower layer applying [`authorize`] to every gRPC request.
#[derive(Clone)]
pub struct AuthLayer {
    policy: Arc<Policy>,
    authenticator: Authenticator,
    domain: ErrorDomain,
}

impl AuthLayer {
    pub fn new(policy: Policy, authenticator: Authenticator, domain: ErrorDomain) -> Self {
        Self {
            policy: Arc::new(policy),
            authenticator,
            domain,
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures_util::future::Either<S::Future, std::future::Ready<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let authorization = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let decision = authorize(
            &self.layer.policy,
            &self.layer.authenticator,
            &self.layer.domain,
            req.uri().path(),
            authorization,
        );
        match decision {
            Ok(Admitted { caller, action }) => {
                if let Some(caller) = caller {
                    req.extensions_mut().insert(caller);
                }
                if let Some(action) = action {
                    req.extensions_mut().insert(action);
                }
                futures_util::future::Either::Left(self.inner.call(req))
            }
            Err(status) => futures_util::future::Either::Right(std::future::ready(Ok(status.into_http()))),
        }
    }
}

/// Mints a token (the `pdop-token` tool and tests). HS256 with a secret, or EdDSA with a PEM key.
pub fn mint(claims: &Claims, key: &SigningKey) -> anyhow::Result<String> {
    let (header, key) = match key {
        SigningKey::Hs256(secret) => (
            jsonwebtoken::Header::new(Algorithm::HS256),
            jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        ),
        SigningKey::Ed25519Pem(pem) => (
            jsonwebtoken::Header::new(Algorithm::EdDSA),
            jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes())
                .map_err(|e| anyhow::anyhow!("not an Ed25519 private key (PKCS#8 PEM): {e}"))?,
        ),
    };
    Ok(jsonwebtoken::encode(&header, claims, &key)?)
}

/// Key material for [`mint`].
pub enum SigningKey {
    Hs256(String),
    Ed25519Pem(String),
}

/// Returns claims for `subject` valid for `ttl_secs` from now.
pub fn claims_for(
    settings: &AuthSettings,
    subject: &str,
    org: &str,
    roles: Vec<Role>,
    jurisdiction: &str,
    ttl_secs: u64,
) -> Claims {
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    Claims {
        sub: subject.to_owned(),
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        exp: now + ttl_secs,
        iat: now,
        org: org.to_owned(),
        roles,
        jurisdiction: jurisdiction.to_owned(),
    }
}

#[cfg(test)]
mod role_tests {
    use super::*;

    #[test]
    fn every_role_parses_from_its_name_and_industry_regulator_is_one() {
        // REVIEW-EVALUATION §1.1: nine roles, the ninth being 行业主管部门.
        let names: Vec<_> = Role::ALL.iter().map(|role| role.as_str()).collect();
        assert_eq!(
            names,
            [
                "data_authority",
                "implementing_agency",
                "data_provider",
                "operator",
                "developer",
                "pricing_authority",
                "evaluator",
                "auditor",
                "industry_regulator",
            ]
        );
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let claim = serde_json::to_string(&role).expect("serializes");
            assert_eq!(claim, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::parse("regulator"), None);
    }
}

#[cfg(test)]
mod key_file_tests {
    use super::*;

    const TWO_KEYS: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAOO/GPRTOjWRGTLspdqpX1de3xU85mL4pHNW+tgZN1fY=
-----END PUBLIC KEY-----
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEARJwxyGoIgQK4impLSyHmw7+7jm5LI0Ae98M0yWXVJmk=
-----END PUBLIC KEY-----
";

    fn file(text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("pdop-keys-{}.pem", uuid::Uuid::now_v7()));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    #[test]
    fn every_pem_block_of_the_keys_file_is_a_key() {
        let path = file(TWO_KEYS);
        assert_eq!(keys_in_file(&path).map(|k| k.len()).ok(), Some(2));
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_keys_file_without_keys_or_with_a_bad_one_is_refused() {
        let empty = file("\n");
        assert!(keys_in_file(&empty).is_err());
        let bad = file("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n");
        let err = keys_in_file(&bad)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("key 1 of auth.ed25519_public_keys_file"), "{err}");
        assert!(keys_in_file(std::path::Path::new("/nonexistent/keys.pem")).is_err());
        let _ = (std::fs::remove_file(empty), std::fs::remove_file(bad));
    }
}
