//! Decisions on objections, as the deciding services announce them: the objection records the decision, and an
//! upheld one retracts the notice entry by a RETRACTION correction (N3 Art.12), never by an edit.

use chrono::{DateTime, Utc};
use pdop_kit::convert::timestamp;
use pdop_proto::disclosure::v1::{Entry, EntryKind, EntrySource, Objection, ObjectionState};
use prost::Message;
use prost_reflect::{DynamicMessage, ReflectMessage};
use sqlx::{Postgres, Transaction};

/// Applies a deciding service's outcome (an OBJECTION_OUTCOME entry just appended): the objection records the
/// decision, and an upheld one retracts the notice entry by a RETRACTION correction (N3 Art.12).
pub async fn decided(
    tx: &mut Transaction<'static, Postgres>,
    entry: &Entry,
    payload: &DynamicMessage,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if entry.kind != EntryKind::ObjectionOutcome as i32 {
        return Ok(());
    }
    let text = |name: &str| {
        payload
            .get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let Some(id) = pdop_kit::names::parse(&text("objection"), "objections").map(str::to_owned) else {
        return Ok(());
    };
    let outcome = payload
        .descriptor()
        .get_field_by_name("outcome")
        .and_then(|f| {
            let number = payload.get_field(&f).as_enum_number()?;
            f.kind().as_enum()?.get_value(number).map(|v| v.name().to_owned())
        })
        .unwrap_or_default();
    let state = if outcome.ends_with("UPHELD") {
        ObjectionState::Upheld
    } else if outcome.ends_with("DISMISSED") || outcome.ends_with("REJECTED") {
        ObjectionState::Dismissed
    } else {
        return Ok(());
    };
    let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
        "SELECT o.body, n.entry_sequence FROM objections o JOIN notices n ON n.id = o.notice_id
         WHERE o.id = $1 FOR UPDATE OF o",
    )
    .bind(&id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((body, notice_entry)) = row else {
        tracing::warn!(objection = %id, "an outcome names an objection this log never took in");
        return Ok(());
    };
    let mut objection = Objection::decode(body.as_slice())?;
    objection.state = state as i32;
    objection.decision_reason = text("reason");
    objection.decide_time = Some(timestamp(now));
    objection.outcome_entry = format!("entries/{}", entry.sequence);
    if state == ObjectionState::Upheld {
        let original: Vec<u8> = sqlx::query_scalar("SELECT body FROM entries WHERE sequence = $1")
            .bind(notice_entry)
            .fetch_one(&mut **tx)
            .await?;
        let original = Entry::decode(original.as_slice())?;
        let correction = crate::corrections::retraction(
            &original,
            notice_entry,
            &objection.decision_reason,
            &format!("objections/{id}"),
            // Appended by the log itself; the outcome entry carries the source event.
            EntrySource {
                service: "disclosure".to_owned(),
                ..Default::default()
            },
        );
        if let Some(appended) = crate::log::append(tx, correction, now).await? {
            objection.retraction_entry = appended.name;
        }
    }
    sqlx::query("UPDATE objections SET state = $2, body = $3 WHERE id = $1")
        .bind(&id)
        .bind(state as i16)
        .bind(objection.encode_to_vec())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
