//! Pricing cases (定价, N1 §二, DOMAIN §3.3): an operator and its agreement priced over a period. A case
//! opens in TRIAL (试行收费); once a full operating year exists the authorizing entity applies in writing and
//! the pricing authority assesses whether a pricing basis exists (→ COST_INVESTIGATION, or back to TRIAL).

use chrono::{Months, NaiveDate};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, audit_info, optional_date};
use pdop_kit::handling::{is_unique_violation, optional_name, page_after};
use pdop_proto::common::{DateRange, OrganizationRef};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{
    AssessPricingBasisRequest, AssessPricingBasisResponse, CreatePricingCaseRequest,
    CreatePricingCaseResponse, GetPricingCaseRequest, GetPricingCaseResponse, ListPricingCasesRequest,
    ListPricingCasesResponse, PricingApplication, PricingBasisAssessment, PricingCase, PricingCaseState,
    PricingCatalogue, SubmitPricingApplicationRequest, SubmitPricingApplicationResponse,
};
use pdop_proto::registry::v1::AgreementState;
use prost::Message;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::carry;
use crate::context::{Ctx, Handling, paging};
use crate::preview::limits;

pub const COLLECTION: &str = "pricingCases";

crate::rows::body_row!(PricingCase, "pricing_cases", COLLECTION, "PRICING_CASE_NOT_FOUND");

pub fn state_of(c: &PricingCase) -> PricingCaseState {
    PricingCaseState::try_from(c.state).unwrap_or_default()
}

/// The parties of a case (authorizing entity, operator, pricing and data authorities) and overseers read it.
pub fn may_read(caller: &Caller, c: &PricingCase) -> bool {
    caller.has_role(Role::Auditor)
        || caller.has_role(Role::Evaluator)
        || [
            &c.authorizing_entity,
            &c.operator,
            &c.pricing_authority,
            &c.data_authority,
        ]
        .iter()
        .any(|party| **party == caller.organization)
}

pub use crate::domain::case::whole_years;

