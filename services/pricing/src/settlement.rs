//! Period settlement (周期清算, N1 §四): at the end of a pricing period the actual revenue of its years is
//! compared with the allowed revenue; an over-collection is deducted from the next period's MAR, or smoothed
//! over several periods (超出较多的，可在不同周期平滑处理). The case is then SETTLED.

use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, naive_date, timestamp};
use pdop_kit::handling::{is_unique_violation, optional_name, page_after};
use pdop_proto::common::{AuditInfo, Money, Rate};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{
    AnnualCheck, AnnualCheckState, CompletePeriodSettlementRequest, CompletePeriodSettlementResponse,
    CreatePeriodSettlementRequest, CreatePeriodSettlementResponse, DeductionInstallment,
    GetPeriodSettlementRequest, GetPeriodSettlementResponse, ListPeriodSettlementsRequest,
    ListPeriodSettlementsResponse, PeriodSettlement, PeriodSettlementState, PricingCase, PricingCaseState,
    SettlementTreatment,
};
use pdop_rules::Cny;
use prost::Message;
use rust_decimal::{Decimal, RoundingStrategy};
use tonic::Status;

use crate::cases::{self, may_read};
use crate::context::{Ctx, Handling, paging};
use crate::decimals;
use crate::formula::settle;

const COLLECTION: &str = "periodSettlements";

crate::rows::body_row!(
    PeriodSettlement,
    "period_settlements",
    COLLECTION,
    "PERIOD_SETTLEMENT_NOT_FOUND"
);

fn money(d: Decimal) -> Option<Money> {
    Some(Money {
        amount: d.to_string(),
        currency: "CNY".to_owned(),
    })
}

/// The sum over the period's annual checks of one stored figure, each to the cent. Every figure is within
/// 10^15 CNY, and so must their sum be (THREATS L1): a larger one is refused, not wrapped or zeroed.
fn period_total(
    ctx: &Ctx,
    checks: &[(String, AnnualCheck)],
    field: &str,
    figure: fn(&AnnualCheck) -> Option<&Money>,
) -> Result<Decimal, Status> {
    let mut total = Cny::ZERO;
    for (name, check) in checks {
        let amount = decimals::stored_required(ctx, figure(check), name, field)?.cents();
        total = total.checked_add(amount).map_err(|err| {
            ctx.errors()
                .failed_precondition("SETTLEMENT", format!("the period's total {field} {err}"))
        })?;
    }
    Ok(total.as_decimal())
}

