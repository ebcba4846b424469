//! Operator agreements (运营协议, N2 Art.12-14, DOMAIN §4.3): drafted by the implementing agency for a
//! selected operator over authorizable resources, signed with the profile's content checklist, filed
//! (D14/D15/D16), then running until suspended, terminated on a profile ground, or expired by the scheduler.
//! Every accepted change is a revision (协议版本).

mod drafting;
mod lifecycle;
mod schedule;
mod suspension;

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::auth::Caller;
use pdop_proto::common::AuditInfo;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{Agreement, AgreementRevision, AgreementState};
use prost::Message;
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

pub use self::drafting::{create, get, list, list_revisions, update};
pub use self::lifecycle::{
    apply_renewal, file, file_termination, record_destruction, renew, sign, terminate,
};
pub use self::schedule::sweep;
pub use self::suspension::{resume, resume_on_ground, suspend, suspend_on_ground, suspend_operator};
use crate::context::{Ctx, Handling, fetch_row};
use crate::convert::{actor, etag, naive_date, timestamp};
use crate::names;

const COLLECTION: &str = "agreements";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    jurisdiction_id: String,
    implementing_agency_id: String,
    operator_id: String,
    state: i16,
    predecessor_id: Option<String>,
    body: Vec<u8>,
    revision: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str = "id, jurisdiction_id, implementing_agency_id, operator_id, state, predecessor_id, body, \
                       revision, create_time, update_time, version";

impl crate::context::Stored for Row {
    const TABLE: &'static str = "agreements";
    const COLUMNS: &'static str = COLUMNS;
    const COLLECTION: &'static str = COLLECTION;
    const NOT_FOUND: &'static str = "AGREEMENT_NOT_FOUND";
    fn version(&self) -> i64 {
        self.version
    }
}

impl Row {
    fn to_proto(&self) -> Agreement {
        let mut a = Agreement::decode(self.body.as_slice()).unwrap_or_default();
        a.name = names::agreement(&self.id);
        a.jurisdiction = names::jurisdiction(&self.jurisdiction_id);
        a.implementing_agency = names::organization(&self.implementing_agency_id);
        a.operator = names::organization(&self.operator_id);
        a.state = i32::from(self.state);
        a.predecessor = self
            .predecessor_id
            .as_deref()
            .map(names::agreement)
            .unwrap_or_default();
        a.revision_id = self.revision.to_string();
        a.create_time = Some(timestamp(self.create_time));
        a.update_time = Some(timestamp(self.update_time));
        a.etag = etag(self.version);
        a
    }
}

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str, lock: bool) -> Result<Option<Row>, sqlx::Error> {
    fetch_row(db, "agreements", COLUMNS, id, lock).await
}

fn state_of(a: &Agreement) -> AgreementState {
    AgreementState::try_from(a.state).unwrap_or(AgreementState::Unspecified)
}

/// First and last day of the agreement's term (validated on every write).
fn term_of(a: &Agreement) -> Option<(NaiveDate, NaiveDate)> {
    let term = a.term.as_ref()?;
    Some((
        naive_date(term.start_date.as_ref()?)?,
        naive_date(term.end_date.as_ref()?)?,
    ))
}

/// Roles that oversee agreements and may read every one of them.
fn oversees(caller: &Caller) -> bool {
    caller.oversees_agreements()
}

/// The parties (implementing agency, operator, co-signers) and overseers read an agreement.
fn may_read(caller: &Caller, a: &Agreement) -> bool {
    oversees(caller)
        || caller.organization == a.implementing_agency
        || caller.organization == a.operator
        || a.co_signers.contains(&caller.organization)
}

/// Only the implementing agency's staff act for it.
fn check_agency(ctx: &Ctx, caller: &Caller, a: &Agreement) -> Result<(), Status> {
    if caller.organization == a.implementing_agency {
        return Ok(());
    }
    Err(ctx.errors().permission_denied(
        "NOT_THE_IMPLEMENTING_AGENCY",
        format!(
            "only {} (the implementing agency) acts on {}",
            a.implementing_agency, a.name
        ),
    ))
}

/// A locked agreement for a change, with its etag checked.
async fn for_change(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    expected_etag: &str,
) -> Result<(Row, Agreement), Status> {
    let row: Row = ctx.locked(tx, name, expected_etag).await?;
    let a = row.to_proto();
    Ok((row, a))
}

