//! What the panel RPCs (AssignReviewer, RecuseReviewer, CreateReviewOpinion, ListReviewOpinions) need of any
//! reviewable resource: its panel, applicant, round and whether it is under review.

use pdop_proto::review::v1::{
    DataUseApplication, DataUseApplicationState, DeveloperAdmission, DeveloperAdmissionState, ProductReview,
    ProductReviewState, ReviewerAssignment, ScenarioApplication,
};

use super::{admission, data_use, product_review, scenario};

pub trait Reviewable: Send + Sync {
    fn name(&self) -> &str;
    fn applicant(&self) -> &str;
    fn jurisdiction(&self) -> &str;
    fn reviewers(&self) -> &[ReviewerAssignment];
    fn reviewers_mut(&mut self) -> &mut Vec<ReviewerAssignment>;
    fn round(&self) -> i32;
    /// True while opinions may be given and seats assigned.
    fn under_review(&self) -> bool;
    /// True once the lead has decided the current round (the applicant may then read the opinions).
    fn decided(&self) -> bool;
    /// The materials revision an opinion sees (M-3); 0 for kinds without materials.
    fn materials_revision(&self) -> i32 {
        0
    }
}

impl Reviewable for ScenarioApplication {
    fn name(&self) -> &str {
        &self.name
    }
    fn applicant(&self) -> &str {
        &self.operator
    }
    fn jurisdiction(&self) -> &str {
        &self.jurisdiction
    }
    fn reviewers(&self) -> &[ReviewerAssignment] {
        &self.reviewers
    }
    fn reviewers_mut(&mut self) -> &mut Vec<ReviewerAssignment> {
        &mut self.reviewers
    }
    fn round(&self) -> i32 {
        scenario::round(self)
    }
    fn under_review(&self) -> bool {
        scenario::state_of(self) == pdop_proto::review::v1::ScenarioApplicationState::UnderReview
    }
    fn decided(&self) -> bool {
        !matches!(
            scenario::state_of(self),
            pdop_proto::review::v1::ScenarioApplicationState::Draft
                | pdop_proto::review::v1::ScenarioApplicationState::UnderReview
        )
    }
}

impl Reviewable for ProductReview {
    fn name(&self) -> &str {
        &self.name
    }
    fn applicant(&self) -> &str {
        &self.applicant
    }
    fn jurisdiction(&self) -> &str {
        &self.jurisdiction
    }
    fn reviewers(&self) -> &[ReviewerAssignment] {
        &self.reviewers
    }
    fn reviewers_mut(&mut self) -> &mut Vec<ReviewerAssignment> {
        &mut self.reviewers
    }
    fn round(&self) -> i32 {
        product_review::round(self)
    }
    fn under_review(&self) -> bool {
        product_review::state_of(self) == ProductReviewState::UnderReview
    }
    fn decided(&self) -> bool {
        !matches!(
            product_review::state_of(self),
            ProductReviewState::Draft | ProductReviewState::UnderReview
        )
    }
    fn materials_revision(&self) -> i32 {
        self.materials_revision
    }
}

impl Reviewable for DataUseApplication {
    fn name(&self) -> &str {
        &self.name
    }
    fn applicant(&self) -> &str {
        &self.operator
    }
    fn jurisdiction(&self) -> &str {
        &self.jurisdiction
    }
    fn reviewers(&self) -> &[ReviewerAssignment] {
        &self.reviewers
    }
    fn reviewers_mut(&mut self) -> &mut Vec<ReviewerAssignment> {
        &mut self.reviewers
    }
    fn round(&self) -> i32 {
        data_use::round(self)
    }
    fn under_review(&self) -> bool {
        data_use::state_of(self) == DataUseApplicationState::UnderReview
    }
    fn decided(&self) -> bool {
        !matches!(
            data_use::state_of(self),
            DataUseApplicationState::Draft | DataUseApplicationState::UnderReview
        )
    }
}

impl Reviewable for DeveloperAdmission {
    fn name(&self) -> &str {
        &self.name
    }
    fn applicant(&self) -> &str {
        &self.developer
    }
    fn jurisdiction(&self) -> &str {
        &self.jurisdiction
    }
    fn reviewers(&self) -> &[ReviewerAssignment] {
        &self.reviewers
    }
    fn reviewers_mut(&mut self) -> &mut Vec<ReviewerAssignment> {
        &mut self.reviewers
    }
    fn round(&self) -> i32 {
        admission::round(self)
    }
    fn under_review(&self) -> bool {
        admission::state_of(self) == DeveloperAdmissionState::UnderReview
    }
    fn decided(&self) -> bool {
        !matches!(
            admission::state_of(self),
            DeveloperAdmissionState::Draft | DeveloperAdmissionState::UnderReview
        )
    }
}
