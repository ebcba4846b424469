//! What the operator-report RPCs refuse (REVIEW-EVALUATION §3.7, R-EV-01): bad input, callers who are not the
//! author or a recipient, and transitions out of order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::orders::{day, operator_report, refused, submit};
use pdop_kit::auth::Role;
use pdop_proto::common::{Decimal, Money};
use pdop_proto::evaluation::v1::{
    AcceptOperatorReportRequest, GetOperatorReportRequest, ListOperatorReportsRequest,
    ReportContentKind as Item, ReportKind, ReportMetrics, ReturnOperatorReportRequest,
    UpdateOperatorReportRequest,
};
use pdop_testkit::{acting, assert_invalid};
use tonic::Code;

#[tokio::test]
async fn bad_reports_are_refused_naming_every_field() {
    let mut h = common::start_on(day(2026, 3, 2)).await;
    let w = h.world("henan").await;
    // QUARTERLY needs a quarter 1–4 (S10: quarter 0 refused); ANNUAL has none.
    let q0 = operator_report(&w.agreement(), ReportKind::Quarterly, 2025, 0, &[]);
    let err = h
        .client
        .create_operator_report(w.as_operator(q0))
        .await
        .unwrap_err();
    assert_invalid(&err, &["operator_report.quarter"]);
    let a2 = operator_report(&w.agreement(), ReportKind::Annual, 2025, 2, &[]);
    let err = h
        .client
        .create_operator_report(w.as_operator(a2))
        .await
        .unwrap_err();
    assert_invalid(&err, &["operator_report.quarter"]);
    // Everything wrong at once.
    let mut bad = operator_report(
        "contracts/a1",
        ReportKind::Unspecified,
        1999,
        0,
        &[Item::Revenue, Item::Revenue],
    );
    let r = bad.operator_report.as_mut().unwrap();
    r.metrics = Some(ReportMetrics {
        revenue: Some(Money {
            amount: "1e3".into(),
            currency: "CNY".into(),
        }),
        sales_volume: Some(Decimal { value: "-5".into() }),
        security_incident_count: -1,
        ..Default::default()
    });
    r.document.as_mut().unwrap().uri.clear();
    let err = h
        .client
        .create_operator_report(w.as_operator(bad))
        .await
        .unwrap_err();
    assert_invalid(
        &err,
        &[
            "operator_report.agreement",
            "operator_report.kind",
            "operator_report.year",
            "operator_report.content_items[1].kind",
            "operator_report.metrics.revenue",
            "operator_report.metrics.sales_volume",
            "operator_report.metrics.security_incident_count",
            "operator_report.document.uri",
        ],
    );
    let unknown = operator_report("agreements/none", ReportKind::Annual, 2025, 0, &[]);
    let err = h
        .client
        .create_operator_report(w.as_operator(unknown))
        .await
        .unwrap_err();
    refused(&err, Code::NotFound, "AGREEMENT_NOT_FOUND");

    // Updates name what they change, and only what an operator writes.
    let r = operator_report(&w.agreement(), ReportKind::Annual, 2025, 0, &[]);
    let r = h
        .client
        .create_operator_report(w.as_operator(r))
        .await
        .unwrap()
        .into_inner()
        .operator_report
        .unwrap();
    let update = |paths: &[&str], etag: &str| UpdateOperatorReportRequest {
        operator_report: Some(pdop_proto::evaluation::v1::OperatorReport {
            name: r.name.clone(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        etag: etag.into(),
    };
    let err = h
        .client
        .update_operator_report(w.as_operator(update(&["state"], &r.etag)))
        .await
        .unwrap_err();
    assert_invalid(&err, &["update_mask"]);
    let updated = h
        .client
        .update_operator_report(w.as_operator(update(&["attachments"], &r.etag)))
        .await;
    assert!(updated.is_ok());
    let err = h
        .client
        .update_operator_report(w.as_operator(update(&["attachments"], &r.etag)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "a stale etag");
    // Listings page latest period first: Q4, Q3, then the annual report (quarter 0).
    for quarter in [3, 4] {
        let q = operator_report(&w.agreement(), ReportKind::Quarterly, 2025, quarter, &[]);
        h.client.create_operator_report(w.as_operator(q)).await.unwrap();
    }
    let mut quarters = Vec::new();
    let mut token = String::new();
    loop {
        let page = ListOperatorReportsRequest {
            page_size: 1,
            page_token: token,
            year: 2025,
            ..Default::default()
        };
        let page = h
            .client
            .list_operator_reports(w.as_operator(page))
            .await
            .unwrap()
            .into_inner();
        quarters.extend(page.operator_reports.iter().map(|r| r.quarter));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(quarters, [4, 3, 0]);
    // A return states what must be corrected.
    let back = ReturnOperatorReportRequest {
        name: r.name.clone(),
        ..Default::default()
    };
    let err = h.client.return_operator_report(w.as_ia(back)).await.unwrap_err();
    assert_invalid(&err, &["reason"]);
}

#[tokio::test]
async fn only_the_author_writes_and_only_recipients_accept_or_return() {
    let mut h = common::start_on(day(2026, 3, 2)).await;
    let w = h.world("henan").await;
    let zz = h.world("zhengzhou").await;
    let create = || {
        operator_report(
            &w.agreement(),
            ReportKind::Annual,
            2025,
            0,
            &[Item::RedevelopmentByDevelopers],
        )
    };
    // Roles the policy leaves out; an operator reports on its own agreement only (R-EV-01).
    let err = h
        .client
        .create_operator_report(w.as_dev(create()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = h
        .client
        .create_operator_report(zz.as_operator(create()))
        .await
        .unwrap_err();
    refused(&err, Code::PermissionDenied, "NOT_A_PARTY");
    let r = h
        .client
        .create_operator_report(w.as_operator(create()))
        .await
        .unwrap();
    let r = r.into_inner().operator_report.unwrap();
    // Another operator neither edits nor submits it.
    let err = h
        .client
        .submit_operator_report(zz.as_operator(submit(&r)))
        .await
        .unwrap_err();
    refused(&err, Code::PermissionDenied, "NOT_A_PARTY");
    // A DRAFT is neither accepted nor returned.
    let accept = |r: &pdop_proto::evaluation::v1::OperatorReport| AcceptOperatorReportRequest {
        name: r.name.clone(),
        etag: r.etag.clone(),
        ..Default::default()
    };
    let err = h
        .client
        .accept_operator_report(w.as_da(accept(&r)))
        .await
        .unwrap_err();
    refused(&err, Code::FailedPrecondition, "WRONG_STATE");
    let r = h
        .client
        .submit_operator_report(w.as_operator(submit(&r)))
        .await
        .unwrap();
    let r = r.into_inner().operator_report.unwrap();
    // SUBMITTED: no second submission, no edit; another jurisdiction's authority is no recipient.
    let err = h
        .client
        .submit_operator_report(w.as_operator(submit(&r)))
        .await
        .unwrap_err();
    refused(&err, Code::FailedPrecondition, "WRONG_STATE");
    let err = h
        .client
        .accept_operator_report(zz.as_da(accept(&r)))
        .await
        .unwrap_err();
    refused(&err, Code::PermissionDenied, "NOT_A_RECIPIENT");
    let back = ReturnOperatorReportRequest {
        name: r.name.clone(),
        reason: "补充".into(),
        ..Default::default()
    };
    let err = h.client.return_operator_report(zz.as_ia(back)).await.unwrap_err();
    refused(&err, Code::PermissionDenied, "NOT_A_RECIPIENT");
    let err = h
        .client
        .return_operator_report(w.as_dp(ReturnOperatorReportRequest::default()))
        .await;
    assert_eq!(
        err.unwrap_err().code(),
        Code::PermissionDenied,
        "providers are no recipients by role"
    );

    // Reads: the author, recipients and supervisors by role; not an implementing agency it is not addressed to,
    // nor a provider (not listed).
    let get = || GetOperatorReportRequest { name: r.name.clone() };
    for ok in [w.as_operator(get()), w.as_ia(get()), w.as_third(get())] {
        assert!(h.client.get_operator_report(ok).await.is_ok());
    }
    let pricing = acting(&w.org("pa"), &[Role::PricingAuthority], get());
    assert!(h.client.get_operator_report(pricing).await.is_ok());
    let err = h.client.get_operator_report(zz.as_ia(get())).await.unwrap_err();
    refused(&err, Code::PermissionDenied, "NOT_A_PARTY");
    let err = h.client.get_operator_report(w.as_dp(get())).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mine = h
        .client
        .list_operator_reports(zz.as_operator(ListOperatorReportsRequest::default()))
        .await;
    assert!(
        mine.unwrap().into_inner().operator_reports.is_empty(),
        "another operator lists none"
    );
    let addressed = h
        .client
        .list_operator_reports(w.as_ia(ListOperatorReportsRequest::default()))
        .await;
    assert_eq!(addressed.unwrap().into_inner().operator_reports.len(), 1);
}
