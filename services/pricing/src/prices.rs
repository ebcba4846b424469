//! Specific prices (具体收费标准, N1 §二): the operator's actual price per product, at or below the published
//! cap, posted publicly (明码标价, N1 §五). Before a fee standard exists (TRIAL and the assessment and cost
//! investigation that follow) the operator sets trial prices (试行收费标准) under the authorizing entity's
//! guidance.

use chrono::Utc;
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, timestamp};
use pdop_kit::handling::{optional_name, page_after};
use pdop_proto::common::BillingUnit;
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{
    CapPrice, CapPriceState, CreateSpecificPriceRequest, CreateSpecificPriceResponse, FreeProvisionBasis,
    GetSpecificPriceRequest, GetSpecificPriceResponse, ListSpecificPricesRequest, ListSpecificPricesResponse,
    PricingCase, PricingCaseState, PublishSpecificPriceRequest, PublishSpecificPriceResponse, SpecificPrice,
    SpecificPriceKind, SpecificPriceState,
};
use pdop_rules::Cny;
use prost::Message;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::cases::{self, may_read};
use crate::context::{Ctx, Handling, paging};
use crate::{decimals, products};

const COLLECTION: &str = "specificPrices";

crate::rows::body_row!(
    SpecificPrice,
    "specific_prices",
    COLLECTION,
    "SPECIFIC_PRICE_NOT_FOUND"
);

fn state_of(p: &SpecificPrice) -> SpecificPriceState {
    SpecificPriceState::try_from(p.state).unwrap_or_default()
}

/// The currently published cap of a product in a case.
async fn published_cap(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    case: &PricingCase,
    product: &str,
) -> Result<Option<CapPrice>, Status> {
    let body: Option<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT id, body FROM cap_prices WHERE pricing_case_id = $1 AND product_id = $2 AND state = $3
         ORDER BY id DESC LIMIT 1",
    )
    .bind(case.name.trim_start_matches("pricingCases/"))
    .bind(product.trim_start_matches("products/"))
    .bind(CapPriceState::Published as i16)
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(body.map(|(id, b)| {
        let mut cap = CapPrice::decode(b.as_slice()).unwrap_or_default();
        cap.name = format!("capPrices/{id}");
        cap
    }))
}

