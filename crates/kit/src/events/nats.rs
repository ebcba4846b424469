//! NATS connection and stream provisioning.

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, stream};

use super::Namespace;
use crate::config::NatsSettings;

/// Connects to NATS, retrying until `connect_timeout`; the client reconnects by itself afterwards.
pub async fn connect(settings: &NatsSettings, service: &str) -> anyhow::Result<async_nats::Client> {
    let deadline = tokio::time::Instant::now() + settings.connect_timeout;
    let mut delay = Duration::from_millis(100);
    loop {
        let mut options = async_nats::ConnectOptions::new()
            .name(format!("pdop-{service}"))
            .require_tls(settings.tls_required)
            .connection_timeout(Duration::from_secs(2));
        if let Some(path) = &settings.credentials_file {
            options = options
                .credentials_file(path)
                .await
                .with_context(|| format!("reading nats.credentials_file {}", path.display()))?;
        }
        match options.connect(&settings.url).await {
            Ok(client) => return Ok(client),
            Err(err) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%err, url = %settings.url, "nats not reachable yet, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("connecting to NATS at {} (nats.url)", settings.url));
            }
        }
    }
}

/// Creates (or finds) the stream `<NAMESPACE>_<SERVICE>` for `<namespace>.<service>.>`; file storage, duplicate
/// window as configured.
pub async fn ensure_stream(
    js: &jetstream::Context,
    namespace: &Namespace,
    service: &str,
    duplicate_window: Duration,
) -> anyhow::Result<jetstream::stream::Stream> {
    let name = namespace.stream(service);
    let config = stream::Config {
        name: name.clone(),
        subjects: vec![namespace.stream_subjects(service)],
        storage: stream::StorageType::File,
        duplicate_window,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .with_context(|| format!("creating JetStream stream {name}"))
}

/// Creates (or finds) the namespace's dead-letter stream, `<NAMESPACE>_DLQ` on `<namespace>.dlq.>`.
pub async fn ensure_dead_letter_stream(js: &jetstream::Context, namespace: &Namespace) -> anyhow::Result<()> {
    let config = stream::Config {
        name: namespace.dead_letter_stream(),
        subjects: vec![namespace.dead_letter_subjects()],
        storage: stream::StorageType::File,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .context("creating the dead-letter stream")?;
    Ok(())
}
