//! The blacklist (黑名单 / 信用约束, DOMAIN §4.8, S-YN Art.21, 25): graded measures against an operator or a
//! developer. A measure in effect bars new agreements (SUSPEND, DISQUALIFY, BAR); SUSPEND and DISQUALIFY also
//! act at once: the organization's running agreements in the jurisdiction are suspended (operators) or
//! suspended / ended with platform access closed (developers). Lifting or expiry of a SUSPEND resumes
//! developer agreements; operator agreements resume only by the implementing agency's decision.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_proto::common::OrganizationRole;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    BlacklistAction, BlacklistEntry, BlacklistEntryState, CreateBlacklistEntryRequest,
    CreateBlacklistEntryResponse, GetBlacklistEntryRequest, GetBlacklistEntryResponse,
    LiftBlacklistEntryRequest, LiftBlacklistEntryResponse, ListBlacklistEntriesRequest,
    ListBlacklistEntriesResponse,
};
use prost::Message;
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling, fetch_row, optional_name, paging};
use crate::convert::{actor, date, etag, optional_date, timestamp};
use crate::jurisdictions::page_after;
use crate::{agreements, developer_agreements, names, organizations};

const COLLECTION: &str = "blacklistEntries";

/// Measures that keep an organization out of new agreements while in effect.
const EXCLUDING: [BlacklistAction; 3] = [
    BlacklistAction::Suspend,
    BlacklistAction::Disqualify,
    BlacklistAction::Bar,
];

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    organization_id: String,
    jurisdiction_id: String,
    state: i16,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str = "id, organization_id, jurisdiction_id, state, body, create_time, update_time, version";

impl Row {
    fn to_proto(&self) -> BlacklistEntry {
        let mut e = BlacklistEntry::decode(self.body.as_slice()).unwrap_or_default();
        e.name = format!("{COLLECTION}/{}", self.id);
        e.organization = names::organization(&self.organization_id);
        e.jurisdiction = names::jurisdiction(&self.jurisdiction_id);
        e.state = i32::from(self.state);
        e.create_time = Some(timestamp(self.create_time));
        e.update_time = Some(timestamp(self.update_time));
        e.etag = etag(self.version);
        e
    }
}

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str, lock: bool) -> Result<Option<Row>, sqlx::Error> {
    fetch_row(db, "blacklist_entries", COLUMNS, id, lock).await
}

fn action_of(e: &BlacklistEntry) -> BlacklistAction {
    BlacklistAction::try_from(e.action).unwrap_or(BlacklistAction::Unspecified)
}

/// The measure in effect on `today` that keeps `organization` out of new agreements in `jurisdiction_id`,
/// as a sentence for a `FAILED_PRECONDITION`.
pub async fn exclusion(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    organization: &str,
    jurisdiction: &str,
) -> Result<Option<String>, Status> {
    let excluding: Vec<i16> = EXCLUDING.iter().map(|a| *a as i16).collect();
    let row = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM blacklist_entries
         WHERE organization_id = $1 AND jurisdiction_id = $2 AND state = $3 AND action = ANY($4)
           AND period_start <= $5 AND (period_end IS NULL OR period_end >= $5)
         ORDER BY create_time LIMIT 1"
    ))
    .bind(organization.trim_start_matches("organizations/"))
    .bind(jurisdiction.trim_start_matches("jurisdictions/"))
    .bind(BlacklistEntryState::Active as i16)
    .bind(excluding)
    .bind(ctx.platform.clock.today())
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(row.map(|r| {
        let e = r.to_proto();
        format!(
            "{organization} is under {:?} ({}) in {jurisdiction}: {}",
            action_of(&e),
            e.name,
            e.reason
        )
    }))
}

