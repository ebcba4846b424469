//! Required-content checklists and termination grounds: the rule profiles name items by stable ids,
//! the contracts by enums. This is the one place the two meet.

use pdop_kit::Violations;
use pdop_proto::registry::v1::{
    AgreementContentItem, AgreementContentKind, PlanContentItem, PlanContentKind, TerminationGround,
};
use pdop_rules::profiles::ListItem;

/// A checklist entry of a plan or an agreement: which item, and what the document says of it.
pub trait Entry: Clone {
    fn kind(&self) -> i32;
    fn blank(kind: i32) -> Self;
    /// The item's enum name, for messages.
    fn kind_name(&self) -> String;
}

impl Entry for PlanContentItem {
    fn kind(&self) -> i32 {
        self.kind
    }
    fn kind_name(&self) -> String {
        format!("{:?}", PlanContentKind::try_from(self.kind).unwrap_or_default())
    }
    fn blank(kind: i32) -> Self {
        Self {
            kind,
            ..Default::default()
        }
    }
}

impl Entry for AgreementContentItem {
    fn kind(&self) -> i32 {
        self.kind
    }
    fn kind_name(&self) -> String {
        format!(
            "{:?}",
            AgreementContentKind::try_from(self.kind).unwrap_or_default()
        )
    }
    fn blank(kind: i32) -> Self {
        Self {
            kind,
            ..Default::default()
        }
    }
}

/// The profile's checklist `required` (as enum codes, in the source's order) with what `given` says of
/// each item; a given item the profile does not have is a violation on `field[i].kind`.
pub fn merge<E: Entry>(
    profile_id: &str,
    required: &[i32],
    given: &[E],
    field: &str,
    v: &mut Violations,
) -> Vec<E> {
    for (i, item) in given.iter().enumerate() {
        if !required.contains(&item.kind()) {
            v.add(
                format!("{field}[{i}].kind"),
                format!(
                    "{} is not an item of the {profile_id} checklist",
                    item.kind_name()
                ),
            );
        }
    }
    required
        .iter()
        .map(|kind| {
            given
                .iter()
                .find(|item| item.kind() == *kind)
                .cloned()
                .unwrap_or_else(|| E::blank(*kind))
        })
        .collect()
}

/// The plan content kind a profile item id stands for (N2 Art.9; Henan S-HN Art.9).
pub fn plan_kind(id: &str) -> Option<PlanContentKind> {
    use PlanContentKind::*;
    Some(match id {
        "name" => Name,
        "necessity_feasibility" => NecessityFeasibility,
        "operator_selection_conditions" => OperatorSelection,
        "authorization_model" => AuthorizationModel,
        "data_scope" => DataScope,
        "term_and_delivery" => TermAndConstruction,
        "product_list" => ProductList,
        "accounting_and_revenue_sharing" => AccountingRevenueSharing,
        "security_measures" => Security,
        "rights_and_duties" => RightsAndDuties,
        "supervision_and_evaluation" => SupervisionEvaluation,
        "other" => Other,
        _ => return None,
    })
}

/// The agreement content kind a profile item id stands for (N2 Art.14 and the local variants).
pub fn agreement_kind(id: &str) -> Option<AgreementContentKind> {
    use AgreementContentKind::*;
    Some(match id {
        "data_scope" | "authorized_content" => DataScope,
        "term" => Term,
        "product_list" => ProductList,
        "technical_platform" => TechnicalPlatform,
        "asset_ownership" => AssetOwnership,
        // Henan and Laiyuan keep disclosure but drop the no-re-development clause; one kind covers both.
        "disclosure_and_no_redevelopment" | "disclosure" => DisclosureNoRedevelopment,
        "accounting_and_revenue_sharing" => AccountingRevenueSharing,
        "security" => Security,
        "evaluation_renewal_exit" => EvaluationRenewalExit,
        "breach_liability" => BreachLiability,
        "dispute_resolution" => DisputeResolution,
        "amendment_and_termination" | "termination_and_revocation" => AmendmentTermination,
        "other" => Other,
        "confidentiality" => Confidentiality,
        "grantor_and_grantee" => Parties,
        "responsibility" => Responsibility,
        _ => return None,
    })
}

/// The termination ground a profile item id stands for (Laiyuan S-LY §三(三)4, Hubei S-HB §三(六), Zhengzhou).
pub fn ground_kind(id: &str) -> Option<TerminationGround> {
    use TerminationGround::*;
    Some(match id {
        "policy_change" => PolicyOrLawChange,
        "not_operating_as_agreed" => NotOperatingAsAgreed,
        "security_incident" => SecurityIncident,
        "unrectified_findings" | "breach_not_rectified" => RectificationFailed,
        "other_violation" => OtherViolation,
        "expired_or_ended_early" => EarlyEndByAgreement,
        "restricted_or_penalized" => RestrictedOrPenalized,
        "other_unsuitable" => OtherUnsuitable,
        _ => return None,
    })
}

/// The profile's items mapped to kinds, in the source's order (unknown ids are skipped; a test
/// guarantees the built-in profiles have none).
pub fn kinds<K>(items: &[ListItem], map: impl Fn(&str) -> Option<K>) -> Vec<(K, &ListItem)> {
    items
        .iter()
        .filter_map(|item| map(&item.id).map(|k| (k, item)))
        .collect()
}

/// Labels of the required items not marked present, each with its position in the source list.
pub fn missing<K: PartialEq + Copy>(required: &[(K, &ListItem)], present: impl Fn(K) -> bool) -> Vec<String> {
    required
        .iter()
        .enumerate()
        .filter(|(_, (kind, _))| !present(*kind))
        .map(|(i, (_, item))| format!("({}) {}", i + 1, item.label))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdop_rules::Profiles;

    #[test]
    fn every_builtin_checklist_item_and_ground_has_a_kind() {
        // A profile id without a contract kind would silently drop a required item.
        for profile in Profiles::builtin().iter() {
            let lists = [
                (&profile.implementation_plan.required_contents, "plan"),
                (&profile.agreement.required_contents, "agreement"),
                (&profile.agreement.termination_grounds, "ground"),
            ];
            for (list, what) in lists {
                for item in list.iter().flat_map(|s| s.value.iter()) {
                    let known = match what {
                        "plan" => plan_kind(&item.id).is_some(),
                        "agreement" => agreement_kind(&item.id).is_some(),
                        _ => ground_kind(&item.id).is_some(),
                    };
                    assert!(known, "{} {what} item {} has no kind", profile.id, item.id);
                }
            }
        }
    }

    #[test]
    fn checklist_sizes_follow_the_profiles() {
        // N2 Art.9: 12 plan items; S-HN Art.9: 11 (no operator selection). N2 Art.14: 13 agreement
        // items; S-YN Art.11: 14 (adds confidentiality).
        let profiles = Profiles::builtin();
        let count = |id: &str, plan: bool| {
            let p = profiles.get(id).unwrap();
            let list = if plan {
                &p.implementation_plan.required_contents
            } else {
                &p.agreement.required_contents
            };
            list.as_ref().map_or(0, |s| s.value.len())
        };
        assert_eq!(count("national", true), 12);
        assert_eq!(count("yunnan", true), 12);
        assert_eq!(count("henan", true), 11);
        assert_eq!(count("national", false), 13);
        assert_eq!(count("yunnan", false), 14);
    }
}
