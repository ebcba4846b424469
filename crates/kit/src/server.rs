//! Service assembly: every pdop binary is `pdop_kit::server::main::<MyService>()`.
//!
//! Start-up order: the gRPC port opens at once with health NOT_SERVING (and service RPCs answering
//! UNAVAILABLE); then the database is created if missing and migrated, NATS is connected, streams are
//! provisioned, the outbox relay and consumers start, and only then health turns SERVING. On SIGTERM
//! health turns NOT_SERVING first, then in-flight requests drain (bounded by `grpc.shutdown_grace`).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use async_nats::jetstream;
use clap::Parser;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::{AuthLayer, Authenticator, Policy};
use crate::clock::{Clock, PlatformClock};
use crate::config::{self, ServiceDefaults, Settings};
use crate::error::ErrorDomain;
use crate::events::{self, ConsumerSpec, Handler, Relay, RelayHandle};
use crate::layers::{ObserveLayer, ReadinessGate};
use crate::metrics::Metrics;
use crate::task::TaskHandle;

/// What a service adds to the shared runtime.
pub trait Service: Sized + Send + Sync + 'static {
    /// The service's own configuration section (`<name>:` in YAML).
    type Config: DeserializeOwned + Send + Sync + 'static;
    /// What every handler, consumer and task of the service shares, built once.
    type State: AsRef<Platform> + Send + Sync + 'static;
    /// Name and default ports.
    const DEFAULTS: ServiceDefaults;
    /// Fully qualified gRPC service, e.g. `pdop.registry.v1.RegistryService` (health and reflection).
    const GRPC_SERVICE: &'static str;
    /// Compiled defaults for [`Self::Config`], as YAML with the service name as top-level key.
    const CONFIG_DEFAULTS: &'static str;
    /// The trait methods the service implements (`Rpcs::IMPLEMENTED` of its `rpcs!` list).
    const IMPLEMENTED: &'static [&'static str];

    /// The encoded file descriptor set served by reflection.
    fn descriptor_set() -> &'static [u8];
    /// The service's migrations (`sqlx::migrate!()`).
    fn migrator() -> Migrator;
    /// Allowed roles per RPC, one line per RPC of the contract (deny by default).
    fn policy() -> Policy;
    /// Builds the state once (profiles, calendar, signer). The database is not migrated yet: no I/O on it.
    fn build(platform: Arc<Platform>, config: Self::Config) -> anyhow::Result<Self::State>;
    /// The gRPC routes: one line, the `rpcs!` server.
    fn routes(state: Arc<Self::State>) -> Routes;
    /// Starts consumers and tasks once the database, NATS and the relay are ready, before SERVING.
    fn on_ready(_state: Arc<Self::State>) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }
}

/// Shared handles given to handlers.
pub struct Platform {
    pub service: &'static str,
    pub settings: Settings,
    pub pool: PgPool,
    pub metrics: Metrics,
    pub errors: ErrorDomain,
    /// Call [`OutboxWaker::wake`] after committing a transaction that enqueued events.
    pub outbox_waker: events::OutboxWaker,
    /// Every "now" and "today" with domain meaning comes from here (tests and development runs move it).
    pub clock: PlatformClock,
    nats: OnceLock<async_nats::Client>,
    consumers: Mutex<Vec<events::ConsumerHandle>>,
    /// The service's own background tasks (schedulers, signers, servers), stopped after the gRPC drain.
    tasks: Mutex<Vec<(&'static str, TaskHandle)>>,
    stopping: watch::Receiver<bool>,
}

impl Platform {
    fn assemble(
        service: &'static str,
        settings: Settings,
        pool: PgPool,
        metrics: Metrics,
        clock: PlatformClock,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        Self {
            service,
            settings,
            pool,
            metrics,
            errors: ErrorDomain::new(service),
            outbox_waker: events::OutboxWaker::default(),
            clock,
            nats: OnceLock::new(),
            consumers: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            stopping,
        }
    }

    /// A platform over `pool` that serves nothing and runs no background task (tests of the unit of work,
    /// tools). Its outbox rows are published by whatever relay runs on the database.
    pub fn detached(service: &'static str, settings: Settings, pool: PgPool, clock: Arc<dyn Clock>) -> Self {
        let (_stop, stopping) = watch::channel(false);
        Self::assemble(
            service,
            settings,
            pool,
            Metrics::new(),
            PlatformClock::new(clock),
            stopping,
        )
    }

