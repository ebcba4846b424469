//! Scenario applications (一场景一审核, spec §2.3) over gRPC against PostgreSQL and NATS: the flow per profile
//! switch, the scope checks, the panel's checks before approval, and every refusal with its reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Harness, World, date, start};
use pdop_kit::auth::Role;
use pdop_proto::common::{DateRange, DocumentRef, UseClass};
use pdop_proto::registry::v1::AgreementState;
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{
    CriterionAssessment, CriterionFinding, DataDemand, MissingItem, OpinionStance, ReviewCriterion,
    ReviewOpinion, ReviewerAssignment, ReviewerRole, ScenarioApplication, ScenarioApplicationState as State,
    SecurityMeasure, SecurityMeasureKind,
};
use pdop_testkit::{acting, assert_invalid, reason};
use tonic::Code;

fn doc(title: &str) -> DocumentRef {
    DocumentRef {
        uri: format!("https://docs.example/{title}.pdf"),
        sha256: "ab".repeat(32),
        title: title.into(),
        ..Default::default()
    }
}

fn application(w: &World, resources: &[String]) -> ScenarioApplication {
    ScenarioApplication {
        display_name: "城市交通信用分析".into(),
        agreement: w.agreement(),
        purpose: "为出行平台提供信用评估".into(),
        use_class: UseClass::IndustryDevelopment as i32,
        economic_value: "降低坏账".into(),
        data_demands: resources
            .iter()
            .map(|r| DataDemand {
                resource: r.clone(),
                necessity: "评估必需".into(),
                ..Default::default()
            })
            .collect(),
        security_measures: vec![SecurityMeasure {
            kind: SecurityMeasureKind::PrivacyComputing as i32,
            description: "隐私计算平台内使用".into(),
            ..Default::default()
        }],
        construction_plan: Some(doc("plan")),
        planned_period: Some(DateRange {
            start_date: Some(date(2026, 3, 1)),
            end_date: Some(date(2027, 2, 28)),
        }),
        ..Default::default()
    }
}

async fn create(
    h: &mut Harness,
    w: &World,
    a: ScenarioApplication,
) -> Result<ScenarioApplication, tonic::Status> {
    let req = pb::CreateScenarioApplicationRequest {
        scenario_application: Some(a),
        request_id: String::new(),
    };
    Ok(h.client
        .create_scenario_application(w.as_operator(req))
        .await?
        .into_inner()
        .scenario_application
        .unwrap())
}

async fn submit(h: &mut Harness, w: &World, name: &str) -> Result<ScenarioApplication, tonic::Status> {
    let req = pb::SubmitScenarioApplicationRequest {
        name: name.into(),
        ..Default::default()
    };
    Ok(h.client
        .submit_scenario_application(w.as_operator(req))
        .await?
        .into_inner()
        .scenario_application
        .unwrap())
}

fn seat_of(a: &ScenarioApplication, org: &str) -> ReviewerAssignment {
    a.reviewers
        .iter()
        .find(|s| s.organization == org)
        .cloned()
        .unwrap_or_else(|| panic!("{org} has no seat: {:?}", a.reviewers))
}

