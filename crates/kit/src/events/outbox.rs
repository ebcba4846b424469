//! Writing events into the outbox, inside the caller's transaction.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::propagation;

/// An event to publish once the surrounding transaction commits.
#[derive(Debug, Clone)]
pub struct OutgoingEvent {
    /// `pdop.<service>.<aggregate>.<verb>`.
    pub subject: String,
    /// `<subject>.v1`: the CloudEvents type, naming the payload's version.
    pub ce_type: String,
    /// The resource the event is about (ordering key), e.g. `resources/123`.
    pub ce_subject: String,
    /// Protobuf-encoded payload from `pdop.<service>.events.v1`.
    pub payload: Vec<u8>,
}

impl OutgoingEvent {
    /// Builds an event whose type is version 1 of its subject.
    pub fn new(subject: &str, ce_subject: impl Into<String>, payload: &impl prost::Message) -> Self {
        Self {
            subject: subject.to_owned(),
            ce_type: format!("{subject}.v1"),
            ce_subject: ce_subject.into(),
            payload: payload.encode_to_vec(),
        }
    }
}

/// Adds the event to the outbox in `tx`; it is published only if `tx` commits. Returns the event id
/// (a UUIDv7, also the `Nats-Msg-Id` that lets JetStream drop a re-publish). Its `ce-time` is `time`: the moment
/// the change happened on the service's clock, which consumers take as the fact's date (in development that clock
/// is moved ahead of the database's, so there is deliberately no variant dated by the database).
pub async fn enqueue_at(
    tx: &mut Transaction<'_, Postgres>,
    event: OutgoingEvent,
    time: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO outbox (id, subject, ce_type, ce_subject, payload, traceparent, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&event.subject)
    .bind(&event.ce_type)
    .bind(&event.ce_subject)
    .bind(&event.payload)
    .bind(propagation::current_traceparent())
    .bind(time)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}
