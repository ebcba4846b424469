//! The lifecycle of public data across the five services, driven over gRPC only, one `async fn` per step:
//! jurisdictions, organizations, a resource and its registration through public notice, the implementation plan,
//! the operator agreement, the scenario and data use it allows, a product through compliance review to listing,
//! its pricing, the operator's evaluation and rectification, and the disclosure log that records every public
//! fact, verified and summed up in the annual report.
//!
//! [`Platform`] holds the clients, mints development tokens and moves the services' development clocks;
//! [`Province`] is what one jurisdiction's walk through the steps has made so far. `tests/e2e` starts the five
//! binaries and runs every step; `pdop-demo` runs them against the services `make run` started.

mod clock;
mod parties;
pub mod steps;

use std::path::PathBuf;
use std::time::Duration;

use pdop_kit::auth::{Role, SigningKey, claims_for, mint};
use pdop_kit::config::AuthSettings;
use pdop_proto::disclosure::v1::disclosure_service_client::DisclosureServiceClient;
use pdop_proto::evaluation::v1::evaluation_service_client::EvaluationServiceClient;
use pdop_proto::pricing::v1::pricing_service_client::PricingServiceClient;
use pdop_proto::registry::v1::registry_service_client::RegistryServiceClient;
use pdop_proto::review::v1::review_service_client::ReviewServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

pub use parties::Province;

/// How long a step waits for another service to react to an event.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the services listen.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// gRPC base URLs (`http://127.0.0.1:50051`).
    pub registry: String,
    pub review: String,
    pub pricing: String,
    pub evaluation: String,
    pub disclosure: String,
    /// Admin base URLs of all five (`http://127.0.0.1:9091`): their development clocks move together.
    pub admin: Vec<String>,
    /// The disclosure service's public HTTP base URL (pages, feeds, proofs, reports).
    pub public: String,
}

impl Endpoints {
    /// The ports `make run` (scripts/services.sh) uses.
    pub fn local() -> Self {
        let grpc = |port: u16| format!("http://127.0.0.1:{port}");
        Self {
            registry: grpc(50051),
            review: grpc(50052),
            pricing: grpc(50053),
            evaluation: grpc(50054),
            disclosure: grpc(50055),
            admin: (9091..=9095).map(grpc).collect(),
            public: grpc(8080),
        }
    }
}

/// The clients, the token minter and the clock mover every step uses, and a record of what was done.
pub struct Platform {
    pub registry: RegistryServiceClient<Channel>,
    pub review: ReviewServiceClient<Channel>,
    pub pricing: PricingServiceClient<Channel>,
    pub evaluation: EvaluationServiceClient<Channel>,
    pub disclosure: DisclosureServiceClient<Channel>,
    pub endpoints: Endpoints,
    pub http: reqwest::Client,
    /// The root jurisdiction's id; every token acts in it, so supervisors see both provinces.
    pub root: String,
    /// Makes names unique per run, so the demo can run again on the same databases.
    pub run: String,
    secret: String,
    /// Where `pdop-verify` is.
    pub bin_dir: PathBuf,
    /// The tree head `pdop-verify` trusts between its runs.
    pub verify_state: PathBuf,
    /// What the steps did, in order (the demo prints it).
    pub done: Vec<String>,
}

impl Platform {
    /// Connects to the five services; tokens are signed with the development `secret` and act in `root`.
    /// `bin_dir` holds `pdop-verify`.
    pub async fn connect(
        endpoints: Endpoints,
        secret: &str,
        root: &str,
        bin_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        let channel = |url: &str| -> anyhow::Result<Channel> {
            Ok(Channel::from_shared(url.to_owned())?
                .timeout(Duration::from_secs(30))
                .connect_lazy())
        };
        let id = uuid::Uuid::now_v7().simple().to_string();
        let run = id[id.len() - 8..].to_owned();
        Ok(Self {
            registry: RegistryServiceClient::new(channel(&endpoints.registry)?),
            review: ReviewServiceClient::new(channel(&endpoints.review)?),
            pricing: PricingServiceClient::new(channel(&endpoints.pricing)?),
            evaluation: EvaluationServiceClient::new(channel(&endpoints.evaluation)?),
            disclosure: DisclosureServiceClient::new(channel(&endpoints.disclosure)?),
            endpoints,
            http: reqwest::Client::new(),
            root: root.to_owned(),
            verify_state: steps::disclosure::verify_state_file(&run),
            run,
            secret: secret.to_owned(),
            bin_dir,
            done: Vec::new(),
        })
    }

