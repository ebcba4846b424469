//! Rectification orders over gRPC (REVIEW-EVALUATION §3.6): S12's Zhengzhou breach order, the overdue scheduler,
//! a Yunnan order over Spring Festival, provisional deadlines and a second report after a failed verification.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::orders::{day, due, order, plan, report, verification};
use common::{Harness, World, date};
use pdop_proto::common::DeadlineUnit;
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1::{
    GetRectificationOrderRequest, ListRectificationOrdersRequest, RectificationOrder,
    RectificationOrderState as State, RectificationSource as Source, VerificationOutcome,
};
use pdop_testkit::{assert_invalid, reason};

const ORDERED: &str = "pdop.evaluation.rectification_order.issued";
const PLANNED: &str = "pdop.evaluation.rectification_order.plan_submitted";
const REPORTED: &str = "pdop.evaluation.rectification_order.report_submitted";
const VERIFIED: &str = "pdop.evaluation.rectification_order.verified";
const OVERDUE: &str = "pdop.evaluation.rectification_order.overdue";

/// S12: the Zhengzhou DA's breach order on O's agreement, due Tue 2026-06-30, with data access suspended.
async fn breach_order(h: &mut Harness, w: &World) -> RectificationOrder {
    let due = Some(date(2026, 6, 30));
    // S-ZZ Art.28 "应当责令其限期整改，并暂时停止公共数据使用权限": a breach order must suspend data access.
    let without = order(Source::AgreementBreach, &w.op(), &w.agreement(), due);
    let err = h
        .client
        .create_rectification_order(w.as_da(without))
        .await
        .unwrap_err();
    assert_invalid(&err, &["rectification_order.access_suspended"]);
    let mut with = order(Source::AgreementBreach, &w.op(), &w.agreement(), due);
    with.rectification_order.as_mut().unwrap().access_suspended = true;
    h.client
        .create_rectification_order(w.as_da(with))
        .await
        .unwrap()
        .into_inner()
        .rectification_order
        .unwrap()
}

/// The day `name` was last changed, in China.
async fn changed_on(h: &Harness, name: &str) -> chrono::NaiveDate {
    sqlx::query_scalar(
        "SELECT (update_time AT TIME ZONE 'Asia/Shanghai')::date FROM rectification_orders WHERE id = $1",
    )
    .bind(name.trim_start_matches("rectificationOrders/"))
    .fetch_one(&h.db.pool)
    .await
    .unwrap()
}

async fn until_overdue(h: &Harness, name: &str) {
    h.until(
        &format!("{name} is overdue"),
        &format!(
            "SELECT overdue FROM rectification_orders WHERE id = '{}'",
            name.trim_start_matches("rectificationOrders/")
        ),
    )
    .await;
}

