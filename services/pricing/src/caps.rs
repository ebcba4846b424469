//! Cap prices (上限收费标准, N1 §二, §三(二)): set by the authorizing entity per product and billing unit within
//! the approved MAR (Σ cap × expected volume ≤ MAR), reported in writing to the pricing and data authorities,
//! then published. Free products (公共治理、公益事业) have a cap of 0 (N1 §一: 免费提供).

use std::str::FromStr;

use chrono::Utc;
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{self, actor, optional_date, timestamp};
use pdop_kit::handling::{optional_name, page_after};
use pdop_proto::common::{AuditInfo, BillingUnit, Money};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{
    CapPrice, CapPriceState, CapRevenueCheck, CreateCapPriceRequest, CreateCapPriceResponse,
    FreeProvisionBasis, GetCapPriceRequest, GetCapPriceResponse, ListCapPricesRequest, ListCapPricesResponse,
    PricingCase, PricingCaseState, PublishCapPriceRequest, PublishCapPriceResponse, SetCapPriceRequest,
    SetCapPriceResponse,
};
use pdop_proto::registry::v1::ProductState;
use prost::Message;
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::cases::{self, may_read};
use crate::context::{Ctx, Handling, paging};
use crate::formula::cents;
use crate::{decimals, prices, products};

const COLLECTION: &str = "capPrices";

crate::rows::body_row!(CapPrice, "cap_prices", COLLECTION, "CAP_PRICE_NOT_FOUND");

fn state_of(c: &CapPrice) -> CapPriceState {
    CapPriceState::try_from(c.state).unwrap_or_default()
}

fn cny(d: Decimal) -> Option<Money> {
    Some(Money {
        amount: d.to_string(),
        currency: "CNY".to_owned(),
    })
}

