//! Annual checks (年度校核, N1 §四): each year of the period the actual revenue is measured against the MAR.
//! |d| ≤ the profile's threshold (10%): the operator adjusts its specific prices; above it: the authorizing
//! entity adjusts the caps. The business report is due by 31 March of the next year (D10).

use std::str::FromStr;

use chrono::{Datelike, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, date, naive_date, past_or_today, timestamp, today};
use pdop_kit::handling::{is_unique_violation, optional_name, page_after};
use pdop_proto::common::{AuditInfo, Deadline, DeadlineUnit, Money, Rate, SourceCitation};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{
    AnnualCheck, AnnualCheckState, CompleteAnnualCheckRequest, CompleteAnnualCheckResponse,
    CreateAnnualCheckRequest, CreateAnnualCheckResponse, DeviationMode, GetAnnualCheckRequest,
    GetAnnualCheckResponse, ListAnnualChecksRequest, ListAnnualChecksResponse, PricingCase, PricingCaseState,
};
use pdop_rules::Cny;
use prost::Message;
use rust_decimal::Decimal;
use tonic::Status;

use crate::cases::{self, may_read};
use crate::context::{Ctx, Handling, paging};
use crate::decimals;
use crate::formula::check_deviation;

const COLLECTION: &str = "annualChecks";

crate::rows::body_row!(AnnualCheck, "annual_checks", COLLECTION, "ANNUAL_CHECK_NOT_FOUND");

fn money(d: Decimal) -> Option<Money> {
    Some(Money {
        amount: d.to_string(),
        currency: "CNY".to_owned(),
    })
}

