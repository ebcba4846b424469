//! `CreateCapPrice`, `SetCapPrice`, `PublishCapPrice`, `GetCapPrice`, `ListCapPrices`.

use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::pricing::v1 as pb;
use pdop_proto::pricing::v1::CapPriceState;

use crate::context::Ctx;
use crate::domain::error::stored_required;
use crate::domain::{self, Error, ErrorReason, caps};
use crate::storage;

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateCapPriceRequest,
) -> Result<pb::CreateCapPriceResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut c = req.cap_price.unwrap_or_default();
    let mut v = Violations::new();
    if pdop_kit::names::parse(&c.product, "products").is_none() {
        v.add("cap_price.product", pdop_kit::names::expected("products"));
    }
    let terms = caps::check_fields(&c, &mut v);
    let (Some(terms), true) = (terms, v.is_empty()) else {
        return Err(Error::Invalid(v));
    };
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let case = storage::cases::get(u.tx, &c.pricing_case, "cap_price.pricing_case", true).await?;
            caps::may_draft(&u.call.caller, &c, &case)?;
            super::in_scope(u.tx, &u.call.caller, &case).await?;
            let product = storage::products::get(u.tx, &c.product).await?;
            let id = storage::new_id();
            c.name = format!("{}/{id}", caps::COLLECTION);
            let change = caps::create(&mut c, &case, &product, terms)?;
            let created = storage::caps::insert(
                u.tx,
                &id,
                &c,
                &product.id,
                terms.expected.as_decimal(),
                u.call.now,
            )
            .await?;
            Ok(change.into_write(pb::CreateCapPriceResponse {
                cap_price: Some(created),
            }))
        })
    })
    .await
}

pub async fn set(
    ctx: &Ctx,
    call: Call,
    req: pb::SetCapPriceRequest,
) -> Result<pb::SetCapPriceResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    if req.written_report.as_ref().is_none_or(|d| d.uri.is_empty()) {
        return Err(Error::invalid(
            "written_report",
            "must reference the written report to the pricing and data authorities (N1 §二)",
        ));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = storage::caps::lock(u.tx, &req.name, &req.etag).await?;
            let case = storage::cases::get(u.tx, &c.pricing_case, "name", true).await?;
            caps::may_set_cap(&u.call.caller, &c, &case, &req.reported_to)?;
            super::in_scope(u.tx, &u.call.caller, &case).await?;
            let counted = storage::caps::counted(u.tx, &c).await?;
            let check = caps::revenue_check(&case, &c, counted)?;
            let change = caps::set(&mut c, &case, u.call, req.written_report, req.reported_to, &check)?;
            let saved = storage::caps::save(u.tx, &c, u.call.now).await?;
            Ok(change.into_write(pb::SetCapPriceResponse {
                cap_price: Some(saved),
                check: Some(check),
            }))
        })
    })
    .await
}

pub async fn publish(
    ctx: &Ctx,
    call: Call,
    req: pb::PublishCapPriceRequest,
) -> Result<pb::PublishCapPriceResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let now = u.call.now;
            let mut c = storage::caps::lock(u.tx, &req.name, &req.etag).await?;
            let mut case = storage::cases::get(u.tx, &c.pricing_case, "name", true).await?;
            caps::may_publish(&u.call.caller, &c, &case)?;
            super::in_scope(u.tx, &u.call.caller, &case).await?;
            if !c.supersedes.is_empty() {
                let mut old = storage::caps::lock(u.tx, &c.supersedes, "").await?;
                caps::supersede(&mut old, &c.name);
                storage::caps::save(u.tx, &old, now).await?;
            }
            let cap_amount = stored_required(c.cap_amount.as_ref(), &c.name, "cap_amount")?;
            let case_id = storage::id_of(&case.name, storage::cases::COLLECTION, "name")?.to_owned();
            let mut above = Vec::new();
            for mut p in storage::prices::lock_published_of(u.tx, &case_id, &c.product).await? {
                let (flagged, changed) = domain::prices::flag_above_cap(&mut p, cap_amount)?;
                if changed {
                    storage::prices::save(u.tx, &p, now).await?;
                }
                if flagged {
                    above.push(p.name);
                }
            }
            let was = case.state;
            let change = caps::publish(&mut c, &mut case, u.call, above.clone())?;
            let saved = storage::caps::save(u.tx, &c, now).await?;
            if case.state != was {
                storage::cases::save(u.tx, &case, now).await?;
            }
            Ok(change.into_write(pb::PublishCapPriceResponse {
                cap_price: Some(saved),
                specific_prices_above_cap: above,
            }))
        })
    })
    .await
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetCapPriceRequest,
) -> Result<pb::GetCapPriceResponse, Error> {
    let pool = &ctx.platform.pool;
    let c = storage::caps::read(pool, &req.name).await?;
    let public = matches!(
        caps::state_of(&c),
        CapPriceState::Published | CapPriceState::Superseded | CapPriceState::Ended
    );
    if !public {
        let case = storage::cases::read(pool, &c.pricing_case, "name").await?;
        if !domain::case::may_read(&call.caller, &case) {
            return Err(Error::not_found(ErrorReason::CapPriceNotFound, &req.name));
        }
    }
    Ok(pb::GetCapPriceResponse { cap_price: Some(c) })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListCapPricesRequest,
) -> Result<pb::ListCapPricesResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let case = optional_name(
        &req.pricing_case,
        storage::cases::COLLECTION,
        "pricing_case",
        &mut v,
    );
    let product = optional_name(&req.product, "products", "product", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let caller = &call.caller;
    let all = [Role::PricingAuthority, Role::DataAuthority, Role::Auditor]
        .iter()
        .any(|r| caller.has_role(*r));
    let own = (!all).then(|| {
        caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned()
    });
    let (cap_prices, next_page_token) = storage::caps::list(
        &ctx.platform.pool,
        storage::caps::Filter {
            after,
            case,
            product,
            state: req.state,
            own,
            size,
        },
    )
    .await?;
    Ok(pb::ListCapPricesResponse {
        cap_prices,
        next_page_token,
    })
}

/// `UpdateCapPrice`: changes the masked fields of a DRAFT cap (AIP-134, AIP-154).
pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateCapPriceRequest,
) -> Result<pb::UpdateCapPriceResponse, Error> {
    let from = req.cap_price.unwrap_or_default();
    let (mask, etag) = super::update_envelope(
        "cap_price",
        &from.name,
        caps::COLLECTION,
        req.update_mask.as_ref(),
        caps::MUTABLE,
        |p| caps::populated(&from, p),
        (req.etag, &from.etag),
    )?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = storage::caps::lock(u.tx, &from.name, &etag).await?;
            let case = storage::cases::get(u.tx, &c.pricing_case, "cap_price.pricing_case", true).await?;
            super::in_scope(u.tx, &u.call.caller, &case).await?;
            let change = caps::update(&mut c, &case, &u.call.caller, from, &mask)?;
            let saved = storage::caps::save(u.tx, &c, u.call.now).await?;
            Ok(change.into_write(pb::UpdateCapPriceResponse {
                cap_price: Some(saved),
            }))
        })
    })
    .await
}