    /// The NATS client, once start-up has connected it.
    pub fn nats(&self) -> anyhow::Result<&async_nats::Client> {
        self.nats.get().context("NATS is not connected yet")
    }

    pub fn jetstream(&self) -> anyhow::Result<jetstream::Context> {
        Ok(jetstream::new(self.nats()?.clone()))
    }

    /// Starts a durable consumer that stops with the service.
    pub async fn spawn_consumer<H: Handler>(&self, spec: ConsumerSpec, handler: H) -> anyhow::Result<()> {
        let runtime = events::ConsumerRuntime {
            pool: self.pool.clone(),
            js: self.jetstream()?,
            namespace: self.settings.nats.namespace.clone(),
            settings: self.settings.consumer.clone(),
            metrics: self.metrics.clone(),
            waker: self.outbox_waker.clone(),
            duplicate_window: self.settings.nats.duplicate_window,
        };
        let handle = events::spawn_consumer(spec, runtime, handler).await?;
        self.consumers
            .lock()
            .map_err(|_| anyhow::anyhow!("consumer registry poisoned"))?
            .push(handle);
        Ok(())
    }

    /// Resolves when the service begins shutting down (for background jobs).
    pub async fn stopping(&self) {
        let mut rx = self.stopping.clone();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Spawns a task that stops with the service: it is asked to stop (its receiver turns `true`) right after
    /// in-flight requests drain, and joined before the relay stops, so what it committed is still published.
    pub fn spawn_task<F, Fut>(&self, name: &'static str, run: F)
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = TaskHandle::spawn(run);
        match self.tasks.lock() {
            Ok(mut tasks) => tasks.push((name, handle)),
            Err(_) => tracing::error!(task = name, "task registry poisoned; the task will not be joined"),
        }
    }

    /// Spawns a task that runs `tick` at once, then every `interval` and whenever the clock is moved, until the
    /// service stops. A failing tick is logged by `tick` itself; the next one runs on time.
    pub fn spawn_interval<F, Fut>(&self, name: &'static str, interval: std::time::Duration, mut tick: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let mut moved = self.clock.moved();
        self.spawn_task(name, move |mut stop| async move {
            loop {
                tick().await;
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    changed = moved.changed() => {
                        if changed.is_err() {
                            // The clock is gone with the platform: keep the interval alone.
                            tokio::time::sleep(interval).await;
                        }
                    }
                    () = crate::task::stopped(&mut stop) => return,
                }
            }
        });
    }
}

/// Start-up progress, observable by tests and `main`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Starting,
    Ready,
    Failed(String),
}

/// A started service.
pub struct Running {
    pub grpc_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub platform: Arc<Platform>,
    readiness: watch::Receiver<Readiness>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Waits until SERVING; returns the start-up error when it failed.
    pub async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let state = self
            .readiness
            .wait_for(|r| *r != Readiness::Starting)
            .await?
            .clone();
        match state {
            Readiness::Failed(reason) => Err(anyhow::anyhow!(reason)),
            _ => Ok(()),
        }
    }

    /// Gracefully stops the service and waits for it.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await.context("service task panicked")?
    }

    /// Resolves when start-up fails (so `main` can exit) and never otherwise.
    async fn failed(&self) -> String {
        let mut rx = self.readiness.clone();
        match rx
            .wait_for(|r| matches!(r, Readiness::Failed(_)))
            .await
            .map(|r| r.clone())
        {
            Ok(Readiness::Failed(reason)) => reason,
            _ => std::future::pending().await,
        }
    }
}

#[derive(Parser)]
#[command(about = "pdop service")]
struct Args {
    /// YAML configuration file layered over the compiled defaults.
    #[arg(long, env = "PDOP_CONFIG")]
    config: Option<PathBuf>,
}

