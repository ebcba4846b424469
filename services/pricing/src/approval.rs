//! Approval (核定) of a pricing case's maximum allowed revenue: one stored calculation is adopted, jointly with
//! the data authority (N1 §二), and the case carries its figures.

use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, timestamp};
use pdop_proto::common::AuditInfo;
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::calculation_input::{CostBasis, YieldBasis};
use pdop_proto::pricing::v1::{CalculationState, PricingCaseState};
use pdop_rules::Cny;
use tonic::Status;

use crate::calculations::{COLLECTION, COLUMNS, Row};
use crate::context::{Ctx, Handling};
use crate::{cases, decimals};

/// Approves (核定) the MAR by adopting one calculation of the case, jointly with the data authority
/// (发展改革部门会同数据管理部门, N1 §二); the case's other calculations are not adopted.
pub async fn approve(
    ctx: &Ctx,
    caller: &Caller,
    req: pdop_proto::pricing::v1::ApproveMaxAllowedRevenueRequest,
) -> Result<pdop_proto::pricing::v1::ApproveMaxAllowedRevenueResponse, Status> {
    use pdop_proto::pricing::v1::{ApproveMaxAllowedRevenueResponse, RevenueApproval};
    const METHOD: &str = "pricing.ApproveMaxAllowedRevenue";
    let mut v = Violations::new();
    if req.decision_document.as_ref().is_none_or(|d| d.uri.is_empty()) {
        v.add(
            "decision_document",
            "must reference the approval decision (核定文件)",
        );
    }
    if req
        .data_authority_concurrence
        .as_ref()
        .is_none_or(|d| d.uri.is_empty())
    {
        v.add(
            "data_authority_concurrence",
            "must reference the data authority's concurrence (会同意见, N1 §二)",
        );
    }
    let decision_date = pdop_kit::convert::past_or_today(
        req.decision_date.as_ref(),
        "decision_date",
        ctx.platform.clock.today(),
        &mut v,
    );
    let calculation_id = pdop_kit::names::parse(&req.calculation, COLLECTION).map(str::to_owned);
    if calculation_id.is_none() {
        v.add("calculation", pdop_kit::names::expected(COLLECTION));
    }
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let case_row: cases::Row = ctx.locked(&mut tx, &req.name, &req.etag).await?;
    let mut case = case_row.to_proto();
    if caller.organization != case.pricing_authority {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_PRICING_AUTHORITY",
            format!(
                "only {} (the case's pricing authority) approves its MAR",
                case.pricing_authority
            ),
        ));
    }
    crate::grpc::in_scope(&mut tx, caller, &case).await?;
    ctx.not_own(
        caller,
        &[case.operator.as_str(), case.authorizing_entity.as_str()],
        &case.name,
    )?;
    ctx.require_state(
        &case.name,
        cases::state_of(&case),
        &[PricingCaseState::CostInvestigation],
        "MAR approval",
    )?;
    settled_before(ctx, &mut tx, &case).await?;
    let calculation_id = calculation_id.unwrap_or_default();
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM calculations WHERE id = $1 FOR UPDATE"
    ))
    .bind(&calculation_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?
    .ok_or_else(|| ctx.errors().not_found("CALCULATION_NOT_FOUND", &req.calculation))?;
    let calculation = row.to_proto();
    let input = calculation.input.clone().unwrap_or_default();
    if input.pricing_case != case.name {
        return Err(ctx.errors().failed_precondition(
            "CALCULATION_OF_ANOTHER_CASE",
            format!("{} was made for {}", req.calculation, input.pricing_case),
        ));
    }
    // N1 §四: only a predecessor's over-collection is deducted; none carried or used deducts nothing.
    let used = decimals::stored(
        ctx,
        input.prior_period_deduction.as_ref(),
        &calculation.name,
        "input.prior_period_deduction",
    )?
    .unwrap_or(Cny::ZERO);
    let carried = decimals::stored(
        ctx,
        case.carried_deduction.as_ref(),
        &case.name,
        "carried_deduction",
    )?
    .unwrap_or(Cny::ZERO);
    if used != carried {
        return Err(ctx.errors().failed_precondition(
            "CALCULATION_STALE",
            format!(
                "{} deducted {used}, but the case now carries {carried} from its predecessor's settlement; calculate again",
                req.calculation
            ),
        ));
    }
    // Lock the case's calculations (before the audit row) and settle which one is adopted.
    sqlx::query(
        "UPDATE calculations SET state = CASE WHEN id = $2 THEN $3 ELSE $4 END WHERE pricing_case_id = $1",
    )
    .bind(case.name.trim_start_matches("pricingCases/"))
    .bind(&calculation_id)
    .bind(CalculationState::Approved as i16)
    .bind(CalculationState::NotAdopted as i16)
    .execute(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let result = calculation.result.clone().unwrap_or_default();
    case.state = PricingCaseState::RevenueApproved as i32;
    case.cost_survey = match &input.cost_basis {
        Some(CostBasis::CostSurvey(name)) => name.clone(),
        _ => String::new(),
    };
    case.approved_calculation = calculation.name.clone();
    case.max_allowed_revenue = result.max_allowed_revenue.clone();
    case.period_allowed_revenue = result.period_allowed_revenue.clone();
    case.revenue_approval = Some(RevenueApproval {
        decision_document: req.decision_document,
        data_authority_concurrence: req.data_authority_concurrence,
        decision_reference: req.decision_reference.trim().to_owned(),
        decision_date: Some(pdop_kit::convert::date(decision_date)),
        approved: Some(AuditInfo {
            actor: Some(actor(caller)),
            time: Some(timestamp(ctx.platform.clock.now())),
            ..Default::default()
        }),
    });
    let saved = cases::save(ctx, &mut tx, &case_row, &case).await?;
    let yield_name = match &input.yield_basis {
        Some(YieldBasis::BondYield(name)) => name.clone(),
        _ => String::new(),
    };
    let outcome_figures = ev::RevenueFigures {
        cost_survey: saved.cost_survey.clone(),
        bond_yield: yield_name,
        operating_cost: result.operating_cost.clone(),
        bond_yield_value: result.bond_yield_value.clone(),
        markup: result.markup.clone(),
        allowed_profit_rate: result.allowed_profit_rate.clone(),
        allowed_profit: result.allowed_profit.clone(),
        taxes: result.taxes.clone(),
        vat: result.vat.clone(),
        annual_deduction: result.annual_deduction.clone(),
        max_allowed_revenue: result.max_allowed_revenue.clone(),
        period_allowed_revenue: result.period_allowed_revenue.clone(),
        period_years: result.period_years,
        formula_version: result.formula_version.clone(),
    };
    let event = ev::MaxAllowedRevenueApproved {
        pricing_case: Some(cases::summary(ctx, &mut tx, &saved).await?),
        calculation: calculation.name.clone(),
        figures: Some(outcome_figures),
        decision_reference: saved
            .revenue_approval
            .as_ref()
            .map(|a| a.decision_reference.clone())
            .unwrap_or_default(),
        decision_date: Some(pdop_kit::convert::date(decision_date)),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "calculation": calculation.name, "max_allowed_revenue": result.max_allowed_revenue.map(|m| m.amount) }),
        ("pdop.pricing.pricing_case.revenue_approved", &event),
    )
    .await?;
    let response = ApproveMaxAllowedRevenueResponse {
        pricing_case: Some(saved),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

/// N1 §四: the next period's MAR is set net of the previous period's over-collection, so it waits for the
/// predecessor's settlement.
async fn settled_before(
    ctx: &Ctx,
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    case: &pdop_proto::pricing::v1::PricingCase,
) -> Result<(), Status> {
    if case.predecessor.is_empty() {
        return Ok(());
    }
    let previous: cases::Row = ctx.find(tx, &case.predecessor, "predecessor").await?;
    if cases::state_of(&previous.to_proto()) != PricingCaseState::Settled {
        return Err(ctx.errors().failed_precondition(
            "PREDECESSOR_NOT_SETTLED",
            format!(
                "{} is not settled yet; its over-collection must be known first (N1 §四)",
                case.predecessor
            ),
        ));
    }
    Ok(())
}
