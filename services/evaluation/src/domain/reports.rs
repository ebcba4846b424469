//! Operator reports (运营报告, §3.7): DRAFT → SUBMITTED → ACCEPTED | RETURNED; RETURNED → SUBMITTED. The operator
//! writes and submits its report to the recipients the profile names, with the content items the profile requires;
//! a recipient accepts or returns it. `late` is decided by the first submission only.

use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, audit_info, cny, due_date, timestamp};
use pdop_kit::edge::document;
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{Deadline, JurisdictionRef, OrganizationRef};
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1::{
    OperatorReport, OperatorReportState as State, ReportContentItem, ReportContentKind, ReportKind,
    ReportMetrics,
};
use pdop_rules::Profile;

use super::error::{Error, ErrorReason, require_state};

pub const COLLECTION: &str = "operatorReports";
/// The request field a report arrives in.
pub const FIELD: &str = "operator_report";

pub fn state_of(r: &OperatorReport) -> State {
    State::try_from(r.state).unwrap_or_default()
}

pub fn kind_of(r: &OperatorReport) -> ReportKind {
    ReportKind::try_from(r.kind).unwrap_or_default()
}

/// The references the events carry, with display names (R-EV-09).
#[derive(Debug, Clone, Default)]
pub struct Parties {
    pub operator: OrganizationRef,
    pub jurisdiction: JurisdictionRef,
}

pub fn summary(r: &OperatorReport, p: &Parties) -> ev::OperatorReportSummary {
    ev::OperatorReportSummary {
        name: r.name.clone(),
        operator: Some(p.operator.clone()),
        agreement: r.agreement.clone(),
        jurisdiction: Some(p.jurisdiction.clone()),
        kind: r.kind,
        year: r.year,
        quarter: r.quarter,
        due: r.due.clone(),
        state: r.state,
    }
}

fn audit(r: &OperatorReport) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(r)), "late": r.late })
}

/// The period: a quarter 1–4 for QUARTERLY, 0 for ANNUAL (§3.7), in a year from 2000 to 2100.
pub fn check_period(r: &OperatorReport, v: &mut Violations) {
    match kind_of(r) {
        ReportKind::Quarterly if !(1..=4).contains(&r.quarter) => {
            v.add(
                format!("{FIELD}.quarter"),
                "must be 1 to 4 for a QUARTERLY report",
            );
        }
        ReportKind::Annual if r.quarter != 0 => {
            v.add(format!("{FIELD}.quarter"), "must be 0 for an ANNUAL report");
        }
        ReportKind::Unspecified => v.add(format!("{FIELD}.kind"), "must be QUARTERLY or ANNUAL"),
        _ => {}
    }
    if !(2000..=2100).contains(&r.year) {
        v.add(format!("{FIELD}.year"), "must be a year from 2000 to 2100");
    }
}

/// The content fields an operator writes: items known and listed once, documents well formed, figures exact and
/// not negative. `wanted` says which fields the request changes.
pub fn check_content(r: &OperatorReport, wanted: impl Fn(&str) -> bool, v: &mut Violations) {
    if wanted("content_items") {
        check_items(&r.content_items, v);
    }
    if wanted("metrics")
        && let Some(m) = &r.metrics
    {
        check_metrics(m, v);
    }
    if wanted("document") {
        document(r.document.as_ref(), &format!("{FIELD}.document"), v);
    }
    if wanted("attachments") {
        for (i, d) in r.attachments.iter().enumerate() {
            document(Some(d), &format!("{FIELD}.attachments[{i}]"), v);
        }
    }
}

fn check_items(items: &[ReportContentItem], v: &mut Violations) {
    let mut seen = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let kind = ReportContentKind::try_from(item.kind).unwrap_or_default();
        let at = format!("{FIELD}.content_items[{i}].kind");
        if kind == ReportContentKind::Unspecified {
            v.add(at, "must be set");
        } else if seen.contains(&kind) {
            v.add(at, "is listed twice");
        }
        seen.push(kind);
    }
}

fn check_metrics(m: &ReportMetrics, v: &mut Violations) {
    let at = |f: &str| format!("{FIELD}.metrics.{f}");
    for (name, money) in [("revenue", &m.revenue), ("operating_cost", &m.operating_cost)] {
        if let Err(e) = cny(money.as_ref()) {
            v.add(at(name), e.to_string());
        }
    }
    if let Some(volume) = &m.sales_volume {
        let exact = volume.value.parse::<rust_decimal::Decimal>();
        if !volume.value.bytes().all(|b| b.is_ascii_digit() || b == b'.') || exact.is_err() {
            v.add(
                at("sales_volume"),
                "must be a plain non-negative decimal such as \"1200.5\"",
            );
        }
    }
    for (name, count) in [
        ("listed_product_count", m.listed_product_count),
        ("active_developer_count", m.active_developer_count),
        ("redeveloped_product_count", m.redeveloped_product_count),
        ("security_incident_count", m.security_incident_count),
    ] {
        if count < 0 {
            v.add(at(name), "must not be negative");
        }
    }
}