    /// `message` as a call of `organization` (`organizations/…`) holding `roles`.
    pub fn acting<T>(&self, organization: &str, roles: &[Role], message: T) -> anyhow::Result<Request<T>> {
        let settings = AuthSettings {
            issuer: "pdop".to_owned(),
            audience: "pdop".to_owned(),
            ed25519_public_keys: Vec::new(),
            ed25519_public_keys_file: None,
            dev_mode: true,
            dev_secret: self.secret.clone().into(),
        };
        let claims = claims_for(
            &settings,
            "lifecycle",
            organization,
            roles.to_vec(),
            &format!("jurisdictions/{}", self.root),
            3600,
        );
        let token = mint(&claims, &SigningKey::Hs256(self.secret.clone()))?;
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        Ok(request)
    }

    /// `message` sent through `call` as `organization` holding `roles`, repeated while the service does not know
    /// what it names yet (see [`once_known`]); a fresh token each attempt.
    pub async fn once_known_as<M, T, F, Fut>(
        &self,
        what: &str,
        organization: &str,
        roles: &[Role],
        message: M,
        mut call: F,
    ) -> anyhow::Result<T>
    where
        M: Clone,
        F: FnMut(Request<M>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        // Boxed: inline, the service call's future (large in debug builds) would sit on the stack at every layer.
        Box::pin(once_known(what, || {
            let attempt = self
                .acting(organization, roles, message.clone())
                .map(|request| Box::pin(call(request)));
            async move { Ok(attempt?.await) }
        }))
        .await
    }

    /// Records one thing a step did.
    pub fn note(&mut self, what: impl Into<String>) {
        self.done.push(what.into());
    }

    /// The public page of the log entry numbered `sequence`.
    pub fn entry_page(&self, sequence: i64) -> String {
        format!("{}/entries/{sequence}", self.endpoints.public)
    }
}

/// Polls `condition` (an async block returning `anyhow::Result<bool>`) until it holds; an error ends the wait.
pub async fn until<F, Fut>(what: &str, condition: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    until_within(what, EVENT_TIMEOUT, condition).await
}

/// [`until`] with its own timeout.
pub async fn until_within<F, Fut>(what: &str, timeout: Duration, mut condition: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    // An error ends the wait at once and is returned, rather than polled again until the timeout.
    let failure = std::sync::Arc::new(std::sync::Mutex::new(None));
    pdop_testkit::wait_until(what, timeout, || {
        let attempt = condition();
        let failure = failure.clone();
        async move {
            match attempt.await {
                Ok(holds) => holds,
                Err(err) => {
                    *failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(err);
                    true
                }
            }
        }
    })
    .await?;
    let failed = failure
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    match failed {
        Some(err) => Err(err.context(format!("while waiting until {what}"))),
        None => Ok(()),
    }
}

/// Whether a refusal means another service's event has not reached the one called yet.
fn not_yet_known(status: &Status) -> bool {
    matches!(status.code(), Code::NotFound | Code::FailedPrecondition)
}

/// Repeats `call` while the service does not know what it names yet (it learns it from another service's
/// events); returns its answer. Any other refusal ends the wait.
async fn once_known<T, F, Fut>(what: &str, mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Result<T, Status>>>,
{
    let answer = std::sync::Arc::new(std::sync::Mutex::new(None));
    let last = std::sync::Arc::new(std::sync::Mutex::new(None));
    until(what, || {
        let attempt = call();
        let (answer, last) = (answer.clone(), last.clone());
        async move {
            match attempt.await? {
                Ok(value) => {
                    *answer.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(value);
                    Ok(true)
                }
                Err(status) if not_yet_known(&status) => {
                    *last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(status);
                    Ok(false)
                }
                Err(status) => Err(status.into()),
            }
        }
    })
    .await
    .map_err(|err| {
        let last = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match last {
            Some(status) => err.context(format!("last refusal: {status:?}")),
            None => err,
        }
    })?;
    let value = answer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    value.ok_or_else(|| anyhow::anyhow!("{what}: no answer"))
}
