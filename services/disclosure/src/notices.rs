//! Public notices (公示) and their objections (异议). A notice is opened by a notice entry with the period the
//! deciding service computed in working days under its profile (registration 10 WD, N3 Art.12, D5; developer
//! admission ≥ 5 WD, S-YN Art.13, D21). Objections are real-name with evidence, accepted only while the notice is
//! open (dates in Asia/Shanghai), and forwarded to the deciding service (ObjectionFiled). The objector's identity
//! is kept here and on that internal event only, never in the log.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{naive_date, timestamp};
use pdop_kit::handling::{Handling as _, optional_name};
use pdop_proto::common::{DateRange, Deadline, OrganizationRef, PartyKind, RealNameParty};
use pdop_proto::disclosure::events::v1::ObjectionFiled;
use pdop_proto::disclosure::v1::{
    CreateObjectionRequest, CreateObjectionResponse, Entry, EntryKind, GetNoticeRequest, GetNoticeResponse,
    GetObjectionRequest, GetObjectionResponse, ListNoticesRequest, ListNoticesResponse,
    ListObjectionsRequest, ListObjectionsResponse, Notice, NoticeKind, NoticeState, Objection,
    ObjectionState,
};
use prost::Message;
use prost_reflect::DynamicMessage;
use sha2::{Digest as _, Sha256};
use sqlx::{Postgres, Transaction};
use tonic::{Code, Status};

use crate::context::Ctx;

/// Grounds shorter than this cannot say what is wrong; longer than the upper bound is not an objection.
const GROUNDS_CHARS: std::ops::RangeInclusive<usize> = 10..=5000;

fn field<T: Message + Default>(payload: &DynamicMessage, name: &str) -> Option<T> {
    payload
        .get_field_by_name(name)
        .and_then(|v| v.as_message().and_then(|m| m.transcode_to::<T>().ok()))
}

/// The state of a notice with `period` on `day`.
pub fn state_on(period: &DateRange, day: NaiveDate) -> NoticeState {
    let date = |d: Option<&pdop_proto::common::Date>| d.and_then(naive_date);
    match (date(period.start_date.as_ref()), date(period.end_date.as_ref())) {
        (Some(start), _) if day < start => NoticeState::Scheduled,
        (_, Some(end)) if day > end => NoticeState::Closed,
        _ => NoticeState::Open,
    }
}

/// Opens the notice of a notice entry just appended; other entries open none.
pub async fn open(
    tx: &mut Transaction<'static, Postgres>,
    entry: &Entry,
    payload: &DynamicMessage,
    deciding_service: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let kind = match EntryKind::try_from(entry.kind).unwrap_or_default() {
        EntryKind::RegistrationNotice => NoticeKind::Registration,
        EntryKind::DeveloperNotice => NoticeKind::DeveloperAdmission,
        _ => return Ok(()),
    };
    let period: DateRange = field(payload, "notice_period").unwrap_or_default();
    let (Some(start), Some(end)) = (
        period.start_date.as_ref().and_then(naive_date),
        period.end_date.as_ref().and_then(naive_date),
    ) else {
        anyhow::bail!("the notice event of {} has no notice period", entry.subject);
    };
    let deadline: Option<Deadline> = field(payload, "notice_deadline");
    // The operator decides objections to its developers' notices; registrations are decided by the registry,
    // whose data authority role reads them.
    let deciding = match kind {
        NoticeKind::DeveloperAdmission => entry.discloser.clone().unwrap_or_default(),
        _ => OrganizationRef::default(),
    };
    let id = uuid::Uuid::now_v7().to_string();
    let notice = Notice {
        name: format!("notices/{id}"),
        kind: kind as i32,
        subject: entry.subject.clone(),
        jurisdiction: entry.jurisdiction.clone(),
        title: entry.title.clone(),
        entry: format!("entries/{}", entry.sequence),
        period: Some(period),
        deadline,
        deciding_service: deciding_service.to_owned(),
        deciding_organization: Some(deciding.clone()),
        create_time: Some(timestamp(now)),
        ..Default::default()
    };
    sqlx::query(
        "INSERT INTO notices (id, kind, subject, jurisdiction_id, entry_sequence, start_date, end_date,
                              deciding_service, deciding_org_id, body, create_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(kind as i16)
    .bind(&entry.subject)
    .bind(
        entry
            .jurisdiction
            .as_ref()
            .and_then(|j| pdop_kit::names::parse(&j.name, "jurisdictions"))
            .unwrap_or_default(),
    )
    .bind(entry.sequence)
    .bind(start)
    .bind(end)
    .bind(deciding_service)
    .bind(pdop_kit::names::parse(&deciding.name, "organizations").unwrap_or_default())
    .bind(notice.encode_to_vec())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: String,
    objection_count: i32,
    body: Vec<u8>,
}

impl NoticeRow {
    /// The notice as it stands on `today` (its state follows from its period).
    fn to_proto(&self, today: NaiveDate) -> Notice {
        let mut n = Notice::decode(self.body.as_slice()).unwrap_or_default();
        n.name = format!("notices/{}", self.id);
        n.objection_count = self.objection_count;
        let period = n.period.unwrap_or_default();
        let state = state_on(&period, today);
        n.state = state as i32;
        if state == NoticeState::Closed {
            // The period ends at the end of its last day, Asia/Shanghai (UTC+8).
            let end = period.end_date.as_ref().and_then(naive_date);
            n.close_time = end
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| timestamp(t.and_utc() - chrono::Duration::hours(8)));
        }
        n
    }
}

