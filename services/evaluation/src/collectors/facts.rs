//! What each consumed event says about which organizations (REVIEW-EVALUATION §3.9), with no I/O: one [`Fact`] per
//! organization concerned. Summaries are short and carry no personal information: an incident's description, a
//! suspension's reason and a blacklist entry's reason stay with their producer.

use std::collections::BTreeMap;

use pdop_kit::convert::{due_date, naive_date};
use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::disclosure::events::v1 as dev;
use pdop_proto::disclosure::v1::EntryKind;
use pdop_proto::evaluation::v1::EvidenceKind as K;
use pdop_proto::pricing::events::v1 as pev;
use pdop_proto::registry::events::v1 as rev;
use pdop_proto::registry::v1::{BlacklistAction, IncidentSeverity, ObligationKind, TerminationGround};
use pdop_proto::review::events::v1 as vev;
use pdop_proto::review::v1::DataQualityCheckOutcome;

use crate::domain::evidence::{Fact, is_plain_decimal, severity_quantity};

fn org(o: Option<&OrganizationRef>) -> Option<&str> {
    o.map(|o| o.name.as_str()).filter(|n| !n.is_empty())
}

fn label(o: Option<&OrganizationRef>) -> &str {
    o.map(|o| {
        if o.display_name.is_empty() {
            o.name.as_str()
        } else {
            o.display_name.as_str()
        }
    })
    .unwrap_or_default()
}

fn jur(j: Option<&JurisdictionRef>) -> Option<&str> {
    j.map(|j| j.name.as_str())
}

/// How many times each provider appears, by provider: one fact per provider, its items counted.
fn count<'a>(providers: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut n = BTreeMap::new();
    for p in providers {
        *n.entry(p).or_default() += 1;
    }
    n
}

/// An enum value's contract name without its prefix, e.g. `AGREEMENT_FILING`.
fn name_of(full: &str, prefix: &str) -> String {
    full.strip_prefix(prefix).unwrap_or(full).to_owned()
}

fn due(d: Option<&pdop_proto::common::Deadline>) -> String {
    due_date(d).map(|d| format!("，应于 {d} 前")).unwrap_or_default()
}

/// `pdop.registry.organization.incident_recorded` → SECURITY_INCIDENT, dated the day it occurred, its severity as
/// the quantity (a veto candidate when MAJOR or CRITICAL).
pub fn incident(e: &rev::SecurityIncidentRecorded) -> Vec<Fact> {
    let Some(o) = org(e.organization.as_ref()) else {
        return Vec::new();
    };
    let severity = IncidentSeverity::try_from(e.severity).unwrap_or_default();
    let words = match severity {
        IncidentSeverity::General => "一般",
        IncidentSeverity::Serious => "较大",
        IncidentSeverity::Major => "重大",
        IncidentSeverity::Critical => "特别重大",
        IncidentSeverity::Unspecified => "未定级",
    };
    let mut fact = Fact::new(o, K::SecurityIncident, format!("安全事件（{words}）"))
        .quantity(severity_quantity(severity))
        .in_jurisdiction(jur(e.jurisdiction.as_ref()));
    fact.date = e.occur_date.as_ref().and_then(naive_date);
    vec![fact]
}

/// `pdop.registry.deadline.missed` → OBLIGATION_DEADLINE_MISSED for the responsible organization.
pub fn obligation_missed(e: &rev::DeadlineMissed) -> Vec<Fact> {
    let Some(o) = org(e.responsible_organization.as_ref()) else {
        return Vec::new();
    };
    let kind = ObligationKind::try_from(e.kind).unwrap_or_default().as_str_name();
    let summary = format!(
        "法定期限逾期：{}{}（{}）",
        name_of(kind, "OBLIGATION_KIND_"),
        due(e.deadline.as_ref()),
        e.subject
    );
    vec![Fact::new(o, K::ObligationDeadlineMissed, summary).in_jurisdiction(jur(e.jurisdiction.as_ref()))]
}

fn agreement_fact(a: Option<&rev::AgreementSummary>, summary: String) -> Vec<Fact> {
    let Some(a) = a else { return Vec::new() };
    let Some(o) = org(a.operator.as_ref()) else {
        return Vec::new();
    };
    vec![
        Fact::new(o, K::AgreementAction, format!("{summary}（{}）", a.name))
            .in_jurisdiction(jur(a.jurisdiction.as_ref())),
    ]
}

/// `pdop.registry.agreement.suspended` / `.resumed` / `.terminated` → AGREEMENT_ACTION for the operator (协议暂停 /
/// 恢复 / 终止); the other agreement facts are not actions on the operator.
pub fn agreement_suspended(e: &rev::AgreementSuspended) -> Vec<Fact> {
    agreement_fact(e.agreement.as_ref(), "协议暂停".to_owned())
}

pub fn agreement_resumed(e: &rev::AgreementResumed) -> Vec<Fact> {
    agreement_fact(e.agreement.as_ref(), "协议恢复".to_owned())
}

