//! Campaigns (年度评价 / 定期评估, §3.3): DRAFT → IN_PROGRESS → CLOSED. A campaign evaluates the subjects of one
//! kind with one PUBLISHED indicator system; starting it opens one evaluation per subject, each with the
//! self-assessment due date (a fixed date, not moved to a working day).

use chrono::NaiveDate;
use pdop_kit::Violations;
use pdop_kit::convert::{actor, date, naive_date, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{Deadline, DeadlineUnit, JurisdictionRef, OrganizationRef, SourceCitation};
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1::{
    EvaluationCampaign, EvaluationCampaignState as State, EvaluationGrade, EvaluationResult,
};
use pdop_rules::Calendar;

use super::error::{Error, ErrorReason, require_state};
use super::{grading, indicator_system};

pub const COLLECTION: &str = "evaluationCampaigns";

pub fn state_of(c: &EvaluationCampaign) -> State {
    State::try_from(c.state).unwrap_or_default()
}

/// The covered period, as (first day, last day).
pub fn period(c: &EvaluationCampaign) -> Option<(NaiveDate, NaiveDate)> {
    let p = c.covered_period.as_ref()?;
    Some((
        naive_date(p.start_date.as_ref()?)?,
        naive_date(p.end_date.as_ref()?)?,
    ))
}

/// The shape of a campaign (INVALID_ARGUMENT): names, the period and due dates in order.
pub fn check_shape(c: &EvaluationCampaign, field: &str, v: &mut Violations) {
    if c.display_name.trim().is_empty() {
        v.add(format!("{field}.display_name"), "is required");
    }
    if indicator_system::subject_kind(c.subject_kind).is_none() {
        v.add(format!("{field}.subject_kind"), "must be set");
    }
    if !(2000..=2100).contains(&c.year) {
        v.add(format!("{field}.year"), "must be a year between 2000 and 2100");
    }
    for (what, name, collection) in [
        ("jurisdiction", &c.jurisdiction, "jurisdictions"),
        (
            "indicator_system",
            &c.indicator_system,
            indicator_system::COLLECTION,
        ),
    ] {
        if pdop_kit::names::parse(name, collection).is_none() {
            v.add(format!("{field}.{what}"), pdop_kit::names::expected(collection));
        }
    }
    for (list, orgs) in [("evaluators", &c.evaluators), ("subjects", &c.subjects)] {
        for (i, o) in orgs.iter().enumerate() {
            if pdop_kit::names::parse(o, "organizations").is_none() {
                v.add(
                    format!("{field}.{list}[{i}]"),
                    pdop_kit::names::expected("organizations"),
                );
            } else if orgs[..i].contains(o) {
                v.add(format!("{field}.{list}[{i}]"), format!("{o} is listed twice"));
            }
        }
    }
    let Some((from, until)) = period(c) else {
        v.add(
            format!("{field}.covered_period"),
            "a start and an end date are required",
        );
        return;
    };
    if from > until {
        v.add(format!("{field}.covered_period"), "must not end before it starts");
    }
    let self_due = c.self_assessment_due_date.as_ref().and_then(naive_date);
    let result_due = c.result_due_date.as_ref().and_then(naive_date);
    match self_due {
        None => v.add(
            format!("{field}.self_assessment_due_date"),
            "is required (a calendar date)",
        ),
        Some(day) if day < from => v.add(
            format!("{field}.self_assessment_due_date"),
            "must not be before the covered period starts",
        ),
        Some(day) if result_due.is_some_and(|r| r < day) => v.add(
            format!("{field}.result_due_date"),
            "must not be before the self-assessment due date",
        ),
        _ => {}
    }
    if c.result_due_date.is_some() && result_due.is_none() {
        v.add(format!("{field}.result_due_date"), "is not a calendar date");
    }
}

fn audit(c: &EvaluationCampaign) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(c)), "year": c.year })
}

/// ∅ → DRAFT, run by the caller's organization.
pub fn create(c: &mut EvaluationCampaign, call: &Call, profile_id: &str) -> Change {
    c.evaluating_organization = call.caller.organization.clone();
    c.profile_id = profile_id.to_owned();
    c.state = State::Draft as i32;
    c.evaluation_count = 0;
    c.completed_count = 0;
    c.start_time = None;
    c.close_time = None;
    Change::new(&c.name, audit(c))
}

/// Only the evaluating organization changes, starts and closes its campaign.
pub fn require_evaluating(c: &EvaluationCampaign, call: &Call) -> Result<(), Error> {
    if c.evaluating_organization == call.caller.organization {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::NotAParty,
        format!("{} is run by {}", c.name, c.evaluating_organization),
    ))
}

/// The fields an IN_PROGRESS campaign may still change.
pub const IN_PROGRESS_FIELDS: &[&str] = &["self_assessment_due_date", "result_due_date", "evaluators"];