const NOTICE_COLUMNS: &str = "id, objection_count, body";

async fn notice(ctx: &Ctx, name: &str, field: &str) -> Result<NoticeRow, Status> {
    let id = ctx.parse_name(name, "notices", field)?;
    sqlx::query_as(&format!("SELECT {NOTICE_COLUMNS} FROM notices WHERE id = $1"))
        .bind(id)
        .fetch_optional(ctx.pool())
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("NOTICE_NOT_FOUND", name))
}

pub async fn get_notice(ctx: &Ctx, req: GetNoticeRequest) -> Result<GetNoticeResponse, Status> {
    Ok(GetNoticeResponse {
        notice: Some(
            notice(ctx, &req.name, "name")
                .await?
                .to_proto(ctx.platform.clock.today()),
        ),
    })
}

pub async fn list_notices(ctx: &Ctx, req: ListNoticesRequest) -> Result<ListNoticesResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) =
        pdop_kit::handling::paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    v.into_result(ctx.errors())?;
    let today = ctx.platform.clock.today();
    // The state is a function of the date, so it filters in SQL as a date comparison.
    let mut rows: Vec<NoticeRow> = sqlx::query_as(&format!(
        "SELECT {NOTICE_COLUMNS} FROM notices
         WHERE ($1::text IS NULL OR id < $1)
           AND ($2::smallint = 0 OR kind = $2)
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4 = '' OR subject = $4)
           AND ($5 = 0 OR ($5 = 1 AND $6 < start_date) OR ($5 = 2 AND $6 BETWEEN start_date AND end_date)
                OR ($5 = 3 AND $6 > end_date))
         ORDER BY id DESC LIMIT $7"
    ))
    .bind(after)
    .bind(i16::try_from(req.kind).unwrap_or(0))
    .bind(jurisdiction)
    .bind(&req.subject)
    .bind(req.state)
    .bind(today)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = pdop_kit::handling::page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListNoticesResponse {
        notices: rows.iter().map(|r| r.to_proto(today)).collect(),
        next_page_token,
    })
}

