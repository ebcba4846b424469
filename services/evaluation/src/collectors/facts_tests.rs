#![allow(clippy::unwrap_used)]

use pdop_proto::common::Rate;

use super::*;

fn org_of(name: &str) -> Option<OrganizationRef> {
    Some(OrganizationRef {
        name: name.into(),
        ..Default::default()
    })
}

fn orgs(facts: &[Fact]) -> Vec<(&str, &str)> {
    facts
        .iter()
        .map(|f| (f.organization.as_str(), f.quantity.as_str()))
        .collect()
}

#[test]
fn a_data_use_concerns_the_operator_and_each_granting_provider_once() {
    // §3.5: a single DataUseApproved gives one record for the operator and one per granting provider.
    let item = |r: &str, p: &str| vev::GrantedItem {
        resource: r.into(),
        provider: org_of(p),
        ..Default::default()
    };
    let e = vev::DataUseApproved {
        data_use: Some(vev::DataUseSummary {
            operator: org_of("organizations/op"),
            display_name: "交通用数".into(),
            ..Default::default()
        }),
        granted_items: vec![
            item("resources/r1", "organizations/dp1"),
            item("resources/r2", "organizations/dp2"),
            item("resources/r3", "organizations/dp1"),
        ],
        ..Default::default()
    };
    let facts = data_use_approved(&e);
    assert_eq!(
        orgs(&facts),
        [
            ("organizations/op", "3"),
            ("organizations/dp1", "2"),
            ("organizations/dp2", "1")
        ]
    );
    assert!(facts.iter().all(|f| f.kind == K::DataUseApproved));
}

#[test]
fn a_listing_concerns_the_operator_and_each_provider_of_its_resources() {
    // §3.5: ProductListed gives one record for the operator and one per provider of its resources.
    let e = rev::ProductListed {
        product: Some(rev::ProductSnapshot {
            operator: org_of("organizations/op"),
            source_resources: vec!["resources/r1".into(), "resources/r2".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let providers: BTreeMap<String, String> = [
        ("resources/r1".to_owned(), "organizations/dp1".to_owned()),
        ("resources/r2".to_owned(), "organizations/dp1".to_owned()),
    ]
    .into();
    assert_eq!(
        orgs(&listed(&e, &providers)),
        [("organizations/op", ""), ("organizations/dp1", "2")]
    );
}

#[test]
fn an_incident_keeps_its_severity_and_its_own_date_but_not_its_description() {
    // §3.9: SECURITY_INCIDENT, a veto candidate when MAJOR or CRITICAL; descriptions are not published.
    let e = rev::SecurityIncidentRecorded {
        organization: org_of("organizations/op"),
        occur_date: Some(pdop_proto::common::Date {
            year: 2025,
            month: 12,
            day: 30,
        }),
        severity: IncidentSeverity::Major as i32,
        description: "张三 13800000000 泄露".into(),
        ..Default::default()
    };
    let f = &incident(&e)[0];
    assert_eq!(f.quantity, "3");
    assert_eq!(f.date, chrono::NaiveDate::from_ymd_opt(2025, 12, 30));
    assert!(!f.summary.contains("张三"), "{}", f.summary);
}

#[test]
fn a_data_check_answer_marks_lateness_and_counts_working_days() {
    // §3.9: DATA_QUALITY_CHECK for the responding provider; late answers are marked.
    let e = vev::DataQualityCheckResponded {
        check: Some(vev::DataQualityCheckSummary {
            responsible_provider: org_of("organizations/dp"),
            ..Default::default()
        }),
        late: true,
        working_days_taken: 12,
        ..Default::default()
    };
    let f = &data_check_responded(&e)[0];
    assert_eq!(
        (f.organization.as_str(), f.quantity.as_str()),
        ("organizations/dp", "12")
    );
    assert!(f.summary.contains("逾期"), "{}", f.summary);
}

#[test]
fn a_price_deviation_keeps_the_rate_and_a_late_report() {
    // §3.9: PRICE_DEVIATION (deviation, report_late; the operator is in pricing_case.operator).
    let e = pev::AnnualCheckCompleted {
        pricing_case: Some(pev::PricingCaseSummary {
            operator: org_of("organizations/op"),
            ..Default::default()
        }),
        year: 2025,
        deviation: Some(Rate {
            value: "0.125".into(),
        }),
        report_late: true,
        ..Default::default()
    };
    let f = &annual_check(&e)[0];
    assert_eq!(
        (f.organization.as_str(), f.quantity.as_str()),
        ("organizations/op", "0.125")
    );
    assert!(f.summary.contains("逾期"), "{}", f.summary);
}

#[test]
fn an_annual_check_within_the_threshold_and_on_time_is_no_evidence() {
    // N1 §五: ±10 %; within it, with the report on time, the check says nothing against the operator.
    let within = |d: &str, late: bool| pev::AnnualCheckCompleted {
        pricing_case: Some(pev::PricingCaseSummary {
            operator: org_of("organizations/op"),
            ..Default::default()
        }),
        deviation: Some(Rate { value: d.into() }),
        deviation_threshold: Some(Rate { value: "0.10".into() }),
        report_late: late,
        ..Default::default()
    };
    assert!(annual_check(&within("-0.1", false)).is_empty());
    assert_eq!(annual_check(&within("-0.1001", false)).len(), 1);
    assert_eq!(annual_check(&within("0.05", true)).len(), 1);
}

#[test]
fn an_event_naming_nobody_records_nothing() {
    assert!(disclosed(&dev::EntryPublished::default()).is_empty());
    assert!(agreement_suspended(&rev::AgreementSuspended::default()).is_empty());
    assert!(obligation_missed(&rev::DeadlineMissed::default()).is_empty());
}
