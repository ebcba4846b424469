//! Renders a derivation as text a person can read, one numbered line per step.

use pdop_proto::pricing::v1::{CalculationStep, RoundingMode};

/// "3. 准许利润率 r：r = Y + m；r = 0.017 + 0.06 = 0.077（不舍入；N1 §三(一)）"
pub fn render(steps: &[CalculationStep]) -> String {
    steps
        .iter()
        .map(|s| {
            let rounding = match s
                .rounding
                .as_ref()
                .map(|r| (RoundingMode::try_from(r.mode).unwrap_or_default(), r.scale))
            {
                Some((RoundingMode::HalfUp, scale)) => format!("四舍五入到{scale}位小数"),
                Some((RoundingMode::HalfEven, scale)) => format!("银行家舍入到{scale}位小数"),
                Some((RoundingMode::Down, scale)) => format!("截尾到{scale}位小数"),
                _ => "不舍入".to_owned(),
            };
            let source = s
                .source
                .as_ref()
                .map(|c| format!("{} {}", c.source_id, c.article).trim().to_owned())
                .unwrap_or_default();
            let inferred = if s.inferred { "；可配置推定" } else { "" };
            format!(
                "{}. {}：{}；{}（{rounding}；{source}{inferred}）",
                s.index, s.label, s.formula, s.substituted
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::mar::tests::inputs;
    use super::super::{Tax, compute_mar};
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn every_step_is_a_numbered_line_with_its_formula_values_rounding_and_source() {
        let out = compute_mar(&inputs(
            dec!(8000000),
            dec!(0.06),
            Tax::IncomeTaxGrossUp { rate: dec!(0.25) },
        ))
        .unwrap();
        let text = render(&out.result.steps);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 11);
        assert_eq!(
            lines[3],
            "4. 准许利润率 r：r = Y + m；r = 0.017 + 0.06 = 0.077（不舍入；N1 §三(一)）"
        );
        assert_eq!(
            lines[4],
            "5. 准许利润 P：P = C × r；P = 8000000.00 × 0.077 = 616000.00（四舍五入到2位小数；N1 §三(一)）"
        );
        assert!(
            lines[5].contains("205333.33") && lines[5].ends_with("可配置推定）"),
            "{}",
            lines[5]
        );
    }
}