fn check_authority(ctx: &Ctx, caller: &Caller, case: &PricingCase) -> Result<(), Status> {
    if caller.organization == case.pricing_authority {
        return Ok(());
    }
    Err(ctx.errors().permission_denied(
        "NOT_THE_PRICING_AUTHORITY",
        format!(
            "only {} (the case's pricing authority) settles it",
            case.pricing_authority
        ),
    ))
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreatePeriodSettlementRequest,
) -> Result<CreatePeriodSettlementResponse, Status> {
    const METHOD: &str = "pricing.CreatePeriodSettlement";
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let (_, case) = cases::fetch(ctx, &mut tx, &req.pricing_case, "pricing_case", false).await?;
    check_authority(ctx, caller, &case)?;
    crate::grpc::in_scope(&mut tx, caller, &case).await?;
    ctx.require_state(
        &case.name,
        cases::state_of(&case),
        &[PricingCaseState::InEffect],
        "settlement",
    )?;
    let period = case.pricing_period.unwrap_or_default();
    let end = period.end_date.as_ref().and_then(naive_date);
    let (first, last) = (
        period.start_date.map(|d| d.year).unwrap_or_default(),
        period.end_date.map(|d| d.year).unwrap_or_default(),
    );
    if end.is_none_or(|end| end >= ctx.platform.clock.today()) {
        return Err(ctx.errors().failed_precondition(
            "PERIOD_NOT_ENDED",
            format!(
                "{} runs until {}; it is settled after it ends",
                case.name,
                end.map(|d| d.to_string()).unwrap_or_default()
            ),
        ));
    }
    let bodies: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT id, body FROM annual_checks WHERE pricing_case_id = $1 AND state = $2 ORDER BY year",
    )
    .bind(case.name.trim_start_matches("pricingCases/"))
    .bind(AnnualCheckState::Completed as i16)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let checks: Vec<(String, AnnualCheck)> = bodies
        .into_iter()
        .map(|(id, b)| {
            (
                format!("annualChecks/{id}"),
                AnnualCheck::decode(b.as_slice()).unwrap_or_default(),
            )
        })
        .collect();
    let missing: Vec<i32> = (first..=last)
        .filter(|y| !checks.iter().any(|(_, c)| c.year == *y))
        .collect();
    if !missing.is_empty() {
        return Err(ctx.errors().failed_precondition(
            "ANNUAL_CHECK_MISSING",
            format!("complete the annual checks of {missing:?} first"),
        ));
    }
    let (actual, allowed) = (
        period_total(ctx, &checks, "actual_revenue", |c| c.actual_revenue.as_ref())?,
        period_total(ctx, &checks, "max_allowed_revenue", |c| {
            c.max_allowed_revenue.as_ref()
        })?,
    );
    let (excess, _) =
        settle(actual, allowed, 1).map_err(|e| ctx.errors().failed_precondition("SETTLEMENT", e.message))?;
    let ratio = if allowed.is_zero() {
        Decimal::ZERO
    } else {
        // A bounded excess over at least 0.01 CNY: within `Decimal`, checked all the same.
        excess
            .checked_div(allowed)
            .ok_or_else(|| {
                ctx.errors()
                    .failed_precondition("SETTLEMENT", "the excess ratio overflows")
            })?
            .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
    };
    let settlement = PeriodSettlement {
        pricing_case: case.name.clone(),
        period: case.pricing_period,
        annual_checks: checks.iter().map(|(name, _)| name.clone()).collect(),
        total_actual_revenue: money(actual),
        total_allowed_revenue: money(allowed),
        excess: money(excess),
        excess_ratio: Some(Rate {
            value: ratio.to_string(),
        }),
        state: PeriodSettlementState::Draft as i32,
        ..Default::default()
    };
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO period_settlements (id, pricing_case_id, state, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(case.name.trim_start_matches("pricingCases/"))
    .bind(PeriodSettlementState::Draft as i16)
    .bind(settlement.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            return Err(ctx.errors().already_exists(
                "SETTLEMENT_EXISTS",
                format!("{} already has a settlement", case.name),
            ));
        }
        Err(err) => return Err(ctx.db(err)),
    };
    let created = row.to_proto();
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "excess": excess.to_string() }),
    )
    .await?;
    let response = CreatePeriodSettlementResponse {
        period_settlement: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetPeriodSettlementRequest,
) -> Result<GetPeriodSettlementResponse, Status> {
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.find(&mut tx, &req.name, "name").await?;
    let s = row.to_proto();
    let (_, case) = cases::fetch(ctx, &mut tx, &s.pricing_case, "pricing_case", false).await?;
    if !may_read(caller, &case) {
        return Err(ctx
            .errors()
            .permission_denied("NOT_A_PARTY", "only the case's parties read its settlement"));
    }
    Ok(GetPeriodSettlementResponse {
        period_settlement: Some(s),
    })
}

/// The installments of the chosen treatment; they must add up to a positive excess (N1 §四).
fn installments(
    treatment: SettlementTreatment,
    excess: Decimal,
    given: &[DeductionInstallment],
    v: &mut Violations,
) -> Vec<DeductionInstallment> {
    match treatment {
        SettlementTreatment::Unspecified => {
            v.add("treatment", "must be NO_EXCESS, DEDUCT_NEXT_PERIOD or SMOOTHED");
            Vec::new()
        }
        SettlementTreatment::NoExcess => {
            if excess > Decimal::ZERO {
                v.add(
                    "treatment",
                    format!("the period over-collected {excess}; it must be deducted (N1 §四)"),
                );
            }
            Vec::new()
        }
        _ if excess <= Decimal::ZERO => {
            v.add(
                "treatment",
                "there is no over-collection to deduct; use NO_EXCESS",
            );
            Vec::new()
        }
        SettlementTreatment::DeductNextPeriod => vec![DeductionInstallment {
            period_offset: 1,
            amount: money(excess),
        }],
        SettlementTreatment::Smoothed => {
            let mut sum = Cny::ZERO;
            for (i, part) in given.iter().enumerate() {
                let field = format!("installments[{i}].amount");
                if let Some(amount) = decimals::money(part.amount.as_ref(), &field, v) {
                    match sum.checked_add(amount) {
                        Ok(total) => sum = total,
                        Err(err) => v.add(field, format!("brings the installments to a sum that {err}")),
                    }
                }
                if part.period_offset < 1 || given[..i].iter().any(|p| p.period_offset == part.period_offset)
                {
                    v.add(
                        format!("installments[{i}].period_offset"),
                        "must be 1, 2, … and used once",
                    );
                }
            }
            if given.len() < 2 || sum.cents().as_decimal() != excess {
                v.add(
                    "installments",
                    format!(
                        "smoothing spreads the excess {excess} over at least two periods; these sum to {sum}"
                    ),
                );
            }
            given.to_vec()
        }
    }
}

