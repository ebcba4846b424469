//! Operator reports over gRPC (REVIEW-EVALUATION §3.7): scenario S10 in Henan, Laiyuan, Hubei, Zhengzhou and
//! Yunnan, with the overdue scheduler.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::orders::{day, due, operator_report, overdue_periods, overdue_reports, settled, submit};
use common::{Harness, World, date, period};
use pdop_kit::auth::Role;
use pdop_proto::common::{DeadlineUnit, OrganizationRole};
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1::{
    AcceptOperatorReportRequest, OperatorReport, OperatorReportState as State, ReportContentKind as Item,
    ReportKind, ReturnOperatorReportRequest, UpdateOperatorReportRequest,
};
use pdop_testkit::{acting, assert_invalid, reason};
use tonic::Code;

const QUARTERLY: i32 = ReportKind::Quarterly as i32;
const ANNUAL: i32 = ReportKind::Annual as i32;

async fn create(
    h: &mut Harness,
    w: &World,
    kind: ReportKind,
    year: i32,
    quarter: i32,
    items: &[Item],
) -> OperatorReport {
    let r = operator_report(&w.agreement(), kind, year, quarter, items);
    let r = h.client.create_operator_report(w.as_operator(r)).await.unwrap();
    r.into_inner().operator_report.unwrap()
}

/// The day the scheduler settled a period of `agreement`, in China.
async fn settled_on(
    h: &Harness,
    agreement: &str,
    kind: i32,
    year: i32,
    quarter: i32,
) -> (chrono::NaiveDate, bool) {
    sqlx::query_as(
        "SELECT (settled_at AT TIME ZONE 'Asia/Shanghai')::date, overdue FROM operator_report_dues
         WHERE agreement_id = $1 AND kind = $2 AND year = $3 AND quarter = $4",
    )
    .bind(agreement.trim_start_matches("agreements/"))
    .bind(i16::try_from(kind).unwrap())
    .bind(year)
    .bind(quarter)
    .fetch_one(&h.db.pool)
    .await
    .unwrap()
}

/// A request of S10's second Henan operator.
fn as_op2<T>(w: &World, m: T) -> tonic::Request<T> {
    acting(&w.org("op2"), &[Role::Operator], m)
}

