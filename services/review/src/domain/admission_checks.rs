//! The checks a developer admission passes before its transitions (§2.7, R-RV-14, R-RV-17, R-RV-18): an
//! admission procedure in the profile, no own products, LISTED products, a clear blacklist and credit record, the
//! required materials, one open admission per developer and operator.

use pdop_kit::convert::timestamp;
use pdop_kit::uow::Call;
use pdop_proto::registry::events::v1::ProductSnapshot;
use pdop_proto::registry::v1::{BlacklistAction, CreditStatus, ProductState};
use pdop_proto::review::v1::{BlacklistCheck, DeveloperAdmission};

use super::error::{Error, ErrorReason};
use super::panel::SeatSpec;
use super::rules::AdmissionRules;

/// The profile's panel; a profile without one has no admission procedure (§2.7: Zhengzhou, S-ZZ Art.18, 22).
pub fn procedure(rules: &AdmissionRules) -> Result<&[SeatSpec], Error> {
    rules.panel.as_deref().ok_or_else(|| {
        Error::refused(
            ErrorReason::AdmissionNotUsed,
            format!(
                "profile {} has no developer admission procedure (review.admission.panel is unset): the operator \
                 organises its developers directly and signs the developer agreement in the registry",
                rules.profile_id
            ),
        )
    })
}

/// §1.2, R-RV-18: the operator never develops the products it delivered (N2 Art.6; S-HN Art.7(3); S-YN Art.21).
pub fn not_own_products(developer: &str, operator: &str) -> Result<(), Error> {
    if developer == operator {
        return Err(Error::refused(
            ErrorReason::OwnProducts,
            format!(
                "{developer} is the operator of these products and may not re-develop its own delivered products \
                 (运营机构不得参与再开发, N2 Art.6)"
            ),
        ));
    }
    Ok(())
}

/// §2.7: every requested product is LISTED and delivered under the admission's agreement.
pub fn products_listed(a: &DeveloperAdmission, products: &[ProductSnapshot]) -> Result<(), Error> {
    for p in products {
        if p.agreement != a.agreement {
            return Err(Error::refused(
                ErrorReason::OutOfScope,
                format!("{} is not delivered under {}", p.name, a.agreement),
            ));
        }
        if p.state != ProductState::Listed as i32 {
            return Err(Error::refused(
                ErrorReason::ProductNotListed,
                format!(
                    "{} is {:?}; developers apply only for LISTED products",
                    p.name,
                    ProductState::try_from(p.state).unwrap_or_default()
                ),
            ));
        }
    }
    Ok(())
}

/// The developer's standing as the registry announced it: its active blacklist entries and its credit status.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// `(blacklistEntries/{id}, BlacklistAction)` of every active entry.
    pub entries: Vec<(String, i32)>,
    pub credit_status: i32,
}

/// R-RV-17: an active SUSPEND, DISQUALIFY or BAR entry (the registry's excluding set), or a serious dishonesty
/// listing, blocks admission (S-YN Art.21; Art.12(一) 信用状况良好).
pub fn blacklist_check(s: &Standing, call: &Call) -> BlacklistCheck {
    let excluding = [
        BlacklistAction::Suspend as i32,
        BlacklistAction::Disqualify as i32,
        BlacklistAction::Bar as i32,
    ];
    let blocking: Vec<String> = s
        .entries
        .iter()
        .filter(|(_, action)| excluding.contains(action))
        .map(|(name, _)| name.clone())
        .collect();
    let dishonest = s.credit_status == CreditStatus::DishonestListed as i32;
    let mut findings = Vec::new();
    if !blocking.is_empty() {
        findings.push(format!("active blacklist entries: {}", blocking.join(", ")));
    }
    if dishonest {
        findings.push("listed as a serious dishonesty subject (严重失信主体)".to_owned());
    }
    BlacklistCheck {
        check_time: Some(timestamp(call.now)),
        clear: blocking.is_empty() && !dishonest,
        blocking_entries: blocking,
        dishonest_listed: dishonest,
        findings: if findings.is_empty() {
            "no blocking entry, credit status not dishonest".to_owned()
        } else {
            findings.join("; ")
        },
    }
}

/// Runs the R-RV-17 check, keeps it on the admission and refuses when it is not clear.
pub fn require_clear(a: &mut DeveloperAdmission, call: &Call, s: &Standing) -> Result<(), Error> {
    let check = blacklist_check(s, call);
    let (clear, findings) = (check.clear, check.findings.clone());
    a.blacklist_check = Some(check);
    if !clear {
        return Err(Error::refused(
            ErrorReason::Blacklisted,
            format!(
                "{} cannot be admitted while {findings} (R-RV-17; S-YN Art.21, Art.12(一)); the entry must be lifted first",
                a.developer
            ),
        ));
    }
    Ok(())
}

/// §2.7, S-YN Art.13(一): every material the profile requires is attached.
pub fn require_materials(a: &DeveloperAdmission, rules: &AdmissionRules) -> Result<(), Error> {
    let missing: Vec<String> = rules
        .materials
        .iter()
        .filter(|k| {
            !a.materials
                .iter()
                .any(|m| m.kind == **k as i32 && m.document.is_some())
        })
        .map(|k| {
            k.as_str_name()
                .trim_start_matches("ADMISSION_MATERIAL_KIND_")
                .to_owned()
        })
        .collect();
    if !missing.is_empty() {
        return Err(Error::refused(
            ErrorReason::MaterialsMissing,
            format!(
                "{} cannot be submitted without the materials profile {} requires: {} ({})",
                a.name,
                rules.profile_id,
                missing.join(", "),
                rules.materials_source
            ),
        ));
    }
    Ok(())
}

/// §2.7: one open admission per developer and operator.
pub fn only_open(a: &DeveloperAdmission, open: Option<String>) -> Result<(), Error> {
    match open {
        Some(other) => Err(Error::refused(
            ErrorReason::AdmissionOpen,
            format!(
                "{other} of {} to {} is still open; withdraw it or wait for its decision",
                a.developer, a.operator
            ),
        )),
        None => Ok(()),
    }
}
