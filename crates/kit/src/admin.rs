//! The admin HTTP server: `/healthz` (200 when serving, 503 otherwise) and Prometheus `/metrics`. In development
//! mode only, `POST /dev/clock/advance?by=10d` moves the service's clock forward.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::Metrics;

use crate::clock::PlatformClock;

/// What the admin endpoints read.
#[derive(Clone)]
pub struct AdminState {
    metrics: Metrics,
    serving: watch::Receiver<bool>,
    /// Present in development mode only: the clock `/dev/clock/advance` moves.
    dev_clock: Option<PlatformClock>,
}

impl AdminState {
    pub fn new(metrics: Metrics, serving: watch::Receiver<bool>, dev_clock: Option<PlatformClock>) -> Self {
        Self {
            metrics,
            serving,
            dev_clock,
        }
    }
}

/// Binds the admin port and serves until `shutdown` resolves. Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    state: AdminState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|err| anyhow::anyhow!("binding admin.addr {addr}: {err}"))?;
    let local = listener.local_addr()?;
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text));
    if state.dev_clock.is_some() {
        app = app.route("/dev/clock/advance", post(advance_clock));
    }
    let observed = axum::middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::observe_http);
    let app = app.layer(observed).with_state(state);
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(%err, "admin server failed");
        }
    });
    Ok((local, task))
}

async fn healthz(State(state): State<AdminState>) -> (StatusCode, &'static str) {
    if *state.serving.borrow() {
        (StatusCode::OK, "SERVING\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING\n")
    }
}

async fn metrics_text(
    State(state): State<AdminState>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

#[derive(serde::Deserialize)]
struct Advance {
    by: String,
}

/// Moves the development clock forward by `by` (`10d`, `36h`) and answers the new instant.
async fn advance_clock(State(state): State<AdminState>, Query(q): Query<Advance>) -> (StatusCode, String) {
    let Some(clock) = state.dev_clock else {
        return (StatusCode::NOT_FOUND, "not in development mode\n".to_owned());
    };
    match crate::clock::parse_offset(&q.by) {
        Some(by) if clock.advance(by) => {
            tracing::warn!(by = %q.by, now = %clock.now(), "development clock advanced");
            (StatusCode::OK, format!("{}\n", clock.now().to_rfc3339()))
        }
        _ => (
            StatusCode::BAD_REQUEST,
            format!("by `{}` is not a duration such as 10d or 36h\n", q.by),
        ),
    }
}