fn items(r: &OperatorReport, kinds: &[Item]) -> UpdateOperatorReportRequest {
    let mut from = operator_report(&r.agreement, ReportKind::Annual, r.year, 0, kinds)
        .operator_report
        .unwrap();
    from.name = r.name.clone();
    from.etag = r.etag.clone();
    UpdateOperatorReportRequest {
        operator_report: Some(from),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["content_items".into()],
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn henan_reports_are_due_quarterly_and_by_31_march_and_a_resubmission_keeps_late() {
    let mut h = common::start_on(day(2026, 1, 10)).await;
    let w = h.world("henan").await;
    // S10: a second operator, whose agreement has been ACTIVE since 2025-07-01.
    let op2 = w.org("op2");
    let a2 = "agreements/henan-a2";
    h.organization(&w, &op2, OrganizationRole::Operator).await;
    h.agreement(
        &w,
        a2,
        &op2,
        period(date(2025, 7, 1), date(2029, 12, 31)),
        "a-henan-2",
    )
    .await;
    h.until(
        "a2 is known",
        "SELECT EXISTS (SELECT 1 FROM agreements WHERE id = 'henan-a2')",
    )
    .await;
    let mut reports = Vec::new();
    for (year, quarter) in [(2025, 3), (2025, 4), (2026, 4)] {
        let r = operator_report(a2, ReportKind::Quarterly, year, quarter, &[]);
        reports.push(
            h.client
                .create_operator_report(as_op2(&w, r))
                .await
                .unwrap()
                .into_inner()
                .operator_report
                .unwrap(),
        );
    }
    // D24: 15 CD after the quarter's last day, inferred from S-HN Art.22 (按季度报送, no date).
    let (q3, q4, q4_2026) = (&reports[0], &reports[1], &reports[2]);
    let (d, provisional, rule, source) = due(q3.due.as_ref());
    assert_eq!((d, provisional, rule.as_str()), (day(2025, 10, 15), false, "D24"));
    assert!(source.starts_with("inferred — S-HN Art.22"), "{source}");
    assert_eq!(due(q4.due.as_ref()).0, day(2026, 1, 15));
    // R-EV-10: 2027 is past the loaded calendar.
    assert_eq!(due(q4_2026.due.as_ref()).0, day(2027, 1, 15));
    assert!(due(q4_2026.due.as_ref()).1);
    // S-HN Art.22: to the implementing agency and the same-level data authority.
    assert_eq!(q4.recipients, [w.ia(), w.da()]);
    assert_eq!(
        (q4.operator.as_str(), q4.state),
        (op2.as_str(), State::Draft as i32)
    );

    // The Q4 report is missing on its due date: announced once on Fri 2026-01-16, naming the draft.
    h.advance_days(5); // 01-15
    settled(&h, a2, ReportKind::Quarterly, 2025, 3).await;
    h.advance_days(1); // 01-16
    settled(&h, a2, ReportKind::Quarterly, 2025, 4).await;
    assert_eq!(
        settled_on(&h, a2, QUARTERLY, 2025, 4).await,
        (day(2026, 1, 16), true)
    );
    let periods: Vec<_> = overdue_periods(&h, a2)
        .await
        .into_iter()
        .map(|(k, y, q, _)| (k, y, q))
        .collect();
    assert_eq!(
        periods,
        [(QUARTERLY, 2025, 3), (QUARTERLY, 2025, 4)],
        "Q1 and Q2 2025 precede the agreement"
    );
    let e = &overdue_reports(&h, a2).await[1];
    assert_eq!(e.report, q4.name, "the draft is named");
    assert_eq!(e.operator.as_ref().unwrap().display_name, "henan-op2 名称");
    assert_eq!(due(e.deadline.as_ref()).0, day(2026, 1, 15));

    // D25, S-HN Art.22 "每年第一季度报送上一年度…总结报告": due 2026-03-31, a fixed date.
    let annual = operator_report(a2, ReportKind::Annual, 2025, 0, &[]);
    let annual = h
        .client
        .create_operator_report(as_op2(&w, annual))
        .await
        .unwrap()
        .into_inner()
        .operator_report
        .unwrap();
    let (d, _, rule, source) = due(annual.due.as_ref());
    assert_eq!(
        (d, rule.as_str(), source.as_str()),
        (day(2026, 3, 31), "D25", "S-HN Art.22")
    );
    assert_eq!(annual.due.as_ref().unwrap().unit, DeadlineUnit::FixedDate as i32);
    assert_eq!(annual.recipients, [w.ia(), w.da()]);
    let again = operator_report(a2, ReportKind::Annual, 2025, 0, &[]);
    let err = h
        .client
        .create_operator_report(as_op2(&w, again))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::AlreadyExists, "REPORT_EXISTS")
    );
    // S-HN Art.22 "报告应当包含二级开发主体…再开发利用情况".
    let err = h
        .client
        .submit_operator_report(as_op2(&w, submit(&annual)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "CONTENT_MISSING")
    );
    assert!(
        err.message().contains("REDEVELOPMENT_BY_DEVELOPERS"),
        "{}",
        err.message()
    );
    let annual = h
        .client
        .update_operator_report(as_op2(&w, items(&annual, &[Item::RedevelopmentByDevelopers])))
        .await;
    let annual = annual.unwrap().into_inner().operator_report.unwrap();

    // Tue 03-31: on time.
    h.advance_days(74);
    let annual = h
        .client
        .submit_operator_report(as_op2(&w, submit(&annual)))
        .await
        .unwrap();
    let annual = annual.into_inner().operator_report.unwrap();
    assert_eq!((annual.state, annual.late), (State::Submitted as i32, false));
    let e: ev::OperatorReportSubmitted = h
        .event("pdop.evaluation.operator_report.submitted", &annual.name)
        .await;
    assert!(!e.late && !e.resubmission);
    // 04-01: the annual report is settled as on time, and Q4 is not announced a second time.
    h.advance_days(1);
    settled(&h, a2, ReportKind::Annual, 2025, 0).await;
    assert_eq!(
        settled_on(&h, a2, ANNUAL, 2025, 0).await,
        (day(2026, 4, 1), false)
    );
    assert_eq!(overdue_reports(&h, a2).await.len(), 2);

    // Thu 04-02: the implementing agency returns it, with a reason.
    h.advance_days(1);
    let back = |reason: &str| ReturnOperatorReportRequest {
        name: annual.name.clone(),
        reason: reason.into(),
        etag: annual.etag.clone(),
        ..Default::default()
    };
    let err = h
        .client
        .return_operator_report(w.as_ia(back(" ")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["reason"]);
    let returned = h
        .client
        .return_operator_report(w.as_ia(back("补充二级开发主体名单")))
        .await
        .unwrap();
    let returned = returned.into_inner().operator_report.unwrap();
    assert_eq!(
        (returned.state, returned.return_reason.as_str()),
        (State::Returned as i32, "补充二级开发主体名单")
    );
    let e: ev::OperatorReportReturned = h
        .event("pdop.evaluation.operator_report.returned", &annual.name)
        .await;
    assert_eq!(e.actor.unwrap().organization, w.ia());

    // Tue 04-07, after Qingming (04-04…06): the resubmission keeps late=false.
    h.advance_days(5);
    let resubmitted = h
        .client
        .submit_operator_report(as_op2(&w, submit(&returned)))
        .await
        .unwrap();
    let resubmitted = resubmitted.into_inner().operator_report.unwrap();
    assert_eq!(
        (resubmitted.state, resubmitted.late),
        (State::Submitted as i32, false)
    );
    let events = h
        .events("pdop.evaluation.operator_report.submitted", &annual.name)
        .await;
    assert_eq!(events, 2);
    let accept = AcceptOperatorReportRequest {
        name: resubmitted.name.clone(),
        comments: "已接收".into(),
        etag: resubmitted.etag.clone(),
        ..Default::default()
    };
    let accepted = h
        .client
        .accept_operator_report(w.as_da(accept.clone()))
        .await
        .unwrap();
    let accepted = accepted.into_inner().operator_report.unwrap();
    assert_eq!(accepted.state, State::Accepted as i32);
    assert_eq!(accepted.accepted.unwrap().actor.unwrap().organization, w.da());
    assert_eq!(
        h.events("pdop.evaluation.operator_report.accepted", &annual.name)
            .await,
        1
    );
    let err = h
        .client
        .accept_operator_report(w.as_ia(AcceptOperatorReportRequest {
            etag: String::new(),
            ..accept
        }))
        .await;
    let err = err.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "WRONG_STATE")
    );
}

