//! Cost surveys (成本调查, N1 §三(一)): the operator claims its costs line by line from its separate accounts;
//! the pricing authority disallows what is unreasonable or unrelated, allocates the share of free products and
//! nets off subsidies, then approves the operating cost C (核定) or returns the survey with reasons.

use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, audit_info};
use pdop_kit::handling::{fetch_row, optional_name, page_after};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{
    ApproveCostSurveyRequest, ApproveCostSurveyResponse, CostLineItem, CostSurvey, CostSurveyState,
    CreateCostSurveyRequest, CreateCostSurveyResponse, GetCostSurveyRequest, GetCostSurveyResponse,
    ListCostSurveysRequest, ListCostSurveysResponse, PricingCaseState, ReturnCostSurveyRequest,
    ReturnCostSurveyResponse, SubmitCostSurveyRequest, SubmitCostSurveyResponse, UpdateCostSurveyRequest,
    UpdateCostSurveyResponse,
};
use prost::Message;
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::cases::{self, may_read};
use crate::context::{Ctx, Handling, paging};
use crate::formula::CostLine;
use crate::survey_lines::{compute, validate};

pub const COLLECTION: &str = "costSurveys";

crate::rows::body_row!(CostSurvey, "cost_surveys", COLLECTION, "COST_SURVEY_NOT_FOUND");

pub fn state_of(s: &CostSurvey) -> CostSurveyState {
    CostSurveyState::try_from(s.state).unwrap_or_default()
}

/// The survey's C once approved, for calculations: (operating cost, survey year, case name).
pub async fn approved(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<CostSurvey, Status> {
    let id = ctx.parse_name(name, COLLECTION, field)?;
    let row: Row = fetch_row(&mut **tx, "cost_surveys", COLUMNS, id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("COST_SURVEY_NOT_FOUND", name))?;
    let s = row.to_proto();
    ctx.require_state(
        name,
        state_of(&s),
        &[CostSurveyState::Approved],
        "a calculation from it",
    )?;
    Ok(s)
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateCostSurveyRequest,
) -> Result<CreateCostSurveyResponse, Status> {
    const METHOD: &str = "pricing.CreateCostSurvey";
    let mut s = req.cost_survey.unwrap_or_default();
    let mut v = Violations::new();
    if pdop_kit::names::parse(&s.pricing_case, cases::COLLECTION).is_none() {
        v.add(
            "cost_survey.pricing_case",
            pdop_kit::names::expected(cases::COLLECTION),
        );
    }
    let lines = validate(&s, &mut v);
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let case = cases::fetch(ctx, &mut tx, &s.pricing_case, "cost_survey.pricing_case", false)
        .await?
        .1;
    if !(caller.organization == case.operator || caller.organization == case.pricing_authority) {
        return Err(ctx.errors().permission_denied(
            "NOT_A_PARTY",
            "a survey is opened by the case's operator or its pricing authority",
        ));
    }
    ctx.require_state(
        &case.name,
        cases::state_of(&case),
        &[PricingCaseState::CostInvestigation],
        "a cost survey",
    )?;
    s.operator = case.operator.clone();
    s.jurisdiction = case.jurisdiction.clone();
    s.state = CostSurveyState::Draft as i32;
    s.return_reason.clear();
    s.submitted = None;
    s.approved = None;
    s.approval_document = None;
    compute(ctx, &mut s, &lines)?;
    let id = uuid::Uuid::now_v7().to_string();
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO cost_surveys (id, pricing_case_id, state, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(case.name.trim_start_matches("pricingCases/"))
    .bind(CostSurveyState::Draft as i16)
    .bind(s.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let created = row.to_proto();
    // Drafts are private to the parties: audited, no event.
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "case": case.name }),
    )
    .await?;
    let response = CreateCostSurveyResponse {
        cost_survey: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetCostSurveyRequest,
) -> Result<GetCostSurveyResponse, Status> {
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.find(&mut tx, &req.name, "name").await?;
    let s = row.to_proto();
    let case = cases::fetch(ctx, &mut tx, &s.pricing_case, "cost_survey.pricing_case", false)
        .await?
        .1;
    if !may_read(caller, &case) {
        return Err(ctx
            .errors()
            .permission_denied("NOT_A_PARTY", "only the case's parties read its surveys"));
    }
    Ok(GetCostSurveyResponse { cost_survey: Some(s) })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListCostSurveysRequest,
) -> Result<ListCostSurveysResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let case = optional_name(&req.pricing_case, cases::COLLECTION, "pricing_case", &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    v.into_result(ctx.errors())?;
    let all = [Role::PricingAuthority, Role::DataAuthority, Role::Auditor]
        .iter()
        .any(|r| caller.has_role(*r));
    let own = (!all).then(|| {
        caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned()
    });
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT s.id, s.body, s.create_time, s.update_time, s.version FROM cost_surveys s
         JOIN pricing_cases c ON c.id = s.pricing_case_id
         WHERE ($1::text IS NULL OR s.id > $1)
           AND ($2::text IS NULL OR c.id = $2)
           AND ($3::text IS NULL OR c.operator_id = $3)
           AND ($4::text IS NULL OR c.jurisdiction_id = $4)
           AND ($5::smallint = 0 OR s.state = $5)
           AND ($6::text IS NULL OR c.operator_id = $6 OR c.authorizing_entity_id = $6)
         ORDER BY s.id LIMIT $7",
    )
    .bind(after)
    .bind(case)
    .bind(operator)
    .bind(jurisdiction)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(own)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    let mut surveys: Vec<CostSurvey> = rows.iter().map(Row::to_proto).collect();
    if req.survey_year != 0 {
        surveys.retain(|s| s.survey_year == req.survey_year);
    }
    Ok(ListCostSurveysResponse {
        cost_surveys: surveys,
        next_page_token,
    })
}

