//! Transitions of prices without a database.

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

fn mask_of(paths: &[&str]) -> Mask {
    let mut v = Violations::new();
    let fm = prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    };
    crate::domain::mask::resolve(Some(&fm), MUTABLE, &mut v, |_| true)
}

#[test]
fn an_edited_draft_stays_at_or_below_the_published_cap() {
    // N1 §二: 不高于上限收费标准.
    let cap = cap_in(CapPriceState::Published);
    let above = SpecificPrice {
        amount: money("1.60"),
        ..Default::default()
    };
    let operator = call_by(OPERATOR).caller;
    let r = update(
        &mut price_in(SpecificPriceState::Draft),
        &in_effect(),
        &operator,
        above,
        &mask_of(&["amount"]),
        Some(&cap),
    );
    assert_eq!(reason_of(r), Some(ErrorReason::PriceAboveCap));
    let mut p = price_in(SpecificPriceState::Draft);
    let lower = SpecificPrice {
        amount: money("1.40"),
        unit_label: "元/千次".into(),
        ..Default::default()
    };
    update(
        &mut p,
        &in_effect(),
        &operator,
        lower.clone(),
        &mask_of(&["amount"]),
        Some(&cap),
    )
    .unwrap();
    assert_eq!(
        (p.amount.clone(), p.unit_label.as_str()),
        (money("1.40"), "元/次")
    );
    let r = update(
        &mut price_in(SpecificPriceState::Published),
        &in_effect(),
        &operator,
        lower.clone(),
        &mask_of(&["amount"]),
        Some(&cap),
    );
    assert_eq!(reason_of(r), Some(ErrorReason::WrongState));
    let r = update(
        &mut price_in(SpecificPriceState::Draft),
        &in_effect(),
        &call_by("organizations/agency").caller,
        lower,
        &mask_of(&["amount"]),
        Some(&cap),
    );
    assert_eq!(reason_of(r), Some(ErrorReason::NotTheOperator));
}

#[test]
fn a_published_price_ends_on_withdrawal_or_after_its_last_day() {
    let call = call_by("");
    let r = end(
        &mut price_in(SpecificPriceState::Published),
        &in_effect(),
        &call,
        EndReason::PeriodOver,
    );
    assert_eq!(
        reason_of(r),
        Some(ErrorReason::WrongState),
        "2027-06-01 is within the period"
    );
    let mut p = price_in(SpecificPriceState::Published);
    let change = end(&mut p, &in_effect(), &call, EndReason::ProductWithdrawn).unwrap();
    assert_eq!(p.state, SpecificPriceState::Ended as i32);
    assert_eq!(
        change
            .event()
            .and_then(|e| e.specific_price.as_ref())
            .map(|s| s.state),
        Some(p.state)
    );
    let r = end(
        &mut price_in(SpecificPriceState::Draft),
        &in_effect(),
        &call,
        EndReason::ProductWithdrawn,
    );
    assert_eq!(reason_of(r), Some(ErrorReason::WrongState));
}
