use pdop_proto::{common, review as pb};

use super::*;

fn value<T: Clone>(setting: &Option<Sourced<T>>) -> Option<T> {
    setting.as_ref().map(|setting| setting.value.clone())
}

fn seat(org: OrgRole, seat: ReviewerRole, from: SeatSource) -> PanelSeat {
    PanelSeat {
        org,
        seat,
        binding: true,
        from,
    }
}

#[test]
fn combined_and_two_step_profiles_seat_exactly_one_scenario_lead() {
    // REVIEW-EVALUATION §2.2, R-RV-03: only the lead decides, so a scenario review needs one.
    for profile in Profiles::builtin().iter() {
        let flow = value(&profile.review.scenario_flow).expect("every profile has a flow");
        let panel = value(&profile.review.scenario.panel);
        match flow {
            ScenarioFlow::TwoStep | ScenarioFlow::Combined => {
                let panel = panel.unwrap_or_else(|| panic!("{}: no scenario panel", profile.id));
                let leads = panel.iter().filter(|seat| seat.is_lead()).count();
                assert_eq!(leads, 1, "{}: {panel:?}", profile.id);
            }
            // S-YN Art.19, 20: no scenario review at all.
            ScenarioFlow::DataUseOnly => assert_eq!(panel, None, "{}", profile.id),
        }
    }
}

#[test]
fn hubei_data_use_panel_is_the_providers_without_a_lead() {
    // S-HB §四(三): the data providers review within 5 WD; the last confirmation decides.
    let panel = value(&builtin("hubei").review.data_use.panel).expect("hubei data-use panel");
    assert_eq!(
        panel,
        [seat(
            OrgRole::DataProvider,
            ReviewerRole::DataProvider,
            SeatSource::Resources
        )]
    );
    assert!(!panel.iter().any(PanelSeat::is_lead));
}

#[test]
fn laiyuan_panels_are_the_joint_reviews_of_the_seed() {
    use OrgRole as Org;
    use ReviewerRole as Role;
    use SeatSource as From;
    let laiyuan = builtin("laiyuan").review;
    // S-LY §四: 实施机构, 县数据管理部门 and 数源单位 review data needs.
    assert_eq!(
        value(&laiyuan.data_use.panel),
        Some(vec![
            seat(Org::ImplementingAgency, Role::Lead, From::Agreement),
            seat(Org::DataAuthority, Role::Joint, From::Jurisdiction),
            seat(Org::DataProvider, Role::DataProvider, From::Resources),
        ])
    );
    // S-LY §三(三)2: 实施机构, 行业主管部门, 运营机构 and 数源单位 admit developers jointly.
    assert_eq!(
        value(&laiyuan.admission.panel),
        Some(vec![
            seat(Org::ImplementingAgency, Role::Lead, From::Agreement),
            seat(Org::IndustryRegulator, Role::IndustryRegulator, From::Assigned),
            seat(Org::Operator, Role::Joint, From::Agreement),
            seat(Org::DataProvider, Role::DataProvider, From::Resources),
        ])
    );
    // S-LY §六(三)2: the regulator's written opinion on scenarios.
    assert_eq!(
        value(&laiyuan.scenario.panel),
        Some(vec![
            seat(Org::DataAuthority, Role::Lead, From::Jurisdiction),
            seat(Org::IndustryRegulator, Role::IndustryRegulator, From::Assigned),
        ])
    );
    assert_eq!(
        value(&laiyuan.data_use.co_applicant),
        Some(Org::IndustryRegulator)
    );
}