#[tokio::test]
async fn a_missing_laiyuan_annual_report_is_overdue_on_1_april() {
    let h = common::start_on(day(2026, 3, 30)).await;
    let w = h.world("laiyuan").await;
    // D25, S-LY §七(二)2 "每年第一季度向实施机构报送": nothing started; due 03-31, overdue Wed 04-01.
    h.advance_days(1);
    h.advance_days(1);
    settled(&h, &w.agreement(), ReportKind::Annual, 2025, 0).await;
    assert_eq!(
        settled_on(&h, &w.agreement(), ANNUAL, 2025, 0).await,
        (day(2026, 4, 1), true)
    );
    let overdue = overdue_reports(&h, &w.agreement()).await;
    assert_eq!(overdue.len(), 1);
    let e = &overdue[0];
    assert_eq!(
        (e.kind, e.year, e.quarter, e.report.as_str()),
        (ANNUAL, 2025, 0, "")
    );
    assert_eq!(e.operator.as_ref().unwrap().display_name, "laiyuan-op 名称");
    assert_eq!(e.jurisdiction.as_ref().unwrap().name, w.jurisdiction());
    assert_eq!(due(e.deadline.as_ref()).0, day(2026, 3, 31));
}

#[tokio::test]
async fn hubei_reports_once_a_year_by_31_january_even_on_a_saturday() {
    let mut h = common::start_on(day(2026, 1, 30)).await;
    let w = h.world("hubei").await;
    // S-HB §五(六) "每年年初提交": annual only.
    let quarterly = operator_report(&w.agreement(), ReportKind::Quarterly, 2025, 4, &[]);
    let err = h
        .client
        .create_operator_report(w.as_operator(quarterly))
        .await
        .unwrap_err();
    assert_invalid(&err, &["operator_report.kind"]);
    // 年初 read as 31 January (inferred): a Saturday, not moved (§0); to the data authority (inferred).
    let r = create(&mut h, &w, ReportKind::Annual, 2025, 0, &[]).await;
    let (d, provisional, _, source) = due(r.due.as_ref());
    assert_eq!((d, provisional), (day(2026, 1, 31), false));
    assert!(source.starts_with("inferred — S-HB §五(六)"), "{source}");
    assert_eq!(r.recipients, [w.da()]);
    // Missing: announced on Sun 02-01.
    h.advance_days(1);
    h.advance_days(1);
    settled(&h, &w.agreement(), ReportKind::Annual, 2025, 0).await;
    assert_eq!(
        settled_on(&h, &w.agreement(), ANNUAL, 2025, 0).await,
        (day(2026, 2, 1), true)
    );
    assert_eq!(
        overdue_periods(&h, &w.agreement()).await,
        [(ANNUAL, 2025, 0, r.name.clone())]
    );
}