fn validate(e: &BlacklistEntry, today: NaiveDate, v: &mut Violations) -> (NaiveDate, Option<NaiveDate>) {
    if names::parse(&e.organization, "organizations").is_none() {
        v.add("blacklist_entry.organization", names::expected("organizations"));
    }
    if names::parse(&e.jurisdiction, "jurisdictions").is_none() {
        v.add("blacklist_entry.jurisdiction", names::expected("jurisdictions"));
    }
    if action_of(e) == BlacklistAction::Unspecified {
        v.add(
            "blacklist_entry.action",
            "must be WARN, SUSPEND, DISQUALIFY or BAR (S-YN Art.21, 25)",
        );
    }
    if e.reason.trim().is_empty() {
        v.add("blacklist_entry.reason", "must state the facts (违规事实)");
    }
    let period = e.period.unwrap_or_default();
    let start = match optional_date(period.start_date.as_ref()) {
        Ok(d) => d.unwrap_or(today),
        Err(err) => {
            v.add("blacklist_entry.period.start_date", err);
            today
        }
    };
    let end = optional_date(period.end_date.as_ref()).unwrap_or_else(|err| {
        v.add("blacklist_entry.period.end_date", err);
        None
    });
    if end.is_some_and(|end| end < start) {
        v.add(
            "blacklist_entry.period.end_date",
            "must not be before the start date",
        );
    }
    (start, end)
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateBlacklistEntryRequest,
) -> Result<CreateBlacklistEntryResponse, Status> {
    const METHOD: &str = "registry.CreateBlacklistEntry";
    let e = req.blacklist_entry.unwrap_or_default();
    let mut v = Violations::new();
    let (start, end) = validate(&e, ctx.platform.clock.today(), &mut v);
    v.into_result(ctx.errors())?;
    ctx.not_own(caller, &[e.organization.as_str()], &e.organization)?;
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let target =
        organizations::reference(ctx, &mut tx, &e.organization, "blacklist_entry.organization").await?;
    let jurisdiction =
        crate::jurisdictions::reference(ctx, &mut tx, &e.jurisdiction, "blacklist_entry.jurisdiction")
            .await?;
    // An operator imposes measures only on developers it works with (S-YN Art.21).
    let supervises = caller.has_role(Role::DataAuthority) || caller.has_role(Role::ImplementingAgency);
    if supervises {
        // The measure acts on agreements in its jurisdiction, which the caller must supervise (THREATS H2).
        crate::supervision::require(ctx, &mut tx, caller, &e.jurisdiction, &e.organization).await?;
    } else {
        let works_with =
            developer_agreements::works_with(ctx, &mut tx, &caller.organization, &e.organization).await?;
        if !target.roles.contains(&(OrganizationRole::Developer as i32)) || !works_with {
            return Err(ctx.errors().permission_denied(
                "NOT_YOUR_DEVELOPER",
                "an operator imposes measures only on developers it has a developer agreement with",
            ));
        }
    }
    let entry = BlacklistEntry {
        organization: e.organization.clone(),
        jurisdiction: e.jurisdiction.clone(),
        action: e.action,
        reason: e.reason.trim().to_owned(),
        basis: e.basis,
        evidence: e.evidence,
        period: Some(pdop_proto::common::DateRange {
            start_date: Some(date(start)),
            end_date: end.map(date),
        }),
        imposed_by: caller.organization.clone(),
        state: BlacklistEntryState::Active as i32,
        ..Default::default()
    };
    let id = uuid::Uuid::now_v7().to_string();
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO blacklist_entries (id, organization_id, jurisdiction_id, action, state, period_start, period_end,
                                        body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(entry.organization.trim_start_matches("organizations/"))
    .bind(entry.jurisdiction.trim_start_matches("jurisdictions/"))
    .bind(i16::try_from(entry.action).unwrap_or(0))
    .bind(BlacklistEntryState::Active as i16)
    .bind(start)
    .bind(end)
    .bind(entry.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let created = row.to_proto();
    crate::follow_ups::meet_for_developer(ctx, &mut tx, &created.organization).await?;
    // Measures that take effect today act on running agreements now; a later start waits for the scheduler.
    if start <= ctx.platform.clock.today() {
        apply(ctx, &mut tx, caller, &row.id, &created).await?;
    }
    let imposed_by = organizations::reference(ctx, &mut tx, &caller.organization, "imposed_by")
        .await
        .ok();
    let event = ev::BlacklistEntryAdded {
        name: created.name.clone(),
        organization: Some(target),
        jurisdiction: Some(jurisdiction),
        action: created.action,
        reason: created.reason.clone(),
        basis: created.basis.clone(),
        period: created.period,
        imposed_by,
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "organization": created.organization, "action": format!("{:?}", action_of(&created)) }),
        ("pdop.registry.blacklist_entry.added", &event),
    )
    .await?;
    let response = CreateBlacklistEntryResponse {
        blacklist_entry: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

/// SUSPEND and DISQUALIFY act on the organization's running agreements in the jurisdiction.
async fn apply(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    id: &str,
    e: &BlacklistEntry,
) -> Result<(), Status> {
    // Lock every agreement the measure may touch before the first audit row (see `Ctx::record`).
    for table in ["agreements", "developer_agreements"] {
        let column = if table == "agreements" {
            "operator_id"
        } else {
            "developer_id"
        };
        sqlx::query(&format!(
            "SELECT 1 FROM {table} WHERE {column} = $1 AND jurisdiction_id = $2 ORDER BY id FOR UPDATE"
        ))
        .bind(e.organization.trim_start_matches("organizations/"))
        .bind(e.jurisdiction.trim_start_matches("jurisdictions/"))
        .execute(&mut **tx)
        .await
        .map_err(|err| ctx.db(err))?;
    }
    sqlx::query("UPDATE blacklist_entries SET applied = true WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(|err| ctx.db(err))?;
    let reason = format!(
        "{:?} by {} ({}): {}",
        action_of(e),
        e.imposed_by,
        e.name,
        e.reason
    );
    match action_of(e) {
        BlacklistAction::Suspend => {
            agreements::suspend_operator(ctx, tx, caller, &e.organization, &e.jurisdiction, &reason).await?;
            developer_agreements::suspend_developer(ctx, tx, caller, &e.organization, &e.jurisdiction).await
        }
        BlacklistAction::Disqualify => {
            agreements::suspend_operator(ctx, tx, caller, &e.organization, &e.jurisdiction, &reason).await?;
            developer_agreements::end_developer(ctx, tx, caller, &e.organization, &e.jurisdiction, &reason)
                .await
        }
        _ => Ok(()),
    }
}

pub async fn get(ctx: &Ctx, req: GetBlacklistEntryRequest) -> Result<GetBlacklistEntryResponse, Status> {
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let row = fetch(ctx.pool(), id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("BLACKLIST_ENTRY_NOT_FOUND", &req.name))?;
    Ok(GetBlacklistEntryResponse {
        blacklist_entry: Some(row.to_proto()),
    })
}

pub async fn list(
    ctx: &Ctx,
    req: ListBlacklistEntriesRequest,
) -> Result<ListBlacklistEntriesResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let organization_id = optional_name(&req.organization, "organizations", "organization", &mut v);
    let jurisdiction_id = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    v.into_result(ctx.errors())?;
    // Newest first: ids are time-ordered (UUIDv7).
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM blacklist_entries
         WHERE ($1::text IS NULL OR id < $1)
           AND ($2::text IS NULL OR organization_id = $2)
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::smallint = 0 OR action = $4)
           AND ($5::smallint = 0 OR state = $5)
         ORDER BY id DESC LIMIT $6"
    ))
    .bind(after)
    .bind(organization_id)
    .bind(jurisdiction_id)
    .bind(i16::try_from(req.action).unwrap_or(0))
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListBlacklistEntriesResponse {
        blacklist_entries: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

pub async fn lift(
    ctx: &Ctx,
    caller: &Caller,
    req: LiftBlacklistEntryRequest,
) -> Result<LiftBlacklistEntryResponse, Status> {
    const METHOD: &str = "registry.LiftBlacklistEntry";
    if req.reason.trim().is_empty() {
        let mut v = Violations::new();
        v.add("reason", "must say why the measure is lifted (解除)");
        return Err(ctx.errors().invalid(&v));
    }
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let mut tx = ctx.begin().await?;
    let row = fetch(&mut *tx, id, true)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("BLACKLIST_ENTRY_NOT_FOUND", &req.name))?;
    ctx.check_etag(&req.etag, row.version, &req.name)?;
    let e = row.to_proto();
    if !(caller.organization == e.imposed_by || caller.has_role(Role::DataAuthority)) {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_IMPOSER",
            format!(
                "only {} (which imposed it) or a data authority lifts {}",
                e.imposed_by, e.name
            ),
        ));
    }
    if caller.has_role(Role::DataAuthority) || caller.has_role(Role::ImplementingAgency) {
        crate::supervision::require(ctx, &mut tx, caller, &e.jurisdiction, &e.name).await?;
    }
    end(
        ctx,
        &mut tx,
        caller,
        &row,
        e,
        BlacklistEntryState::Lifted,
        req.reason.trim(),
        METHOD,
    )
    .await?;
    let saved = fetch(&mut *tx, id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .map(|r| r.to_proto());
    ctx.commit(tx).await?;
    Ok(LiftBlacklistEntryResponse {
        blacklist_entry: saved,
    })
}

