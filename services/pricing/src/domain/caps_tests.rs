//! Transitions of caps without a database.

use super::*;
use pdop_kit::convert::date;
use pdop_proto::common::DateRange;

pub const AGENCY: &str = "organizations/agency";

pub fn call_by(organization: &str) -> Call {
    let caller = Caller {
        subject: "someone".into(),
        organization: organization.into(),
        roles: Vec::new(),
        jurisdiction: String::new(),
    };
    let now = NaiveDate::from_ymd_opt(2027, 6, 1)
        .and_then(|d| d.and_hms_opt(1, 0, 0))
        .unwrap()
        .and_utc();
    Call::new(caller, "pricing.Test", now)
}

pub fn range(from: (i32, u32, u32), to: (i32, u32, u32)) -> Option<DateRange> {
    let d = |(y, m, day): (i32, u32, u32)| NaiveDate::from_ymd_opt(y, m, day).map(date);
    Some(DateRange {
        start_date: d(from),
        end_date: d(to),
    })
}

pub fn money(amount: &str) -> Option<Money> {
    Some(Money {
        amount: amount.into(),
        currency: "CNY".into(),
    })
}

pub fn case() -> PricingCase {
    PricingCase {
        name: "pricingCases/c1".into(),
        authorizing_entity: AGENCY.into(),
        operator: "organizations/operator".into(),
        pricing_authority: "organizations/drc".into(),
        data_authority: "organizations/data".into(),
        state: PricingCaseState::RevenueApproved as i32,
        max_allowed_revenue: money("8821333.33"),
        pricing_period: range((2027, 1, 1), (2029, 12, 31)),
        ..Default::default()
    }
}

pub fn cap_in(state: CapPriceState) -> CapPrice {
    CapPrice {
        name: "capPrices/k1".into(),
        pricing_case: "pricingCases/c1".into(),
        product: "products/api".into(),
        billing_unit: BillingUnit::PerCall as i32,
        unit_label: "元/次".into(),
        cap_amount: money("1.50"),
        expected_volume: Some(pdop_proto::common::Decimal {
            value: "4000000".into(),
        }),
        expected_revenue: money("6000000.00"),
        effective_period: range((2027, 1, 1), (2027, 12, 31)),
        state: state as i32,
        ..Default::default()
    }
}

fn check(within: bool) -> CapRevenueCheck {
    CapRevenueCheck {
        within,
        ..Default::default()
    }
}

fn reason_of<T: std::fmt::Debug>(r: Result<T, Error>) -> Option<ErrorReason> {
    r.err().and_then(|e| e.reason())
}

fn both() -> Vec<String> {
    vec!["organizations/drc".into(), "organizations/data".into()]
}

#[test]
fn only_the_authorizing_entity_sets_a_cap() {
    // N1 §二: the authorizing entity (授权主体) sets the cap.
    let mut c = cap_in(CapPriceState::Draft);
    let r = set(
        &mut c,
        &case(),
        &call_by("organizations/operator"),
        None,
        both(),
        &check(true),
    );
    assert_eq!(reason_of(r), Some(ErrorReason::NotTheAuthorizingEntity));
    assert_eq!(c.state, CapPriceState::Draft as i32);
}

#[test]
fn only_a_draft_is_set_and_only_within_the_mar() {
    for state in [CapPriceState::Set, CapPriceState::Published, CapPriceState::Ended] {
        let r = set(
            &mut cap_in(state),
            &case(),
            &call_by(AGENCY),
            None,
            both(),
            &check(true),
        );
        assert_eq!(reason_of(r), Some(ErrorReason::WrongState), "{state:?}");
    }
    // N1 §二: 在最高准许收入范围内.
    let r = set(
        &mut cap_in(CapPriceState::Draft),
        &case(),
        &call_by(AGENCY),
        None,
        both(),
        &check(false),
    );
    assert_eq!(reason_of(r), Some(ErrorReason::CapRevenueExceedsMar));
    let r = set(
        &mut cap_in(CapPriceState::Draft),
        &case(),
        &call_by(AGENCY),
        None,
        vec!["organizations/drc".into()],
        &check(true),
    );
    assert!(
        matches!(r, Err(Error::Invalid(_))),
        "reported to one authority only"
    );
    let mut c = cap_in(CapPriceState::Draft);
    let change = set(&mut c, &case(), &call_by(AGENCY), None, both(), &check(true)).unwrap();
    assert_eq!(c.state, CapPriceState::Set as i32);
    assert_eq!(
        change.event().and_then(|e| e.cap_price.as_ref()).map(|s| s.state),
        Some(c.state)
    );
}

#[test]
fn the_mar_check_counts_set_and_published_caps_and_replaces_the_adjusted_one() {
    // DOMAIN §3.2: 1.50 × 4,000,000 + 28,000 × 100 = 8,800,000 ≤ MAR 8,821,333.33.
    let counted = Counted {
        set_and_published: Decimal::from(2_800_000),
        superseded: Decimal::ZERO,
    };
    let check = revenue_check(&case(), &cap_in(CapPriceState::Draft), counted).unwrap();
    assert!(check.within);
    assert_eq!(check.headroom.unwrap().amount, "21333.33");
    let over = Counted {
        set_and_published: Decimal::from(2_900_000),
        superseded: Decimal::from(50_000),
    };
    let check = revenue_check(&case(), &cap_in(CapPriceState::Draft), over).unwrap();
    assert!(!check.within);
    assert_eq!(check.total_expected_revenue.unwrap().amount, "8850000.00");
}