#[test]
fn review_settings_follow_the_profile_tables() {
    // REVIEW-EVALUATION §2.13; one row per profile:
    // (id, flow, checklist length, requires approved scenario, third party allowed, data-check
    //  responder, social-import approver, admission lead, appeals).
    use OrgRole as Org;
    use ScenarioFlow as Flow;
    // One line per profile keeps the table readable as the spec's table.
    #[rustfmt::skip]
    let rows = [
        ("national", Flow::TwoStep, 3, false, false, Org::DataProvider, Org::DataAuthority, Some(Org::Operator), false),
        ("henan", Flow::Combined, 5, true, false, Org::ImplementingAgency, Org::DataAuthority, Some(Org::Operator), false),
        ("hubei", Flow::TwoStep, 3, false, true, Org::DataProvider, Org::DataAuthority, Some(Org::Operator), false),
        ("yunnan", Flow::DataUseOnly, 6, false, false, Org::DataProvider, Org::DataAuthority, Some(Org::Operator), false),
        ("laiyuan", Flow::TwoStep, 3, true, false, Org::DataProvider, Org::ImplementingAgency, Some(Org::ImplementingAgency), true),
        // S-ZZ Art.18, 22: no admission procedure.
        ("zhengzhou", Flow::Combined, 2, false, false, Org::DataAuthority, Org::DataAuthority, None, false),
    ];
    for (id, flow, checklist, scenario_needed, third_party, responder, importer, admission_lead, appeals) in
        rows
    {
        let review = builtin(id).review;
        let lead = |panel: &Option<Sourced<Vec<PanelSeat>>>| {
            value(panel).and_then(|seats| seats.iter().find(|seat| seat.is_lead()).map(|seat| seat.org))
        };
        assert_eq!(value(&review.scenario_flow), Some(flow), "{id} flow");
        assert_eq!(
            value(&review.product.checklist).map(|items| items.len()),
            Some(checklist),
            "{id} checklist"
        );
        assert_eq!(
            value(&review.product.requires_approved_scenario),
            Some(scenario_needed),
            "{id} requires_approved_scenario"
        );
        assert_eq!(
            value(&review.product.third_party_allowed),
            Some(third_party),
            "{id} third_party_allowed"
        );
        assert_eq!(
            value(&review.data_check.responder),
            Some(responder),
            "{id} responder"
        );
        assert_eq!(
            value(&review.data_use.social_import_approver),
            Some(importer),
            "{id} social_import_approver"
        );
        assert_eq!(
            lead(&review.admission.panel),
            admission_lead,
            "{id} admission lead"
        );
        assert_eq!(review.appeals.subjects.is_some(), appeals, "{id} appeals");
        assert_eq!(review.appeals.appellants.is_some(), appeals, "{id} appellants");
        // Only Laiyuan lets the regulator co-apply (S-LY §四).
        assert_eq!(
            review.data_use.co_applicant.is_some(),
            id == "laiyuan",
            "{id} co_applicant"
        );
        // Only Yunnan has developers file release applications (S-YN Art.22).
        assert_eq!(
            lead(&review.product.redeveloped_panel),
            (id == "yunnan").then_some(Org::Operator),
            "{id} redeveloped_panel"
        );
    }

    let requesters = |id| value(&builtin(id).review.data_check.requesters);
    // S-HB §四(七)1: developers (产品开发商) may raise checks too.
    assert_eq!(
        requesters("hubei"),
        Some(vec![CallerRole::Operator, CallerRole::Developer])
    );
    assert_eq!(requesters("laiyuan"), Some(vec![CallerRole::Operator]));
    assert_eq!(
        value(&builtin("laiyuan").review.appeals.subjects),
        Some(vec![
            AppealSubjectKind::DeveloperAdmission,
            AppealSubjectKind::DataUseApplication,
            AppealSubjectKind::ProductReview,
        ])
    );
    assert_eq!(
        value(&builtin("yunnan").review.data_use.criteria),
        Some(vec![ReviewCriterion::MinimumNecessary])
    );
    assert_eq!(
        value(&builtin("yunnan").review.admission.criteria).map(|criteria| criteria.len()),
        Some(8)
    );
    assert_eq!(
        value(&builtin("henan").review.product.checklist),
        Some(vec![
            ComplianceCheckKind::DataSourceLawful,
            ComplianceCheckKind::SensitiveDataMasked,
            ComplianceCheckKind::RawDataStaysInDomain,
            ComplianceCheckKind::AccessControl,
            ComplianceCheckKind::RelatedPartyAuthorization,
        ])
    );
    // Zhengzhou and Yunnan clear these panels in their own files; the parent keeps them.
    assert!(builtin("national").review.admission.panel.is_some());
    assert!(builtin("national").review.scenario.panel.is_some());
}