pub fn agreement_terminated(e: &rev::AgreementTerminated) -> Vec<Fact> {
    let ground = TerminationGround::try_from(e.ground)
        .unwrap_or_default()
        .as_str_name();
    agreement_fact(
        e.agreement.as_ref(),
        format!("协议终止：{}", name_of(ground, "TERMINATION_GROUND_")),
    )
}

/// `pdop.registry.blacklist_entry.added` → BLACKLIST_ENTRY for the organization concerned.
pub fn blacklisted(e: &rev::BlacklistEntryAdded) -> Vec<Fact> {
    let Some(o) = org(e.organization.as_ref()) else {
        return Vec::new();
    };
    let action = BlacklistAction::try_from(e.action)
        .unwrap_or_default()
        .as_str_name();
    let summary = format!("信用约束：{}（{}）", name_of(action, "BLACKLIST_ACTION_"), e.name);
    vec![Fact::new(o, K::BlacklistEntry, summary).in_jurisdiction(jur(e.jurisdiction.as_ref()))]
}

/// `pdop.registry.product.listed` → PRODUCT_LISTED for the operator, and one for each provider of the product's
/// source resources (`providers`: resource → provider, from the read model) with the count of its resources.
pub fn listed(e: &rev::ProductListed, providers: &BTreeMap<String, String>) -> Vec<Fact> {
    let Some(p) = e.product.as_ref() else {
        return Vec::new();
    };
    let j = jur(p.jurisdiction.as_ref());
    let mut facts = Vec::new();
    if let Some(o) = org(p.operator.as_ref()) {
        facts
            .push(Fact::new(o, K::ProductListed, format!("产品上架：{}", p.display_name)).in_jurisdiction(j));
    }
    let theirs = p
        .source_resources
        .iter()
        .filter_map(|r| providers.get(r).map(String::as_str));
    for (provider, n) in count(theirs) {
        let summary = format!("所提供的 {n} 项数据支撑产品上架：{}", p.display_name);
        facts.push(
            Fact::new(provider, K::ProductListed, summary)
                .quantity(n)
                .in_jurisdiction(j),
        );
    }
    facts
}

/// `pdop.registry.registration.coded` → REGISTRATION_CODED for the registrant.
pub fn coded(e: &rev::RegistrationCoded) -> Vec<Fact> {
    let Some(r) = e.registration.as_ref() else {
        return Vec::new();
    };
    let Some(o) = org(r.registrant.as_ref()) else {
        return Vec::new();
    };
    let summary = format!("登记完成：{}，登记结果查询码 {}", r.title, e.registration_code);
    vec![Fact::new(o, K::RegistrationCoded, summary).in_jurisdiction(jur(r.jurisdiction.as_ref()))]
}

/// `pdop.review.deadline.missed` → REVIEW_DEADLINE_MISSED for the organization responsible for the step (审核时效).
pub fn review_missed(e: &vev::ReviewDeadlineMissed) -> Vec<Fact> {
    let Some(o) = org(e.responsible_organization.as_ref()) else {
        return Vec::new();
    };
    let summary = format!(
        "审核逾期：{}{}（{}）",
        e.step,
        due(e.deadline.as_ref()),
        e.subject
    );
    vec![Fact::new(o, K::ReviewDeadlineMissed, summary).in_jurisdiction(jur(e.jurisdiction.as_ref()))]
}

/// `pdop.review.data_quality_check.responded` → DATA_QUALITY_CHECK for the responding provider, with the working
/// days taken as the quantity and a late answer marked (数据质量, 审核时效: S-HB §四(七)2).
pub fn data_check_responded(e: &vev::DataQualityCheckResponded) -> Vec<Fact> {
    let Some(c) = e.check.as_ref() else {
        return Vec::new();
    };
    let Some(o) = org(c.responsible_provider.as_ref()) else {
        return Vec::new();
    };
    let outcome = DataQualityCheckOutcome::try_from(e.outcome)
        .unwrap_or_default()
        .as_str_name();
    let late = if e.late { "，逾期答复" } else { "" };
    let summary = format!(
        "数据校核已答复：{}，用时 {} 个工作日{late}（{}）",
        name_of(outcome, "DATA_QUALITY_CHECK_OUTCOME_"),
        e.working_days_taken,
        c.name
    );
    vec![
        Fact::new(o, K::DataQualityCheck, summary)
            .quantity(e.working_days_taken)
            .in_jurisdiction(jur(c.jurisdiction.as_ref())),
    ]
}

/// `pdop.review.scenario_application.approved` → SCENARIO_APPROVED for the operator (应用情况).
pub fn scenario_approved(e: &vev::ScenarioApproved) -> Vec<Fact> {
    let Some(s) = e.scenario.as_ref() else {
        return Vec::new();
    };
    let Some(o) = org(s.operator.as_ref()) else {
        return Vec::new();
    };
    vec![
        Fact::new(
            o,
            K::ScenarioApproved,
            format!("场景审核通过：{}", s.display_name),
        )
        .in_jurisdiction(jur(s.jurisdiction.as_ref())),
    ]
}

