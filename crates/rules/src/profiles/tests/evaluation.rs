use super::*;

/// Every set evaluation and report setting. Destructured whole, so a new key does not compile until it is
/// listed here and checked by the source tests.
fn settings(profile: &Profile) -> Vec<Entry<'_>> {
    let EvaluationRules {
        frequency,
        grades,
        rectification_period,
        subjects,
        dimensions,
        suspension_on,
        breach_orders_suspend_access,
        unrectified_is_termination_ground,
        follow_up_period,
    } = &profile.evaluation;
    let ReportRules {
        operator_cadence,
        operator_annual_due,
        operator_quarterly_due,
        operator_annual_due_date,
        recipients,
        required_contents,
    } = &profile.reports;
    [
        entry("evaluation.frequency", frequency),
        entry("evaluation.grades", grades),
        entry("evaluation.rectification_period", rectification_period),
        entry("evaluation.subjects", subjects),
        entry("evaluation.dimensions", dimensions),
        entry("evaluation.suspension_on", suspension_on),
        entry(
            "evaluation.breach_orders_suspend_access",
            breach_orders_suspend_access,
        ),
        entry(
            "evaluation.unrectified_is_termination_ground",
            unrectified_is_termination_ground,
        ),
        entry("evaluation.follow_up_period", follow_up_period),
        entry("reports.operator_cadence", operator_cadence),
        entry("reports.operator_annual_due", operator_annual_due),
        entry("reports.operator_quarterly_due", operator_quarterly_due),
        entry("reports.operator_annual_due_date", operator_annual_due_date),
        entry("reports.recipients", recipients),
        entry("reports.required_contents", required_contents),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn subjects(id: &str) -> Vec<(SubjectKind, OrgRole, Cadence)> {
    builtin(id)
        .evaluation
        .subjects
        .map(|s| s.value.iter().map(|r| (r.kind, r.evaluator, r.cadence)).collect())
        .unwrap_or_default()
}

#[test]
fn subjects_and_evaluators_follow_the_table_of_section_3_3() {
    use Cadence::*;
    use OrgRole as O;
    use SubjectKind as K;
    // N2 Art.9(11), Art.14(9): evaluation required, the evaluator inferred.
    assert_eq!(subjects("national"), [(K::Operator, O::DataAuthority, Annual)]);
    // S-HN Art.22: operators and implementing agencies, yearly, by the data authority.
    assert_eq!(
        subjects("henan"),
        [
            (K::Operator, O::DataAuthority, Annual),
            (K::ImplementingAgency, O::DataAuthority, Annual)
        ]
    );
    // S-HB §五(七) operators yearly; §四(七)2 providers (frequency inferred).
    assert_eq!(
        subjects("hubei"),
        [
            (K::Operator, O::DataAuthority, Annual),
            (K::DataProvider, O::DataAuthority, Periodic)
        ]
    );
    // S-YN Art.26: operators by the implementing agency, developers by the operator, supply by the authority.
    assert_eq!(
        subjects("yunnan"),
        [
            (K::Operator, O::ImplementingAgency, Periodic),
            (K::Developer, O::Operator, Periodic),
            (K::DataProvider, O::DataAuthority, Periodic)
        ]
    );
    // S-LY §七(二)3; S-ZZ Art.27.
    assert_eq!(
        subjects("laiyuan"),
        [(K::Operator, O::ImplementingAgency, Periodic)]
    );
    assert_eq!(subjects("zhengzhou"), [(K::Operator, O::DataAuthority, Periodic)]);
}

#[test]
fn grades_are_pass_fail_except_yunnan_which_adds_rectify() {
    // S-YN Art.26 (通过、未通过、限期整改); elsewhere inferred (DOMAIN §5).
    for id in ["national", "henan", "hubei", "laiyuan", "zhengzhou"] {
        let grades = builtin(id).evaluation.grades.expect("grades");
        assert_eq!(
            grades.value,
            [EvaluationGrade::Pass, EvaluationGrade::Fail],
            "{id}"
        );
        assert!(grades.is_inferred(), "{id}");
    }
    let yunnan = builtin("yunnan").evaluation.grades.expect("grades");
    assert!(!yunnan.is_inferred());
    assert_eq!(EvaluationGrade::Excellent.label_zh(), "优秀");
    assert_eq!(EvaluationGrade::Rectify.proto_name(), "EVALUATION_GRADE_RECTIFY");
}

#[test]
fn dimensions_named_by_seeds_are_required() {
    // S-HB §四(七)2: 数据质量, 审核时效, 应用情况 for data providers.
    let hubei = builtin("hubei").evaluation;
    let keys: Vec<_> = hubei
        .required_dimensions(SubjectKind::DataProvider)
        .iter()
        .map(|d| (d.key.as_str(), d.display_name.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("data_quality", "数据质量"),
            ("review_timeliness", "审核时效"),
            ("application", "应用情况")
        ]
    );
    assert!(hubei.required_dimensions(SubjectKind::Operator).is_empty());
    // S-ZZ Art.27: three dimensions for operators.
    let zhengzhou = builtin("zhengzhou").evaluation;
    let keys: Vec<_> = zhengzhou
        .required_dimensions(SubjectKind::Operator)
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["development_trading", "industry_driving", "security_compliance"]
    );
}