/// N1 §二: 运营机构在不高于上限收费标准的范围内，确定具体收费标准.
fn check_cap(ctx: &Ctx, p: &SpecificPrice, amount: Cny, cap: &CapPrice) -> Result<(), Status> {
    if p.billing_unit != cap.billing_unit {
        let mut v = Violations::new();
        v.add(
            "specific_price.billing_unit",
            format!("must equal the cap's billing unit ({})", cap.unit_label),
        );
        return Err(ctx.errors().invalid(&v));
    }
    let limit = decimals::stored_required(ctx, cap.cap_amount.as_ref(), &cap.name, "cap_amount")?;
    if amount > limit {
        return Err(ctx.errors().failed_precondition(
            "PRICE_ABOVE_CAP",
            format!(
                "{amount} is above the cap {limit} of {} (N1 §二: 不高于上限收费标准)",
                cap.name
            ),
        ));
    }
    Ok(())
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateSpecificPriceRequest,
) -> Result<CreateSpecificPriceResponse, Status> {
    const METHOD: &str = "pricing.CreateSpecificPrice";
    let mut p = req.specific_price.unwrap_or_default();
    let mut v = Violations::new();
    if pdop_kit::names::parse(&p.product, "products").is_none() {
        v.add("specific_price.product", pdop_kit::names::expected("products"));
    }
    if BillingUnit::try_from(p.billing_unit).unwrap_or_default() == BillingUnit::Unspecified {
        v.add("specific_price.billing_unit", "must say what is charged for");
    }
    let amount = decimals::money(p.amount.as_ref(), "specific_price.amount", &mut v);
    if amount.is_some_and(|a| a.is_negative() || a.as_decimal().scale() > 4) {
        v.add(
            "specific_price.amount",
            "must be at least 0 with at most 4 fraction digits",
        );
    }
    let free =
        FreeProvisionBasis::try_from(p.free_provision).unwrap_or_default() != FreeProvisionBasis::Unspecified;
    if free && amount.is_some_and(|a| !a.is_zero()) {
        v.add(
            "specific_price.amount",
            "a free product's price is 0 (N1 §一: 免费提供)",
        );
    }
    if !p.supersedes.is_empty() && p.adjustment_reason.trim().is_empty() {
        v.add(
            "specific_price.adjustment_reason",
            "an adjusted price says why it is adjusted",
        );
    }
    v.into_result(ctx.errors())?;
    // Set: a missing or malformed amount was a violation returned above.
    let amount = amount.unwrap_or_default();
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let case = cases::fetch(
        ctx,
        &mut tx,
        &p.pricing_case,
        "specific_price.pricing_case",
        false,
    )
    .await?
    .1;
    if caller.organization != case.operator {
        return Err(ctx
            .errors()
            .permission_denied("NOT_THE_OPERATOR", "prices are set by the case's operator"));
    }
    let product = products::of_case(ctx, &mut tx, &case, &p.product, free, "specific_price").await?;
    let product_id = product.id.as_str();
    p.product_display_name = product.display_name.clone();
    p.use_class = i32::from(product.use_class);
    match cases::state_of(&case) {
        PricingCaseState::Settled => {
            return Err(ctx
                .errors()
                .failed_precondition("CASE_SETTLED", format!("{} is settled", case.name)));
        }
        // No fee standard yet: a trial price under the authorizing entity's guidance (N1 §二).
        PricingCaseState::Trial | PricingCaseState::Applied | PricingCaseState::CostInvestigation => {
            if p.guidance_document.as_ref().is_none_or(|d| d.uri.is_empty()) {
                let mut v = Violations::new();
                v.add(
                    "specific_price.guidance_document",
                    "a trial price (试行收费标准) rests on the authorizing entity's guidance",
                );
                return Err(ctx.errors().invalid(&v));
            }
            p.kind = SpecificPriceKind::Trial as i32;
            p.cap_price.clear();
            p.cap_amount = None;
        }
        _ => {
            let cap = published_cap(ctx, &mut tx, &case, &p.product)
                .await?
                .ok_or_else(|| {
                    ctx.errors().failed_precondition(
                        "NO_PUBLISHED_CAP",
                        format!(
                            "{} has no published cap yet; the price follows the cap",
                            p.product
                        ),
                    )
                })?;
            check_cap(ctx, &p, amount, &cap)?;
            p.kind = SpecificPriceKind::Standard as i32;
            p.cap_price = cap.name.clone();
            p.cap_amount = cap.cap_amount.clone();
        }
    }
    p.state = SpecificPriceState::Draft as i32;
    p.exceeds_cap = false;
    p.publish_time = None;
    p.superseded_by.clear();
    let id = uuid::Uuid::now_v7().to_string();
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO specific_prices (id, pricing_case_id, product_id, state, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(case.name.trim_start_matches("pricingCases/"))
    .bind(product_id)
    .bind(SpecificPriceState::Draft as i16)
    .bind(p.encode_to_vec())
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
    let response = CreateSpecificPriceResponse {
        specific_price: Some(created),
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
    p: &SpecificPrice,
) -> Result<SpecificPrice, Status> {
    let updated: Row = pdop_kit::handling::save_state_body(tx, &row.id, p.state, p.encode_to_vec())
        .await
        .map_err(|e| ctx.db(e))?;
    Ok(updated.to_proto())
}

/// Flags the PUBLISHED prices of `product` in `case_id` that a newly published cap of `cap_amount` leaves
/// above it (N1 §二: prices stay at or below the cap; the operator must publish a compliant one) and returns
/// their names. Prices are locked in id order, before the caller's audit row.
pub async fn flag_above_cap(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    case_id: &str,
    product: &str,
    cap_amount: Cny,
) -> Result<Vec<String>, Status> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM specific_prices
         WHERE pricing_case_id = $1 AND product_id = $2 AND state = $3 ORDER BY id FOR UPDATE"
    ))
    .bind(case_id)
    .bind(product.trim_start_matches("products/"))
    .bind(SpecificPriceState::Published as i16)
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let mut flagged = Vec::new();
    for row in &rows {
        let mut p = row.to_proto();
        let amount = decimals::stored_required(ctx, p.amount.as_ref(), &p.name, "amount")?;
        if amount > cap_amount && !p.exceeds_cap {
            p.exceeds_cap = true;
            flagged.push(save(ctx, tx, row, &p).await?.name);
        } else if p.exceeds_cap {
            flagged.push(p.name);
        }
    }
    Ok(flagged)
}

