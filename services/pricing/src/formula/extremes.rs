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