#[tokio::test]
async fn a_zhengzhou_annual_report_covers_its_four_contents_and_yunnan_files_none() {
    let mut h = common::start_on(day(2026, 3, 2)).await;
    let w = h.world("zhengzhou").await;
    let three = [Item::DevelopmentAndUse, Item::Revenue, Item::SecurityCompliance];
    let r = create(&mut h, &w, ReportKind::Annual, 2025, 0, &three).await;
    // Due 31 March (inferred, aligned with the annual disclosure, N4, D11); to the city data authority (S-ZZ Art.26).
    let (d, _, _, source) = due(r.due.as_ref());
    assert_eq!(d, day(2026, 3, 31));
    assert!(source.starts_with("inferred — S-ZZ Art.26"), "{source}");
    assert_eq!(r.recipients, [w.da()]);
    // S-ZZ Art.26 "报告应当包括…公共数据产品销售情况".
    let err = h
        .client
        .submit_operator_report(w.as_operator(submit(&r)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "CONTENT_MISSING")
    );
    assert!(err.message().contains("PRODUCT_SALES"), "{}", err.message());
    let all = [
        Item::DevelopmentAndUse,
        Item::ProductSales,
        Item::Revenue,
        Item::SecurityCompliance,
    ];
    let r = h
        .client
        .update_operator_report(w.as_operator(items(&r, &all)))
        .await
        .unwrap();
    let r = h
        .client
        .submit_operator_report(w.as_operator(submit(&r.into_inner().operator_report.unwrap())))
        .await;
    let r = r.unwrap().into_inner().operator_report.unwrap();
    assert_eq!((r.state, r.late), (State::Submitted as i32, false));

    // S-YN Art.26 sets no operator report: Yunnan refuses any.
    let yn = h.world("yunnan").await;
    let r = operator_report(&yn.agreement(), ReportKind::Annual, 2025, 0, &[]);
    let err = h
        .client
        .create_operator_report(yn.as_operator(r))
        .await
        .unwrap_err();
    assert_invalid(&err, &["operator_report.kind"]);
}
