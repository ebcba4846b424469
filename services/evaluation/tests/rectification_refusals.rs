//! What the rectification-order RPCs refuse (REVIEW-EVALUATION §3.6, R-EV-01, R-EV-02): bad input, callers who are
//! not parties, and every transition the state machine forbids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::orders::{day, document, order, plan, refused, report, verification};
use common::{Harness, World, date};
use pdop_kit::auth::Role;
use pdop_proto::common::{DateRange, JurisdictionRef, OrganizationRole};
use pdop_proto::evaluation::v1::{
    GetRectificationOrderRequest, IssueMeasure, RectificationOrder, RectificationSource as Source,
    SubmitRectificationPlanRequest, VerificationOutcome,
};
use pdop_proto::registry::events::v1::DeveloperAgreementSigned;
use pdop_testkit::{acting, acting_in, assert_invalid};
use prost::Message;
use tonic::Code;

async fn issued(h: &mut Harness, w: &World) -> RectificationOrder {
    let o = order(
        Source::SupervisionInspection,
        &w.op(),
        "",
        Some(date(2026, 6, 30)),
    );
    let o = h.client.create_rectification_order(w.as_da(o)).await.unwrap();
    o.into_inner().rectification_order.unwrap()
}

#[tokio::test]
async fn bad_orders_are_refused_naming_every_field() {
    let mut h = common::start_on(day(2026, 6, 1)).await;
    let w = h.world("henan").await;
    // Evaluation orders are issued by CompleteEvaluation only (§3.6).
    let evaluation = order(Source::Evaluation, &w.op(), "", Some(date(2026, 6, 30)));
    let err = h
        .client
        .create_rectification_order(w.as_da(evaluation))
        .await
        .unwrap_err();
    assert_invalid(&err, &["rectification_order.source"]);
    // Everything wrong at once: no source, a malformed subject and agreement, no issues, a bad digest, a bad date.
    let mut bad = order(Source::Unspecified, "op", "contracts/x", Some(date(2026, 2, 30)));
    let o = bad.rectification_order.as_mut().unwrap();
    o.issues.clear();
    o.order_document.as_mut().unwrap().sha256 = "xyz".into();
    let err = h
        .client
        .create_rectification_order(w.as_da(bad))
        .await
        .unwrap_err();
    assert_invalid(
        &err,
        &[
            "rectification_order.source",
            "rectification_order.subject",
            "rectification_order.agreement",
            "rectification_order.issues",
            "rectification_order.order_document.sha256",
            "rectification_order.requested_due_date",
        ],
    );
    // A breach names the agreement breached; an issue says what is wrong.
    let mut breach = order(Source::AgreementBreach, &w.op(), "", Some(date(2026, 6, 30)));
    breach.rectification_order.as_mut().unwrap().issues[1].description = " ".into();
    let err = h
        .client
        .create_rectification_order(w.as_da(breach))
        .await
        .unwrap_err();
    assert_invalid(
        &err,
        &[
            "rectification_order.agreement",
            "rectification_order.issues[1].description",
        ],
    );
    // Henan sets no rectification period: the issuer's date is required, and not in the past.
    for due in [None, Some(date(2026, 5, 31))] {
        let o = order(Source::SupervisionInspection, &w.op(), "", due);
        let err = h.client.create_rectification_order(w.as_da(o)).await.unwrap_err();
        assert_invalid(&err, &["rectification_order.requested_due_date"]);
    }
    // The agreement's operator is the subject; an unknown subject is NOT_FOUND.
    let other = order(
        Source::AgreementBreach,
        &w.dp(),
        &w.agreement(),
        Some(date(2026, 6, 30)),
    );
    let err = h
        .client
        .create_rectification_order(w.as_da(other))
        .await
        .unwrap_err();
    assert_invalid(&err, &["rectification_order.agreement"]);
    let unknown = order(
        Source::SupervisionInspection,
        "organizations/nobody",
        "",
        Some(date(2026, 6, 30)),
    );
    let err = h
        .client
        .create_rectification_order(w.as_da(unknown))
        .await
        .unwrap_err();
    refused(&err, Code::NotFound, "ORGANIZATION_NOT_FOUND");

    // Plans and reports cover each issue once; verifications carry comments and an outcome.
    let o = issued(&mut h, &w).await;
    let mut p = plan(&o, date(2026, 6, 20));
    let measures = &mut p.plan.as_mut().unwrap().measures;
    measures[1] = IssueMeasure {
        issue_key: "issue-9".into(),
        measure: String::new(),
        evidence: vec![document()],
    };
    let err = h
        .client
        .submit_rectification_plan(w.as_operator(p))
        .await
        .unwrap_err();
    assert_invalid(&err, &["plan.measures[1].measure"]);
    let mut p = plan(&o, date(2026, 6, 20));
    p.plan.as_mut().unwrap().measures[1].issue_key = "issue-1".into();
    let err = h
        .client
        .submit_rectification_plan(w.as_operator(p))
        .await
        .unwrap_err();
    assert_invalid(&err, &["plan.measures[1].issue_key", "plan.measures"]);
    let undated = SubmitRectificationPlanRequest {
        plan: Some(Default::default()),
        ..plan(&o, date(2026, 6, 20))
    };
    let err = h
        .client
        .submit_rectification_plan(w.as_operator(undated))
        .await
        .unwrap_err();
    assert_invalid(&err, &["plan.planned_completion_date"]);
    let o = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&o, date(2026, 6, 20))))
        .await;
    let o = o.unwrap().into_inner().rectification_order.unwrap();
    let mut r = report(&o);
    r.report.as_mut().unwrap().actions.pop();
    let err = h
        .client
        .submit_rectification_report(w.as_operator(r))
        .await
        .unwrap_err();
    assert_invalid(&err, &["report.actions"]);
    let o = h
        .client
        .submit_rectification_report(w.as_operator(report(&o)))
        .await;
    let o = o.unwrap().into_inner().rectification_order.unwrap();
    let mut v = verification(&o, VerificationOutcome::Unspecified);
    v.verification.as_mut().unwrap().comments.clear();
    let err = h.client.verify_rectification(w.as_da(v)).await.unwrap_err();
    assert_invalid(&err, &["verification.outcome", "verification.comments"]);
    let mut v = verification(&o, VerificationOutcome::Passed);
    v.verification.as_mut().unwrap().unresolved_issue_keys = vec!["issue-1".into()];
    v.verification.as_mut().unwrap().re_evaluation_grade = 5;
    let err = h.client.verify_rectification(w.as_da(v)).await.unwrap_err();
    assert_invalid(
        &err,
        &[
            "verification.unresolved_issue_keys",
            "verification.re_evaluation_grade",
        ],
    );
}

