//! The `[review]` section of a profile: who reviews scenarios, data uses, data checks, products,
//! developer admissions and appeals, and against which criteria (REVIEW-EVALUATION §2.13).
//!
//! Every id written in a profile is a typed value. Ids that the review contract also carries map
//! 1:1 to a protobuf enum value: `proto_name()` is the enum prefix plus the id in upper case
//! (`data_source_lawful` ↔ `COMPLIANCE_CHECK_KIND_DATA_SOURCE_LAWFUL`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::model::setting;
use super::values::Sourced;

/// Review rules of one jurisdiction.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRules {
    /// Whether scenarios and data uses are reviewed in two steps, together, or data uses alone (§2.2).
    #[serde(default, deserialize_with = "setting")]
    pub scenario_flow: Option<Sourced<ScenarioFlow>>,
    /// Scenario applications (一场景一审核).
    #[serde(default)]
    pub scenario: ScenarioReviewRules,
    /// Data-use applications (用数申请).
    #[serde(default)]
    pub data_use: DataUseReviewRules,
    /// Data-quality checks (数据校核).
    #[serde(default)]
    pub data_check: DataCheckRules,
    /// Product compliance reviews (合规审核).
    #[serde(default)]
    pub product: ProductReviewRules,
    /// Developer admissions (开发主体准入).
    #[serde(default)]
    pub admission: AdmissionRules,
    /// Appeals (申诉); unset subjects mean the jurisdiction has no appeal procedure.
    #[serde(default)]
    pub appeals: AppealRules,
}

/// Scenario review rules (§2.3).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioReviewRules {
    /// The panel seeded at submission; unset where scenarios are not reviewed.
    #[serde(default, deserialize_with = "setting")]
    pub panel: Option<Sourced<Vec<PanelSeat>>>,
    /// Criteria every approval must have assessed (R-RV-08).
    #[serde(default, deserialize_with = "setting")]
    pub criteria: Option<Sourced<Vec<ReviewCriterion>>>,
}

/// Data-use review rules (§2.4).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataUseReviewRules {
    /// The panel of a public-data application; a panel without a lead is decided by the last
    /// provider confirmation.
    #[serde(default, deserialize_with = "setting")]
    pub panel: Option<Sourced<Vec<PanelSeat>>>,
    /// Criteria every approval must have assessed (R-RV-08).
    #[serde(default, deserialize_with = "setting")]
    pub criteria: Option<Sourced<Vec<ReviewCriterion>>>,
    /// The kind of organization that may join an application as co-applicant; unset: none.
    #[serde(default, deserialize_with = "setting")]
    pub co_applicant: Option<Sourced<OrgRole>>,
    /// The organization that leads the review of a social-data import.
    #[serde(default, deserialize_with = "setting")]
    pub social_import_approver: Option<Sourced<OrgRole>>,
}

/// Data-quality check rules (§2.5).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataCheckRules {
    /// The token roles that may raise a check.
    #[serde(default, deserialize_with = "setting")]
    pub requesters: Option<Sourced<Vec<CallerRole>>>,
    /// The organization that must answer a check.
    #[serde(default, deserialize_with = "setting")]
    pub responder: Option<Sourced<OrgRole>>,
}

/// Product compliance review rules (§2.6).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductReviewRules {
    /// The panel that reviews an operator's products.
    #[serde(default, deserialize_with = "setting")]
    pub panel: Option<Sourced<Vec<PanelSeat>>>,
    /// The panel that reviews developers' release applications; unset: developers file none.
    #[serde(default, deserialize_with = "setting")]
    pub redeveloped_panel: Option<Sourced<Vec<PanelSeat>>>,
    /// The compliance checklist seeded on every review, in the source's order.
    #[serde(default, deserialize_with = "setting")]
    pub checklist: Option<Sourced<Vec<ComplianceCheckKind>>>,
    /// Whether approval needs at least one named scenario, all of them APPROVED.
    #[serde(default, deserialize_with = "setting")]
    pub requires_approved_scenario: Option<Sourced<bool>>,
    /// Whether the lead may entrust a third-party reviewer instead of the data providers.
    #[serde(default, deserialize_with = "setting")]
    pub third_party_allowed: Option<Sourced<bool>>,
}

