//! Weights and totals as properties (§3.4): exact sums, full marks give exactly 100.00, a veto overrides any
//! score.

use pdop_proto::evaluation::v1::{
    EvaluationGrade as Grade, IndicatorScore, IndicatorSystem, ScoringMethod, VetoFinding, VetoItem,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::decimals::pb;
use super::scoring::calculate;

/// Splits 1 into `n` exact parts of thousandths.
fn parts(cuts: &[u32]) -> Vec<Decimal> {
    let mut cuts: Vec<u32> = cuts.iter().map(|c| c % 1000).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for c in cuts.into_iter().chain(std::iter::once(1000)) {
        out.push(Decimal::new(i64::from(c - last), 3));
        last = c;
    }
    out
}

fn system(dim_weights: &[Decimal], ind_weights: &[Decimal]) -> IndicatorSystem {
    use pdop_proto::evaluation::v1::{
        Dimension, GradeThreshold, GradingScheme, GradingSchemeKind, Indicator,
    };
    let dims = dim_weights
        .iter()
        .enumerate()
        .map(|(d, dw)| Dimension {
            key: format!("d{d}"),
            weight: Some(pb(*dw)),
            indicators: ind_weights
                .iter()
                .enumerate()
                .map(|(i, w)| Indicator {
                    key: format!("d{d}_i{i}"),
                    weight: Some(pb(*w)),
                    max_score: Some(pb(Decimal::from(10))),
                    scoring_method: ScoringMethod::Manual as i32,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    IndicatorSystem {
        dimensions: dims,
        veto_items: vec![VetoItem {
            key: "veto".into(),
            ..Default::default()
        }],
        grading: Some(GradingScheme {
            kind: GradingSchemeKind::PassFail as i32,
            thresholds: vec![
                GradeThreshold {
                    grade: Grade::Pass as i32,
                    min_score: Some(pb(Decimal::from(60))),
                },
                GradeThreshold {
                    grade: Grade::Fail as i32,
                    min_score: Some(pb(Decimal::ZERO)),
                },
            ],
            veto_grade: Grade::Fail as i32,
            rectification_grades: Vec::new(),
        }),
        ..Default::default()
    }
}

fn scores(s: &IndicatorSystem, raw: impl Fn(usize) -> Decimal) -> Vec<IndicatorScore> {
    super::indicator_system::indicators(s)
        .enumerate()
        .map(|(n, (_, i))| IndicatorScore {
            indicator_key: i.key.clone(),
            raw_score: Some(pb(raw(n))),
            ..Default::default()
        })
        .collect()
}

fn total(s: &IndicatorSystem, sc: &[IndicatorScore], vetoes: &[VetoFinding]) -> (Decimal, Grade) {
    let r = calculate(s, sc, vetoes).result;
    let t: Decimal = r.total_score.unwrap().value.parse().unwrap();
    (t, Grade::try_from(r.grade).unwrap())
}

proptest! {
    #[test]
    fn full_marks_are_exactly_100_and_none_exactly_0(dc in prop::collection::vec(any::<u32>(), 0..4),
                                                     ic in prop::collection::vec(any::<u32>(), 0..4)) {
        let s = system(&parts(&dc), &parts(&ic));
        prop_assert_eq!(total(&s, &scores(&s, |_| Decimal::from(10)), &[]).0.to_string(), "100.00");
        prop_assert_eq!(total(&s, &scores(&s, |_| Decimal::ZERO), &[]).0.to_string(), "0.00");
    }

    #[test]
    fn the_total_is_the_exact_weighted_sum_rounded_once(dc in prop::collection::vec(any::<u32>(), 0..4),
                                                        ic in prop::collection::vec(any::<u32>(), 0..4),
                                                        raws in prop::collection::vec(0u32..=100, 25)) {
        let (dw, iw) = (parts(&dc), parts(&ic));
        let s = system(&dw, &iw);
        let raw = |n: usize| Decimal::new(i64::from(raws[n % raws.len()]), 1);
        let (t, grade) = total(&s, &scores(&s, raw), &[]);
        let mut expected = Decimal::ZERO;
        let mut n = 0;
        for d in &dw {
            for i in &iw {
                expected += raw(n) / Decimal::from(10) * *i * *d * Decimal::ONE_HUNDRED;
                n += 1;
            }
        }
        let expected = expected.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        prop_assert_eq!(t, expected);
        prop_assert!(t >= Decimal::ZERO && t <= Decimal::ONE_HUNDRED);
        prop_assert_eq!(grade, if t >= Decimal::from(60) { Grade::Pass } else { Grade::Fail });
    }

    #[test]
    fn a_triggered_veto_overrides_any_score(raws in prop::collection::vec(0u32..=10, 9)) {
        // S-HN Art.22: a major security risk decides whatever the score.
        let s = system(&parts(&[300, 700]), &parts(&[500]));
        let vetoed = [VetoFinding { veto_key: "veto".into(), triggered: true, ..Default::default() }];
        let (_, grade) = total(&s, &scores(&s, |n| Decimal::from(raws[n % raws.len()])), &vetoed);
        prop_assert_eq!(grade, Grade::Fail);
    }
}
