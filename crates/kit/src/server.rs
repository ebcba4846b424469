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
use crate::config::{self, ServiceDefaults, Settings};
use crate::error::ErrorDomain;
use crate::events::{self, ConsumerSpec, Handler, Relay, RelayHandle};
use crate::layers::{ObserveLayer, ReadinessGate};
use crate::metrics::Metrics;

/// What a service adds to the shared runtime.
pub trait Service: Sized + Send + Sync + 'static {
    /// The service's own configuration section (`<name>:` in YAML).
    type Config: DeserializeOwned + Send + Sync + 'static;
    /// Name and default ports.
    const DEFAULTS: ServiceDefaults;
    /// Fully qualified gRPC service, e.g. `pdop.registry.v1.RegistryService` (health and reflection).
    const GRPC_SERVICE: &'static str;
    /// Compiled defaults for [`Self::Config`], as YAML with the service name as top-level key.
    const CONFIG_DEFAULTS: &'static str;

    /// The encoded file descriptor set served by reflection.
    fn descriptor_set() -> &'static [u8];
    /// The service's migrations (`sqlx::migrate!()`).
    fn migrator() -> Migrator;
    /// Allowed roles per RPC.
    fn policy() -> Policy;
    /// Builds the gRPC routes. The database is not migrated yet: do no I/O here.
    fn routes(platform: Arc<Platform>, config: Arc<Self::Config>) -> anyhow::Result<Routes>;
    /// Runs once the database, NATS and the relay are ready, before SERVING (start consumers here).
    fn on_ready(
        _platform: Arc<Platform>,
        _config: Arc<Self::Config>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
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
    nats: OnceLock<async_nats::Client>,
    consumers: Mutex<Vec<events::ConsumerHandle>>,
    stopping: watch::Receiver<bool>,
}

impl Platform {
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
    let name = S::DEFAULTS.name;
    let metrics = Metrics::new(name);
    let errors = ErrorDomain::new(name);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let connect_options = PgConnectOptions::from_str(settings.database.url.expose_secret())
        .context("database.url is not a valid PostgreSQL URL")?;
    let pool = crate::db::pool_options(&settings.database).connect_lazy_with(connect_options);
    let platform = Arc::new(Platform {
        service: name,
        settings: settings.clone(),
        pool,
        metrics: metrics.clone(),
        errors: errors.clone(),
        outbox_waker: events::OutboxWaker::default(),
        nats: OnceLock::new(),
        consumers: Mutex::new(Vec::new()),
        stopping: shutdown_rx.clone(),
    });
    let own = Arc::new(own);

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
    let routes = S::routes(platform.clone(), own.clone())?
        .add_service(health_service)
        .add_service(reflection);

    let listener = TcpListener::bind(settings.grpc.addr)
        .await
        .with_context(|| format!("binding grpc.addr {}", settings.grpc.addr))?;
    let grpc_addr = listener.local_addr()?;
    let (serving_tx, serving_rx) = watch::channel(false);
    let admin_shutdown = wait_true(shutdown_rx.clone());
    let (admin_addr, admin_task) =
        crate::admin::serve(settings.admin.addr, metrics.clone(), serving_rx, admin_shutdown).await?;

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
        own,
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
    own: Arc<S::Config>,
    health: HealthReporter,
    ready_flag: Arc<AtomicBool>,
    serving: watch::Sender<bool>,
    readiness: watch::Sender<Readiness>,
) -> Option<Background> {
    match prepare::<S>(&platform, own).await {
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

async fn prepare<S: Service>(platform: &Arc<Platform>, own: Arc<S::Config>) -> anyhow::Result<Background> {
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
    S::on_ready(platform.clone(), own).await?;
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