fn validate(o: &Objection, v: &mut Violations) {
    if pdop_kit::names::parse(&o.notice, "notices").is_none() {
        v.add("objection.notice", pdop_kit::names::expected("notices"));
    }
    let objector = o.objector.clone().unwrap_or_default();
    if objector.display_name.trim().is_empty() {
        v.add(
            "objection.objector.display_name",
            "must give the objector's real name (N3 Art.12: 实名)",
        );
    }
    match PartyKind::try_from(objector.party_kind).unwrap_or_default() {
        PartyKind::Person => {
            if let Err(err) = pdop_rules::resident_id::verify(objector.identity_number.trim()) {
                v.add(
                    "objection.objector.identity_number",
                    format!("must be the objector's 18-character resident identity number (实名): {err}"),
                );
            }
        }
        PartyKind::Organization
            if pdop_rules::UnifiedSocialCreditCode::parse(&objector.unified_social_credit_code).is_err() =>
        {
            v.add(
                "objection.objector.unified_social_credit_code",
                "must be a valid 18-character unified social credit code",
            );
        }
        PartyKind::Unspecified => v.add("objection.objector.party_kind", "must be PERSON or ORGANIZATION"),
        _ => {}
    }
    if objector.contact.trim().is_empty() {
        v.add(
            "objection.objector.contact",
            "must say how the decision can be served",
        );
    }
    if !GROUNDS_CHARS.contains(&o.grounds.trim().chars().count()) {
        v.add(
            "objection.grounds",
            "must state the grounds in 10 to 5000 characters",
        );
    }
    if o.evidence.is_empty() || o.evidence.iter().any(|d| d.uri.trim().is_empty()) {
        v.add(
            "objection.evidence",
            "must reference at least one piece of evidence (N3 Art.12: 提供证明材料)",
        );
    }
}

#[derive(sqlx::FromRow)]
struct ObjectionRow {
    id: String,
    body: Vec<u8>,
}

impl ObjectionRow {
    fn to_proto(&self) -> Objection {
        let mut o = Objection::decode(self.body.as_slice()).unwrap_or_default();
        o.name = format!("objections/{}", self.id);
        o
    }
}

/// Who objects, as a SHA-256 of the kind and the normalized identity number or USCC: the key of the one pending
/// objection per notice and of the per-identity limit (THREATS H6), without a second copy of the number.
fn objector_key(objector: &RealNameParty) -> String {
    let identity = match PartyKind::try_from(objector.party_kind).unwrap_or_default() {
        PartyKind::Organization => format!("organization:{}", objector.unified_social_credit_code.trim()),
        _ => format!("person:{}", objector.identity_number.trim()),
    };
    hex::encode(Sha256::digest(identity.to_uppercase().as_bytes()))
}

/// The idempotency key's hash (THREATS M1): the caller and the request as decoded (prost encodes fields in number
/// order, so the bytes are canonical). The objection carries the objector's identity, so for anonymous callers the
/// key is scoped to the objector.
fn request_hash(caller: &Caller, objection: &Objection) -> Vec<u8> {
    let mut hash = Sha256::new();
    for part in [&caller.subject, &caller.organization] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.update(objection.encode_to_vec());
    hash.finalize().to_vec()
}

#[derive(sqlx::FromRow)]
struct EarlierRequest {
    id: String,
    body: Vec<u8>,
    request_hash: Option<Vec<u8>>,
}

/// The stored response when `request_id` was first used for this very request; another caller's, another
/// request's or another notice's use of the id is refused without a word of what it holds.
async fn replay(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    request_id: &str,
    hash: &[u8],
) -> Result<Option<CreateObjectionResponse>, Status> {
    let earlier: Option<EarlierRequest> =
        sqlx::query_as("SELECT id, body, request_hash FROM objections WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| ctx.db(e))?;
    match earlier {
        None => Ok(None),
        Some(row) if row.request_hash.as_deref() == Some(hash) => Ok(Some(CreateObjectionResponse {
            access_code: ctx.log.signer.access_code(&row.id),
            objection: Some(
                ObjectionRow {
                    id: row.id,
                    body: row.body,
                }
                .to_proto(),
            ),
        })),
        Some(_) => Err(request_id_reused(ctx)),
    }
}

fn request_id_reused(ctx: &Ctx) -> Status {
    ctx.errors().already_exists(
        "REQUEST_ID_REUSED",
        "this request_id was used for another request: use a fresh request_id for each objection",
    )
}

/// One pending objection per objector and notice, and at most `objections_per_identity` per window (THREATS H6).
/// The objector's advisory lock makes concurrent filings by one identity count one after the other.
async fn check_objector(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    notice_id: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), Status> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?;
    let (pending, recent): (bool, i64) = sqlx::query_as(
        "SELECT coalesce(bool_or(notice_id = $2 AND state = $3), false), count(*) FILTER (WHERE file_time > $4)
         FROM objections WHERE objector_key = $1",
    )
    .bind(key)
    .bind(notice_id)
    .bind(ObjectionState::Pending as i16)
    .bind(now - ctx.config.objection_window)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    if pending {
        return Err(ctx.errors().already_exists(
            "OBJECTION_PENDING",
            "this objector already has a pending objection to this notice; it is decided with reasons",
        ));
    }
    if recent >= i64::from(ctx.config.objections_per_identity) {
        return Err(ctx.errors().status(
            Code::ResourceExhausted,
            "OBJECTION_LIMIT_REACHED",
            format!(
                "at most {} objections per objector within {:?}",
                ctx.config.objections_per_identity, ctx.config.objection_window
            ),
        ));
    }
    Ok(())
}

