//! Cap prices (上限收费标准, N1 §二, §三(二)): set by the authorizing entity per product and billing unit within
//! the approved MAR (Σ cap × expected volume ≤ MAR), reported in writing to the pricing and data authorities,
//! then published; ENDED when the product is withdrawn or the effective period is over. Free products
//! (公共治理、公益事业) have a cap of 0 (N1 §一: 免费提供). The one transition table of a cap lives here.

use std::str::FromStr;

use chrono::NaiveDate;
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{self, actor, optional_date, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{AuditInfo, BillingUnit, DocumentRef, Money, UseClass};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{
    CapPrice, CapPriceState, CapRevenueCheck, FreeProvisionBasis, PricingCase, PricingCaseState,
};
use pdop_rules::Cny;
use rust_decimal::Decimal;

use super::case::{self, Product};
use super::ending::{EndReason, period_over};
use super::error::{Error, ErrorReason, require_state, stored_required};
use super::mask::Mask;
use crate::formula::cents;

pub const COLLECTION: &str = "capPrices";

pub fn state_of(c: &CapPrice) -> CapPriceState {
    CapPriceState::try_from(c.state).unwrap_or_default()
}

/// The effective period, when both dates read.
pub fn effective(c: &CapPrice) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let p = c.effective_period.unwrap_or_default();
    (
        optional_date(p.start_date.as_ref()).ok().flatten(),
        optional_date(p.end_date.as_ref()).ok().flatten(),
    )
}

/// Caps are set by the case's authorizing entity (授权主体, N1 §二).
pub fn may_set(caller: &Caller, case: &PricingCase) -> Result<(), Error> {
    if caller.organization == case.authorizing_entity {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::NotTheAuthorizingEntity,
        format!(
            "caps of {} are set by {} (授权主体, N1 §二)",
            case.name, case.authorizing_entity
        ),
    ))
}

/// The amounts of a well-formed cap: its cap per unit and its expected revenue (cap × expected volume).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub cap: Cny,
    pub expected: Cny,
}

/// Checks the caller-given fields of a cap, adding a violation on `cap_price.<field>` for each fault.
pub fn check_fields(c: &CapPrice, v: &mut Violations) -> Option<Terms> {
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
    let cap = crate::decimals::money(c.cap_amount.as_ref(), "cap_price.cap_amount", v);
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
    if free(c) && cap.is_some_and(|a| !a.is_zero()) {
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
    let (from, to) = effective(c);
    if from.is_none() || to.is_none() || from > to {
        v.add("cap_price.effective_period", "needs a valid start and end");
    }
    Some(Terms {
        cap: cap?,
        expected: expected?,
    })
}

/// Whether the cap gives a free-provision basis.
pub fn free(c: &CapPrice) -> bool {
    FreeProvisionBasis::try_from(c.free_provision).unwrap_or_default() != FreeProvisionBasis::Unspecified
}

/// Whether `case` takes a new or changed cap of `c`'s effective period from `caller`.
pub fn may_draft(caller: &Caller, c: &CapPrice, case: &PricingCase) -> Result<(), Error> {
    may_set(caller, case)?;
    require_state(
        &case.name,
        case::state_of(case),
        &[PricingCaseState::RevenueApproved, PricingCaseState::InEffect],
        "setting caps",
    )?;
    let (from, to) = effective(c);
    let (case_from, case_to) = case::period(case);
    if from < case_from || to > case_to {
        return Err(Error::invalid(
            "cap_price.effective_period",
            "must lie within the case's pricing period",
        ));
    }
    Ok(())
}

/// A new DRAFT cap of `product` (checked with [`may_draft`] first): the output-only fields are filled and the
/// caller's cleared.
pub fn create(
    c: &mut CapPrice,
    case: &PricingCase,
    product: &Product,
    terms: Terms,
) -> Result<Change, Error> {
    case::priceable(product, &c.product, case, free(c), "cap_price")?;
    if product.withdrawn() {
        return Err(Error::refused(
            ErrorReason::ProductNotPriceable,
            format!("{} is not a current product of {}", c.product, case.operator),
        ));
    }
    c.pricing_case = case.name.clone();
    c.product_display_name = product.display_name.clone();
    c.use_class = i32::from(product.use_class);
    c.expected_revenue = Some(convert::money(terms.expected));
    c.state = CapPriceState::Draft as i32;
    c.written_report = None;
    c.reported_to.clear();
    c.set = None;
    c.publish_time = None;
    c.superseded_by.clear();
    Ok(Change::new(&c.name, serde_json::json!({ "product": c.product })))
}

/// What the database sums for the within-MAR check: the expected revenue of the case's SET and PUBLISHED caps,
/// and that of the PUBLISHED cap `c` supersedes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counted {
    pub set_and_published: Decimal,
    pub superseded: Decimal,
}

