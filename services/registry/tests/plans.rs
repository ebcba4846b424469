//! Implementation plans (实施方案) over gRPC: the profile checklist, submission, approval, filing deadlines
//! on the holiday calendar, in-place catalog updates and major changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::NaiveDate;
use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{DataGrade, Date, DateRange, OrganizationRole, UseClass};
use pdop_proto::registry::events::v1::{ImplementationPlanFiled, ImplementationPlanUpdated};
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::{Code, Status};

const LEAD: &str = "organizations/yn-data";
const AGENCY: &str = "organizations/yn-agency";
const BUREAU: &str = "organizations/yn-bureau";

fn lead<T>(message: T) -> tonic::Request<T> {
    acting(LEAD, &[Role::DataAuthority], message)
}

/// The lead authority, the implementing agency and the provincial bureau of `jurisdiction`, plus one
/// catalogued resource `population` of the statistics provider.
async fn parties(h: &mut Harness, jurisdiction: &str) {
    let j = format!("jurisdictions/{jurisdiction}");
    organization(
        h,
        "yn-data",
        &credit_code(1),
        &j,
        &[OrganizationRole::DataAuthority],
    )
    .await;
    organization(
        h,
        "yn-agency",
        &credit_code(2),
        &j,
        &[OrganizationRole::ImplementingAgency],
    )
    .await;
    organization(
        h,
        "yn-bureau",
        &credit_code(3),
        &j,
        &[OrganizationRole::DataAuthority],
    )
    .await;
}

async fn yunnan() -> Harness {
    let mut h = setup().await;
    parties(&mut h, "yunnan").await;
    catalogued_graded(&mut h, STATS, "population", DataGrade::General).await;
    h
}

fn draft(jurisdiction: &str) -> ImplementationPlan {
    ImplementationPlan {
        display_name: "云南省公共数据授权运营".into(),
        jurisdiction: format!("jurisdictions/{jurisdiction}"),
        implementing_agency: AGENCY.into(),
        authorization_model: AuthorizationModel::WholeRegion as i32,
        resources: vec!["resources/population".into()],
        term: Some(DateRange {
            start_date: day(2027, 1, 1),
            end_date: day(2031, 12, 31),
        }),
        ..Default::default()
    }
}

async fn create_plan(h: &mut Harness, plan: ImplementationPlan) -> Result<ImplementationPlan, Status> {
    let request = CreateImplementationPlanRequest {
        implementation_plan: Some(plan),
        request_id: String::new(),
    };
    Ok(h.client
        .create_implementation_plan(lead(request))
        .await?
        .into_inner()
        .implementation_plan
        .unwrap())
}

/// Marks every checklist item covered, argues all five feasibility aspects and plans both product classes.
async fn complete(h: &mut Harness, plan: &ImplementationPlan) -> ImplementationPlan {
    let mut p = plan.clone();
    for item in &mut p.content_items {
        item.present = true;
        item.section = "第一章".into();
    }
    p.feasibility_aspects = (1..=5).collect();
    p.planned_products = vec![
        PlannedProduct {
            display_name: "人口统计公益报告".into(),
            use_class: UseClass::PublicGovernance as i32,
            ..Default::default()
        },
        PlannedProduct {
            display_name: "人口画像接口".into(),
            use_class: UseClass::IndustryDevelopment as i32,
            ..Default::default()
        },
    ];
    let request = UpdateImplementationPlanRequest {
        implementation_plan: Some(p),
        update_mask: None,
        etag: String::new(),
    };
    h.client
        .update_implementation_plan(lead(request))
        .await
        .unwrap()
        .into_inner()
        .implementation_plan
        .unwrap()
}

async fn submit(h: &mut Harness, name: &str) -> Result<ImplementationPlan, Status> {
    let request = SubmitImplementationPlanRequest {
        name: name.into(),
        collective_decision: doc("三重一大会议纪要"),
        etag: String::new(),
    };
    Ok(h.client
        .submit_implementation_plan(lead(request))
        .await?
        .into_inner()
        .implementation_plan
        .unwrap())
}

