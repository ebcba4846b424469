//! Tower layers every gRPC server stacks: observation (trace span with the caller's trace context,
//! request metrics by method and code) and a readiness gate (UNAVAILABLE until start-up completes).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::Code;
use tracing::Instrument;

use crate::metrics::Metrics;
use crate::{propagation, spans};

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// Opens a span per request (child of the caller's `traceparent`) and records metrics.
#[derive(Clone)]
pub struct ObserveLayer {
    metrics: Metrics,
}

impl ObserveLayer {
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B, RB> tower::Service<http::Request<B>> for Observe<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    RB: Send + 'static,
{
    type Response = http::Response<spans::TracedBody<RB>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let (service, method) = self.metrics.grpc_method(req.uri().path());
        let span = spans::rpc_server(&service, &method);
        propagation::set_parent_from_http(&span, req.headers());
        let metrics = self.metrics.clone();
        let future = self.inner.call(req);
        let started = Instant::now();
        Box::pin(
            async move {
                let result = future.await;
                // The span and the duration last until the body's trailers, which carry the final code of a
                // call that sent any (a stream's, an OK unary call's); unary errors are "trailers-only"
                // responses, whose code is in the headers.
                let span = tracing::Span::current();
                let on_end: spans::OnEnd = Box::new(move |code| {
                    spans::record_grpc_status(&span, code);
                    metrics.observe_rpc(service, method, code, started.elapsed().as_secs_f64());
                });
                match result {
                    Ok(resp) => {
                        let in_headers = spans::grpc_status_in(resp.headers());
                        Ok(resp.map(|body| spans::TracedBody::new(body, in_headers, on_end)))
                    }
                    Err(err) => {
                        on_end(Code::Internal);
                        Err(err)
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// Refuses service RPCs with `UNAVAILABLE` until the service is ready; health and reflection pass.
#[derive(Clone)]
pub struct ReadinessGate {
    ready: Arc<AtomicBool>,
}

impl ReadinessGate {
    pub fn new(ready: Arc<AtomicBool>) -> Self {
        Self { ready }
    }
}

impl<S> tower::Layer<S> for ReadinessGate {
    type Service = Gated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gated {
            inner,
            ready: self.ready.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Gated<S> {
    inner: S,
    ready: Arc<AtomicBool>,
}

impl<S, B> tower::Service<http::Request<B>> for Gated<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures_util::future::Either<S::Future, std::future::Ready<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path();
        let always_open = path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.");
        if always_open || self.ready.load(Ordering::Acquire) {
            futures_util::future::Either::Left(self.inner.call(req))
        } else {
            let status = tonic::Status::unavailable("the service is starting; retry shortly");
            futures_util::future::Either::Right(std::future::ready(Ok(status.into_http())))
        }
    }
}