fn opinion(
    parent: &str,
    seat: &str,
    stance: OpinionStance,
    criteria: &[ReviewCriterion],
) -> pb::CreateReviewOpinionRequest {
    pb::CreateReviewOpinionRequest {
        parent: parent.into(),
        opinion: Some(ReviewOpinion {
            reviewer: seat.into(),
            stance: stance as i32,
            comments: "审核意见".into(),
            criteria: criteria
                .iter()
                .map(|c| CriterionAssessment {
                    criterion: *c as i32,
                    finding: CriterionFinding::Met as i32,
                    comment: "符合".into(),
                })
                .collect(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

fn approve(name: &str) -> pb::ApproveScenarioApplicationRequest {
    pb::ApproveScenarioApplicationRequest {
        name: name.into(),
        reasons: "符合要求".into(),
        ..Default::default()
    }
}

const HUBEI_CRITERIA: [ReviewCriterion; 6] = [
    ReviewCriterion::EconomicValue,
    ReviewCriterion::SocialValue,
    ReviewCriterion::BusinessModel,
    ReviewCriterion::DataNeedReasonable,
    ReviewCriterion::DataNeedNecessary,
    ReviewCriterion::DataNeedSatisfiable,
];

/// A Hubei scenario on `w.r1()` through its review: the provider agrees, the lead assesses the six criteria
/// (S-HB §四(二)) and approves.
async fn approved(h: &mut Harness, w: &World) -> ScenarioApplication {
    let a = create(h, w, application(w, &[w.r1()])).await.unwrap();
    let a = submit(h, w, &a.name).await.unwrap();
    let provider = seat_of(&a, &w.dp());
    let lead = seat_of(&a, &w.da());
    h.client
        .create_review_opinion(w.as_dp(opinion(&a.name, &provider.name, OpinionStance::Agree, &[])))
        .await
        .unwrap();
    h.client
        .create_review_opinion(w.as_da(opinion(
            &a.name,
            &lead.name,
            OpinionStance::Agree,
            &HUBEI_CRITERIA,
        )))
        .await
        .unwrap();
    let done = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap();
    done.into_inner().scenario_application.unwrap()
}

#[tokio::test]
async fn hubei_reviews_a_scenario_in_two_steps_with_the_providers_binding() {
    // S-HB §四(二): 编制场景建设方案提请审核; the data authority leads with the providers of the demanded data.
    let mut h = start().await;
    let w = h.world("hubei").await;
    let a = create(&mut h, &w, application(&w, &[w.r1(), w.r2()]))
        .await
        .unwrap();
    assert_eq!(a.state, State::Draft as i32);
    assert_eq!(a.profile_id, "hubei");
    assert_eq!(
        a.data_demands[0].provider,
        w.dp(),
        "the provider comes from the registry"
    );
    assert!(
        a.data_demands[1].involves_personal_info,
        "R-RV-19: computed from the resource"
    );
    assert_eq!(
        h.events("pdop.review.scenario_application.submitted", &a.name)
            .await,
        0,
        "drafts are private"
    );

    let a = submit(&mut h, &w, &a.name).await.unwrap();
    assert_eq!(a.state, State::UnderReview as i32);
    assert_eq!(a.timeline.as_ref().unwrap().review_round, 1);
    let lead = seat_of(&a, &w.da());
    assert_eq!(lead.reviewer_role, ReviewerRole::Lead as i32);
    for provider in [w.dp(), w.dp2()] {
        let seat = seat_of(&a, &provider);
        assert_eq!(
            (seat.reviewer_role, seat.binding),
            (ReviewerRole::DataProvider as i32, true)
        );
    }
    assert_eq!(
        h.events("pdop.review.scenario_application.submitted", &a.name)
            .await,
        1
    );

    // R-RV-03: a binding provider has not spoken yet.
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "BINDING_SEAT_PENDING"),
        "{err:?}"
    );

    let first = opinion(&a.name, &seat_of(&a, &w.dp()).name, OpinionStance::Agree, &[]);
    h.client.create_review_opinion(w.as_dp(first)).await.unwrap();
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        reason(&err),
        "BINDING_SEAT_PENDING",
        "one provider of two has agreed: {err:?}"
    );
    let second = opinion(
        &a.name,
        &seat_of(&a, &w.dp2()).name,
        OpinionStance::AgreeWithConditions,
        &[],
    );
    let err = h
        .client
        .create_review_opinion(w.as_dp2(second.clone()))
        .await
        .unwrap_err();
    assert_invalid(&err, &["opinion.conditions"]);
    let mut second = second;
    second.opinion.as_mut().unwrap().conditions = vec!["仅限隐私计算方式使用".into()];
    h.client.create_review_opinion(w.as_dp2(second)).await.unwrap();
    // R-RV-08: the six Hubei criteria (S-HB §四(二)) must be assessed in some opinion of the round.
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CRITERION_NOT_ASSESSED", "{err:?}");
    h.client
        .create_review_opinion(w.as_da(opinion(
            &a.name,
            &lead.name,
            OpinionStance::Agree,
            &HUBEI_CRITERIA,
        )))
        .await
        .unwrap();

    let approved = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap()
        .into_inner();
    let approved = approved.scenario_application.unwrap();
    assert_eq!(approved.state, State::Approved as i32);
    assert_eq!(approved.decisions.last().unwrap().review_round, 1);
    assert_eq!(
        h.events("pdop.review.scenario_application.approved", &a.name)
            .await,
        1
    );

    // R-RV-01: a provider on the panel reads it; a developer, who is no party, does not.
    let get = || pb::GetScenarioApplicationRequest { name: a.name.clone() };
    h.client.get_scenario_application(w.as_dp(get())).await.unwrap();
    let err = h
        .client
        .get_scenario_application(acting(&w.dev(), &[Role::Operator], get()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Approved is final for the applicant: a second approval is refused by the state machine.
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "WRONG_STATE");
}

#[tokio::test]
async fn yunnan_has_no_scenario_step() {
    // DU-1, S-YN Art.19-20: data use is applied for directly.
    let mut h = start().await;
    let w = h.world("yunnan").await;
    let err = create(&mut h, &w, application(&w, &[w.r1()])).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "SCENARIO_FLOW")
    );
    assert!(
        err.message().contains("yunnan"),
        "names the profile: {}",
        err.message()
    );
}

#[tokio::test]
async fn henan_combined_submission_needs_a_delivery_method_and_the_subjects_authorization() {
    // CF-1, S-ZZ Art.18 (原始数据不出域、数据可用不可见; 涉及个人信息…获得真实、有效授权); Henan inferred from S-HN Art.3.
    let mut h = start().await;
    let w = h.world("henan").await;
    let a = create(&mut h, &w, application(&w, &[w.r2()])).await.unwrap();
    let err = submit(&mut h, &w, &a.name).await.unwrap_err();
    assert_eq!(reason(&err), "INCOMPLETE");
    assert!(
        err.message().contains("delivery_method") && err.message().contains("subject_authorization"),
        "{err:?}"
    );

    let mut edit = a.clone();
    edit.delivery_method = pb::DeliveryMethod::PrivacyComputing as i32;
    edit.data_demands[0].subject_authorization = Some(doc("consent"));
    let req = pb::UpdateScenarioApplicationRequest {
        scenario_application: Some(edit),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["delivery_method".into(), "data_demands".into()],
        }),
        etag: a.etag.clone(),
    };
    h.client
        .update_scenario_application(w.as_operator(req))
        .await
        .unwrap();
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    // Henan: the data authority leads, the implementing agency of the agreement sits as a binding joint reviewer
    // (S-HN Art.3, 15).
    assert_eq!(seat_of(&a, &w.da()).reviewer_role, ReviewerRole::Lead as i32);
    let joint = seat_of(&a, &w.ia());
    assert_eq!(
        (joint.reviewer_role, joint.binding),
        (ReviewerRole::Joint as i32, true)
    );
}

