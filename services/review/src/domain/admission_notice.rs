//! The public notice of a qualified developer (公示, D21, S-YN Art.13(三)), the objections disclosure forwards, and
//! admission after the notice (S-YN Art.13(四)).

use chrono::NaiveDate;
use pdop_kit::convert::{actor, audit_info, date, deadline};
use pdop_kit::uow::{Call, Change, Quiet};
use pdop_proto::common::DateRange;
use pdop_proto::disclosure::events::v1::ObjectionFiled;
use pdop_proto::registry::events::v1::AgreementSummary;
use pdop_proto::review::events::v1 as ev;
use pdop_proto::review::v1::{
    AdmissionObjectionState as ObjectionState, DeveloperAdmission, DeveloperAdmissionObjection,
    DeveloperAdmissionState as State, ReviewOutcome,
};
use pdop_rules::{Calendar, CitedDeadline, Period};

use super::admission::{
    Parties, Standing, Transition, admitted, audit, decided, require, require_clear, summary,
};
use super::decision::Decision;
use super::error::{Error, ErrorReason};
use super::facts;
use super::rules::AdmissionRules;

/// The notice a lead asks for: `working_days` (0 = the profile minimum) from `start` (unset = the next working day).
#[derive(Debug, Clone, Copy)]
pub struct NoticeRequest {
    pub working_days: u32,
    pub start: Option<NaiveDate>,
}

/// D21, S-YN Art.13(三) ("向社会公示不少于5个工作日"): the notice of `n` working days starting on `start` ends on
/// the nth working day counting `start`, `add_working_days(day before start, n)`.
pub fn notice_period(
    calendar: &Calendar,
    rules: &AdmissionRules,
    req: NoticeRequest,
    today: NaiveDate,
) -> Result<CitedDeadline, Error> {
    let Some((min, source)) = &rules.notice_min else {
        return Err(Error::refused(
            ErrorReason::WrongState,
            format!("profile {} has no public notice of developers", rules.profile_id),
        ));
    };
    let n = if req.working_days == 0 {
        *min
    } else {
        req.working_days
    };
    if n < *min {
        return Err(Error::invalid(
            "working_days",
            format!(
                "must be at least {min} working days in profile {} (D21, {source}); 0 takes the minimum",
                rules.profile_id
            ),
        ));
    }
    let (start, start_provisional) = match req.start {
        Some(day) if day < today => return Err(Error::invalid("start_date", "must not be in the past")),
        Some(day) => (day, !calendar.covers(day)),
        None => {
            let next = calendar.add_working_days(today, 1);
            (next.due, next.provisional)
        }
    };
    let before = start.pred_opt().unwrap_or(start);
    let end = calendar.add_working_days(before, n);
    Ok(CitedDeadline {
        start: before,
        period: Period::WorkingDays(n),
        due: end.due,
        provisional: end.provisional || start_provisional,
        rule_id: "D21".to_owned(),
        source_id: source.clone(),
        profile_id: rules.profile_id.clone(),
    })
}

/// The notice's first and last day, inclusive.
pub fn notice_dates(a: &DeveloperAdmission) -> Option<(NaiveDate, NaiveDate)> {
    let p = a.notice_period.as_ref()?;
    let start = pdop_kit::convert::naive_date(p.start_date.as_ref()?)?;
    let end = pdop_kit::convert::naive_date(p.end_date.as_ref()?)?;
    Some((start, end))
}

/// QUALIFIED → PUBLIC_NOTICE. The event's `ce-subject` is the admission, which disclosure keys objections by.
pub fn start_notice(
    a: &mut DeveloperAdmission,
    call: &Call,
    cited: &CitedDeadline,
    p: &Parties,
) -> Result<Change<ev::DeveloperAdmissionNoticeStarted>, Error> {
    require(a, Transition::StartNotice)?;
    let start = cited.start.succ_opt().unwrap_or(cited.start);
    let period = DateRange {
        start_date: Some(date(start)),
        end_date: Some(date(cited.due)),
    };
    let notice_deadline = deadline(cited);
    a.notice_period = Some(period);
    a.notice_deadline = Some(notice_deadline.clone());
    a.timeline.get_or_insert_default().current_deadline = Some(notice_deadline.clone());
    a.state = State::PublicNotice as i32;
    let event = ev::DeveloperAdmissionNoticeStarted {
        admission: Some(summary(a, p)),
        notice_period: Some(period),
        period_working_days: i32::try_from(cited.period.count()).unwrap_or(i32::MAX),
        notice_deadline: Some(notice_deadline),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&a.name, audit(a)).announce(event))
}

