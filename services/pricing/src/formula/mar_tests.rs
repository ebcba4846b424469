//! Worked examples and properties of the MAR formula.

use super::*;
use rust_decimal_macros::dec;

pub(crate) fn inputs(cost: Decimal, markup: Decimal, tax: Tax) -> MarInputs {
    MarInputs {
        operating_cost: cost,
        cost_origin: "input".into(),
        bond_yield: dec!(0.017),
        bond_yield_year: 2025,
        yield_origin: "input".into(),
        markup,
        markup_max: dec!(0.06),
        markup_max_source: "N1 §三(一)".into(),
        tax,
        vat_rate: None,
        period_years: 3,
        period_years_max: 3,
        prior_deduction: Decimal::ZERO,
        profile_id: "national".into(),
    }
}

#[test]
fn the_worked_example_of_domain_3_2() {
    // DOMAIN §3.2: C = 8,000,000, Y = 1.70%, m = 6 points, 25% income tax grossed up.
    let out = compute_mar(&inputs(
        dec!(8000000),
        dec!(0.06),
        Tax::IncomeTaxGrossUp { rate: dec!(0.25) },
    ))
    .unwrap();
    assert_eq!(out.allowed_profit_rate, dec!(0.077));
    assert_eq!(out.allowed_profit.to_string(), "616000.00");
    assert_eq!(out.taxes.to_string(), "205333.33");
    assert_eq!(out.max_allowed_revenue.to_string(), "8821333.33");
    assert_eq!(out.period_allowed_revenue.to_string(), "26463999.99");
    assert_eq!(out.result.steps.len(), 11);
    assert_eq!(out.result.formula_version, FORMULA_VERSION);
}

#[test]
fn the_markup_is_a_ceiling_of_six_points() {
    // N1 §三(一): 加不超过6个百分点 — m = 0 and m = 0.06 pass, anything above is refused.
    let zero = compute_mar(&inputs(dec!(1000), dec!(0), Tax::None)).unwrap();
    assert_eq!(zero.allowed_profit.to_string(), "17.00");
    assert_eq!(zero.max_allowed_revenue.to_string(), "1017.00");
    assert!(compute_mar(&inputs(dec!(1000), dec!(0.06), Tax::None)).is_ok());
    let err = compute_mar(&inputs(dec!(1000), dec!(0.0601), Tax::None)).unwrap_err();
    assert_eq!(err.field, "input.markup");
    let err = compute_mar(&inputs(dec!(1000), dec!(-0.01), Tax::None)).unwrap_err();
    assert_eq!(err.field, "input.markup");
}

#[test]
fn money_is_rounded_to_the_cent_half_up_at_each_product() {
    // P = 0.05 × 0.077 = 0.00385 → 0.00; P = 0.07 × 0.077 = 0.00539 → 0.01.
    assert_eq!(
        compute_mar(&inputs(dec!(0.05), dec!(0.06), Tax::None))
            .unwrap()
            .allowed_profit
            .to_string(),
        "0.00"
    );
    assert_eq!(
        compute_mar(&inputs(dec!(0.07), dec!(0.06), Tax::None))
            .unwrap()
            .allowed_profit
            .to_string(),
        "0.01"
    );
    // 6.50 × 0.077 = 0.5005 → 0.50; 19.50 × 0.077 = 1.5015 → 1.50; a half cent rounds up: 0.065 × 0.077…
    let half = MarInputs {
        bond_yield: dec!(0.005),
        markup: dec!(0),
        ..inputs(dec!(1), dec!(0), Tax::None)
    };
    assert_eq!(
        compute_mar(&half).unwrap().allowed_profit.to_string(),
        "0.01",
        "0.005 rounds away from zero"
    );
}

