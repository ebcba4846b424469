//! Rectification orders (整改, §3.6): ISSUED → PLAN_SUBMITTED → REPORT_SUBMITTED → VERIFIED_PASSED |
//! VERIFIED_FAILED, plus an `overdue` flag set once, the day after a deadline that passed without a passed
//! verification. An order outside an evaluation may be reported on again after a failed verification while its
//! deadline runs; an evaluation order is final at its first verification, which is the re-evaluation (inferred,
//! §3.6).

use chrono::NaiveDate;
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, audit_info, due_date, optional_date, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{Deadline, JurisdictionRef, OrganizationRef};
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1::{
    EvaluationGrade, RectificationOrder, RectificationOrderState as State, RectificationPlan,
    RectificationReport, RectificationSource as Source, RectificationVerification,
    VerificationOutcome as Outcome,
};
use pdop_rules::{Calendar, Profile};

use super::due;
use super::error::{Error, ErrorReason, require_state};
use super::rectification_checks::check_coverage;
pub use super::rectification_checks::{check_issues, check_plan, check_report, check_verification};

pub const COLLECTION: &str = "rectificationOrders";
/// The request field an order is created from.
pub const FIELD: &str = "rectification_order";
/// DOMAIN §5 D23: rectification after "限期整改" (S-YN Art.26, 30 CD).
const PERIOD_RULE: &str = "D23";
/// A date the issuer sets has no D-number.
const ISSUER_RULE: &str = "rectification";

pub fn state_of(o: &RectificationOrder) -> State {
    State::try_from(o.state).unwrap_or_default()
}

pub fn source_of(o: &RectificationOrder) -> Source {
    Source::try_from(o.source).unwrap_or_default()
}

/// The references the events carry, with display names (R-EV-09).
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub subject: OrganizationRef,
    pub issuer: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
}

pub fn summary(o: &RectificationOrder, p: &Parties) -> ev::RectificationSummary {
    ev::RectificationSummary {
        name: o.name.clone(),
        source: o.source,
        evaluation: o.evaluation.clone(),
        subject: Some(p.subject.clone()),
        agreement: o.agreement.clone(),
        jurisdiction: Some(p.jurisdiction.clone()),
        issuing_organization: Some(p.issuer.clone()),
        deadline: o.deadline.clone(),
        state: o.state,
    }
}

fn audit(o: &RectificationOrder) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(o)), "overdue": o.overdue })
}

/// The last day to rectify for an order issued on `issued_on` (D23). Where the profile sets
/// `evaluation.rectification_period` (Yunnan 30 CD, S-YN Art.26 "30日内完成整改", rolled to the next working day), the
/// period from the day of issue, or the issuer's earlier date; elsewhere the issuer's date, which is then required
/// (`field`). Issuer's dates are fixed dates: never moved, provisional past the loaded calendar.
pub fn deadline(
    calendar: &Calendar,
    profile: &Profile,
    issued_on: NaiveDate,
    requested: Option<NaiveDate>,
    field: &str,
) -> Result<Deadline, Error> {
    let by_period = profile.evaluation.rectification_period.as_ref().map(|s| {
        let d = pdop_rules::deadlines::deadline(calendar, profile, PERIOD_RULE, s, issued_on);
        (pdop_kit::convert::deadline(&d), d.due, s)
    });
    match (requested, by_period) {
        (Some(day), _) if day < issued_on => Err(Error::invalid(
            field,
            format!("must not be before the day of issue {issued_on}"),
        )),
        (Some(day), Some((_, latest, s))) if day > latest => Err(Error::invalid(
            field,
            format!(
                "must be on or before {latest}: profile {} gives {} from the day of issue ({})",
                profile.id,
                pdop_rules::deadlines::describe(s.value),
                s.source
            ),
        )),
        (Some(day), _) => Ok(due::fixed(
            calendar,
            &profile.id,
            ISSUER_RULE,
            "the issuer's date",
            issued_on,
            day,
        )),
        (None, Some((d, _, _))) => Ok(d),
        (None, None) => Err(Error::invalid(
            field,
            format!(
                "is required: profile {} sets no rectification period, so the issuer sets the date",
                profile.id
            ),
        )),
    }
}