#[tokio::test]
async fn demands_stay_inside_the_agreement_and_off_the_negative_list_and_core_data() {
    let mut h = start().await;
    let w = h.world("hubei").await;
    for (resource, expected) in [
        (w.outside(), "OUT_OF_SCOPE"),
        (w.listed(), "NEGATIVE_LISTED"), // R-RV-16, S-YN Art.15
        (w.core(), "CORE_DATA"),         // N2 Art.5, inferred
    ] {
        let err = create(&mut h, &w, application(&w, std::slice::from_ref(&resource)))
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (Code::FailedPrecondition, expected),
            "{resource}"
        );
    }
    let err = create(&mut h, &w, application(&w, &["resources/never-announced".into()]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "RESOURCE_NOT_FOUND")
    );
    let mut late = application(&w, &[w.r1()]);
    late.planned_period = Some(DateRange {
        start_date: Some(date(2030, 1, 1)),
        end_date: Some(date(2031, 6, 30)),
    });
    let err = create(&mut h, &w, late).await.unwrap_err();
    assert_eq!(reason(&err), "PERIOD_OUTSIDE_TERM");
}

#[tokio::test]
async fn nothing_new_happens_under_a_suspended_agreement() {
    // R-RV-14, S-HN Art.22 (暂停授权运营), S-ZZ Art.28.
    let mut h = start().await;
    let w = h.world("hubei").await;
    let a = create(&mut h, &w, application(&w, &[w.r1()])).await.unwrap();
    h.agreement(&w, AgreementState::Suspended, "a-hubei-suspended")
        .await;
    h.until(
        "the agreement is suspended",
        "SELECT state = 5 FROM agreements WHERE id = 'hubei-a1'",
    )
    .await;
    let err = submit(&mut h, &w, &a.name).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "AGREEMENT_SUSPENDED")
    );
}