pub async fn create_objection(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateObjectionRequest,
) -> Result<CreateObjectionResponse, Status> {
    const METHOD: &str = "disclosure.CreateObjection";
    let o = req.objection.unwrap_or_default();
    let mut v = Violations::new();
    validate(&o, &mut v);
    v.into_result(ctx.errors())?;
    let hash = request_hash(caller, &o);
    let key = objector_key(o.objector.as_ref().unwrap_or(&RealNameParty::default()));
    let notice_id = ctx
        .parse_name(&o.notice, "notices", "objection.notice")?
        .to_owned();
    let mut tx = ctx.begin().await?;
    // The notice row is locked so that the count and the period check see one state; concurrent duplicates of a
    // request wait here and then find the first one's row.
    let row: NoticeRow = sqlx::query_as(&format!(
        "SELECT {NOTICE_COLUMNS} FROM notices WHERE id = $1 FOR UPDATE"
    ))
    .bind(&notice_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?
    .ok_or_else(|| ctx.errors().not_found("NOTICE_NOT_FOUND", &o.notice))?;
    if !req.request_id.is_empty()
        && let Some(earlier) = replay(ctx, &mut tx, &req.request_id, &hash).await?
    {
        return Ok(earlier);
    }
    let notice = row.to_proto(ctx.platform.clock.today());
    let state = NoticeState::try_from(notice.state).unwrap_or_default();
    if state != NoticeState::Open {
        return Err(ctx.errors().failed_precondition(
            "NOTICE_NOT_OPEN",
            format!(
                "{} is {}: objections are accepted only during the notice period (N3 Art.12)",
                notice.name,
                state.as_str_name()
            ),
        ));
    }
    let now = ctx.platform.clock.now();
    check_objector(ctx, &mut tx, &notice_id, &key, now).await?;
    let id = uuid::Uuid::now_v7().to_string();
    let filed = Objection {
        name: format!("objections/{id}"),
        notice: notice.name.clone(),
        subject: notice.subject.clone(),
        objector: o.objector.clone(),
        grounds: o.grounds.trim().to_owned(),
        evidence: o.evidence.clone(),
        state: ObjectionState::Pending as i32,
        file_time: Some(timestamp(now)),
        ..Default::default()
    };
    // Another notice's request under the same id, committed meanwhile, is the only conflict left.
    let inserted = sqlx::query(
        "INSERT INTO objections (id, notice_id, state, request_id, body, file_time, objector_key, request_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (request_id) DO NOTHING",
    )
    .bind(&id)
    .bind(&notice_id)
    .bind(ObjectionState::Pending as i16)
    .bind((!req.request_id.is_empty()).then_some(&req.request_id))
    .bind(filed.encode_to_vec())
    .bind(now)
    .bind(&key)
    .bind(&hash)
    .execute(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    if inserted.rows_affected() == 0 {
        return Err(request_id_reused(ctx));
    }
    sqlx::query("UPDATE notices SET objection_count = objection_count + 1 WHERE id = $1")
        .bind(&notice_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| ctx.db(e))?;
    let event = ObjectionFiled {
        name: filed.name.clone(),
        notice: notice.name.clone(),
        notice_kind: notice.kind,
        subject: notice.subject.clone(),
        jurisdiction: notice.jurisdiction.clone(),
        deciding_service: notice.deciding_service.clone(),
        objector: filed.objector.clone(),
        grounds: filed.grounds.clone(),
        evidence: filed.evidence.clone(),
        file_time: filed.file_time,
    };
    // The audit row names the notice only: the objector's identity stays out of the audit chain's details.
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &filed.name,
        serde_json::json!({ "notice": notice.name }),
        ("pdop.disclosure.objection.filed", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(CreateObjectionResponse {
        access_code: ctx.log.signer.access_code(&id),
        objection: Some(filed),
    })
}

/// Who may read an objection with a token: overseers, and the organization deciding the notice.
fn may_read(caller: &Caller, notice: &Notice) -> bool {
    caller.has_role(Role::DataAuthority)
        || caller.has_role(Role::Auditor)
        || notice
            .deciding_organization
            .as_ref()
            .is_some_and(|o: &OrganizationRef| !o.name.is_empty() && o.name == caller.organization)
}

pub async fn get_objection(
    ctx: &Ctx,
    caller: &Caller,
    req: GetObjectionRequest,
) -> Result<GetObjectionResponse, Status> {
    let id = ctx.parse_name(&req.name, "objections", "name")?.to_owned();
    let not_found = || ctx.errors().not_found("OBJECTION_NOT_FOUND", &req.name);
    let row: ObjectionRow = sqlx::query_as("SELECT id, body FROM objections WHERE id = $1")
        .bind(&id)
        .fetch_optional(ctx.pool())
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(not_found)?;
    let objection = row.to_proto();
    let with_code = !req.access_code.is_empty() && ctx.log.signer.access_code(&id) == req.access_code;
    if !with_code {
        if caller.is_public() {
            return Err(not_found());
        }
        let notice = notice(ctx, &objection.notice, "name")
            .await?
            .to_proto(ctx.platform.clock.today());
        if !may_read(caller, &notice) {
            return Err(ctx.errors().permission_denied(
                "NOT_THE_DECIDING_ORGANIZATION",
                "objections are read by the data authority, auditors and the deciding organization",
            ));
        }
    }
    Ok(GetObjectionResponse {
        objection: Some(objection),
    })
}

pub async fn list_objections(
    ctx: &Ctx,
    caller: &Caller,
    req: ListObjectionsRequest,
) -> Result<ListObjectionsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) =
        pdop_kit::handling::paging(req.page_size, &req.page_token, &mut v);
    let notice_id = optional_name(&req.notice, "notices", "notice", &mut v);
    v.into_result(ctx.errors())?;
    let overseer = caller.has_role(Role::DataAuthority) || caller.has_role(Role::Auditor);
    let own = (!overseer).then(|| {
        pdop_kit::names::parse(&caller.organization, "organizations")
            .unwrap_or("-")
            .to_owned()
    });
    let mut rows: Vec<ObjectionRow> = sqlx::query_as(
        "SELECT o.id, o.body FROM objections o JOIN notices n ON n.id = o.notice_id
         WHERE ($1::text IS NULL OR o.id > $1)
           AND ($2::text IS NULL OR n.id = $2)
           AND ($3::smallint = 0 OR o.state = $3)
           AND ($4 = '' OR n.subject = $4)
           AND ($5::text IS NULL OR n.deciding_org_id = $5)
         ORDER BY o.id LIMIT $6",
    )
    .bind(after)
    .bind(notice_id)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(&req.subject)
    .bind(own)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = pdop_kit::handling::page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListObjectionsResponse {
        objections: rows.iter().map(ObjectionRow::to_proto).collect(),
        next_page_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdop_kit::convert::date;

    fn on(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn a_notice_is_open_on_every_day_of_its_period_and_only_then() {
        // D5 (N3 Art.12): 10 WD from Monday 2026-09-28 cross National Day (10-01..10-08, make-up day 10-10)
        // and end on 2026-10-16; the deciding service computes the period, the notice holds it.
        let calendar = pdop_rules::Calendar::builtin();
        let end = calendar.add_working_days(on(2026, 9, 28), 10).due;
        assert_eq!(end, on(2026, 10, 16));
        let period = DateRange {
            start_date: Some(date(on(2026, 9, 28))),
            end_date: Some(date(end)),
        };
        assert_eq!(state_on(&period, on(2026, 9, 27)), NoticeState::Scheduled);
        assert_eq!(state_on(&period, on(2026, 9, 28)), NoticeState::Open);
        assert_eq!(state_on(&period, on(2026, 10, 5)), NoticeState::Open);
        assert_eq!(state_on(&period, on(2026, 10, 16)), NoticeState::Open);
        assert_eq!(state_on(&period, on(2026, 10, 17)), NoticeState::Closed);
    }
}