async fn approve(h: &mut Harness, name: &str, on: Option<Date>) -> Result<ImplementationPlan, Status> {
    let request = ApproveImplementationPlanRequest {
        name: name.into(),
        approving_body: "云南省人民政府".into(),
        approval_document: doc("批复"),
        approval_date: on,
        etag: String::new(),
    };
    Ok(h.client
        .approve_implementation_plan(authority(request))
        .await?
        .into_inner()
        .implementation_plan
        .unwrap())
}

async fn file(h: &mut Harness, name: &str) -> Result<ImplementationPlan, Status> {
    let request = FileImplementationPlanRequest {
        name: name.into(),
        filed_with: BUREAU.into(),
        filing_date: None,
        filing_reference: "云数备〔2026〕1号".into(),
        etag: String::new(),
    };
    Ok(h.client
        .file_implementation_plan(authority(request))
        .await?
        .into_inner()
        .implementation_plan
        .unwrap())
}

/// A plan taken through approval (on `approved`) and filing.
async fn in_force(h: &mut Harness, jurisdiction: &str, approved: Option<Date>) -> ImplementationPlan {
    let plan = create_plan(h, draft(jurisdiction)).await.unwrap();
    let plan = complete(h, &plan).await;
    submit(h, &plan.name).await.unwrap();
    approve(h, &plan.name, approved).await.unwrap();
    file(h, &plan.name).await.unwrap()
}

#[tokio::test]
async fn the_checklist_follows_the_profile() {
    // N2 Art.9: 12 items (Yunnan keeps them); S-HN Art.9: 11, without operator-selection conditions.
    let mut h = yunnan().await;
    let plan = create_plan(&mut h, draft("yunnan")).await.unwrap();
    assert_eq!(plan.state, ImplementationPlanState::Draft as i32);
    assert_eq!(plan.content_items.len(), 12);
    assert!(plan.content_items.iter().all(|i| !i.present));
    assert!(
        plan.content_items
            .iter()
            .any(|i| i.kind == PlanContentKind::OperatorSelection as i32)
    );

    h.province("henan", "henan").await;
    let henan = ImplementationPlan {
        jurisdiction: "jurisdictions/henan".into(),
        ..draft("yunnan")
    };
    let plan = create_plan(&mut h, henan.clone()).await.unwrap();
    assert_eq!(plan.content_items.len(), 11);
    assert!(
        !plan
            .content_items
            .iter()
            .any(|i| i.kind == PlanContentKind::OperatorSelection as i32)
    );
    let with_selection = ImplementationPlan {
        content_items: vec![PlanContentItem {
            kind: PlanContentKind::OperatorSelection as i32,
            present: true,
            ..Default::default()
        }],
        ..henan
    };
    let err = create_plan(&mut h, with_selection).await.unwrap_err();
    assert_invalid(&err, &["implementation_plan.content_items[0].kind"]);
}