pub async fn complete(
    ctx: &Ctx,
    caller: &Caller,
    req: CompletePeriodSettlementRequest,
) -> Result<CompletePeriodSettlementResponse, Status> {
    const METHOD: &str = "pricing.CompletePeriodSettlement";
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.locked(&mut tx, &req.name, &req.etag).await?;
    let mut s = row.to_proto();
    let (case_row, mut case) = cases::fetch(ctx, &mut tx, &s.pricing_case, "pricing_case", true).await?;
    check_authority(ctx, caller, &case)?;
    crate::grpc::in_scope(&mut tx, caller, &case).await?;
    ctx.require_state(
        &s.name,
        PeriodSettlementState::try_from(s.state).unwrap_or_default(),
        &[PeriodSettlementState::Draft],
        "completion",
    )?;
    let treatment = SettlementTreatment::try_from(req.treatment).unwrap_or_default();
    let excess = decimals::stored_required(ctx, s.excess.as_ref(), &s.name, "excess")?.as_decimal();
    let mut v = Violations::new();
    let parts = installments(treatment, excess, &req.installments, &mut v);
    if req.evaluation_report.as_ref().is_none_or(|d| d.uri.is_empty()) {
        v.add(
            "evaluation_report",
            "must reference the periodic evaluation report (定期评估, N1 §四)",
        );
    }
    v.into_result(ctx.errors())?;
    s.treatment = treatment as i32;
    s.installments = parts;
    s.evaluation_report = req.evaluation_report;
    s.state = PeriodSettlementState::Completed as i32;
    s.completed = Some(AuditInfo {
        actor: Some(actor(caller)),
        time: Some(timestamp(ctx.platform.clock.now())),
        ..Default::default()
    });
    case.state = PricingCaseState::Settled as i32;
    case.settlement = s.name.clone();
    let case = cases::save(ctx, &mut tx, &case_row, &case).await?;
    let saved: Row = pdop_kit::handling::save_state_body(&mut tx, &row.id, s.state, s.encode_to_vec())
        .await
        .map_err(|e| ctx.db(e))?;
    let saved = saved.to_proto();
    crate::carry::pass_on(ctx, &mut tx, &case).await?;
    let event = ev::SettlementCompleted {
        name: saved.name.clone(),
        pricing_case: Some(cases::summary(ctx, &mut tx, &case).await?),
        total_actual_revenue: saved.total_actual_revenue.clone(),
        total_allowed_revenue: saved.total_allowed_revenue.clone(),
        excess: saved.excess.clone(),
        treatment: saved.treatment,
        installment_period_offsets: saved.installments.iter().map(|i| i.period_offset).collect(),
        installment_amounts: saved
            .installments
            .iter()
            .filter_map(|i| i.amount.clone())
            .collect(),
        successor_case: case.successor.clone(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "treatment": saved.treatment }),
        ("pdop.pricing.period_settlement.completed", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(CompletePeriodSettlementResponse {
        period_settlement: Some(saved),
    })
}

/// Settlements with the body of their case, so that readability is decided by the same rule as `get`.
#[derive(sqlx::FromRow)]
struct Listed {
    #[sqlx(flatten)]
    row: Row,
    case_body: Vec<u8>,
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListPeriodSettlementsRequest,
) -> Result<ListPeriodSettlementsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let case = optional_name(&req.pricing_case, cases::COLLECTION, "pricing_case", &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    v.into_result(ctx.errors())?;
    let mut rows = sqlx::query_as::<_, Listed>(
        "SELECT s.id, s.body, s.create_time, s.update_time, s.version, c.body AS case_body
         FROM period_settlements s JOIN pricing_cases c ON c.id = s.pricing_case_id
         WHERE ($1::text IS NULL OR s.id > $1)
           AND ($2::text IS NULL OR c.id = $2)
           AND ($3::text IS NULL OR c.operator_id = $3)
           AND ($4::text IS NULL OR c.jurisdiction_id = $4)
           AND ($5::smallint = 0 OR s.state = $5)
         ORDER BY s.id LIMIT $6",
    )
    .bind(after)
    .bind(case)
    .bind(operator)
    .bind(jurisdiction)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.row.id().to_owned());
    // Readability thins a page (an operator sees its own only); the cursor still moves past every row read.
    let period_settlements = rows
        .iter()
        .filter(|r| PricingCase::decode(r.case_body.as_slice()).is_ok_and(|c| may_read(caller, &c)))
        .map(|r| r.row.to_proto())
        .collect();
    Ok(ListPeriodSettlementsResponse {
        period_settlements,
        next_page_token,
    })
}