#[tokio::test]
async fn bad_input_is_invalid_argument_naming_each_field() {
    let mut h = start().await;
    let w = h.world("hubei").await;
    let mut a = application(&w, &[w.r1(), w.r1()]);
    a.display_name.clear();
    a.agreement = "nope".into();
    a.security_measures[0].kind = 0;
    a.planned_period = Some(DateRange {
        start_date: Some(date(2026, 5, 1)),
        end_date: Some(date(2026, 4, 1)),
    });
    let err = create(&mut h, &w, a).await.unwrap_err();
    assert_invalid(
        &err,
        &[
            "scenario_application.display_name",
            "scenario_application.data_demands[1].resource",
            "scenario_application.security_measures[0].kind",
            "scenario_application.planned_period.end",
            "scenario_application.agreement",
        ],
    );
    // R-RV-04: a rejection states reasons and basis.
    let req = pb::RejectScenarioApplicationRequest {
        name: "scenarioApplications/x".into(),
        ..Default::default()
    };
    let err = h
        .client
        .reject_scenario_application(w.as_da(req))
        .await
        .unwrap_err();
    assert_invalid(&err, &["reasons", "basis"]);
    // R-RV-05: a return lists what is missing.
    let req = pb::ReturnScenarioApplicationForSupplementRequest {
        name: "scenarioApplications/x".into(),
        ..Default::default()
    };
    let err = h
        .client
        .return_scenario_application_for_supplement(w.as_da(req))
        .await
        .unwrap_err();
    assert_invalid(&err, &["items"]);
}

#[tokio::test]
async fn only_the_lead_decides_and_nobody_reviews_their_own_application() {
    let mut h = start().await;
    let w = h.world("hubei").await;
    let a = create(&mut h, &w, application(&w, &[w.r1()])).await.unwrap();
    // Role × RPC: a developer token cannot apply; a provider cannot decide.
    let req = pb::CreateScenarioApplicationRequest {
        scenario_application: Some(application(&w, &[w.r1()])),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_scenario_application(acting(&w.dev(), &[Role::Developer], req))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    // R-RV-03: the implementing agency holds a role that may decide, but it is not the lead.
    let err = h
        .client
        .approve_scenario_application(w.as_ia(approve(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "NOT_THE_LEAD")
    );
    // R-RV-02: the applicant's organization is never put on its own panel.
    let seat = ReviewerAssignment {
        organization: w.op(),
        reviewer_role: ReviewerRole::Joint as i32,
        ..Default::default()
    };
    let req = pb::AssignReviewerRequest {
        parent: a.name.clone(),
        reviewer: Some(seat),
        request_id: String::new(),
    };
    let err = h.client.assign_reviewer(w.as_da(req)).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "OWN_APPLICATION")
    );
    // Nobody gives an opinion on another's seat.
    let seat = seat_of(&a, &w.dp());
    let err = h
        .client
        .create_review_opinion(w.as_ia(opinion(&a.name, &seat.name, OpinionStance::Agree, &[])))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "NOT_YOUR_SEAT")
    );
    // A recused seat cannot act (R-RV-02), and its recusal is announced once.
    let req = pb::RecuseReviewerRequest {
        name: seat.name.clone(),
        reason: "与申请人存在关联".into(),
        request_id: String::new(),
    };
    h.client.recuse_reviewer(w.as_dp(req)).await.unwrap();
    assert_eq!(h.events("pdop.review.reviewer.recused", &seat.name).await, 1);
    let err = h
        .client
        .create_review_opinion(w.as_dp(opinion(&a.name, &seat.name, OpinionStance::Agree, &[])))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "SEAT_RECUSED");
    // An expert the lead adds needs a name, which is never published.
    let expert = ReviewerAssignment {
        organization: w.ia(),
        reviewer_role: ReviewerRole::Expert as i32,
        ..Default::default()
    };
    let req = pb::AssignReviewerRequest {
        parent: a.name.clone(),
        reviewer: Some(expert),
        request_id: String::new(),
    };
    let err = h.client.assign_reviewer(w.as_da(req)).await.unwrap_err();
    assert_invalid(&err, &["reviewer.expert_name"]);
}

