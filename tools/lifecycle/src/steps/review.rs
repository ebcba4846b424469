//! Review steps: the scenario (一场景一审核) and the data use (用数申请) under the operator agreement, each through
//! its profile's rules (REVIEW-EVALUATION §2.2–2.4), and the product's compliance review, opened in the review
//! service from the registry's event.

use chrono::Months;
use pdop_kit::auth::Role;
use pdop_proto::common::{DateRange, UseClass};
use pdop_proto::review::v1::*;

use super::{date, doc};
use crate::{Platform, Province, until};

/// The criteria the lead assesses on a scenario (R-RV-08, `review.scenario.criteria`); empty where none is set.
fn scenario_criteria(profile: &str) -> &'static [ReviewCriterion] {
    use ReviewCriterion::*;
    match profile {
        // S-HB §四(二): 经济价值、社会价值、商业模式, 数据需求的合理性、必要性、可满足性.
        "hubei" => &[
            EconomicValue,
            SocialValue,
            BusinessModel,
            DataNeedReasonable,
            DataNeedNecessary,
            DataNeedSatisfiable,
        ],
        _ => &[],
    }
}

/// The criteria the lead assesses on a data use (`review.data_use.criteria`).
fn data_use_criteria(profile: &str) -> &'static [ReviewCriterion] {
    match profile {
        // S-YN Art.20: 最小必要.
        "yunnan" => &[ReviewCriterion::MinimumNecessary],
        _ => &[],
    }
}

