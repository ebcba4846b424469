//! The typed shape of a jurisdiction profile.
//!
//! Every setting is an `Option<Sourced<T>>`: `None` means the jurisdiction sets no such rule. In a
//! profile file a setting is written `key = { value = ..., source = "..." }`; writing only
//! `key = { source = "..." }` states, with a citation, that the jurisdiction has no such rule and
//! clears a value inherited from its parent.

use chrono::NaiveDate;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::evaluation::{EvaluationRules, ReportRules};
use super::review::ReviewRules;
use super::values::{
    Cadence, DecimalString, ListItem, MonthDay, RegistrationPrecondition, Sourced, TaxModel,
};
use crate::Period;

/// The rules of one jurisdiction, with inheritance applied.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile id, equal to the file name without `.toml` (`national`, `henan`, ...).
    pub id: String,
    /// Name of the jurisdiction (国家, 河南省, ...).
    pub name: String,
    /// The documents the profile is drawn from, with their status.
    pub documents: Vec<String>,
    /// Whether any document behind the profile is still a consultation draft (征求意见稿), so its
    /// numbers may change before final issue.
    pub draft: bool,
    /// The profile this one inherits from, if any.
    pub extends: Option<String>,
    /// Resource and product registration (登记), N3.
    #[serde(default)]
    pub registration: RegistrationRules,
    /// Implementation plans (实施方案).
    #[serde(default)]
    pub implementation_plan: PlanRules,
    /// Operator agreements (运营协议).
    #[serde(default)]
    pub agreement: AgreementRules,
    /// Data quality checks and data-use applications.
    #[serde(default)]
    pub data: DataRules,
    /// Developers (二级开发主体 / 开发主体).
    #[serde(default)]
    pub developer: DeveloperRules,
    /// Evaluation of operators (评价/评估).
    #[serde(default)]
    pub evaluation: EvaluationRules,
    /// Log and record retention.
    #[serde(default)]
    pub retention: RetentionRules,
    /// Operation service fees (公共数据运营服务费), N1.
    #[serde(default)]
    pub pricing: PricingRules,
    /// Public disclosure (信息披露), N4.
    #[serde(default)]
    pub disclosure: DisclosureRules,
    /// Operator reports to the implementing agency or data authority.
    #[serde(default)]
    pub reports: ReportRules,
    /// Reviews: scenarios, data uses, data checks, products, developer admissions, appeals.
    #[serde(default)]
    pub review: ReviewRules,
}

/// Registration rules (DOMAIN §2.3, §4.1; deadlines D1–D8).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRules {
    /// Time to apply for first registration after operation starts (D1).
    #[serde(default, deserialize_with = "setting")]
    pub first_registration: Option<Sourced<Period>>,
    /// Time for operations that predate N3 to register (D2), counted from `legacy_registration_from`.
    #[serde(default, deserialize_with = "setting")]
    pub legacy_registration: Option<Sourced<Period>>,
    /// Trigger day of `legacy_registration`.
    #[serde(default, deserialize_with = "setting")]
    pub legacy_registration_from: Option<Sourced<NaiveDate>>,
    /// Time for the registry to accept an application (D3); restarts on resubmission.
    #[serde(default, deserialize_with = "setting")]
    pub acceptance: Option<Sourced<Period>>,
    /// Time for formal review after acceptance (D4).
    #[serde(default, deserialize_with = "setting")]
    pub formal_review: Option<Sourced<Period>>,
    /// Length of the public notice (D5).
    #[serde(default, deserialize_with = "setting")]
    pub public_notice: Option<Sourced<Period>>,
    /// Time to complete a cancellation after acceptance (D6).
    #[serde(default, deserialize_with = "setting")]
    pub cancellation: Option<Sourced<Period>>,
    /// Validity of a registration from coding (D7).
    #[serde(default, deserialize_with = "setting")]
    pub validity: Option<Sourced<Period>>,
    /// Renewal window before expiry (D8); a window opening, not a deadline.
    #[serde(default, deserialize_with = "setting")]
    pub renewal_window: Option<Sourced<Period>>,
    /// Longest term of one renewal, from the day after the previous expiry.
    #[serde(default, deserialize_with = "setting")]
    pub renewal_term_max: Option<Sourced<Period>>,
    /// Whether operators must register their products and services (nationally only encouraged).
    #[serde(default, deserialize_with = "setting")]
    pub products_mandatory: Option<Sourced<bool>>,
    /// Whether operations already running must make a supplementary registration (补充登记).
    #[serde(default, deserialize_with = "setting")]
    pub supplementary_for_existing: Option<Sourced<bool>>,
    /// Conditions without which the registry does not accept an application.
    #[serde(default, deserialize_with = "setting")]
    pub preconditions: Option<Sourced<Vec<RegistrationPrecondition>>>,
}

/// Implementation-plan rules (DOMAIN §2.2, §4.2).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRules {
    /// Time to file an approved plan with the higher authority (D13, D15).
    #[serde(default, deserialize_with = "setting")]
    pub filing_deadline: Option<Sourced<Period>>,
    /// Contents a plan must cover, in the source's order.
    #[serde(default, deserialize_with = "setting")]
    pub required_contents: Option<Sourced<Vec<ListItem>>>,
}