#[tokio::test]
async fn only_parties_act_and_nobody_acts_on_their_own_organization() {
    let mut h = common::start_on(day(2026, 6, 1)).await;
    let w = h.world("henan").await;
    let zz = h.world("zhengzhou").await;
    let due = Some(date(2026, 6, 30));
    // Roles the policy leaves out (R-EV-01).
    let o = order(Source::SupervisionInspection, &w.op(), "", due);
    let err = h
        .client
        .create_rectification_order(w.as_dev(o))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // R-EV-02: nobody orders a rectification of their own organization.
    let own = order(Source::SupervisionInspection, &w.da(), "", due);
    let err = h
        .client
        .create_rectification_order(w.as_da(own))
        .await
        .unwrap_err();
    refused(&err, Code::PermissionDenied, "OWN_ORGANIZATION");
    // A data authority acts inside its jurisdiction: Zhengzhou's may not order Henan's operator.
    let elsewhere = acting_in(
        &zz.da(),
        &[Role::DataAuthority],
        &zz.jurisdiction(),
        order(Source::SupervisionInspection, &w.op(), "", due),
    );
    let err = h.client.create_rectification_order(elsewhere).await.unwrap_err();
    refused(&err, Code::PermissionDenied, "NOT_A_PARTY");
    // An operator orders only its own developers (§3.6), on its developer agreement.
    let peer = order(Source::SupervisionInspection, &zz.op(), "", due);
    let err = h
        .client
        .create_rectification_order(w.as_operator(peer))
        .await
        .unwrap_err();
    refused(&err, Code::PermissionDenied, "NOT_A_PARTY");
    developer_agreement(&h, &w).await;
    let developer = order(
        Source::AgreementBreach,
        &w.dev(),
        "developerAgreements/henan-da1",
        due,
    );
    let developer = h
        .client
        .create_rectification_order(w.as_operator(developer))
        .await
        .unwrap();
    let developer = developer.into_inner().rectification_order.unwrap();
    assert_eq!(developer.issuing_organization, w.op());

    let o = issued(&mut h, &w).await;
    // Only the subject plans and reports.
    let err = h
        .client
        .submit_rectification_plan(w.as_ia(plan(&o, date(2026, 6, 20))))
        .await
        .unwrap_err();
    refused(&err, Code::PermissionDenied, "NOT_A_PARTY");
    let o = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&o, date(2026, 6, 20))))
        .await;
    let o = o.unwrap().into_inner().rectification_order.unwrap();
    let o = h
        .client
        .submit_rectification_report(w.as_operator(report(&o)))
        .await;
    let o = o.unwrap().into_inner().rectification_order.unwrap();
    // R-EV-02: the subject never verifies its own rectification; nor does an organization that did not issue it.
    let err = h
        .client
        .verify_rectification(w.as_operator(verification(&o, VerificationOutcome::Passed)))
        .await;
    refused(&err.unwrap_err(), Code::PermissionDenied, "OWN_ORGANIZATION");
    let err = h
        .client
        .verify_rectification(w.as_third(verification(&o, VerificationOutcome::Passed)))
        .await;
    refused(&err.unwrap_err(), Code::PermissionDenied, "NOT_A_PARTY");
    // Reads: the subject and issuer; a provider of the jurisdiction is no party; pricing authorities are not listed.
    let get = || GetRectificationOrderRequest { name: o.name.clone() };
    assert!(
        h.client
            .get_rectification_order(w.as_operator(get()))
            .await
            .is_ok()
    );
    let err = h
        .client
        .get_rectification_order(w.as_dp(get()))
        .await
        .unwrap_err();
    refused(&err, Code::PermissionDenied, "NOT_A_PARTY");
    let pricing = acting(&w.org("pa"), &[Role::PricingAuthority], get());
    let err = h.client.get_rectification_order(pricing).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let listed = h
        .client
        .list_rectification_orders(zz.as_operator(Default::default()))
        .await
        .unwrap();
    assert!(
        listed.into_inner().rectification_orders.is_empty(),
        "another operator sees none"
    );
}

