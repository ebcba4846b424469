//! What rectification requests must hold: issues, measures covering each issue once, plans, reports and
//! verifications. Checks that need the stored order (its issues) take it; the others run before anything is read.

use std::collections::BTreeSet;

use pdop_kit::Violations;
use pdop_kit::convert::optional_date;
use pdop_kit::edge::document;
use pdop_proto::evaluation::v1::{
    EvaluationConsequence, IssueMeasure, RectificationIssue, RectificationOrder, RectificationPlan,
    RectificationReport, RectificationVerification, VerificationOutcome as Outcome,
};

/// Every issue says what is wrong (问题清单, at least one).
pub fn check_issues(issues: &[RectificationIssue], field: &str, v: &mut Violations) {
    if issues.is_empty() {
        v.add(field, "must list at least one issue to rectify");
    }
    for (i, issue) in issues.iter().enumerate() {
        if issue.description.trim().is_empty() {
            v.add(format!("{field}[{i}].description"), "is required");
        }
    }
}

/// What a measure list must say whatever the order: the measure itself and well-formed evidence.
pub(super) fn check_measure_text(measures: &[IssueMeasure], field: &str, v: &mut Violations) {
    for (i, m) in measures.iter().enumerate() {
        if m.measure.trim().is_empty() {
            v.add(format!("{field}[{i}].measure"), "is required");
        }
        for (j, d) in m.evidence.iter().enumerate() {
            document(Some(d), &format!("{field}[{i}].evidence[{j}]"), v);
        }
    }
}

/// One entry per issue of the order, each issue covered.
pub(super) fn check_coverage(
    o: &RectificationOrder,
    measures: &[IssueMeasure],
    field: &str,
    v: &mut Violations,
) {
    let keys: Vec<&str> = o.issues.iter().map(|i| i.key.as_str()).collect();
    let mut seen = BTreeSet::new();
    for (i, m) in measures.iter().enumerate() {
        let at = format!("{field}[{i}].issue_key");
        if !keys.contains(&m.issue_key.as_str()) {
            v.add(
                at,
                format!("is not an issue of {}; its issues: {}", o.name, keys.join(", ")),
            );
        } else if !seen.insert(m.issue_key.as_str()) {
            v.add(at, "names an issue twice; one entry per issue");
        }
    }
    for key in keys.iter().filter(|k| !seen.contains(*k)) {
        v.add(field, format!("does not cover {key}; every issue needs an entry"));
    }
}

/// What a plan must hold before it is looked at: measures, a valid planned date, documents.
pub fn check_plan(plan: &RectificationPlan, v: &mut Violations) {
    check_measure_text(&plan.measures, "plan.measures", v);
    match optional_date(plan.planned_completion_date.as_ref()) {
        Ok(None) => v.add("plan.planned_completion_date", "is required"),
        Ok(Some(_)) => {}
        Err(e) => v.add("plan.planned_completion_date", e),
    }
    document(plan.document.as_ref(), "plan.document", v);
}

/// What a report must hold before it is looked at: the actions taken and documents.
pub fn check_report(report: &RectificationReport, v: &mut Violations) {
    check_measure_text(&report.actions, "report.actions", v);
    document(report.document.as_ref(), "report.document", v);
}

/// What a verification must hold before it is looked at: an outcome, comments (验收意见), known consequences.
pub fn check_verification(ver: &RectificationVerification, v: &mut Violations) {
    if Outcome::try_from(ver.outcome).unwrap_or_default() == Outcome::Unspecified {
        v.add("verification.outcome", "must be PASSED or FAILED");
    }
    if ver.comments.trim().is_empty() {
        v.add("verification.comments", "is required (验收意见)");
    }
    let mut seen = BTreeSet::new();
    for (i, c) in ver.consequences.iter().enumerate() {
        let known =
            EvaluationConsequence::try_from(*c).is_ok_and(|c| c != EvaluationConsequence::Unspecified);
        if !known {
            v.add(format!("verification.consequences[{i}]"), "is not a consequence");
        } else if !seen.insert(*c) {
            v.add(format!("verification.consequences[{i}]"), "is listed twice");
        }
    }
}
