//! Specific prices (具体收费标准, N1 §二): the operator's actual price per product, at or below the published
//! cap, posted publicly (明码标价, N1 §五). Before a fee standard exists (TRIAL and the assessment and cost
//! investigation that follow) the operator sets trial prices (试行收费标准) under the authorizing entity's
//! guidance. The one transition table of a price lives here.

use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{BillingUnit, UseClass};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{
    CapPrice, FreeProvisionBasis, PricingCase, PricingCaseState, SpecificPrice, SpecificPriceKind,
    SpecificPriceState,
};
use pdop_rules::Cny;

use super::case::{self, Product};
use super::ending::{EndReason, period_over};
use super::error::{Error, ErrorReason, require_state, stored_required};
use super::mask::Mask;

pub const COLLECTION: &str = "specificPrices";

pub fn state_of(p: &SpecificPrice) -> SpecificPriceState {
    SpecificPriceState::try_from(p.state).unwrap_or_default()
}

/// Prices are set and published by the case's operator; `doing` says which ("set", "published").
pub fn may_price(caller: &Caller, case: &PricingCase, doing: &str) -> Result<(), Error> {
    if caller.organization == case.operator {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::NotTheOperator,
        format!("prices are {doing} by the case's operator"),
    ))
}

/// Whether the price gives a free-provision basis.
pub fn free(p: &SpecificPrice) -> bool {
    FreeProvisionBasis::try_from(p.free_provision).unwrap_or_default() != FreeProvisionBasis::Unspecified
}

/// Checks the caller-given fields of a price, adding a violation on `specific_price.<field>` for each fault;
/// the amount when it reads.
pub fn check_fields(p: &SpecificPrice, v: &mut Violations) -> Option<Cny> {
    if BillingUnit::try_from(p.billing_unit).unwrap_or_default() == BillingUnit::Unspecified {
        v.add("specific_price.billing_unit", "must say what is charged for");
    }
    let amount = crate::decimals::money(p.amount.as_ref(), "specific_price.amount", v);
    if amount.is_some_and(|a| a.is_negative() || a.as_decimal().scale() > 4) {
        v.add(
            "specific_price.amount",
            "must be at least 0 with at most 4 fraction digits",
        );
    }
    if free(p) && amount.is_some_and(|a| !a.is_zero()) {
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
    amount
}

/// N1 §二: 运营机构在不高于上限收费标准的范围内，确定具体收费标准.
pub fn check_cap(p: &SpecificPrice, amount: Cny, cap: &CapPrice) -> Result<(), Error> {
    if p.billing_unit != cap.billing_unit {
        return Err(Error::invalid(
            "specific_price.billing_unit",
            format!("must equal the cap's billing unit ({})", cap.unit_label),
        ));
    }
    let limit = stored_required(cap.cap_amount.as_ref(), &cap.name, "cap_amount")?;
    if amount > limit {
        return Err(Error::refused(
            ErrorReason::PriceAboveCap,
            format!(
                "{amount} is above the cap {limit} of {} (N1 §二: 不高于上限收费标准)",
                cap.name
            ),
        ));
    }
    Ok(())
}

/// A trial price, a standard price checked against `cap` (the product's PUBLISHED cap, if any), or a refusal,
/// by the state of the case.
fn fix_kind(
    p: &mut SpecificPrice,
    case: &PricingCase,
    amount: Cny,
    cap: Option<&CapPrice>,
) -> Result<(), Error> {
    match case::state_of(case) {
        PricingCaseState::Settled => Err(Error::refused(
            ErrorReason::CaseSettled,
            format!("{} is settled", case.name),
        )),
        // No fee standard yet: a trial price under the authorizing entity's guidance (N1 §二).
        PricingCaseState::Trial | PricingCaseState::Applied | PricingCaseState::CostInvestigation => {
            if p.guidance_document.as_ref().is_none_or(|d| d.uri.is_empty()) {
                return Err(Error::invalid(
                    "specific_price.guidance_document",
                    "a trial price (试行收费标准) rests on the authorizing entity's guidance",
                ));
            }
            p.kind = SpecificPriceKind::Trial as i32;
            p.cap_price.clear();
            p.cap_amount = None;
            Ok(())
        }
        _ => {
            let cap = cap.ok_or_else(|| {
                Error::refused(
                    ErrorReason::NoPublishedCap,
                    format!(
                        "{} has no published cap yet; the price follows the cap",
                        p.product
                    ),
                )
            })?;
            check_cap(p, amount, cap)?;
            p.kind = SpecificPriceKind::Standard as i32;
            p.cap_price = cap.name.clone();
            p.cap_amount = cap.cap_amount.clone();
            Ok(())
        }
    }
}

/// A new DRAFT price of `product` in `case`: a trial price, or one at or below the product's published `cap`.
pub fn create(
    p: &mut SpecificPrice,
    case: &PricingCase,
    product: &Product,
    amount: Cny,
    cap: Option<&CapPrice>,
) -> Result<Change, Error> {
    case::priceable(product, &p.product, case, free(p), "specific_price")?;
    p.product_display_name = product.display_name.clone();
    p.use_class = i32::from(product.use_class);
    fix_kind(p, case, amount, cap)?;
    p.state = SpecificPriceState::Draft as i32;
    p.exceeds_cap = false;
    p.publish_time = None;
    p.superseded_by.clear();
    Ok(Change::new(&p.name, serde_json::json!({ "product": p.product })))
}

/// Checks a publication before the cap is read again.
pub fn may_publish(caller: &Caller, p: &SpecificPrice, case: &PricingCase) -> Result<(), Error> {
    may_price(caller, case, "published")?;
    require_state(&p.name, state_of(p), &[SpecificPriceState::Draft], "publication")?;
    if p.publication_channels.is_empty() {
        return Err(Error::refused(
            ErrorReason::NoChannel,
            "say where the price is posted (明码标价, N1 §五) before publishing it",
        ));
    }
    Ok(())
}

/// Publishes a DRAFT price (公示, 明码标价, N1 §五), a standard one re-checked against the product's currently
/// published `cap`, since the cap may have changed since the draft.
pub fn publish(
    p: &mut SpecificPrice,
    case: &PricingCase,
    call: &Call,
    cap: Option<CapPrice>,
) -> Result<Change<ev::SpecificPricePublished>, Error> {
    may_publish(&call.caller, p, case)?;
    if p.kind == SpecificPriceKind::Standard as i32 {
        let cap = cap.ok_or_else(|| {
            Error::refused(
                ErrorReason::NoPublishedCap,
                "the product's cap is no longer published",
            )
        })?;
        let amount = stored_required(p.amount.as_ref(), &p.name, "amount")?;
        check_cap(p, amount, &cap)?;
        p.cap_price = cap.name;
        p.cap_amount = cap.cap_amount;
    }
    p.state = SpecificPriceState::Published as i32;
    p.publish_time = Some(timestamp(call.now));
    let event = ev::SpecificPricePublished {
        specific_price: Some(snapshot(p, case)),
        publish_time: Some(timestamp(call.now)),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&p.name, serde_json::json!({ "state": "PUBLISHED" })).announce(event))
}

