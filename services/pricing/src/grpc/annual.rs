//! `CreateAnnualCheck`, `UpdateAnnualCheck`, `CompleteAnnualCheck`, `GetAnnualCheck`, `ListAnnualChecks`.

use pdop_kit::Violations;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::pricing::v1 as pb;

use crate::context::Ctx;
use crate::domain::{self, Error, ErrorReason, annual};
use crate::storage;

const CASE_FIELD: &str = "annual_check.pricing_case";

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateAnnualCheckRequest,
) -> Result<pb::CreateAnnualCheckResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut a = req.annual_check.unwrap_or_default();
    let mut v = Violations::new();
    let actual = annual::check_figures(&a, &mut v);
    let (Some(actual), true) = (actual, v.is_empty()) else {
        return Err(Error::Invalid(v));
    };
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let case = storage::cases::get(u.tx, &a.pricing_case, CASE_FIELD, false).await?;
            annual::may_create(&u.call.caller, &a, &case)?;
            let profile =
                storage::profiles::of(u.tx, &u.state.profiles, &case.jurisdiction, CASE_FIELD).await?;
            let id = storage::new_id();
            a.name = format!("{}/{id}", annual::COLLECTION);
            let change = annual::create(&mut a, &case, &profile, actual)?;
            let case_id = storage::id_of(&case.name, storage::cases::COLLECTION, CASE_FIELD)?;
            let created = storage::annual::insert(u.tx, &id, &a, case_id, u.call.now).await?;
            Ok(change.into_write(pb::CreateAnnualCheckResponse {
                annual_check: Some(created),
            }))
        })
    })
    .await
}

/// `UpdateAnnualCheck`: changes the masked figures of a DRAFT check and computes its preview again (AIP-134,
/// AIP-154).
pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateAnnualCheckRequest,
) -> Result<pb::UpdateAnnualCheckResponse, Error> {
    let from = req.annual_check.unwrap_or_default();
    let (mask, etag) = super::update_envelope(
        "annual_check",
        &from.name,
        annual::COLLECTION,
        req.update_mask.as_ref(),
        annual::MUTABLE,
        |p| annual::populated(&from, p),
        (req.etag, &from.etag),
    )?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = storage::annual::lock(u.tx, &from.name, &etag).await?;
            let case = storage::cases::get(u.tx, &a.pricing_case, CASE_FIELD, false).await?;
            let profile =
                storage::profiles::of(u.tx, &u.state.profiles, &case.jurisdiction, CASE_FIELD).await?;
            let change = annual::update(&mut a, &case, &u.call.caller, from, &mask, &profile)?;
            let saved = storage::annual::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::UpdateAnnualCheckResponse {
                annual_check: Some(saved),
            }))
        })
    })
    .await
}

pub async fn complete(
    ctx: &Ctx,
    call: Call,
    req: pb::CompleteAnnualCheckRequest,
) -> Result<pb::CompleteAnnualCheckResponse, Error> {
    let mut v = Violations::new();
    if req.business_report.as_ref().is_none_or(|d| d.uri.is_empty()) {
        v.add(
            "business_report",
            "must reference the business report (经营情况报告, N1 §五)",
        );
    }
    let report_date =
        pdop_kit::convert::past_or_today(req.report_date.as_ref(), "report_date", call.today(), &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = storage::annual::lock(u.tx, &req.name, &req.etag).await?;
            let case = storage::cases::get(u.tx, &a.pricing_case, CASE_FIELD, false).await?;
            super::in_scope(u.tx, &u.call.caller, &case).await?;
            let summary = storage::cases::summary(u.tx, &case).await?;
            let change = annual::complete(
                &mut a,
                &case,
                summary,
                u.call,
                req.business_report,
                report_date,
                &req.fee_adjustments,
            )?;
            let saved = storage::annual::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::CompleteAnnualCheckResponse {
                annual_check: Some(saved),
            }))
        })
    })
    .await
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetAnnualCheckRequest,
) -> Result<pb::GetAnnualCheckResponse, Error> {
    let pool = &ctx.platform.pool;
    let a = storage::annual::read(pool, &req.name).await?;
    let case = storage::cases::read(pool, &a.pricing_case, CASE_FIELD).await?;
    if !domain::case::may_read(&call.caller, &case) {
        return Err(Error::denied(
            ErrorReason::NotAParty,
            "only the case's parties read its checks",
        ));
    }
    Ok(pb::GetAnnualCheckResponse {
        annual_check: Some(a),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListAnnualChecksRequest,
) -> Result<pb::ListAnnualChecksResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(String, i32)>) = paging(req.page_size, &req.page_token, &mut v);
    let case = optional_name(
        &req.pricing_case,
        storage::cases::COLLECTION,
        "pricing_case",
        &mut v,
    );
    if req.year < 0 {
        v.add("year", "must be a calendar year, or 0 for all");
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let (rows, next_page_token) = storage::annual::list(
        &ctx.platform.pool,
        storage::annual::Filter {
            after,
            case,
            year: req.year,
            state: req.state,
            size,
        },
    )
    .await?;
    let today = call.today();
    // Body-level filters and readability thin a page; the cursor still moves past every row read.
    let annual_checks = rows
        .into_iter()
        .filter(|(_, c)| domain::case::may_read(&call.caller, c))
        .map(|(a, _)| a)
        .filter(|a| req.adjustment_level == 0 || a.adjustment_level == req.adjustment_level)
        .filter(|a| !req.report_late || annual::overdue_or_late(a, today))
        .collect();
    Ok(pb::ListAnnualChecksResponse {
        annual_checks,
        next_page_token,
    })
}