/// ∅ → ISSUED. `o` holds what the issuer states (source, evaluation, agreement, issues, requested date,
/// `access_suspended`, document) and its new `name`; the subject, issuer and jurisdiction come from `p`. Used by
/// CreateRectificationOrder and, for source EVALUATION, by CompleteEvaluation.
pub fn issue(
    o: &mut RectificationOrder,
    call: &Call,
    profile: &Profile,
    deadline: Deadline,
    p: &Parties,
) -> Result<Change<ev::RectificationOrdered>, Error> {
    let mut v = Violations::new();
    let source = source_of(o);
    let evaluation = format!("{FIELD}.evaluation");
    match source {
        Source::Unspecified => v.add(format!("{FIELD}.source"), "must be set"),
        Source::Evaluation if o.evaluation.is_empty() => {
            v.add(evaluation, "must name the evaluation that orders it")
        }
        Source::Evaluation => {}
        _ if !o.evaluation.is_empty() => v.add(evaluation, "is set only on an evaluation's order"),
        _ => {}
    }
    check_issues(&o.issues, &format!("{FIELD}.issues"), &mut v);
    // S-ZZ Art.28: "应当责令其限期整改，并暂时停止公共数据使用权限".
    let suspends = profile.evaluation.breach_orders_suspend_access.as_ref();
    if let Some(rule) = suspends.filter(|s| s.value)
        && source == Source::AgreementBreach
        && !o.access_suspended
    {
        v.add(
            format!("{FIELD}.access_suspended"),
            format!(
                "must be true: in profile {} an agreement-breach order suspends data access ({})",
                profile.id, rule.source
            ),
        );
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    // R-EV-02: nobody orders (or verifies) a rectification of their own organization.
    if p.issuer.name == p.subject.name {
        return Err(Error::denied(
            ErrorReason::OwnOrganization,
            format!("{} cannot order a rectification of itself", p.issuer.name),
        ));
    }
    for (i, issue) in o.issues.iter_mut().enumerate() {
        issue.key = format!("issue-{}", i + 1);
    }
    o.subject = p.subject.name.clone();
    o.issuing_organization = p.issuer.name.clone();
    o.jurisdiction = p.jurisdiction.name.clone();
    o.profile_id = profile.id.clone();
    o.deadline = Some(deadline);
    o.state = State::Issued as i32;
    o.overdue = false;
    o.plan = None;
    o.reports.clear();
    o.verifications.clear();
    o.issue_time = Some(timestamp(call.now));
    let event = ev::RectificationOrdered {
        order: Some(summary(o, p)),
        issues: o.issues.iter().map(|i| i.description.clone()).collect(),
        access_suspended: o.access_suspended,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&o.name, audit(o)).announce(event))
}

/// Who issues an order outside an evaluation (§3.6): a data authority or implementing agency of the order's
/// jurisdiction or one above it (`supervises`); an operator only to its own developers, on a developer agreement it
/// signed (`developer_operator`: that agreement's operator).
pub fn may_issue(caller: &Caller, supervises: bool, developer_operator: Option<&str>) -> Result<(), Error> {
    let supervisor = caller.has_role(Role::DataAuthority) || caller.has_role(Role::ImplementingAgency);
    if supervisor && supervises {
        return Ok(());
    }
    if caller.has_role(Role::Operator) && developer_operator == Some(caller.organization.as_str()) {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::NotAParty,
        format!(
            "{} may not order this rectification: data authorities and implementing agencies order within their \
             jurisdiction, operators only to developers under their own developer agreements",
            caller.organization
        ),
    ))
}