/// Σ expected revenue of the case's set and published caps (plus `adding`) against its annual MAR.
pub fn revenue_check(
    case: &PricingCase,
    adding: &CapPrice,
    counted: Counted,
) -> Result<CapRevenueCheck, Error> {
    let own =
        stored_required(adding.expected_revenue.as_ref(), &adding.name, "expected_revenue")?.as_decimal();
    let mar = stored_required(
        case.max_allowed_revenue.as_ref(),
        &case.name,
        "max_allowed_revenue",
    )?
    .as_decimal();
    // Sums of bounded amounts over one case's caps: far inside `Decimal`, checked all the same.
    let (total, headroom) = counted
        .set_and_published
        .checked_add(own)
        .and_then(|t| t.checked_sub(counted.superseded))
        .map(cents)
        .and_then(|total| Some((total, mar.checked_sub(total)?)))
        .ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
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

fn cny(d: Decimal) -> Option<Money> {
    Some(Money {
        amount: d.to_string(),
        currency: "CNY".to_owned(),
    })
}

/// Checks a SET request before the sums are read: the caller, the cap's state and the authorities reported to.
pub fn may_set_cap(
    caller: &Caller,
    c: &CapPrice,
    case: &PricingCase,
    reported_to: &[String],
) -> Result<(), Error> {
    may_set(caller, case)?;
    require_state(&c.name, state_of(c), &[CapPriceState::Draft], "setting")?;
    for authority in [&case.pricing_authority, &case.data_authority] {
        if !reported_to.contains(authority) {
            return Err(Error::invalid(
                "reported_to",
                format!("must include {authority}: caps are reported to both authorities (N1 §二)"),
            ));
        }
    }
    Ok(())
}

/// Sets a DRAFT cap (制定) within the MAR, reported in writing to both authorities (N1 §二).
pub fn set(
    c: &mut CapPrice,
    case: &PricingCase,
    call: &Call,
    written_report: Option<DocumentRef>,
    reported_to: Vec<String>,
    check: &CapRevenueCheck,
) -> Result<Change<ev::CapPriceSet>, Error> {
    may_set_cap(&call.caller, c, case, &reported_to)?;
    if !check.within {
        let amount = |m: &Option<Money>| m.as_ref().map(|m| m.amount.clone()).unwrap_or_default();
        return Err(Error::refused(
            ErrorReason::CapRevenueExceedsMar,
            format!(
                "Σ cap × expected volume would be {}, above the MAR of {} (N1 §二: 在最高准许收入范围内)",
                amount(&check.total_expected_revenue),
                amount(&check.max_allowed_revenue)
            ),
        ));
    }
    c.state = CapPriceState::Set as i32;
    c.written_report = written_report;
    c.reported_to = reported_to;
    c.set = Some(AuditInfo {
        actor: Some(actor(&call.caller)),
        time: Some(timestamp(call.now)),
        ..Default::default()
    });
    let event = ev::CapPriceSet {
        cap_price: Some(snapshot(c, case)),
        total_expected_revenue: check.total_expected_revenue.clone(),
        max_allowed_revenue: check.max_allowed_revenue.clone(),
        reported_to: c
            .reported_to
            .iter()
            .map(|name| pdop_proto::common::OrganizationRef {
                name: name.clone(),
                ..Default::default()
            })
            .collect(),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&c.name, serde_json::json!({ "state": "SET" })).announce(event))
}

/// Checks a publication before the superseded cap and the prices are touched.
pub fn may_publish(caller: &Caller, c: &CapPrice, case: &PricingCase) -> Result<(), Error> {
    may_set(caller, case)?;
    require_state(&c.name, state_of(c), &[CapPriceState::Set], "publication")
}

/// The cap `by` adjusts becomes SUPERSEDED when `by` is published.
pub fn supersede(old: &mut CapPrice, by: &str) {
    old.state = CapPriceState::Superseded as i32;
    old.superseded_by = by.to_owned();
}

/// Publishes a SET cap (公开, N4); the case it first takes effect in becomes IN_EFFECT. `above` are the
/// PUBLISHED prices of the product it leaves above it.
pub fn publish(
    c: &mut CapPrice,
    case: &mut PricingCase,
    call: &Call,
    above: Vec<String>,
) -> Result<Change<ev::CapPricePublished>, Error> {
    may_publish(&call.caller, c, case)?;
    c.state = CapPriceState::Published as i32;
    c.publish_time = Some(timestamp(call.now));
    if case::state_of(case) == PricingCaseState::RevenueApproved {
        case.state = PricingCaseState::InEffect as i32;
    }
    let event = ev::CapPricePublished {
        cap_price: Some(snapshot(c, case)),
        publish_time: Some(timestamp(call.now)),
        specific_prices_above_cap: above,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(
        &c.name,
        serde_json::json!({ "state": "PUBLISHED", "case": case.name }),
    )
    .announce(event))
}

