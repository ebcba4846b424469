//! Publishing another service's events the way its outbox relay does, and waiting on the database.

use std::time::Duration;

use async_nats::HeaderMap;
use chrono::{DateTime, SecondsFormat, Utc};
use pdop_kit::events::Namespace;
use sqlx::PgPool;

use crate::wait_until;

/// Publishes `payload` on contract subject `subject` (`pdop.<producer>.…`) in `namespace`, with CloudEvents headers,
/// as the producer's relay would, stamped with the current time. `msg_id` is JetStream's de-duplication id: equal to
/// `ce_id` for a first delivery, another value to simulate a redelivery that JetStream cannot drop.
pub async fn publish_as_relay(
    nats_url: &str,
    namespace: &Namespace,
    subject: &str,
    ce_id: &str,
    msg_id: &str,
    ce_subject: &str,
    payload: Vec<u8>,
) -> anyhow::Result<()> {
    let envelope = Envelope {
        subject,
        ce_id,
        msg_id,
        ce_subject,
        time: Utc::now(),
    };
    publish_envelope(nats_url, namespace, &envelope, payload).await
}

/// The CloudEvents headers of an event as its producer's relay sets them.
pub struct Envelope<'a> {
    /// Contract subject, `pdop.<producer>.…`.
    pub subject: &'a str,
    pub ce_id: &'a str,
    /// JetStream's de-duplication id.
    pub msg_id: &'a str,
    pub ce_subject: &'a str,
    /// `ce-time`: when the fact happened at the producer.
    pub time: DateTime<Utc>,
}

/// Publishes `payload` under `envelope` in `namespace`, as the producer's relay would.
pub async fn publish_envelope(
    nats_url: &str,
    namespace: &Namespace,
    envelope: &Envelope<'_>,
    payload: Vec<u8>,
) -> anyhow::Result<()> {
    let subject = envelope.subject;
    let producer = pdop_kit::events::service_of(subject)
        .ok_or_else(|| anyhow::anyhow!("{subject} is not a pdop subject"))?;
    let js = async_nats::jetstream::new(async_nats::connect(nats_url).await?);
    pdop_kit::events::ensure_stream(&js, namespace, producer, Duration::from_secs(120)).await?;
    let mut headers = HeaderMap::new();
    headers.insert("ce-id", envelope.ce_id);
    headers.insert("Nats-Msg-Id", envelope.msg_id);
    headers.insert("ce-type", format!("{subject}.v1").as_str());
    headers.insert("ce-subject", envelope.ce_subject);
    headers.insert("ce-source", format!("/{producer}").as_str());
    let time = envelope.time.to_rfc3339_opts(SecondsFormat::Micros, true);
    headers.insert("ce-time", time.as_str());
    headers.insert("content-type", "application/protobuf");
    js.publish_with_headers(namespace.wire_subject(subject), headers, payload.into())
        .await?
        .await?;
    Ok(())
}

/// Waits (20 s at most) until `sql`, a boolean query, holds.
pub async fn until_holds(pool: &PgPool, what: &str, sql: &str) -> anyhow::Result<()> {
    wait_until(what, Duration::from_secs(20), || {
        let pool = pool.clone();
        let sql = sql.to_owned();
        async move {
            sqlx::query_scalar::<_, bool>(&sql)
                .fetch_one(&pool)
                .await
                .unwrap_or(false)
        }
    })
    .await
}