/// An organization of the registry's read model, `NOT_FOUND` when the registry never announced it.
async fn organization(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<OrganizationRef, Status> {
    let id = ctx.parse_name(name, "organizations", field)?;
    let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?;
    body.and_then(|b| OrganizationRef::decode(b.as_slice()).ok())
        .ok_or_else(|| ctx.errors().not_found("ORGANIZATION_NOT_FOUND", name))
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreatePricingCaseRequest,
) -> Result<CreatePricingCaseResponse, Status> {
    const METHOD: &str = "pricing.CreatePricingCase";
    let mut c = req.pricing_case.unwrap_or_default();
    if c.authorizing_entity.is_empty() && caller.has_role(Role::ImplementingAgency) {
        c.authorizing_entity = caller.organization.clone();
    }
    let mut v = Violations::new();
    if c.display_name.trim().is_empty() {
        v.add("pricing_case.display_name", "must give the case a title");
    }
    for (field, name, collection) in [
        ("pricing_case.agreement", &c.agreement, "agreements"),
        (
            "pricing_case.authorizing_entity",
            &c.authorizing_entity,
            "organizations",
        ),
        (
            "pricing_case.pricing_authority",
            &c.pricing_authority,
            "organizations",
        ),
        ("pricing_case.data_authority", &c.data_authority, "organizations"),
    ] {
        if pdop_kit::names::parse(name, collection).is_none() {
            v.add(field, pdop_kit::names::expected(collection));
        }
    }
    if !c.predecessor.is_empty() && pdop_kit::names::parse(&c.predecessor, COLLECTION).is_none() {
        v.add("pricing_case.predecessor", pdop_kit::names::expected(COLLECTION));
    }
    if PricingCatalogue::try_from(c.catalogue).unwrap_or_default() == PricingCatalogue::Unspecified {
        v.add(
            "pricing_case.catalogue",
            "must be CENTRAL or LOCAL: the catalogue follows where the products are registered (N1 §一)",
        );
    }
    v.into_result(ctx.errors())?;
    if caller.has_role(Role::ImplementingAgency)
        && !caller.has_role(Role::PricingAuthority)
        && c.authorizing_entity != caller.organization
    {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_AUTHORIZING_ENTITY",
            "an authorizing entity opens cases for itself only",
        ));
    }
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let agreement_id = ctx
        .parse_name(&c.agreement, "agreements", "pricing_case.agreement")?
        .to_owned();
    let agreement: Option<(String, String, i16)> =
        sqlx::query_as("SELECT jurisdiction_id, operator_id, state FROM agreements WHERE id = $1")
            .bind(&agreement_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| ctx.db(e))?;
    let (jurisdiction_id, operator_id, state) =
        agreement.ok_or_else(|| ctx.errors().not_found("AGREEMENT_NOT_FOUND", &c.agreement))?;
    // THREATS H2: a case is opened only by a supervisor of the agreement's jurisdiction.
    let row = pdop_kit::scope::ancestry(&mut *tx, &jurisdiction_id)
        .await
        .map_err(|e| ctx.db(e))?;
    crate::domain::case::may_supervise(caller, &c.agreement, &row)?;
    let signed = [
        AgreementState::Signed,
        AgreementState::Filed,
        AgreementState::Active,
    ];
    if !signed.iter().any(|s| *s as i16 == state) {
        return Err(ctx.errors().failed_precondition(
            "AGREEMENT_NOT_SIGNED",
            format!(
                "{} is not signed and running; only an authorized operator is priced",
                c.agreement
            ),
        ));
    }
    for (field, name) in [
        ("pricing_case.authorizing_entity", &c.authorizing_entity),
        ("pricing_case.pricing_authority", &c.pricing_authority),
        ("pricing_case.data_authority", &c.data_authority),
    ] {
        organization(ctx, &mut tx, name, field).await?;
    }
    let predecessor = carry::predecessor_of_new(ctx, &mut tx, &agreement_id, &c.predecessor).await?;
    let carried = predecessor.as_ref().map(|(_, _, d)| *d).unwrap_or_default();
    let jurisdiction = format!("jurisdictions/{jurisdiction_id}");
    let profile = ctx
        .profile_of(&mut *tx, &jurisdiction, "pricing_case.agreement")
        .await?;
    if let Some(period) = &c.pricing_period
        && let Err(why) = whole_years(period, limits(&profile).period_years_max)
    {
        let mut v = Violations::new();
        v.add("pricing_case.pricing_period", why);
        return Err(ctx.errors().invalid(&v));
    }
    let case = PricingCase {
        display_name: c.display_name.trim().to_owned(),
        jurisdiction,
        authorizing_entity: c.authorizing_entity,
        operator: format!("organizations/{operator_id}"),
        agreement: c.agreement,
        pricing_authority: c.pricing_authority,
        data_authority: c.data_authority,
        catalogue: c.catalogue,
        pricing_period: c.pricing_period,
        note: c.note,
        predecessor: c.predecessor,
        state: PricingCaseState::Trial as i32,
        carried_deduction: Some(carry::cny(carried)),
        ..Default::default()
    };
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO pricing_cases (id, jurisdiction_id, authorizing_entity_id, operator_id, agreement_id, state, body,
                                    create_time, update_time, predecessor_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(&jurisdiction_id)
    .bind(case.authorizing_entity.trim_start_matches("organizations/"))
    .bind(&operator_id)
    .bind(&agreement_id)
    .bind(PricingCaseState::Trial as i16)
    .bind(case.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .bind(predecessor.as_ref().map(|(row, _, _)| row.id().to_owned()))
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            return Err(ctx.errors().failed_precondition(
                "CASE_OPEN",
                format!(
                    "{} already has an open pricing case; settle it first",
                    case.agreement
                ),
            ));
        }
        Err(err) => return Err(ctx.db(err)),
    };
    let created = row.to_proto();
    if let Some((row, mut previous, _)) = predecessor {
        previous.successor = created.name.clone();
        save(ctx, &mut tx, &row, &previous).await?;
    }
    let event = ev::PricingCaseCreated {
        pricing_case: Some(summary(ctx, &mut tx, &created).await?),
        predecessor: created.predecessor.clone(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "agreement": created.agreement, "state": "TRIAL" }),
        ("pdop.pricing.pricing_case.created", &event),
    )
    .await?;
    let response = CreatePricingCaseResponse {
        pricing_case: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn summary(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    c: &PricingCase,
) -> Result<ev::PricingCaseSummary, Status> {
    let org = |name: &str| OrganizationRef {
        name: name.to_owned(),
        ..Default::default()
    };
    let mut refs = Vec::new();
    for name in [
        &c.authorizing_entity,
        &c.operator,
        &c.pricing_authority,
        &c.data_authority,
    ] {
        refs.push(
            organization(ctx, tx, name, "organization")
                .await
                .unwrap_or_else(|_| org(name)),
        );
    }
    let mut refs = refs.into_iter();
    Ok(ev::PricingCaseSummary {
        name: c.name.clone(),
        display_name: c.display_name.clone(),
        jurisdiction: Some(pdop_proto::common::JurisdictionRef {
            name: c.jurisdiction.clone(),
            ..Default::default()
        }),
        authorizing_entity: refs.next(),
        operator: refs.next(),
        agreement: c.agreement.clone(),
        pricing_authority: refs.next(),
        data_authority: refs.next(),
        catalogue: c.catalogue,
        pricing_period: c.pricing_period,
        state: c.state,
    })
}

/// The case named `name` (`field` names it in a malformed-name error), locked for update when `lock`.
pub async fn fetch(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
    lock: bool,
) -> Result<(Row, PricingCase), Status> {
    let id = ctx.parse_name(name, COLLECTION, field)?;
    let row: Row = pdop_kit::handling::fetch_row(&mut **tx, "pricing_cases", COLUMNS, id, lock)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("PRICING_CASE_NOT_FOUND", name))?;
    let case = row.to_proto();
    Ok((row, case))
}

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetPricingCaseRequest,
) -> Result<GetPricingCaseResponse, Status> {
    let mut tx = ctx.begin().await?;
    let (_, c) = fetch(ctx, &mut tx, &req.name, "name", false).await?;
    if !may_read(caller, &c) {
        return Err(ctx
            .errors()
            .permission_denied("NOT_A_PARTY", "only the case's parties read it"));
    }
    Ok(GetPricingCaseResponse {
        pricing_case: Some(c),
    })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListPricingCasesRequest,
) -> Result<ListPricingCasesResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    let entity = optional_name(
        &req.authorizing_entity,
        "organizations",
        "authorizing_entity",
        &mut v,
    );
    let agreement = optional_name(&req.agreement, "agreements", "agreement", &mut v);
    v.into_result(ctx.errors())?;
    let all = [
        Role::PricingAuthority,
        Role::DataAuthority,
        Role::Evaluator,
        Role::Auditor,
    ]
    .iter()
    .any(|r| caller.has_role(*r));
    let own = (!all).then(|| {
        caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned()
    });
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM pricing_cases
         WHERE ($1::text IS NULL OR id > $1)
           AND ($2::text IS NULL OR jurisdiction_id = $2)
           AND ($3::text IS NULL OR operator_id = $3)
           AND ($4::text IS NULL OR authorizing_entity_id = $4)
           AND ($5::text IS NULL OR agreement_id = $5)
           AND ($6::smallint = 0 OR state = $6)
           AND ($7::text IS NULL OR operator_id = $7 OR authorizing_entity_id = $7)
         ORDER BY id LIMIT $8"
    ))
    .bind(after)
    .bind(jurisdiction)
    .bind(operator)
    .bind(entity)
    .bind(agreement)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(own)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListPricingCasesResponse {
        pricing_cases: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

/// Writes the case back; the caller records the audit row and event.
pub async fn save(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    c: &PricingCase,
) -> Result<PricingCase, Status> {
    let updated: Row = pdop_kit::handling::save_state_body(tx, &row.id, c.state, c.encode_to_vec())
        .await
        .map_err(|e| ctx.db(e))?;
    Ok(updated.to_proto())
}

/// A full operating year (完整年度运营情况, N1 §二): twelve months that have ended.
/// A completed twelve-month operating year, ended before `today`.
fn full_year(period: Option<&DateRange>, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), &'static str> {
    let period = period.ok_or("must give the full operating year the application rests on")?;
    let start = optional_date(period.start_date.as_ref()).ok().flatten();
    let end = optional_date(period.end_date.as_ref()).ok().flatten();
    let (Some(start), Some(end)) = (start, end) else {
        return Err("needs valid start and end dates");
    };
    if start
        .checked_add_months(Months::new(12))
        .and_then(|d| d.pred_opt())
        != Some(end)
    {
        return Err("must be exactly twelve months (a full operating year)");
    }
    if end >= today {
        return Err("has not ended yet; a pricing basis needs a completed year");
    }
    Ok((start, end))
}

