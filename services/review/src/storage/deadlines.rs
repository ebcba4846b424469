//! The `review_deadlines` table: the deadlines a review step runs under (R-RV-07), opened when the step starts,
//! met when it is done, and swept by the scheduler once they pass.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::convert::due_date;
use pdop_proto::common::Deadline;
use prost::Message;

use super::Tx;
use crate::domain::Error;

/// Starts (or restarts, on a resubmission) the clock of `step` on `subject`.
pub async fn open(
    tx: &mut Tx,
    subject: &str,
    step: &str,
    responsible: &str,
    jurisdiction: &str,
    deadline: &Deadline,
) -> Result<(), Error> {
    let due = due_date(Some(deadline))
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a deadline of {subject} has no due date")))?;
    sqlx::query(
        "INSERT INTO review_deadlines (subject, step, responsible, jurisdiction, due, deadline)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (subject, step) DO UPDATE SET responsible = excluded.responsible, due = excluded.due,
             deadline = excluded.deadline, met_at = NULL, missed_at = NULL",
    )
    .bind(subject)
    .bind(step)
    .bind(responsible)
    .bind(jurisdiction)
    .bind(due)
    .bind(deadline.encode_to_vec())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The step is done: its deadline stops running (a later sweep never announces it).
pub async fn meet(tx: &mut Tx, subject: &str, step: &str, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE review_deadlines SET met_at = $3 WHERE subject = $1 AND step = $2 AND met_at IS NULL",
    )
    .bind(subject)
    .bind(step)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The steps of `subject` stop running (a withdrawal, a decision that ends the application).
pub async fn meet_all(tx: &mut Tx, subject: &str, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query("UPDATE review_deadlines SET met_at = $2 WHERE subject = $1 AND met_at IS NULL")
        .bind(subject)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A deadline that passed unmet.
pub struct Missed {
    pub subject: String,
    pub step: String,
    pub responsible: String,
    pub jurisdiction: String,
    pub deadline: Deadline,
}

/// Up to 100 unmet, unannounced deadlines whose due date is before `today`.
pub async fn passed(pool: &sqlx::PgPool, today: NaiveDate) -> Result<Vec<(String, String)>, Error> {
    Ok(sqlx::query_as(
        "SELECT subject, step FROM review_deadlines
         WHERE met_at IS NULL AND missed_at IS NULL AND due < $1 ORDER BY due, subject, step LIMIT 100",
    )
    .bind(today)
    .fetch_all(pool)
    .await?)
}

/// Locks one passed deadline and marks it announced; `None` if it was met or announced meanwhile.
pub async fn take_missed(
    tx: &mut Tx,
    subject: &str,
    step: &str,
    now: DateTime<Utc>,
) -> Result<Option<Missed>, Error> {
    let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
        "UPDATE review_deadlines SET missed_at = $3
         WHERE subject = $1 AND step = $2 AND met_at IS NULL AND missed_at IS NULL
         RETURNING responsible, jurisdiction, deadline",
    )
    .bind(subject)
    .bind(step)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|(responsible, jurisdiction, deadline)| {
        Ok(Missed {
            subject: subject.to_owned(),
            step: step.to_owned(),
            responsible,
            jurisdiction,
            deadline: Deadline::decode(deadline.as_slice()).map_err(|e| Error::Internal(e.into()))?,
        })
    })
    .transpose()
}
