//! THREATS L1: the MAR formula over extreme decimals computes bounded figures or names the input at fault; it
//! never panics.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::mar::tests::inputs;
use super::{MarInputs, Tax, compute_mar};

/// Decimals at and around every edge the formula meets: the extremes of `Decimal`, the money bound,
/// the rate bound, the smallest steps, and a rate a hair below 1 (a gross-up's divisor near 0).
fn extremes() -> Vec<Decimal> {
    let bound = pdop_rules::money::MAX_AMOUNT;
    vec![
        Decimal::MAX,
        Decimal::MIN,
        Decimal::ZERO,
        Decimal::ONE,
        Decimal::NEGATIVE_ONE,
        Decimal::new(1, 28),
        Decimal::new(-1, 28),
        dec!(0.9999999999999999999999999999),
        dec!(0.06),
        dec!(100),
        dec!(100.0000000000000000000000001),
        bound,
        bound + dec!(0.01),
        -bound,
        dec!(79228162514264337593543950.335),
    ]
}

#[test]
fn compute_mar_never_panics_over_extreme_inputs() {
    // THREATS L1: compute_mar never panics for any Decimal inputs; it computes figures within the money
    // bound or names the input field at fault.
    let xs = extremes();
    let bound = pdop_rules::money::MAX_AMOUNT;
    let mut computed = 0;
    for &a in &xs {
        for &b in &xs {
            for &c in &xs {
                let shapes = [
                    MarInputs {
                        bond_yield: b,
                        markup: c,
                        markup_max: Decimal::MAX,
                        vat_rate: Some(c),
                        prior_deduction: a,
                        ..inputs(a, Decimal::ZERO, Tax::IncomeTaxGrossUp { rate: b })
                    },
                    MarInputs {
                        bond_yield: c,
                        vat_rate: Some(b),
                        prior_deduction: c,
                        period_years: u32::MAX,
                        period_years_max: u32::MAX,
                        ..inputs(
                            a,
                            dec!(0.06),
                            Tax::Itemized(vec![("a".into(), b), ("b".into(), c)]),
                        )
                    },
                    MarInputs {
                        markup_max: a,
                        prior_deduction: b,
                        period_years: 1,
                        ..inputs(c, a, Tax::None)
                    },
                ];
                for input in shapes {
                    match compute_mar(&input) {
                        Ok(out) => {
                            computed += 1;
                            for figure in [
                                out.allowed_profit,
                                out.taxes,
                                out.vat,
                                out.gross_annual_revenue,
                                out.annual_deduction,
                                out.max_allowed_revenue,
                                out.period_allowed_revenue,
                            ] {
                                assert!(figure.abs() <= bound, "{figure} from {input:?}");
                            }
                        }
                        Err(err) => assert!(err.field.starts_with("input."), "{err:?}"),
                    }
                }
            }
        }
    }
    assert!(computed > 0, "the grid also holds computable inputs");
}

#[test]
fn an_enormous_cost_names_the_operating_cost() {
    // THREATS L1: the largest Decimal as C is an input error, not a panic.
    let err = compute_mar(&inputs(Decimal::MAX, dec!(0.06), Tax::None)).unwrap_err();
    assert_eq!(err.field, "input.operating_cost");
    assert_eq!(err.message, "exceeds 10^15 CNY");
    let err = compute_mar(&inputs(
        dec!(1000000000000000),
        dec!(0.06),
        Tax::IncomeTaxGrossUp {
            rate: dec!(0.9999999999999999999999999999),
        },
    ))
    .unwrap_err();
    assert_eq!(err.field, "input.income_tax_rate");
}

mod properties {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::super::{CostLine, check_deviation, cost_totals, settle};
    use super::*;
    use pdop_proto::pricing::v1::CostCategory;

    /// Any `Decimal` at all (every mantissa and scale), edges and ordinary figures mixed in so that both the
    /// refusals and the computations are reached.
    fn any_decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28)
                .prop_map(|(lo, mid, hi, negative, scale)| Decimal::from_parts(lo, mid, hi, negative, scale)),
            proptest::sample::select(extremes()),
            (0i64..1_000_000_000_000, 0u32..=4).prop_map(|(m, scale)| Decimal::new(m, scale)),
        ]
    }

    fn bounded(figures: &[Decimal]) -> bool {
        figures.iter().all(|f| f.abs() <= pdop_rules::money::MAX_AMOUNT)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn compute_mar_never_panics_for_any_decimals(
            cost in any_decimal(),
            bond_yield in any_decimal(),
            markup in any_decimal(),
            markup_max in any_decimal(),
            tax_rate in any_decimal(),
            item in any_decimal(),
            vat in proptest::option::of(any_decimal()),
            deduction in any_decimal(),
            period_years in prop_oneof![1u32..=3, any::<u32>()],
            shape in 0u8..3,
        ) {
            // THREATS L1: figures within the money bound, or an InputError naming an input field.
            let tax = match shape {
                0 => Tax::None,
                1 => Tax::IncomeTaxGrossUp { rate: tax_rate },
                _ => Tax::Itemized(vec![("a".into(), tax_rate), ("b".into(), item)]),
            };
            let input = MarInputs {
                bond_yield,
                markup_max,
                vat_rate: vat,
                prior_deduction: deduction,
                period_years,
                period_years_max: u32::MAX,
                ..inputs(cost, markup, tax)
            };
            match compute_mar(&input) {
                Ok(o) => prop_assert!(bounded(&[
                    o.allowed_profit, o.taxes, o.vat, o.gross_annual_revenue, o.annual_deduction,
                    o.max_allowed_revenue, o.period_allowed_revenue,
                ]), "{o:?} from {input:?}"),
                Err(err) => prop_assert!(err.field.starts_with("input."), "{err:?}"),
            }
        }

        #[test]
        fn cost_totals_never_panic_for_any_decimals(
            lines in proptest::collection::vec((any_decimal(), any_decimal(), any_decimal(), any_decimal()), 1..8)
        ) {
            let lines: Vec<CostLine> = lines
                .into_iter()
                .map(|(claimed, disallowed, free_use, subsidy)| CostLine {
                    category: CostCategory::DataProcessing,
                    claimed,
                    disallowed,
                    free_use,
                    subsidy,
                })
                .collect();
            match cost_totals(&lines) {
                Ok(t) => prop_assert!(bounded(&[t.claimed, t.disallowed, t.free_use, t.subsidy, t.operating_cost])),
                Err(err) => prop_assert!(err.field.starts_with("cost_survey.line_items["), "{err:?}"),
            }
        }

        #[test]
        fn deviation_and_settlement_never_panic_for_any_decimals(
            actual in any_decimal(),
            allowed in any_decimal(),
            threshold in any_decimal(),
            spread in prop_oneof![1u32..=5, any::<u32>().prop_map(|n| n % 1000)],
        ) {
            let fields = ["actual_revenue", "allowed_revenue", "max_allowed_revenue", "installments"];
            if let Err(err) = check_deviation(actual, allowed, threshold) {
                prop_assert!(fields.contains(&err.field.as_str()), "{err:?}");
            }
            match settle(actual, allowed, spread) {
                Ok((excess, installments)) => {
                    prop_assert!(bounded(&[excess]));
                    let sum: Decimal = installments.iter().map(|i| i.amount).sum();
                    prop_assert!(installments.is_empty() || sum == excess);
                }
                Err(err) => prop_assert!(fields.contains(&err.field.as_str()), "{err:?}"),
            }
        }
    }
}
