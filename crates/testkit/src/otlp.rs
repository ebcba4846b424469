//! An OTLP/HTTP trace receiver on 127.0.0.1, over plain HTTP or HTTPS (with the test CA in `certs/`): it decodes
//! each `ExportTraceServiceRequest` a service sends to `/v1/traces` and keeps its spans for the test to inspect.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
pub use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One span as exported, with the service that exported it.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// `service.name` of the exporting process.
    pub service: String,
    pub name: String,
    pub kind: SpanKind,
    /// Lower-case hex, as in `traceparent`.
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// String, integer and boolean attributes, rendered as text.
    pub attributes: Vec<(String, String)>,
}

impl ReceivedSpan {
    /// The attribute `key` rendered as text.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

type Received = Arc<Mutex<Vec<ReceivedSpan>>>;

/// The receiver; stops when dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    tls: bool,
    received: Received,
    task: JoinHandle<()>,
}

impl OtlpReceiver {
    /// A receiver over plain HTTP.
    pub async fn start() -> anyhow::Result<Self> {
        Self::serving(TcpListener::bind("127.0.0.1:0").await?, false)
    }

    /// A receiver over HTTPS, with a certificate for `127.0.0.1` issued by [`test_ca_file`].
    pub async fn start_tls() -> anyhow::Result<Self> {
        let certs = CertificateDer::pem_file_iter(certs_dir().join("otlp-server.pem"))?
            .collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_file(certs_dir().join("otlp-server.key"))?;
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(certs, key)?;
        let listener = TlsListener {
            tcp: TcpListener::bind("127.0.0.1:0").await?,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        };
        Self::serving(listener, true)
    }

    fn serving<L: axum::serve::Listener<Addr = SocketAddr>>(listener: L, tls: bool) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let received = Received::default();
        let task = tokio::spawn(serve(listener, received.clone()));
        Ok(Self {
            addr,
            tls,
            received,
            task,
        })
    }

    /// The value for `telemetry.otlp_endpoint`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        match self.received.lock() {
            Ok(spans) => spans.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The CA that issued the HTTPS receiver's certificate, for `telemetry.otlp_ca_file`.
pub fn test_ca_file() -> PathBuf {
    certs_dir().join("otlp-ca.pem")
}

fn certs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs")
}

async fn serve<L: axum::serve::Listener<Addr = SocketAddr>>(listener: L, received: Received) {
    let app = axum::Router::new()
        .route("/v1/traces", axum::routing::post(export))
        .with_state(received);
    let _ = axum::serve(listener, app).await;
}

async fn export(State(received): State<Received>, body: Bytes) -> impl IntoResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new()).into_response();
    };
    let spans = flatten(request);
    match received.lock() {
        Ok(mut all) => all.extend(spans),
        Err(poisoned) => poisoned.into_inner().extend(spans),
    }
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

fn flatten(request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let resource_attributes = resource_spans
            .resource
            .map(|r| attributes(r.attributes))
            .unwrap_or_default();
        let service = resource_attributes
            .iter()
            .find(|(k, _)| k == "service.name")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                spans.push(ReceivedSpan {
                    service: service.clone(),
                    kind: SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: attributes(span.attributes),
                });
            }
        }
    }
    spans
}

fn attributes(list: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>) -> Vec<(String, String)> {
    list.into_iter()
        .filter_map(|kv| {
            let value = match kv.value?.value? {
                Value::StringValue(s) => s,
                Value::IntValue(i) => i.to_string(),
                Value::BoolValue(b) => b.to_string(),
                Value::DoubleValue(d) => d.to_string(),
                _ => return None,
            };
            Some((kv.key, value))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Plain TCP accepted, then the TLS handshake; a failed handshake is dropped and the next connection taken.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