fn period_years(case: &PricingCase) -> (i32, i32) {
    let year = |d: Option<&pdop_proto::common::Date>| d.map(|d| d.year).unwrap_or_default();
    let p = case.pricing_period.unwrap_or_default();
    (year(p.start_date.as_ref()), year(p.end_date.as_ref()))
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateAnnualCheckRequest,
) -> Result<CreateAnnualCheckResponse, Status> {
    const METHOD: &str = "pricing.CreateAnnualCheck";
    let mut a = req.annual_check.unwrap_or_default();
    let mut v = Violations::new();
    let actual = decimals::money(a.actual_revenue.as_ref(), "annual_check.actual_revenue", &mut v);
    let mut product_total = Cny::ZERO;
    for (i, p) in a.product_revenues.iter().enumerate() {
        let field = format!("annual_check.product_revenues[{i}].revenue");
        let Some(revenue) = decimals::money(p.revenue.as_ref(), &field, &mut v) else {
            continue;
        };
        match product_total.checked_add(revenue) {
            Ok(total) => product_total = total,
            Err(err) => v.add(field, format!("brings the products' total to a sum that {err}")),
        }
    }
    if !a.product_revenues.is_empty() && actual.is_some_and(|total| total.cents() != product_total.cents()) {
        v.add(
            "annual_check.product_revenues",
            format!("the products' revenues sum to {product_total}, not the actual revenue"),
        );
    }
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let case = cases::fetch(ctx, &mut tx, &a.pricing_case, "annual_check.pricing_case", false)
        .await?
        .1;
    if !(caller.organization == case.authorizing_entity || caller.organization == case.operator) {
        return Err(ctx.errors().permission_denied(
            "NOT_A_PARTY",
            "the authorizing entity or the operator records the year",
        ));
    }
    ctx.require_state(
        &case.name,
        cases::state_of(&case),
        &[PricingCaseState::InEffect],
        "an annual check",
    )?;
    let (first, last) = period_years(&case);
    if !(first..=last).contains(&a.year) {
        let mut v = Violations::new();
        v.add(
            "annual_check.year",
            format!("must be a year of the pricing period ({first} to {last})"),
        );
        return Err(ctx.errors().invalid(&v));
    }
    let profile = ctx
        .profile_of(&mut *tx, &case.jurisdiction, "annual_check.pricing_case")
        .await?;
    let threshold = profile
        .pricing
        .deviation_threshold
        .as_ref()
        .and_then(|s| Decimal::from_str(s.value.as_str()).ok())
        .unwrap_or(Decimal::new(10, 2));
    let mar = decimals::stored(
        ctx,
        case.max_allowed_revenue.as_ref(),
        &case.name,
        "max_allowed_revenue",
    )?
    .ok_or_else(|| {
        ctx.errors().failed_precondition(
            "NO_MAR",
            format!("{} has no approved maximum allowed revenue", case.name),
        )
    })?;
    // Set: a missing actual revenue was a violation returned above.
    let actual = actual.unwrap_or_default().as_decimal();
    let deviation = check_deviation(actual, mar.as_decimal(), threshold)
        .map_err(|e| ctx.errors().failed_precondition("NO_MAR", e.message))?;
    a.pricing_case = case.name.clone();
    a.max_allowed_revenue = money(mar.cents().as_decimal());
    a.deviation = Some(Rate {
        value: deviation.reported.to_string(),
    });
    a.deviation_threshold = Some(Rate {
        value: threshold.to_string(),
    });
    a.deviation_mode = DeviationMode::TwoSided as i32;
    a.adjustment_level = deviation.level as i32;
    a.adjustment_direction = deviation.direction as i32;
    a.state = AnnualCheckState::Draft as i32;
    // D10 (N1 §五): the business report of the year is due by 31 March of the next year.
    a.report_deadline = profile.pricing.annual_report_due.as_ref().and_then(|due| {
        let day = due.value.in_year(a.year + 1)?;
        Some(Deadline {
            start_date: NaiveDate::from_ymd_opt(a.year, 12, 31).map(date),
            duration: 0,
            unit: DeadlineUnit::FixedDate as i32,
            due_date: Some(date(day)),
            provisional: false,
            source: Some(SourceCitation {
                rule_id: "D10".to_owned(),
                source_id: due.source.clone(),
                ..Default::default()
            }),
            profile_id: profile.id.clone(),
        })
    });
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO annual_checks (id, pricing_case_id, year, state, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(case.name.trim_start_matches("pricingCases/"))
    .bind(a.year)
    .bind(AnnualCheckState::Draft as i16)
    .bind(a.encode_to_vec())
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            return Err(ctx.errors().already_exists(
                "CHECK_EXISTS",
                format!("{} already has a check for {}", case.name, a.year),
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
        serde_json::json!({ "year": created.year }),
    )
    .await?;
    let response = CreateAnnualCheckResponse {
        annual_check: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetAnnualCheckRequest,
) -> Result<GetAnnualCheckResponse, Status> {
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.find(&mut tx, &req.name, "name").await?;
    let a = row.to_proto();
    let case = cases::fetch(ctx, &mut tx, &a.pricing_case, "annual_check.pricing_case", false)
        .await?
        .1;
    if !may_read(caller, &case) {
        return Err(ctx
            .errors()
            .permission_denied("NOT_A_PARTY", "only the case's parties read its checks"));
    }
    Ok(GetAnnualCheckResponse {
        annual_check: Some(a),
    })
}

pub async fn complete(
    ctx: &Ctx,
    caller: &Caller,
    req: CompleteAnnualCheckRequest,
) -> Result<CompleteAnnualCheckResponse, Status> {
    const METHOD: &str = "pricing.CompleteAnnualCheck";
    let mut v = Violations::new();
    if req.business_report.as_ref().is_none_or(|d| d.uri.is_empty()) {
        v.add(
            "business_report",
            "must reference the business report (经营情况报告, N1 §五)",
        );
    }
    let report_date = past_or_today(
        req.report_date.as_ref(),
        "report_date",
        ctx.platform.clock.today(),
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.locked(&mut tx, &req.name, &req.etag).await?;
    let mut a = row.to_proto();
    let case = cases::fetch(ctx, &mut tx, &a.pricing_case, "annual_check.pricing_case", false)
        .await?
        .1;
    if caller.organization != case.authorizing_entity {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_AUTHORIZING_ENTITY",
            "the authorizing entity completes the check and sends the report",
        ));
    }
    ctx.require_state(
        &a.name,
        AnnualCheckState::try_from(a.state).unwrap_or_default(),
        &[AnnualCheckState::Draft],
        "completion",
    )?;
    if today().year() <= a.year {
        return Err(ctx.errors().failed_precondition(
            "YEAR_NOT_ENDED",
            format!("{} has not ended; its figures are not final", a.year),
        ));
    }
    let due = a
        .report_deadline
        .as_ref()
        .and_then(|d| d.due_date.as_ref())
        .and_then(pdop_kit::convert::naive_date);
    a.report_late = due.is_some_and(|due| report_date > due);
    a.business_report = req.business_report;
    a.report_date = Some(date(report_date));
    a.fee_adjustments = req.fee_adjustments.trim().to_owned();
    a.state = AnnualCheckState::Completed as i32;
    a.completed = Some(AuditInfo {
        actor: Some(actor(caller)),
        time: Some(timestamp(Utc::now())),
        ..Default::default()
    });
    let saved: Row = pdop_kit::handling::save_state_body(&mut tx, &row.id, a.state, a.encode_to_vec())
        .await
        .map_err(|e| ctx.db(e))?;
    let saved = saved.to_proto();
    let event = ev::AnnualCheckCompleted {
        name: saved.name.clone(),
        pricing_case: Some(cases::summary(ctx, &mut tx, &case).await?),
        year: saved.year,
        actual_revenue: saved.actual_revenue.clone(),
        max_allowed_revenue: saved.max_allowed_revenue.clone(),
        deviation: saved.deviation.clone(),
        deviation_threshold: saved.deviation_threshold.clone(),
        deviation_mode: saved.deviation_mode,
        adjustment_level: saved.adjustment_level,
        adjustment_direction: saved.adjustment_direction,
        report_date: saved.report_date,
        report_late: saved.report_late,
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "level": saved.adjustment_level, "late": saved.report_late }),
        ("pdop.pricing.annual_check.completed", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(CompleteAnnualCheckResponse {
        annual_check: Some(saved),
    })
}

/// Checks with the body of their case, so that readability is decided by the same rule as `get`.
#[derive(sqlx::FromRow)]
struct Listed {
    #[sqlx(flatten)]
    row: Row,
    case_body: Vec<u8>,
    case_id: String,
    year: i32,
}

fn overdue_or_late(a: &AnnualCheck) -> bool {
    let due = a
        .report_deadline
        .as_ref()
        .and_then(|d| d.due_date.as_ref())
        .and_then(naive_date);
    a.report_late || (a.state != AnnualCheckState::Completed as i32 && due.is_some_and(|due| today() > due))
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListAnnualChecksRequest,
) -> Result<ListAnnualChecksResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(String, i32)>) = paging(req.page_size, &req.page_token, &mut v);
    let case = optional_name(&req.pricing_case, cases::COLLECTION, "pricing_case", &mut v);
    if req.year < 0 {
        v.add("year", "must be a calendar year, or 0 for all");
    }
    v.into_result(ctx.errors())?;
    let (after_case, after_year) = after.unzip();
    let mut rows = sqlx::query_as::<_, Listed>(
        "SELECT a.id, a.body, a.create_time, a.update_time, a.version, a.year,
                c.id AS case_id, c.body AS case_body
         FROM annual_checks a JOIN pricing_cases c ON c.id = a.pricing_case_id
         WHERE ($1::text IS NULL OR (c.id, a.year) > ($1, $2))
           AND ($3::text IS NULL OR c.id = $3)
           AND ($4 = 0 OR a.year = $4)
           AND ($5::smallint = 0 OR a.state = $5)
         ORDER BY c.id, a.year LIMIT $6",
    )
    .bind(after_case)
    .bind(after_year)
    .bind(case)
    .bind(req.year)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| (r.case_id.clone(), r.year));
    // Body-level filters and readability thin a page; the cursor still moves past every row read.
    let annual_checks = rows
        .iter()
        .filter(|r| PricingCase::decode(r.case_body.as_slice()).is_ok_and(|c| may_read(caller, &c)))
        .map(|r| r.row.to_proto())
        .filter(|a| req.adjustment_level == 0 || a.adjustment_level == req.adjustment_level)
        .filter(|a| !req.report_late || overdue_or_late(a))
        .collect();
    Ok(ListAnnualChecksResponse {
        annual_checks,
        next_page_token,
    })
}
