//! Requests for rectification orders and operator reports, and what the service announced about them.

use chrono::NaiveDate;
use pdop_kit::convert::due_date;
use pdop_proto::common::{Date, Deadline, DocumentRef};
use pdop_proto::evaluation::events::v1::OperatorReportOverdue;
use pdop_proto::evaluation::v1::{
    CreateOperatorReportRequest, CreateRectificationOrderRequest, IssueMeasure, OperatorReport,
    RectificationIssue, RectificationOrder, RectificationPlan, RectificationReport, RectificationSource,
    RectificationVerification, ReportContentItem, ReportContentKind, ReportKind, SubmitOperatorReportRequest,
    SubmitRectificationPlanRequest, SubmitRectificationReportRequest, VerificationOutcome,
    VerifyRectificationRequest,
};
use prost::Message;

use super::Harness;

/// Asserts the status code and `ErrorInfo.reason` of a refusal.
pub fn refused(err: &tonic::Status, code: tonic::Code, why: &str) {
    assert_eq!(
        (err.code(), pdop_testkit::reason(err).as_str()),
        (code, why),
        "{err:?}"
    );
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The due date, whether it is provisional, its rule and its source.
pub fn due(d: Option<&Deadline>) -> (NaiveDate, bool, String, String) {
    let d = d.expect("a deadline");
    let source = d.source.clone().unwrap_or_default();
    (
        due_date(Some(d)).unwrap(),
        d.provisional,
        source.rule_id,
        source.source_id,
    )
}

pub fn document() -> DocumentRef {
    DocumentRef {
        uri: "doc://evaluation/document.pdf".into(),
        sha256: "a".repeat(64),
        ..Default::default()
    }
}

/// An order of `source` to `subject` (on `agreement`, if any) with two issues, due on `due` when given.
pub fn order(
    source: RectificationSource,
    subject: &str,
    agreement: &str,
    due: Option<Date>,
) -> CreateRectificationOrderRequest {
    let issue = |text: &str| RectificationIssue {
        description: text.into(),
        required_action: "限期整改".into(),
        ..Default::default()
    };
    CreateRectificationOrderRequest {
        rectification_order: Some(RectificationOrder {
            source: source as i32,
            subject: subject.into(),
            agreement: agreement.into(),
            issues: vec![issue("超范围使用公共数据"), issue("安全审计日志缺失")],
            requested_due_date: due,
            order_document: Some(document()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn measures(o: &RectificationOrder, text: &str) -> Vec<IssueMeasure> {
    o.issues
        .iter()
        .map(|i| IssueMeasure {
            issue_key: i.key.clone(),
            measure: format!("{text} {}", i.key),
            evidence: vec![document()],
        })
        .collect()
}

/// A plan with one measure per issue, completed by `planned`.
pub fn plan(o: &RectificationOrder, planned: Date) -> SubmitRectificationPlanRequest {
    SubmitRectificationPlanRequest {
        name: o.name.clone(),
        plan: Some(RectificationPlan {
            measures: measures(o, "整改措施"),
            planned_completion_date: Some(planned),
            responsible: "安全管理部".into(),
            document: Some(document()),
            ..Default::default()
        }),
        etag: o.etag.clone(),
        ..Default::default()
    }
}

/// A report covering every issue.
pub fn report(o: &RectificationOrder) -> SubmitRectificationReportRequest {
    SubmitRectificationReportRequest {
        name: o.name.clone(),
        report: Some(RectificationReport {
            actions: measures(o, "已完成"),
            summary: "整改完成".into(),
            document: Some(document()),
            ..Default::default()
        }),
        etag: o.etag.clone(),
        ..Default::default()
    }
}

pub fn verification(o: &RectificationOrder, outcome: VerificationOutcome) -> VerifyRectificationRequest {
    let unresolved = match outcome {
        VerificationOutcome::Failed => vec![o.issues[0].key.clone()],
        _ => Vec::new(),
    };
    VerifyRectificationRequest {
        name: o.name.clone(),
        verification: Some(RectificationVerification {
            outcome: outcome as i32,
            comments: "验收意见".into(),
            unresolved_issue_keys: unresolved,
            ..Default::default()
        }),
        etag: o.etag.clone(),
        ..Default::default()
    }
}

/// A report of `kind` on `agreement` for `year` (and `quarter`), covering `items`, with its document.
pub fn operator_report(
    agreement: &str,
    kind: ReportKind,
    year: i32,
    quarter: i32,
    items: &[ReportContentKind],
) -> CreateOperatorReportRequest {
    CreateOperatorReportRequest {
        operator_report: Some(OperatorReport {
            agreement: agreement.into(),
            kind: kind as i32,
            year,
            quarter,
            content_items: items
                .iter()
                .map(|k| ReportContentItem {
                    kind: *k as i32,
                    present: true,
                    section: "第二章".into(),
                })
                .collect(),
            document: Some(document()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn submit(r: &OperatorReport) -> SubmitOperatorReportRequest {
    SubmitOperatorReportRequest {
        name: r.name.clone(),
        etag: r.etag.clone(),
        ..Default::default()
    }
}

/// Every OperatorReportOverdue the service enqueued about `agreement`, oldest first.
pub async fn overdue_reports(h: &Harness, agreement: &str) -> Vec<OperatorReportOverdue> {
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE subject = 'pdop.evaluation.operator_report.overdue' AND ce_subject = $1
         ORDER BY seq",
    )
    .bind(agreement)
    .fetch_all(&h.db.pool)
    .await
    .unwrap();
    payloads
        .iter()
        .map(|p| OperatorReportOverdue::decode(p.as_slice()).unwrap())
        .collect()
}

/// The (kind, year, quarter, report) of each overdue report of `agreement`.
pub async fn overdue_periods(h: &Harness, agreement: &str) -> Vec<(i32, i32, i32, String)> {
    overdue_reports(h, agreement)
        .await
        .into_iter()
        .map(|e| (e.kind, e.year, e.quarter, e.report))
        .collect()
}

/// Waits until the scheduler has settled the report period of `agreement` as of the clock's day.
pub async fn settled(h: &Harness, agreement: &str, kind: ReportKind, year: i32, quarter: i32) {
    let id = agreement.trim_start_matches("agreements/");
    h.until(
        &format!("{agreement} {kind:?} {year} Q{quarter} is settled"),
        &format!(
            "SELECT EXISTS (SELECT 1 FROM operator_report_dues WHERE agreement_id = '{id}' AND kind = {}
                 AND year = {year} AND quarter = {quarter})",
            kind as i32
        ),
    )
    .await;
}
