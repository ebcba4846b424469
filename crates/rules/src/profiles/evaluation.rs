//! The `[evaluation]` and `[reports]` sections of a profile: who evaluates whom and how often, the grades, the
//! dimensions a seed names, what the registry does on a result, and when operator reports are due
//! (REVIEW-EVALUATION §3.12).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::model::setting;
use super::review::{OrgRole, profile_ids, proto_names};
use super::values::{AnnualReportDue, Cadence, EvaluationGrade, MonthDay, Sourced};
use crate::Period;

/// Evaluation rules (DOMAIN §4.9; D23).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationRules {
    /// How often operators are evaluated.
    #[serde(default, deserialize_with = "setting")]
    pub frequency: Option<Sourced<Cadence>>,
    /// The results an evaluation may give; an indicator system's grading scheme must match them (R-EV-07).
    #[serde(default, deserialize_with = "setting")]
    pub grades: Option<Sourced<Vec<EvaluationGrade>>>,
    /// Time to rectify after a "rectify" result (D23); unset: the issuer's date is required.
    #[serde(default, deserialize_with = "setting")]
    pub rectification_period: Option<Sourced<Period>>,
    /// Who is evaluated, by whom, how often (§3.3).
    #[serde(default, deserialize_with = "setting")]
    pub subjects: Option<Sourced<Vec<SubjectRule>>>,
    /// Dimensions a seed requires in the indicator system of a subject kind (§3.2).
    #[serde(default, deserialize_with = "setting")]
    pub dimensions: Option<Sourced<Vec<DimensionRule>>>,
    /// Results on which the registry suspends the operator's agreement at once (§3.8).
    #[serde(default, deserialize_with = "setting")]
    pub suspension_on: Option<Sourced<Vec<SuspensionGround>>>,
    /// Whether an agreement-breach order must suspend data access while it runs (§3.6, §3.8).
    #[serde(default, deserialize_with = "setting")]
    pub breach_orders_suspend_access: Option<Sourced<bool>>,
    /// Whether an unrectified order is a ground for terminating the agreement (§3.8).
    #[serde(default, deserialize_with = "setting")]
    pub unrectified_is_termination_ground: Option<Sourced<bool>>,
    /// Time the data authority has to act on a result that recommends a measure (§3.8).
    #[serde(default, deserialize_with = "setting")]
    pub follow_up_period: Option<Sourced<Period>>,
}

impl EvaluationRules {
    /// The rule evaluating subjects of `kind`, if the profile evaluates them.
    pub fn subject(&self, kind: SubjectKind) -> Option<&SubjectRule> {
        self.subjects.as_ref()?.value.iter().find(|s| s.kind == kind)
    }

    /// The dimensions a seed requires for `kind`, in profile order.
    pub fn required_dimensions(&self, kind: SubjectKind) -> Vec<&DimensionRule> {
        self.dimensions
            .iter()
            .flat_map(|d| d.value.iter())
            .filter(|d| d.subject == kind)
            .collect()
    }

    /// Whether the registry suspends on `ground` under this profile.
    pub fn suspends_on(&self, ground: SuspensionGround) -> bool {
        self.suspension_on
            .as_ref()
            .is_some_and(|s| s.value.contains(&ground))
    }
}

/// One kind of evaluated organization and who evaluates it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectRule {
    pub kind: SubjectKind,
    /// The kind of organization that runs the campaigns.
    pub evaluator: OrgRole,
    /// Annual campaigns allow one per year; periodic ones must not overlap (inferred, §3.3).
    pub cadence: Cadence,
}

/// A dimension a seed names for a subject kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionRule {
    pub subject: SubjectKind,
    /// The dimension key an indicator system must use.
    pub key: String,
    /// The seed's wording (数据质量, ...).
    pub display_name: String,
}

/// Operator reporting rules (DOMAIN §4.10; D24, D25).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRules {
    /// The reports an operator files (quarterly and/or annual).
    #[serde(default, deserialize_with = "setting")]
    pub operator_cadence: Option<Sourced<Vec<Cadence>>>,
    /// When in the year the operator's annual report is due.
    #[serde(default, deserialize_with = "setting")]
    pub operator_annual_due: Option<Sourced<AnnualReportDue>>,
    /// How long after a quarter's last day its report is due.
    #[serde(default, deserialize_with = "setting")]
    pub operator_quarterly_due: Option<Sourced<Period>>,
    /// The annual report's due date (`MM-DD` of the following year); overrides `operator_annual_due`.
    #[serde(default, deserialize_with = "setting")]
    pub operator_annual_due_date: Option<Sourced<MonthDay>>,
    /// The kinds of organization an operator reports to.
    #[serde(default, deserialize_with = "setting")]
    pub recipients: Option<Sourced<Vec<OrgRole>>>,
    /// Content every submitted report must say it covers.
    #[serde(default, deserialize_with = "setting")]
    pub required_contents: Option<Sourced<Vec<ReportContent>>>,
}

impl ReportRules {
    /// Whether operators file reports of `cadence`.
    pub fn files(&self, cadence: Cadence) -> bool {
        self.operator_cadence
            .as_ref()
            .is_some_and(|c| c.value.contains(&cadence))
    }
}

profile_ids! {
    /// A kind of evaluated organization (`pdop.evaluation.v1.EvaluationSubjectKind`).
    SubjectKind {
        /// 运营机构.
        Operator = "operator",
        /// 开发主体.
        Developer = "developer",
        /// 实施机构.
        ImplementingAgency = "implementing_agency",
        /// 数据提供单位.
        DataProvider = "data_provider",
    }
}

profile_ids! {
    /// A result on which the registry suspends an agreement at once (§3.8).
    SuspensionGround {
        /// A triggered veto (评价发现重大安全风险).
        Veto = "veto",
        /// A final FAIL, first result or re-evaluation.
        FinalFail = "final_fail",
        /// An evaluation's rectification order passed its deadline unverified (未按期整改到位).
        RectificationOverdue = "rectification_overdue",
    }
}

profile_ids! {
    /// A content item of an operator report (`pdop.evaluation.v1.ReportContentKind`).
    ReportContent {
        /// 总体运营情况.
        OverallOperation = "overall_operation",
        /// 开发利用情况.
        DevelopmentAndUse = "development_and_use",
        /// 产品销售情况.
        ProductSales = "product_sales",
        /// 收益情况.
        Revenue = "revenue",
        /// 数据安全合规情况.
        SecurityCompliance = "security_compliance",
        /// 二级开发主体再开发利用情况.
        RedevelopmentByDevelopers = "redevelopment_by_developers",
    }
}

proto_names! {
    SubjectKind => "EVALUATION_SUBJECT_KIND",
    ReportContent => "REPORT_CONTENT_KIND",
}
