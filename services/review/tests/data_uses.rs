//! Data-use applications (用数申请, spec §2.4) over gRPC against PostgreSQL and NATS: the flow per profile switch
//! (§2.2), the providers' confirmations and their D20 clock, the lead's decision, the grant of a combined scenario
//! (CF-2, CF-3), the cascades (§2.3, R-RV-15) and one event per state change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::NaiveDate;
use common::{Harness, World, date, start, start_on};
use pdop_kit::auth::Role;
use pdop_proto::common::{DateRange, DocumentRef, UseClass};
use pdop_proto::registry::v1::AgreementState;
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{
    CriterionAssessment, CriterionFinding, DataDemand, DataUseApplication, DataUseApplicationState as State,
    DataUseItem, DataUseItemDecision, DataUseItemState, DataUseKind, DeliveryMethod, MissingItem,
    OpinionStance, ProviderConfirmationState, ReviewCriterion, ReviewOpinion, ReviewerAssignment,
    ReviewerRole, ScenarioApplication, SecurityMeasure, SecurityMeasureKind,
};
use pdop_testkit::{acting, assert_invalid, reason};
use tonic::Code;

const SUBMITTED: &str = "pdop.review.data_use_application.submitted";
const CONFIRMED: &str = "pdop.review.data_use_application.confirmed";
const APPROVED: &str = "pdop.review.data_use_application.approved";
const REJECTED: &str = "pdop.review.data_use_application.rejected";
const RETURNED: &str = "pdop.review.data_use_application.returned";
const WITHDRAWN: &str = "pdop.review.data_use_application.withdrawn";
const PROVISIONED: &str = "pdop.review.data_use_application.provisioned";
const REVOKED: &str = "pdop.review.data_use_application.revoked";

fn document(title: &str) -> Option<DocumentRef> {
    Some(DocumentRef {
        uri: format!("https://files.example/{title}.pdf"),
        sha256: "cd".repeat(32),
        title: title.into(),
        ..Default::default()
    })
}

fn period(start: (i32, i32, i32), end: (i32, i32, i32)) -> Option<DateRange> {
    Some(DateRange {
        start_date: Some(date(start.0, start.1, start.2)),
        end_date: Some(date(end.0, end.1, end.2)),
    })
}

/// Who acts for `org` in a world: its token role follows its name.
fn as_org<T>(w: &World, org: &str, m: T) -> tonic::Request<T> {
    let role = if org == w.da() {
        Role::DataAuthority
    } else if org == w.ia() {
        Role::ImplementingAgency
    } else if org == w.ir() {
        Role::IndustryRegulator
    } else if org == w.op() {
        Role::Operator
    } else {
        Role::DataProvider
    };
    acting(org, &[role], m)
}

