//! What the registry does on an evaluation fact (REVIEW-EVALUATION §3.8, R-EV-12): the consequences a seed makes
//! mandatory are carried out (a suspension, or lifting the access suspension of a verified order); the others open
//! an EVALUATION_FOLLOW_UP obligation for the authority that must decide. Pure: the shell gives the event, the
//! profile's `[evaluation]` rules and the fact's date, and carries the outcome out.

use chrono::NaiveDate;
use pdop_kit::convert::due_date;
use pdop_proto::evaluation::events::v1::{
    EvaluationCompleted, RectificationOrdered, RectificationOverdue, RectificationSummary,
    RectificationVerified,
};
use pdop_proto::evaluation::v1::{
    EvaluationConsequence as Consequence, EvaluationGrade, EvaluationSubjectKind, RectificationSource,
    VerificationOutcome,
};
use pdop_rules::profiles::{EvaluationRules, SubjectKind, SuspensionGround};

/// The subject of an operator's consequences: its agreement, `agreements/{…}`.
const AGREEMENTS: &str = "agreements/";
/// The subject of a developer's consequences: its developer agreement, `developerAgreements/{…}`.
const DEVELOPER_AGREEMENTS: &str = "developerAgreements/";

/// A suspension to carry out: the agreement, the reason announced, and the ground it stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub agreement: String,
    pub reason: String,
    pub ground: String,
}

/// The end of an access suspension: the agreement resumes only if suspended on `ground`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumption {
    pub agreement: String,
    pub ground: String,
    pub reason: String,
}

/// An EVALUATION_FOLLOW_UP obligation to open on `subject` (an agreement or developer agreement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub subject: String,
    /// The evaluation or order behind it.
    pub source: String,
    /// `EvaluationConsequence` value names that call for a decision.
    pub consequences: Vec<String>,
    /// What is to be decided, in words.
    pub description: String,
}

/// What the registry does on one fact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consequences {
    pub suspend: Option<Suspension>,
    pub resume: Option<Resumption>,
    pub follow_up: Option<FollowUp>,
}

/// The agreement or developer agreement an event is about, if any: only those carry consequences.
pub fn subject_of(agreement: &str) -> Option<&str> {
    let known = agreement.starts_with(AGREEMENTS) || agreement.starts_with(DEVELOPER_AGREEMENTS);
    (known && agreement.len() > AGREEMENTS.len()).then_some(agreement)
}

/// The consequences that need an authority's decision (§3.8 "all" row), in words. CONTINUE, RECTIFICATION and
/// ASSESSMENT_REFERENCE need nothing: the result is used outside the platform.
fn measure(c: Consequence) -> Option<&'static str> {
    match c {
        Consequence::TerminationRecommended => Some("终止授权"),
        Consequence::NoReauthorization => Some("不再授权"),
        Consequence::PrincipalInterview => Some("约谈主要负责人"),
        Consequence::AccountabilityReferral => Some("依法追责问责"),
        Consequence::SuspensionRecommended => Some("暂停授权运营"),
        Consequence::DeveloperDisqualification => Some("取消开发利用资格"),
        _ => None,
    }
}

/// The listed consequences calling for a decision about `subject`. SUSPENSION_RECOMMENDED drops out when the
/// suspension is carried out; DEVELOPER_DISQUALIFICATION counts only for a developer subject where the profile has
/// operators evaluate developers (Yunnan, S-YN Art.21, 26).
fn measures(listed: &[i32], subject: &str, suspended: bool, rules: &EvaluationRules) -> Vec<Consequence> {
    let developer = subject.starts_with(DEVELOPER_AGREEMENTS);
    let disqualifies = developer && rules.subject(SubjectKind::Developer).is_some();
    let mut found: Vec<Consequence> = Vec::new();
    for c in listed.iter().filter_map(|c| Consequence::try_from(*c).ok()) {
        let wanted = match c {
            Consequence::SuspensionRecommended => !suspended,
            Consequence::DeveloperDisqualification => disqualifies,
            other => measure(other).is_some(),
        };
        if wanted && !found.contains(&c) {
            found.push(c);
        }
    }
    found
}

/// The follow-up for `measures` and, where the order went unrectified on a termination-ground profile, that
/// ground; `None` when neither applies.
fn follow_up(
    subject: &str,
    source: &str,
    measures: &[Consequence],
    unrectified: Option<&str>,
) -> Option<FollowUp> {
    let mut parts: Vec<String> = Vec::new();
    if !measures.is_empty() {
        let words: Vec<&str> = measures.iter().filter_map(|c| measure(*c)).collect();
        parts.push(format!("评价结果建议：{}", words.join("、")));
    }
    if let Some(provision) = unrectified {
        parts.push(format!("未按要求整改，可解除运营授权 ({provision})"));
    }
    if parts.is_empty() {
        return None;
    }
    Some(FollowUp {
        subject: subject.to_owned(),
        source: source.to_owned(),
        consequences: measures.iter().map(|c| c.as_str_name().to_owned()).collect(),
        description: parts.join("；"),
    })
}

/// The provision making an unrectified order a ground for terminating an operator agreement, where the profile
/// says so (Hubei S-HB §三(六)2, Laiyuan S-LY §三(三)5(4), Zhengzhou S-ZZ Art.28).
fn termination_ground(rules: &EvaluationRules, order: &RectificationSummary) -> Option<String> {
    let ground = rules.unrectified_is_termination_ground.as_ref()?;
    (ground.value && order.agreement.starts_with(AGREEMENTS)).then(|| ground.source.clone())
}

