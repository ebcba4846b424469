//! Obligation deadlines (法定期限, DOMAIN §5): every open obligation the registry tracks, with its due date
//! computed on the working-day calendar under the jurisdiction's profile. The flows open and close them in
//! the transaction of the change; the scheduler marks an open one OVERDUE the day after it falls due and
//! announces it (DeadlineMissed). The registry's own duties (accepting, reviewing) name no organization.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_proto::common::Deadline;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    DeadlineState, GetDeadlineRequest, GetDeadlineResponse, ListDeadlinesRequest, ListDeadlinesResponse,
    ObligationDeadline, ObligationGround, ObligationKind,
};
use prost::Message;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling, Stored, fetch_row, optional_name, paging};
use crate::convert::{due_date, optional_date, timestamp};
use crate::jurisdictions::page_after;
use crate::names;

const COLLECTION: &str = "deadlines";
/// Every obligation about a registration application.
pub const ALL_REGISTRATION_KINDS: [ObligationKind; 7] = [
    ObligationKind::FirstRegistration,
    ObligationKind::LegacyRegistration,
    ObligationKind::RegistrationAcceptance,
    ObligationKind::RegistrationReview,
    ObligationKind::RegistrationNotice,
    ObligationKind::RegistrationCancellation,
    ObligationKind::RegistrationRenewal,
];
const OPEN_STATES: [DeadlineState; 2] = [DeadlineState::Open, DeadlineState::Overdue];
/// A public notice (D5) elapses on its own and the code can only follow its last day, so it is never missed nor
/// met late: it stays open until the registration moves on.
const ELAPSES: ObligationKind = ObligationKind::RegistrationNotice;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    due_date: NaiveDate,
    state: i16,
    met_late: bool,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str = "id, due_date, state, met_late, body, create_time, update_time, version";

impl Stored for Row {
    const TABLE: &'static str = "deadlines";
    const COLUMNS: &'static str = COLUMNS;
    const COLLECTION: &'static str = COLLECTION;
    const NOT_FOUND: &'static str = "DEADLINE_NOT_FOUND";
    fn version(&self) -> i64 {
        self.version
    }
}

impl Row {
    fn to_proto(&self) -> ObligationDeadline {
        let mut d = ObligationDeadline::decode(self.body.as_slice()).unwrap_or_default();
        d.name = format!("{COLLECTION}/{}", self.id);
        d.state = i32::from(self.state);
        d.met_late = self.met_late;
        d.create_time = Some(timestamp(self.create_time));
        d.update_time = Some(timestamp(self.update_time));
        d
    }
}

/// An obligation to track: what, about which object, owed by whom, where.
pub struct Obligation<'a> {
    pub kind: ObligationKind,
    pub subject: &'a str,
    /// `organizations/{id}`; empty for the registry's own duties.
    pub responsible: &'a str,
    /// `jurisdictions/{id}`.
    pub jurisdiction: &'a str,
}

/// Opens the obligation with `deadline`, replacing an open one of the same kind on the same subject (a
/// restarted clock, e.g. resubmission after a supplement notice, D3).
pub async fn open(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    o: Obligation<'_>,
    deadline: &Deadline,
) -> Result<(), Status> {
    open_grounded(ctx, tx, o, deadline, None).await
}

