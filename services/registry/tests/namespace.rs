//! Tests share the developer's NATS with `make run`; they publish only in a namespace of their own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use async_nats::jetstream;
use common::*;
use pdop_kit::events::{Namespace, ensure_stream};
use pdop_proto::common::JurisdictionLevel;

const CREATED: &str = "pdop.registry.jurisdiction.created";
const WAIT: Duration = Duration::from_secs(20);

/// The `ce-id` of message `seq` of `stream`, if the stream still holds it.
async fn ce_id(stream: &jetstream::stream::Stream, seq: u64) -> Option<String> {
    let message = stream.get_raw_message(seq).await.ok()?;
    message.headers.get("ce-id").map(|v| v.as_str().to_owned())
}

// THREATS M15: a registry test's event lands in the test's namespace, and the deployment's stream of the default
// namespace gains nothing from it.
#[tokio::test]
async fn tests_leave_the_default_namespace_untouched() {
    let mut h = Harness::start().await;
    assert_ne!(h.env.namespace, Namespace::default());
    let js = jetstream::new(async_nats::connect(&h.nats_url).await.unwrap());
    // As `make run`'s registry would have it; creating it empty changes nothing for a deployment.
    let mut deployed = ensure_stream(&js, &Namespace::default(), "registry", Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(deployed.cached_info().config.name, "PDOP_REGISTRY");
    let last_before = deployed.info().await.unwrap().state.last_sequence;

    h.create_jurisdiction(
        "china",
        "中华人民共和国",
        JurisdictionLevel::National,
        "",
        "national",
    )
    .await
    .unwrap();
    let id: String = sqlx::query_scalar("SELECT id::text FROM outbox WHERE subject = $1")
        .bind(CREATED)
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    let ours = h.env.namespace.stream("registry");
    pdop_testkit::wait_until("the test namespace's stream holds the event", WAIT, || {
        let (js, ours, id) = (js.clone(), ours.clone(), id.clone());
        async move {
            let Ok(mut stream) = js.get_stream(&ours).await else {
                return false;
            };
            let last = stream.info().await.map_or(0, |i| i.state.last_sequence);
            for seq in 1..=last {
                if ce_id(&stream, seq).await.as_deref() == Some(id.as_str()) {
                    return true;
                }
            }
            false
        }
    })
    .await
    .unwrap();
    let stream = js.get_stream(&ours).await.unwrap();
    let stored = stream.get_raw_message(1).await.unwrap();
    assert_eq!(
        ce_id(&stream, 1).await,
        Some(id.clone()),
        "the jurisdiction is the registry's first event"
    );
    assert_eq!(
        stored.subject.as_str(),
        format!("{}.registry.jurisdiction.created", h.env.namespace)
    );
    assert_eq!(
        stored.headers.get("ce-type").unwrap().as_str(),
        "pdop.registry.jurisdiction.created.v1"
    );

    // Unchanged unless something else on this server (a running registry) published meanwhile; never by this test.
    let last_after = deployed.info().await.unwrap().state.last_sequence;
    for seq in last_before + 1..=last_after {
        assert_ne!(
            ce_id(&deployed, seq).await,
            Some(id.clone()),
            "PDOP_REGISTRY got the test's event"
        );
    }
}
