//! Specific prices (具体收费标准, N1 §二): the operator's actual price per product, at or below the published
//! cap, posted publicly (明码标价, N1 §五). Before a fee standard exists (TRIAL and the assessment and cost
//! investigation that follow) the operator sets trial prices (试行收费标准) under the authorizing entity's
//! guidance. The one transition table of a price lives here.

use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::BillingUnit;
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{
    CapPrice, FreeProvisionBasis, PricingCase, PricingCaseState, SpecificPrice, SpecificPriceKind,
    SpecificPriceState,
};
use pdop_rules::Cny;

use super::case::{self, Product};
use super::error::{Error, ErrorReason, require_state, stored_required};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::caps::tests::{call_by, cap_in, case, money, range};
    use pdop_proto::pricing::v1::CapPriceState;

    const OPERATOR: &str = "organizations/operator";

    fn price_in(state: SpecificPriceState) -> SpecificPrice {
        SpecificPrice {
            name: "specificPrices/s1".into(),
            pricing_case: "pricingCases/c1".into(),
            product: "products/api".into(),
            kind: SpecificPriceKind::Standard as i32,
            billing_unit: BillingUnit::PerCall as i32,
            unit_label: "元/次".into(),
            amount: money("1.20"),
            effective_period: range((2027, 1, 1), (2027, 12, 31)),
            publication_channels: vec!["https://market.example/api".into()],
            state: state as i32,
            ..Default::default()
        }
    }

    fn reason_of<T: std::fmt::Debug>(r: Result<T, Error>) -> Option<ErrorReason> {
        r.err().and_then(|e| e.reason())
    }

    fn in_effect() -> PricingCase {
        PricingCase {
            state: PricingCaseState::InEffect as i32,
            ..case()
        }
    }

    #[test]
    fn a_price_is_published_by_the_operator_at_or_below_the_cap() {
        // N1 §二: 不高于上限收费标准; the cap is read again at publication.
        let cap = cap_in(CapPriceState::Published);
        let r = publish(
            &mut price_in(SpecificPriceState::Draft),
            &in_effect(),
            &call_by("organizations/agency"),
            Some(cap.clone()),
        );
        assert_eq!(reason_of(r), Some(ErrorReason::NotTheOperator));
        let r = publish(
            &mut price_in(SpecificPriceState::Draft),
            &in_effect(),
            &call_by(OPERATOR),
            None,
        );
        assert_eq!(reason_of(r), Some(ErrorReason::NoPublishedCap));
        let mut lower = cap.clone();
        lower.cap_amount = money("1.00");
        let r = publish(
            &mut price_in(SpecificPriceState::Draft),
            &in_effect(),
            &call_by(OPERATOR),
            Some(lower),
        );
        assert_eq!(reason_of(r), Some(ErrorReason::PriceAboveCap));
        let r = publish(
            &mut price_in(SpecificPriceState::Published),
            &in_effect(),
            &call_by(OPERATOR),
            Some(cap.clone()),
        );
        assert_eq!(reason_of(r), Some(ErrorReason::WrongState));
        let mut p = price_in(SpecificPriceState::Draft);
        p.publication_channels.clear();
        let r = publish(&mut p, &in_effect(), &call_by(OPERATOR), Some(cap.clone()));
        assert_eq!(reason_of(r), Some(ErrorReason::NoChannel));
        let mut p = price_in(SpecificPriceState::Draft);
        publish(&mut p, &in_effect(), &call_by(OPERATOR), Some(cap.clone())).unwrap();
        assert_eq!(p.state, SpecificPriceState::Published as i32);
        assert_eq!(p.cap_price, cap.name);
    }

    #[test]
    fn a_lower_cap_flags_a_published_price_once() {
        let mut p = price_in(SpecificPriceState::Published);
        let lower = Cny::parse("1.00", "CNY").unwrap();
        assert_eq!(flag_above_cap(&mut p, lower).unwrap(), (true, true));
        assert_eq!(flag_above_cap(&mut p, lower).unwrap(), (true, false));
        let mut q = price_in(SpecificPriceState::Published);
        assert_eq!(
            flag_above_cap(&mut q, Cny::parse("2", "CNY").unwrap()).unwrap(),
            (false, false)
        );
    }
}