pub async fn submit_application(
    ctx: &Ctx,
    caller: &Caller,
    req: SubmitPricingApplicationRequest,
) -> Result<SubmitPricingApplicationResponse, Status> {
    const METHOD: &str = "pricing.SubmitPricingApplication";
    let mut v = Violations::new();
    if let Err(why) = full_year(req.full_year_period.as_ref(), ctx.platform.clock.today()) {
        v.add("full_year_period", why);
    }
    if req.document.as_ref().is_none_or(|d| d.uri.is_empty()) {
        v.add(
            "document",
            "must reference the written application (书面申请, N1 §二)",
        );
    }
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.locked(&mut tx, &req.name, &req.etag).await?;
    let mut c = row.to_proto();
    if caller.organization != c.authorizing_entity {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_AUTHORIZING_ENTITY",
            format!("only {} (the authorizing entity) applies", c.authorizing_entity),
        ));
    }
    crate::grpc::in_scope(&mut tx, caller, &c).await?;
    ctx.require_state(
        &c.name,
        state_of(&c),
        &[PricingCaseState::Trial],
        "an application",
    )?;
    if c.pricing_period.is_none() {
        return Err(ctx.errors().failed_precondition(
            "PERIOD_UNSET",
            "set the pricing period of the case before applying",
        ));
    }
    c.state = PricingCaseState::Applied as i32;
    c.application = Some(PricingApplication {
        full_year_period: req.full_year_period,
        document: req.document,
        summary: req.summary.trim().to_owned(),
        submitted: Some(audit_info(caller, ctx.platform.clock.now())),
    });
    let saved = save(ctx, &mut tx, &row, &c).await?;
    let event = ev::PricingApplicationSubmitted {
        pricing_case: Some(summary(ctx, &mut tx, &saved).await?),
        full_year_period: req.full_year_period,
        actor: Some(actor(caller)),
    };
    let year = req
        .full_year_period
        .and_then(|p| p.start_date)
        .map(|d| d.year)
        .unwrap_or_default();
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "APPLIED", "full_year_from": year }),
        ("pdop.pricing.pricing_case.application_submitted", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(SubmitPricingApplicationResponse {
        pricing_case: Some(saved),
    })
}