async fn save(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    s: &CostSurvey,
) -> Result<CostSurvey, Status> {
    let updated: Row = pdop_kit::handling::save_state_body(tx, &row.id, s.state, s.encode_to_vec())
        .await
        .map_err(|e| ctx.db(e))?;
    Ok(updated.to_proto())
}

/// In review the pricing authority decides on each claim; the claims themselves stay as submitted.
fn claims_unchanged(before: &[CostLineItem], after: &[CostLineItem]) -> bool {
    before.len() == after.len()
        && before.iter().zip(after).all(|(b, a)| {
            b.line_id == a.line_id
                && b.category == a.category
                && b.claimed_amount == a.claimed_amount
                && b.subsidy_amount == a.subsidy_amount
        })
}

pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    req: UpdateCostSurveyRequest,
) -> Result<UpdateCostSurveyResponse, Status> {
    const METHOD: &str = "pricing.UpdateCostSurvey";
    let p = req.cost_survey.unwrap_or_default();
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.locked(&mut tx, &p.name, &req.etag).await?;
    let mut s = row.to_proto();
    let case = cases::fetch(ctx, &mut tx, &s.pricing_case, "cost_survey.pricing_case", false)
        .await?
        .1;
    let state = state_of(&s);
    let reviewer = caller.organization == case.pricing_authority;
    let claimant = caller.organization == case.operator;
    let editable = (claimant && matches!(state, CostSurveyState::Draft | CostSurveyState::Returned))
        || (reviewer && state == CostSurveyState::Submitted);
    if !editable {
        return Err(ctx.errors().failed_precondition(
            "NOT_EDITABLE",
            format!(
                "{} is {state:?}: the operator edits its claims in DRAFT or RETURNED, the pricing authority \
                 its decisions while SUBMITTED",
                s.name
            ),
        ));
    }
    if reviewer && !claims_unchanged(&s.line_items, &p.line_items) {
        return Err(ctx.errors().failed_precondition(
            "CLAIMS_FROZEN",
            "in review only disallowances, allocations and findings change; the lines and their claims stay",
        ));
    }
    s.line_items = p.line_items;
    if !p.allocation_method.is_empty() {
        s.allocation_method = p.allocation_method;
    }
    if !p.findings.is_empty() {
        s.findings = p.findings;
    }
    if !p.documents.is_empty() {
        s.documents = p.documents;
    }
    let mut v = Violations::new();
    let lines = validate(&s, &mut v);
    v.into_result(ctx.errors())?;
    if claimant {
        // Disallowances are the surveyor's; a claim carries none.
        for item in &mut s.line_items {
            item.disallowed_amount = None;
            item.disallowance_reason = 0;
        }
    }
    let lines = if claimant {
        lines
            .into_iter()
            .map(|l| CostLine {
                disallowed: Decimal::ZERO,
                ..l
            })
            .collect()
    } else {
        lines
    };
    compute(ctx, &mut s, &lines)?;
    let saved = save(ctx, &mut tx, &row, &s).await?;
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "operating_cost": saved.totals.as_ref().and_then(|t| t.operating_cost.as_ref()).map(|m| m.amount.clone()) }),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(UpdateCostSurveyResponse {
        cost_survey: Some(saved),
    })
}

async fn summary(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    s: &CostSurvey,
) -> ev::CostSurveySummary {
    let case = cases::fetch(ctx, tx, &s.pricing_case, "cost_survey.pricing_case", false)
        .await
        .ok()
        .map(|(_, case)| case);
    let totals = s.totals.clone().unwrap_or_default();
    ev::CostSurveySummary {
        name: s.name.clone(),
        pricing_case: s.pricing_case.clone(),
        operator: case.as_ref().map(|c| pdop_proto::common::OrganizationRef {
            name: c.operator.clone(),
            ..Default::default()
        }),
        jurisdiction: Some(pdop_proto::common::JurisdictionRef {
            name: s.jurisdiction.clone(),
            ..Default::default()
        }),
        kind: s.kind,
        survey_year: s.survey_year,
        surveyed_period: s.surveyed_period,
        claimed: totals.claimed,
        disallowed: totals.disallowed,
        free_use: totals.free_use,
        subsidy: totals.subsidy,
        operating_cost: totals.operating_cost,
        state: s.state,
    }
}

