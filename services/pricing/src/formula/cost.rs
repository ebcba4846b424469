//! The operating cost C of a cost survey (成本调查, N1 §三(一)): each line's claim, less what the surveyor
//! disallows as unreasonable (only 合理费用支出 counts), less the share of free public-governance products
//! (C covers only industry-development products), less government subsidies (扣除政府补助后).

use pdop_proto::pricing::v1::CostCategory;
use pdop_rules::Cny;
use rust_decimal::Decimal;

use super::InputError;

/// One cost line as the arithmetic needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CostLine {
    pub category: CostCategory,
    pub claimed: Decimal,
    pub disallowed: Decimal,
    pub free_use: Decimal,
    pub subsidy: Decimal,
}

/// The survey's totals and each line's allowed amount (核定金额), in line order.
#[derive(Debug, Clone, PartialEq)]
pub struct CostTotals {
    pub allowed: Vec<Decimal>,
    pub claimed: Decimal,
    pub disallowed: Decimal,
    pub free_use: Decimal,
    pub subsidy: Decimal,
    /// C.
    pub operating_cost: Decimal,
    /// Claimed and allowed amounts per category, in `CostCategory` order, categories with lines only.
    pub by_category: Vec<(CostCategory, Decimal, Decimal)>,
}

pub fn cost_totals(lines: &[CostLine]) -> Result<CostTotals, InputError> {
    let mut allowed = Vec::with_capacity(lines.len());
    let mut totals = [Cny::ZERO; 4];
    let mut by_category: Vec<(CostCategory, Cny, Cny)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let field = |name: &str| format!("cost_survey.line_items[{i}].{name}");
        let mut amounts = [Cny::ZERO; 4];
        for (k, (name, amount)) in [
            ("claimed_amount", line.claimed),
            ("disallowed_amount", line.disallowed),
            ("free_use_amount", line.free_use),
            ("subsidy_amount", line.subsidy),
        ]
        .into_iter()
        .enumerate()
        {
            if amount < Decimal::ZERO {
                return Err(InputError::new(field(name), "must not be negative"));
            }
            amounts[k] = Cny::new(amount).map_err(InputError::money(&field(name)))?.cents();
            totals[k] = totals[k]
                .checked_add(amounts[k])
                .map_err(InputError::money(&field(name)))?;
        }
        let [claimed, disallowed, free_use, subsidy] = amounts;
        let deducted =
            Cny::sum([disallowed, free_use, subsidy]).map_err(InputError::money(&field("claimed_amount")))?;
        if deducted > claimed {
            return Err(InputError::new(
                field("claimed_amount"),
                format!(
                    "disallowed, free-use and subsidy amounts ({} + {} + {}) exceed the claim {}",
                    line.disallowed, line.free_use, line.subsidy, line.claimed
                ),
            ));
        }
        let amount = claimed
            .checked_sub(deducted)
            .map_err(InputError::money(&field("claimed_amount")))?;
        match by_category.iter_mut().find(|(c, _, _)| *c == line.category) {
            Some((_, claimed_so_far, allowed_so_far)) => {
                // Bounded by the survey's totals, which were checked above.
                *claimed_so_far = claimed_so_far
                    .checked_add(claimed)
                    .map_err(InputError::money(&field("claimed_amount")))?;
                *allowed_so_far = allowed_so_far
                    .checked_add(amount)
                    .map_err(InputError::money(&field("claimed_amount")))?;
            }
            None => by_category.push((line.category, claimed, amount)),
        }
        allowed.push(amount);
    }
    by_category.sort_by_key(|(c, _, _)| *c as i32);
    let [claimed, disallowed, free_use, subsidy] = totals.map(Cny::as_decimal);
    let operating_cost = Cny::sum(allowed.iter().copied())
        .map_err(InputError::money("cost_survey.line_items"))?
        .as_decimal();
    Ok(CostTotals {
        allowed: allowed.into_iter().map(Cny::as_decimal).collect(),
        claimed,
        disallowed,
        free_use,
        subsidy,
        operating_cost,
        by_category: by_category
            .into_iter()
            .map(|(c, claimed, allowed)| (c, claimed.as_decimal(), allowed.as_decimal()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn line(
        category: CostCategory,
        claimed: Decimal,
        disallowed: Decimal,
        free_use: Decimal,
        subsidy: Decimal,
    ) -> CostLine {
        CostLine {
            category,
            claimed,
            disallowed,
            free_use,
            subsidy,
        }
    }

    #[test]
    fn the_worked_example_cost_is_eight_million() {
        // DOMAIN §3.2: 10,000,000 surveyed, 1,500,000 for free products excluded, 500,000 subsidy netted off.
        let lines = [
            line(
                CostCategory::PlatformOperations,
                dec!(6000000),
                dec!(0),
                dec!(900000),
                dec!(500000),
            ),
            line(
                CostCategory::Labour,
                dec!(4000000),
                dec!(0),
                dec!(600000),
                dec!(0),
            ),
        ];
        let t = cost_totals(&lines).unwrap();
        assert_eq!(t.operating_cost, dec!(8000000.00));
        assert_eq!(t.allowed, [dec!(4600000.00), dec!(3400000.00)]);
        assert_eq!((t.free_use, t.subsidy), (dec!(1500000.00), dec!(500000.00)));
        assert_eq!(
            t.by_category[0],
            (
                CostCategory::PlatformOperations,
                dec!(6000000.00),
                dec!(4600000.00)
            )
        );
    }

    #[test]
    fn unreasonable_spending_is_disallowed_and_nothing_goes_below_zero() {
        // N1 §三(一): only 合理费用支出 counts.
        let lines = [line(CostCategory::Other, dec!(100), dec!(100), dec!(0), dec!(0))];
        assert_eq!(cost_totals(&lines).unwrap().operating_cost, dec!(0.00));
        let over = [
            line(CostCategory::Labour, dec!(10), dec!(0), dec!(0), dec!(0)),
            line(CostCategory::Other, dec!(100), dec!(60), dec!(30), dec!(20)),
        ];
        assert_eq!(
            cost_totals(&over).unwrap_err().field,
            "cost_survey.line_items[1].claimed_amount"
        );
        let negative = [line(CostCategory::Labour, dec!(10), dec!(-1), dec!(0), dec!(0))];
        assert_eq!(
            cost_totals(&negative).unwrap_err().field,
            "cost_survey.line_items[0].disallowed_amount"
        );
    }

    #[test]
    fn amounts_beyond_the_money_bound_are_input_errors_not_panics() {
        // THREATS L1: survey lines are bounded money and summed with checked arithmetic.
        let huge = [line(
            CostCategory::Labour,
            Decimal::MAX,
            dec!(0),
            dec!(0),
            dec!(0),
        )];
        let err = cost_totals(&huge).unwrap_err();
        assert_eq!(err.field, "cost_survey.line_items[0].claimed_amount");
        assert_eq!(err.message, "exceeds 10^15 CNY");
        let at_bound = line(
            CostCategory::Labour,
            dec!(1000000000000000),
            dec!(0),
            dec!(0),
            dec!(0),
        );
        let err = cost_totals(&[at_bound.clone(), at_bound]).unwrap_err();
        assert_eq!(err.field, "cost_survey.line_items[1].claimed_amount");
        let err = cost_totals(&[line(
            CostCategory::Other,
            dec!(1),
            Decimal::MAX,
            Decimal::MAX,
            dec!(0),
        )])
        .unwrap_err();
        assert_eq!(err.field, "cost_survey.line_items[0].disallowed_amount");
    }

    proptest! {
        #[test]
        fn c_is_claims_less_disallowances_free_use_and_subsidies(
            amounts in proptest::collection::vec((0i64..100_000_000, 0i64..=100, 0i64..=100, 0i64..=100), 1..20)
        ) {
            // Split each claim in cents so the deductions never exceed it.
            let lines: Vec<CostLine> = amounts
                .iter()
                .map(|(claimed, d, f, s)| {
                    let part = |pct: i64| Decimal::new(claimed * pct / 300, 2);
                    line(CostCategory::DataProcessing, Decimal::new(*claimed, 2), part(*d), part(*f), part(*s))
                })
                .collect();
            let t = cost_totals(&lines).unwrap();
            prop_assert_eq!(t.operating_cost, t.claimed - t.disallowed - t.free_use - t.subsidy);
            prop_assert!(t.allowed.iter().all(|a| *a >= Decimal::ZERO));
        }
    }
}