fn check_entity(ctx: &Ctx, caller: &Caller, case: &PricingCase) -> Result<(), Status> {
    if caller.organization == case.authorizing_entity {
        return Ok(());
    }
    Err(ctx.errors().permission_denied(
        "NOT_THE_AUTHORIZING_ENTITY",
        format!(
            "caps of {} are set by {} (授权主体, N1 §二)",
            case.name, case.authorizing_entity
        ),
    ))
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateCapPriceRequest,
) -> Result<CreateCapPriceResponse, Status> {
    const METHOD: &str = "pricing.CreateCapPrice";
    let mut c = req.cap_price.unwrap_or_default();
    let mut v = Violations::new();
    if pdop_kit::names::parse(&c.product, "products").is_none() {
        v.add("cap_price.product", pdop_kit::names::expected("products"));
    }
    if BillingUnit::try_from(c.billing_unit).unwrap_or_default() == BillingUnit::Unspecified {
        v.add(
            "cap_price.billing_unit",
            "must say what is charged for (N1 §三(二): 产品数量、服务次数、服务时间、数据调用量)",
        );
    }
    if c.unit_label.trim().is_empty() {
        v.add(
            "cap_price.unit_label",
            "must give the unit as published, e.g. 元/次",
        );
    }
    let cap = decimals::money(c.cap_amount.as_ref(), "cap_price.cap_amount", &mut v);
    if cap.is_some_and(|a| a.is_negative() || a.as_decimal().scale() > 4) {
        v.add(
            "cap_price.cap_amount",
            "must be at least 0 with at most 4 fraction digits",
        );
    }
    let volume = match c.expected_volume.as_ref() {
        Some(d) => Decimal::from_str(d.value.trim())
            .ok()
            .filter(|q| *q >= Decimal::ZERO),
        None => None,
    };
    if volume.is_none() {
        v.add(
            "cap_price.expected_volume",
            "must give the expected annual volume (预计销售规模), at least 0",
        );
    }
    // THREATS L1: the expected revenue is money too, bounded like the cap.
    let expected = match (cap, volume) {
        (Some(cap), Some(volume)) => match cap.times(volume) {
            Ok(expected) => Some(expected.cents()),
            Err(err) => {
                v.add(
                    "cap_price.expected_volume",
                    format!("times the cap amount gives an expected revenue that {err}"),
                );
                None
            }
        },
        _ => None,
    };
    let free =
        FreeProvisionBasis::try_from(c.free_provision).unwrap_or_default() != FreeProvisionBasis::Unspecified;
    if free && cap.is_some_and(|a| !a.is_zero()) {
        v.add(
            "cap_price.cap_amount",
            "a free product's cap is 0 (N1 §一: 免费提供)",
        );
    }
    if !c.supersedes.is_empty() && c.adjustment_reason.trim().is_empty() {
        v.add(
            "cap_price.adjustment_reason",
            "an adjusted cap says why it is adjusted",
        );
    }
    let period = c.effective_period.unwrap_or_default();
    let from = optional_date(period.start_date.as_ref()).ok().flatten();
    let to = optional_date(period.end_date.as_ref()).ok().flatten();
    if from.is_none() || to.is_none() || from > to {
        v.add("cap_price.effective_period", "needs a valid start and end");
    }
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let (_, case) = cases::fetch(ctx, &mut tx, &c.pricing_case, "cap_price.pricing_case", true).await?;
    check_entity(ctx, caller, &case)?;
    ctx.require_state(
        &case.name,
        cases::state_of(&case),
        &[PricingCaseState::RevenueApproved, PricingCaseState::InEffect],
        "setting caps",
    )?;
    let pricing_period = case.pricing_period.unwrap_or_default();
    let (case_from, case_to) = (
        optional_date(pricing_period.start_date.as_ref()).ok().flatten(),
        optional_date(pricing_period.end_date.as_ref()).ok().flatten(),
    );
    if from < case_from || to > case_to {
        let mut v = Violations::new();
        v.add(
            "cap_price.effective_period",
            "must lie within the case's pricing period",
        );
        return Err(ctx.errors().invalid(&v));
    }
    let product = products::of_case(ctx, &mut tx, &case, &c.product, free, "cap_price").await?;
    if product.state == ProductState::Withdrawn as i16 {
        return Err(ctx.errors().failed_precondition(
            "PRODUCT_NOT_PRICEABLE",
            format!("{} is not a current product of {}", c.product, case.operator),
        ));
    }
    let product_id = product.id.as_str();
    c.product_display_name = product.display_name.clone();
    c.use_class = i32::from(product.use_class);
    // Set: a missing cap or volume was a violation returned above.
    let expected = expected.unwrap_or_default();
    c.expected_revenue = Some(convert::money(expected));
    c.state = CapPriceState::Draft as i32;
    c.written_report = None;
    c.reported_to.clear();
    c.set = None;
    c.publish_time = None;
    c.superseded_by.clear();
    let id = uuid::Uuid::now_v7().to_string();
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO cap_prices (id, pricing_case_id, product_id, state, expected_revenue, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(case.name.trim_start_matches("pricingCases/"))
    .bind(product_id)
    .bind(CapPriceState::Draft as i16)
    .bind(expected.as_decimal())
    .bind(c.encode_to_vec())
    .bind(Utc::now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let created = row.to_proto();
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "product": created.product }),
    )
    .await?;
    let response = CreateCapPriceResponse {
        cap_price: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

async fn save(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    c: &CapPrice,
) -> Result<CapPrice, Status> {
    let updated: Row = pdop_kit::handling::save_state_body(tx, &row.id, c.state, c.encode_to_vec())
        .await
        .map_err(|e| ctx.db(e))?;
    Ok(updated.to_proto())
}

/// Σ expected revenue of the case's set and published caps (plus `adding`) against its annual MAR.
async fn revenue_check(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    case: &PricingCase,
    adding: &CapPrice,
) -> Result<CapRevenueCheck, Status> {
    let counted: Decimal = sqlx::query_scalar(
        "SELECT COALESCE(sum(expected_revenue), 0) FROM cap_prices
         WHERE pricing_case_id = $1 AND state = ANY($2)",
    )
    .bind(case.name.trim_start_matches("pricingCases/"))
    .bind(vec![CapPriceState::Set as i16, CapPriceState::Published as i16])
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let own = decimals::stored_required(
        ctx,
        adding.expected_revenue.as_ref(),
        &adding.name,
        "expected_revenue",
    )?
    .as_decimal();
    // A cap that adjusts another replaces its expected revenue.
    let replaced: Decimal = if adding.supersedes.is_empty() {
        Decimal::ZERO
    } else {
        sqlx::query_scalar(
            "SELECT COALESCE(sum(expected_revenue), 0) FROM cap_prices WHERE id = $1 AND state = $2",
        )
        .bind(adding.supersedes.trim_start_matches("capPrices/"))
        .bind(CapPriceState::Published as i16)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?
    };
    let mar = decimals::stored_required(
        ctx,
        case.max_allowed_revenue.as_ref(),
        &case.name,
        "max_allowed_revenue",
    )?
    .as_decimal();
    // Sums of bounded amounts over one case's caps: far inside `Decimal`, checked all the same.
    let (total, headroom) = counted
        .checked_add(own)
        .and_then(|t| t.checked_sub(replaced))
        .map(cents)
        .and_then(|total| Some((total, mar.checked_sub(total)?)))
        .ok_or_else(|| {
            ctx.internal(anyhow::anyhow!(
                "the expected revenue of {}'s caps overflows",
                case.name
            ))
        })?;
    Ok(CapRevenueCheck {
        total_expected_revenue: cny(total),
        max_allowed_revenue: cny(cents(mar)),
        headroom: cny(cents(headroom)),
        within: total <= mar,
    })
}

fn snapshot(c: &CapPrice, case: &PricingCase) -> ev::CapPriceSnapshot {
    let org = |name: &str| pdop_proto::common::OrganizationRef {
        name: name.to_owned(),
        ..Default::default()
    };
    ev::CapPriceSnapshot {
        name: c.name.clone(),
        pricing_case: c.pricing_case.clone(),
        product: c.product.clone(),
        product_display_name: c.product_display_name.clone(),
        operator: Some(org(&case.operator)),
        authorizing_entity: Some(org(&case.authorizing_entity)),
        jurisdiction: Some(pdop_proto::common::JurisdictionRef {
            name: case.jurisdiction.clone(),
            ..Default::default()
        }),
        use_class: c.use_class,
        free_provision: c.free_provision,
        billing_unit: c.billing_unit,
        unit_label: c.unit_label.clone(),
        cap_amount: c.cap_amount.clone(),
        expected_volume: c.expected_volume.clone(),
        effective_period: c.effective_period,
        supersedes: c.supersedes.clone(),
        adjustment_reason: c.adjustment_reason.clone(),
        state: c.state,
    }
}

pub async fn set(ctx: &Ctx, caller: &Caller, req: SetCapPriceRequest) -> Result<SetCapPriceResponse, Status> {
    const METHOD: &str = "pricing.SetCapPrice";
    if req.written_report.as_ref().is_none_or(|d| d.uri.is_empty()) {
        let mut v = Violations::new();
        v.add(
            "written_report",
            "must reference the written report to the pricing and data authorities (N1 §二)",
        );
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.locked(&mut tx, &req.name, &req.etag).await?;
    let mut c = row.to_proto();
    let (_, case) = cases::fetch(ctx, &mut tx, &c.pricing_case, "name", true).await?;
    check_entity(ctx, caller, &case)?;
    ctx.require_state(&c.name, state_of(&c), &[CapPriceState::Draft], "setting")?;
    for authority in [&case.pricing_authority, &case.data_authority] {
        if !req.reported_to.contains(authority) {
            let mut v = Violations::new();
            v.add(
                "reported_to",
                format!("must include {authority}: caps are reported to both authorities (N1 §二)"),
            );
            return Err(ctx.errors().invalid(&v));
        }
    }
    let check = revenue_check(ctx, &mut tx, &case, &c).await?;
    if !check.within {
        let total = check
            .total_expected_revenue
            .as_ref()
            .map(|m| m.amount.clone())
            .unwrap_or_default();
        let mar = check
            .max_allowed_revenue
            .as_ref()
            .map(|m| m.amount.clone())
            .unwrap_or_default();
        return Err(ctx.errors().failed_precondition(
            "CAP_REVENUE_EXCEEDS_MAR",
            format!("Σ cap × expected volume would be {total}, above the MAR of {mar} (N1 §二: 在最高准许收入范围内)"),
        ));
    }
    c.state = CapPriceState::Set as i32;
    c.written_report = req.written_report;
    c.reported_to = req.reported_to;
    c.set = Some(AuditInfo {
        actor: Some(actor(caller)),
        time: Some(timestamp(Utc::now())),
        ..Default::default()
    });
    let saved = save(ctx, &mut tx, &row, &c).await?;
    let event = ev::CapPriceSet {
        cap_price: Some(snapshot(&saved, &case)),
        total_expected_revenue: check.total_expected_revenue.clone(),
        max_allowed_revenue: check.max_allowed_revenue.clone(),
        reported_to: saved
            .reported_to
            .iter()
            .map(|name| pdop_proto::common::OrganizationRef {
                name: name.clone(),
                ..Default::default()
            })
            .collect(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "SET" }),
        ("pdop.pricing.cap_price.set", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(SetCapPriceResponse {
        cap_price: Some(saved),
        check: Some(check),
    })
}

pub async fn publish(
    ctx: &Ctx,
    caller: &Caller,
    req: PublishCapPriceRequest,
) -> Result<PublishCapPriceResponse, Status> {
    const METHOD: &str = "pricing.PublishCapPrice";
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.locked(&mut tx, &req.name, &req.etag).await?;
    let mut c = row.to_proto();
    let (case_row, mut case) = cases::fetch(ctx, &mut tx, &c.pricing_case, "name", true).await?;
    check_entity(ctx, caller, &case)?;
    ctx.require_state(&c.name, state_of(&c), &[CapPriceState::Set], "publication")?;
    if !c.supersedes.is_empty() {
        let old: Row = ctx.locked(&mut tx, &c.supersedes, "").await?;
        let mut previous = old.to_proto();
        previous.state = CapPriceState::Superseded as i32;
        previous.superseded_by = c.name.clone();
        save(ctx, &mut tx, &old, &previous).await?;
    }
    let above = prices::flag_above_cap(
        ctx,
        &mut tx,
        case_row.id(),
        &c.product,
        decimals::stored_required(ctx, c.cap_amount.as_ref(), &c.name, "cap_amount")?,
    )
    .await?;
    let now = Utc::now();
    c.state = CapPriceState::Published as i32;
    c.publish_time = Some(timestamp(now));
    let saved = save(ctx, &mut tx, &row, &c).await?;
    if cases::state_of(&case) == PricingCaseState::RevenueApproved {
        case.state = PricingCaseState::InEffect as i32;
        cases::save(ctx, &mut tx, &case_row, &case).await?;
    }
    let event = ev::CapPricePublished {
        cap_price: Some(snapshot(&saved, &case)),
        publish_time: Some(timestamp(now)),
        specific_prices_above_cap: above.clone(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "PUBLISHED", "case": case.name }),
        ("pdop.pricing.cap_price.published", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(PublishCapPriceResponse {
        cap_price: Some(saved),
        specific_prices_above_cap: above,
    })
}

pub async fn get(ctx: &Ctx, caller: &Caller, req: GetCapPriceRequest) -> Result<GetCapPriceResponse, Status> {
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.find(&mut tx, &req.name, "name").await?;
    let c = row.to_proto();
    let public = matches!(
        state_of(&c),
        CapPriceState::Published | CapPriceState::Superseded | CapPriceState::Ended
    );
    if !public {
        let (_, case) = cases::fetch(ctx, &mut tx, &c.pricing_case, "name", true).await?;
        if !may_read(caller, &case) {
            return Err(ctx.errors().not_found("CAP_PRICE_NOT_FOUND", &req.name));
        }
    }
    Ok(GetCapPriceResponse { cap_price: Some(c) })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListCapPricesRequest,
) -> Result<ListCapPricesResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let case = optional_name(&req.pricing_case, cases::COLLECTION, "pricing_case", &mut v);
    let product = optional_name(&req.product, "products", "product", &mut v);
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
    // Parties see their drafts; everyone sees what is published.
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT p.id, p.body, p.create_time, p.update_time, p.version FROM cap_prices p
         JOIN pricing_cases c ON c.id = p.pricing_case_id
         WHERE ($1::text IS NULL OR p.id > $1)
           AND ($2::text IS NULL OR c.id = $2)
           AND ($3::text IS NULL OR p.product_id = $3)
           AND ($4::smallint = 0 OR p.state = $4)
           AND ($5::text IS NULL OR p.state >= $6 OR c.operator_id = $5 OR c.authorizing_entity_id = $5)
         ORDER BY p.id LIMIT $7",
    )
    .bind(after)
    .bind(case)
    .bind(product)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(own)
    .bind(CapPriceState::Published as i16)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListCapPricesResponse {
        cap_prices: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}
