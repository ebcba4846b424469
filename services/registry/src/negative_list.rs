//! The negative list (负面清单): resources (or some of their fields) that may not enter authorized
//! operation, each with its reason and a yearly review (D28, S-YN Art.15: 每年复核). While an entry is
//! active its resource is not authorizable.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_proto::registry::events::v1::{
    NegativeListEntryAdded, NegativeListEntryLifted, NegativeListEntryReviewed,
};
use pdop_proto::registry::v1::{
    CreateNegativeListEntryRequest, CreateNegativeListEntryResponse, GetNegativeListEntryRequest,
    GetNegativeListEntryResponse, LiftNegativeListEntryRequest, LiftNegativeListEntryResponse,
    ListNegativeListEntriesRequest, ListNegativeListEntriesResponse, NegativeListEntry,
    NegativeListEntryState, NegativeListReview, NegativeListReviewOutcome, ObligationKind,
    ReviewNegativeListEntryRequest, ReviewNegativeListEntryResponse,
};
use prost::Message;
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling, fetch_row, is_unique_violation, optional_name, paging};
use crate::convert::{actor, audit_info, date, etag, optional_date, timestamp};
use crate::jurisdictions::{self, page_after};
use crate::{names, resources};

const COLLECTION: &str = "negativeListEntries";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    jurisdiction_id: String,
    resource_id: String,
    field_keys: Vec<String>,
    reason: String,
    basis: String,
    effective_date: NaiveDate,
    next_review_date: NaiveDate,
    state: i16,
    reviews: Vec<Vec<u8>>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str = "id, jurisdiction_id, resource_id, field_keys, reason, basis, effective_date, next_review_date, \
                       state, reviews, create_time, update_time, version";

impl Row {
    fn name(&self) -> String {
        format!("{COLLECTION}/{}", self.id)
    }

    fn to_proto(&self) -> NegativeListEntry {
        NegativeListEntry {
            name: self.name(),
            jurisdiction: names::jurisdiction(&self.jurisdiction_id),
            resource: names::resource(&self.resource_id),
            field_keys: self.field_keys.clone(),
            reason: self.reason.clone(),
            basis: self.basis.clone(),
            effective_date: Some(date(self.effective_date)),
            next_review_date: Some(date(self.next_review_date)),
            state: i32::from(self.state),
            reviews: self
                .reviews
                .iter()
                .filter_map(|b| NegativeListReview::decode(b.as_slice()).ok())
                .collect(),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
            etag: etag(self.version),
        }
    }
}

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str, lock: bool) -> Result<Option<Row>, sqlx::Error> {
    fetch_row(db, "negative_list_entries", COLUMNS, id, lock).await
}

fn parse_name<'a>(ctx: &Ctx, name: &'a str, field: &str) -> Result<&'a str, Status> {
    ctx.parse_name(name, COLLECTION, field)
}

/// D28 (S-YN Art.15): the next review is due one year after `from`.
fn a_year_after(ctx: &Ctx, from: NaiveDate) -> NaiveDate {
    ctx.calendar.add_years(from, 1).due
}

