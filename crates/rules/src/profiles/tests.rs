// The `[evaluation]` and `[reports]` sections (REVIEW-EVALUATION §3.12).
mod evaluation;
// The `[review]` section (REVIEW-EVALUATION §2.13): its values, and the sources they cite.
mod review;
mod review_sources;

use std::collections::BTreeSet;

use super::*;
use crate::Period;

const SEEDS: [&str; 5] = ["S-HN", "S-HB", "S-YN", "S-LY", "S-ZZ"];

/// A set setting as (key, source, inferred).
type Entry<'a> = (&'static str, &'a str, bool);

fn entry<'a, T>(key: &'static str, setting: &'a Option<Sourced<T>>) -> Option<Entry<'a>> {
    setting
        .as_ref()
        .map(|setting| (key, setting.source.as_str(), setting.is_inferred()))
}

/// REVIEW-EVALUATION §0 "Inferred values in profiles": an inferred setting quotes a seed or names DOMAIN.
fn assert_inferred_sources_quote(profile: &str, entries: &[Entry<'_>]) {
    for (key, source, inferred) in entries {
        if !inferred {
            continue;
        }
        let rest = source.trim_start_matches("inferred —").trim();
        let quotes_seed =
            SEEDS.iter().any(|seed| rest.contains(seed)) && (rest.contains('(') || rest.contains('"'));
        assert!(
            quotes_seed || rest.contains("DOMAIN"),
            "{profile} {key}: {source}"
        );
    }
}

fn builtin(id: &str) -> Profile {
    Profiles::builtin()
        .get(id)
        .cloned()
        .unwrap_or_else(|| panic!("no builtin profile {id}"))
}

fn sourced<T>(value: T, source: &str) -> Option<Sourced<T>> {
    Some(Sourced {
        value,
        source: source.to_owned(),
    })
}

fn ids(items: &Option<Sourced<Vec<ListItem>>>) -> Vec<&str> {
    items
        .iter()
        .flat_map(|items| items.value.iter().map(|item| item.id.as_str()))
        .collect()
}

const NATIONAL: &str = r#"
id = "national"
name = "国家"
documents = ["N2"]
draft = false

[agreement]
term_max = { value = "5Y", source = "N2 Art.14" }
"#;

#[test]
fn builtin_profiles_load() {
    let profiles = Profiles::builtin();
    assert_eq!(
        profiles.ids().collect::<Vec<_>>(),
        ["henan", "hubei", "laiyuan", "national", "yunnan", "zhengzhou"]
    );
    for profile in profiles.iter() {
        let expected_parent = (profile.id != "national").then(|| "national".to_owned());
        assert_eq!(profile.extends, expected_parent, "{}", profile.id);
    }
}

#[test]
fn agreement_term_caps_follow_the_matrix() {
    // DOMAIN §5 D12/D12' and §6: 3 years in Henan and Laiyuan, 5 elsewhere, none in Zhengzhou.
    let cases = [
        ("national", Some(("5Y", "N2 Art.14 (原则上最长不超过5年)"))),
        ("henan", Some(("3Y", "S-HN Art.14 (原则上最长不超过 3 年)"))),
        (
            "hubei",
            Some(("5Y", "S-HB §三(四) (授权运营期限原则上不超过5年)")),
        ),
        ("yunnan", Some(("5Y", "S-YN Art.11 (原则上最长不超过5年)"))),
        ("laiyuan", Some(("3Y", "S-LY §二(二) (授权运营期限不超过3年)"))),
        ("zhengzhou", None),
    ];
    for (id, expected) in cases {
        let expected = expected.and_then(|(period, source)| sourced(period.parse::<Period>().ok()?, source));
        assert_eq!(builtin(id).agreement.term_max, expected, "{id}");
    }
}

#[test]
fn deadlines_and_periods_follow_the_register() {
    let henan = builtin("henan");
    let hubei = builtin("hubei");
    let yunnan = builtin("yunnan");
    let laiyuan = builtin("laiyuan");
    let national = builtin("national");
    let get = |setting: &Option<Sourced<Period>>| setting.as_ref().map(|setting| setting.value.to_string());
    let cases = [
        // D13, D15: plan filing.
        (get(&national.implementation_plan.filing_deadline), None),
        (get(&henan.implementation_plan.filing_deadline), None),
        (get(&yunnan.implementation_plan.filing_deadline), Some("20WD")),
        (get(&hubei.implementation_plan.filing_deadline), Some("1M")),
        // D14, D15, D16: agreement filing.
        (get(&yunnan.agreement.filing_deadline), Some("20WD")),
        (get(&laiyuan.agreement.filing_deadline), Some("10WD")),
        (get(&hubei.agreement.filing_deadline), Some("1M")),
        // D17, D18: Laiyuan termination filing and renewal application window.
        (get(&laiyuan.agreement.termination_filing_deadline), Some("10WD")),
        (get(&laiyuan.agreement.renewal_application_window), Some("3M")),
        // D19, D19', D20: data checks and data-use review.
        (get(&henan.data.check_response), Some("7WD")),
        (get(&yunnan.data.check_response), Some("10WD")),
        (get(&hubei.data.check_response), None),
        (get(&hubei.data.use_review), Some("5WD")),
        // D21, D22, D23: Yunnan developers and rectification.
        (get(&yunnan.developer.public_notice_min), Some("5WD")),
        (get(&yunnan.developer.agreement_term_max), Some("3Y")),
        (get(&yunnan.evaluation.rectification_period), Some("30CD")),
        // D26, D26', D27: retention.
        (get(&yunnan.retention.processing_logs), Some("5Y")),
        (get(&laiyuan.retention.audit_logs), Some("5Y")),
        (get(&laiyuan.retention.destruction_records), Some("6M")),
        (get(&national.retention.processing_logs), None),
    ];
    for (index, (actual, expected)) in cases.into_iter().enumerate() {
        assert_eq!(actual.as_deref(), expected, "case {index}");
    }
}

#[test]
fn children_inherit_national_registration_rules() {
    let hubei = builtin("hubei");
    // N3 Art.10 (D3): hubei.toml does not mention acceptance.
    assert_eq!(
        hubei.registration.acceptance,
        sourced(Period::WorkingDays(3), "N3 Art.10")
    );
    assert_eq!(
        hubei.registration.renewal_window.map(|setting| setting.value),
        Some(Period::CalendarDays(60))
    );
    // Overridden in the child, with the child's citation.
    assert_eq!(
        hubei.registration.products_mandatory.map(|setting| setting.value),
        Some(true)
    );
    assert_eq!(
        builtin("national")
            .registration
            .products_mandatory
            .map(|setting| setting.value),
        Some(false)
    );
    let henan = builtin("henan");
    assert_eq!(
        henan.registration.preconditions.map(|setting| setting.value),
        Some(vec![
            RegistrationPrecondition::CatalogueCompiled,
            RegistrationPrecondition::StateAssetRules
        ])
    );
    assert_eq!(
        henan
            .registration
            .legacy_registration_from
            .map(|setting| setting.value.to_string())
            .as_deref(),
        Some("2025-03-01")
    );
}

#[test]
fn content_lists_have_the_documented_lengths_and_unique_ids() {
    let cases = [
        ("national", 12, 13),
        ("henan", 11, 13),
        ("yunnan", 12, 14),
        ("laiyuan", 12, 13),
        ("zhengzhou", 12, 8),
    ];
    for (id, plan_items, agreement_items) in cases {
        let profile = builtin(id);
        let plan = ids(&profile.implementation_plan.required_contents);
        let agreement = ids(&profile.agreement.required_contents);
        assert_eq!(plan.len(), plan_items, "{id} plan");
        assert_eq!(agreement.len(), agreement_items, "{id} agreement");
        for list in [plan, agreement, ids(&profile.agreement.termination_grounds)] {
            assert_eq!(
                list.iter().collect::<BTreeSet<_>>().len(),
                list.len(),
                "{id}: {list:?}"
            );
        }
    }
    assert!(
        !ids(&builtin("henan").implementation_plan.required_contents)
            .contains(&"operator_selection_conditions")
    );
    assert!(ids(&builtin("yunnan").agreement.required_contents).contains(&"confidentiality"));
    assert_eq!(ids(&builtin("laiyuan").agreement.termination_grounds).len(), 5);
    assert_eq!(ids(&builtin("hubei").agreement.termination_grounds).len(), 4);
    assert!(builtin("national").agreement.termination_grounds.is_none());
}

#[test]
fn pricing_evaluation_and_reporting_values_are_typed() {
    let national = builtin("national");
    let markup = national.pricing.markup_max.expect("markup");
    assert_eq!(
        (markup.value.as_str(), markup.source.as_str()),
        ("0.06", "N1 §三(一)")
    );
    assert_eq!(
        national
            .pricing
            .deviation_threshold
            .map(|setting| setting.value.to_string())
            .as_deref(),
        Some("0.10")
    );
    assert_eq!(
        national.pricing.evaluation_cycle_max.map(|setting| setting.value),
        Some(Period::Years(3))
    );
    let due = national.disclosure.due.expect("disclosure due").value;
    assert_eq!(
        due.in_year(2026).map(|date| date.to_string()).as_deref(),
        Some("2026-03-31")
    );
    assert_eq!(
        national.disclosure.cadence.map(|setting| setting.value),
        Some(Cadence::Annual)
    );

    let yunnan = builtin("yunnan");
    let grades = yunnan.evaluation.grades.expect("grades").value;
    assert_eq!(
        grades,
        [
            EvaluationGrade::Pass,
            EvaluationGrade::Fail,
            EvaluationGrade::Rectify
        ]
    );
    let labels: Vec<_> = grades.iter().map(|grade| grade.label_zh()).collect();
    assert_eq!(labels, ["通过", "未通过", "限期整改"]);
    assert_eq!(
        yunnan.data.negative_list_review.map(|setting| setting.value),
        Some(Cadence::Annual)
    );
    for id in ["henan", "hubei"] {
        assert_eq!(
            builtin(id).evaluation.frequency.map(|setting| setting.value),
            Some(Cadence::Annual),
            "{id}"
        );
    }
    let henan = builtin("henan");
    assert_eq!(
        henan.reports.operator_cadence.map(|setting| setting.value),
        Some(vec![Cadence::Quarterly, Cadence::Annual])
    );
    assert!(builtin("yunnan").draft && builtin("laiyuan").draft && !henan.draft);
}

#[test]
fn every_setting_cites_a_source() {
    for profile in Profiles::builtin().iter() {
        let debug = format!("{profile:?}");
        assert!(!debug.contains("source: \"\""), "{}", profile.id);
    }
    let empty = Profiles::from_files([(
        "national.toml",
        "id = \"national\"\nname = \"n\"\ndocuments = []\ndraft = false\n[agreement]\nterm_max = { value = \"5Y\", source = \" \" }\n",
    )])
    .expect_err("blank source");
    assert!(empty.to_string().contains("`source` must cite"), "{empty}");
}

#[test]
fn unknown_key_is_an_error_naming_key_and_file() {
    let broken = "id = \"broken\"\nname = \"x\"\ndocuments = []\ndraft = false\nextends = \"national\"\n\n[agreement]\nterm_maximum = { value = \"3Y\", source = \"x\" }\n";
    let error = Profiles::from_files([("national.toml", NATIONAL), ("broken.toml", broken)])
        .expect_err("unknown key");
    let message = error.to_string();
    assert!(message.contains("broken.toml"), "{message}");
    assert!(message.contains("term_maximum"), "{message}");

    let unknown_in_setting = NATIONAL.replace("source = \"N2 Art.14\"", "source = \"N2\", note = \"x\"");
    let message = Profiles::from_files([("national.toml", unknown_in_setting.as_str())])
        .expect_err("unknown key in setting")
        .to_string();
    assert!(
        message.contains("national.toml") && message.contains("note"),
        "{message}"
    );
}

#[test]
fn bad_values_and_structure_are_errors() {
    let cases = [
        (
            NATIONAL.replace("\"5Y\"", "\"5 years\""),
            "invalid period \"5 years\"",
        ),
        (
            NATIONAL.replace("id = \"national\"", "id = \"nation\""),
            "id \"nation\" does not match",
        ),
        (NATIONAL.replace("draft = false\n", ""), "missing field `draft`"),
        (
            NATIONAL.replace("draft = false", "draft = false\nextends = \"elsewhere\""),
            "extends unknown profile \"elsewhere\"",
        ),
        (
            NATIONAL.replace("draft = false", "draft = false\nextends = \"national\""),
            "cycle: national -> national",
        ),
    ];
    for (text, expected) in cases {
        let message = Profiles::from_files([("national.toml", text.as_str())])
            .expect_err(expected)
            .to_string();
        assert!(message.contains(expected), "want {expected:?} in {message}");
    }
}

#[test]
fn a_child_can_clear_an_inherited_setting_with_a_citation() {
    let child = "id = \"city\"\nname = \"c\"\ndocuments = []\ndraft = true\nextends = \"national\"\n[agreement]\nterm_max = { source = \"city Art.9: no cap\" }\n";
    let profiles = Profiles::from_files([("national.toml", NATIONAL), ("city.toml", child)]).expect("valid");
    assert_eq!(
        profiles
            .get("city")
            .map(|profile| profile.agreement.term_max.clone()),
        Some(None)
    );
    assert!(
        profiles
            .get("national")
            .is_some_and(|profile| profile.agreement.term_max.is_some())
    );
}

#[test]
fn load_dir_reads_toml_files_and_names_bad_ones() {
    let dir = std::env::temp_dir().join(format!("pdop-rules-profiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    for (file, text) in BUILTIN_PROFILES {
        std::fs::write(dir.join(file), text).expect("write profile");
    }
    std::fs::write(dir.join("README.md"), "not a profile").expect("write readme");
    let loaded = Profiles::load_dir(&dir).expect("valid directory");
    assert_eq!(loaded, Profiles::builtin());

    std::fs::write(dir.join("henan.toml"), "id = \"henan\"\nname = 1\n").expect("write profile");
    let message = Profiles::load_dir(&dir).expect_err("bad file").to_string();
    assert!(
        message.contains("henan.toml") && message.contains("name"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).expect("remove temp dir");

    let empty = std::env::temp_dir().join(format!("pdop-rules-profiles-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("create temp dir");
    let error = Profiles::load_dir(&empty).expect_err("no profiles");
    assert!(matches!(error, ProfileError::NoProfiles { .. }), "{error}");
    std::fs::remove_dir_all(&empty).expect("remove temp dir");
}
