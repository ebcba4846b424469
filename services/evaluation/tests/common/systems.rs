//! Indicator systems to test with: small, valid under the profile they are written for, easy to break one rule.

use pdop_proto::common::Decimal;
use pdop_proto::evaluation::v1::{
    Dimension, EvaluationGrade as Grade, EvaluationSubjectKind as Kind, GradeThreshold, GradingScheme,
    GradingSchemeKind as Scheme, Indicator, IndicatorSystem, ScoringBand, ScoringMethod as Method, VetoItem,
    VetoKind,
};

use super::World;

pub fn dec(value: &str) -> Option<Decimal> {
    Some(Decimal {
        value: value.to_owned(),
    })
}

pub fn indicator(key: &str, weight: &str, method: Method) -> Indicator {
    Indicator {
        key: key.into(),
        display_name: format!("指标 {key}"),
        weight: dec(weight),
        max_score: dec("100"),
        scoring_method: method as i32,
        ..Default::default()
    }
}

pub fn dimension(key: &str, name: &str, weight: &str, indicators: Vec<Indicator>) -> Dimension {
    Dimension {
        key: key.into(),
        display_name: name.into(),
        weight: dec(weight),
        indicators,
        ..Default::default()
    }
}

fn threshold(grade: Grade, min: &str) -> GradeThreshold {
    GradeThreshold {
        grade: grade as i32,
        min_score: dec(min),
    }
}

/// Yunnan's scheme (S-YN Art.26 grades; thresholds PASS ≥80, RECTIFY ≥60 inferred).
pub fn pass_fail_rectify() -> GradingScheme {
    GradingScheme {
        kind: Scheme::PassFailRectify as i32,
        thresholds: vec![
            threshold(Grade::Pass, "80"),
            threshold(Grade::Rectify, "60"),
            threshold(Grade::Fail, "0"),
        ],
        veto_grade: Grade::Fail as i32,
        rectification_grades: vec![Grade::Rectify as i32],
    }
}

/// The inferred scheme of every other profile: PASS ≥60.
pub fn pass_fail() -> GradingScheme {
    GradingScheme {
        kind: Scheme::PassFail as i32,
        thresholds: vec![threshold(Grade::Pass, "60"), threshold(Grade::Fail, "0")],
        veto_grade: Grade::Fail as i32,
        rectification_grades: Vec::new(),
    }
}

pub fn four_level() -> GradingScheme {
    GradingScheme {
        kind: Scheme::FourLevel as i32,
        thresholds: vec![
            threshold(Grade::Excellent, "90"),
            threshold(Grade::Good, "80"),
            threshold(Grade::Qualified, "60"),
            threshold(Grade::Unqualified, "0"),
        ],
        veto_grade: Grade::Unqualified as i32,
        rectification_grades: Vec::new(),
    }
}

pub fn security_veto() -> VetoItem {
    VetoItem {
        key: "major_incident".into(),
        display_name: "重大安全事件".into(),
        kind: VetoKind::MajorSecurityIncident as i32,
        ..Default::default()
    }
}

/// An operator system of two dimensions (0.5 / 0.5): `quality` (one MANUAL indicator) and `compliance`
/// (a BANDED and a DEDUCTION indicator, 0.5 each), with one security veto.
pub fn operator_system(w: &World, grading: GradingScheme) -> IndicatorSystem {
    let banded = Indicator {
        bands: vec![
            ScoringBand {
                lower: dec("0"),
                upper: dec("5"),
                score: dec("40"),
                label: "少于 5 项".into(),
            },
            ScoringBand {
                lower: dec("5"),
                upper: dec("20"),
                score: dec("70"),
                label: "5–19 项".into(),
            },
            ScoringBand {
                lower: dec("20"),
                upper: None,
                score: dec("100"),
                label: "≥20 项".into(),
            },
        ],
        ..indicator("products_listed", "0.5", Method::Banded)
    };
    let deduction = Indicator {
        deduction_per_occurrence: dec("10"),
        ..indicator("deadlines_missed", "0.5", Method::Deduction)
    };
    IndicatorSystem {
        display_name: format!("{} 2025 运营机构", w.profile),
        jurisdiction: w.jurisdiction(),
        subject_kind: Kind::Operator as i32,
        year: 2025,
        dimensions: vec![
            dimension(
                "quality",
                "运营成效",
                "0.5",
                vec![indicator("outcomes", "1", Method::Manual)],
            ),
            dimension("compliance", "安全合规", "0.5", vec![banded, deduction]),
        ],
        veto_items: vec![security_veto()],
        grading: Some(grading),
        ..Default::default()
    }
}

/// Hubei's data-provider system (S-HB §四(七)2 dimensions; weights 0.4 / 0.3 / 0.3 and PASS ≥60 inferred):
/// 数据质量 MANUAL, 审核时效 DEDUCTION 10 per missed deadline, 应用情况 BINARY.
pub fn provider_system(w: &World) -> IndicatorSystem {
    let timeliness = Indicator {
        deduction_per_occurrence: dec("10"),
        ..indicator("review_timeliness_i", "1", Method::Deduction)
    };
    IndicatorSystem {
        display_name: "湖北 2026 数据提供单位".into(),
        jurisdiction: w.jurisdiction(),
        subject_kind: Kind::DataProvider as i32,
        year: 2026,
        dimensions: vec![
            dimension(
                "data_quality",
                "数据质量",
                "0.4",
                vec![indicator("data_quality_i", "1", Method::Manual)],
            ),
            dimension("review_timeliness", "审核时效", "0.3", vec![timeliness]),
            dimension(
                "application",
                "应用情况",
                "0.3",
                vec![indicator("application_i", "1", Method::Binary)],
            ),
        ],
        grading: Some(pass_fail()),
        ..Default::default()
    }
}