/// The body of every service's `main`: configuration, telemetry, start, wait for SIGTERM/SIGINT.
pub async fn main<S: Service>() -> anyhow::Result<()> {
    let args = Args::parse();
    let (settings, own) = config::load::<S::Config>(S::DEFAULTS, S::CONFIG_DEFAULTS, args.config.as_deref())?;
    let _telemetry = crate::telemetry::init(S::DEFAULTS.name, &settings.telemetry)?;
    let running = start::<S>(settings, own).await?;
    tracing::info!(grpc = %running.grpc_addr, admin = %running.admin_addr, "listening");
    tokio::select! {
        reason = running.failed() => {
            let _ = running.shutdown().await;
            anyhow::bail!("start-up failed: {reason}");
        }
        _ = shutdown_signal() => {
            tracing::info!("shutdown signal received");
        }
    }
    running.shutdown().await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Starts the service: opens the ports and begins start-up in the background.
pub async fn start<S: Service>(settings: Settings, own: S::Config) -> anyhow::Result<Running> {
    let clock = crate::clock::configured(&settings.clock, settings.auth.dev_mode)?;
    start_with_clock::<S>(settings, own, clock).await
}

/// Like [`start`], on the given clock (tests move a [`crate::clock::ManualClock`]).
pub async fn start_with_clock<S: Service>(
    settings: Settings,
    own: S::Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Running> {
    let name = S::DEFAULTS.name;
    let clock = PlatformClock::new(clock);
    let metrics = Metrics::new().with_grpc_methods(S::descriptor_set())?;
    let errors = ErrorDomain::new(name);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let connect_options = PgConnectOptions::from_str(settings.database.url.expose_secret())
        .context("database.url is not a valid PostgreSQL URL")?;
    let pool = crate::db::pool_options(&settings.database).connect_lazy_with(connect_options);
    let platform = Arc::new(Platform::assemble(
        name,
        settings.clone(),
        pool,
        metrics.clone(),
        clock.clone(),
        shutdown_rx.clone(),
    ));
    let state = Arc::new(S::build(platform.clone(), own)?);

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_service_status("", ServingStatus::NotServing).await;
    health
        .set_service_status(S::GRPC_SERVICE, ServingStatus::NotServing)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(S::descriptor_set())
        .with_service_name(S::GRPC_SERVICE)
        .build_v1()
        .context("building the reflection service")?;
    let routes = S::routes(state.clone())
        .add_service(health_service)
        .add_service(reflection);

    let listener = TcpListener::bind(settings.grpc.addr)
        .await
        .with_context(|| format!("binding grpc.addr {}", settings.grpc.addr))?;
    let grpc_addr = listener.local_addr()?;
    let (serving_tx, serving_rx) = watch::channel(false);
    let admin_shutdown = wait_true(shutdown_rx.clone());
    let dev_clock = settings.auth.dev_mode.then(|| clock.clone());
    let (admin_addr, admin_task) = crate::admin::serve(
        settings.admin.addr,
        crate::admin::AdminState::new(metrics.clone(), serving_rx, dev_clock),
        admin_shutdown,
    )
    .await?;

    let ready_flag = Arc::new(AtomicBool::new(false));
    let authenticator = Authenticator::from_settings(&settings.auth)?;
    let server = tonic::transport::Server::builder()
        .timeout(settings.grpc.request_timeout)
        .layer(ObserveLayer::new(metrics.clone()))
        .layer(ReadinessGate::new(ready_flag.clone()))
        .layer(AuthLayer::new(S::policy(), authenticator, errors.clone()))
        .add_routes(routes);
    // Small unary replies must not wait for Nagle and delayed ACKs (about 40 ms a call otherwise).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    // The server drains only after health has turned NOT_SERVING (see `supervise`).
    let (drain_tx, drain_rx) = watch::channel(false);
    let server_task = tokio::spawn(server.serve_with_incoming_shutdown(incoming, wait_true(drain_rx)));

    let (readiness_tx, readiness_rx) = watch::channel(Readiness::Starting);
    let startup = tokio::spawn(become_ready::<S>(
        platform.clone(),
        state,
        health.clone(),
        ready_flag,
        serving_tx.clone(),
        readiness_tx,
    ));
    let task = tokio::spawn(supervise(Supervised {
        platform: platform.clone(),
        health,
        grpc_service: S::GRPC_SERVICE,
        serving_tx,
        shutdown_rx,
        drain_tx,
        server_task,
        admin_task,
        startup,
    }));
    Ok(Running {
        grpc_addr,
        admin_addr,
        platform,
        readiness: readiness_rx,
        shutdown: shutdown_tx,
        task,
    })
}

async fn wait_true(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

async fn become_ready<S: Service>(
    platform: Arc<Platform>,
    state: Arc<S::State>,
    health: HealthReporter,
    ready_flag: Arc<AtomicBool>,
    serving: watch::Sender<bool>,
    readiness: watch::Sender<Readiness>,
) -> Option<Background> {
    match prepare::<S>(&platform, state).await {
        Ok(background) => {
            ready_flag.store(true, Ordering::Release);
            health.set_service_status("", ServingStatus::Serving).await;
            health
                .set_service_status(S::GRPC_SERVICE, ServingStatus::Serving)
                .await;
            let _ = serving.send(true);
            let _ = readiness.send(Readiness::Ready);
            tracing::info!(service = S::GRPC_SERVICE, "serving");
            Some(background)
        }
        Err(err) => {
            let reason = format!("{err:#}");
            tracing::error!(error = %reason, "start-up failed");
            let _ = readiness.send(Readiness::Failed(reason));
            None
        }
    }
}

/// The tasks a started service runs beside its handlers, stopped at shutdown.
struct Background {
    relay: RelayHandle,
    waker_forwarder: crate::task::TaskHandle,
    sealer: crate::audit::SealerHandle,
}

async fn prepare<S: Service>(platform: &Arc<Platform>, state: Arc<S::State>) -> anyhow::Result<Background> {
    let settings = &platform.settings;
    crate::db::create_database_if_missing(&platform.pool.connect_options()).await?;
    crate::db::migrate(&platform.pool, S::migrator()).await?;
    tracing::info!("database migrated");
    let client = events::connect(&settings.nats, platform.service).await?;
    let _ = platform.nats.set(client);
    let js = platform.jetstream()?;
    let namespace = &settings.nats.namespace;
    events::ensure_stream(&js, namespace, platform.service, settings.nats.duplicate_window).await?;
    events::ensure_dead_letter_stream(&js, namespace).await?;
    tracing::info!(%namespace, "nats connected and streams ready");
    let relay = Relay::new(
        platform.pool.clone(),
        js,
        settings.outbox.clone(),
        platform.metrics.clone(),
        platform.service,
        namespace.clone(),
        platform.outbox_waker.clone(),
    )
    .spawn();
    let waker_forwarder = platform.outbox_waker.spawn_forwarder(platform.pool.clone());
    let sealer = crate::audit::SealerHandle::spawn(platform.pool.clone());
    S::on_ready(state).await?;
    Ok(Background {
        relay,
        waker_forwarder,
        sealer,
    })
}

struct Supervised {
    platform: Arc<Platform>,
    health: HealthReporter,
    grpc_service: &'static str,
    serving_tx: watch::Sender<bool>,
    shutdown_rx: watch::Receiver<bool>,
    drain_tx: watch::Sender<bool>,
    server_task: JoinHandle<Result<(), tonic::transport::Error>>,
    admin_task: JoinHandle<()>,
    startup: JoinHandle<Option<Background>>,
}

/// Waits for shutdown, then stops everything in order.
async fn supervise(s: Supervised) -> anyhow::Result<()> {
    wait_true(s.shutdown_rx.clone()).await;
    // Tell load balancers first, then drain in-flight requests.
    s.health.set_service_status("", ServingStatus::NotServing).await;
    s.health
        .set_service_status(s.grpc_service, ServingStatus::NotServing)
        .await;
    let _ = s.serving_tx.send(false);
    let _ = s.drain_tx.send(true);
    let grace = s.platform.settings.grpc.shutdown_grace;
    match tokio::time::timeout(grace, s.server_task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => tracing::warn!(%err, "grpc server ended with an error"),
        Ok(Err(err)) => tracing::warn!(%err, "grpc server task failed"),
        Err(_) => tracing::warn!(
            ?grace,
            "in-flight requests did not finish within the grace period"
        ),
    }
    s.startup.abort();
    let tasks = match s.platform.tasks.lock() {
        Ok(mut list) => std::mem::take(&mut *list),
        Err(_) => Vec::new(),
    };
    for (name, task) in tasks {
        task.stop().await;
        tracing::debug!(task = name, "task stopped");
    }
    let background = match s.startup.await.ok().flatten() {
        Some(Background {
            relay,
            waker_forwarder,
            sealer,
        }) => {
            relay.stop().await;
            Some((waker_forwarder, sealer))
        }
        None => None,
    };
    let consumers = match s.platform.consumers.lock() {
        Ok(mut list) => std::mem::take(&mut *list),
        Err(_) => Vec::new(),
    };
    for consumer in consumers {
        consumer.stop().await;
    }
    // Last, so what the consumers committed while stopping still wakes another replica's relay and is chained.
    if let Some((waker_forwarder, sealer)) = background {
        waker_forwarder.stop().await;
        sealer.stop(&s.platform.pool).await;
    }
    let _ = s.admin_task.await;
    s.platform.pool.close().await;
    tracing::info!("stopped");
    Ok(())
}