/// PUBLIC_NOTICE → ADMITTED from the day after the notice end, with no objection PENDING or UPHELD ("经公示无异议后",
/// S-YN Art.13(四); dismissed ones count as none, inferred); R-RV-14 and R-RV-17 again.
pub fn admit(
    a: &mut DeveloperAdmission,
    call: &Call,
    agreement: &AgreementSummary,
    standing: &Standing,
    blocking_objections: &[String],
    p: &Parties,
) -> Result<Change<ev::DeveloperAdmitted>, Error> {
    require(a, Transition::Admit)?;
    if let Some((_, end)) = notice_dates(a)
        && call.today() <= end
    {
        return Err(Error::refused(
            ErrorReason::NoticeOpen,
            format!(
                "the public notice of {} runs until {end}; the developer can be admitted from {} (D21)",
                a.name,
                end.succ_opt().unwrap_or(end)
            ),
        ));
    }
    if !blocking_objections.is_empty() {
        return Err(Error::refused(
            ErrorReason::ObjectionOpen,
            format!(
                "{} has objections undecided or upheld: {}; dismiss them after re-checking first (S-YN Art.13(四))",
                a.name,
                blocking_objections.join(", ")
            ),
        ));
    }
    facts::agreement_open(agreement)?;
    require_clear(a, call, standing)?;
    Ok(admitted(a, call, p))
}

/// The objection disclosure forwarded (`ObjectionFiled` with deciding service "review"), PENDING.
pub fn objection_of(a: &DeveloperAdmission, filed: &ObjectionFiled, id: &str) -> DeveloperAdmissionObjection {
    DeveloperAdmissionObjection {
        name: format!("{}/objections/{id}", a.name),
        objection: filed.name.clone(),
        objector: filed.objector.clone(),
        grounds: filed.grounds.clone(),
        evidence: filed.evidence.clone(),
        file_time: filed.file_time,
        state: ObjectionState::Pending as i32,
        decision_reason: String::new(),
        decided: None,
    }
}

/// A newly stored objection counts on the admission; the audit names it only (no identity numbers, R-RV-11).
pub fn received(a: &mut DeveloperAdmission, o: &DeveloperAdmissionObjection) -> Change<Quiet> {
    a.objection_count += 1;
    Change::new(
        &o.name,
        serde_json::json!({ "objection": o.objection, "state": "PENDING" }),
    )
}

/// PENDING → UPHELD (the admission is REJECTED with the objection named, two events) or DISMISSED, after a
/// re-check (复核) whose reason is required (analogy with N3 Art.12).
pub fn decide_objection(
    a: &mut DeveloperAdmission,
    o: &mut DeveloperAdmissionObjection,
    call: &Call,
    uphold: bool,
    reason: String,
    p: &Parties,
) -> Result<
    (
        Change<ev::DeveloperAdmissionObjectionResolved>,
        Option<Change<ev::DeveloperAdmissionRejected>>,
    ),
    Error,
> {
    require(a, Transition::DecideObjection)?;
    let state = super::admission::objection_state(o);
    if state != ObjectionState::Pending {
        return Err(Error::refused(
            ErrorReason::WrongState,
            format!("{} was already decided ({state:?})", o.name),
        ));
    }
    let outcome = if uphold {
        ObjectionState::Upheld
    } else {
        ObjectionState::Dismissed
    };
    o.state = outcome as i32;
    o.decision_reason = reason.clone();
    o.decided = Some(audit_info(&call.caller, call.now));
    let resolved = ev::DeveloperAdmissionObjectionResolved {
        developer_admission: a.name.clone(),
        objection: o.objection.clone(),
        outcome: outcome as i32,
        reason: reason.clone(),
        jurisdiction: Some(p.jurisdiction.clone()),
        actor: Some(actor(&call.caller)),
    };
    let detail = serde_json::json!({ "objection": o.objection, "outcome": format!("{outcome:?}") });
    let resolved = Change::new(&o.name, detail).announce(resolved);
    if !uphold {
        return Ok((resolved, None));
    }
    let basis = "异议成立 (S-YN Art.13(三)(四): 经公示无异议后方可准入)".to_owned();
    let d = Decision {
        reasons: reason.clone(),
        basis: basis.clone(),
        ..Default::default()
    };
    decided(a, call, State::Rejected, d, ReviewOutcome::Rejected);
    a.timeline.get_or_insert_default().current_deadline = None;
    let rejected = ev::DeveloperAdmissionRejected {
        admission: Some(summary(a, p)),
        reasons: reason,
        basis,
        objection: o.objection.clone(),
        actor: Some(actor(&call.caller)),
    };
    Ok((resolved, Some(Change::new(&a.name, audit(a)).announce(rejected))))
}

/// Identity numbers and contacts of objectors are shown only to the lead reviewer's organization, which decides
/// (`DeveloperAdmissionObjection.objector`; PIPL, DOMAIN §9).
pub fn visible_to(mut o: DeveloperAdmissionObjection, lead: bool) -> DeveloperAdmissionObjection {
    if !lead && let Some(objector) = o.objector.as_mut() {
        objector.identity_number.clear();
        objector.contact.clear();
    }
    o
}
