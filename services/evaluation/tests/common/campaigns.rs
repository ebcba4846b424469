//! Published systems, campaigns and their evaluations, as the evaluating organization makes them.

use pdop_kit::auth::Role;
use pdop_proto::common::{Date, DateRange};
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::{Evaluation, EvaluationCampaign, IndicatorSystem};
use pdop_testkit::acting;
use tonic::Request;

use super::Harness;

/// Creates and publishes `s` as `owner` acting with `role`.
pub async fn published(h: &mut Harness, owner: &str, role: Role, s: IndicatorSystem) -> IndicatorSystem {
    let create = pb::CreateIndicatorSystemRequest {
        indicator_system: Some(s),
        ..Default::default()
    };
    let created = h
        .client
        .create_indicator_system(acting(owner, &[role], create))
        .await
        .unwrap()
        .into_inner()
        .indicator_system
        .unwrap();
    let publish = pb::PublishIndicatorSystemRequest {
        name: created.name.clone(),
        ..Default::default()
    };
    h.client
        .publish_indicator_system(acting(owner, &[role], publish))
        .await
        .unwrap()
        .into_inner()
        .indicator_system
        .unwrap()
}

/// A campaign of `system` covering `period`, the self-assessment due on `self_due`.
pub fn campaign(
    system: &IndicatorSystem,
    period: DateRange,
    self_due: Date,
    evaluators: &[String],
) -> EvaluationCampaign {
    EvaluationCampaign {
        display_name: format!("{} 评价", system.year),
        jurisdiction: system.jurisdiction.clone(),
        year: system.year,
        subject_kind: system.subject_kind,
        indicator_system: system.name.clone(),
        evaluators: evaluators.to_vec(),
        covered_period: Some(period),
        self_assessment_due_date: Some(self_due),
        ..Default::default()
    }
}

pub fn create(c: EvaluationCampaign) -> pb::CreateEvaluationCampaignRequest {
    pb::CreateEvaluationCampaignRequest {
        evaluation_campaign: Some(c),
        ..Default::default()
    }
}

pub fn start(c: &EvaluationCampaign) -> pb::StartEvaluationCampaignRequest {
    pb::StartEvaluationCampaignRequest {
        name: c.name.clone(),
        ..Default::default()
    }
}

/// The evaluations of a campaign, as the data authority of `w` lists them.
pub async fn evaluations(h: &mut Harness, req: Request<pb::ListEvaluationsRequest>) -> Vec<Evaluation> {
    h.client
        .list_evaluations(req)
        .await
        .unwrap()
        .into_inner()
        .evaluations
}