#[tokio::test]
async fn a_zhengzhou_breach_order_is_verified_passed_and_an_unverified_one_is_overdue_once() {
    let mut h = common::start_on(day(2026, 6, 1)).await;
    let w = h.world("zhengzhou").await;
    let a = breach_order(&mut h, &w).await;
    assert_eq!(a.state, State::Issued as i32);
    assert_eq!(
        (a.subject.as_str(), a.issuing_organization.as_str()),
        (w.op().as_str(), w.da().as_str())
    );
    assert_eq!(
        (a.jurisdiction.as_str(), a.profile_id.as_str()),
        (w.jurisdiction().as_str(), "zhengzhou")
    );
    assert_eq!(
        a.issues.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["issue-1", "issue-2"]
    );
    // Zhengzhou sets no rectification period: the issuer's date stands as written.
    let deadline = a.deadline.as_ref().unwrap();
    assert_eq!(deadline.unit, DeadlineUnit::FixedDate as i32);
    assert_eq!(due(Some(deadline)).0, day(2026, 6, 30));
    // §3.8: the registry suspends A on RectificationOrdered{access_suspended}; R-EV-09: display names.
    let e: ev::RectificationOrdered = h.event(ORDERED, &a.name).await;
    assert!(e.access_suspended);
    assert_eq!(e.issues.len(), 2);
    let summary = e.order.unwrap();
    assert_eq!(summary.agreement, w.agreement());
    assert_eq!(summary.subject.unwrap().display_name, "zhengzhou-op 名称");
    assert_eq!(
        summary.issuing_organization.unwrap().display_name,
        "zhengzhou-da 名称"
    );
    assert_eq!(summary.jurisdiction.unwrap().name, w.jurisdiction());

    // The S12 variant B (a supervision order due the same day) and C (due a day later) are never verified.
    let b = order(
        Source::SupervisionInspection,
        &w.op(),
        "",
        Some(date(2026, 6, 30)),
    );
    let b = h.client.create_rectification_order(w.as_da(b)).await.unwrap();
    let b = b.into_inner().rectification_order.unwrap();
    let c = order(Source::SupervisionInspection, &w.op(), "", Some(date(2026, 7, 1)));
    let c = h.client.create_rectification_order(w.as_da(c)).await.unwrap();
    let c = c.into_inner().rectification_order.unwrap();

    // The plan (整改方案): one measure per issue, done by the deadline.
    let mut orders = Vec::new();
    for o in [&a, &b] {
        let planned = h
            .client
            .submit_rectification_plan(w.as_operator(plan(o, date(2026, 6, 20))))
            .await;
        let o = planned.unwrap().into_inner().rectification_order.unwrap();
        assert_eq!(o.state, State::PlanSubmitted as i32);
        assert!(o.plan.as_ref().unwrap().submitted.is_some());
        assert_eq!(h.events(PLANNED, &o.name).await, 1);
        orders.push(o);
    }

    // Thu 06-25: the reports cover every issue, on time.
    h.advance_days(24);
    let mut reported = Vec::new();
    for o in &orders {
        let o = h
            .client
            .submit_rectification_report(w.as_operator(report(o)))
            .await
            .unwrap();
        let o = o.into_inner().rectification_order.unwrap();
        assert_eq!(o.state, State::ReportSubmitted as i32);
        assert!(!o.reports[0].late);
        let e: ev::RectificationSubmitted = h.event(REPORTED, &o.name).await;
        assert!(!e.late);
        reported.push(o);
    }

    // Mon 06-29: the DA verifies A as PASSED → the registry resumes the agreement (§3.8).
    h.advance_days(4);
    let verified = h
        .client
        .verify_rectification(w.as_da(verification(&reported[0], VerificationOutcome::Passed)))
        .await
        .unwrap()
        .into_inner();
    assert!(verified.evaluation.is_none(), "not an evaluation's order");
    let a = verified.rectification_order.unwrap();
    assert_eq!(a.state, State::VerifiedPassed as i32);
    let e: ev::RectificationVerified = h.event(VERIFIED, &a.name).await;
    assert_eq!(e.outcome, VerificationOutcome::Passed as i32);
    assert_eq!(e.re_evaluation_grade, 0, "no re-evaluation outside an evaluation");

    // R-EV-04, S-HN Art.22 "未按期整改到位": nothing on the deadline itself; B is overdue on Wed 07-01, A (passed)
    // never is.
    h.advance_days(1);
    h.advance_days(1);
    until_overdue(&h, &b.name).await;
    assert_eq!(
        changed_on(&h, &b.name).await,
        day(2026, 7, 1),
        "announced the day after the deadline"
    );
    let e: ev::RectificationOverdue = h.event(OVERDUE, &b.name).await;
    assert_eq!(due(e.deadline.as_ref()).0, day(2026, 6, 30));
    assert_eq!(e.order.unwrap().state, State::ReportSubmitted as i32);
    assert_eq!(h.events(OVERDUE, &a.name).await, 0);
    // The sweep of 07-02 (C is overdue then) announces B no second time.
    h.advance_days(1);
    until_overdue(&h, &c.name).await;
    assert_eq!(h.events(OVERDUE, &b.name).await, 1);

    // Reads: the overdue filter lists B and C; an auditor reads B.
    let listed = h
        .client
        .list_rectification_orders(w.as_da(ListRectificationOrdersRequest {
            overdue: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .rectification_orders;
    let names: Vec<&str> = listed.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, [b.name.as_str(), c.name.as_str()], "ordered by deadline");
    let read = pdop_testkit::acting(
        "organizations/audit",
        &[pdop_kit::auth::Role::Auditor],
        GetRectificationOrderRequest { name: b.name.clone() },
    );
    let read = h.client.get_rectification_order(read).await.unwrap().into_inner();
    assert!(read.rectification_order.unwrap().overdue);
}

#[tokio::test]
async fn a_yunnan_order_runs_30_days_over_spring_festival() {
    let mut h = common::start_on(day(2026, 1, 16)).await;
    let w = h.world("yunnan").await;
    // S-YN Art.26 "30日内完成整改": the issuer may not set a later date than the profile's period gives.
    let later = order(
        Source::SupervisionInspection,
        &w.op(),
        "",
        Some(date(2026, 2, 25)),
    );
    let err = h
        .client
        .create_rectification_order(w.as_ia(later))
        .await
        .unwrap_err();
    assert_invalid(&err, &["rectification_order.requested_due_date"]);
    // D23: 2026-01-16 + 30 CD = Sun 02-15, inside the Spring Festival holiday → Tue 02-24.
    let o = order(Source::SupervisionInspection, &w.op(), &w.agreement(), None);
    let o = h.client.create_rectification_order(w.as_ia(o)).await.unwrap();
    let o = o.into_inner().rectification_order.unwrap();
    let (due_on, provisional, rule, source) = due(o.deadline.as_ref());
    assert_eq!(
        (due_on, provisional, rule.as_str()),
        (day(2026, 2, 24), false, "D23")
    );
    assert!(source.starts_with("S-YN Art.26"), "{source}");
    let deadline = o.deadline.as_ref().unwrap();
    assert_eq!(
        (deadline.unit, deadline.duration),
        (DeadlineUnit::CalendarDays as i32, 30)
    );
    // The plan's completion must fall on or before the deadline (S-YN Art.26 "制定整改方案").
    let err = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&o, date(2026, 2, 25))))
        .await
        .unwrap_err();
    assert_invalid(&err, &["plan.planned_completion_date"]);
    let o = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&o, date(2026, 2, 10))))
        .await;
    let o = o.unwrap().into_inner().rectification_order.unwrap();
    assert_eq!(o.state, State::PlanSubmitted as i32);
    // S8's overdue variant: nothing verified by 02-24 → overdue once on Wed 02-25; a report that day is accepted
    // and marked late ("报评估单位再次评估", S-YN Art.26).
    h.advance_days(40);
    until_overdue(&h, &o.name).await;
    assert_eq!(changed_on(&h, &o.name).await, day(2026, 2, 25));
    let read = GetRectificationOrderRequest { name: o.name.clone() };
    let o = h.client.get_rectification_order(w.as_ia(read)).await.unwrap();
    let o = o.into_inner().rectification_order.unwrap();
    let o = h
        .client
        .submit_rectification_report(w.as_operator(report(&o)))
        .await
        .unwrap();
    let o = o.into_inner().rectification_order.unwrap();
    assert!(o.reports[0].late && o.overdue);
    let e: ev::RectificationSubmitted = h.event(REPORTED, &o.name).await;
    assert!(e.late);
    assert_eq!(h.events(OVERDUE, &o.name).await, 1);
}