/// Operator agreement rules (DOMAIN §4.3; D12, D14, D16–D18).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementRules {
    /// Longest term an agreement may run (D12, D12').
    #[serde(default, deserialize_with = "setting")]
    pub term_max: Option<Sourced<Period>>,
    /// Time to file a signed agreement (D14, D15, D16).
    #[serde(default, deserialize_with = "setting")]
    pub filing_deadline: Option<Sourced<Period>>,
    /// Time to file a termination (D17).
    #[serde(default, deserialize_with = "setting")]
    pub termination_filing_deadline: Option<Sourced<Period>>,
    /// Window before expiry in which the operator applies to continue (D18); a window opening.
    #[serde(default, deserialize_with = "setting")]
    pub renewal_application_window: Option<Sourced<Period>>,
    /// Clauses an agreement must contain, in the source's order.
    #[serde(default, deserialize_with = "setting")]
    pub required_contents: Option<Sourced<Vec<ListItem>>>,
    /// Grounds on which an agreement ends or the authorization is withdrawn.
    #[serde(default, deserialize_with = "setting")]
    pub termination_grounds: Option<Sourced<Vec<ListItem>>>,
    /// How long before signing an operator must have had no cyber or data-security incident (DOMAIN §4.3).
    #[serde(default, deserialize_with = "setting")]
    pub operator_incident_free: Option<Sourced<Period>>,
}

/// Data quality and data-use rules (DOMAIN §4.5, §4.6; D19, D20, D28).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRules {
    /// Time for a data provider to answer a data-check request (数据校核, D19).
    #[serde(default, deserialize_with = "setting")]
    pub check_response: Option<Sourced<Period>>,
    /// Time for a data provider to review a data-use application (D20).
    #[serde(default, deserialize_with = "setting")]
    pub use_review: Option<Sourced<Period>>,
    /// How often the negative list of excluded resources is reviewed (D28).
    #[serde(default, deserialize_with = "setting")]
    pub negative_list_review: Option<Sourced<Cadence>>,
}

/// Developer admission rules (DOMAIN §4.8; D21, D22).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeveloperRules {
    /// Shortest public notice of a selected developer (D21).
    #[serde(default, deserialize_with = "setting")]
    pub public_notice_min: Option<Sourced<Period>>,
    /// Longest term of a developer agreement (D22).
    #[serde(default, deserialize_with = "setting")]
    pub agreement_term_max: Option<Sourced<Period>>,
}

/// Retention periods (DOMAIN §8; D26, D27).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRules {
    /// Shortest retention of data-processing logs (D26).
    #[serde(default, deserialize_with = "setting")]
    pub processing_logs: Option<Sourced<Period>>,
    /// Shortest retention of developers' call, processing and output audit logs (D26').
    #[serde(default, deserialize_with = "setting")]
    pub audit_logs: Option<Sourced<Period>>,
    /// Shortest retention of destruction records and network logs after termination (D27).
    #[serde(default, deserialize_with = "setting")]
    pub destruction_records: Option<Sourced<Period>>,
}

/// Pricing rules (DOMAIN §2.1, §3; D9, D10).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingRules {
    /// Ceiling of the markup added to the 10-year bond yield, as a decimal ("0.06" = 6 ppt).
    #[serde(default, deserialize_with = "setting")]
    pub markup_max: Option<Sourced<DecimalString>>,
    /// Longest evaluation (regulatory) cycle (D9).
    #[serde(default, deserialize_with = "setting")]
    pub evaluation_cycle_max: Option<Sourced<Period>>,
    /// Deviation of revenue from the maximum allowed revenue above which cap prices are adjusted.
    #[serde(default, deserialize_with = "setting")]
    pub deviation_threshold: Option<Sourced<DecimalString>>,
    /// Yearly due date of the operator business report (D10).
    #[serde(default, deserialize_with = "setting")]
    pub annual_report_due: Option<Sourced<MonthDay>>,
    /// The tax model every calculation of the jurisdiction must use; unset: chosen per calculation.
    #[serde(default, deserialize_with = "setting")]
    pub tax_model: Option<Sourced<TaxModel>>,
}

/// Disclosure rules (DOMAIN §7; D11).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRules {
    /// How often the implementing agency and operator disclose.
    #[serde(default, deserialize_with = "setting")]
    pub cadence: Option<Sourced<Cadence>>,
    /// Yearly due date of the disclosure of the prior year (D11).
    #[serde(default, deserialize_with = "setting")]
    pub due: Option<Sourced<MonthDay>>,
}

/// Deserializes `{ value = ..., source = "..." }` into `Some`, and `{ source = "..." }` (a cited
/// statement that the rule does not exist) into `None`.
pub(super) fn setting<'de, D, T>(deserializer: D) -> Result<Option<Sourced<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Setting<T> {
        value: Option<T>,
        source: String,
    }

    let setting = Setting::<T>::deserialize(deserializer)?;
    if setting.source.trim().is_empty() {
        return Err(D::Error::custom(
            "`source` must cite the provision the setting comes from",
        ));
    }
    Ok(setting.value.map(|value| Sourced {
        value,
        source: setting.source,
    }))
}