/// EvaluationCompleted: Henan suspends on a veto (even while rectification is pending) or a final FAIL (S-HN
/// Art.22); the recommended measures open a follow-up on the subject's agreement.
pub fn on_completed(e: &EvaluationCompleted, rules: &EvaluationRules) -> Consequences {
    let evaluation = e.evaluation.clone().unwrap_or_default();
    let kind = EvaluationSubjectKind::try_from(evaluation.subject_kind).unwrap_or_default();
    let subject = match kind {
        EvaluationSubjectKind::Operator if evaluation.agreement.starts_with(AGREEMENTS) => {
            evaluation.agreement.as_str()
        }
        EvaluationSubjectKind::Developer if evaluation.agreement.starts_with(DEVELOPER_AGREEMENTS) => {
            evaluation.agreement.as_str()
        }
        _ => return Consequences::default(),
    };
    let name = &evaluation.name;
    let operator = kind == EvaluationSubjectKind::Operator;
    let final_fail = e.grade == EvaluationGrade::Fail as i32 && !e.rectification_pending;
    let reason = if operator && e.vetoed && rules.suspends_on(SuspensionGround::Veto) {
        Some(format!("评价发现重大安全风险 {name} (S-HN Art.22)"))
    } else if operator && final_fail && rules.suspends_on(SuspensionGround::FinalFail) {
        Some(format!("评价未通过 {name}"))
    } else {
        None
    };
    let suspend = reason.map(|reason| Suspension {
        agreement: subject.to_owned(),
        reason,
        ground: name.clone(),
    });
    let found = measures(&e.consequences, subject, suspend.is_some(), rules);
    Consequences {
        follow_up: follow_up(subject, name, &found, None),
        suspend,
        resume: None,
    }
}

/// RectificationOrdered with `access_suspended` on an operator agreement: data access stops while the order runs
/// (S-ZZ Art.28; inferred for any order that says so elsewhere).
pub fn on_ordered(o: &RectificationOrdered) -> Consequences {
    let order = o.order.clone().unwrap_or_default();
    if !o.access_suspended || !order.agreement.starts_with(AGREEMENTS) {
        return Consequences::default();
    }
    Consequences {
        suspend: Some(Suspension {
            reason: format!("限期整改期间暂停公共数据使用权限 {} (S-ZZ Art.28)", order.name),
            ground: order.name.clone(),
            agreement: order.agreement,
        }),
        ..Default::default()
    }
}

/// RectificationVerified on `date`: a pass lifts the order's own access suspension (inferred, S-ZZ Art.28 "暂时
/// 停止"); the consequences it lists open a follow-up; on a termination-ground profile, a failure that leaves no
/// time to report again (evaluation orders are final at the first verification, or the deadline has passed) does
/// too.
pub fn on_verified(v: &RectificationVerified, rules: &EvaluationRules, date: NaiveDate) -> Consequences {
    let order = v.order.clone().unwrap_or_default();
    let Some(subject) = subject_of(&order.agreement) else {
        return Consequences::default();
    };
    let outcome = VerificationOutcome::try_from(v.outcome).unwrap_or_default();
    let resume =
        (outcome == VerificationOutcome::Passed && subject.starts_with(AGREEMENTS)).then(|| Resumption {
            agreement: subject.to_owned(),
            ground: order.name.clone(),
            reason: format!("整改验收通过 {}", order.name),
        });
    let final_order = order.source == RectificationSource::Evaluation as i32;
    let passed_deadline = due_date(order.deadline.as_ref()).is_some_and(|due| due < date);
    let unrectified = (outcome == VerificationOutcome::Failed && (final_order || passed_deadline))
        .then(|| termination_ground(rules, &order))
        .flatten();
    let found = measures(&v.consequences, subject, false, rules);
    Consequences {
        follow_up: follow_up(subject, &order.name, &found, unrectified.as_deref()),
        resume,
        suspend: None,
    }
}

/// RectificationOverdue: Henan suspends on an evaluation's order not rectified in time (S-HN Art.22
/// "未按期整改到位的，应当暂停"); on a termination-ground profile the authority may terminate.
pub fn on_overdue(o: &RectificationOverdue, rules: &EvaluationRules) -> Consequences {
    let order = o.order.clone().unwrap_or_default();
    if !order.agreement.starts_with(AGREEMENTS) {
        return Consequences::default();
    }
    let evaluation_order = order.source == RectificationSource::Evaluation as i32;
    // The ground is the evaluation, not the order: a late passing verification of the order must not lift a
    // suspension Henan leaves to a person's ResumeAgreement.
    let suspend =
        (evaluation_order && rules.suspends_on(SuspensionGround::RectificationOverdue)).then(|| Suspension {
            agreement: order.agreement.clone(),
            reason: format!("未按期整改到位 {}", order.name),
            ground: if order.evaluation.is_empty() {
                format!("{} (overdue)", order.name)
            } else {
                order.evaluation.clone()
            },
        });
    let unrectified = termination_ground(rules, &order);
    Consequences {
        follow_up: follow_up(&order.agreement, &order.name, &[], unrectified.as_deref()),
        suspend,
        resume: None,
    }
}

#[cfg(test)]
#[path = "consequence_tests.rs"]
mod tests;