fn opinion(parent: &str, seat: &str, criteria: &[ReviewCriterion]) -> pb::CreateReviewOpinionRequest {
    pb::CreateReviewOpinionRequest {
        parent: parent.into(),
        opinion: Some(ReviewOpinion {
            reviewer: seat.into(),
            stance: OpinionStance::Agree as i32,
            comments: "同意".into(),
            criteria: criteria
                .iter()
                .map(|c| CriterionAssessment {
                    criterion: *c as i32,
                    finding: CriterionFinding::Met as i32,
                    comment: String::new(),
                })
                .collect(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// A scenario on `resources` submitted and agreed by every seat (the lead assessing `criteria`), not yet decided.
async fn reviewed_scenario(
    h: &mut Harness,
    w: &World,
    resources: &[String],
    criteria: &[ReviewCriterion],
) -> ScenarioApplication {
    let scenario = ScenarioApplication {
        display_name: "普惠金融信用评估".into(),
        agreement: w.agreement(),
        purpose: "小微企业信用评估".into(),
        use_class: UseClass::IndustryDevelopment as i32,
        data_demands: resources
            .iter()
            .map(|r| DataDemand {
                resource: r.clone(),
                necessity: "信用评估必需".into(),
                subject_authorization: document("授权书"),
                ..Default::default()
            })
            .collect(),
        security_measures: vec![SecurityMeasure {
            kind: SecurityMeasureKind::PrivacyComputing as i32,
            description: "隐私计算".into(),
            ..Default::default()
        }],
        construction_plan: document("场景建设方案"),
        planned_period: period((2026, 3, 1), (2027, 2, 28)),
        delivery_method: DeliveryMethod::PrivacyComputing as i32,
        ..Default::default()
    };
    let req = pb::CreateScenarioApplicationRequest {
        scenario_application: Some(scenario),
        request_id: String::new(),
    };
    let s = h
        .client
        .create_scenario_application(w.as_operator(req))
        .await
        .unwrap();
    let name = s.into_inner().scenario_application.unwrap().name;
    let req = pb::SubmitScenarioApplicationRequest {
        name: name.clone(),
        ..Default::default()
    };
    let mut s = h
        .client
        .submit_scenario_application(w.as_operator(req))
        .await
        .unwrap();
    if w.profile == "laiyuan" {
        let seat = ReviewerAssignment {
            organization: w.ir(),
            reviewer_role: ReviewerRole::IndustryRegulator as i32,
            binding: true,
            ..Default::default()
        };
        let req = pb::AssignReviewerRequest {
            parent: name.clone(),
            reviewer: Some(seat),
            request_id: String::new(),
        };
        h.client.assign_reviewer(w.as_da(req)).await.unwrap();
        let req = pb::GetScenarioApplicationRequest { name: name.clone() };
        s = tonic::Response::new(pb::SubmitScenarioApplicationResponse {
            scenario_application: h
                .client
                .get_scenario_application(w.as_da(req))
                .await
                .unwrap()
                .into_inner()
                .scenario_application,
        });
    }
    let s = s.into_inner().scenario_application.unwrap();
    for seat in &s.reviewers {
        let lead = seat.reviewer_role == ReviewerRole::Lead as i32;
        let given = opinion(&name, &seat.name, if lead { criteria } else { &[] });
        h.client
            .create_review_opinion(as_org(w, &seat.organization, given))
            .await
            .unwrap();
    }
    s
}

const HUBEI_CRITERIA: [ReviewCriterion; 6] = [
    ReviewCriterion::EconomicValue,
    ReviewCriterion::SocialValue,
    ReviewCriterion::BusinessModel,
    ReviewCriterion::DataNeedReasonable,
    ReviewCriterion::DataNeedNecessary,
    ReviewCriterion::DataNeedSatisfiable,
];

const LAIYUAN_CRITERIA: [ReviewCriterion; 4] = [
    ReviewCriterion::ScenarioFeasibility,
    ReviewCriterion::DataNeedNecessary,
    ReviewCriterion::DataNeedReasonable,
    ReviewCriterion::ScenarioCompliance,
];

/// An APPROVED scenario of a two-step profile on `resources`.
async fn approved_scenario(h: &mut Harness, w: &World, resources: &[String]) -> ScenarioApplication {
    let criteria: &[ReviewCriterion] = if w.profile == "laiyuan" {
        &LAIYUAN_CRITERIA
    } else {
        &HUBEI_CRITERIA
    };
    let s = reviewed_scenario(h, w, resources, criteria).await;
    let req = pb::ApproveScenarioApplicationRequest {
        name: s.name.clone(),
        reasons: "同意".into(),
        ..Default::default()
    };
    let done = h.client.approve_scenario_application(w.as_da(req)).await.unwrap();
    done.into_inner().scenario_application.unwrap()
}

fn item(resource: &str, fields: &[&str]) -> DataUseItem {
    DataUseItem {
        resource: resource.into(),
        field_keys: fields.iter().map(|f| (*f).to_owned()).collect(),
        necessity: "评估必需".into(),
        subject_authorization: document("个人授权"),
        ..Default::default()
    }
}

/// A complete public-data application under `scenario` (empty: under the agreement, as Yunnan has it).
fn application(w: &World, scenario: &str, items: Vec<DataUseItem>) -> DataUseApplication {
    DataUseApplication {
        display_name: "信用评估用数".into(),
        kind: DataUseKind::PublicData as i32,
        scenario_application: scenario.into(),
        agreement: if scenario.is_empty() {
            w.agreement()
        } else {
            String::new()
        },
        purpose: "小微企业信用评估".into(),
        items,
        delivery_method: DeliveryMethod::PrivacyComputing as i32,
        use_period: period((2026, 10, 1), (2026, 12, 31)),
        minimum_necessity_statement: "仅申请评估所需字段".into(),
        ..Default::default()
    }
}

async fn create(
    h: &mut Harness,
    w: &World,
    a: DataUseApplication,
) -> Result<DataUseApplication, tonic::Status> {
    let req = pb::CreateDataUseApplicationRequest {
        data_use_application: Some(a),
        request_id: String::new(),
    };
    let done = h.client.create_data_use_application(w.as_operator(req)).await?;
    Ok(done.into_inner().data_use_application.unwrap())
}

async fn submit(h: &mut Harness, w: &World, name: &str) -> Result<DataUseApplication, tonic::Status> {
    let req = pb::SubmitDataUseApplicationRequest {
        name: name.into(),
        ..Default::default()
    };
    let done = h.client.submit_data_use_application(w.as_operator(req)).await?;
    Ok(done.into_inner().data_use_application.unwrap())
}

fn decision(resource: &str, approve: bool, fields: &[&str], reason: &str) -> DataUseItemDecision {
    DataUseItemDecision {
        resource: resource.into(),
        approved_field_keys: fields.iter().map(|f| (*f).to_owned()).collect(),
        approve,
        reason: reason.into(),
    }
}

fn confirmation(name: &str, decisions: Vec<DataUseItemDecision>) -> pb::ConfirmDataUseApplicationRequest {
    pb::ConfirmDataUseApplicationRequest {
        name: name.into(),
        decisions,
        comments: "已审核".into(),
        ..Default::default()
    }
}

async fn confirm(
    h: &mut Harness,
    w: &World,
    org: &str,
    req: pb::ConfirmDataUseApplicationRequest,
) -> Result<DataUseApplication, tonic::Status> {
    let done = h.client.confirm_data_use_application(as_org(w, org, req)).await?;
    Ok(done.into_inner().data_use_application.unwrap())
}

fn approval(name: &str) -> pb::ApproveDataUseApplicationRequest {
    pb::ApproveDataUseApplicationRequest {
        name: name.into(),
        reasons: "同意".into(),
        ..Default::default()
    }
}

fn item_state(a: &DataUseApplication, resource: &str) -> (i32, Vec<String>) {
    let i = a.items.iter().find(|i| i.resource == resource).unwrap();
    (i.state, i.approved_field_keys.clone())
}

async fn get(h: &mut Harness, w: &World, name: &str) -> DataUseApplication {
    let req = pb::GetDataUseApplicationRequest { name: name.into() };
    let got = h.client.get_data_use_application(w.as_da(req)).await.unwrap();
    got.into_inner().data_use_application.unwrap()
}

#[tokio::test]
async fn hubei_providers_confirm_within_five_working_days_over_national_day_and_the_last_one_decides() {
    // S-HB §四(三): 基于已审核通过的应用场景申请使用数据; 数据提供单位…在5个工作日内完成审核 (D20). Submitted on Wed
    // 2026-09-30: 10-01..10-07 are holidays, so the five working days are Thu 10-08, Fri 10-09, Sat 10-10 (调休),
    // Mon 10-12 and Tue 10-13.
    let mut h = start_on(NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()).await;
    let w = h.world("hubei").await;
    let s = approved_scenario(&mut h, &w, &[w.r1(), w.r2()]).await;
    let mut unauthorized = item(&w.r2(), &[]);
    unauthorized.subject_authorization = None;
    let a = application(&w, &s.name, vec![item(&w.r1(), &["name", "score"]), unauthorized]);
    let a = create(&mut h, &w, a).await.unwrap();
    assert_eq!(
        (a.state, a.agreement.clone()),
        (State::Draft as i32, w.agreement())
    );
    assert!(
        a.items[1].involves_personal_info,
        "R-RV-19: computed from the resource"
    );
    assert_eq!(h.events(SUBMITTED, &a.name).await, 0, "drafts are private");
    // S-HB §四(五)2: personal information needs the subjects' authorization.
    let err = submit(&mut h, &w, &a.name).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "INCOMPLETE")
    );
    assert!(
        err.message().contains("items[1].subject_authorization"),
        "{err:?}"
    );
    let mut edit = a.clone();
    edit.items[1].subject_authorization = document("个人授权");
    let req = pb::UpdateDataUseApplicationRequest {
        data_use_application: Some(edit),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["items".into()],
        }),
        etag: a.etag.clone(),
    };
    h.client
        .update_data_use_application(w.as_operator(req))
        .await
        .unwrap();

    let a = submit(&mut h, &w, &a.name).await.unwrap();
    assert_eq!(a.state, State::UnderReview as i32);
    let due = Some(date(2026, 10, 13));
    let providers: Vec<_> = a
        .provider_confirmations
        .iter()
        .map(|c| c.provider.clone())
        .collect();
    assert_eq!(providers, [w.dp(), w.dp2()]);
    for c in &a.provider_confirmations {
        let deadline = c.deadline.as_ref().unwrap();
        assert_eq!((deadline.due_date, deadline.duration), (due, 5), "{c:?}");
        assert_eq!(deadline.source.as_ref().unwrap().rule_id, "D20");
    }
    assert!(
        a.reviewers
            .iter()
            .all(|s| s.reviewer_role == ReviewerRole::DataProvider as i32)
    );
    assert_eq!(h.events(SUBMITTED, &a.name).await, 1);
    let submitted: ev::DataUseApplicationSubmitted = h.event(SUBMITTED, &a.name).await;
    let dues: Vec<_> = submitted.provider_deadlines.iter().map(|d| d.due_date).collect();
    assert_eq!(dues, [due, due]);
    assert_eq!(submitted.providers[0].display_name, "hubei-dp 名称", "R-RV-11");

    // A narrowing needs its reason (S-YN Art.20 最小必要, applied by analogy).
    let narrowed = |reason: &str| confirmation(&a.name, vec![decision(&w.r1(), true, &["score"], reason)]);
    let err = confirm(&mut h, &w, &w.dp(), narrowed("")).await.unwrap_err();
    assert_invalid(&err, &["decisions[0].reason"]);
    let err = confirm(
        &mut h,
        &w,
        &w.dp(),
        confirmation(&a.name, vec![decision(&w.r2(), true, &[], "")]),
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["decisions[0].resource", "decisions"]);
    let a = confirm(&mut h, &w, &w.dp(), narrowed("姓名非必要"))
        .await
        .unwrap();
    assert_eq!(
        item_state(&a, &w.r1()),
        (DataUseItemState::PartlyApproved as i32, vec!["score".to_owned()])
    );
    assert_eq!(a.state, State::UnderReview as i32);
    assert_eq!(h.events(CONFIRMED, &a.name).await, 1);
    let err = confirm(&mut h, &w, &w.dp(), narrowed("再次")).await.unwrap_err();
    assert_eq!(reason(&err), "ALREADY_CONFIRMED");
    // Hubei seats no lead: the data authority cannot approve.
    let err = h
        .client
        .approve_data_use_application(w.as_da(approval(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "NO_LEAD")
    );
    assert!(err.message().contains("hubei"), "{err:?}");

    // R-RV-06: after the due date a confirmation needs a late explanation, and is marked late.
    // R-RV-07: the scheduler announces dp2's unmet D20 once, the day after 10-13; dp confirmed in time.
    h.advance_days(14);
    h.until(
        "the missed D20 is announced",
        &format!(
            "SELECT count(*) = 1 FROM outbox WHERE subject = 'pdop.review.deadline.missed' AND ce_subject = '{}'",
            a.name
        ),
    )
    .await;
    let missed: ev::ReviewDeadlineMissed = h.event("pdop.review.deadline.missed", &a.name).await;
    assert_eq!(missed.step, format!("confirm:{}", w.dp2()));
    assert_eq!(missed.deadline.unwrap().due_date, due);
    let last = confirmation(&a.name, vec![decision(&w.r2(), true, &[], "")]);
    let err = confirm(&mut h, &w, &w.dp2(), last.clone()).await.unwrap_err();
    assert_invalid(&err, &["late_explanation"]);
    let mut last = last;
    last.late_explanation = "国庆假期后系统维护".into();
    let a = confirm(&mut h, &w, &w.dp2(), last).await.unwrap();
    assert!(a.provider_confirmations[1].late);
    assert_eq!(a.state, State::Approved as i32, "the last confirmation decides");
    assert_eq!(item_state(&a, &w.r2()).0, DataUseItemState::Approved as i32);
    assert_eq!(h.events(CONFIRMED, &a.name).await, 2);
    assert_eq!(h.events(APPROVED, &a.name).await, 1);
    assert_eq!(
        h.events("pdop.review.deadline.missed", &a.name).await,
        1,
        "a met deadline is never announced"
    );
    let approved: ev::DataUseApproved = h.event(APPROVED, &a.name).await;
    let granted: Vec<_> = approved
        .granted_items
        .iter()
        .map(|g| (g.resource.clone(), g.field_keys.clone()))
        .collect();
    assert_eq!(granted, [(w.r1(), vec!["score".to_owned()]), (w.r2(), vec![])]);
}

#[tokio::test]
async fn hubei_rejects_when_the_last_provider_approves_nothing() {
    // S-HB §四(三): without a lead the providers' confirmations decide; nothing approved is a rejection.
    let mut h = start().await;
    let w = h.world("hubei").await;
    let s = approved_scenario(&mut h, &w, &[w.r1()]).await;
    let a = create(&mut h, &w, application(&w, &s.name, vec![item(&w.r1(), &[])]))
        .await
        .unwrap();
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    let err = confirm(
        &mut h,
        &w,
        &w.dp(),
        confirmation(&a.name, vec![decision(&w.r1(), false, &[], "")]),
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["decisions[0].reason"]);
    let no = confirmation(&a.name, vec![decision(&w.r1(), false, &[], "涉及未脱敏数据")]);
    let a = confirm(&mut h, &w, &w.dp(), no).await.unwrap();
    assert_eq!(a.state, State::Rejected as i32);
    assert!(a.decisions.last().unwrap().reasons.contains("涉及未脱敏数据"));
    assert_eq!(
        (
            h.events(REJECTED, &a.name).await,
            h.events(APPROVED, &a.name).await
        ),
        (1, 0)
    );
}

#[tokio::test]
async fn yunnan_applies_without_a_scenario_and_the_authority_grants_only_what_providers_approved() {
    // DU-2, S-YN Art.20: 基于…应用场景，通过运营平台提出公共数据资源用数申请，经数据主管部门和数据提供单位审核通过后获取.
    let mut h = start().await;
    let w = h.world("yunnan").await;
    let with_scenario = application(&w, "scenarioApplications/s1", vec![item(&w.r1(), &[])]);
    let mut with_scenario = with_scenario;
    with_scenario.agreement = w.agreement();
    let err = create(&mut h, &w, with_scenario).await.unwrap_err();
    assert_invalid(&err, &["data_use_application.scenario_application"]);
    let mut no_purpose = application(&w, "", vec![item(&w.r1(), &[])]);
    no_purpose.purpose.clear();
    assert_invalid(
        &create(&mut h, &w, no_purpose).await.unwrap_err(),
        &["data_use_application.purpose"],
    );
    let mut too_long = application(&w, "", vec![item(&w.r1(), &[])]);
    too_long.use_period = period((2030, 6, 1), (2031, 5, 31));
    let err = create(&mut h, &w, too_long).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "PERIOD_OUTSIDE_TERM")
    );

    let a = create(
        &mut h,
        &w,
        application(&w, "", vec![item(&w.r1(), &[]), item(&w.r2(), &[])]),
    )
    .await
    .unwrap();
    assert_eq!(a.scenario_application, "");
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    let lead = a
        .reviewers
        .iter()
        .find(|s| s.reviewer_role == ReviewerRole::Lead as i32)
        .unwrap()
        .clone();
    assert_eq!(lead.organization, w.da());
    assert!(
        a.provider_confirmations.iter().all(|c| c.deadline.is_none()),
        "no source sets D20 in Yunnan"
    );
    // Role × RPC: the operator cannot confirm; the authority waits for the providers.
    let req = confirmation(&a.name, vec![decision(&w.r1(), true, &[], "")]);
    let err = h
        .client
        .confirm_data_use_application(w.as_operator(req))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = h
        .client
        .approve_data_use_application(w.as_da(approval(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "CONFIRMATIONS_PENDING")
    );
    confirm(
        &mut h,
        &w,
        &w.dp(),
        confirmation(&a.name, vec![decision(&w.r1(), false, &[], "不符合最小必要")]),
    )
    .await
    .unwrap();
    confirm(
        &mut h,
        &w,
        &w.dp2(),
        confirmation(&a.name, vec![decision(&w.r2(), true, &[], "")]),
    )
    .await
    .unwrap();
    // R-RV-08: Yunnan's criterion minimum_necessary (S-YN Art.20) must be assessed first.
    let err = h
        .client
        .approve_data_use_application(w.as_da(approval(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CRITERION_NOT_ASSESSED");
    let given = opinion(&a.name, &lead.name, &[ReviewCriterion::MinimumNecessary]);
    h.client.create_review_opinion(w.as_da(given)).await.unwrap();
    let err = h
        .client
        .approve_data_use_application(w.as_ia(approval(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "NOT_THE_LEAD")
    );
    let done = h
        .client
        .approve_data_use_application(w.as_da(approval(&a.name)))
        .await
        .unwrap();
    let a = done.into_inner().data_use_application.unwrap();
    assert_eq!(a.state, State::Approved as i32);
    assert_eq!(item_state(&a, &w.r1()).0, DataUseItemState::Rejected as i32);
    let approved: ev::DataUseApproved = h.event(APPROVED, &a.name).await;
    let granted: Vec<_> = approved
        .granted_items
        .iter()
        .map(|g| g.resource.clone())
        .collect();
    assert_eq!(granted, [w.r2()], "only provider-approved items are granted");

    // S-HB §四(三) 汇聚至授权运营平台: the authority records the provisioning; then revokes (N2 Art.21).
    let req = pb::RecordDataUseProvisioningRequest {
        name: a.name.clone(),
        ..Default::default()
    };
    let err = h
        .client
        .record_data_use_provisioning(w.as_da(req.clone()))
        .await
        .unwrap_err();
    assert_invalid(&err, &["provision_reference"]);
    let req = pb::RecordDataUseProvisioningRequest {
        provision_reference: "sandbox://yunnan/credit".into(),
        ..req
    };
    let done = h.client.record_data_use_provisioning(w.as_da(req)).await.unwrap();
    assert_eq!(
        done.into_inner().data_use_application.unwrap().state,
        State::Provisioned as i32
    );
    let revoke = pb::RevokeDataUseApplicationRequest {
        name: a.name.clone(),
        reasons: "超授权范围使用".into(),
        basis: "N2 Art.21".into(),
        ..Default::default()
    };
    let stranger = acting(&w.dev(), &[Role::DataProvider], revoke.clone());
    let err = h.client.revoke_data_use_application(stranger).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "NOT_A_PROVIDER")
    );
    let done = h
        .client
        .revoke_data_use_application(w.as_dp2(revoke))
        .await
        .unwrap();
    assert_eq!(
        done.into_inner().data_use_application.unwrap().state,
        State::Revoked as i32
    );
    for (subject, count) in [
        (SUBMITTED, 1),
        (CONFIRMED, 2),
        (APPROVED, 1),
        (PROVISIONED, 1),
        (REVOKED, 1),
    ] {
        assert_eq!(h.events(subject, &a.name).await, count, "{subject}");
    }
}

#[tokio::test]
async fn nothing_new_happens_under_a_suspended_agreement() {
    // R-RV-14, S-HN Art.22 (暂停授权运营), S-ZZ Art.28: no submission, confirmation, approval or provisioning.
    let mut h = start().await;
    let w = h.world("yunnan").await;
    let draft = create(&mut h, &w, application(&w, "", vec![item(&w.r1(), &[])]))
        .await
        .unwrap();
    let open = create(&mut h, &w, application(&w, "", vec![item(&w.r1(), &[])]))
        .await
        .unwrap();
    let open = submit(&mut h, &w, &open.name).await.unwrap();
    let approved = granted(&mut h, &w, "").await;

    h.agreement(&w, AgreementState::Suspended, "a-yunnan-suspended")
        .await;
    h.until(
        "the agreement is suspended",
        "SELECT state = 5 FROM agreements WHERE id = 'yunnan-a1'",
    )
    .await;
    let suspended = |err: tonic::Status| {
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (Code::FailedPrecondition, "AGREEMENT_SUSPENDED"),
            "{err:?}"
        );
    };
    suspended(submit(&mut h, &w, &draft.name).await.unwrap_err());
    let yes = confirmation(&open.name, vec![decision(&w.r1(), true, &[], "")]);
    suspended(confirm(&mut h, &w, &w.dp(), yes).await.unwrap_err());
    suspended(
        h.client
            .approve_data_use_application(w.as_da(approval(&open.name)))
            .await
            .unwrap_err(),
    );
    let req = pb::RecordDataUseProvisioningRequest {
        name: approved.name.clone(),
        provision_reference: "sandbox://yunnan/1".into(),
        ..Default::default()
    };
    suspended(
        h.client
            .record_data_use_provisioning(w.as_ia(req))
            .await
            .unwrap_err(),
    );
    assert_eq!(h.events(PROVISIONED, &approved.name).await, 0);
}

#[tokio::test]
async fn two_step_data_use_follows_an_approved_scenario_and_stays_within_its_demands() {
    // S-HB §四(三): 基于已审核通过的应用场景申请使用数据; §2.4 CreateDataUseApplication.
    let mut h = start().await;
    let w = h.world("hubei").await;
    let mut no_scenario = application(&w, "", vec![item(&w.r1(), &[])]);
    no_scenario.agreement = w.agreement();
    assert_invalid(
        &create(&mut h, &w, no_scenario).await.unwrap_err(),
        &["data_use_application.scenario_application"],
    );
    let pending = reviewed_scenario(&mut h, &w, &[w.r1()], &HUBEI_CRITERIA).await;
    let err = create(
        &mut h,
        &w,
        application(&w, &pending.name, vec![item(&w.r1(), &[])]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "SCENARIO_NOT_APPROVED")
    );

    let s = approved_scenario(&mut h, &w, &[w.r1()]).await;
    let err = create(&mut h, &w, application(&w, &s.name, vec![item(&w.r2(), &[])]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "NOT_DEMANDED")
    );
    for (resource, expected) in [(w.listed(), "NEGATIVE_LISTED"), (w.core(), "CORE_DATA")] {
        let err = create(&mut h, &w, application(&w, &s.name, vec![item(&resource, &[])]))
            .await
            .unwrap_err();
        assert_eq!(reason(&err), expected, "{resource}");
    }
    // Bad input names every field; co_applicant is the regulator's to set (S-LY §四).
    let mut bad = application(&w, &s.name, vec![item(&w.r1(), &[]), item(&w.r1(), &[])]);
    bad.display_name.clear();
    bad.kind = DataUseKind::Unspecified as i32;
    let err = create(&mut h, &w, bad).await.unwrap_err();
    assert_invalid(
        &err,
        &[
            "data_use_application.kind",
            "data_use_application.display_name",
            "data_use_application.items[1].resource",
        ],
    );
    let mut joint = application(&w, &s.name, vec![item(&w.r1(), &[])]);
    joint.co_applicant = w.ir();
    assert_invalid(
        &create(&mut h, &w, joint).await.unwrap_err(),
        &["data_use_application.co_applicant"],
    );
    // A social-data import names its lawful source (S-ZZ Art.18, S-LY §六(二)3).
    let mut import = application(
        &w,
        &s.name,
        vec![DataUseItem {
            necessity: "融合".into(),
            ..Default::default()
        }],
    );
    import.kind = DataUseKind::SocialDataImport as i32;
    let err = create(&mut h, &w, import).await.unwrap_err();
    assert_invalid(&err, &["data_use_application.items[0].external_source"]);
    // Submission needs the minimum-necessity statement (S-YN Art.20) and a delivery method (S-HN Art.3).
    let mut thin = application(&w, &s.name, vec![item(&w.r1(), &[])]);
    thin.minimum_necessity_statement.clear();
    thin.delivery_method = DeliveryMethod::Unspecified as i32;
    let thin = create(&mut h, &w, thin).await.unwrap();
    let err = submit(&mut h, &w, &thin.name).await.unwrap_err();
    assert_eq!(reason(&err), "INCOMPLETE");
    assert!(
        err.message().contains("minimum_necessity_statement") && err.message().contains("delivery_method"),
        "{err:?}"
    );
}

#[tokio::test]
async fn henan_grants_the_demands_with_the_scenario_and_refuses_separate_public_data_applications() {
    // S-HN Art.15 (应用场景及其数据需求申请): CF-4 refuses PUBLIC_DATA applications; CF-2 narrows or rejects
    // demands with reasons; CF-3 creates the APPROVED data use in the approval's transaction.
    let mut h = start().await;
    let w = h.world("henan").await;
    let criteria = [
        ReviewCriterion::ScenarioFeasibility,
        ReviewCriterion::DataNeedNecessary,
    ];
    let s = reviewed_scenario(&mut h, &w, &[w.r1(), w.r2()], &criteria).await;
    let err = create(&mut h, &w, application(&w, &s.name, vec![item(&w.r1(), &[])]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "SCENARIO_FLOW")
    );
    assert!(err.message().contains("henan"), "names the profile: {err:?}");

    let approve = |decisions: Vec<DataUseItemDecision>| pb::ApproveScenarioApplicationRequest {
        name: s.name.clone(),
        reasons: "同意".into(),
        demand_decisions: decisions,
        ..Default::default()
    };
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(vec![decision(&w.r1(), false, &[], "")])))
        .await
        .unwrap_err();
    assert_invalid(&err, &["demand_decisions[0].reason"]);
    let none = vec![
        decision(&w.r1(), false, &[], "非必要"),
        decision(&w.r2(), false, &[], "非必要"),
    ];
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(none)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "NOTHING_APPROVED")
    );
    let some = vec![
        decision(&w.r1(), false, &[], "非必要"),
        decision(&w.r2(), true, &["score"], "仅需评分"),
    ];
    let done = h
        .client
        .approve_scenario_application(w.as_da(approve(some)))
        .await
        .unwrap();
    assert_eq!(
        done.into_inner().scenario_application.unwrap().state,
        pb::ScenarioApplicationState::Approved as i32
    );

    let scenario_approved: ev::ScenarioApproved = h
        .event("pdop.review.scenario_application.approved", &s.name)
        .await;
    let granted = scenario_approved.data_use_application;
    assert!(granted.starts_with("dataUseApplications/"), "{granted}");
    let a = get(&mut h, &w, &granted).await;
    assert_eq!(
        (a.state, a.kind),
        (State::Approved as i32, DataUseKind::PublicData as i32)
    );
    assert_eq!(
        (a.scenario_application.as_str(), a.operator.as_str()),
        (s.name.as_str(), w.op().as_str())
    );
    assert_eq!(a.use_period, s.planned_period, "use_period = planned_period");
    assert_eq!(a.reviewers.len(), s.reviewers.len(), "the scenario's panel");
    assert_eq!(item_state(&a, &w.r1()).0, DataUseItemState::Rejected as i32);
    assert_eq!(
        item_state(&a, &w.r2()),
        (DataUseItemState::PartlyApproved as i32, vec!["score".to_owned()])
    );
    // ScenarioApproved, then DataUseApproved, once each.
    assert_eq!(
        h.subjects(&[&s.name, &granted]).await,
        [
            "pdop.review.scenario_application.submitted",
            "pdop.review.scenario_application.approved",
            APPROVED
        ]
    );
    let use_approved: ev::DataUseApproved = h.event(APPROVED, &granted).await;
    assert_eq!(use_approved.granted_items.len(), 1);

    // CF-4: a social-data import stays available under the APPROVED scenario; the data authority approves it
    // (review.data_use.social_import_approver, inherited; no provider sits).
    let mut import = application(
        &w,
        &s.name,
        vec![DataUseItem {
            necessity: "与公共数据融合".into(),
            external_source: "合作银行依法取得的企业授权数据".into(),
            ..Default::default()
        }],
    );
    import.kind = DataUseKind::SocialDataImport as i32;
    let import = create(&mut h, &w, import).await.unwrap();
    let import = submit(&mut h, &w, &import.name).await.unwrap();
    assert!(import.provider_confirmations.is_empty());
    assert_eq!(import.reviewers.len(), 1);
    assert_eq!(
        (
            import.reviewers[0].organization.as_str(),
            import.reviewers[0].reviewer_role
        ),
        (w.da().as_str(), ReviewerRole::Lead as i32)
    );
    let done = h
        .client
        .approve_data_use_application(w.as_da(approval(&import.name)))
        .await
        .unwrap();
    assert_eq!(
        done.into_inner().data_use_application.unwrap().state,
        State::Approved as i32
    );
    assert_eq!(h.events(APPROVED, &import.name).await, 1);
}

