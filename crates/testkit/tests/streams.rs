//! A test's NATS streams go with its `TestEnv`; other namespaces' stay.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::Duration;

use async_nats::jetstream;
use pdop_kit::events::{ensure_dead_letter_stream, ensure_stream};
use pdop_testkit::TestEnv;

// THREATS M15: the testkit deletes a test namespace's streams when the test ends.
#[tokio::test]
async fn a_dropped_env_takes_its_namespace_streams_and_only_those() {
    let env = TestEnv::new().await.unwrap();
    let other = TestEnv::new().await.unwrap();
    let js = jetstream::new(async_nats::connect(&env.nats_url).await.unwrap());
    for namespace in [&env.namespace, &other.namespace] {
        ensure_stream(&js, namespace, "registry", Duration::from_secs(120))
            .await
            .unwrap();
        ensure_dead_letter_stream(&js, namespace).await.unwrap();
    }
    let gone = [
        env.namespace.stream("registry"),
        env.namespace.dead_letter_stream(),
    ];
    let kept = [
        other.namespace.stream("registry"),
        other.namespace.dead_letter_stream(),
    ];

    drop(env);
    for name in gone {
        assert!(js.get_stream(&name).await.is_err(), "{name} is still there");
    }
    for name in kept {
        assert!(js.get_stream(&name).await.is_ok(), "{name} was deleted");
    }
}
