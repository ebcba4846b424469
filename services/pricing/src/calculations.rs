//! Stored MAR calculations (最高准许收入测算): the inputs of a pricing case (its approved cost survey, the bond
//! yield of the survey's prior year, the markup and tax model), the figures and the step-by-step derivation,
//! kept immutably so that anyone can re-run and explain them later.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, timestamp};
use pdop_kit::handling::{fetch_row, optional_name, page_after};
use pdop_proto::common::{AuditInfo, SourceCitation};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::calculation_input::{CostBasis, YieldBasis};
use pdop_proto::pricing::v1::{
    Calculation, CalculationInput, CalculationState, CreateCalculationRequest, CreateCalculationResponse,
    ExplainCalculationRequest, ExplainCalculationResponse, GetCalculationRequest, GetCalculationResponse,
    ListCalculationsRequest, ListCalculationsResponse, PricingCaseState, RoundingMode, TaxMethod,
    VatTreatment,
};
use pdop_rules::Cny;
use prost::Message;
use tonic::Status;

use crate::cases::{self, may_read};
use crate::context::{Ctx, Handling, paging};
use crate::formula::{self, MarInputs, MarOutcome};
use crate::preview::{check_tax_model, limits, tax_of, vat_of};
use crate::{bond_yields, decimals, surveys};

pub const COLLECTION: &str = "calculations";

#[derive(sqlx::FromRow)]
pub struct Row {
    id: String,
    body: Vec<u8>,
    state: i16,
    create_time: DateTime<Utc>,
}

pub const COLUMNS: &str = "id, body, state, create_time";

impl Row {
    pub fn to_proto(&self) -> Calculation {
        let mut c = Calculation::decode(self.body.as_slice()).unwrap_or_default();
        c.name = format!("{COLLECTION}/{}", self.id);
        c.state = i32::from(self.state);
        c.create_time = Some(timestamp(self.create_time));
        c
    }
}