/// The price `by` adjusts becomes SUPERSEDED when `by` is published.
pub fn supersede(old: &mut SpecificPrice, by: &str) {
    old.state = SpecificPriceState::Superseded as i32;
    old.superseded_by = by.to_owned();
}

/// Flags a PUBLISHED price that a newly published cap of `cap_amount` leaves above it (N1 §二: prices stay at
/// or below the cap; the operator must publish a compliant one). Returns whether it is flagged and whether
/// that changed it.
pub fn flag_above_cap(p: &mut SpecificPrice, cap_amount: Cny) -> Result<(bool, bool), Error> {
    let amount = stored_required(p.amount.as_ref(), &p.name, "amount")?;
    if amount > cap_amount && !p.exceeds_cap {
        p.exceeds_cap = true;
        return Ok((true, true));
    }
    Ok((p.exceeds_cap, false))
}

pub fn snapshot(p: &SpecificPrice, case: &PricingCase) -> ev::SpecificPriceSnapshot {
    ev::SpecificPriceSnapshot {
        name: p.name.clone(),
        pricing_case: p.pricing_case.clone(),
        product: p.product.clone(),
        product_display_name: p.product_display_name.clone(),
        operator: Some(pdop_proto::common::OrganizationRef {
            name: case.operator.clone(),
            ..Default::default()
        }),
        jurisdiction: Some(pdop_proto::common::JurisdictionRef {
            name: case.jurisdiction.clone(),
            ..Default::default()
        }),
        use_class: p.use_class,
        kind: p.kind,
        cap_price: p.cap_price.clone(),
        cap_amount: p.cap_amount.clone(),
        free_provision: p.free_provision,
        billing_unit: p.billing_unit,
        unit_label: p.unit_label.clone(),
        amount: p.amount.clone(),
        free_use_terms: p.free_use_terms.clone(),
        effective_period: p.effective_period,
        publication_channels: p.publication_channels.clone(),
        supersedes: p.supersedes.clone(),
        adjustment_reason: p.adjustment_reason.clone(),
        state: p.state,
    }
}

/// The fields `UpdateSpecificPrice` may change; `pricing_case` and `product` name what the price is of and stay.
pub const MUTABLE: &[&str] = &[
    "free_provision",
    "billing_unit",
    "unit_label",
    "amount",
    "free_use_terms",
    "effective_period",
    "guidance_document",
    "publication_channels",
    "supersedes",
    "adjustment_reason",
    "annual_check",
];