/// Developer admission rules (§2.7).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionRules {
    /// The admission panel; unset: the jurisdiction has no admission procedure.
    #[serde(default, deserialize_with = "setting")]
    pub panel: Option<Sourced<Vec<PanelSeat>>>,
    /// Materials a submission must carry.
    #[serde(default, deserialize_with = "setting")]
    pub materials: Option<Sourced<Vec<AdmissionMaterialKind>>>,
    /// Criteria every approval must have assessed (R-RV-08).
    #[serde(default, deserialize_with = "setting")]
    pub criteria: Option<Sourced<Vec<ReviewCriterion>>>,
}

/// Appeal rules (§2.8).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealRules {
    /// The decisions that may be appealed; unset: no appeal procedure.
    #[serde(default, deserialize_with = "setting")]
    pub subjects: Option<Sourced<Vec<AppealSubjectKind>>>,
    /// The token roles that may appeal (as the subject's applicant).
    #[serde(default, deserialize_with = "setting")]
    pub appellants: Option<Sourced<Vec<CallerRole>>>,
}

/// One seat of a panel seeded from the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelSeat {
    /// The kind of organization that sits.
    pub org: OrgRole,
    /// The reviewer role it sits in.
    pub seat: ReviewerRole,
    /// Whether approval waits for this seat's agreement (R-RV-03).
    pub binding: bool,
    /// How the organization is found.
    pub from: SeatSource,
}

impl PanelSeat {
    /// Returns whether this is the seat that decides.
    pub fn is_lead(&self) -> bool {
        self.seat == ReviewerRole::Lead
    }
}

/// Defines a closed set of snake_case ids with `ALL`, `as_str` and `Display`; serde reads and
/// writes the same ids.
macro_rules! profile_ids {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $id:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $id)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Returns the id as written in a profile.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $id,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

/// Adds `proto_name()` to id sets whose values are those of a protobuf enum.
macro_rules! proto_names {
    ($($name:ident => $prefix:literal,)+) => {
        $(
            impl $name {
                /// The protobuf enum's value prefix.
                pub const PROTO_PREFIX: &'static str = $prefix;

                /// Returns the name of the protobuf enum value, e.g. `COMPLIANCE_CHECK_KIND_DATA_SOURCE_LAWFUL`.
                pub fn proto_name(self) -> String {
                    format!("{}_{}", Self::PROTO_PREFIX, self.as_str().to_ascii_uppercase())
                }
            }
        )+
    };
}
pub(super) use {profile_ids, proto_names};

profile_ids! {
    /// How scenario and data-use reviews relate (§2.2).
    ScenarioFlow {
        /// A scenario review, then data-use applications under the approved scenario.
        TwoStep = "two_step",
        /// One review of the scenario with its data demands; approval grants the data.
        Combined = "combined",
        /// No scenario review; standalone data-use applications.
        DataUseOnly = "data_use_only",
    }
}

profile_ids! {
    /// A kind of organization (`pdop.common.v1.OrganizationRole`).
    OrgRole {
        /// 数据管理部门 / 公共数据主管部门.
        DataAuthority = "data_authority",
        /// 实施机构.
        ImplementingAgency = "implementing_agency",
        /// 运营机构.
        Operator = "operator",
        /// 数据提供单位 / 数源单位.
        DataProvider = "data_provider",
        /// 行业主管部门.
        IndustryRegulator = "industry_regulator",
    }
}

profile_ids! {
    /// The role a seat holds on a panel (`pdop.review.v1.ReviewerRole`). Experts are never seeded;
    /// the lead adds them.
    ReviewerRole {
        /// Decides (approve, reject, return, revoke).
        Lead = "lead",
        /// Reviews jointly with the lead.
        Joint = "joint",
        /// Reviews for the resources it provides.
        DataProvider = "data_provider",
        /// Gives the regulator's written opinion.
        IndustryRegulator = "industry_regulator",
        /// A professional body the lead entrusts.
        ThirdParty = "third_party",
    }
}

profile_ids! {
    /// How a seat's organization is found.
    SeatSource {
        /// The one organization holding the seat's `org` role in the jurisdiction.
        Jurisdiction = "jurisdiction",
        /// The implementing agency or operator of the agreement the resource falls under.
        Agreement = "agreement",
        /// The providers of the requested or source resources.
        Resources = "resources",
        /// Assigned by the lead; approval waits for the assignment.
        Assigned = "assigned",
    }
}

profile_ids! {
    /// A token role named by a profile (`pdop.common.v1.Role`; the same ids as `pdop_kit::auth::Role`).
    CallerRole {
        /// 运营机构.
        Operator = "operator",
        /// 开发主体 / 产品开发商 / 二级市场.
        Developer = "developer",
    }
}