/// [`open`], for an obligation opened on another service's fact, which it names as its `ground`.
pub async fn open_grounded(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    o: Obligation<'_>,
    deadline: &Deadline,
    ground: Option<ObligationGround>,
) -> Result<(), Status> {
    let Some(due) = due_date(Some(deadline)) else {
        return Ok(());
    };
    cancel(ctx, tx, o.subject, o.kind).await?;
    let body = ObligationDeadline {
        kind: o.kind as i32,
        subject: o.subject.to_owned(),
        responsible_organization: o.responsible.to_owned(),
        jurisdiction: o.jurisdiction.to_owned(),
        deadline: Some(deadline.clone()),
        state: DeadlineState::Open as i32,
        ground,
        ..Default::default()
    };
    let responsible = names::parse(o.responsible, "organizations");
    sqlx::query(
        "INSERT INTO deadlines (id, kind, subject, responsible_id, jurisdiction_id, due_date, state, body, create_time,
                                update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(o.kind as i16)
    .bind(o.subject)
    .bind(responsible)
    .bind(o.jurisdiction.trim_start_matches("jurisdictions/"))
    .bind(due)
    .bind(DeadlineState::Open as i16)
    .bind(body.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .execute(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(())
}

/// Marks the open obligation met (late when met after its due date).
pub async fn meet(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    subject: &str,
    kind: ObligationKind,
) -> Result<(), Status> {
    close(ctx, tx, subject, kind, DeadlineState::Met).await
}

/// Cancels the open obligation: it went away (application refused, returned, agreement terminated).
pub async fn cancel(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    subject: &str,
    kind: ObligationKind,
) -> Result<(), Status> {
    close(ctx, tx, subject, kind, DeadlineState::Cancelled).await
}

async fn close(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    subject: &str,
    kind: ObligationKind,
    state: DeadlineState,
) -> Result<(), Status> {
    let open: Vec<i16> = OPEN_STATES.iter().map(|s| *s as i16).collect();
    let row = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM deadlines WHERE subject = $1 AND kind = $2 AND state = ANY($3) FOR UPDATE"
    ))
    .bind(subject)
    .bind(kind as i16)
    .bind(open)
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let Some(row) = row else { return Ok(()) };
    let late = state == DeadlineState::Met && kind != ELAPSES && ctx.platform.clock.today() > row.due_date;
    let mut d = row.to_proto();
    d.state = state as i32;
    d.met_late = late;
    d.close_time = Some(timestamp(ctx.platform.clock.now()));
    save(ctx, tx, &row.id, &d).await
}

async fn save(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
    d: &ObligationDeadline,
) -> Result<(), Status> {
    sqlx::query(
        "UPDATE deadlines SET state = $2, met_late = $3, body = $4, update_time = $5, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(i16::try_from(d.state).unwrap_or(0))
    .bind(d.met_late)
    .bind(d.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .execute(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(())
}

/// Marks open obligations due before `today` OVERDUE, one event each (run by the scheduler).
pub async fn mark_overdue(ctx: &Ctx, caller: &Caller, today: NaiveDate) -> Result<usize, Status> {
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM deadlines WHERE state = $1 AND due_date < $2 AND kind <> $3 ORDER BY due_date, id LIMIT 100",
    )
    .bind(DeadlineState::Open as i16)
    .bind(today)
    .bind(ELAPSES as i16)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let mut done = 0;
    for id in due {
        let mut tx = ctx.begin().await?;
        let row: Row = ctx.locked(&mut tx, &format!("{COLLECTION}/{id}"), "").await?;
        if row.state != DeadlineState::Open as i16 {
            continue;
        }
        let mut d = row.to_proto();
        d.state = DeadlineState::Overdue as i32;
        save(ctx, &mut tx, &row.id, &d).await?;
        let responsible = if d.responsible_organization.is_empty() {
            None
        } else {
            crate::organizations::reference(ctx, &mut tx, &d.responsible_organization, "responsible")
                .await
                .ok()
        };
        let jurisdiction = crate::jurisdictions::reference(ctx, &mut tx, &d.jurisdiction, "jurisdiction")
            .await
            .ok();
        let event = ev::DeadlineMissed {
            name: d.name.clone(),
            kind: d.kind,
            subject: d.subject.clone(),
            responsible_organization: responsible,
            jurisdiction,
            deadline: d.deadline.clone(),
        };
        let detail = serde_json::json!({ "subject": d.subject, "due": row.due_date.to_string() });
        ctx.record(
            &mut tx,
            caller,
            "registry.DeadlineMissed",
            &d.name,
            detail,
            ("pdop.registry.deadline.missed", &event),
        )
        .await?;
        ctx.commit(tx).await?;
        done += 1;
    }
    Ok(done)
}

/// Data authorities and auditors see every deadline; others only their own organization's.
fn sees_all(caller: &Caller) -> bool {
    caller.has_role(Role::DataAuthority) || caller.has_role(Role::Auditor)
}

pub async fn get(ctx: &Ctx, caller: &Caller, req: GetDeadlineRequest) -> Result<GetDeadlineResponse, Status> {
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let row: Row = fetch_row(ctx.pool(), "deadlines", COLUMNS, id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("DEADLINE_NOT_FOUND", &req.name))?;
    let d = row.to_proto();
    if !sees_all(caller) && d.responsible_organization != caller.organization {
        return Err(ctx.errors().permission_denied(
            "NOT_YOUR_OBLIGATION",
            "only the responsible organization and the supervising authorities read a deadline",
        ));
    }
    Ok(GetDeadlineResponse { deadline: Some(d) })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListDeadlinesRequest,
) -> Result<ListDeadlinesResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(NaiveDate, String)>) = paging(req.page_size, &req.page_token, &mut v);
    let mut organization =
        optional_name(&req.organization, "organizations", "organization", &mut v).map(str::to_owned);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let mut date_filter = |d: Option<&pdop_proto::common::Date>, field: &str| {
        optional_date(d).unwrap_or_else(|e| {
            v.add(field, e);
            None
        })
    };
    let due_after = date_filter(req.due_after.as_ref(), "due_after");
    let due_before = date_filter(req.due_before.as_ref(), "due_before");
    v.into_result(ctx.errors())?;
    if !sees_all(caller) {
        let own = caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned();
        if organization.as_ref().is_some_and(|o| *o != own) {
            return Err(ctx.errors().permission_denied(
                "NOT_YOUR_OBLIGATION",
                "you may list only your own organization's deadlines",
            ));
        }
        organization = Some(own);
    }
    let (after_due, after_id) = after.unzip();
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM deadlines
         WHERE ($1::date IS NULL OR (due_date, id) > ($1, $2))
           AND ($3::text IS NULL OR responsible_id = $3)
           AND ($4::smallint = 0 OR state = $4)
           AND (NOT $5 OR state = $6 OR met_late)
           AND ($7::smallint = 0 OR kind = $7)
           AND ($8 = '' OR subject = $8)
           AND ($9::text IS NULL OR jurisdiction_id = $9)
           AND ($10::date IS NULL OR due_date >= $10)
           AND ($11::date IS NULL OR due_date <= $11)
         ORDER BY due_date, id LIMIT $12"
    ))
    .bind(after_due)
    .bind(after_id)
    .bind(organization)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(req.overdue)
    .bind(DeadlineState::Overdue as i16)
    .bind(i16::try_from(req.kind).unwrap_or(0))
    .bind(req.subject.trim())
    .bind(jurisdiction)
    .bind(due_after)
    .bind(due_before)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| (r.due_date, r.id.clone()));
    Ok(ListDeadlinesResponse {
        deadlines: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}
