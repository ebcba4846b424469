use super::*;

/// Returns every set review setting. The sections are destructured whole, so a new key does not
/// compile until it is listed here and thus checked by the source tests.
fn review_settings(review: &ReviewRules) -> Vec<Entry<'_>> {
    let ReviewRules {
        scenario_flow,
        scenario:
            ScenarioReviewRules {
                panel: scenario_panel,
                criteria: scenario_criteria,
            },
        data_use:
            DataUseReviewRules {
                panel: data_use_panel,
                criteria: data_use_criteria,
                co_applicant,
                social_import_approver,
            },
        data_check: DataCheckRules {
            requesters,
            responder,
        },
        product:
            ProductReviewRules {
                panel: product_panel,
                redeveloped_panel,
                checklist,
                requires_approved_scenario,
                third_party_allowed,
            },
        admission:
            AdmissionRules {
                panel: admission_panel,
                materials,
                criteria: admission_criteria,
            },
        appeals: AppealRules { subjects, appellants },
    } = review;
    [
        entry("scenario_flow", scenario_flow),
        entry("scenario.panel", scenario_panel),
        entry("scenario.criteria", scenario_criteria),
        entry("data_use.panel", data_use_panel),
        entry("data_use.criteria", data_use_criteria),
        entry("data_use.co_applicant", co_applicant),
        entry("data_use.social_import_approver", social_import_approver),
        entry("data_check.requesters", requesters),
        entry("data_check.responder", responder),
        entry("product.panel", product_panel),
        entry("product.redeveloped_panel", redeveloped_panel),
        entry("product.checklist", checklist),
        entry("product.requires_approved_scenario", requires_approved_scenario),
        entry("product.third_party_allowed", third_party_allowed),
        entry("admission.panel", admission_panel),
        entry("admission.materials", materials),
        entry("admission.criteria", admission_criteria),
        entry("appeals.subjects", subjects),
        entry("appeals.appellants", appellants),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn henan_products_mandatory_is_the_national_rule_marked_inferred() {
    // REVIEW-EVALUATION §2.13: DOMAIN §2.3 lists only Hubei and Yunnan as mandatory.
    for (id, mandatory, inferred) in [
        ("national", false, false),
        ("henan", false, true),
        ("hubei", true, false),
        ("yunnan", true, false),
        ("laiyuan", false, false),
        ("zhengzhou", false, false),
    ] {
        let setting = builtin(id)
            .registration
            .products_mandatory
            .expect("set everywhere");
        assert_eq!(
            (setting.value, setting.is_inferred()),
            (mandatory, inferred),
            "{id}"
        );
    }
}

#[test]
fn inferred_review_settings_quote_a_seed_or_name_domain() {
    // REVIEW-EVALUATION §0 "Inferred values in profiles".
    for profile in Profiles::builtin().iter() {
        assert_inferred_sources_quote(&profile.id, &review_settings(&profile.review));
    }
}

#[test]
fn inferred_review_settings_are_those_the_tables_mark() {
    // REVIEW-EVALUATION §2.13: "(inferred)" cells, plus national values the child inherits.
    let national = [
        "scenario_flow",
        "scenario.panel",
        "data_use.panel",
        "data_use.social_import_approver",
        "data_check.requesters",
        "data_check.responder",
        "product.panel",
        "product.checklist",
        "product.requires_approved_scenario",
        "product.third_party_allowed",
        "admission.panel",
    ];
    let cases: [(&str, &[&str]); 6] = [
        ("national", &national),
        (
            "henan",
            &[
                "data_use.panel",
                "data_use.social_import_approver",
                "product.third_party_allowed",
            ],
        ),
        (
            "hubei",
            &[
                "data_use.social_import_approver",
                "product.requires_approved_scenario",
            ],
        ),
        (
            "yunnan",
            &[
                "data_use.social_import_approver",
                "product.panel",
                "product.requires_approved_scenario",
                "product.third_party_allowed",
            ],
        ),
        (
            "laiyuan",
            &[
                "data_check.requesters",
                "data_check.responder",
                "product.third_party_allowed",
            ],
        ),
        (
            "zhengzhou",
            &[
                "data_use.panel",
                "product.panel",
                "product.requires_approved_scenario",
                "product.third_party_allowed",
            ],
        ),
    ];
    for (id, expected) in cases {
        let profile = builtin(id);
        let inferred: Vec<_> = review_settings(&profile.review)
            .into_iter()
            .filter(|(_, _, inferred)| *inferred)
            .map(|(key, _, _)| key)
            .collect();
        assert_eq!(inferred, expected, "{id}");
    }
}
