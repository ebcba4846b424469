//! `CreateSpecificPrice`, `PublishSpecificPrice`, `GetSpecificPrice`, `ListSpecificPrices`.

use pdop_kit::Violations;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::pricing::v1 as pb;
use pdop_proto::pricing::v1::SpecificPriceState;

use crate::context::Ctx;
use crate::domain::{self, Error, ErrorReason, prices};
use crate::storage;

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateSpecificPriceRequest,
) -> Result<pb::CreateSpecificPriceResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut p = req.specific_price.unwrap_or_default();
    let mut v = Violations::new();
    if pdop_kit::names::parse(&p.product, "products").is_none() {
        v.add("specific_price.product", pdop_kit::names::expected("products"));
    }
    let amount = prices::check_fields(&p, &mut v);
    let (Some(amount), true) = (amount, v.is_empty()) else {
        return Err(Error::Invalid(v));
    };
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let field = "specific_price.pricing_case";
            let case = storage::cases::get(u.tx, &p.pricing_case, field, false).await?;
            prices::may_price(&u.call.caller, &case, "set")?;
            let product = storage::products::get(u.tx, &p.product).await?;
            let case_id = storage::id_of(&case.name, storage::cases::COLLECTION, field)?.to_owned();
            let cap = storage::caps::published_of(u.tx, &case_id, &p.product).await?;
            let id = storage::new_id();
            p.name = format!("{}/{id}", prices::COLLECTION);
            let change = prices::create(&mut p, &case, &product, amount, cap.as_ref())?;
            let created = storage::prices::insert(u.tx, &id, &p, &case_id, &product.id, u.call.now).await?;
            Ok(change.into_write(pb::CreateSpecificPriceResponse {
                specific_price: Some(created),
            }))
        })
    })
    .await
}

pub async fn publish(
    ctx: &Ctx,
    call: Call,
    req: pb::PublishSpecificPriceRequest,
) -> Result<pb::PublishSpecificPriceResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let now = u.call.now;
            let field = "specific_price.pricing_case";
            let mut p = storage::prices::lock(u.tx, &req.name, &req.etag).await?;
            let case = storage::cases::get(u.tx, &p.pricing_case, field, false).await?;
            prices::may_publish(&u.call.caller, &p, &case)?;
            let case_id = storage::id_of(&case.name, storage::cases::COLLECTION, field)?.to_owned();
            let cap = storage::caps::published_of(u.tx, &case_id, &p.product).await?;
            let change = prices::publish(&mut p, &case, u.call, cap)?;
            if !p.supersedes.is_empty() {
                let mut old = storage::prices::lock(u.tx, &p.supersedes, "").await?;
                prices::supersede(&mut old, &p.name);
                storage::prices::save(u.tx, &old, now).await?;
            }
            let saved = storage::prices::save(u.tx, &p, now).await?;
            Ok(change.into_write(pb::PublishSpecificPriceResponse {
                specific_price: Some(saved),
            }))
        })
    })
    .await
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetSpecificPriceRequest,
) -> Result<pb::GetSpecificPriceResponse, Error> {
    let pool = &ctx.platform.pool;
    let p = storage::prices::read(pool, &req.name).await?;
    if prices::state_of(&p) == SpecificPriceState::Draft {
        let case = storage::cases::read(pool, &p.pricing_case, "specific_price.pricing_case").await?;
        if !domain::case::may_read(&call.caller, &case) {
            return Err(Error::not_found(ErrorReason::SpecificPriceNotFound, &req.name));
        }
    }
    Ok(pb::GetSpecificPriceResponse {
        specific_price: Some(p),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListSpecificPricesRequest,
) -> Result<pb::ListSpecificPricesResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let case = optional_name(
        &req.pricing_case,
        storage::cases::COLLECTION,
        "pricing_case",
        &mut v,
    );
    let product = optional_name(&req.product, "products", "product", &mut v);
    let operator = optional_name(&req.operator, "organizations", "operator", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let own = call
        .caller
        .organization
        .trim_start_matches("organizations/")
        .to_owned();
    let (mut specific_prices, next_page_token) = storage::prices::list(
        &ctx.platform.pool,
        storage::prices::Filter {
            after,
            case,
            product,
            operator,
            state: req.state,
            own,
            size,
        },
    )
    .await?;
    if req.exceeds_cap {
        specific_prices.retain(|p| p.exceeds_cap);
    }
    Ok(pb::ListSpecificPricesResponse {
        specific_prices,
        next_page_token,
    })
}

/// `UpdateSpecificPrice`: changes the masked fields of a DRAFT price (AIP-134, AIP-154).
pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateSpecificPriceRequest,
) -> Result<pb::UpdateSpecificPriceResponse, Error> {
    let from = req.specific_price.unwrap_or_default();
    let (mask, etag) = super::update_envelope(
        "specific_price",
        &from.name,
        prices::COLLECTION,
        req.update_mask.as_ref(),
        prices::MUTABLE,
        |p| prices::populated(&from, p),
        (req.etag, &from.etag),
    )?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let field = "specific_price.pricing_case";
            let mut p = storage::prices::lock(u.tx, &from.name, &etag).await?;
            let case = storage::cases::get(u.tx, &p.pricing_case, field, false).await?;
            let case_id = storage::id_of(&case.name, storage::cases::COLLECTION, field)?.to_owned();
            let cap = storage::caps::published_of(u.tx, &case_id, &p.product).await?;
            let change = prices::update(&mut p, &case, &u.call.caller, from, &mask, cap.as_ref())?;
            let saved = storage::prices::save(u.tx, &p, u.call.now).await?;
            Ok(change.into_write(pb::UpdateSpecificPriceResponse {
                specific_price: Some(saved),
            }))
        })
    })
    .await
}
