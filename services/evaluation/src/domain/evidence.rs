//! Evidence records (评价证据, REVIEW-EVALUATION §3.5): one immutable fact about one organization, collected from
//! another service's event (§3.9) or uploaded with a document (MANUAL). Evaluations read them by organization and
//! covered period; a security incident of MAJOR or CRITICAL severity is a veto candidate.

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{audit_info, date, timestamp};
use pdop_kit::scope::{self, Ancestry};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::DocumentRef;
use pdop_proto::evaluation::v1::{EvidenceKind, EvidenceRecord};
use pdop_proto::registry::v1::IncidentSeverity;

use super::{Error, ErrorReason};

pub const COLLECTION: &str = "evidenceRecords";

/// A summary is a short statement, not a report: longer texts are cut here.
const SUMMARY_CHARS: usize = 200;

/// One fact about one organization, as a collector reads it from an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// `organizations/{organization}`.
    pub organization: String,
    /// The jurisdiction the event names, used when the organization is not (yet) in the read model.
    pub jurisdiction: Option<String>,
    pub kind: EvidenceKind,
    /// Short and without personal information: descriptions and reasons of the source are left out.
    pub summary: String,
    /// A decimal string, or empty.
    pub quantity: String,
    /// The fact's own date when the event states one (the day an incident occurred); otherwise the event's.
    pub date: Option<NaiveDate>,
}

impl Fact {
    pub fn new(organization: &str, kind: EvidenceKind, summary: impl Into<String>) -> Self {
        Self {
            organization: organization.to_owned(),
            jurisdiction: None,
            kind,
            summary: short(&summary.into()),
            quantity: String::new(),
            date: None,
        }
    }

    pub fn quantity(mut self, q: impl ToString) -> Self {
        self.quantity = q.to_string();
        self
    }

    pub fn in_jurisdiction(mut self, jurisdiction: Option<&str>) -> Self {
        self.jurisdiction = jurisdiction.filter(|j| !j.is_empty()).map(str::to_owned);
        self
    }
}

/// The CloudEvents envelope a collected fact came from.
#[derive(Debug, Clone)]
pub struct Source {
    pub event_type: String,
    pub event_id: String,
    /// ce-subject: the resource the event was about.
    pub subject: String,
    /// ce-time: when the fact happened at the producer.
    pub time: DateTime<Utc>,
}

/// `text` cut to [`SUMMARY_CHARS`] characters.
pub fn short(text: &str) -> String {
    let mut out: String = text.trim().chars().take(SUMMARY_CHARS).collect();
    if text.trim().chars().count() > SUMMARY_CHARS {
        out.push('…');
    }
    out
}

/// A quantity is a plain decimal string (`-?digits(.digits)?`): no exponent, no `+`, never a float's rendering.
pub fn is_plain_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let digits =
        |part: &str| !part.is_empty() && part.len() <= 28 && part.bytes().all(|b| b.is_ascii_digit());
    match unsigned.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(unsigned),
    }
}

/// §3.5: the record of a collected fact, dated by the fact (Asia/Shanghai), recorded by the consumer.
pub fn collected(
    name: String,
    fact: Fact,
    jurisdiction: String,
    source: &Source,
    call: &Call,
) -> EvidenceRecord {
    let occur_date = fact
        .date
        .unwrap_or_else(|| pdop_kit::clock::china_date(source.time));
    EvidenceRecord {
        name,
        organization: fact.organization,
        jurisdiction,
        kind: fact.kind as i32,
        occur_time: Some(timestamp(source.time)),
        occur_date: Some(date(occur_date)),
        summary: fact.summary,
        source_event_type: source.event_type.clone(),
        source_event_id: source.event_id.clone(),
        source_subject: source.subject.clone(),
        quantity: fact.quantity,
        document: None,
        recorded: Some(audit_info(&call.caller, call.now)),
    }
}

/// What an uploader states about an organization: checked by [`parse_manual`].
#[derive(Debug, Clone)]
pub struct Manual {
    pub organization: String,
    pub summary: String,
    pub quantity: String,
    pub occur_date: NaiveDate,
    pub document: DocumentRef,
}