/// Ends an ACTIVE entry (LIFTED or EXPIRED): one audit row, one event, and developer agreements suspended by
/// it resume.
#[allow(clippy::too_many_arguments)]
async fn end(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    mut e: BlacklistEntry,
    state: BlacklistEntryState,
    reason: &str,
    action: &str,
) -> Result<(), Status> {
    ctx.require_state(
        &e.name,
        BlacklistEntryState::try_from(e.state).unwrap_or_default(),
        &[BlacklistEntryState::Active],
        "ending the measure",
    )?;
    e.state = state as i32;
    e.lift_reason = reason.to_owned();
    sqlx::query("UPDATE blacklist_entries SET state = $2, body = $3, update_time = $4, version = version + 1 WHERE id = $1")
        .bind(&row.id)
        .bind(state as i16)
        .bind(e.encode_to_vec())
        .bind(ctx.platform.clock.now())
        .execute(&mut **tx)
        .await
        .map_err(|err| ctx.db(err))?;
    if action_of(&e) == BlacklistAction::Suspend {
        developer_agreements::resume_developer(ctx, tx, caller, &e.organization, &e.jurisdiction).await?;
    }
    let organization = organizations::reference(ctx, tx, &e.organization, "organization").await?;
    let jurisdiction = crate::jurisdictions::reference(ctx, tx, &e.jurisdiction, "jurisdiction").await?;
    let event = ev::BlacklistEntryLifted {
        name: e.name.clone(),
        organization: Some(organization),
        jurisdiction: Some(jurisdiction),
        action: e.action,
        state: state as i32,
        reason: reason.to_owned(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        tx,
        caller,
        action,
        &e.name,
        serde_json::json!({ "state": format!("{state:?}") }),
        ("pdop.registry.blacklist_entry.lifted", &event),
    )
    .await?;
    Ok(())
}

/// Applies entries whose period has begun and expires those whose period ended before `today` (run by the
/// scheduler); returns how many changed.
pub async fn sweep(ctx: &Ctx, caller: &Caller, today: NaiveDate) -> Result<usize, Status> {
    let starting: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM blacklist_entries WHERE state = $1 AND NOT applied AND period_start <= $2 ORDER BY id LIMIT 100",
    )
    .bind(BlacklistEntryState::Active as i16)
    .bind(today)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let mut done = 0;
    for id in starting {
        let mut tx = ctx.begin().await?;
        let row = fetch(&mut *tx, &id, true).await.map_err(|e| ctx.db(e))?;
        let applied: bool = sqlx::query_scalar("SELECT applied FROM blacklist_entries WHERE id = $1")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| ctx.db(e))?;
        if let Some(row) = row.filter(|r| r.state == BlacklistEntryState::Active as i16 && !applied) {
            apply(ctx, &mut tx, caller, &row.id, &row.to_proto()).await?;
            done += 1;
        }
        ctx.commit(tx).await?;
    }
    Ok(done + expire_due(ctx, caller, today).await?)
}

async fn expire_due(ctx: &Ctx, caller: &Caller, today: NaiveDate) -> Result<usize, Status> {
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM blacklist_entries WHERE state = $1 AND period_end < $2 ORDER BY id LIMIT 100",
    )
    .bind(BlacklistEntryState::Active as i16)
    .bind(today)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let mut done = 0;
    for id in due {
        let mut tx = ctx.begin().await?;
        let Some(row) = fetch(&mut *tx, &id, true).await.map_err(|e| ctx.db(e))? else {
            continue;
        };
        if row.state != BlacklistEntryState::Active as i16 {
            continue;
        }
        let e = row.to_proto();
        end(
            ctx,
            &mut tx,
            caller,
            &row,
            e,
            BlacklistEntryState::Expired,
            "",
            "registry.Scheduler",
        )
        .await?;
        ctx.commit(tx).await?;
        done += 1;
    }
    Ok(done)
}