#[test]
fn registry_consequences_follow_section_3_8() {
    // S-HN Art.22: suspension on a veto, a final fail (inferred) and an overdue rectification.
    let henan = builtin("henan").evaluation;
    for ground in SuspensionGround::ALL {
        assert!(henan.suspends_on(*ground), "{ground}");
    }
    for id in ["national", "hubei", "yunnan", "laiyuan", "zhengzhou"] {
        assert!(
            !builtin(id).evaluation.suspends_on(SuspensionGround::Veto),
            "{id}"
        );
    }
    // S-ZZ Art.28: breach orders suspend data access.
    let value = |id: &str| {
        let e = builtin(id).evaluation;
        (
            e.breach_orders_suspend_access.map(|s| s.value),
            e.unrectified_is_termination_ground.map(|s| s.value),
        )
    };
    assert_eq!(value("zhengzhou"), (Some(true), Some(true)));
    // S-HB §三(六)2; S-LY §三(三)5(4).
    assert_eq!(value("hubei"), (None, Some(true)));
    assert_eq!(value("laiyuan"), (None, Some(true)));
    assert_eq!(value("henan"), (None, None));
    assert_eq!(value("yunnan"), (None, None));
    // Inferred: 20 WD everywhere.
    for profile in Profiles::builtin().iter() {
        let period = profile.evaluation.follow_up_period.as_ref().expect("follow-up");
        assert_eq!(period.value, Period::WorkingDays(20), "{}", profile.id);
    }
}

#[test]
fn report_due_dates_recipients_and_contents_follow_section_3_7() {
    let reports = |id: &str| builtin(id).reports;
    // S-HN Art.22: quarterly, 15 CD after the quarter (inferred).
    let henan = reports("henan");
    assert!(henan.files(Cadence::Quarterly) && henan.files(Cadence::Annual));
    let quarterly = henan.operator_quarterly_due.expect("quarterly due");
    assert_eq!(quarterly.value, Period::CalendarDays(15));
    assert!(quarterly.is_inferred());
    assert_eq!(
        henan.recipients.map(|r| r.value),
        Some(vec![OrgRole::ImplementingAgency, OrgRole::DataAuthority])
    );
    assert_eq!(
        henan.required_contents.map(|r| r.value),
        Some(vec![ReportContent::RedevelopmentByDevelopers])
    );
    // S-HB §五(六) 年初 → 01-31 and S-ZZ Art.26 → 03-31, both inferred.
    for (id, date) in [("hubei", "2026-01-31"), ("zhengzhou", "2026-03-31")] {
        let due = reports(id).operator_annual_due_date.expect("annual due date");
        assert!(due.is_inferred(), "{id}");
        assert_eq!(
            due.value.in_year(2026).map(|d| d.to_string()).as_deref(),
            Some(date)
        );
    }
    assert_eq!(
        reports("zhengzhou").required_contents.map(|r| r.value),
        Some(vec![
            ReportContent::DevelopmentAndUse,
            ReportContent::ProductSales,
            ReportContent::Revenue,
            ReportContent::SecurityCompliance
        ])
    );
    assert_eq!(
        reports("laiyuan").recipients.map(|r| r.value),
        Some(vec![OrgRole::ImplementingAgency])
    );
    // S-YN Art.26 sets no report.
    assert!(!reports("yunnan").files(Cadence::Annual) && !reports("yunnan").files(Cadence::Quarterly));
    assert_eq!(
        ReportContent::ProductSales.proto_name(),
        "REPORT_CONTENT_KIND_PRODUCT_SALES"
    );
}

#[test]
fn inferred_evaluation_settings_quote_a_seed_or_name_domain() {
    // REVIEW-EVALUATION §0 "Inferred values in profiles".
    for profile in Profiles::builtin().iter() {
        assert_inferred_sources_quote(&profile.id, &settings(profile));
    }
}

#[test]
fn inferred_evaluation_settings_are_those_the_tables_mark() {
    // REVIEW-EVALUATION §3.12: "(inferred)" cells, plus national values a child inherits.
    let inherited = ["evaluation.grades", "evaluation.follow_up_period"];
    let cases: [(&str, &[&str]); 6] = [
        (
            "national",
            &[
                "evaluation.grades",
                "evaluation.subjects",
                "evaluation.follow_up_period",
            ],
        ),
        ("henan", &["reports.operator_quarterly_due"]),
        (
            "hubei",
            &["reports.operator_annual_due_date", "reports.recipients"],
        ),
        ("yunnan", &[]),
        ("laiyuan", &[]),
        ("zhengzhou", &["reports.operator_annual_due_date"]),
    ];
    for (id, expected) in cases {
        let profile = builtin(id);
        let inferred: Vec<_> = settings(&profile)
            .into_iter()
            .filter(|(key, _, inferred)| *inferred && (id == "national" || !inherited.contains(key)))
            .map(|(key, _, _)| key)
            .collect();
        assert_eq!(inferred, expected, "{id}");
    }
}
