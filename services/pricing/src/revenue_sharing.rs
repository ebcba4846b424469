//! Revenue sharing (收益分配): per operator agreement, the shares of the government, the operator and the
//! developers, set "按照'谁投入、谁贡献、谁受益'原则" (S-HN Art.21, S-LY §五(二)). The shares must sum to exactly
//! 100 %; versions are immutable and a change supersedes the current one, so the history stays auditable.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, optional_date, timestamp};
use pdop_kit::handling::{is_unique_violation, optional_name, page_after};
use pdop_proto::common::AuditInfo;
use pdop_proto::pricing::events::v1::{PartyShare, RevenueSharingRecorded};
use pdop_proto::pricing::v1::{
    GetRevenueSharingRequest, GetRevenueSharingResponse, ListRevenueSharingsRequest,
    ListRevenueSharingsResponse, RecordRevenueSharingRequest, RecordRevenueSharingResponse, RevenueParty,
    RevenueSharing,
};
use pdop_proto::registry::v1::AgreementState;
use prost::Message;
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling, paging};
use crate::decimals;

const COLLECTION: &str = "revenueSharings";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    superseded_by: Option<String>,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
}

const COLUMNS: &str = "id, superseded_by, body, create_time";

impl Row {
    fn to_proto(&self) -> RevenueSharing {
        let mut r = RevenueSharing::decode(self.body.as_slice()).unwrap_or_default();
        r.name = format!("{COLLECTION}/{}", self.id);
        r.superseded_by = self
            .superseded_by
            .as_deref()
            .map(|id| format!("{COLLECTION}/{id}"))
            .unwrap_or_default();
        r.create_time = Some(timestamp(self.create_time));
        r
    }
}

/// Checks the shares and everything else that needs no database; the share values are then known to be valid.
fn validate(r: &RevenueSharing, v: &mut Violations) {
    if pdop_kit::names::parse(&r.agreement, "agreements").is_none() {
        v.add(
            "revenue_sharing.agreement",
            pdop_kit::names::expected("agreements"),
        );
    }
    if r.basis.trim().is_empty() {
        v.add(
            "revenue_sharing.basis",
            "must say how the ratios follow from each party's input and contribution (谁投入、谁贡献、谁受益)",
        );
    }
    if r.approval_document.as_ref().is_none_or(|d| d.uri.is_empty()) {
        v.add(
            "revenue_sharing.approval_document",
            "must reference the decision approving the ratios (S-LY: a change needs re-approval)",
        );
    }
    if let Err(msg) = optional_date(r.effective_from.as_ref()) {
        v.add("revenue_sharing.effective_from", msg);
    } else if r.effective_from.is_none() {
        v.add(
            "revenue_sharing.effective_from",
            "must say from when the ratios apply",
        );
    }
    if !r.supersedes.is_empty() && pdop_kit::names::parse(&r.supersedes, COLLECTION).is_none() {
        v.add(
            "revenue_sharing.supersedes",
            pdop_kit::names::expected(COLLECTION),
        );
    }
    let mut total = Decimal::ZERO;
    let mut all_valid = true;
    let mut seen = HashSet::new();
    let (mut government, mut operator) = (0, 0);
    for (i, share) in r.shares.iter().enumerate() {
        let field = format!("revenue_sharing.shares[{i}]");
        match RevenueParty::try_from(share.party).unwrap_or_default() {
            RevenueParty::Government => government += 1,
            RevenueParty::Operator => operator += 1,
            RevenueParty::Developer => {}
            RevenueParty::Unspecified => v.add(
                format!("{field}.party"),
                "must be GOVERNMENT, OPERATOR or DEVELOPER",
            ),
        }
        if pdop_kit::names::parse(&share.organization, "organizations").is_none() {
            v.add(
                format!("{field}.organization"),
                pdop_kit::names::expected("organizations"),
            );
        } else if !seen.insert(share.organization.as_str()) {
            v.add(
                format!("{field}.organization"),
                "appears twice: give each organization one share",
            );
        }
        let value = decimals::rate(share.share.as_ref(), &format!("{field}.share"), v);
        match value {
            Some(s) if s > Decimal::ZERO && s <= Decimal::ONE => total += s,
            Some(_) => {
                all_valid = false;
                v.add(
                    format!("{field}.share"),
                    "must be a fraction in (0, 1], e.g. \"0.3\" for 30 %",
                );
            }
            None => all_valid = false,
        }
    }
    if government == 0 {
        v.add(
            "revenue_sharing.shares",
            "must give the government a share (S-LY §五(二): 政府、运营机构、二级市场)",
        );
    }
    if operator != 1 {
        v.add("revenue_sharing.shares", "must give exactly one OPERATOR share");
    }
    // Only a sum of well-formed shares is worth reporting; exact comparison, no rounding.
    if all_valid && !r.shares.is_empty() && total != Decimal::ONE {
        v.add(
            "revenue_sharing.shares",
            format!("must sum to exactly 1 (100 %), not {}", total.normalize()),
        );
    }
}