#[test]
fn taxes_vat_and_a_carried_deduction() {
    let itemized = Tax::Itemized(vec![
        ("城市维护建设税".into(), dec!(700)),
        ("教育费附加".into(), dec!(300)),
    ]);
    let out = compute_mar(&MarInputs {
        vat_rate: Some(dec!(0.06)),
        prior_deduction: dec!(1736000),
        ..inputs(dec!(8000000), dec!(0.06), itemized)
    })
    .unwrap();
    assert_eq!(out.taxes.to_string(), "1000.00");
    // V = (8,000,000 + 616,000 + 1,000) × 6% = 517,020.00
    assert_eq!(out.vat.to_string(), "517020.00");
    // N1 §四: 1,736,000 over 3 years → 578,666.67 a year.
    assert_eq!(out.annual_deduction.to_string(), "578666.67");
    assert_eq!(out.max_allowed_revenue.to_string(), "8555353.33");
    assert_eq!(out.period_allowed_revenue.to_string(), "25666060.00");
}

#[test]
fn bad_inputs_name_their_field() {
    let cases = [
        (
            MarInputs {
                operating_cost: dec!(-1),
                ..inputs(dec!(0), dec!(0), Tax::None)
            },
            "input.operating_cost",
        ),
        (
            inputs(dec!(1), dec!(0), Tax::IncomeTaxGrossUp { rate: dec!(1) }),
            "input.income_tax_rate",
        ),
        (
            MarInputs {
                period_years: 4,
                ..inputs(dec!(1), dec!(0), Tax::None)
            },
            "input.period_years",
        ),
        (
            MarInputs {
                period_years: 0,
                ..inputs(dec!(1), dec!(0), Tax::None)
            },
            "input.period_years",
        ),
        (
            MarInputs {
                prior_deduction: dec!(100000),
                ..inputs(dec!(1), dec!(0), Tax::None)
            },
            "input.prior_period_deduction",
        ),
    ];
    for (input, field) in cases {
        assert_eq!(compute_mar(&input).unwrap_err().field, field);
    }
}

mod properties {
    use super::inputs;
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    /// Up to ten billion yuan, in cents.
    const MAX_CENTS: i64 = 1_000_000_000_000;

    fn mar(cost_cents: i64, markup_bp: i64, tax: Tax) -> Decimal {
        let input = inputs(Decimal::new(cost_cents, 2), Decimal::new(markup_bp, 4), tax);
        compute_mar(&input)
            .map(|o| o.max_allowed_revenue)
            .unwrap_or_default()
    }

    proptest! {
        #[test]
        fn mar_never_falls_when_cost_or_markup_rises(
            cost in 0i64..MAX_CENTS,
            more_cost in 0i64..MAX_CENTS / 10,
            markup in 0i64..=600,
            more_markup in 0i64..=600,
            gross_up in proptest::bool::ANY,
        ) {
            let tax = || if gross_up { Tax::IncomeTaxGrossUp { rate: dec!(0.25) } } else { Tax::None };
            let higher_markup = (markup + more_markup).min(600);
            prop_assert!(mar(cost, markup, tax()) <= mar(cost + more_cost, markup, tax()));
            prop_assert!(mar(cost, markup, tax()) <= mar(cost, higher_markup, tax()));
        }

        #[test]
        fn the_figures_add_up_and_profit_is_within_half_a_cent(cost in 0i64..MAX_CENTS, markup in 0i64..=600) {
            let input = inputs(Decimal::new(cost, 2), Decimal::new(markup, 4), Tax::IncomeTaxGrossUp { rate: dec!(0.25) });
            let out = compute_mar(&input).unwrap();
            let c = Decimal::new(cost, 2);
            prop_assert_eq!(out.max_allowed_revenue, c + out.allowed_profit + out.taxes);
            prop_assert!((out.allowed_profit - c * out.allowed_profit_rate).abs() <= dec!(0.005));
            // A recomputation from the same inputs is identical, steps included.
            prop_assert_eq!(compute_mar(&input).unwrap(), out);
        }
    }
}