/// `pdop.review.data_use_application.approved` → DATA_USE_APPROVED for the operator and one for each granting
/// provider (§3.5), each with the number of granted items concerning it.
pub fn data_use_approved(e: &vev::DataUseApproved) -> Vec<Fact> {
    let Some(d) = e.data_use.as_ref() else {
        return Vec::new();
    };
    let j = jur(d.jurisdiction.as_ref());
    let mut facts = Vec::new();
    if let Some(o) = org(d.operator.as_ref()) {
        let n = e.granted_items.len();
        let summary = format!("用数审核通过：{}，{n} 项数据", d.display_name);
        facts.push(
            Fact::new(o, K::DataUseApproved, summary)
                .quantity(n)
                .in_jurisdiction(j),
        );
    }
    let granting = e.granted_items.iter().filter_map(|i| org(i.provider.as_ref()));
    for (provider, n) in count(granting) {
        let summary = format!("所提供的 {n} 项数据获准使用：{}", d.display_name);
        facts.push(
            Fact::new(provider, K::DataUseApproved, summary)
                .quantity(n)
                .in_jurisdiction(j),
        );
    }
    facts
}

/// `pdop.review.developer_admission.admitted` → DEVELOPER_ADMITTED for the operator (产业发展带动能力, S-ZZ
/// Art.27; re-development by developers, S-HN Art.22).
pub fn developer_admitted(e: &vev::DeveloperAdmitted) -> Vec<Fact> {
    let Some(a) = e.admission.as_ref() else {
        return Vec::new();
    };
    let Some(o) = org(a.operator.as_ref()) else {
        return Vec::new();
    };
    let summary = format!("开发主体准入：{}", label(a.developer.as_ref()));
    vec![Fact::new(o, K::DeveloperAdmitted, summary).in_jurisdiction(jur(a.jurisdiction.as_ref()))]
}

/// `pdop.pricing.annual_check.completed` outside the deviation threshold, or with a late business report (after
/// 31 March, D10) → PRICE_DEVIATION for the case's operator, the deviation rate d as the quantity.
pub fn annual_check(e: &pev::AnnualCheckCompleted) -> Vec<Fact> {
    let Some(c) = e.pricing_case.as_ref() else {
        return Vec::new();
    };
    let Some(o) = org(c.operator.as_ref()) else {
        return Vec::new();
    };
    let rate = |r: Option<&pdop_proto::common::Rate>| r.map(|r| r.value.clone()).unwrap_or_default();
    let deviation = rate(e.deviation.as_ref());
    // Evidence is a deviation outside the threshold (±10 %, N1 §五) or a late report; a check within it says
    // nothing against the operator. An unset threshold is the national 0.10.
    let exact = |text: &str| text.parse::<rust_decimal::Decimal>().ok();
    let threshold = exact(&rate(e.deviation_threshold.as_ref())).unwrap_or(rust_decimal::Decimal::new(10, 2));
    let outside = exact(&deviation).is_some_and(|d| d.abs() > threshold);
    if !outside && !e.report_late {
        return Vec::new();
    }
    let late = if e.report_late {
        "，经营报告逾期报送"
    } else {
        ""
    };
    let summary = format!(
        "{} 年度价格校核：收入偏离率 {deviation}（阈值 {}）{late}",
        e.year,
        rate(e.deviation_threshold.as_ref())
    );
    let quantity = if is_plain_decimal(&deviation) {
        deviation
    } else {
        String::new()
    };
    vec![
        Fact::new(o, K::PriceDeviation, summary)
            .quantity(quantity)
            .in_jurisdiction(jur(c.jurisdiction.as_ref())),
    ]
}

/// `pdop.disclosure.entry.published` → DISCLOSURE for the discloser, with the duty's due date, a late publication
/// and the year disclosed (N4: annual disclosure by 31 March).
pub fn disclosed(e: &dev::EntryPublished) -> Vec<Fact> {
    let Some(o) = org(e.discloser.as_ref()) else {
        return Vec::new();
    };
    let kind = EntryKind::try_from(e.kind).unwrap_or_default().as_str_name();
    let year = if e.report_year > 0 {
        format!("，{} 年度", e.report_year)
    } else {
        String::new()
    };
    let late = if e.late { "，逾期" } else { "" };
    let summary = format!(
        "信息披露：{}{year}{}{late}（{}）",
        name_of(kind, "ENTRY_KIND_"),
        due(e.due.as_ref()),
        e.name
    );
    vec![Fact::new(o, K::Disclosure, summary).in_jurisdiction(jur(e.jurisdiction.as_ref()))]
}

#[cfg(test)]
#[path = "facts_tests.rs"]
mod tests;
