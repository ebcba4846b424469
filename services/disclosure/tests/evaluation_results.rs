//! The evaluation service's results in the log: only the subject, year, grade and rectification outcome are public
//! (R-EV-08, REVIEW-EVALUATION §3.11), in the entry, its page and the feeds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_disclosure::verify::verify;
use pdop_proto::common::{Actor, Date, DateRange, Decimal};
use pdop_proto::disclosure::v1::{Entry, EntryKind};
use pdop_proto::evaluation::events::v1::{EvaluationCompleted, EvaluationSummary};
use pdop_proto::evaluation::v1::{EvaluationConsequence, EvaluationGrade, EvaluationSubjectKind};
use prost::Message;

const COMPLETED: &str = "pdop.evaluation.evaluation.completed";
const SCORE: &str = "72.50";
const OPINION: &str = "数据安全管理制度不健全，需限期整改";

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// A 2025 result for the operator with everything an evaluation decides: score, veto, override, consequences,
/// opinion, order, campaign, agreement and period.
fn completed(grade: EvaluationGrade, rectification_pending: bool, re_evaluation: bool) -> Vec<u8> {
    EvaluationCompleted {
        evaluation: Some(EvaluationSummary {
            name: "evaluations/ev-1".into(),
            campaign: "evaluationCampaigns/camp-2025".into(),
            subject: org("organizations/operator", "云南数据运营有限公司"),
            subject_kind: EvaluationSubjectKind::Operator as i32,
            agreement: "agreements/agr-9".into(),
            jurisdiction: yunnan(),
            year: 2025,
            evaluating_organization: org("organizations/agency", "云南省数据局"),
            covered_period: Some(DateRange {
                start_date: date(2025, 1, 1),
                end_date: date(2025, 12, 31),
            }),
        }),
        grade: grade as i32,
        total_score: Some(Decimal { value: SCORE.into() }),
        vetoed: true,
        grade_overridden: true,
        rectification_pending,
        re_evaluation,
        consequences: vec![
            EvaluationConsequence::Rectification as i32,
            EvaluationConsequence::PrincipalInterview as i32,
        ],
        rectification_order: "rectificationOrders/ro-3".into(),
        summary: OPINION.into(),
        actor: Some(Actor {
            subject: "staff-secret-9".into(),
            ..Default::default()
        }),
    }
    .encode_to_vec()
}

/// Publishes `payload` as the evaluation service's relay would and returns the entry it became.
async fn published(h: &Harness, payload: Vec<u8>) -> Entry {
    h.publish(COMPLETED, "e-ev-1", "e-ev-1", "evaluations/ev-1", payload)
        .await;
    h.until(
        "the evaluation result is an entry",
        "SELECT count(*) = 1 FROM entries WHERE source_event_id = 'e-ev-1'",
    )
    .await;
    let mut entries = h.entries().await;
    assert_eq!(entries.len(), 1);
    entries.remove(0)
}

/// The entry's (key, value) pairs.
fn fields(entry: &Entry) -> Vec<(&str, &str)> {
    entry
        .body
        .iter()
        .flat_map(|b| &b.fields)
        .map(|f| (f.key.as_str(), f.value.as_str()))
        .collect()
}

// R-EV-08, REVIEW-EVALUATION §3.11: an evaluation result publishes the subject, year, grade (限期整改, S-YN Art.26)
// and 整改中, and never the score, veto, override, consequences, opinion, order, campaign, agreement or period:
// not in the entry, not on its page, not in the Atom or JSON feed.
#[tokio::test]
async fn an_evaluation_result_publishes_only_subject_year_grade_and_rectification() {
    let h = start().await;
    let entry = published(&h, completed(EvaluationGrade::Rectify, true, false)).await;
    assert_eq!(entry.kind, EntryKind::EvaluationResult as i32);
    assert!(entry.title.starts_with("评价结果"), "{}", entry.title);
    assert_eq!(
        fields(&entry),
        [
            ("subject", "organizations/operator"),
            ("subject_display_name", "云南数据运营有限公司"),
            ("year", "2025"),
            ("grade", "EVALUATION_GRADE_RECTIFY"),
            ("rectification_pending", "整改中"),
        ]
    );
    let text = &entry.body.as_ref().unwrap().text;
    assert!(text.contains("评价结果：限期整改"), "{text}");
    assert!(text.contains("整改情况：整改中"), "{text}");
    // The entry is filed in its jurisdiction and disclosed by the evaluating organization.
    assert_eq!(
        entry.jurisdiction.as_ref().map(|j| j.name.as_str()),
        Some("jurisdictions/yunnan")
    );
    assert_eq!(
        entry.discloser.as_ref().map(|d| d.name.as_str()),
        Some("organizations/agency")
    );

    let page = h.public_text("/entries/0").await;
    assert!(page.contains("限期整改") && page.contains("整改中"), "{page}");
    let published = [
        ("entry", format!("{:?}", entry.body)),
        ("title", entry.title.clone()),
        ("page", page),
        ("atom", h.public_text("/feeds/all.atom").await),
        ("json feed", h.public_text("/feeds/all.json").await),
    ];
    let never = [
        SCORE,
        OPINION,
        "rectificationOrders/ro-3",
        "evaluationCampaigns/camp-2025",
        "agreements/agr-9",
        "2025-01-01",
        "2025-12-31",
        "CONSEQUENCE",
        "约谈",
        "staff-secret-9",
        "vetoed",
        "grade_overridden",
        "total_score",
        "covered_period",
        "true",
    ];
    for (place, published) in &published {
        for secret in never {
            assert!(
                !published.contains(secret),
                "{secret} is in the {place}: {published}"
            );
        }
    }

    h.signed(1).await;
    verify(&h.http, None, &[0]).await.unwrap();
}

// REVIEW-EVALUATION §3.11: the re-evaluation after rectification is the rectification outcome, published as
// 整改后再次评估 with its grade (通过, S-YN Art.26).
#[tokio::test]
async fn a_re_evaluation_is_published_as_the_rectification_outcome() {
    let h = start().await;
    let entry = published(&h, completed(EvaluationGrade::Pass, false, true)).await;
    assert_eq!(
        fields(&entry),
        [
            ("subject", "organizations/operator"),
            ("subject_display_name", "云南数据运营有限公司"),
            ("year", "2025"),
            ("grade", "EVALUATION_GRADE_PASS"),
            ("re_evaluation", "整改后再次评估"),
        ]
    );
    let text = &entry.body.as_ref().unwrap().text;
    assert!(text.contains("评价结果：通过"), "{text}");
    assert!(text.contains("整改情况：整改后再次评估"), "{text}");
    let page = h.public_text("/entries/0").await;
    assert!(
        page.contains("<td>通过</td>") && page.contains("整改后再次评估"),
        "{page}"
    );
    assert!(!page.contains(SCORE) && !page.contains(OPINION), "{page}");

    h.signed(1).await;
    verify(&h.http, None, &[0]).await.unwrap();
}