/// Marks the version `r` replaces as superseded, after checking it is the agreement's current one.
async fn supersede(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    r: &RevenueSharing,
    agreement_id: &str,
    new_id: &str,
) -> Result<(), Status> {
    let old_id = ctx.parse_name(&r.supersedes, COLLECTION, "revenue_sharing.supersedes")?;
    let current: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT agreement_id, superseded_by FROM revenue_sharings WHERE id = $1 FOR UPDATE")
            .bind(old_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| ctx.db(e))?;
    let (old_agreement, superseded_by) =
        current.ok_or_else(|| ctx.errors().not_found("REVENUE_SHARING_NOT_FOUND", &r.supersedes))?;
    if old_agreement != agreement_id || superseded_by.is_some() {
        return Err(ctx.errors().failed_precondition(
            "NOT_SUPERSEDABLE",
            format!(
                "{} is not the current revenue sharing of {}",
                r.supersedes, r.agreement
            ),
        ));
    }
    sqlx::query("UPDATE revenue_sharings SET superseded_by = $2 WHERE id = $1")
        .bind(old_id)
        .bind(new_id)
        .execute(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?;
    Ok(())
}

pub async fn record(
    ctx: &Ctx,
    caller: &Caller,
    req: RecordRevenueSharingRequest,
) -> Result<RecordRevenueSharingResponse, Status> {
    const METHOD: &str = "pricing.RecordRevenueSharing";
    let r = req.revenue_sharing.unwrap_or_default();
    let mut v = Violations::new();
    validate(&r, &mut v);
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let agreement_id = ctx
        .parse_name(&r.agreement, "agreements", "revenue_sharing.agreement")?
        .to_owned();
    let agreement: Option<(String, String, String, i16)> = sqlx::query_as(
        "SELECT jurisdiction_id, implementing_agency_id, operator_id, state FROM agreements WHERE id = $1",
    )
    .bind(&agreement_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let (jurisdiction_id, agency_id, operator_id, state) =
        agreement.ok_or_else(|| ctx.errors().not_found("AGREEMENT_NOT_FOUND", &r.agreement))?;
    if caller.organization != format!("organizations/{agency_id}") {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_IMPLEMENTING_AGENCY",
            format!(
                "revenue sharing of {} is recorded by its implementing agency",
                r.agreement
            ),
        ));
    }
    let row = pdop_kit::scope::ancestry(&mut *tx, &jurisdiction_id)
        .await
        .map_err(|e| ctx.db(e))?;
    crate::domain::case::may_supervise(caller, &r.agreement, &row)?;
    let state = AgreementState::try_from(i32::from(state)).unwrap_or_default();
    if matches!(state, AgreementState::Terminated | AgreementState::Expired) {
        return Err(ctx.errors().failed_precondition(
            "AGREEMENT_ENDED",
            format!(
                "{} has ended ({state:?}); its revenue sharing can no longer change",
                r.agreement
            ),
        ));
    }
    let operator = format!("organizations/{operator_id}");
    let named_operator = r
        .shares
        .iter()
        .find(|s| s.party == RevenueParty::Operator as i32)
        .map(|s| s.organization.as_str());
    if named_operator != Some(operator.as_str()) {
        return Err(ctx.errors().failed_precondition(
            "NOT_THE_AGREEMENT_OPERATOR",
            format!("the OPERATOR share must go to the agreement's operator {operator}"),
        ));
    }
    let id = uuid::Uuid::now_v7().to_string();
    if !r.supersedes.is_empty() {
        supersede(ctx, &mut tx, &r, &agreement_id, &id).await?;
    }
    let now = ctx.platform.clock.now();
    let recorded = RevenueSharing {
        name: String::new(),
        jurisdiction: format!("jurisdictions/{jurisdiction_id}"),
        superseded_by: String::new(),
        recorded: Some(AuditInfo {
            actor: Some(actor(caller)),
            time: Some(timestamp(now)),
            ..Default::default()
        }),
        create_time: None,
        ..r
    };
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO revenue_sharings (id, agreement_id, body, create_time) VALUES ($1, $2, $3, $4)
         RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(&agreement_id)
    .bind(recorded.encode_to_vec())
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            return Err(ctx.errors().already_exists(
                "REVENUE_SHARING_EXISTS",
                format!(
                    "{} already has a current revenue sharing; change it by setting `supersedes` to it",
                    recorded.agreement
                ),
            ));
        }
        Err(err) => return Err(ctx.db(err)),
    };
    let created = row.to_proto();
    let event = RevenueSharingRecorded {
        name: created.name.clone(),
        agreement: created.agreement.clone(),
        jurisdiction: created.jurisdiction.clone(),
        shares: created
            .shares
            .iter()
            .map(|s| PartyShare {
                party: s.party,
                organization: s.organization.clone(),
                share: s.share.clone(),
            })
            .collect(),
        effective_from: created.effective_from,
        supersedes: created.supersedes.clone(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "agreement": created.agreement, "supersedes": created.supersedes }),
        ("pdop.pricing.revenue_sharing.recorded", &event),
    )
    .await?;
    let response = RecordRevenueSharingResponse {
        revenue_sharing: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

/// The organization id a party caller acts for (`organizations/{id}`), if any; overseers need none.
fn party_id(caller: &Caller) -> Option<&str> {
    caller
        .organization
        .strip_prefix("organizations/")
        .filter(|id| !id.is_empty())
}

/// Rows the caller may read: an overseer of agreements reads all; a party (the agreement's implementing agency or operator, from
/// the read model) reads its own agreements' versions. `$1` is "oversees", `$2` the caller's organization id.
const READABLE: &str = "($1 OR EXISTS (SELECT 1 FROM agreements a WHERE a.id = revenue_sharings.agreement_id
    AND $2::text IS NOT NULL AND $2 IN (a.implementing_agency_id, a.operator_id)))";

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetRevenueSharingRequest,
) -> Result<GetRevenueSharingResponse, Status> {
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let found = sqlx::query_as::<_, ReadableRow>(&format!(
        "SELECT {READABLE} AS readable, {COLUMNS} FROM revenue_sharings WHERE id = $3"
    ))
    .bind(caller.oversees_agreements())
    .bind(party_id(caller))
    .bind(id)
    .fetch_optional(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?
    .ok_or_else(|| ctx.errors().not_found("REVENUE_SHARING_NOT_FOUND", &req.name))?;
    if !found.readable {
        return Err(ctx.errors().permission_denied(
            "NOT_A_PARTY",
            format!(
                "{} is read by its agreement's implementing agency and operator, and by overseers",
                req.name
            ),
        ));
    }
    Ok(GetRevenueSharingResponse {
        revenue_sharing: Some(found.row.to_proto()),
    })
}

#[derive(sqlx::FromRow)]
struct ReadableRow {
    readable: bool,
    #[sqlx(flatten)]
    row: Row,
}

/// Lists only the versions the caller may read: a non-party gets an empty list.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListRevenueSharingsRequest,
) -> Result<ListRevenueSharingsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let agreement = optional_name(&req.agreement, "agreements", "agreement", &mut v);
    v.into_result(ctx.errors())?;
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM revenue_sharings
         WHERE {READABLE}
           AND ($3::text IS NULL OR id > $3)
           AND ($4::text IS NULL OR agreement_id = $4)
           AND ($5 OR superseded_by IS NULL)
         ORDER BY id LIMIT $6"
    ))
    .bind(caller.oversees_agreements())
    .bind(party_id(caller))
    .bind(after)
    .bind(agreement)
    .bind(req.include_superseded)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListRevenueSharingsResponse {
        revenue_sharings: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}