/// A Yunnan application on `w.r2()` approved by its provider and the data authority.
async fn granted(h: &mut Harness, w: &World, scenario: &str) -> DataUseApplication {
    let a = create(h, w, application(w, scenario, vec![item(&w.r2(), &[])]))
        .await
        .unwrap();
    let a = submit(h, w, &a.name).await.unwrap();
    let a = confirm(
        h,
        w,
        &w.dp2(),
        confirmation(&a.name, vec![decision(&w.r2(), true, &[], "")]),
    )
    .await
    .unwrap();
    if a.state == State::Approved as i32 {
        return a;
    }
    let lead = a
        .reviewers
        .iter()
        .find(|s| s.reviewer_role == ReviewerRole::Lead as i32)
        .unwrap();
    let given = opinion(&a.name, &lead.name, &[ReviewCriterion::MinimumNecessary]);
    h.client
        .create_review_opinion(as_org(w, &lead.organization, given))
        .await
        .unwrap();
    let done = h
        .client
        .approve_data_use_application(as_org(w, &lead.organization, approval(&a.name)))
        .await;
    done.unwrap().into_inner().data_use_application.unwrap()
}

#[tokio::test]
async fn revoking_a_scenario_revokes_every_open_data_use_under_it_once() {
    // §2.3 RevokeScenarioApplication: every non-terminal data use under it → REVOKED, one DataUseRevoked each
    // (cascade inferred); S-LY §三(三)4(3) as the ground.
    let mut h = start().await;
    let w = h.world("hubei").await;
    let s = approved_scenario(&mut h, &w, &[w.r1(), w.r2()]).await;
    let approved = granted(&mut h, &w, &s.name).await;
    assert_eq!(approved.state, State::Approved as i32);
    let draft = create(&mut h, &w, application(&w, &s.name, vec![item(&w.r1(), &[])]))
        .await
        .unwrap();
    let withdrawn = create(&mut h, &w, application(&w, &s.name, vec![item(&w.r1(), &[])]))
        .await
        .unwrap();
    let withdrawn = submit(&mut h, &w, &withdrawn.name).await.unwrap();
    let req = pb::WithdrawDataUseApplicationRequest {
        name: withdrawn.name.clone(),
        reason: "方案调整".into(),
        ..Default::default()
    };
    h.client
        .withdraw_data_use_application(w.as_operator(req))
        .await
        .unwrap();
    assert_eq!(h.events(WITHDRAWN, &withdrawn.name).await, 1);

    let req = pb::RevokeScenarioApplicationRequest {
        name: s.name.clone(),
        reasons: "用于未经审批的应用场景".into(),
        basis: "S-LY §三(三)4(3)".into(),
        ..Default::default()
    };
    h.client.revoke_scenario_application(w.as_da(req)).await.unwrap();
    for a in [&approved, &draft] {
        assert_eq!(
            get(&mut h, &w, &a.name).await.state,
            State::Revoked as i32,
            "{}",
            a.name
        );
        assert_eq!(h.events(REVOKED, &a.name).await, 1);
        let revoked: ev::DataUseRevoked = h.event(REVOKED, &a.name).await;
        assert_eq!(
            (revoked.revoked_scenario.as_str(), revoked.basis.as_str()),
            (s.name.as_str(), "S-LY §三(三)4(3)")
        );
    }
    assert_eq!(
        get(&mut h, &w, &withdrawn.name).await.state,
        State::Withdrawn as i32,
        "terminal stays"
    );
    assert_eq!(h.events(REVOKED, &withdrawn.name).await, 0);
}