pub async fn assess_basis(
    ctx: &Ctx,
    caller: &Caller,
    req: AssessPricingBasisRequest,
) -> Result<AssessPricingBasisResponse, Status> {
    const METHOD: &str = "pricing.AssessPricingBasis";
    if req.reason.trim().is_empty() {
        let mut v = Violations::new();
        v.add("reason", "must say why a pricing basis does or does not exist");
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.locked(&mut tx, &req.name, &req.etag).await?;
    let mut c = row.to_proto();
    if caller.organization != c.pricing_authority {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_PRICING_AUTHORITY",
            format!(
                "only {} (the case's pricing authority) assesses it",
                c.pricing_authority
            ),
        ));
    }
    crate::grpc::in_scope(&mut tx, caller, &c).await?;
    ctx.not_own(
        caller,
        &[c.authorizing_entity.as_str(), c.operator.as_str()],
        &c.name,
    )?;
    ctx.require_state(
        &c.name,
        state_of(&c),
        &[PricingCaseState::Applied],
        "an assessment",
    )?;
    // N1 §二: 评估具备定价基础后 … 制定; without a basis the trial fees continue.
    c.state = if req.basis_found {
        PricingCaseState::CostInvestigation
    } else {
        PricingCaseState::Trial
    } as i32;
    c.basis_assessment = Some(PricingBasisAssessment {
        basis_found: req.basis_found,
        reason: req.reason.trim().to_owned(),
        document: req.document,
        assessed: Some(audit_info(caller, ctx.platform.clock.now())),
    });
    let saved = save(ctx, &mut tx, &row, &c).await?;
    let event = ev::PricingBasisAssessed {
        pricing_case: Some(summary(ctx, &mut tx, &saved).await?),
        basis_found: req.basis_found,
        reason: req.reason.trim().to_owned(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "basis_found": req.basis_found }),
        ("pdop.pricing.pricing_case.basis_assessed", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(AssessPricingBasisResponse {
        pricing_case: Some(saved),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use pdop_kit::convert::date;

    fn range(start: (i32, u32, u32), end: (i32, u32, u32)) -> DateRange {
        let d = |(y, m, day): (i32, u32, u32)| Some(date(NaiveDate::from_ymd_opt(y, m, day).unwrap()));
        DateRange {
            start_date: d(start),
            end_date: d(end),
        }
    }

    #[test]
    fn a_pricing_period_is_whole_years_up_to_the_cycle_cap() {
        // D9 (N1 §四): 评估周期原则上不超过3年.
        assert_eq!(whole_years(&range((2026, 1, 1), (2028, 12, 31)), 3), Ok(3));
        assert_eq!(whole_years(&range((2026, 7, 1), (2027, 6, 30)), 3), Ok(1));
        assert!(whole_years(&range((2026, 1, 1), (2029, 12, 31)), 3).is_err());
        assert!(whole_years(&range((2026, 1, 1), (2027, 3, 31)), 3).is_err());
    }

    #[test]
    fn an_application_rests_on_a_completed_twelve_month_year() {
        // N1 §二: 已有完整年度运营情况的 … 提出书面申请.
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert!(full_year(Some(&range((2025, 1, 1), (2025, 12, 31))), today).is_ok());
        assert!(full_year(Some(&range((2025, 1, 1), (2025, 11, 30))), today).is_err());
        let next = today.year() + 1;
        assert!(full_year(Some(&range((next, 1, 1), (next, 12, 31))), today).is_err());
        // The year must have ended before today, not on it.
        let on = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        assert!(full_year(Some(&range((2025, 1, 1), (2025, 12, 31))), on).is_err());
    }
}