#[tokio::test]
async fn a_plan_is_submitted_only_when_complete_then_approved_and_filed_within_20_working_days() {
    let mut h = yunnan().await;
    let plan = create_plan(&mut h, draft("yunnan")).await.unwrap();

    // N2 Art.9-10: every checklist item, the five feasibility aspects and both product classes.
    let err = submit(&mut h, &plan.name).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("授权运营名称"), "{}", err.message());
    assert!(err.message().contains("N2 Art.10"), "{}", err.message());
    assert!(err.message().contains("N2 Art.9(7)"), "{}", err.message());

    let plan = complete(&mut h, &plan).await;
    assert!(
        h.events("pdop.registry.implementation_plan.updated")
            .await
            .is_empty(),
        "drafts are internal"
    );
    let submitted = submit(&mut h, &plan.name).await.unwrap();
    assert_eq!(submitted.state, ImplementationPlanState::Submitted as i32);
    assert_eq!(
        h.events("pdop.registry.implementation_plan.submitted")
            .await
            .len(),
        1
    );

    // Nobody approves their own organization's plan.
    let own = ApproveImplementationPlanRequest {
        name: plan.name.clone(),
        approving_body: "云南省人民政府".into(),
        approval_document: doc("批复"),
        approval_date: None,
        etag: String::new(),
    };
    let err = h.client.approve_implementation_plan(lead(own)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "OWN_APPLICATION");

    // D13 (S-YN Art.10): file within 20 WD of approval; from 2026-09-28 across National Day and the
    // make-up Saturday 10-10 that is 2026-10-30.
    let approved = approve(&mut h, &plan.name, day(2026, 9, 28)).await.unwrap();
    assert_eq!(approved.state, ImplementationPlanState::Approved as i32);
    let deadline = approved.filing_deadline.as_ref().unwrap();
    assert_eq!(
        ymd(&deadline.due_date),
        NaiveDate::from_ymd_opt(2026, 10, 30).unwrap()
    );
    assert_eq!(deadline.source.as_ref().unwrap().rule_id, "D13");
    assert_eq!(
        h.events("pdop.registry.implementation_plan.approved").await.len(),
        1
    );

    let filed = file(&mut h, &plan.name).await.unwrap();
    assert_eq!(filed.state, ImplementationPlanState::InForce as i32);
    assert_eq!(filed.filed_with, BUREAU);
    let events = h.events("pdop.registry.implementation_plan.filed").await;
    assert_eq!(events.len(), 1);
    let event = ImplementationPlanFiled::decode(events[0].as_slice()).unwrap();
    assert_eq!(event.plan.unwrap().implementing_agency.unwrap().name, AGENCY);
    assert_eq!(h.audit_rows("registry.FileImplementationPlan").await, 1);

    // Filing twice is a state error, not a second event.
    let err = file(&mut h, &plan.name).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(h.events("pdop.registry.implementation_plan.filed").await.len(), 1);
}

#[tokio::test]
async fn hubei_files_within_one_month_moved_off_spring_festival_and_henan_has_no_deadline() {
    let mut h = setup().await;
    h.province("hubei", "hubei").await;
    parties(&mut h, "hubei").await;
    catalogued_graded(&mut h, STATS, "population", DataGrade::General).await;
    // D15 (S-HB §五(六)): 1 month. From 2026-01-15 the month ends on Sunday 2026-02-15, inside the
    // Spring Festival holiday (02-15..02-23), so the deadline moves to Tuesday 2026-02-24.
    let plan = create_plan(&mut h, draft("hubei")).await.unwrap();
    let plan = complete(&mut h, &plan).await;
    submit(&mut h, &plan.name).await.unwrap();
    let approved = approve(&mut h, &plan.name, day(2026, 1, 15)).await.unwrap();
    let deadline = approved.filing_deadline.unwrap();
    assert_eq!(
        ymd(&deadline.due_date),
        NaiveDate::from_ymd_opt(2026, 2, 24).unwrap()
    );
    assert_eq!(deadline.source.unwrap().rule_id, "D15");

    // From 2026-01-28 the month ends on Saturday 2026-02-28, a make-up working day: due that day.
    let plan = create_plan(&mut h, draft("hubei")).await.unwrap();
    let plan = complete(&mut h, &plan).await;
    submit(&mut h, &plan.name).await.unwrap();
    let approved = approve(&mut h, &plan.name, day(2026, 1, 28)).await.unwrap();
    assert_eq!(
        ymd(&approved.filing_deadline.unwrap().due_date),
        NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
    );

    // S-HN Art.11: Henan requires filing without a deadline.
    h.province("henan", "henan").await;
    let henan = ImplementationPlan {
        jurisdiction: "jurisdictions/henan".into(),
        ..draft("hubei")
    };
    let plan = create_plan(&mut h, henan).await.unwrap();
    let plan = complete(&mut h, &plan).await;
    submit(&mut h, &plan.name).await.unwrap();
    let approved = approve(&mut h, &plan.name, None).await.unwrap();
    assert!(approved.filing_deadline.is_none());
}