profile_ids! {
    /// A criterion an opinion assesses (`pdop.review.v1.ReviewCriterion`).
    ReviewCriterion {
        /// 经济价值.
        EconomicValue = "economic_value",
        /// 社会价值.
        SocialValue = "social_value",
        /// 商业模式.
        BusinessModel = "business_model",
        /// 数据需求合理性.
        DataNeedReasonable = "data_need_reasonable",
        /// 数据需求必要性.
        DataNeedNecessary = "data_need_necessary",
        /// 数据需求可满足性.
        DataNeedSatisfiable = "data_need_satisfiable",
        /// 场景可行性.
        ScenarioFeasibility = "scenario_feasibility",
        /// 场景合规性.
        ScenarioCompliance = "scenario_compliance",
        /// 使用单位、使用目的、使用范围.
        UserPurposeScope = "user_purpose_scope",
        /// 最小必要.
        MinimumNecessary = "minimum_necessary",
        /// 安全保障措施.
        SecurityMeasures = "security_measures",
        /// 资质能力.
        QualificationCapability = "qualification_capability",
        /// 安全风险性.
        SecurityRisk = "security_risk",
        /// 经营状况和信用状况良好.
        CreditStanding = "credit_standing",
        /// 技术服务能力.
        TechnicalCapability = "technical_capability",
        /// 数据管理能力.
        DataManagementCapability = "data_management_capability",
        /// 数据安全保障能力.
        SecurityCapability = "security_capability",
    }
}

profile_ids! {
    /// A point of the product compliance checklist (`pdop.review.v1.ComplianceCheckKind`).
    ComplianceCheckKind {
        /// 数据来源及其合法合规性.
        DataSourceLawful = "data_source_lawful",
        /// 敏感数据脱敏.
        SensitiveDataMasked = "sensitive_data_masked",
        /// 原始数据不出域.
        RawDataStaysInDomain = "raw_data_stays_in_domain",
        /// 访问控制.
        AccessControl = "access_control",
        /// 关联主体授权配置.
        RelatedPartyAuthorization = "related_party_authorization",
        /// 信息一致性.
        InformationConsistency = "information_consistency",
        /// 特定主体知情同意.
        InformedConsent = "informed_consent",
        /// 符合申请用途和使用范围.
        DeclaredUseAndScope = "declared_use_and_scope",
        /// 无原始数据、敏感数据直接暴露.
        NoRawOrSensitiveExposure = "no_raw_or_sensitive_exposure",
        /// 无个人信息和商业秘密泄露、滥用风险.
        NoPersonalInfoOrSecretRisk = "no_personal_info_or_secret_risk",
        /// 是否涉及数据出境.
        CrossBorderTransfer = "cross_border_transfer",
        /// 不可还原原始数据.
        NoRawDataRestoration = "no_raw_data_restoration",
        /// 其他风险.
        OtherRisks = "other_risks",
    }
}

profile_ids! {
    /// A material a developer admission must carry (`pdop.review.v1.AdmissionMaterialKind`).
    AdmissionMaterialKind {
        /// 应用场景开发利用方案.
        ScenarioPlan = "scenario_plan",
        /// 数据安全承诺书.
        SecurityCommitment = "security_commitment",
        /// 信用状况报告.
        CreditReport = "credit_report",
        /// 资格证明材料.
        QualificationProof = "qualification_proof",
        /// 合规及技术安全材料.
        ComplianceAndSecurity = "compliance_and_security",
    }
}

profile_ids! {
    /// A decision that may be appealed (`pdop.review.v1.AppealSubjectKind`).
    AppealSubjectKind {
        /// A scenario application.
        ScenarioApplication = "scenario_application",
        /// A data-use application.
        DataUseApplication = "data_use_application",
        /// A product compliance review.
        ProductReview = "product_review",
        /// A developer admission.
        DeveloperAdmission = "developer_admission",
        /// A data-quality check.
        DataQualityCheck = "data_quality_check",
    }
}

proto_names! {
    OrgRole => "ORGANIZATION_ROLE",
    ReviewerRole => "REVIEWER_ROLE",
    CallerRole => "ROLE",
    ReviewCriterion => "REVIEW_CRITERION",
    ComplianceCheckKind => "COMPLIANCE_CHECK_KIND",
    AdmissionMaterialKind => "ADMISSION_MATERIAL_KIND",
    AppealSubjectKind => "APPEAL_SUBJECT_KIND",
}
