//! The HTTP client of the OTLP span exporter: plain HTTP or HTTPS (rustls with the ring provider the NATS client
//! already uses), trusting the system's roots or, when `telemetry.otlp_ca_file` is set, only the CAs in that file.
//! The batch span processor exports from a thread without a Tokio runtime, so requests run on a runtime of the
//! client's own, on a thread that ends when the exporter is dropped.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http::{Request, Response};
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{HttpClient, HttpError};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<Response<Bytes>, HttpError>>;

/// Sends export requests through its own thread and runtime.
#[derive(Debug)]
pub struct ExportClient {
    requests: mpsc::UnboundedSender<(Request<Bytes>, Reply)>,
}

impl ExportClient {
    /// A client for `endpoint`; TLS roots are loaded only for an `https://` one.
    pub fn new(endpoint: &str, ca_file: Option<&Path>, timeout: Duration) -> anyhow::Result<Self> {
        let roots = if endpoint.starts_with("https://") {
            trusted_roots(ca_file)?
        } else {
            rustls::RootCertStore::empty()
        };
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .context("TLS protocol versions for OTLP export")?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = HyperClient::new(connector, timeout, None);
        let (requests, mut incoming) = mpsc::unbounded_channel::<(Request<Bytes>, Reply)>();
        std::thread::Builder::new()
            .name("otlp-export".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        // Logging would export through this very client; stderr is what is left.
                        eprintln!("OTLP export runtime failed to start: {err}");
                        return;
                    }
                };
                runtime.block_on(async move {
                    while let Some((request, reply)) = incoming.recv().await {
                        let client = client.clone();
                        tokio::spawn(async move {
                            let _ = reply.send(client.send_bytes(request).await);
                        });
                    }
                });
            })
            .context("starting the OTLP export thread")?;
        Ok(Self { requests })
    }
}

#[tonic::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (reply, response) = oneshot::channel();
        self.requests
            .send((request, reply))
            .map_err(|_| "the OTLP export thread has stopped")?;
        response
            .await
            .map_err(|_| "the OTLP export thread dropped the request")?
    }
}

/// The CAs of `ca_file` when given (PEM, one or more certificates), the system's otherwise.
fn trusted_roots(ca_file: Option<&Path>) -> anyhow::Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .with_context(|| format!("reading telemetry.otlp_ca_file {}", path.display()))?;
            for cert in certs {
                roots
                    .add(cert)
                    .with_context(|| format!("a certificate of telemetry.otlp_ca_file {}", path.display()))?;
            }
            anyhow::ensure!(
                !roots.is_empty(),
                "telemetry.otlp_ca_file {} holds no certificate",
                path.display()
            );
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            anyhow::ensure!(
                added > 0,
                "no system CA certificates found for the https OTLP endpoint; set telemetry.otlp_ca_file"
            );
        }
    }
    Ok(roots)
}