/// R-EV-01: the subject answers its own order.
pub fn may_answer(caller: &Caller, o: &RectificationOrder) -> Result<(), Error> {
    if caller.organization != o.subject {
        return Err(Error::denied(
            ErrorReason::NotAParty,
            format!("only {}, the subject of {}, answers it", o.subject, o.name),
        ));
    }
    Ok(())
}

/// R-EV-01, R-EV-02: the issuing organization verifies (for an evaluation order, also its evaluators listed in
/// `verifiers`), and never the subject's own organization.
pub fn may_verify(caller: &Caller, o: &RectificationOrder, verifiers: &[String]) -> Result<(), Error> {
    if caller.organization == o.subject {
        return Err(Error::denied(
            ErrorReason::OwnOrganization,
            format!(
                "{} cannot verify the rectification of its own organization",
                caller.organization
            ),
        ));
    }
    if caller.organization != o.issuing_organization && !verifiers.contains(&caller.organization) {
        return Err(Error::denied(
            ErrorReason::NotAParty,
            format!(
                "{} is verified by {}, which issued it",
                o.name, o.issuing_organization
            ),
        ));
    }
    Ok(())
}

/// ISSUED → PLAN_SUBMITTED: a 整改方案 (S-YN Art.26 "制定整改方案"; S-HN Art.22) with one measure per issue and a
/// planned completion on or before the deadline.
pub fn submit_plan(
    o: &mut RectificationOrder,
    call: &Call,
    mut plan: RectificationPlan,
    p: &Parties,
) -> Result<Change<ev::RectificationPlanSubmitted>, Error> {
    may_answer(&call.caller, o)?;
    require_state(&o.name, state_of(o), &[State::Issued], "a rectification plan")?;
    let mut v = Violations::new();
    check_coverage(o, &plan.measures, "plan.measures", &mut v);
    let planned = optional_date(plan.planned_completion_date.as_ref())
        .ok()
        .flatten();
    if let (Some(planned), Some(due)) = (planned, due_date(o.deadline.as_ref()))
        && planned > due
    {
        v.add(
            "plan.planned_completion_date",
            format!("must be on or before the deadline {due}"),
        );
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    plan.submitted = Some(audit_info(&call.caller, call.now));
    o.state = State::PlanSubmitted as i32;
    let event = ev::RectificationPlanSubmitted {
        order: Some(summary(o, p)),
        planned_completion_date: plan.planned_completion_date,
        actor: Some(actor(&call.caller)),
    };
    o.plan = Some(plan);
    Ok(Change::new(&o.name, audit(o)).announce(event))
}

/// PLAN_SUBMITTED → REPORT_SUBMITTED, or again after a failed verification of an order outside an evaluation
/// while its deadline runs. Every issue is covered; a late report is accepted and marked ("报评估单位再次评估",
/// S-YN Art.26).
pub fn submit_report(
    o: &mut RectificationOrder,
    call: &Call,
    mut report: RectificationReport,
    p: &Parties,
) -> Result<Change<ev::RectificationSubmitted>, Error> {
    may_answer(&call.caller, o)?;
    let due = due_date(o.deadline.as_ref());
    let late = due.is_some_and(|due| call.today() > due);
    match state_of(o) {
        State::VerifiedFailed if source_of(o) == Source::Evaluation => {
            return Err(Error::refused(
                ErrorReason::OrderFinal,
                format!(
                    "{} is an evaluation's order: its first verification was the re-evaluation and is final",
                    o.name
                ),
            ));
        }
        State::VerifiedFailed if late => {
            return Err(Error::refused(
                ErrorReason::OrderFinal,
                format!(
                    "the deadline of {} passed on {}; its failed verification is final",
                    o.name,
                    due.map(|d| d.to_string()).unwrap_or_default()
                ),
            ));
        }
        state => require_state(
            &o.name,
            state,
            &[State::PlanSubmitted, State::VerifiedFailed],
            "a rectification report",
        )?,
    }
    let mut v = Violations::new();
    check_coverage(o, &report.actions, "report.actions", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    report.late = late;
    report.submitted = Some(audit_info(&call.caller, call.now));
    o.reports.push(report);
    o.state = State::ReportSubmitted as i32;
    let event = ev::RectificationSubmitted {
        order: Some(summary(o, p)),
        late,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&o.name, audit(o)).announce(event))
}

/// REPORT_SUBMITTED → VERIFIED_PASSED | VERIFIED_FAILED. For an evaluation order this is the re-evaluation, graded
/// PASS or FAIL by the outcome (S-YN Art.26 "再次评估"); other orders carry no grade.
pub fn verify(
    o: &mut RectificationOrder,
    call: &Call,
    mut ver: RectificationVerification,
    verifiers: &[String],
    p: &Parties,
) -> Result<Change<ev::RectificationVerified>, Error> {
    may_verify(&call.caller, o, verifiers)?;
    require_state(&o.name, state_of(o), &[State::ReportSubmitted], "a verification")?;
    let outcome = Outcome::try_from(ver.outcome).unwrap_or_default();
    let mut v = Violations::new();
    let keys: Vec<&str> = o.issues.iter().map(|i| i.key.as_str()).collect();
    for (i, k) in ver.unresolved_issue_keys.iter().enumerate() {
        if !keys.contains(&k.as_str()) {
            v.add(
                format!("verification.unresolved_issue_keys[{i}]"),
                format!("is not an issue of {}", o.name),
            );
        }
    }
    if outcome == Outcome::Passed && !ver.unresolved_issue_keys.is_empty() {
        v.add(
            "verification.unresolved_issue_keys",
            "must be empty when the outcome is PASSED",
        );
    }
    let graded = match outcome {
        Outcome::Passed => EvaluationGrade::Pass,
        _ => EvaluationGrade::Fail,
    };
    let given = EvaluationGrade::try_from(ver.re_evaluation_grade).unwrap_or_default();
    match (source_of(o), given) {
        (Source::Evaluation, EvaluationGrade::Unspecified) => ver.re_evaluation_grade = graded as i32,
        (Source::Evaluation, g) if g != graded => v.add(
            "verification.re_evaluation_grade",
            format!("must be {graded:?} for a {outcome:?} verification"),
        ),
        (Source::Evaluation, _) | (_, EvaluationGrade::Unspecified) => {}
        _ => v.add(
            "verification.re_evaluation_grade",
            "is given only for an evaluation's order (the re-evaluation)",
        ),
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ver.verified = Some(audit_info(&call.caller, call.now));
    o.state = match outcome {
        Outcome::Passed => State::VerifiedPassed,
        _ => State::VerifiedFailed,
    } as i32;
    let event = ev::RectificationVerified {
        order: Some(summary(o, p)),
        outcome: ver.outcome,
        re_evaluation_grade: ver.re_evaluation_grade,
        unresolved_issue_keys: ver.unresolved_issue_keys.clone(),
        consequences: ver.consequences.clone(),
        actor: Some(actor(&call.caller)),
    };
    o.verifications.push(ver);
    Ok(Change::new(&o.name, audit(o)).announce(event))
}

/// R-EV-04; S-HN Art.22 "未按期整改到位": from the day after its deadline, an order not verified as passed is overdue,
/// announced once (whatever that day is). `None` when there is nothing to announce.
pub fn mark_overdue(
    o: &mut RectificationOrder,
    today: NaiveDate,
    p: &Parties,
) -> Option<Change<ev::RectificationOverdue>> {
    let due = due_date(o.deadline.as_ref())?;
    if o.overdue || state_of(o) == State::VerifiedPassed || today <= due {
        return None;
    }
    o.overdue = true;
    let event = ev::RectificationOverdue {
        order: Some(summary(o, p)),
        deadline: o.deadline.clone(),
    };
    Some(Change::new(&o.name, audit(o)).announce(event))
}