/// Writes the agreement as a new revision (columns, scope and history) and returns it as stored.
async fn save(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    a: &Agreement,
    changed: &[&str],
) -> Result<Agreement, Status> {
    let (start, end) = term_of(a).unwrap_or_default();
    let updated = sqlx::query_as::<_, Row>(&format!(
        "UPDATE agreements SET state = $2, term_start = $3, term_end = $4, body = $5, update_time = $6,
                revision = revision + 1, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(&row.id)
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(start)
    .bind(end)
    .bind(a.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let saved = updated.to_proto();
    if changed.contains(&"resources") {
        set_scope(ctx, tx, &row.id, &saved.resources).await?;
    }
    add_revision(ctx, tx, caller, &saved, changed).await?;
    Ok(saved)
}

async fn set_scope(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
    resources: &[String],
) -> Result<(), Status> {
    crate::resources::link(ctx, tx, ("agreement_resources", "agreement_id"), id, resources).await
}

async fn add_revision(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    a: &Agreement,
    changed: &[&str],
) -> Result<(), Status> {
    let audit = AuditInfo {
        actor: Some(actor(caller)),
        time: a.update_time,
        trace_id: pdop_kit::propagation::current_trace_id().unwrap_or_default(),
        request_id: String::new(),
    };
    sqlx::query(
        "INSERT INTO agreement_revisions (agreement_id, revision, snapshot, changed_fields, audit)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(a.name.trim_start_matches("agreements/"))
    .bind(a.revision_id.parse::<i64>().unwrap_or(1))
    .bind(a.encode_to_vec())
    .bind(changed.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>())
    .bind(audit.encode_to_vec())
    .execute(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RevisionRow {
    agreement_id: String,
    revision: i64,
    snapshot: Vec<u8>,
    changed_fields: Vec<String>,
    audit: Vec<u8>,
}

impl RevisionRow {
    fn to_proto(&self) -> AgreementRevision {
        AgreementRevision {
            name: format!(
                "{}/revisions/{}",
                names::agreement(&self.agreement_id),
                self.revision
            ),
            revision_id: self.revision.to_string(),
            snapshot: Agreement::decode(self.snapshot.as_slice()).ok(),
            changed_fields: self.changed_fields.clone(),
            audit: AuditInfo::decode(self.audit.as_slice()).ok(),
        }
    }
}

/// The self-contained view events carry (disclosure publishes the authorization from it, N2 Art.18).
async fn summary(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    a: &Agreement,
) -> Result<ev::AgreementSummary, Status> {
    let jurisdiction = crate::jurisdictions::reference(ctx, tx, &a.jurisdiction, "jurisdiction").await?;
    let agency =
        crate::organizations::reference(ctx, tx, &a.implementing_agency, "implementing_agency").await?;
    let operator = crate::organizations::reference(ctx, tx, &a.operator, "operator").await?;
    let mut resources = Vec::with_capacity(a.resources.len());
    for name in &a.resources {
        let r = crate::resources::for_scope(ctx, tx, name, "resources")
            .await?
            .resource;
        let provider = crate::organizations::reference(ctx, tx, &r.provider, "provider").await?;
        resources.push(ev::AuthorizedResource {
            resource: name.clone(),
            display_name: r.display_name,
            grade: r.grade,
            provider: Some(provider),
        });
    }
    Ok(ev::AgreementSummary {
        name: a.name.clone(),
        display_name: a.display_name.clone(),
        jurisdiction: Some(jurisdiction),
        implementing_agency: Some(agency),
        operator: Some(operator),
        resources,
        term: a.term,
        implementation_plan: a.implementation_plan.clone(),
        predecessor: a.predecessor.clone(),
        state: a.state,
        revision_id: a.revision_id.clone(),
    })
}

/// Saves a change, then appends its audit row and its one event, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
async fn commit_change<E: Message>(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    a: &Agreement,
    changed: &[&str],
    action: &str,
    subject: &str,
    event: impl FnOnce(ev::AgreementSummary) -> E,
) -> Result<Agreement, Status> {
    let saved = save(ctx, tx, caller, row, a, changed).await?;
    let event = event(summary(ctx, tx, &saved).await?);
    let detail = serde_json::json!({
        "state": format!("{:?}", state_of(&saved)),
        "revision": saved.revision_id,
        "changed": changed,
    });
    ctx.record(tx, caller, action, &saved.name, detail, (subject, &event))
        .await?;
    Ok(saved)
}

/// What products need of the agreement they are built under.
pub struct Authorization {
    pub operator: String,
    pub jurisdiction: String,
    pub resources: Vec<String>,
}

/// The agreement `name` (field `field`), which must be ACTIVE: products are built and submitted only
/// under a running authorization.
pub async fn active(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<Authorization, Status> {
    let id = ctx.parse_name(name, COLLECTION, field)?;
    let row = fetch(&mut **tx, id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("AGREEMENT_NOT_FOUND", name))?;
    let a = row.to_proto();
    ctx.require_state(
        name,
        state_of(&a),
        &[AgreementState::Active],
        "building products under it",
    )?;
    Ok(Authorization {
        operator: a.operator,
        jurisdiction: a.jurisdiction,
        resources: a.resources,
    })
}