/// An agreeing opinion of `seat` on `parent`, assessing `criteria` as met.
fn agreeing(parent: &str, seat: &str, criteria: &[ReviewCriterion]) -> CreateReviewOpinionRequest {
    CreateReviewOpinionRequest {
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
                    comment: "符合".into(),
                })
                .collect(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// A year from today: the scenario's planned period and the data use's, inside the agreement's term.
async fn year_from_today(p: &Platform) -> anyhow::Result<Option<DateRange>> {
    let today = p.today().await?;
    let end = today
        .checked_add_months(Months::new(12))
        .and_then(|d| d.pred_opt())
        .unwrap_or(today);
    Ok(Some(DateRange {
        start_date: Some(date(today)),
        end_date: Some(date(end)),
    }))
}

fn privacy_computing() -> Vec<SecurityMeasure> {
    vec![SecurityMeasure {
        kind: SecurityMeasureKind::PrivacyComputing as i32,
        description: "隐私计算平台内使用，原始数据不出域".into(),
        ..Default::default()
    }]
}

/// The operator's scenario over the resource, reviewed and approved where the profile reviews scenarios
/// (`two_step`: Hubei, S-HB §四(二)): every seat agrees, the lead assessing the profile's criteria, then approves.
/// Where it does not (Yunnan `data_use_only`, S-YN Art.19–20) the service refuses the application, naming the rule.
pub async fn scenario(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    super::registry::agreement_active(p, j).await?;
    let operator = j.operator();
    let application = ScenarioApplication {
        display_name: format!("{}人口画像应用场景 {}", j.display_name, p.run),
        agreement: j.agreement.clone(),
        purpose: "按区域人口画像辅助商业选址".into(),
        use_class: UseClass::IndustryDevelopment as i32,
        economic_value: "降低选址成本".into(),
        social_value: "优化公共服务布局".into(),
        business_model: "按次调用收费".into(),
        data_demands: vec![DataDemand {
            resource: j.resource.clone(),
            necessity: "画像必需".into(),
            ..Default::default()
        }],
        security_measures: privacy_computing(),
        construction_plan: doc("场景建设方案"),
        planned_period: year_from_today(p).await?,
        delivery_method: DeliveryMethod::PrivacyComputing as i32,
        ..Default::default()
    };
    let client = p.review.clone();
    let create = CreateScenarioApplicationRequest {
        scenario_application: Some(application),
        request_id: String::new(),
    };
    // The review service learns the agreement's activation from the registry.
    let created = p
        .once_known_as(
            "the review service knows the active agreement",
            &operator,
            &[Role::Operator],
            create,
            |request| {
                let mut client = client.clone();
                async move {
                    match client.create_scenario_application(request).await {
                        Ok(created) => Ok(created.into_inner().scenario_application),
                        Err(status) if pdop_testkit::reason(&status) == "SCENARIO_FLOW" => Ok(None),
                        Err(status) => Err(status),
                    }
                }
            },
        )
        .await?;
    let Some(created) = created else {
        p.note(format!(
            "{}: no scenario review here (data use only): the review service refused the scenario (SCENARIO_FLOW)",
            j.id
        ));
        return Ok(());
    };
    let submit = SubmitScenarioApplicationRequest {
        name: created.name.clone(),
        ..Default::default()
    };
    let submitted = p
        .review
        .submit_scenario_application(p.acting(&operator, &[Role::Operator], submit)?)
        .await?
        .into_inner()
        .scenario_application
        .unwrap_or_default();
    let lead = give_opinions(
        p,
        j,
        &submitted.name,
        &submitted.reviewers,
        scenario_criteria(&j.id),
    )
    .await?;
    let approve = ApproveScenarioApplicationRequest {
        name: submitted.name.clone(),
        reasons: "场景可行，数据需求合理必要".into(),
        ..Default::default()
    };
    let approved = p
        .review
        .approve_scenario_application(p.acting(&lead, &[Role::DataAuthority], approve)?)
        .await?
        .into_inner()
        .scenario_application
        .unwrap_or_default();
    anyhow::ensure!(
        approved.state == ScenarioApplicationState::Approved as i32,
        "{} is {:?} after its approval",
        approved.name,
        ScenarioApplicationState::try_from(approved.state)
    );
    j.scenario = approved.name;
    p.note(format!(
        "{}: {} approved {} (一场景一审核, {} seats)",
        j.id,
        lead,
        j.scenario,
        submitted.reviewers.len()
    ));
    Ok(())
}

/// Every seat of `reviewers` agrees on `parent`, the lead assessing `criteria`; returns the lead's organization.
async fn give_opinions(
    p: &mut Platform,
    j: &Province,
    parent: &str,
    reviewers: &[ReviewerAssignment],
    criteria: &[ReviewCriterion],
) -> anyhow::Result<String> {
    let mut lead = None;
    for seat in reviewers {
        let is_lead = seat.reviewer_role == ReviewerRole::Lead as i32;
        let role = j
            .role_of(&seat.organization)
            .ok_or_else(|| anyhow::anyhow!("{} sits on {parent} but is no party", seat.organization))?;
        let given = agreeing(parent, &seat.name, if is_lead { criteria } else { &[] });
        p.review
            .create_review_opinion(p.acting(&seat.organization, &[role], given)?)
            .await?;
        if is_lead {
            lead = Some(seat.organization.clone());
        }
    }
    lead.ok_or_else(|| anyhow::anyhow!("{parent} has no lead"))
}

/// The operator's data use of the resource (under the approved scenario where there is one, else under the
/// agreement): its providers confirm; where the panel has a lead (Yunnan: the data authority, S-YN Art.20) it
/// assesses the profile's criteria and approves, otherwise the last confirmation decides (Hubei, S-HB §四(三)).
/// The data authority then records the provisioning.
pub async fn data_use(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let operator = j.operator();
    let application = DataUseApplication {
        display_name: format!("{}人口画像用数 {}", j.display_name, p.run),
        kind: DataUseKind::PublicData as i32,
        scenario_application: j.scenario.clone(),
        // Without a scenario the application names the agreement (DU-2); with one the scenario does.
        agreement: if j.scenario.is_empty() {
            j.agreement.clone()
        } else {
            String::new()
        },
        purpose: "按区域人口画像辅助商业选址".into(),
        items: vec![DataUseItem {
            resource: j.resource.clone(),
            necessity: "画像必需".into(),
            ..Default::default()
        }],
        delivery_method: DeliveryMethod::PrivacyComputing as i32,
        use_period: year_from_today(p).await?,
        minimum_necessity_statement: "仅申请画像所需的常住人口字段".into(),
        security_measures: privacy_computing(),
        ..Default::default()
    };
    let client = p.review.clone();
    let create = CreateDataUseApplicationRequest {
        data_use_application: Some(application),
        request_id: String::new(),
    };
    let created = p
        .once_known_as(
            "the review service knows the active agreement",
            &operator,
            &[Role::Operator],
            create,
            |request| {
                let mut client = client.clone();
                async move { client.create_data_use_application(request).await }
            },
        )
        .await?
        .into_inner()
        .data_use_application
        .unwrap_or_default();
    let submit = SubmitDataUseApplicationRequest {
        name: created.name.clone(),
        ..Default::default()
    };
    let mut current = p
        .review
        .submit_data_use_application(p.acting(&operator, &[Role::Operator], submit)?)
        .await?
        .into_inner()
        .data_use_application
        .unwrap_or_default();
    for confirmation in current.provider_confirmations.clone() {
        let decisions = current
            .items
            .iter()
            .filter(|i| i.provider == confirmation.provider)
            .map(|i| DataUseItemDecision {
                resource: i.resource.clone(),
                approve: true,
                ..Default::default()
            })
            .collect();
        let confirm = ConfirmDataUseApplicationRequest {
            name: current.name.clone(),
            decisions,
            comments: "数据可供".into(),
            ..Default::default()
        };
        current = p
            .review
            .confirm_data_use_application(p.acting(&confirmation.provider, &[Role::DataProvider], confirm)?)
            .await?
            .into_inner()
            .data_use_application
            .unwrap_or_default();
        p.note(format!(
            "{}: {} confirmed {}",
            j.id, confirmation.provider, current.name
        ));
    }
    let leads: Vec<ReviewerAssignment> = current
        .reviewers
        .iter()
        .filter(|r| r.reviewer_role == ReviewerRole::Lead as i32)
        .cloned()
        .collect();
    if current.state == DataUseApplicationState::UnderReview as i32 {
        let lead = give_opinions(p, j, &current.name, &leads, data_use_criteria(&j.id)).await?;
        let approve = ApproveDataUseApplicationRequest {
            name: current.name.clone(),
            reasons: "符合最小必要原则".into(),
            ..Default::default()
        };
        current = p
            .review
            .approve_data_use_application(p.acting(&lead, &[Role::DataAuthority], approve)?)
            .await?
            .into_inner()
            .data_use_application
            .unwrap_or_default();
        p.note(format!("{}: {lead} approved {}", j.id, current.name));
    } else {
        p.note(format!(
            "{}: the last confirmation decided {} (no lead seat)",
            j.id, current.name
        ));
    }
    anyhow::ensure!(
        current.state == DataUseApplicationState::Approved as i32,
        "{} is {:?}, not APPROVED",
        current.name,
        DataUseApplicationState::try_from(current.state)
    );
    let provision = RecordDataUseProvisioningRequest {
        name: current.name.clone(),
        provision_reference: format!("sandbox://{}/population/{}", j.id, p.run),
        ..Default::default()
    };
    let provisioned = p
        .review
        .record_data_use_provisioning(p.acting(&j.data(), &[Role::DataAuthority], provision)?)
        .await?
        .into_inner()
        .data_use_application
        .unwrap_or_default();
    anyhow::ensure!(
        provisioned.state == DataUseApplicationState::Provisioned as i32,
        "{} is not PROVISIONED after the provisioning was recorded",
        provisioned.name
    );
    j.data_use = provisioned.name;
    p.note(format!("{}: {} provisioned in the sandbox", j.id, j.data_use));
    Ok(())
}

/// The review opened from `product.submitted`: every checklist item passed and approved by its lead reviewer.
pub async fn compliance_review(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let supervisor = j.data();
    let list = ListProductReviewsRequest {
        product: j.product.clone(),
        ..Default::default()
    };
    let client = p.review.clone();
    let platform = &*p;
    until("the review service opened the product review", || {
        let mut client = client.clone();
        let request = platform.acting(&supervisor, &[Role::DataAuthority], list.clone());
        async move {
            let listed = client.list_product_reviews(request?).await?.into_inner();
            Ok(!listed.product_reviews.is_empty())
        }
    })
    .await?;
    let request = p.acting(&supervisor, &[Role::DataAuthority], list)?;
    let review = p
        .review
        .list_product_reviews(request)
        .await?
        .into_inner()
        .product_reviews
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the product review vanished"))?;
    let lead = review
        .reviewers
        .iter()
        .find(|r| r.reviewer_role == ReviewerRole::Lead as i32)
        .or(review.reviewers.first())
        .map(|r| r.organization.clone())
        .ok_or_else(|| anyhow::anyhow!("{} has no reviewer", review.name))?;
    // The other seats (Hubei: the data provider, binding) agree first: the lead decides only after them.
    for seat in review.reviewers.iter().filter(|r| r.organization != lead) {
        let role = j.role_of(&seat.organization).ok_or_else(|| {
            anyhow::anyhow!("{} sits on {} but is no party", seat.organization, review.name)
        })?;
        let opinion = CreateReviewOpinionRequest {
            parent: review.name.clone(),
            opinion: Some(ReviewOpinion {
                reviewer: seat.name.clone(),
                stance: OpinionStance::Agree as i32,
                comments: "同意发布".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        p.review
            .create_review_opinion(p.acting(&seat.organization, &[role], opinion)?)
            .await?;
        p.note(format!(
            "{}: {} agreed in {}",
            j.id, seat.organization, review.name
        ));
    }
    let checks = review
        .checks
        .iter()
        .map(|c| ComplianceCheck {
            kind: c.kind,
            result: ComplianceCheckResult::Passed as i32,
            ..Default::default()
        })
        .collect();
    let record = RecordProductComplianceChecksRequest {
        name: review.name.clone(),
        checks,
        ..Default::default()
    };
    p.review
        .record_product_compliance_checks(p.acting(&lead, &[Role::DataAuthority], record)?)
        .await?;
    let approve = ApproveProductReviewRequest {
        name: review.name.clone(),
        reasons: "合规".into(),
        ..Default::default()
    };
    p.review
        .approve_product_review(p.acting(&lead, &[Role::DataAuthority], approve)?)
        .await?;
    j.product_review = review.name;
    p.note(format!(
        "{}: {} approved {} ({} checks passed)",
        j.id,
        lead,
        j.product_review,
        review.checks.len()
    ));
    Ok(())
}