#[tokio::test]
async fn a_failed_verification_is_answered_again_until_the_deadline_passes() {
    let mut h = common::start_on(day(2026, 3, 10)).await;
    let w = h.world("henan").await;
    // R-EV-10: a deadline in 2027, past the loaded calendar, is provisional.
    let next_year = order(
        Source::SupervisionInspection,
        &w.op(),
        "",
        Some(date(2027, 1, 15)),
    );
    let next_year = h
        .client
        .create_rectification_order(w.as_da(next_year))
        .await
        .unwrap();
    let (due_on, provisional, ..) = due(next_year
        .into_inner()
        .rectification_order
        .unwrap()
        .deadline
        .as_ref());
    assert_eq!((due_on, provisional), (day(2027, 1, 15), true));
    // S-HN Art.20 "督促整改落实": a supervision order with the issuer's date.
    let o = order(
        Source::SupervisionInspection,
        &w.op(),
        &w.agreement(),
        Some(date(2026, 4, 30)),
    );
    let o = h.client.create_rectification_order(w.as_da(o)).await.unwrap();
    let o = o.into_inner().rectification_order.unwrap();
    assert!(!due(o.deadline.as_ref()).1);
    let o = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&o, date(2026, 4, 20))))
        .await;
    let mut o = o.unwrap().into_inner().rectification_order.unwrap();
    for round in 1..=2 {
        let reported = h
            .client
            .submit_rectification_report(w.as_operator(report(&o)))
            .await
            .unwrap();
        let reported = reported.into_inner().rectification_order.unwrap();
        assert_eq!(reported.reports.len(), round);
        let failed = h
            .client
            .verify_rectification(w.as_da(verification(&reported, VerificationOutcome::Failed)))
            .await
            .unwrap();
        o = failed.into_inner().rectification_order.unwrap();
        assert_eq!(o.state, State::VerifiedFailed as i32);
        assert_eq!(o.verifications[round - 1].unresolved_issue_keys, ["issue-1"]);
    }
    assert_eq!(h.events(VERIFIED, &o.name).await, 2);
    // §3.6: once the deadline has passed, the failed verification is final.
    h.advance_days(52); // Fri 05-01, a holiday: the order is overdue all the same
    until_overdue(&h, &o.name).await;
    let read = GetRectificationOrderRequest { name: o.name.clone() };
    let o = h
        .client
        .get_rectification_order(w.as_operator(read))
        .await
        .unwrap();
    let o = o.into_inner().rectification_order.unwrap();
    assert!(o.overdue);
    let err = h
        .client
        .submit_rectification_report(w.as_operator(report(&o)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    assert_eq!(reason(&err), "ORDER_FINAL");
}
