//! NATS connection and stream provisioning.

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, stream};

use crate::config::NatsSettings;

/// Returns the JetStream stream owned by a producing service: `PDOP_REGISTRY` for `registry`.
pub fn stream_name(service: &str) -> String {
    format!("PDOP_{}", service.to_ascii_uppercase())
}

/// Dead-lettered messages of every consumer are kept here, on `pdop.dlq.<consumer>`.
pub const DEAD_LETTER_STREAM: &str = "PDOP_DLQ";

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

/// Creates (or finds) the stream for `pdop.<service>.>`; file storage, duplicate window as configured.
pub async fn ensure_stream(
    js: &jetstream::Context,
    service: &str,
    duplicate_window: Duration,
) -> anyhow::Result<jetstream::stream::Stream> {
    let config = stream::Config {
        name: stream_name(service),
        subjects: vec![format!("pdop.{service}.>")],
        storage: stream::StorageType::File,
        duplicate_window,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .with_context(|| format!("creating JetStream stream {}", stream_name(service)))
}

/// Creates (or finds) the dead-letter stream.
pub async fn ensure_dead_letter_stream(js: &jetstream::Context) -> anyhow::Result<()> {
    let config = stream::Config {
        name: DEAD_LETTER_STREAM.to_owned(),
        subjects: vec!["pdop.dlq.>".to_owned()],
        storage: stream::StorageType::File,
        ..Default::default()
    };
    js.get_or_create_stream(config)
        .await
        .context("creating the dead-letter stream")?;
    Ok(())
}