pub async fn submit(
    ctx: &Ctx,
    caller: &Caller,
    req: SubmitCostSurveyRequest,
) -> Result<SubmitCostSurveyResponse, Status> {
    const METHOD: &str = "pricing.SubmitCostSurvey";
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.locked(&mut tx, &req.name, &req.etag).await?;
    let mut s = row.to_proto();
    if caller.organization != s.operator {
        return Err(ctx
            .errors()
            .permission_denied("NOT_THE_OPERATOR", "the case's operator submits its survey"));
    }
    ctx.require_state(
        &s.name,
        state_of(&s),
        &[CostSurveyState::Draft, CostSurveyState::Returned],
        "submission",
    )?;
    if s.line_items.is_empty() || s.allocation_method.trim().is_empty() {
        return Err(ctx.errors().failed_precondition(
            "SURVEY_INCOMPLETE",
            "a survey is submitted with at least one cost line and its allocation method between free and \
             chargeable products (分摊方法)",
        ));
    }
    s.state = CostSurveyState::Submitted as i32;
    s.submitted = Some(audit_info(caller, ctx.platform.clock.now()));
    let saved = save(ctx, &mut tx, &row, &s).await?;
    let event = ev::CostSurveySubmitted {
        cost_survey: Some(summary(ctx, &mut tx, &saved).await),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "SUBMITTED" }),
        ("pdop.pricing.cost_survey.submitted", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(SubmitCostSurveyResponse {
        cost_survey: Some(saved),
    })
}

/// The case's pricing authority, never the surveyed operator, decides on a submitted survey.
async fn for_decision(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    name: &str,
    expected_etag: &str,
) -> Result<(Row, CostSurvey), Status> {
    let row: Row = ctx.locked(tx, name, expected_etag).await?;
    let s = row.to_proto();
    let case = cases::fetch(ctx, tx, &s.pricing_case, "cost_survey.pricing_case", false)
        .await?
        .1;
    if caller.organization != case.pricing_authority {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_PRICING_AUTHORITY",
            format!(
                "only {} (the case's pricing authority) decides on its surveys",
                case.pricing_authority
            ),
        ));
    }
    crate::grpc::in_scope(tx, caller, &case).await?;
    ctx.not_own(caller, &[s.operator.as_str()], &s.name)?;
    ctx.require_state(&s.name, state_of(&s), &[CostSurveyState::Submitted], "a decision")?;
    Ok((row, s))
}

pub async fn approve(
    ctx: &Ctx,
    caller: &Caller,
    req: ApproveCostSurveyRequest,
) -> Result<ApproveCostSurveyResponse, Status> {
    const METHOD: &str = "pricing.ApproveCostSurvey";
    if req.approval_document.as_ref().is_none_or(|d| d.uri.is_empty()) {
        let mut v = Violations::new();
        v.add(
            "approval_document",
            "must reference the cost audit report or approval (成本监审报告/核定意见)",
        );
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let (row, mut s) = for_decision(ctx, &mut tx, caller, &req.name, &req.etag).await?;
    s.state = CostSurveyState::Approved as i32;
    s.approved = Some(audit_info(caller, ctx.platform.clock.now()));
    s.approval_document = req.approval_document;
    let saved = save(ctx, &mut tx, &row, &s).await?;
    let event = ev::CostSurveyApproved {
        cost_survey: Some(summary(ctx, &mut tx, &saved).await),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "APPROVED" }),
        ("pdop.pricing.cost_survey.approved", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(ApproveCostSurveyResponse {
        cost_survey: Some(saved),
    })
}

pub async fn return_survey(
    ctx: &Ctx,
    caller: &Caller,
    req: ReturnCostSurveyRequest,
) -> Result<ReturnCostSurveyResponse, Status> {
    const METHOD: &str = "pricing.ReturnCostSurvey";
    if req.reason.trim().is_empty() {
        let mut v = Violations::new();
        v.add("reason", "must say what the operator has to revise");
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let (row, mut s) = for_decision(ctx, &mut tx, caller, &req.name, &req.etag).await?;
    s.state = CostSurveyState::Returned as i32;
    s.return_reason = req.reason.trim().to_owned();
    let saved = save(ctx, &mut tx, &row, &s).await?;
    let event = ev::CostSurveyReturned {
        cost_survey: Some(summary(ctx, &mut tx, &saved).await),
        reason: saved.return_reason.clone(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "RETURNED" }),
        ("pdop.pricing.cost_survey.returned", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(ReturnCostSurveyResponse {
        cost_survey: Some(saved),
    })
}