#[test]
fn review_ids_name_values_of_the_review_contract() {
    // REVIEW-EVALUATION §2.13 model tests: every id maps 1:1 to a proto enum value.
    fn check<T: Copy + std::fmt::Debug>(ids: &[T], name: impl Fn(T) -> String, known: impl Fn(&str) -> bool) {
        let names: BTreeSet<_> = ids.iter().map(|id| name(*id)).collect();
        assert_eq!(names.len(), ids.len(), "{ids:?}");
        for proto_name in &names {
            assert!(known(proto_name), "{proto_name} is not a value of the contract");
        }
    }
    check(
        ComplianceCheckKind::ALL,
        ComplianceCheckKind::proto_name,
        |name| pb::v1::ComplianceCheckKind::from_str_name(name).is_some(),
    );
    check(ReviewCriterion::ALL, ReviewCriterion::proto_name, |name| {
        pb::v1::ReviewCriterion::from_str_name(name).is_some()
    });
    check(
        AdmissionMaterialKind::ALL,
        AdmissionMaterialKind::proto_name,
        |name| pb::v1::AdmissionMaterialKind::from_str_name(name).is_some(),
    );
    check(AppealSubjectKind::ALL, AppealSubjectKind::proto_name, |name| {
        pb::v1::AppealSubjectKind::from_str_name(name).is_some()
    });
    check(ReviewerRole::ALL, ReviewerRole::proto_name, |name| {
        pb::v1::ReviewerRole::from_str_name(name).is_some()
    });
    check(OrgRole::ALL, OrgRole::proto_name, |name| {
        common::OrganizationRole::from_str_name(name).is_some()
    });
    check(CallerRole::ALL, CallerRole::proto_name, |name| {
        common::Role::from_str_name(name).is_some()
    });
    assert_eq!(
        ComplianceCheckKind::DataSourceLawful.proto_name(),
        "COMPLIANCE_CHECK_KIND_DATA_SOURCE_LAWFUL"
    );
    assert_eq!(
        ReviewCriterion::ScenarioFeasibility.to_string(),
        "scenario_feasibility"
    );
}

#[test]
fn unknown_review_ids_and_seat_fields_are_errors_naming_them() {
    let with_review = |review: &str| format!("{NATIONAL}\n{review}");
    let cases = [
        (
            "[review.product]\nchecklist = { value = [\"data_source_ok\"], source = \"x\" }\n",
            "data_source_ok",
        ),
        (
            "[review]\nscenario_flow = { value = \"three_step\", source = \"x\" }\n",
            "three_step",
        ),
        (
            "[review.scenario.panel]\nsource = \"x\"\nvalue = [{ org = \"data_authority\", seat = \"lead\", binding = true }]\n",
            "missing field `from`",
        ),
        (
            "[review.scenario.panel]\nsource = \"x\"\nvalue = [{ org = \"data_authority\", seat = \"expert\", binding = true, from = \"assigned\" }]\n",
            "expert",
        ),
        (
            "[review.appeal]\nsubjects = { source = \"x\" }\n",
            "unknown field `appeal`",
        ),
    ];
    for (review, expected) in cases {
        let text = with_review(review);
        let message = Profiles::from_files([("national.toml", text.as_str())])
            .expect_err(expected)
            .to_string();
        assert!(message.contains(expected), "want {expected:?} in {message}");
    }
}
