//! The review rules of a jurisdiction profile (`[review]`, §2.13), in the contract's terms: panel seats with the
//! proto reviewer role, criteria as proto enums. Every id of a profile maps 1:1 to a proto enum value
//! (`proto_name`); the model tests of `pdop-rules` check that they exist.

use pdop_proto::review::v1::{ReviewCriterion, ReviewerRole};
use pdop_rules::Profile;
use pdop_rules::profiles::{self as rules, PanelSeat, ScenarioFlow, Sourced};

use super::panel::SeatSpec;

pub use rules::ScenarioFlow as Flow;

/// What a scenario application follows under a profile.
#[derive(Debug, Clone)]
pub struct ScenarioRules {
    pub profile_id: String,
    pub flow: Flow,
    /// The provision the flow is read from, for refusals (§0, R-RV-13).
    pub flow_source: String,
    pub panel: Vec<SeatSpec>,
    pub criteria: Vec<ReviewCriterion>,
}

fn seat(s: &PanelSeat) -> SeatSpec {
    let role = match s.seat {
        rules::ReviewerRole::Lead => ReviewerRole::Lead,
        rules::ReviewerRole::Joint => ReviewerRole::Joint,
        rules::ReviewerRole::DataProvider => ReviewerRole::DataProvider,
        rules::ReviewerRole::IndustryRegulator => ReviewerRole::IndustryRegulator,
        rules::ReviewerRole::ThirdParty => ReviewerRole::ThirdParty,
    };
    SeatSpec {
        org: s.org,
        seat: role,
        binding: s.binding,
        from: s.from,
    }
}

pub fn panel(setting: Option<&Sourced<Vec<PanelSeat>>>) -> Vec<SeatSpec> {
    setting
        .map(|p| p.value.iter().map(seat).collect())
        .unwrap_or_default()
}

pub fn criteria(setting: Option<&Sourced<Vec<rules::ReviewCriterion>>>) -> Vec<ReviewCriterion> {
    setting
        .map(|c| {
            c.value
                .iter()
                .filter_map(|c| ReviewCriterion::from_str_name(&c.proto_name()))
                .collect()
        })
        .unwrap_or_default()
}

/// A profile without `review.scenario_flow` follows the national default, two steps (§2.2, inferred).
pub fn scenario(profile: &Profile) -> ScenarioRules {
    let review = &profile.review;
    let (flow, flow_source) = review.scenario_flow.as_ref().map_or(
        (ScenarioFlow::TwoStep, "inferred (DOMAIN §4.4, §4.5)".to_owned()),
        |f| (f.value, f.source.clone()),
    );
    ScenarioRules {
        profile_id: profile.id.clone(),
        flow,
        flow_source,
        panel: panel(review.scenario.panel.as_ref()),
        criteria: criteria(review.scenario.criteria.as_ref()),
    }
}

/// What a data-use application follows under a profile (§2.2, §2.4, §2.13).
#[derive(Debug, Clone)]
pub struct DataUseRules {
    pub profile_id: String,
    pub flow: Flow,
    pub flow_source: String,
    /// The panel of a public-data application; without a lead the last provider confirmation decides (Hubei).
    pub panel: Vec<SeatSpec>,
    pub panel_source: String,
    pub criteria: Vec<ReviewCriterion>,
    /// Who may co-apply (Laiyuan: the industry regulator, S-LY §四); `None`: nobody.
    pub co_applicant: Option<rules::OrgRole>,
    /// Who leads the review of a social-data import (S-LY §六(二)3, S-ZZ Art.18); national: the data authority.
    pub social_import_approver: rules::OrgRole,
    /// The providers' review period (D20: Hubei 5 WD, S-HB §四(三)); `None` where no source sets one.
    pub use_review: Option<Sourced<pdop_rules::Period>>,
}