/// Whether the update request sets `path` (for an update without a mask).
pub fn populated(p: &SpecificPrice, path: &str) -> bool {
    match path {
        "free_provision" => p.free_provision != 0,
        "billing_unit" => p.billing_unit != 0,
        "unit_label" => !p.unit_label.is_empty(),
        "amount" => p.amount.is_some(),
        "free_use_terms" => !p.free_use_terms.is_empty(),
        "effective_period" => p.effective_period.is_some(),
        "guidance_document" => p.guidance_document.is_some(),
        "publication_channels" => !p.publication_channels.is_empty(),
        "supersedes" => !p.supersedes.is_empty(),
        "adjustment_reason" => !p.adjustment_reason.is_empty(),
        "annual_check" => !p.annual_check.is_empty(),
        _ => false,
    }
}

/// Changes the masked fields of a DRAFT price (`UpdateSpecificPrice`); the result is checked as a new price is:
/// a standard price against the product's published `cap`, a trial price for its guidance.
pub fn update(
    p: &mut SpecificPrice,
    case: &PricingCase,
    caller: &Caller,
    from: SpecificPrice,
    mask: &Mask,
    cap: Option<&CapPrice>,
) -> Result<Change, Error> {
    may_price(caller, case, "set")?;
    require_state(&p.name, state_of(p), &[SpecificPriceState::Draft], "an update")?;
    for path in mask.paths() {
        match path {
            "free_provision" => p.free_provision = from.free_provision,
            "billing_unit" => p.billing_unit = from.billing_unit,
            "unit_label" => p.unit_label = from.unit_label.clone(),
            "amount" => p.amount = from.amount.clone(),
            "free_use_terms" => p.free_use_terms = from.free_use_terms.clone(),
            "effective_period" => p.effective_period = from.effective_period,
            "guidance_document" => p.guidance_document = from.guidance_document.clone(),
            "publication_channels" => p.publication_channels = from.publication_channels.clone(),
            "supersedes" => p.supersedes = from.supersedes.clone(),
            "adjustment_reason" => p.adjustment_reason = from.adjustment_reason.clone(),
            "annual_check" => p.annual_check = from.annual_check.clone(),
            other => {
                return Err(Error::Internal(anyhow::anyhow!(
                    "update_mask path {other} is listed as mutable but has no field"
                )));
            }
        }
    }
    let mut v = Violations::new();
    let amount = check_fields(p, &mut v);
    // N1 §一: a public-governance product stays free whatever is changed.
    if p.use_class == UseClass::PublicGovernance as i32 && !free(p) {
        v.add(
            "specific_price.free_provision",
            "a public-governance / public-welfare product is free (N1 §一): give the basis and a charge of 0",
        );
    }
    let (Some(amount), true) = (amount, v.is_empty()) else {
        return Err(Error::Invalid(v));
    };
    if p.kind == SpecificPriceKind::Trial as i32 {
        if p.guidance_document.as_ref().is_none_or(|d| d.uri.is_empty()) {
            return Err(Error::invalid(
                "specific_price.guidance_document",
                "a trial price (试行收费标准) rests on the authorizing entity's guidance",
            ));
        }
    } else {
        let cap = cap.ok_or_else(|| {
            Error::refused(
                ErrorReason::NoPublishedCap,
                format!("{} has no published cap; the price follows the cap", p.product),
            )
        })?;
        check_cap(p, amount, cap)?;
        p.cap_price = cap.name.clone();
        p.cap_amount = cap.cap_amount.clone();
    }
    let paths: Vec<&str> = mask.paths().collect();
    Ok(Change::new(&p.name, serde_json::json!({ "update_mask": paths })))
}

/// Ends a PUBLISHED price (已终止): its product was withdrawn, or its effective period is over.
pub fn end(
    p: &mut SpecificPrice,
    case: &PricingCase,
    call: &Call,
    reason: EndReason,
) -> Result<Change<ev::SpecificPriceEnded>, Error> {
    require_state(&p.name, state_of(p), &[SpecificPriceState::Published], "ending")?;
    if reason == EndReason::PeriodOver && !period_over(p.effective_period.as_ref(), call.today()) {
        return Err(Error::refused(
            ErrorReason::WrongState,
            format!("{} applies until the end of its effective period", p.name),
        ));
    }
    p.state = SpecificPriceState::Ended as i32;
    let event = ev::SpecificPriceEnded {
        specific_price: Some(snapshot(p, case)),
        reason: reason.as_str().to_owned(),
        end_time: Some(timestamp(call.now)),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(
        &p.name,
        serde_json::json!({ "state": "ENDED", "reason": reason.as_str() }),
    )
    .announce(event))
}

#[cfg(test)]
#[path = "prices_tests.rs"]
mod tests;
