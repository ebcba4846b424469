//! The `rectification_orders` table: an order as its message, with its parties, source, state, due date and
//! `overdue` flag as columns.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::convert::due_date;
use pdop_kit::documents::{self, COLUMNS, Document, Row, column};
use pdop_kit::names;
use pdop_proto::evaluation::v1::{RectificationOrder, RectificationOrderState as State};
use prost_types::Timestamp;

use super::{Tx, facts, id_of, new_id};
use crate::domain::rectification::{COLLECTION, Parties};
use crate::domain::{Error, ErrorReason};

/// The order's issue time is the row's creation; it has no separate `create_time`.
impl Document<ErrorReason> for RectificationOrder {
    const TABLE: &'static str = "rectification_orders";
    const COLLECTION: &'static str = COLLECTION;
    const NOT_FOUND: ErrorReason = ErrorReason::RectificationOrderNotFound;
    fn stamp(
        &mut self,
        name: String,
        create_time: Option<Timestamp>,
        update_time: Option<Timestamp>,
        etag: String,
    ) {
        self.name = name;
        if create_time.is_some() {
            self.issue_time = create_time;
        }
        self.update_time = update_time;
        self.etag = etag;
    }
}

/// A fresh `rectificationOrders/{id}`.
pub fn new_name() -> String {
    format!("{COLLECTION}/{}", new_id())
}

fn due(o: &RectificationOrder) -> Result<NaiveDate, Error> {
    due_date(o.deadline.as_ref())
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("{} has no due date", o.name)))
}

/// Stores a newly issued order; `verifiers` are the organizations besides the issuer that verify it (an
/// evaluation's evaluators).
pub async fn insert(
    tx: &mut Tx,
    o: &RectificationOrder,
    verifiers: &[String],
    now: DateTime<Utc>,
) -> Result<RectificationOrder, Error> {
    let id = id_of(&o.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO rectification_orders (id, jurisdiction_id, issuer_id, subject_id, evaluation_id, verifiers,
                                           source, state, overdue, due, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(column(&o.jurisdiction, "jurisdictions"))
    .bind(column(&o.issuing_organization, "organizations"))
    .bind(column(&o.subject, "organizations"))
    .bind(column(&o.evaluation, "evaluations"))
    .bind(verifiers)
    .bind(i16::try_from(o.source).unwrap_or(0))
    .bind(i16::try_from(o.state).unwrap_or(0))
    .bind(o.overdue)
    .bind(due(o)?)
    .bind(documents::stored::<ErrorReason, _>(o))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<RectificationOrder, Error> {
    documents::lock(tx, name, etag, "name").await
}

pub async fn read(pool: &sqlx::PgPool, name: &str) -> Result<RectificationOrder, Error> {
    documents::read(pool, name).await
}

/// The organizations besides the issuer that verify the order.
pub async fn verifiers<'e>(db: impl sqlx::PgExecutor<'e>, name: &str) -> Result<Vec<String>, Error> {
    let id = id_of(name, COLLECTION, "name")?;
    let found: Option<Vec<String>> =
        sqlx::query_scalar("SELECT verifiers FROM rectification_orders WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(found.unwrap_or_default())
}

pub async fn save(
    tx: &mut Tx,
    o: &RectificationOrder,
    now: DateTime<Utc>,
) -> Result<RectificationOrder, Error> {
    let id = id_of(&o.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE rectification_orders SET state = $2, overdue = $3, body = $4, update_time = $5, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(o.state).unwrap_or(0))
    .bind(o.overdue)
    .bind(documents::stored::<ErrorReason, _>(o))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_document())
}

/// Up to 100 orders whose deadline is before `today`, not verified as passed and not yet announced overdue.
pub async fn past_due(pool: &sqlx::PgPool, today: NaiveDate) -> Result<Vec<String>, Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM rectification_orders WHERE NOT overdue AND state <> $2 AND due < $1 ORDER BY due, id LIMIT 100",
    )
    .bind(today)
    .bind(State::VerifiedPassed as i16)
    .fetch_all(pool)
    .await?;
    Ok(ids.into_iter().map(|id| format!("{COLLECTION}/{id}")).collect())
}

/// A developer agreement as the registry announced it: (operator, developer, jurisdiction) names.
pub async fn developer_agreement(
    tx: &mut Tx,
    name: &str,
    field: &str,
) -> Result<(String, String, String), Error> {
    let id = id_of(name, "developerAgreements", field)?;
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT operator_id, developer_id, jurisdiction_id FROM developer_agreements WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let (operator, developer, jurisdiction) =
        row.ok_or_else(|| Error::not_found(ErrorReason::AgreementNotFound, name))?;
    Ok((
        format!("organizations/{operator}"),
        format!("organizations/{developer}"),
        format!("jurisdictions/{jurisdiction}"),
    ))
}

pub struct Filter<'a> {
    pub subject: Option<&'a str>,
    pub evaluation: Option<&'a str>,
    pub jurisdiction: Option<&'a str>,
    pub source: i32,
    pub state: i32,
    pub overdue: bool,
    /// The caller's organization id: the orders it is subject, issuer or verifier of.
    pub visible_to: &'a str,
    /// Jurisdiction ids whose orders the caller supervises.
    pub supervised: Vec<String>,
    pub size: i64,
    pub after: Option<(NaiveDate, String)>,
}

/// A page ordered by deadline, then name.
pub async fn list(pool: &sqlx::PgPool, f: Filter<'_>) -> Result<(Vec<RectificationOrder>, String), Error> {
    let (after_due, after_id) = f.after.unzip();
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM rectification_orders
         WHERE ($1::date IS NULL OR (due, id) > ($1, $2))
           AND ($3::text IS NULL OR subject_id = $3)
           AND ($4::text IS NULL OR evaluation_id = $4)
           AND ($5::text IS NULL OR jurisdiction_id = $5)
           AND ($6::smallint = 0 OR source = $6)
           AND ($7::smallint = 0 OR state = $7)
           AND (NOT $8 OR overdue)
           AND (subject_id = $9 OR issuer_id = $9 OR ('organizations/' || $9) = ANY(verifiers)
                OR jurisdiction_id = ANY($10::text[]))
         ORDER BY due, id LIMIT $11"
    ))
    .bind(after_due)
    .bind(after_id)
    .bind(f.subject)
    .bind(f.evaluation)
    .bind(f.jurisdiction)
    .bind(i16::try_from(f.source).unwrap_or(0))
    .bind(i16::try_from(f.state).unwrap_or(0))
    .bind(f.overdue)
    .bind(f.visible_to)
    .bind(f.supervised)
    .bind(f.size + 1)
    .fetch_all(pool)
    .await?;
    let size = usize::try_from(f.size).unwrap_or(usize::MAX);
    let more = rows.len() > size;
    rows.truncate(size);
    let orders: Vec<RectificationOrder> = rows.into_iter().map(Row::into_document).collect();
    let next = match orders.last() {
        Some(o) if more => pdop_kit::pagination::encode_token(&(
            due_date(o.deadline.as_ref()),
            names::parse(&o.name, COLLECTION).unwrap_or_default(),
        )),
        _ => String::new(),
    };
    Ok((orders, next))
}

/// The references an order's events carry.
pub async fn parties(tx: &mut Tx, o: &RectificationOrder) -> Result<Parties, Error> {
    Ok(Parties {
        subject: facts::organization(tx, &o.subject).await?,
        issuer: facts::organization(tx, &o.issuing_organization).await?,
        jurisdiction: facts::jurisdiction(tx, &o.jurisdiction).await?,
    })
}