pub async fn publish(
    ctx: &Ctx,
    caller: &Caller,
    req: PublishSpecificPriceRequest,
) -> Result<PublishSpecificPriceResponse, Status> {
    const METHOD: &str = "pricing.PublishSpecificPrice";
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.locked(&mut tx, &req.name, &req.etag).await?;
    let mut p = row.to_proto();
    let case = cases::fetch(
        ctx,
        &mut tx,
        &p.pricing_case,
        "specific_price.pricing_case",
        false,
    )
    .await?
    .1;
    if caller.organization != case.operator {
        return Err(ctx
            .errors()
            .permission_denied("NOT_THE_OPERATOR", "prices are published by the case's operator"));
    }
    ctx.require_state(&p.name, state_of(&p), &[SpecificPriceState::Draft], "publication")?;
    if p.publication_channels.is_empty() {
        return Err(ctx.errors().failed_precondition(
            "NO_CHANNEL",
            "say where the price is posted (明码标价, N1 §五) before publishing it",
        ));
    }
    // The cap may have changed since the draft.
    if p.kind == SpecificPriceKind::Standard as i32 {
        let cap = published_cap(ctx, &mut tx, &case, &p.product)
            .await?
            .ok_or_else(|| {
                ctx.errors()
                    .failed_precondition("NO_PUBLISHED_CAP", "the product's cap is no longer published")
            })?;
        let amount = decimals::stored_required(ctx, p.amount.as_ref(), &p.name, "amount")?;
        check_cap(ctx, &p, amount, &cap)?;
        p.cap_price = cap.name;
        p.cap_amount = cap.cap_amount;
    }
    if !p.supersedes.is_empty() {
        let old: Row = ctx.locked(&mut tx, &p.supersedes, "").await?;
        let mut previous = old.to_proto();
        previous.state = SpecificPriceState::Superseded as i32;
        previous.superseded_by = p.name.clone();
        save(ctx, &mut tx, &old, &previous).await?;
    }
    let now = Utc::now();
    p.state = SpecificPriceState::Published as i32;
    p.publish_time = Some(timestamp(now));
    let saved = save(ctx, &mut tx, &row, &p).await?;
    let event = ev::SpecificPricePublished {
        specific_price: Some(ev::SpecificPriceSnapshot {
            name: saved.name.clone(),
            pricing_case: saved.pricing_case.clone(),
            product: saved.product.clone(),
            product_display_name: saved.product_display_name.clone(),
            operator: Some(pdop_proto::common::OrganizationRef {
                name: case.operator.clone(),
                ..Default::default()
            }),
            jurisdiction: Some(pdop_proto::common::JurisdictionRef {
                name: case.jurisdiction.clone(),
                ..Default::default()
            }),
            use_class: saved.use_class,
            kind: saved.kind,
            cap_price: saved.cap_price.clone(),
            cap_amount: saved.cap_amount.clone(),
            free_provision: saved.free_provision,
            billing_unit: saved.billing_unit,
            unit_label: saved.unit_label.clone(),
            amount: saved.amount.clone(),
            free_use_terms: saved.free_use_terms.clone(),
            effective_period: saved.effective_period,
            publication_channels: saved.publication_channels.clone(),
            supersedes: saved.supersedes.clone(),
            adjustment_reason: saved.adjustment_reason.clone(),
            state: saved.state,
        }),
        publish_time: Some(timestamp(now)),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "PUBLISHED" }),
        ("pdop.pricing.specific_price.published", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(PublishSpecificPriceResponse {
        specific_price: Some(saved),
    })
}

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetSpecificPriceRequest,
) -> Result<GetSpecificPriceResponse, Status> {
    let mut tx = ctx.begin().await?;
    let row: Row = ctx.find(&mut tx, &req.name, "name").await?;
    let p = row.to_proto();
    if state_of(&p) == SpecificPriceState::Draft {
        let case = cases::fetch(
            ctx,
            &mut tx,
            &p.pricing_case,
            "specific_price.pricing_case",
            false,
        )
        .await?
        .1;
        if !may_read(caller, &case) {
            return Err(ctx.errors().not_found("SPECIFIC_PRICE_NOT_FOUND", &req.name));
        }
    }
    Ok(GetSpecificPriceResponse {
        specific_price: Some(p),
    })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListSpecificPricesRequest,
) -> Result<ListSpecificPricesResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let case = optional_name(&req.pricing_case, cases::COLLECTION, "pricing_case", &mut v);
    let product = optional_name(&req.product, "products", "product", &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    v.into_result(ctx.errors())?;
    let own = caller
        .organization
        .trim_start_matches("organizations/")
        .to_owned();
    // Drafts only to the case's operator and authorizing entity; published prices to everyone.
    let mut rows = sqlx::query_as::<_, Row>(
        "SELECT p.id, p.body, p.create_time, p.update_time, p.version FROM specific_prices p
         JOIN pricing_cases c ON c.id = p.pricing_case_id
         WHERE ($1::text IS NULL OR p.id > $1)
           AND ($2::text IS NULL OR c.id = $2)
           AND ($3::text IS NULL OR p.product_id = $3)
           AND ($4::text IS NULL OR c.operator_id = $4)
           AND ($5::smallint = 0 OR p.state = $5)
           AND (p.state <> $6 OR c.operator_id = $7 OR c.authorizing_entity_id = $7)
         ORDER BY p.id LIMIT $8",
    )
    .bind(after)
    .bind(case)
    .bind(product)
    .bind(operator)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(SpecificPriceState::Draft as i16)
    .bind(own)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    let mut prices: Vec<SpecificPrice> = rows.iter().map(Row::to_proto).collect();
    if req.exceeds_cap {
        prices.retain(|p| p.exceeds_cap);
    }
    Ok(ListSpecificPricesResponse {
        specific_prices: prices,
        next_page_token,
    })
}