pub fn snapshot(c: &CapPrice, case: &PricingCase) -> ev::CapPriceSnapshot {
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

/// The fields `UpdateCapPrice` may change; `pricing_case` and `product` name what the cap is of and stay.
pub const MUTABLE: &[&str] = &[
    "free_provision",
    "billing_unit",
    "unit_label",
    "cap_amount",
    "expected_volume",
    "factors",
    "effective_period",
    "supersedes",
    "adjustment_reason",
    "annual_check",
];

/// Whether the update request sets `path` (for an update without a mask).
pub fn populated(c: &CapPrice, path: &str) -> bool {
    match path {
        "free_provision" => c.free_provision != 0,
        "billing_unit" => c.billing_unit != 0,
        "unit_label" => !c.unit_label.is_empty(),
        "cap_amount" => c.cap_amount.is_some(),
        "expected_volume" => c.expected_volume.is_some(),
        "factors" => c.factors.is_some(),
        "effective_period" => c.effective_period.is_some(),
        "supersedes" => !c.supersedes.is_empty(),
        "adjustment_reason" => !c.adjustment_reason.is_empty(),
        "annual_check" => !c.annual_check.is_empty(),
        _ => false,
    }
}

/// Changes the masked fields of a DRAFT cap (`UpdateCapPrice`); the result is checked as a new cap is, and its
/// expected revenue follows.
pub fn update(
    c: &mut CapPrice,
    case: &PricingCase,
    caller: &Caller,
    from: CapPrice,
    mask: &Mask,
) -> Result<Change, Error> {
    may_set(caller, case)?;
    require_state(&c.name, state_of(c), &[CapPriceState::Draft], "an update")?;
    for path in mask.paths() {
        match path {
            "free_provision" => c.free_provision = from.free_provision,
            "billing_unit" => c.billing_unit = from.billing_unit,
            "unit_label" => c.unit_label = from.unit_label.clone(),
            "cap_amount" => c.cap_amount = from.cap_amount.clone(),
            "expected_volume" => c.expected_volume = from.expected_volume.clone(),
            "factors" => c.factors = from.factors.clone(),
            "effective_period" => c.effective_period = from.effective_period,
            "supersedes" => c.supersedes = from.supersedes.clone(),
            "adjustment_reason" => c.adjustment_reason = from.adjustment_reason.clone(),
            "annual_check" => c.annual_check = from.annual_check.clone(),
            other => {
                return Err(Error::Internal(anyhow::anyhow!(
                    "update_mask path {other} is listed as mutable but has no field"
                )));
            }
        }
    }
    let mut v = Violations::new();
    let terms = check_fields(c, &mut v);
    // N1 §一: a public-governance product stays free whatever is changed.
    if c.use_class == UseClass::PublicGovernance as i32 && !free(c) {
        v.add(
            "cap_price.free_provision",
            "a public-governance / public-welfare product is free (N1 §一): give the basis and a charge of 0",
        );
    }
    let (Some(terms), true) = (terms, v.is_empty()) else {
        return Err(Error::Invalid(v));
    };
    may_draft(caller, c, case)?;
    c.expected_revenue = Some(convert::money(terms.expected));
    let paths: Vec<&str> = mask.paths().collect();
    Ok(Change::new(&c.name, serde_json::json!({ "update_mask": paths })))
}

/// Ends a PUBLISHED cap (已终止): its product was withdrawn, or its effective period is over.
pub fn end(
    c: &mut CapPrice,
    case: &PricingCase,
    call: &Call,
    reason: EndReason,
) -> Result<Change<ev::CapPriceEnded>, Error> {
    require_state(&c.name, state_of(c), &[CapPriceState::Published], "ending")?;
    if reason == EndReason::PeriodOver && !period_over(c.effective_period.as_ref(), call.today()) {
        return Err(Error::refused(
            ErrorReason::WrongState,
            format!("{} applies until the end of its effective period", c.name),
        ));
    }
    c.state = CapPriceState::Ended as i32;
    let event = ev::CapPriceEnded {
        cap_price: Some(snapshot(c, case)),
        reason: reason.as_str().to_owned(),
        end_time: Some(timestamp(call.now)),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(
        &c.name,
        serde_json::json!({ "state": "ENDED", "reason": reason.as_str() }),
    )
    .announce(event))
}

#[cfg(test)]
#[path = "caps_tests.rs"]
pub(crate) mod tests;
