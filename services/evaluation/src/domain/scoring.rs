//! Scores and results (§3.4), in exact decimals. An indicator's raw score is entered (MANUAL) or computed from the
//! measured value (BANDED, PROPORTIONAL, DEDUCTION, BINARY). The total is
//! Σ_d Σ_i raw_i / max_i × w_i × w_d × 100, rounded once at the end to 2 places half-up (inferred); the grade is
//! the first threshold the total reaches, unless a veto is triggered (then the scheme's veto grade). Every figure
//! is explained in `calculation_steps`, as pricing explains its calculations.

use pdop_proto::evaluation::v1::{
    DimensionScore, EvaluationGrade, EvaluationResult, Indicator, IndicatorScore, IndicatorSystem,
    ScoringMethod, VetoFinding,
};
use rust_decimal::Decimal;

use super::decimals::{self, pb, stored};
use super::grading;
use super::indicator_system::indicators;

/// What the evaluator records for one indicator, read and checked.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub raw: Option<Decimal>,
    pub value: Option<Decimal>,
    pub occurrences: i32,
    pub met: bool,
}

/// The raw score of `ind` from what was measured; `None` when the method needs a value that is missing.
pub fn raw_score(ind: &Indicator, m: &Measured) -> Option<Decimal> {
    let max = stored(ind.max_score.as_ref());
    match ScoringMethod::try_from(ind.scoring_method).unwrap_or_default() {
        ScoringMethod::Manual => m.raw,
        ScoringMethod::Banded => {
            let value = m.value?;
            ind.bands
                .iter()
                .find(|b| {
                    let upper = b.upper.as_ref().filter(|u| !u.value.is_empty());
                    stored(b.lower.as_ref()) <= value && upper.is_none_or(|u| value < stored(Some(u)))
                })
                .map(|b| stored(b.score.as_ref()))
        }
        ScoringMethod::Proportional => {
            let target = stored(ind.target.as_ref());
            let value = m.value?.max(Decimal::ZERO);
            (target > Decimal::ZERO).then(|| (value / target).min(Decimal::ONE) * max)
        }
        ScoringMethod::Deduction => {
            let per = stored(ind.deduction_per_occurrence.as_ref());
            Some((max - per * Decimal::from(m.occurrences.max(0))).max(Decimal::ZERO))
        }
        ScoringMethod::Binary => Some(if m.met { max } else { Decimal::ZERO }),
        ScoringMethod::Unspecified => None,
    }
}

/// raw / max × indicator weight × dimension weight × 100, unrounded.
pub fn weighted(ind: &Indicator, dimension_weight: Decimal, raw: Decimal) -> Decimal {
    let max = stored(ind.max_score.as_ref());
    if max <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    raw / max * stored(ind.weight.as_ref()) * dimension_weight * Decimal::ONE_HUNDRED
}

/// The computed result, what is still missing (indicator keys, veto keys), and nothing decided yet.
pub struct Calculated {
    pub result: EvaluationResult,
    pub missing_indicators: Vec<String>,
    pub missing_veto_findings: Vec<String>,
}

/// Computes the result from the recorded scores and veto findings; changes nothing.
pub fn calculate(system: &IndicatorSystem, scores: &[IndicatorScore], vetoes: &[VetoFinding]) -> Calculated {
    let mut steps = Vec::new();
    let mut missing = Vec::new();
    let mut total = Decimal::ZERO;
    let mut dimension_scores = Vec::new();
    for dim in &system.dimensions {
        let dw = stored(dim.weight.as_ref());
        let mut within = Decimal::ZERO;
        for ind in &dim.indicators {
            let Some(score) = scores.iter().find(|s| s.indicator_key == ind.key) else {
                missing.push(ind.key.clone());
                continue;
            };
            let raw = stored(score.raw_score.as_ref());
            let max = stored(ind.max_score.as_ref());
            let w = weighted(ind, dw, raw);
            within += raw / max * stored(ind.weight.as_ref()) * Decimal::ONE_HUNDRED;
            total += w;
            steps.push(format!(
                "{} {}/{}: {raw} / {max} × {} × {dw} × 100 = {}",
                dim.display_name,
                ind.display_name,
                ind.key,
                stored(ind.weight.as_ref()).normalize(),
                w.normalize()
            ));
        }
        dimension_scores.push(DimensionScore {
            dimension_key: dim.key.clone(),
            score: Some(pb(within)),
            weighted_score: Some(pb(within * dw)),
        });
    }
    let rounded = decimals::total(total);
    steps.push(format!(
        "total: {} rounded once to 2 places half-up = {rounded}",
        total.normalize()
    ));
    let scheme = system.grading.clone().unwrap_or_default();
    let computed = scheme
        .thresholds
        .iter()
        .find(|t| rounded >= stored(t.min_score.as_ref()))
        .map_or(EvaluationGrade::Unspecified, |t| grading::grade(t.grade));
    let triggered: Vec<String> = vetoes
        .iter()
        .filter(|f| f.triggered)
        .map(|f| f.veto_key.clone())
        .collect();
    let vetoed = !triggered.is_empty();
    let grade = if vetoed {
        steps.push(format!(
            "veto triggered ({}): the grade is {}",
            triggered.join(", "),
            grading::label(grading::grade(scheme.veto_grade))
        ));
        grading::grade(scheme.veto_grade)
    } else {
        steps.push(format!(
            "grade: the first threshold reached by {rounded} gives {}",
            grading::label(computed)
        ));
        computed
    };
    let missing_veto_findings = system
        .veto_items
        .iter()
        .filter(|v| !vetoes.iter().any(|f| f.veto_key == v.key))
        .map(|v| v.key.clone())
        .collect();
    Calculated {
        result: EvaluationResult {
            total_score: Some(pdop_proto::common::Decimal {
                value: rounded.to_string(),
            }),
            dimension_scores,
            computed_grade: grade as i32,
            grade: grade as i32,
            vetoed,
            triggered_vetoes: triggered,
            calculation_steps: steps,
            ..Default::default()
        },
        missing_indicators: missing,
        missing_veto_findings,
    }
}

/// The dimension key of each indicator key.
pub fn dimension_of<'a>(system: &'a IndicatorSystem, key: &str) -> Option<(&'a str, &'a Indicator, Decimal)> {
    indicators(system)
        .find(|(_, i)| i.key == key)
        .map(|(d, i)| (d.key.as_str(), i, stored(d.weight.as_ref())))
}
