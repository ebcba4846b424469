//! Disclosure reports: the annual disclosure of the prior year (N4; D11: by 31 March) with the sections N4 names,
//! one per organization, role and year; and the annual report generated from the log, bound to a tree head.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Datelike;
use common::*;
use pdop_kit::auth::Role;
use pdop_kit::convert::today;
use pdop_proto::disclosure::v1::*;
use pdop_testkit::{acting, assert_invalid, reason};
use tonic::Code;

const AGENCY: &str = "organizations/agency";

fn section(key: &str, heading: &str) -> ReportSection {
    ReportSection {
        key: key.into(),
        heading: heading.into(),
        fields: vec![EntryField {
            key: "summary".into(),
            label: "概况".into(),
            value: format!("{heading}概况"),
            value_type: FieldValueType::Text as i32,
        }],
        text: String::new(),
    }
}

fn annual(year: i32) -> DisclosureReport {
    DisclosureReport {
        kind: DisclosureReportKind::Annual as i32,
        discloser_role: DiscloserRole::ImplementingAgency as i32,
        jurisdiction: "jurisdictions/yunnan".into(),
        year,
        title: format!("云南省数据局{year}年度公共数据资源授权运营情况披露"),
        sections: vec![
            section("agency_info", "实施机构信息"),
            section("authorization_info", "公共数据资源授权信息"),
            section("cap_prices", "上限收费标准"),
        ],
        ..Default::default()
    }
}

fn publish(r: DisclosureReport) -> tonic::Request<PublishDisclosureReportRequest> {
    acting(
        AGENCY,
        &[Role::ImplementingAgency],
        PublishDisclosureReportRequest {
            report: Some(r),
            request_id: String::new(),
        },
    )
}

#[tokio::test]
async fn the_annual_disclosure_is_due_by_31_march_and_published_once() {
    let mut h = start().await;
    let year = today().year() - 1;
    let entry = h
        .client
        .publish_disclosure_report(publish(annual(year)))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    assert_eq!(entry.kind, EntryKind::AnnualDisclosure as i32);
    assert_eq!(entry.discloser.unwrap().name, AGENCY);
    // D11 (N4): due 31 March of the following year; published after it, the entry says so.
    let due = entry.due.unwrap();
    assert_eq!(due.source.unwrap().source_id, "N4");
    let due_date = due.due_date.unwrap();
    assert_eq!((due_date.year, due_date.month, due_date.day), (year + 1, 3, 31));
    let due_day = chrono::NaiveDate::from_ymd_opt(year + 1, 3, 31).unwrap();
    assert_eq!(entry.late, today() > due_day);
    assert!(
        entry
            .body
            .unwrap()
            .fields
            .iter()
            .any(|f| f.key == "cap_prices.summary")
    );

    let err = h
        .client
        .publish_disclosure_report(publish(annual(year)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "ANNUAL_DISCLOSURE_EXISTS");
}

#[tokio::test]
async fn a_report_needs_its_sections_a_past_year_and_the_right_role() {
    let mut h = start().await;
    let year = today().year() - 1;
    let mut thin = annual(year);
    thin.sections.pop();
    let err = h
        .client
        .publish_disclosure_report(publish(thin))
        .await
        .unwrap_err();
    assert_invalid(&err, &["report.sections"]);
    assert!(err.message().contains("cap_prices"), "{err:?}");
    let err = h
        .client
        .publish_disclosure_report(publish(annual(today().year())))
        .await
        .unwrap_err();
    assert_invalid(&err, &["report.year"]);
    let usage = DisclosureReport {
        kind: DisclosureReportKind::ResourceUsage as i32,
        ..annual(year)
    };
    let err = h
        .client
        .publish_disclosure_report(publish(usage))
        .await
        .unwrap_err();
    assert_invalid(&err, &["report.discloser_role", "report.period"]);
    let as_operator = acting(
        "organizations/operator",
        &[Role::Operator],
        PublishDisclosureReportRequest {
            report: Some(annual(year)),
            request_id: String::new(),
        },
    );
    let err = h.client.publish_disclosure_report(as_operator).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn the_generated_annual_report_lists_the_years_entries_under_a_signed_head() {
    let mut h = start().await;
    agreements(&h, 0..2).await;
    h.signed(2).await;
    h.client
        .publish_disclosure_report(publish(annual(today().year() - 1)))
        .await
        .unwrap();
    h.signed(3).await;
    let url = format!("{}/reports/agency/{}.json", h.http, today().year());
    let report: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(report["organization"], AGENCY);
    assert_eq!(report["entryCount"], 3);
    assert_eq!(report["treeHead"]["treeSize"], "3");
    assert_eq!(
        report["entriesByKind"]["ENTRY_KIND_AGREEMENT_SIGNED"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(report["annualDisclosures"].as_array().unwrap().len(), 1);
    // Every listed entry verifies against the named head.
    let trusted = pdop_disclosure::verify::verify(&h.http, None, &[0, 1, 2])
        .await
        .unwrap()
        .0;
    assert_eq!(report["treeHead"]["rootHash"], trusted.root_hash);
    let other = reqwest::get(format!("{}/reports/agency/{}.json", h.http, today().year() - 5))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(other["entryCount"], 0);
}