#[tokio::test]
async fn an_in_force_plan_updates_its_catalog_in_place_and_changes_anything_else_through_re_approval() {
    let mut h = yunnan().await;
    catalogued_graded(&mut h, STATS, "households", DataGrade::General).await;
    let plan = in_force(&mut h, "yunnan", None).await;

    // DOMAIN §4.2 (S-HB §五(六)): catalog and product-list updates need no re-approval.
    let update = UpdateImplementationPlanRequest {
        implementation_plan: Some(ImplementationPlan {
            name: plan.name.clone(),
            resources: vec!["resources/population".into(), "resources/households".into()],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["resources".into()],
        }),
        etag: plan.etag.clone(),
    };
    let updated = h
        .client
        .update_implementation_plan(lead(update))
        .await
        .unwrap()
        .into_inner()
        .implementation_plan
        .unwrap();
    assert_eq!(updated.state, ImplementationPlanState::InForce as i32);
    assert_eq!(updated.resources.len(), 2);
    let events = h.events("pdop.registry.implementation_plan.updated").await;
    assert_eq!(events.len(), 1);
    let event = ImplementationPlanUpdated::decode(events[0].as_slice()).unwrap();
    assert_eq!(event.changed_fields, vec!["resources".to_owned()]);

    // N2 Art.11: anything else is a major change.
    let rename = UpdateImplementationPlanRequest {
        implementation_plan: Some(ImplementationPlan {
            name: plan.name.clone(),
            display_name: "新名称".into(),
            ..Default::default()
        }),
        update_mask: None,
        etag: String::new(),
    };
    let err = h
        .client
        .update_implementation_plan(lead(rename))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "MAJOR_CHANGE_REQUIRED");

    let change = |id: &str| ChangeImplementationPlanRequest {
        name: plan.name.clone(),
        change_summary: "调整收益分配机制".into(),
        request_id: id.into(),
    };
    let successor = h
        .client
        .change_implementation_plan(lead(change("c1")))
        .await
        .unwrap()
        .into_inner()
        .implementation_plan
        .unwrap();
    assert_eq!(successor.state, ImplementationPlanState::Draft as i32);
    assert_eq!(successor.supersedes, plan.name);
    assert_eq!(successor.resources.len(), 2);
    // A retry returns the same successor; a second change while one is pending is refused.
    let retry = h
        .client
        .change_implementation_plan(lead(change("c1")))
        .await
        .unwrap()
        .into_inner()
        .implementation_plan
        .unwrap();
    assert_eq!(retry.name, successor.name);
    let err = h
        .client
        .change_implementation_plan(lead(change("c2")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "CHANGE_PENDING");
    assert_eq!(
        h.events("pdop.registry.implementation_plan.change_started")
            .await
            .len(),
        1
    );

    // The old plan stays in force until the successor is filed, then is superseded.
    submit(&mut h, &successor.name).await.unwrap();
    approve(&mut h, &successor.name, None).await.unwrap();
    let get = |name: &str| GetImplementationPlanRequest { name: name.into() };
    let old = h
        .client
        .get_implementation_plan(lead(get(&plan.name)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        old.implementation_plan.unwrap().state,
        ImplementationPlanState::InForce as i32
    );
    file(&mut h, &successor.name).await.unwrap();
    let old = h
        .client
        .get_implementation_plan(lead(get(&plan.name)))
        .await
        .unwrap()
        .into_inner()
        .implementation_plan
        .unwrap();
    assert_eq!(old.state, ImplementationPlanState::Superseded as i32);
    assert_eq!(old.superseded_by, successor.name);
}

#[tokio::test]
async fn bad_plans_are_refused_with_the_reason() {
    let mut h = yunnan().await;
    let err = create_plan(
        &mut h,
        ImplementationPlan {
            display_name: " ".into(),
            authorization_model: 0,
            term: Some(DateRange {
                start_date: day(2027, 1, 1),
                end_date: day(2026, 1, 1),
            }),
            ..draft("yunnan")
        },
    )
    .await
    .unwrap_err();
    assert_invalid(
        &err,
        &[
            "implementation_plan.display_name",
            "implementation_plan.authorization_model",
            "implementation_plan.term.end_date",
        ],
    );

    // Registry issue §3: core data never enters authorized operation, not even a plan's scope.
    catalogued_graded(&mut h, STATS, "secrets", DataGrade::Core).await;
    let err = create_plan(
        &mut h,
        ImplementationPlan {
            resources: vec!["resources/secrets".into()],
            ..draft("yunnan")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("core data"), "{}", err.message());

    // The implementing agency must hold that role.
    let err = create_plan(
        &mut h,
        ImplementationPlan {
            implementing_agency: BUREAU.into(),
            ..draft("yunnan")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "ROLE_MISSING");

    // Only data authorities draft plans, and only their own.
    let request = CreateImplementationPlanRequest {
        implementation_plan: Some(draft("yunnan")),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_implementation_plan(provider(STATS, request))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let plan = create_plan(&mut h, draft("yunnan")).await.unwrap();
    let request = SubmitImplementationPlanRequest {
        name: plan.name.clone(),
        collective_decision: doc("纪要"),
        etag: String::new(),
    };
    let err = h
        .client
        .submit_implementation_plan(authority(request))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_THE_LEAD_AUTHORITY");
    let request = SubmitImplementationPlanRequest {
        name: plan.name,
        collective_decision: None,
        etag: String::new(),
    };
    let err = h
        .client
        .submit_implementation_plan(lead(request))
        .await
        .unwrap_err();
    assert_invalid(&err, &["collective_decision"]);
}

// THREATS H2: a data authority of another province neither opens nor approves Yunnan's plans, and nothing is
// written.
#[tokio::test]
async fn a_foreign_data_authority_cannot_open_or_approve_a_plan() {
    let mut h = yunnan().await;
    let plan = create_plan(&mut h, draft("yunnan")).await.unwrap();
    let plan = complete(&mut h, &plan).await;
    submit(&mut h, &plan.name).await.unwrap();
    let request = ApproveImplementationPlanRequest {
        name: plan.name.clone(),
        approving_body: "河南省人民政府".into(),
        approval_document: doc("批复"),
        approval_date: None,
        etag: String::new(),
    };
    let err = h
        .client
        .approve_implementation_plan(henan_authority(request))
        .await
        .unwrap_err();
    assert_outside_jurisdiction(&err, "ApproveImplementationPlan");
    let create = CreateImplementationPlanRequest {
        implementation_plan: Some(ImplementationPlan {
            lead_authority: LEAD.into(),
            ..draft("yunnan")
        }),
        request_id: String::new(),
    };
    // The lead authority itself, holding a token of another province.
    let lead_in_henan = pdop_testkit::acting_in(LEAD, &[Role::DataAuthority], "jurisdictions/henan", create);
    let err = h
        .client
        .create_implementation_plan(lead_in_henan)
        .await
        .unwrap_err();
    assert_outside_jurisdiction(&err, "CreateImplementationPlan");
    assert_eq!(h.audit_rows("registry.ApproveImplementationPlan").await, 0);
    // A supervisor of Yunnan (the root's authority) approves it.
    let approved = approve(&mut h, &plan.name, None).await.unwrap();
    assert_eq!(approved.state, ImplementationPlanState::Approved as i32);
}