pub fn update(c: &EvaluationCampaign, call: &Call, paths: &[String]) -> Result<Change, Error> {
    require_evaluating(c, call)?;
    match state_of(c) {
        State::Draft => {}
        State::InProgress => {
            if let Some(p) = paths.iter().find(|p| !IN_PROGRESS_FIELDS.contains(&p.as_str())) {
                return Err(Error::refused(
                    ErrorReason::WrongState,
                    format!(
                        "{} is IN_PROGRESS: only its due dates and evaluators change, not {p}",
                        c.name
                    ),
                ));
            }
        }
        other => require_state(&c.name, other, &[State::Draft, State::InProgress], "an update")?,
    }
    Ok(Change::new(&c.name, audit(c)))
}

/// The self-assessment deadline: the campaign's fixed date (inferred: the sources require materials, not a date),
/// provisional past the loaded calendar (R-EV-10).
pub fn self_assessment_deadline(
    c: &EvaluationCampaign,
    start: NaiveDate,
    calendar: &Calendar,
) -> Option<Deadline> {
    let due = c.self_assessment_due_date.as_ref().and_then(naive_date)?;
    let provisional = !calendar.covers(due);
    Some(Deadline {
        start_date: Some(date(start)),
        duration: 0,
        unit: DeadlineUnit::FixedDate as i32,
        due_date: Some(date(due)),
        provisional,
        source: Some(SourceCitation {
            rule_id: "self_assessment".to_owned(),
            source_id: format!("{} (the campaign's date; S-HN Art.22 如实提供有关资料)", c.name),
            ..Default::default()
        }),
        profile_id: c.profile_id.clone(),
    })
}

pub fn summary(
    c: &EvaluationCampaign,
    jurisdiction: JurisdictionRef,
    evaluating: OrganizationRef,
) -> ev::CampaignSummary {
    ev::CampaignSummary {
        name: c.name.clone(),
        display_name: c.display_name.clone(),
        jurisdiction: Some(jurisdiction),
        year: c.year,
        subject_kind: c.subject_kind,
        indicator_system: c.indicator_system.clone(),
        evaluating_organization: Some(evaluating),
        covered_period: c.covered_period,
    }
}

/// DRAFT → IN_PROGRESS with its subjects; R-EV-02: an evaluator (or the evaluating organization) that is also a
/// subject blocks the start.
pub fn start(
    c: &mut EvaluationCampaign,
    call: &Call,
    subjects: Vec<OrganizationRef>,
    summary: ev::CampaignSummary,
) -> Result<Change<ev::EvaluationCampaignStarted>, Error> {
    require_evaluating(c, call)?;
    require_state(&c.name, state_of(c), &[State::Draft], "a start")?;
    if subjects.is_empty() {
        return Err(Error::refused(
            ErrorReason::NoSubjects,
            format!(
                "{} has no subject: no organization of its kind was active in the covered period",
                c.name
            ),
        ));
    }
    let conflicted = subjects
        .iter()
        .find(|s| c.evaluators.contains(&s.name) || s.name == c.evaluating_organization);
    if let Some(s) = conflicted {
        return Err(Error::refused(
            ErrorReason::EvaluatorIsSubject,
            format!(
                "{} evaluates and is evaluated in {}; nobody evaluates itself (回避)",
                s.name, c.name
            ),
        ));
    }
    c.subjects = subjects.iter().map(|s| s.name.clone()).collect();
    c.state = State::InProgress as i32;
    c.start_time = Some(timestamp(call.now));
    c.evaluation_count = i32::try_from(subjects.len()).unwrap_or(i32::MAX);
    let event = ev::EvaluationCampaignStarted {
        campaign: Some(summary),
        subjects,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&c.name, audit(c)).announce(event))
}

/// IN_PROGRESS → CLOSED once every evaluation has a result (RECTIFYING counts): `results` holds each evaluation's
/// latest result, `None` where there is none yet.
pub fn close(
    c: &mut EvaluationCampaign,
    call: &Call,
    results: &[Option<EvaluationResult>],
    summary: ev::CampaignSummary,
) -> Result<Change<ev::EvaluationCampaignClosed>, Error> {
    require_evaluating(c, call)?;
    require_state(&c.name, state_of(c), &[State::InProgress], "closing")?;
    let pending = results.iter().filter(|r| r.is_none()).count();
    if pending > 0 {
        return Err(Error::refused(
            ErrorReason::ResultsPending,
            format!("{pending} evaluation(s) of {} have no result yet", c.name),
        ));
    }
    let mut grades: Vec<EvaluationGrade> = Vec::new();
    let mut counts: Vec<i32> = Vec::new();
    for r in results.iter().flatten() {
        let g = grading::grade(r.grade);
        match grades.iter().position(|x| *x == g) {
            Some(i) => counts[i] += 1,
            None => {
                grades.push(g);
                counts.push(1);
            }
        }
    }
    c.state = State::Closed as i32;
    c.close_time = Some(timestamp(call.now));
    c.completed_count = i32::try_from(results.len()).unwrap_or(i32::MAX);
    let event = ev::EvaluationCampaignClosed {
        campaign: Some(summary),
        evaluation_count: c.completed_count,
        grades: grades.iter().map(|g| *g as i32).collect(),
        grade_counts: counts,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&c.name, audit(c)).announce(event))
}