#[tokio::test]
async fn an_ended_agreement_revokes_its_granted_data_uses_once() {
    // R-RV-15, S-LY §三(三)5 (同步撤销运营机构的公共数据资源调用权限): APPROVED and PROVISIONED data uses are revoked;
    // open ones are refused at their next action.
    let mut h = start().await;
    let w = h.world("yunnan").await;
    let a = granted(&mut h, &w, "").await;
    let draft = create(&mut h, &w, application(&w, "", vec![item(&w.r1(), &[])]))
        .await
        .unwrap();
    h.agreement(&w, AgreementState::Expired, "a-yunnan-expired").await;
    h.agreement(&w, AgreementState::Expired, "a-yunnan-expired-again")
        .await;
    h.until(
        "both expiry events are applied",
        "SELECT count(*) = 2 FROM inbox WHERE message_id IN ('a-yunnan-expired', 'a-yunnan-expired-again')",
    )
    .await;
    let revoked = get(&mut h, &w, &a.name).await;
    assert_eq!(revoked.state, State::Revoked as i32);
    assert!(revoked.decisions.last().unwrap().reasons.contains(&w.agreement()));
    assert_eq!(h.events(REVOKED, &a.name).await, 1);
    assert_eq!(get(&mut h, &w, &draft.name).await.state, State::Draft as i32);
    let err = submit(&mut h, &w, &draft.name).await.unwrap_err();
    assert_eq!(reason(&err), "AGREEMENT_NOT_ACTIVE");
}