fn invalid(ctx: &Ctx, field: &str, message: impl Into<String>) -> Status {
    let mut v = Violations::new();
    v.add(field, message);
    ctx.errors().invalid(&v)
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateCalculationRequest,
) -> Result<CreateCalculationResponse, Status> {
    const METHOD: &str = "pricing.CreateCalculation";
    let mut input = req.input.unwrap_or_default();
    let mut v = Violations::new();
    if pdop_kit::names::parse(&input.pricing_case, cases::COLLECTION).is_none() {
        v.add("input.pricing_case", pdop_kit::names::expected(cases::COLLECTION));
    }
    let survey_name = match &input.cost_basis {
        Some(CostBasis::CostSurvey(name)) => name.clone(),
        _ => {
            v.add(
                "input.cost_survey",
                "a stored calculation rests on an approved cost survey, not a what-if cost",
            );
            String::new()
        }
    };
    let yield_name = match &input.yield_basis {
        Some(YieldBasis::BondYield(name)) => name.clone(),
        _ => {
            v.add(
                "input.bond_yield",
                "a stored calculation uses a recorded bond yield, not a what-if value",
            );
            String::new()
        }
    };
    let markup = decimals::rate(input.markup.as_ref(), "input.markup", &mut v);
    let tax = tax_of(&input, &mut v);
    let vat_rate = vat_of(&input, &mut v);
    let given_deduction = decimals::optional_money(
        input.prior_period_deduction.as_ref(),
        "input.prior_period_deduction",
        &mut v,
    );
    v.into_result(ctx.errors())?;

    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let case_id = ctx
        .parse_name(&input.pricing_case, cases::COLLECTION, "input.pricing_case")?
        .to_owned();
    let (case_row, _) = cases::fetch(ctx, &mut tx, &input.pricing_case, "input.pricing_case", false).await?;
    let case = case_row.to_proto();
    if caller.organization != case.pricing_authority {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_PRICING_AUTHORITY",
            format!(
                "only {} (the case's pricing authority) calculates its MAR",
                case.pricing_authority
            ),
        ));
    }
    crate::grpc::in_scope(&mut tx, caller, &case).await?;
    ctx.require_state(
        &case.name,
        cases::state_of(&case),
        &[PricingCaseState::CostInvestigation],
        "a calculation",
    )?;
    let survey = surveys::approved(ctx, &mut tx, &survey_name, "input.cost_survey").await?;
    if survey.pricing_case != case.name {
        return Err(ctx.errors().failed_precondition(
            "SURVEY_OF_ANOTHER_CASE",
            format!("{survey_name} belongs to {}", survey.pricing_case),
        ));
    }
    let (bond_yield, yield_year) =
        bond_yields::current(ctx, &mut tx, &yield_name, "input.bond_yield").await?;
    // N1 §三(一): 成本调查前一年10年期国债平均收益率.
    if yield_year != survey.survey_year - 1 {
        return Err(ctx.errors().failed_precondition(
            "YIELD_YEAR",
            format!(
                "the survey was conducted in {}, so the yield of {} is needed (成本调查前一年, N1 §三(一)); {yield_name} is of {yield_year}",
                survey.survey_year,
                survey.survey_year - 1
            ),
        ));
    }
    let profile = ctx
        .profile_of(&mut *tx, &case.jurisdiction, "input.pricing_case")
        .await?;
    check_tax_model(ctx, &profile, &input)?;
    let limits = limits(&profile);
    let period_years = case
        .pricing_period
        .as_ref()
        .map(|p| cases::whole_years(p, limits.period_years_max))
        .transpose()
        .ok()
        .flatten()
        .ok_or_else(|| {
            ctx.errors()
                .failed_precondition("PERIOD_UNSET", "set the case's pricing period first")
        })?;
    // N1 §四: only a predecessor's over-collection is deducted; a case carrying none deducts nothing.
    let carried = decimals::stored(
        ctx,
        case.carried_deduction.as_ref(),
        &case.name,
        "carried_deduction",
    )?
    .unwrap_or(Cny::ZERO);
    if given_deduction.is_some_and(|given| !given.is_zero() && given != carried) {
        return Err(invalid(
            ctx,
            "input.prior_period_deduction",
            format!("the case carries a deduction of {carried}; leave the field empty"),
        ));
    }
    let operating_cost = decimals::stored_required(
        ctx,
        survey.totals.as_ref().and_then(|t| t.operating_cost.as_ref()),
        &survey.name,
        "totals.operating_cost",
    )?
    .as_decimal();
    let inputs = MarInputs {
        operating_cost,
        cost_origin: survey_name.clone(),
        bond_yield,
        bond_yield_year: yield_year,
        yield_origin: yield_name.clone(),
        markup: markup.unwrap_or_default(),
        markup_max: limits.markup_max,
        markup_max_source: limits.markup_source,
        tax,
        vat_rate,
        period_years,
        period_years_max: limits.period_years_max,
        prior_deduction: carried.as_decimal(),
        profile_id: profile.id.clone(),
    };
    let outcome = formula::compute_mar(&inputs).map_err(|e| invalid(ctx, &e.field, e.message))?;
    // The inputs as used (after defaulting), so the calculation can be re-run.
    input.period_years = i32::try_from(period_years).unwrap_or(0);
    input.prior_period_deduction =
        outcome
            .result
            .annual_deduction
            .as_ref()
            .map(|_| pdop_proto::common::Money {
                amount: carried.to_string(),
                currency: "CNY".to_owned(),
            });
    input.jurisdiction = case.jurisdiction.clone();
    let calculation = Calculation {
        input: Some(input),
        result: Some(outcome.result.clone()),
        state: CalculationState::Candidate as i32,
        created: Some(AuditInfo {
            actor: Some(actor(caller)),
            time: Some(timestamp(ctx.platform.clock.now())),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = uuid::Uuid::now_v7().to_string();
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO calculations (id, pricing_case_id, cost_survey_id, state, body, create_time)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(&case_id)
    .bind(survey_name.trim_start_matches("costSurveys/"))
    .bind(CalculationState::Candidate as i16)
    .bind(calculation.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let created = row.to_proto();
    let event = ev::CalculationCreated {
        name: created.name.clone(),
        pricing_case: Some(cases::summary(ctx, &mut tx, &case).await?),
        figures: Some(figures(&survey_name, &yield_name, &outcome)),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "max_allowed_revenue": outcome.max_allowed_revenue.to_string() }),
        ("pdop.pricing.calculation.created", &event),
    )
    .await?;
    let response = CreateCalculationResponse {
        calculation: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

fn figures(survey: &str, bond_yield: &str, o: &MarOutcome) -> ev::RevenueFigures {
    let r = &o.result;
    ev::RevenueFigures {
        cost_survey: survey.to_owned(),
        bond_yield: bond_yield.to_owned(),
        operating_cost: r.operating_cost.clone(),
        bond_yield_value: r.bond_yield_value.clone(),
        markup: r.markup.clone(),
        allowed_profit_rate: r.allowed_profit_rate.clone(),
        allowed_profit: r.allowed_profit.clone(),
        taxes: r.taxes.clone(),
        vat: r.vat.clone(),
        annual_deduction: r.annual_deduction.clone(),
        max_allowed_revenue: r.max_allowed_revenue.clone(),
        period_allowed_revenue: r.period_allowed_revenue.clone(),
        period_years: r.period_years,
        formula_version: r.formula_version.clone(),
    }
}

/// The calculation `name`, readable by the parties of its case.
async fn readable(ctx: &Ctx, caller: &Caller, name: &str) -> Result<Calculation, Status> {
    let id = ctx.parse_name(name, COLLECTION, "name")?;
    let mut tx = ctx.begin().await?;
    let row: Row = fetch_row(&mut *tx, "calculations", COLUMNS, id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("CALCULATION_NOT_FOUND", name))?;
    let c = row.to_proto();
    let case_name = c
        .input
        .as_ref()
        .map(|i| i.pricing_case.clone())
        .unwrap_or_default();
    let case_id = pdop_kit::names::parse(&case_name, cases::COLLECTION).unwrap_or_default();
    let case_row: Option<cases::Row> = fetch_row(
        &mut *tx,
        "pricing_cases",
        "id, body, create_time, update_time, version",
        case_id,
        false,
    )
    .await
    .map_err(|e| ctx.db(e))?;
    if !case_row.is_some_and(|r| may_read(caller, &r.to_proto())) {
        return Err(ctx
            .errors()
            .permission_denied("NOT_A_PARTY", "only the case's parties read its calculations"));
    }
    Ok(c)
}

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetCalculationRequest,
) -> Result<GetCalculationResponse, Status> {
    Ok(GetCalculationResponse {
        calculation: Some(readable(ctx, caller, &req.name).await?),
    })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListCalculationsRequest,
) -> Result<ListCalculationsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let case = optional_name(&req.pricing_case, cases::COLLECTION, "pricing_case", &mut v);
    let survey = optional_name(&req.cost_survey, surveys::COLLECTION, "cost_survey", &mut v);
    v.into_result(ctx.errors())?;
    let all = [
        pdop_kit::auth::Role::PricingAuthority,
        pdop_kit::auth::Role::DataAuthority,
        pdop_kit::auth::Role::Auditor,
    ]
    .iter()
    .any(|r| caller.has_role(*r));
    let own = (!all).then(|| {
        caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned()
    });
    // Newest first: ids are time-ordered.
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT k.id, k.body, k.state, k.create_time FROM calculations k
         JOIN pricing_cases c ON c.id = k.pricing_case_id
         WHERE ($1::text IS NULL OR k.id < $1)
           AND ($2::text IS NULL OR c.id = $2)
           AND ($3::text IS NULL OR k.cost_survey_id = $3)
           AND ($4::smallint = 0 OR k.state = $4)
           AND ($5::text IS NULL OR c.operator_id = $5 OR c.authorizing_entity_id = $5)
         ORDER BY k.id DESC LIMIT $6",
    )
    .bind(after)
    .bind(case)
    .bind(survey)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(own)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListCalculationsResponse {
        calculations: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

/// The configurable choices a calculation made instead of quoting a rule (DOMAIN §3.1 [INF]).
fn assumptions(input: &CalculationInput) -> Vec<String> {
    let tax = match TaxMethod::try_from(input.tax_method).unwrap_or_default() {
        TaxMethod::IncomeTaxGrossUp => format!(
            "税金按企业所得税还原计入：T = P × t / (1 − t)，t = {}",
            input
                .income_tax_rate
                .as_ref()
                .map(|r| r.value.as_str())
                .unwrap_or_default()
        ),
        TaxMethod::Itemized => "税金按逐项录入的税目合计".to_owned(),
        _ => "税金不计入最高准许收入".to_owned(),
    };
    let vat = match VatTreatment::try_from(input.vat_treatment).unwrap_or_default() {
        VatTreatment::Included => "最高准许收入含增值税".to_owned(),
        _ => "最高准许收入不含增值税".to_owned(),
    };
    vec![
        tax,
        vat,
        "最高准许收入按年度核定，周期总额为年度额 × 周期年数 − 上期超收扣减".to_owned(),
        "金额在每次乘除后四舍五入到分；利率不舍入".to_owned(),
    ]
}

pub async fn explain(
    ctx: &Ctx,
    caller: &Caller,
    req: ExplainCalculationRequest,
) -> Result<ExplainCalculationResponse, Status> {
    let english = match req.language_code.as_str() {
        "" | "zh-CN" => false,
        "en" => true,
        other => {
            return Err(invalid(
                ctx,
                "language_code",
                format!("`{other}` is not supported; use zh-CN or en"),
            ));
        }
    };
    let c = readable(ctx, caller, &req.name).await?;
    let steps = c.result.map(|r| r.steps).unwrap_or_default();
    let text = if english {
        render_en(&steps)
    } else {
        formula::render(&steps)
    };
    let mut sources: Vec<SourceCitation> = Vec::new();
    for source in steps.iter().filter_map(|s| s.source.clone()) {
        if !sources
            .iter()
            .any(|known| known.source_id == source.source_id && known.article == source.article)
        {
            sources.push(source);
        }
    }
    Ok(ExplainCalculationResponse {
        name: c.name,
        steps,
        text,
        sources,
        assumptions: c.input.as_ref().map(assumptions).unwrap_or_default(),
    })
}

fn render_en(steps: &[pdop_proto::pricing::v1::CalculationStep]) -> String {
    steps
        .iter()
        .map(|s| {
            let rounding = match s
                .rounding
                .as_ref()
                .map(|r| RoundingMode::try_from(r.mode).unwrap_or_default())
            {
                Some(RoundingMode::HalfUp) => "rounded half up to 0.01",
                _ => "exact",
            };
            let source = s
                .source
                .as_ref()
                .map(|c| format!("{} {}", c.source_id, c.article))
                .unwrap_or_default();
            format!(
                "{}. {}: {}; {} ({rounding}; {})",
                s.index,
                s.key,
                s.formula,
                s.substituted,
                source.trim()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