#[tokio::test]
async fn a_return_for_supplement_starts_a_new_round_where_earlier_opinions_do_not_count() {
    // R-RV-05, R-RV-09: each submission is a round; seats go back to ASSIGNED.
    let mut h = start().await;
    let w = h.world("hubei").await;
    let a = create(&mut h, &w, application(&w, &[w.r1()])).await.unwrap();
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    let provider = seat_of(&a, &w.dp());
    h.client
        .create_review_opinion(w.as_dp(opinion(&a.name, &provider.name, OpinionStance::Agree, &[])))
        .await
        .unwrap();
    let req = pb::ReturnScenarioApplicationForSupplementRequest {
        name: a.name.clone(),
        items: vec![MissingItem {
            item: "construction_plan".into(),
            description: "补充建设进度".into(),
        }],
        ..Default::default()
    };
    let returned = h
        .client
        .return_scenario_application_for_supplement(w.as_da(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        returned.scenario_application.unwrap().state,
        State::SupplementRequested as i32
    );
    assert_eq!(
        h.events("pdop.review.scenario_application.returned", &a.name)
            .await,
        1
    );

    let a = submit(&mut h, &w, &a.name).await.unwrap();
    assert_eq!(a.timeline.as_ref().unwrap().review_round, 2);
    assert_eq!(
        seat_of(&a, &w.dp()).state,
        pb::ReviewerAssignmentState::Assigned as i32
    );
    let lead = seat_of(&a, &w.da());
    h.client
        .create_review_opinion(w.as_da(opinion(
            &a.name,
            &lead.name,
            OpinionStance::Agree,
            &HUBEI_CRITERIA,
        )))
        .await
        .unwrap();
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(
        reason(&err),
        "BINDING_SEAT_PENDING",
        "the round-1 opinion does not count: {err:?}"
    );
    // Only the round-2 opinion counts: a DISAGREE blocks approval until the lead rejects.
    h.client
        .create_review_opinion(w.as_dp(opinion(&a.name, &provider.name, OpinionStance::Disagree, &[])))
        .await
        .unwrap();
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "BINDING_SEAT_PENDING");
    let req = pb::RejectScenarioApplicationRequest {
        name: a.name.clone(),
        reasons: "数据提供单位不同意".into(),
        basis: "S-HB §四(二)".into(),
        ..Default::default()
    };
    let rejected = h
        .client
        .reject_scenario_application(w.as_da(req))
        .await
        .unwrap()
        .into_inner();
    let rejected = rejected.scenario_application.unwrap();
    assert_eq!(rejected.state, State::Rejected as i32);
    assert_eq!(rejected.decisions.last().unwrap().basis, "S-HB §四(二)");
    // The applicant reads every round's opinions once decided; round 1 alone has one.
    let req = pb::ListReviewOpinionsRequest {
        parent: a.name.clone(),
        review_round: 1,
        ..Default::default()
    };
    let listed = h
        .client
        .list_review_opinions(w.as_operator(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.opinions.len(), 1);
}

#[tokio::test]
async fn withdrawal_by_the_applicant_and_revocation_by_the_authority() {
    let mut h = start().await;
    let w = h.world("hubei").await;
    let a = create(&mut h, &w, application(&w, &[w.r1()])).await.unwrap();
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    let req = pb::WithdrawScenarioApplicationRequest {
        name: a.name.clone(),
        reason: "方案调整".into(),
        ..Default::default()
    };
    let err = h
        .client
        .withdraw_scenario_application(w.as_da(req.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "only the applicant withdraws");
    let done = h
        .client
        .withdraw_scenario_application(w.as_operator(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.scenario_application.unwrap().state, State::Withdrawn as i32);
    assert_eq!(
        h.events("pdop.review.scenario_application.withdrawn", &a.name)
            .await,
        1
    );

    let b = approved(&mut h, &w).await;
    let revoke = pb::RevokeScenarioApplicationRequest {
        name: b.name.clone(),
        reasons: "用于未经审批的应用场景".into(),
        basis: "S-LY §三(三)4(3)".into(),
        ..Default::default()
    };
    let err = h
        .client
        .revoke_scenario_application(w.as_operator(revoke.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let done = h
        .client
        .revoke_scenario_application(w.as_da(revoke))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.scenario_application.unwrap().state, State::Revoked as i32);
    assert_eq!(
        h.events("pdop.review.scenario_application.revoked", &b.name)
            .await,
        1
    );
}

#[tokio::test]
async fn laiyuan_waits_for_the_regulator_seat_whose_opinion_needs_a_regulator_token() {
    // S-LY §六(三)2: 行业主管部门…出具书面反馈意见 (binding: inferred); §1.1 industry_regulator role.
    let mut h = start().await;
    let w = h.world("laiyuan").await;
    let a = create(&mut h, &w, application(&w, &[w.r1()])).await.unwrap();
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    let lead = seat_of(&a, &w.da());
    let criteria = [
        ReviewCriterion::ScenarioFeasibility,
        ReviewCriterion::DataNeedNecessary,
        ReviewCriterion::DataNeedReasonable,
        ReviewCriterion::ScenarioCompliance,
    ];
    h.client
        .create_review_opinion(w.as_da(opinion(&a.name, &lead.name, OpinionStance::Agree, &criteria)))
        .await
        .unwrap();
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "BINDING_SEAT_PENDING");
    assert!(err.message().contains("IndustryRegulator"), "{err:?}");

    // Only an organization holding the regulator role sits in the regulator seat.
    let seat = |org: String| ReviewerAssignment {
        organization: org,
        reviewer_role: ReviewerRole::IndustryRegulator as i32,
        binding: true,
        ..Default::default()
    };
    let req = pb::AssignReviewerRequest {
        parent: a.name.clone(),
        reviewer: Some(seat(w.dp())),
        request_id: String::new(),
    };
    let err = h.client.assign_reviewer(w.as_da(req)).await.unwrap_err();
    assert_eq!(reason(&err), "NOT_INDUSTRY_REGULATOR");
    let req = pb::AssignReviewerRequest {
        parent: a.name.clone(),
        reviewer: Some(seat(w.ir())),
        request_id: String::new(),
    };
    let regulator = h
        .client
        .assign_reviewer(w.as_da(req))
        .await
        .unwrap()
        .into_inner()
        .reviewer
        .unwrap();
    assert_eq!(
        h.events("pdop.review.reviewer.assigned", &regulator.name).await,
        1
    );

    let given = opinion(&a.name, &regulator.name, OpinionStance::Agree, &[]);
    let err = h
        .client
        .create_review_opinion(acting(&w.ir(), &[Role::DataProvider], given.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "NOT_INDUSTRY_REGULATOR")
    );
    h.client.create_review_opinion(w.as_ir(given)).await.unwrap();
    let approved = h
        .client
        .approve_scenario_application(w.as_da(approve(&a.name)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        approved.scenario_application.unwrap().state,
        State::Approved as i32
    );
}

#[tokio::test]
async fn an_ended_agreement_revokes_its_approved_scenarios_once() {
    // R-RV-15, S-LY §三(三)5 (同步撤销运营机构的公共数据资源调用权限).
    let mut h = start().await;
    let w = h.world("hubei").await;
    let a = approved(&mut h, &w).await;
    let draft = create(&mut h, &w, application(&w, &[w.r1()])).await.unwrap();

    h.agreement(&w, AgreementState::Terminated, "a-hubei-terminated")
        .await;
    h.agreement(&w, AgreementState::Terminated, "a-hubei-terminated-again")
        .await;
    h.until(
        "both termination events are applied",
        "SELECT count(*) = 2 FROM inbox WHERE message_id IN ('a-hubei-terminated', 'a-hubei-terminated-again')",
    )
    .await;
    h.until(
        "the approved scenario is revoked",
        &format!(
            "SELECT state = 7 FROM scenario_applications WHERE id = '{}'",
            a.name.rsplit('/').next().unwrap()
        ),
    )
    .await;
    let got = h
        .client
        .get_scenario_application(w.as_operator(pb::GetScenarioApplicationRequest { name: a.name.clone() }))
        .await
        .unwrap();
    let revoked = got.into_inner().scenario_application.unwrap();
    assert!(
        revoked.decisions.last().unwrap().reasons.contains(&w.agreement()),
        "{:?}",
        revoked.decisions
    );
    assert_eq!(
        h.events("pdop.review.scenario_application.revoked", &a.name)
            .await,
        1
    );
    // An open application under the ended agreement is refused at its next action.
    let err = submit(&mut h, &w, &draft.name).await.unwrap_err();
    assert_eq!(reason(&err), "AGREEMENT_NOT_ACTIVE");
}

#[tokio::test]
async fn personal_information_is_judged_by_the_requested_fields() {
    // R-RV-19: computed from the registry's per-field flags for the requested keys; unknown keys are invalid.
    let mut h = start().await;
    let w = h.world("hubei").await;
    let mut a = application(&w, &[w.r2()]);
    a.data_demands[0].field_keys = vec!["plate".into()];
    a.data_demands[0].involves_personal_info = true; // a client's value is ignored
    let created = create(&mut h, &w, a.clone()).await.unwrap();
    assert!(!created.data_demands[0].involves_personal_info);
    a.data_demands[0].field_keys = vec!["name".into()];
    assert!(create(&mut h, &w, a.clone()).await.unwrap().data_demands[0].involves_personal_info);
    a.data_demands[0].field_keys = vec!["plate".into(), "nope".into()];
    let err = create(&mut h, &w, a).await.unwrap_err();
    assert_invalid(&err, &["scenario_application.data_demands[0].field_keys[1]"]);
}

#[tokio::test]
async fn a_lapsed_supplement_lets_the_lead_reject_and_a_new_negative_listing_refuses_approval() {
    // R-RV-05 (S-YN Art.13(二) 在规定时限内完成补充或修正; by analogy elsewhere) and R-RV-16 (S-YN Art.15).
    let mut h = common::start_on(chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()).await;
    let w = h.world("hubei").await;
    let a = create(&mut h, &w, application(&w, &[w.r1()])).await.unwrap();
    let a = submit(&mut h, &w, &a.name).await.unwrap();
    let back = pb::ReturnScenarioApplicationForSupplementRequest {
        name: a.name.clone(),
        items: vec![MissingItem {
            item: "construction_plan".into(),
            description: "补充进度安排".into(),
        }],
        due_date: Some(date(2026, 6, 5)),
        ..Default::default()
    };
    h.client
        .return_scenario_application_for_supplement(w.as_da(back))
        .await
        .unwrap();
    let reject = pb::RejectScenarioApplicationRequest {
        name: a.name.clone(),
        reasons: "逾期未补正".into(),
        basis: "S-YN Art.13(二)".into(),
        ..Default::default()
    };
    let err = h
        .client
        .reject_scenario_application(w.as_da(reject.clone()))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "WRONG_STATE", "the applicant still has until 06-05");
    h.advance_days(5); // 06-06
    let done = h
        .client
        .reject_scenario_application(w.as_da(reject))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.scenario_application.unwrap().state, State::Rejected as i32);

    let b = create(&mut h, &w, application(&w, &[w.r1()])).await.unwrap();
    let b = submit(&mut h, &w, &b.name).await.unwrap();
    let provider = seat_of(&b, &w.dp());
    let lead = seat_of(&b, &w.da());
    h.client
        .create_review_opinion(w.as_dp(opinion(&b.name, &provider.name, OpinionStance::Agree, &[])))
        .await
        .unwrap();
    h.client
        .create_review_opinion(w.as_da(opinion(
            &b.name,
            &lead.name,
            OpinionStance::Agree,
            &HUBEI_CRITERIA,
        )))
        .await
        .unwrap();
    let listed = pdop_proto::registry::events::v1::NegativeListEntryAdded {
        name: "negativeListEntries/hubei-n2".into(),
        resource: w.r1(),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.negative_list_entry.added",
        "n-hubei-2",
        prost::Message::encode_to_vec(&listed),
    )
    .await;
    h.until(
        "r1 is negative-listed",
        "SELECT EXISTS (SELECT 1 FROM negative_list WHERE resource_id = 'hubei-r1')",
    )
    .await;
    let err = h
        .client
        .approve_scenario_application(w.as_da(approve(&b.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "NEGATIVE_LISTED")
    );
}