#[tokio::test]
async fn laiyuan_lets_only_the_regulator_join_as_co_applicant() {
    // S-LY §四 (由运营机构联合行业主管部门提出; optional, inferred): the regulator sets co_applicant to itself; the
    // operator may clear it but never set it; elsewhere there is no co-applicant.
    let mut h = start().await;
    let w = h.world("laiyuan").await;
    let s = approved_scenario(&mut h, &w, &[w.r1()]).await;
    let a = create(&mut h, &w, application(&w, &s.name, vec![item(&w.r1(), &[])]))
        .await
        .unwrap();
    let update = |a: &DataUseApplication, co: String| pb::UpdateDataUseApplicationRequest {
        data_use_application: Some(DataUseApplication {
            name: a.name.clone(),
            co_applicant: co,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["co_applicant".into()],
        }),
        etag: String::new(),
    };
    let err = h
        .client
        .update_data_use_application(w.as_operator(update(&a, w.ir())))
        .await
        .unwrap_err();
    assert_invalid(&err, &["data_use_application.co_applicant"]);
    let other = acting(&w.dev(), &[Role::IndustryRegulator], update(&a, w.ir()));
    let err = h.client.update_data_use_application(other).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let get_as_ir = |name: &str| w.as_ir(pb::GetDataUseApplicationRequest { name: name.into() });
    assert_eq!(
        h.client
            .get_data_use_application(get_as_ir(&a.name))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let joined = h
        .client
        .update_data_use_application(w.as_ir(update(&a, w.ir())))
        .await
        .unwrap();
    assert_eq!(
        joined.into_inner().data_use_application.unwrap().co_applicant,
        w.ir()
    );
    h.client
        .get_data_use_application(get_as_ir(&a.name))
        .await
        .unwrap();
    // The regulator changes nothing else.
    let mut wider = update(&a, w.ir());
    wider.update_mask = Some(prost_types::FieldMask {
        paths: vec!["co_applicant".into(), "purpose".into()],
    });
    wider.data_use_application.as_mut().unwrap().purpose = "改".into();
    assert_eq!(
        h.client
            .update_data_use_application(w.as_ir(wider))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let cleared = h
        .client
        .update_data_use_application(w.as_operator(update(&a, String::new())))
        .await
        .unwrap();
    assert_eq!(
        cleared.into_inner().data_use_application.unwrap().co_applicant,
        ""
    );

    // Laiyuan's panel (S-LY §四): 实施机构 lead from the agreement, county data authority joint, the provider.
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    let seats: Vec<_> = a
        .reviewers
        .iter()
        .map(|s| (s.organization.clone(), s.reviewer_role))
        .collect();
    assert_eq!(
        seats,
        [
            (w.ia(), ReviewerRole::Lead as i32),
            (w.da(), ReviewerRole::Joint as i32),
            (w.dp(), ReviewerRole::DataProvider as i32)
        ]
    );

    // Hubei has no co-applicant: INVALID_ARGUMENT naming the field.
    let hubei = h.world("hubei").await;
    let s = approved_scenario(&mut h, &hubei, &[hubei.r1()]).await;
    let b = create(
        &mut h,
        &hubei,
        application(&hubei, &s.name, vec![item(&hubei.r1(), &[])]),
    )
    .await
    .unwrap();
    let err = h
        .client
        .update_data_use_application(hubei.as_ir(update(&b, hubei.ir())))
        .await
        .unwrap_err();
    assert_invalid(&err, &["data_use_application.co_applicant"]);
}

#[tokio::test]
async fn a_return_for_supplement_reopens_every_confirmation_at_resubmission() {
    // R-RV-05, R-RV-09; §2.4: a provider returns for its items; resubmission restarts the provider clocks.
    let mut h = start().await;
    let w = h.world("yunnan").await;
    let a = create(
        &mut h,
        &w,
        application(&w, "", vec![item(&w.r1(), &[]), item(&w.r2(), &[])]),
    )
    .await
    .unwrap();
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    confirm(
        &mut h,
        &w,
        &w.dp(),
        confirmation(&a.name, vec![decision(&w.r1(), true, &[], "")]),
    )
    .await
    .unwrap();
    let req = pb::ReturnDataUseApplicationForSupplementRequest {
        name: a.name.clone(),
        items: vec![MissingItem {
            item: "items[1].field_keys".into(),
            description: "请列明所需字段".into(),
        }],
        ..Default::default()
    };
    let stranger = acting(&w.dev(), &[Role::DataProvider], req.clone());
    assert_eq!(
        h.client
            .return_data_use_application_for_supplement(stranger)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let done = h
        .client
        .return_data_use_application_for_supplement(w.as_dp2(req))
        .await
        .unwrap();
    assert_eq!(
        done.into_inner().data_use_application.unwrap().state,
        State::SupplementRequested as i32
    );
    assert_eq!(h.events(RETURNED, &a.name).await, 1);
    // R-RV-04: a rejection needs reasons and basis.
    let req = pb::RejectDataUseApplicationRequest {
        name: a.name.clone(),
        ..Default::default()
    };
    assert_invalid(
        &h.client
            .reject_data_use_application(w.as_da(req))
            .await
            .unwrap_err(),
        &["reasons", "basis"],
    );

    let a = submit(&mut h, &w, &a.name).await.unwrap();
    assert_eq!(a.timeline.as_ref().unwrap().review_round, 2);
    assert!(
        a.provider_confirmations
            .iter()
            .all(|c| c.state == ProviderConfirmationState::Pending as i32)
    );
    assert!(
        a.items
            .iter()
            .all(|i| i.state == DataUseItemState::Pending as i32)
    );
    assert_eq!(h.events(SUBMITTED, &a.name).await, 2);
    let req = pb::RejectDataUseApplicationRequest {
        name: a.name.clone(),
        reasons: "数据需求不明确".into(),
        basis: "S-YN Art.20".into(),
        ..Default::default()
    };
    let done = h.client.reject_data_use_application(w.as_da(req)).await.unwrap();
    assert_eq!(
        done.into_inner().data_use_application.unwrap().state,
        State::Rejected as i32
    );
    assert_eq!(h.events(REJECTED, &a.name).await, 1);
    // The applicant lists its own; the developer sees none of them.
    let req = pb::ListDataUseApplicationsRequest::default();
    let mine = h
        .client
        .list_data_use_applications(w.as_operator(req.clone()))
        .await
        .unwrap();
    assert_eq!(mine.into_inner().data_use_applications.len(), 1);
    let theirs = h
        .client
        .list_data_use_applications(acting(&w.dev(), &[Role::Operator], req))
        .await
        .unwrap();
    assert!(theirs.into_inner().data_use_applications.is_empty());
}

#[tokio::test]
async fn shared_data_needs_the_sharing_providers_consent() {
    // N2 Art.5: data obtained through government data sharing is used only with the sharing provider's consent.
    use pdop_proto::common::{JurisdictionRef, OrganizationRole};
    use pdop_proto::registry::events::v1::{ResourceSnapshot, ResourceUpdated};
    let mut h = start().await;
    let w = h.world("yunnan").await;
    let shared = ResourceUpdated {
        resource: Some(ResourceSnapshot {
            name: w.r1(),
            provider: Some(common::org_ref(&w.dp(), OrganizationRole::DataProvider)),
            jurisdiction: Some(JurisdictionRef {
                name: w.jurisdiction(),
                ..Default::default()
            }),
            authorizable: true,
            obtained_through_sharing: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.resource.updated",
        "r-shared",
        prost::Message::encode_to_vec(&shared),
    )
    .await;
    h.until(
        "r1 is known as shared",
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = 'r-shared')",
    )
    .await;
    let a = create(&mut h, &w, application(&w, "", vec![item(&w.r1(), &[])]))
        .await
        .unwrap();
    let err = submit(&mut h, &w, &a.name).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "INCOMPLETE")
    );
    assert!(err.message().contains("sharing_consent"), "{}", err.message());
    let mut consented = item(&w.r1(), &[]);
    consented.sharing_consent = document("共享提供方同意函");
    let b = create(&mut h, &w, application(&w, "", vec![consented]))
        .await
        .unwrap();
    assert_eq!(
        submit(&mut h, &w, &b.name).await.unwrap().state,
        pb::DataUseApplicationState::UnderReview as i32
    );
}