/// Opens the yearly-review obligation (D28, S-YN Art.15) of an entry, due on `next_review`; the data
/// authority recording the entry is responsible for it.
async fn open_review_deadline(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    entry: &str,
    jurisdiction_id: &str,
    from: NaiveDate,
    next_review: NaiveDate,
) -> Result<(), Status> {
    let deadline = pdop_proto::common::Deadline {
        start_date: Some(date(from)),
        duration: 1,
        unit: pdop_proto::common::DeadlineUnit::Years as i32,
        due_date: Some(date(next_review)),
        provisional: false,
        source: Some(pdop_proto::common::SourceCitation {
            rule_id: "D28".to_owned(),
            source_id: "S-YN Art.15 (每年复核)".to_owned(),
            ..Default::default()
        }),
        profile_id: String::new(),
    };
    let jurisdiction = names::jurisdiction(jurisdiction_id);
    let o = crate::deadlines::Obligation {
        kind: ObligationKind::NegativeListReview,
        subject: entry,
        responsible: &caller.organization,
        jurisdiction: &jurisdiction,
    };
    crate::deadlines::open(ctx, tx, o, &deadline).await
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateNegativeListEntryRequest,
) -> Result<CreateNegativeListEntryResponse, Status> {
    const METHOD: &str = "registry.CreateNegativeListEntry";
    let e = req.negative_list_entry.unwrap_or_default();
    let mut v = Violations::new();
    if e.resource.is_empty() {
        v.add(
            "negative_list_entry.resource",
            "must name the listed resource, e.g. resources/population",
        );
    }
    if e.reason.trim().is_empty() {
        v.add(
            "negative_list_entry.reason",
            "must say why the data may not be operated (列入理由)",
        );
    }
    let effective = optional_date(e.effective_date.as_ref()).unwrap_or_else(|err| {
        v.add("negative_list_entry.effective_date", err);
        None
    });
    let requested_review = optional_date(e.next_review_date.as_ref()).unwrap_or_else(|err| {
        v.add("negative_list_entry.next_review_date", err);
        None
    });
    v.into_result(ctx.errors())?;
    let effective = effective.unwrap_or_else(|| ctx.platform.clock.today());
    let next_review = requested_review.unwrap_or_else(|| a_year_after(ctx, effective));
    if next_review <= effective || next_review > a_year_after(ctx, effective) {
        let mut v = Violations::new();
        v.add(
            "negative_list_entry.next_review_date",
            "must fall after the effective date and within a year of it (D28: yearly review)",
        );
        return Err(ctx.errors().invalid(&v));
    }

    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let resource = resources::for_listing(ctx, &mut tx, &e.resource, "negative_list_entry.resource").await?;
    crate::supervision::require(ctx, &mut tx, caller, &resource.jurisdiction_id, &e.resource).await?;
    let mut v = Violations::new();
    for (i, key) in e.field_keys.iter().enumerate() {
        if !resource.field_keys.contains(key) {
            v.add(
                format!("negative_list_entry.field_keys[{i}]"),
                format!("`{key}` is not a field of {}", e.resource),
            );
        }
    }
    v.into_result(ctx.errors())?;
    let now = ctx.platform.clock.now();
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO negative_list_entries (id, jurisdiction_id, resource_id, field_keys, reason, basis, effective_date,
             next_review_date, state, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
    ))
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&resource.jurisdiction_id)
    .bind(&resource.id)
    .bind(&e.field_keys)
    .bind(e.reason.trim())
    .bind(e.basis.trim())
    .bind(effective)
    .bind(next_review)
    .bind(NegativeListEntryState::Active as i16)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            return Err(ctx.errors().already_exists(
                "ALREADY_LISTED",
                format!(
                    "{} already has an active negative-list entry; review or lift it instead",
                    e.resource
                ),
            ));
        }
        Err(err) => return Err(ctx.db(err)),
    };
    resources::set_negative_listed(ctx, &mut tx, &resource.id, true).await?;
    let entry = row.to_proto();
    open_review_deadline(
        ctx,
        &mut tx,
        caller,
        &entry.name,
        &row.jurisdiction_id,
        effective,
        next_review,
    )
    .await?;
    let jurisdiction =
        jurisdictions::reference(ctx, &mut tx, &entry.jurisdiction, "negative_list_entry.resource").await?;
    let event = NegativeListEntryAdded {
        name: entry.name.clone(),
        jurisdiction: Some(jurisdiction),
        resource: entry.resource.clone(),
        field_keys: entry.field_keys.clone(),
        reason: entry.reason.clone(),
        basis: entry.basis.clone(),
        effective_date: entry.effective_date,
        next_review_date: entry.next_review_date,
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({
        "resource": entry.resource, "field_keys": entry.field_keys, "reason": entry.reason,
        "next_review_date": next_review.to_string(),
    });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &entry.name,
        detail,
        ("pdop.registry.negative_list_entry.added", &event),
    )
    .await?;
    let response = CreateNegativeListEntryResponse {
        negative_list_entry: Some(entry),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn get(
    ctx: &Ctx,
    req: GetNegativeListEntryRequest,
) -> Result<GetNegativeListEntryResponse, Status> {
    let id = parse_name(ctx, &req.name, "name")?;
    match fetch(ctx.pool(), id, false).await.map_err(|e| ctx.db(e))? {
        Some(row) => Ok(GetNegativeListEntryResponse {
            negative_list_entry: Some(row.to_proto()),
        }),
        None => Err(ctx.errors().not_found("NEGATIVE_LIST_ENTRY_NOT_FOUND", &req.name)),
    }
}

pub async fn list(
    ctx: &Ctx,
    req: ListNegativeListEntriesRequest,
) -> Result<ListNegativeListEntriesResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(NaiveDate, String)>) = paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction_id = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let resource_id = optional_name(&req.resource, "resources", "resource", &mut v);
    let due_before = optional_date(req.review_due_before.as_ref()).unwrap_or_else(|err| {
        v.add("review_due_before", err);
        None
    });
    v.into_result(ctx.errors())?;
    let (after_date, after_id) = after.unzip();
    // Ordered by next review date (the authority's work queue), then id.
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM negative_list_entries
         WHERE ($1::date IS NULL OR (next_review_date, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR resource_id = $4)
           AND ($5::smallint = 0 OR state = $5)
           AND ($6::date IS NULL OR next_review_date < $6)
         ORDER BY next_review_date, id LIMIT $7"
    ))
    .bind(after_date)
    .bind(after_id)
    .bind(jurisdiction_id)
    .bind(resource_id)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(due_before)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| (r.next_review_date, r.id.clone()));
    Ok(ListNegativeListEntriesResponse {
        negative_list_entries: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

/// The ACTIVE entry `name` at `expected_etag`, locked, for a data authority supervising its jurisdiction (H2).
async fn active_for_change(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    name: &str,
    expected_etag: &str,
) -> Result<Row, Status> {
    let id = parse_name(ctx, name, "name")?;
    let row = fetch(&mut **tx, id, true)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("NEGATIVE_LIST_ENTRY_NOT_FOUND", name))?;
    ctx.check_etag(expected_etag, row.version, name)?;
    crate::supervision::require(ctx, tx, caller, &row.jurisdiction_id, name).await?;
    if row.state != NegativeListEntryState::Active as i16 {
        return Err(ctx
            .errors()
            .failed_precondition("ENTRY_LIFTED", format!("{name} was already lifted")));
    }
    Ok(row)
}

/// Stores the new state, review history and next review date; clears the resource's flag when lifted.
async fn save(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    review: &NegativeListReview,
    lifted: bool,
    next_review: NaiveDate,
) -> Result<NegativeListEntry, Status> {
    let state = if lifted {
        NegativeListEntryState::Lifted
    } else {
        NegativeListEntryState::Active
    };
    let updated = sqlx::query_as::<_, Row>(&format!(
        "UPDATE negative_list_entries SET state = $2, reviews = array_append(reviews, $3), next_review_date = $4,
             update_time = $5, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(&row.id)
    .bind(state as i16)
    .bind(review.encode_to_vec())
    .bind(next_review)
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    if lifted {
        resources::set_negative_listed(ctx, tx, &row.resource_id, false).await?;
    }
    let entry = updated.to_proto();
    // A review (or a lift) settles this year's review; a kept entry owes the next one.
    crate::deadlines::meet(ctx, tx, &entry.name, ObligationKind::NegativeListReview).await?;
    if !lifted {
        open_review_deadline(
            ctx,
            tx,
            caller,
            &entry.name,
            &row.jurisdiction_id,
            ctx.platform.clock.today(),
            next_review,
        )
        .await?;
    }
    Ok(entry)
}

async fn announce_lift(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    entry: &NegativeListEntry,
    action: &str,
    reason: &str,
) -> Result<(), Status> {
    let jurisdiction = jurisdictions::reference(ctx, tx, &entry.jurisdiction, "name").await?;
    let event = NegativeListEntryLifted {
        name: entry.name.clone(),
        jurisdiction: Some(jurisdiction),
        resource: entry.resource.clone(),
        reason: reason.to_owned(),
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({ "state": "LIFTED", "reason": reason });
    ctx.record(
        tx,
        caller,
        action,
        &entry.name,
        detail,
        ("pdop.registry.negative_list_entry.lifted", &event),
    )
    .await
}

pub async fn review(
    ctx: &Ctx,
    caller: &Caller,
    req: ReviewNegativeListEntryRequest,
) -> Result<ReviewNegativeListEntryResponse, Status> {
    const METHOD: &str = "registry.ReviewNegativeListEntry";
    let mut review = req.review.unwrap_or_default();
    let mut v = Violations::new();
    let outcome =
        NegativeListReviewOutcome::try_from(review.outcome).unwrap_or(NegativeListReviewOutcome::Unspecified);
    if outcome == NegativeListReviewOutcome::Unspecified {
        v.add("review.outcome", "must be KEPT or LIFTED");
    }
    if review.reason.trim().is_empty() {
        v.add("review.reason", "must record the review's reasoning");
    }
    let review_date = optional_date(review.review_date.as_ref()).unwrap_or_else(|err| {
        v.add("review.review_date", err);
        None
    });
    let requested_next = optional_date(review.next_review_date.as_ref()).unwrap_or_else(|err| {
        v.add("review.next_review_date", err);
        None
    });
    v.into_result(ctx.errors())?;
    let review_date = review_date.unwrap_or_else(|| ctx.platform.clock.today());
    let next = requested_next.unwrap_or_else(|| a_year_after(ctx, review_date));
    if outcome == NegativeListReviewOutcome::Kept
        && (next <= review_date || next > a_year_after(ctx, review_date))
    {
        let mut v = Violations::new();
        v.add(
            "review.next_review_date",
            "must fall after the review and within a year of it (D28: yearly review)",
        );
        return Err(ctx.errors().invalid(&v));
    }

    let mut tx = ctx.begin().await?;
    let row = active_for_change(ctx, &mut tx, caller, &req.name, &req.etag).await?;
    let lifted = outcome == NegativeListReviewOutcome::Lifted;
    review.review_date = Some(date(review_date));
    review.next_review_date = if lifted { None } else { Some(date(next)) };
    review.audit = Some(audit_info(caller, ctx.platform.clock.now()));
    let entry = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &review,
        lifted,
        if lifted { row.next_review_date } else { next },
    )
    .await?;
    let jurisdiction = jurisdictions::reference(ctx, &mut tx, &entry.jurisdiction, "name").await?;
    let event = NegativeListEntryReviewed {
        name: entry.name.clone(),
        jurisdiction: Some(jurisdiction),
        resource: entry.resource.clone(),
        outcome: review.outcome,
        reason: review.reason.clone(),
        next_review_date: review.next_review_date,
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({ "outcome": review.outcome, "reason": review.reason, "review_date": review_date.to_string() });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &entry.name,
        detail,
        ("pdop.registry.negative_list_entry.reviewed", &event),
    )
    .await?;
    if lifted {
        announce_lift(ctx, &mut tx, caller, &entry, METHOD, &review.reason).await?;
    }
    ctx.commit(tx).await?;
    Ok(ReviewNegativeListEntryResponse {
        negative_list_entry: Some(entry),
    })
}

pub async fn lift(
    ctx: &Ctx,
    caller: &Caller,
    req: LiftNegativeListEntryRequest,
) -> Result<LiftNegativeListEntryResponse, Status> {
    const METHOD: &str = "registry.LiftNegativeListEntry";
    if req.reason.trim().is_empty() {
        let mut v = Violations::new();
        v.add("reason", "must say why the entry is lifted");
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let row = active_for_change(ctx, &mut tx, caller, &req.name, &req.etag).await?;
    let review = NegativeListReview {
        review_date: Some(date(ctx.platform.clock.today())),
        outcome: NegativeListReviewOutcome::Lifted as i32,
        reason: req.reason.trim().to_owned(),
        next_review_date: None,
        audit: Some(audit_info(caller, ctx.platform.clock.now())),
    };
    let entry = save(ctx, &mut tx, caller, &row, &review, true, row.next_review_date).await?;
    announce_lift(ctx, &mut tx, caller, &entry, METHOD, req.reason.trim()).await?;
    ctx.commit(tx).await?;
    Ok(LiftNegativeListEntryResponse {
        negative_list_entry: Some(entry),
    })
}