/// The registry's developer agreement henan-da1 between Henan's operator and developer.
async fn developer_agreement(h: &Harness, w: &World) {
    let signed = DeveloperAgreementSigned {
        name: "developerAgreements/henan-da1".into(),
        jurisdiction: Some(JurisdictionRef {
            name: w.jurisdiction(),
            ..Default::default()
        }),
        operator: Some(common::org_ref(&w.op(), OrganizationRole::Operator)),
        developer: Some(common::org_ref(&w.dev(), OrganizationRole::Developer)),
        agreement: w.agreement(),
        term: Some(DateRange {
            start_date: Some(date(2026, 1, 1)),
            end_date: Some(date(2028, 12, 31)),
        }),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.developer_agreement.signed",
        "da-henan-1",
        signed.encode_to_vec(),
    )
    .await;
    h.until(
        "the developer agreement is known",
        "SELECT EXISTS (SELECT 1 FROM developer_agreements WHERE id = 'henan-da1')",
    )
    .await;
}

#[tokio::test]
async fn the_state_machine_refuses_every_transition_out_of_order() {
    let mut h = common::start_on(day(2026, 6, 1)).await;
    let w = h.world("henan").await;
    let o = issued(&mut h, &w).await;
    // ISSUED: no report before the plan, nothing to verify.
    let err = h
        .client
        .submit_rectification_report(w.as_operator(report(&o)))
        .await
        .unwrap_err();
    refused(&err, Code::FailedPrecondition, "WRONG_STATE");
    let err = h
        .client
        .verify_rectification(w.as_da(verification(&o, VerificationOutcome::Passed)))
        .await;
    refused(&err.unwrap_err(), Code::FailedPrecondition, "WRONG_STATE");
    // A stale etag is ABORTED.
    let planned = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&o, date(2026, 6, 20))))
        .await;
    let planned = planned.unwrap().into_inner().rectification_order.unwrap();
    let err = h
        .client
        .submit_rectification_report(w.as_operator(report(&o)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    // PLAN_SUBMITTED: one plan only.
    let err = h
        .client
        .submit_rectification_plan(w.as_operator(plan(&planned, date(2026, 6, 20))))
        .await;
    refused(&err.unwrap_err(), Code::FailedPrecondition, "WRONG_STATE");
    let reported = h
        .client
        .submit_rectification_report(w.as_operator(report(&planned)))
        .await;
    let reported = reported.unwrap().into_inner().rectification_order.unwrap();
    // REPORT_SUBMITTED: no second report before the verification.
    let err = h
        .client
        .submit_rectification_report(w.as_operator(report(&reported)))
        .await;
    refused(&err.unwrap_err(), Code::FailedPrecondition, "WRONG_STATE");
    let passed = h
        .client
        .verify_rectification(w.as_da(verification(&reported, VerificationOutcome::Passed)))
        .await;
    let passed = passed.unwrap().into_inner().rectification_order.unwrap();
    // VERIFIED_PASSED is final.
    let err = h
        .client
        .submit_rectification_report(w.as_operator(report(&passed)))
        .await;
    refused(&err.unwrap_err(), Code::FailedPrecondition, "WRONG_STATE");
    let err = h
        .client
        .verify_rectification(w.as_da(verification(&passed, VerificationOutcome::Failed)))
        .await;
    refused(&err.unwrap_err(), Code::FailedPrecondition, "WRONG_STATE");
    // An unknown order is NOT_FOUND.
    let missing = GetRectificationOrderRequest {
        name: "rectificationOrders/nothing".into(),
    };
    let err = h
        .client
        .get_rectification_order(w.as_da(missing))
        .await
        .unwrap_err();
    refused(&err, Code::NotFound, "RECTIFICATION_ORDER_NOT_FOUND");
}

#[tokio::test]
async fn a_request_id_replays_the_first_order_and_listings_page_by_deadline() {
    let mut h = common::start_on(day(2026, 6, 1)).await;
    let w = h.world("henan").await;
    // AIP-155: the same request under the same id gives the same order; another request under it is refused.
    let mut first = order(
        Source::SupervisionInspection,
        &w.op(),
        "",
        Some(date(2026, 7, 31)),
    );
    first.request_id = "req-1".into();
    let a = h
        .client
        .create_rectification_order(w.as_da(first.clone()))
        .await
        .unwrap();
    let b = h
        .client
        .create_rectification_order(w.as_da(first.clone()))
        .await
        .unwrap();
    let a = a.into_inner().rectification_order.unwrap();
    assert_eq!(a.name, b.into_inner().rectification_order.unwrap().name);
    assert_eq!(
        h.events("pdop.evaluation.rectification_order.issued", &a.name)
            .await,
        1
    );
    first.rectification_order.as_mut().unwrap().requested_due_date = Some(date(2026, 7, 30));
    let err = h
        .client
        .create_rectification_order(w.as_da(first))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    // Two more orders due earlier: pages of one, by deadline.
    for due in [date(2026, 6, 30), date(2026, 7, 15)] {
        let o = order(Source::SupervisionInspection, &w.op(), "", Some(due));
        h.client.create_rectification_order(w.as_da(o)).await.unwrap();
    }
    let mut dues = Vec::new();
    let mut token = String::new();
    loop {
        let page = pdop_proto::evaluation::v1::ListRectificationOrdersRequest {
            page_size: 1,
            page_token: token,
            subject: w.op(),
            ..Default::default()
        };
        let page = h
            .client
            .list_rectification_orders(w.as_operator(page))
            .await
            .unwrap()
            .into_inner();
        dues.extend(
            page.rectification_orders
                .iter()
                .map(|o| common::orders::due(o.deadline.as_ref()).0),
        );
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(dues, [day(2026, 6, 30), day(2026, 7, 15), day(2026, 7, 31)]);
}