/// §3.5 CreateEvidenceRecord: MANUAL only, a document (uri + sha256) required, the fact dated no later than
/// `today`; collected-only fields stay empty. Every violation is named (`evidence_record.…`).
pub fn parse_manual(r: EvidenceRecord, today: NaiveDate) -> Result<Manual, Error> {
    const F: &str = "evidence_record";
    let mut v = Violations::new();
    if pdop_kit::names::parse(&r.organization, "organizations").is_none() {
        v.add(
            format!("{F}.organization"),
            pdop_kit::names::expected("organizations"),
        );
    }
    if r.kind != EvidenceKind::Manual as i32 {
        v.add(
            format!("{F}.kind"),
            "must be EVIDENCE_KIND_MANUAL: other kinds are collected from the services' events (§3.5)",
        );
    }
    if r.summary.trim().is_empty() {
        v.add(format!("{F}.summary"), "is required");
    }
    if !r.quantity.is_empty() && !is_plain_decimal(&r.quantity) {
        v.add(
            format!("{F}.quantity"),
            "must be a decimal number, e.g. \"2\" or \"0.15\"",
        );
    }
    for (field, value) in [
        ("source_event_type", &r.source_event_type),
        ("source_event_id", &r.source_event_id),
        ("source_subject", &r.source_subject),
    ] {
        if !value.is_empty() {
            v.add(
                format!("{F}.{field}"),
                "is set only on facts collected from events",
            );
        }
    }
    let occur_date =
        pdop_kit::convert::past_or_today(r.occur_date.as_ref(), &format!("{F}.occur_date"), today, &mut v);
    let document = r.document.unwrap_or_default();
    if document.uri.trim().is_empty() {
        v.add(
            format!("{F}.document.uri"),
            "is required: evidence is uploaded with its document",
        );
    }
    if document.sha256.len() != 64 || !document.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        v.add(
            format!("{F}.document.sha256"),
            "is required: the document's SHA-256, 64 hexadecimal digits",
        );
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    Ok(Manual {
        organization: r.organization,
        summary: r.summary.trim().to_owned(),
        quantity: r.quantity,
        occur_date,
        document: DocumentRef {
            sha256: document.sha256.to_ascii_lowercase(),
            ..document
        },
    })
}

/// The roles that add or read evidence about the organizations of their jurisdiction and those below it.
fn supervises_evidence(caller: &Caller, reading: bool) -> bool {
    [Role::Evaluator, Role::DataAuthority, Role::ImplementingAgency]
        .iter()
        .any(|r| caller.has_role(*r))
        || (reading && caller.has_role(Role::Auditor))
}

/// §3.5: evaluators, data authorities and implementing agencies read every record of their jurisdictions, and so
/// does an auditor.
pub fn reads_as_supervisor(caller: &Caller) -> bool {
    supervises_evidence(caller, true)
}

/// §3.5: the organization concerned reads its own records.
pub fn is_concerned(caller: &Caller, r: &EvidenceRecord) -> bool {
    !caller.organization.is_empty() && caller.organization == r.organization
}

/// §3.5 CreateEvidenceRecord: the organization about itself, or an evaluator, data authority or implementing agency
/// of the organization's jurisdiction (`ancestry`) or one above it (THREATS H2).
pub fn may_create(caller: &Caller, organization: &str, ancestry: &Ancestry) -> Result<(), Error> {
    if caller.organization == organization {
        return Ok(());
    }
    if supervises_evidence(caller, false) {
        return scope::may_supervise(caller, ancestry, organization, ErrorReason::NotAParty);
    }
    Err(Error::denied(
        ErrorReason::NotAParty,
        format!(
            "{} may add evidence about itself only, not about {organization}",
            caller.organization
        ),
    ))
}

/// The uploaded record, dated at the start of its day (Asia/Shanghai) unless the fact is today's.
pub fn manual(name: String, m: Manual, jurisdiction: String, call: &Call) -> (EvidenceRecord, Change) {
    let occur_time = if m.occur_date == call.today() {
        call.now
    } else {
        china_midnight(m.occur_date)
    };
    let record = EvidenceRecord {
        name: name.clone(),
        organization: m.organization,
        jurisdiction,
        kind: EvidenceKind::Manual as i32,
        occur_time: Some(timestamp(occur_time)),
        occur_date: Some(date(m.occur_date)),
        summary: m.summary,
        quantity: m.quantity,
        document: Some(m.document),
        recorded: Some(pdop_proto::common::AuditInfo {
            request_id: call.request_id.clone(),
            ..audit_info(&call.caller, call.now)
        }),
        ..Default::default()
    };
    let change = Change::new(name, audit_detail(&record));
    (record, change)
}

/// 00:00 of `day` in China (UTC+8, no daylight saving), as an instant.
fn china_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc() - chrono::Duration::hours(8)
}

/// The audit row of a record: what, about whom, when; never the summary's words.
pub fn audit_detail(r: &EvidenceRecord) -> serde_json::Value {
    serde_json::json!({
        "organization": r.organization,
        "kind": EvidenceKind::try_from(r.kind).map(|k| k.as_str_name()).unwrap_or("UNKNOWN"),
        "source_event_id": r.source_event_id,
        "document_sha256": r.document.as_ref().map(|d| d.sha256.as_str()).unwrap_or_default(),
    })
}

/// A security incident's severity, kept as the record's quantity on the 1–4 scale of `IncidentSeverity`
/// (一般 1, 较大 2, 重大 3, 特别重大 4), so a veto candidate is found without parsing words.
pub fn severity_quantity(s: IncidentSeverity) -> String {
    (s as i32).to_string()
}

/// §3.9: a SECURITY_INCIDENT of MAJOR or CRITICAL severity is a veto candidate (listed for the evaluator, never
/// triggered automatically).
pub fn is_veto_candidate(r: &EvidenceRecord) -> bool {
    r.kind == EvidenceKind::SecurityIncident as i32
        && r.quantity
            .parse::<i32>()
            .is_ok_and(|s| s >= IncidentSeverity::Major as i32)
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