/// A profile without a `review.data_use` panel seats the national one's shape: providers only (inferred).
pub fn data_use(profile: &Profile) -> DataUseRules {
    let scenario = scenario(profile);
    let review = &profile.review.data_use;
    DataUseRules {
        profile_id: profile.id.clone(),
        flow: scenario.flow,
        flow_source: scenario.flow_source,
        panel: panel(review.panel.as_ref()),
        panel_source: review
            .panel
            .as_ref()
            .map(|p| p.source.clone())
            .unwrap_or_default(),
        criteria: criteria(review.criteria.as_ref()),
        co_applicant: review.co_applicant.as_ref().map(|c| c.value),
        social_import_approver: review
            .social_import_approver
            .as_ref()
            .map_or(rules::OrgRole::DataAuthority, |a| a.value),
        use_review: profile.data.use_review.clone(),
    }
}

/// What a product review follows under a profile (§2.13 products).
#[derive(Debug, Clone)]
pub struct ProductRules {
    pub profile_id: String,
    pub panel: Vec<SeatSpec>,
    pub checklist: Vec<pdop_proto::review::v1::ComplianceCheckKind>,
    /// The source, where the profile releases products only for approved scenarios.
    pub requires_approved_scenario: Option<String>,
    /// `registration.products_mandatory`: the registry holds an approved product until it is registered.
    pub registration_required: bool,
    /// The panel of developers' release applications and its source; `None` where developers file none.
    pub redeveloped_panel: Option<(Vec<SeatSpec>, String)>,
}

impl ProductRules {
    /// The panel a review is seated from: developers' release applications have their own (S-YN Art.22).
    pub fn panel_for(&self, redeveloped: bool) -> &[SeatSpec] {
        match (&self.redeveloped_panel, redeveloped) {
            (Some((panel, _)), true) => panel,
            _ => &self.panel,
        }
    }
}

pub fn product(profile: &Profile) -> ProductRules {
    let p = &profile.review.product;
    ProductRules {
        profile_id: profile.id.clone(),
        panel: panel(p.panel.as_ref()),
        checklist: p
            .checklist
            .as_ref()
            .map(|c| {
                c.value
                    .iter()
                    .filter_map(|k| {
                        pdop_proto::review::v1::ComplianceCheckKind::from_str_name(&k.proto_name())
                    })
                    .collect()
            })
            .unwrap_or_default(),
        requires_approved_scenario: p
            .requires_approved_scenario
            .as_ref()
            .filter(|s| s.value)
            .map(|s| s.source.clone()),
        registration_required: profile
            .registration
            .products_mandatory
            .as_ref()
            .is_some_and(|m| m.value),
        redeveloped_panel: p
            .redeveloped_panel
            .as_ref()
            .map(|r| (panel(Some(r)), r.source.clone())),
    }
}

/// What a developer admission follows under a profile (§2.7, §2.13 admissions).
#[derive(Debug, Clone)]
pub struct AdmissionRules {
    pub profile_id: String,
    /// `review.admission.panel`; `None`: the profile has no admission procedure (S-ZZ Art.18, 22).
    pub panel: Option<Vec<SeatSpec>>,
    pub materials: Vec<pdop_proto::review::v1::AdmissionMaterialKind>,
    /// The provision the materials are read from, for refusals (R-RV-13).
    pub materials_source: String,
    pub criteria: Vec<ReviewCriterion>,
    /// `developer.public_notice_min` (D21): the shortest notice in working days and its source; `None`: no notice.
    pub notice_min: Option<(u32, String)>,
}

pub fn admission(profile: &Profile) -> AdmissionRules {
    let a = &profile.review.admission;
    AdmissionRules {
        profile_id: profile.id.clone(),
        panel: a.panel.as_ref().map(|p| p.value.iter().map(seat).collect()),
        materials: a
            .materials
            .as_ref()
            .map(|m| {
                m.value
                    .iter()
                    .filter_map(|k| {
                        pdop_proto::review::v1::AdmissionMaterialKind::from_str_name(&k.proto_name())
                    })
                    .collect()
            })
            .unwrap_or_default(),
        materials_source: a.materials.as_ref().map(|m| m.source.clone()).unwrap_or_default(),
        criteria: criteria(a.criteria.as_ref()),
        notice_min: profile
            .developer
            .public_notice_min
            .as_ref()
            .map(|p| (p.value.count(), p.source.clone())),
    }
}
