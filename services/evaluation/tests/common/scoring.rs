//! Scoring requests shared by the evaluation tests.

use chrono::NaiveDate;
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::{IndicatorScore, SelfAssessment, SelfAssessmentEntry, VetoFinding};

use super::systems::dec;

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn score(key: &str) -> IndicatorScore {
    IndicatorScore {
        indicator_key: key.into(),
        ..Default::default()
    }
}

/// Scores of `operator_system` giving 37.5 + 17.5 + 17.5 = 72.50 (outcomes 75; 10 products → 70; 3 misses → 70).
pub fn scores_72_50() -> Vec<IndicatorScore> {
    vec![
        IndicatorScore {
            raw_score: dec("75"),
            comment: "运营成效良好".into(),
            ..score("outcomes")
        },
        IndicatorScore {
            measured_value: dec("10"),
            ..score("products_listed")
        },
        IndicatorScore {
            occurrences: 3,
            ..score("deadlines_missed")
        },
    ]
}

pub fn scores_req(e: &str, scores: Vec<IndicatorScore>) -> pb::RecordIndicatorScoresRequest {
    pb::RecordIndicatorScoresRequest {
        name: e.into(),
        scores,
        ..Default::default()
    }
}

pub fn veto(e: &str, triggered: bool, facts: &str) -> pb::RecordVetoFindingRequest {
    pb::RecordVetoFindingRequest {
        name: e.into(),
        finding: Some(VetoFinding {
            veto_key: "major_incident".into(),
            triggered,
            facts: facts.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn self_assessment(e: &str, declared: bool) -> pb::SubmitSelfAssessmentRequest {
    pb::SubmitSelfAssessmentRequest {
        name: e.into(),
        self_assessment: Some(SelfAssessment {
            entries: vec![SelfAssessmentEntry {
                indicator_key: "outcomes".into(),
                self_score: dec("90"),
                ..Default::default()
            }],
            summary: "自评".into(),
            truthfulness_declared: declared,
            ..Default::default()
        }),
        ..Default::default()
    }
}
