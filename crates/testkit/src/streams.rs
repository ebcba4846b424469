//! Removing the JetStream streams tests leave on a shared NATS server: a test's own when its [`TestEnv`] is dropped,
//! and those of earlier runs before `make test` (`scripts/drop-test-streams.sh`). Streams of any other namespace,
//! the default `pdop` included, are never touched.
//!
//! [`TestEnv`]: crate::TestEnv

use std::time::Duration;

use async_nats::jetstream;
use futures_util::TryStreamExt;
use pdop_kit::events::Namespace;

/// How long a dropped test waits at most for its streams to go; a slow or absent server is not the test's failure.
const DROP_TIMEOUT: Duration = Duration::from_secs(5);

/// Deletes every stream of `namespace` on the server at `nats_url`; returns their names.
pub async fn drop_namespace_streams(nats_url: &str, namespace: &Namespace) -> anyhow::Result<Vec<String>> {
    let prefix = namespace.stream_prefix();
    drop_streams_where(nats_url, |name| name.starts_with(&prefix)).await
}

/// Deletes the streams test namespaces left behind (see [`is_test_stream`]); returns their names.
pub async fn drop_leftover_test_streams(nats_url: &str) -> anyhow::Result<Vec<String>> {
    drop_streams_where(nats_url, is_test_stream).await
}

/// Whether a stream belongs to a test namespace, `t` and 12 hex digits: `T0123456789AB_REGISTRY`.
pub fn is_test_stream(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('T') else {
        return false;
    };
    let bytes = rest.as_bytes();
    bytes.len() > 13
        && bytes[..12]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
        && bytes[12] == b'_'
}

async fn drop_streams_where(nats_url: &str, wanted: impl Fn(&str) -> bool) -> anyhow::Result<Vec<String>> {
    let js = jetstream::new(async_nats::connect(nats_url).await?);
    let names: Vec<String> = js.stream_names().try_collect().await?;
    let mut dropped = Vec::new();
    for name in names.into_iter().filter(|n| wanted(n)) {
        js.delete_stream(&name).await?;
        dropped.push(name);
    }
    Ok(dropped)
}

/// [`drop_namespace_streams`] from a `Drop`, which may run inside a runtime that cannot block: on a thread and
/// runtime of its own, best effort.
pub(crate) fn drop_namespace_streams_blocking(nats_url: &str, namespace: &Namespace) {
    let (nats_url, namespace) = (nats_url.to_owned(), namespace.clone());
    let dropping = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        runtime.block_on(async {
            let _ = tokio::time::timeout(DROP_TIMEOUT, drop_namespace_streams(&nats_url, &namespace)).await;
        });
    });
    let _ = dropping.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_streams_of_test_namespaces_are_leftovers() {
        assert!(is_test_stream("T0123456789AB_REGISTRY"));
        assert!(is_test_stream("T0123456789AB_DLQ"));
        for kept in [
            "PDOP_REGISTRY",
            "PDOP_DLQ",
            "TEAM_REGISTRY",
            "TABC_REGISTRY",
            "T0123456789AB",
            "T0123456789AB_",
            "T0123456789ABC_REGISTRY",
            "T0123456789ab_REGISTRY",
        ] {
            assert!(!is_test_stream(kept), "{kept}");
        }
    }
}