#[test]
fn publishing_a_set_cap_puts_its_case_in_effect() {
    let mut c = cap_in(CapPriceState::Draft);
    let r = publish(&mut c, &mut case(), &call_by(AGENCY), Vec::new());
    assert_eq!(reason_of(r), Some(ErrorReason::WrongState));
    let mut c = cap_in(CapPriceState::Set);
    let mut the_case = case();
    let change = publish(
        &mut c,
        &mut the_case,
        &call_by(AGENCY),
        vec!["specificPrices/p1".into()],
    )
    .unwrap();
    assert_eq!(c.state, CapPriceState::Published as i32);
    assert_eq!(the_case.state, PricingCaseState::InEffect as i32);
    assert_eq!(
        change.event().map(|e| e.specific_prices_above_cap.clone()),
        Some(vec!["specificPrices/p1".to_owned()])
    );
}

#[test]
fn a_cap_lies_within_the_case_period() {
    let mut c = cap_in(CapPriceState::Draft);
    c.effective_period = range((2030, 1, 1), (2030, 12, 31));
    assert!(matches!(
        may_draft(&call_by(AGENCY).caller, &c, &case()),
        Err(Error::Invalid(_))
    ));
    let mut settled = case();
    settled.state = PricingCaseState::Settled as i32;
    let r = may_draft(&call_by(AGENCY).caller, &cap_in(CapPriceState::Draft), &settled);
    assert_eq!(reason_of(r), Some(ErrorReason::WrongState));
}

fn mask_of(paths: &[&str]) -> Mask {
    let mut v = Violations::new();
    let fm = prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    };
    let m = crate::domain::mask::resolve(Some(&fm), MUTABLE, &mut v, |_| true);
    assert!(v.is_empty(), "{paths:?}");
    m
}

#[test]
fn an_update_changes_the_masked_fields_of_a_draft_only() {
    let mut c = cap_in(CapPriceState::Draft);
    let from = CapPrice {
        cap_amount: money("1.20"),
        unit_label: "元/千次".into(),
        ..Default::default()
    };
    update(
        &mut c,
        &case(),
        &call_by(AGENCY).caller,
        from.clone(),
        &mask_of(&["cap_amount"]),
    )
    .unwrap();
    assert_eq!(c.cap_amount, money("1.20"));
    assert_eq!(c.unit_label, "元/次");
    assert_eq!(c.expected_revenue, money("4800000.00"));
    for state in [CapPriceState::Set, CapPriceState::Published, CapPriceState::Ended] {
        let r = update(
            &mut cap_in(state),
            &case(),
            &call_by(AGENCY).caller,
            from.clone(),
            &mask_of(&["cap_amount"]),
        );
        assert_eq!(reason_of(r), Some(ErrorReason::WrongState), "{state:?}");
    }
    let r = update(
        &mut cap_in(CapPriceState::Draft),
        &case(),
        &call_by("organizations/other").caller,
        from,
        &mask_of(&["cap_amount"]),
    );
    assert_eq!(reason_of(r), Some(ErrorReason::NotTheAuthorizingEntity));
}

#[test]
fn an_update_keeps_a_public_governance_product_free() {
    // N1 §一: 公共治理、公益事业 products are free.
    let mut c = cap_in(CapPriceState::Draft);
    c.use_class = UseClass::PublicGovernance as i32;
    c.free_provision = FreeProvisionBasis::PublicGovernance as i32;
    c.cap_amount = money("0");
    let r = update(
        &mut c,
        &case(),
        &call_by(AGENCY).caller,
        CapPrice::default(),
        &mask_of(&["free_provision"]),
    );
    assert!(matches!(r, Err(Error::Invalid(_))));
}

#[test]
fn a_published_cap_ends_on_withdrawal_or_after_its_last_day() {
    let call = call_by("");
    let mut c = cap_in(CapPriceState::Published);
    // The test call's day is 2027-06-01, within the cap's 2027 period.
    let r = end(&mut c, &case(), &call, EndReason::PeriodOver);
    assert_eq!(reason_of(r), Some(ErrorReason::WrongState));
    let change = end(&mut c, &case(), &call, EndReason::ProductWithdrawn).unwrap();
    assert_eq!(c.state, CapPriceState::Ended as i32);
    assert_eq!(
        change.event().map(|e| e.reason.as_str()),
        Some("PRODUCT_WITHDRAWN")
    );
    let mut over = cap_in(CapPriceState::Published);
    over.effective_period = range((2026, 1, 1), (2027, 5, 31));
    end(&mut over, &case(), &call, EndReason::PeriodOver).unwrap();
    for state in [
        CapPriceState::Draft,
        CapPriceState::Set,
        CapPriceState::Superseded,
        CapPriceState::Ended,
    ] {
        let r = end(&mut cap_in(state), &case(), &call, EndReason::ProductWithdrawn);
        assert_eq!(reason_of(r), Some(ErrorReason::WrongState), "{state:?}");
    }
}