/// R-EV-01: the operator reports on its own agreement.
pub fn may_report(caller: &Caller, operator_of_agreement: &str, agreement: &str) -> Result<(), Error> {
    if caller.organization != operator_of_agreement {
        return Err(Error::denied(
            ErrorReason::NotAParty,
            format!("{agreement} is operated by {operator_of_agreement}; only it reports on it"),
        ));
    }
    Ok(())
}

/// ∅ → DRAFT, due `due`, addressed to `recipients` (the profile's `reports.recipients`).
pub fn create(
    r: &mut OperatorReport,
    profile: &Profile,
    due: Deadline,
    recipients: Vec<String>,
    p: &Parties,
) -> Change {
    r.operator = p.operator.name.clone();
    r.jurisdiction = p.jurisdiction.name.clone();
    r.profile_id = profile.id.clone();
    r.recipients = recipients;
    r.state = State::Draft as i32;
    r.due = Some(due);
    r.submit_time = None;
    r.late = false;
    r.return_reason.clear();
    r.accepted = None;
    Change::new(&r.name, audit(r))
}

/// The author changes its report while it is a draft or returned.
pub fn may_edit(caller: &Caller, r: &OperatorReport, action: &str) -> Result<(), Error> {
    may_report(caller, &r.operator, &r.agreement)?;
    require_state(&r.name, state_of(r), &[State::Draft, State::Returned], action)
}

pub fn edited(r: &OperatorReport, paths: Vec<&str>) -> Change {
    let mut detail = audit(r);
    detail["fields"] = serde_json::json!(paths);
    Change::new(&r.name, detail)
}

/// DRAFT / RETURNED → SUBMITTED. The document and every content item the profile requires must be there
/// (FAILED_PRECONDITION CONTENT_MISSING naming it: Henan 再开发利用情况, S-HN Art.22; Zhengzhou four items, S-ZZ
/// Art.26). `late` is set by the first submission only; a resubmission after a return keeps it.
pub fn submit(
    r: &mut OperatorReport,
    call: &Call,
    profile: &Profile,
    p: &Parties,
) -> Result<Change<ev::OperatorReportSubmitted>, Error> {
    may_edit(&call.caller, r, "submitting")?;
    if r.document.as_ref().is_none_or(|d| d.uri.trim().is_empty()) {
        return Err(Error::refused(
            ErrorReason::ContentMissing,
            format!("{} has no report document; attach it before submitting", r.name),
        ));
    }
    if let Some(required) = &profile.reports.required_contents {
        for item in &required.value {
            let kind = ReportContentKind::from_str_name(&item.proto_name()).unwrap_or_default();
            let covered = r.content_items.iter().any(|c| c.kind == kind as i32 && c.present);
            if !covered {
                return Err(Error::refused(
                    ErrorReason::ContentMissing,
                    format!(
                        "{} does not cover {} ({}), which profile {} requires ({})",
                        r.name,
                        item.proto_name(),
                        item.as_str(),
                        profile.id,
                        required.source
                    ),
                ));
            }
        }
    }
    let resubmission = state_of(r) == State::Returned;
    if r.submit_time.is_none() {
        r.late = due_date(r.due.as_ref()).is_some_and(|due| call.today() > due);
    }
    r.submit_time = Some(timestamp(call.now));
    r.state = State::Submitted as i32;
    let event = ev::OperatorReportSubmitted {
        report: Some(summary(r, p)),
        late: r.late,
        resubmission,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&r.name, audit(r)).announce(event))
}

/// R-EV-01: only a recipient the profile names accepts or returns a report.
pub fn may_receive(caller: &Caller, r: &OperatorReport) -> Result<(), Error> {
    if !r.recipients.contains(&caller.organization) {
        return Err(Error::denied(
            ErrorReason::NotARecipient,
            format!(
                "{} is addressed to {}; {} is not a recipient",
                r.name,
                r.recipients.join(", "),
                caller.organization
            ),
        ));
    }
    Ok(())
}

/// SUBMITTED → ACCEPTED by a recipient.
pub fn accept(
    r: &mut OperatorReport,
    call: &Call,
    comments: &str,
    p: &Parties,
) -> Result<Change<ev::OperatorReportAccepted>, Error> {
    may_receive(&call.caller, r)?;
    require_state(&r.name, state_of(r), &[State::Submitted], "accepting")?;
    r.accepted = Some(audit_info(&call.caller, call.now));
    r.state = State::Accepted as i32;
    let mut detail = audit(r);
    detail["comments"] = serde_json::json!(comments);
    let event = ev::OperatorReportAccepted {
        report: Some(summary(r, p)),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&r.name, detail).announce(event))
}

/// SUBMITTED → RETURNED by a recipient, with what must be added or corrected.
pub fn return_for_correction(
    r: &mut OperatorReport,
    call: &Call,
    reason: String,
    p: &Parties,
) -> Result<Change<ev::OperatorReportReturned>, Error> {
    may_receive(&call.caller, r)?;
    require_state(&r.name, state_of(r), &[State::Submitted], "returning")?;
    r.state = State::Returned as i32;
    r.return_reason = reason;
    let event = ev::OperatorReportReturned {
        report: Some(summary(r, p)),
        reason: r.return_reason.clone(),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&r.name, audit(r)).announce(event))
}
