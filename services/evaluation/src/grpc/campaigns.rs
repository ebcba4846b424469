//! The six campaign RPCs (年度评价 / 定期评估, §3.3): create, read, update, start (one evaluation per subject),
//! close.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::mask::{Mask, update_envelope};
use pdop_kit::uow::{Call, Mutate, Write};
use pdop_proto::common::OrganizationRole;
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::{
    EvaluationCampaign, EvaluationCampaignState, EvaluationState, EvaluatorAssignment, IndicatorSystemState,
};
use pdop_rules::Profile;
use pdop_rules::profiles::{Cadence, SubjectKind};

use crate::context::Ctx;
use crate::domain::campaign::{self, COLLECTION, period, state_of};
use crate::domain::evaluation::{self, Parties};
use crate::domain::indicator_system::{self as system, state_of as system_state};
use crate::domain::{Error, ErrorReason};
use crate::storage::{self, Tx, campaigns, evaluations, evidence, facts, indicator_systems};

const FIELD: &str = "evaluation_campaign";

const MUTABLE: &[&str] = &[
    "display_name",
    "year",
    "subject_kind",
    "indicator_system",
    "evaluators",
    "covered_period",
    "subjects",
    "self_assessment_due_date",
    "result_due_date",
];

fn populated(c: &EvaluationCampaign, path: &str) -> bool {
    match path {
        "display_name" => !c.display_name.is_empty(),
        "year" => c.year != 0,
        "subject_kind" => c.subject_kind != 0,
        "indicator_system" => !c.indicator_system.is_empty(),
        "evaluators" => !c.evaluators.is_empty(),
        "covered_period" => c.covered_period.is_some(),
        "subjects" => !c.subjects.is_empty(),
        "self_assessment_due_date" => c.self_assessment_due_date.is_some(),
        "result_due_date" => c.result_due_date.is_some(),
        _ => false,
    }
}

fn apply(c: &mut EvaluationCampaign, from: EvaluationCampaign, mask: &Mask) {
    for path in mask.paths() {
        match path {
            "display_name" => c.display_name = from.display_name.clone(),
            "year" => c.year = from.year,
            "subject_kind" => c.subject_kind = from.subject_kind,
            "indicator_system" => c.indicator_system = from.indicator_system.clone(),
            "evaluators" => c.evaluators = from.evaluators.clone(),
            "covered_period" => c.covered_period = from.covered_period,
            "subjects" => c.subjects = from.subjects.clone(),
            "self_assessment_due_date" => c.self_assessment_due_date = from.self_assessment_due_date,
            "result_due_date" => c.result_due_date = from.result_due_date,
            _ => {}
        }
    }
}

fn kind(c: &EvaluationCampaign) -> Result<SubjectKind, Error> {
    system::subject_kind(c.subject_kind)
        .ok_or_else(|| Error::invalid(format!("{FIELD}.subject_kind"), "must be set"))
}

/// What a campaign must satisfy whatever its state: the caller evaluates this kind in its own jurisdiction (§3.3),
/// with a PUBLISHED system of the same kind and jurisdiction, known evaluators, and no clashing campaign.
async fn check(
    tx: &mut Tx,
    ctx: &Ctx,
    call: &Call,
    c: &EvaluationCampaign,
) -> Result<std::sync::Arc<Profile>, Error> {
    let profile = facts::profile(tx, &ctx.profiles, &c.jurisdiction).await?;
    let own = facts::jurisdiction_of(tx, &call.caller.organization).await?;
    if own.as_deref() != Some(c.jurisdiction.as_str()) {
        return Err(Error::denied(
            ErrorReason::NotAParty,
            format!(
                "{} runs campaigns in its own jurisdiction, not {}",
                call.caller.organization, c.jurisdiction
            ),
        ));
    }
    let kind = kind(c)?;
    system::may_evaluate(&profile, kind, &call.caller)?;
    // Running evaluations keep the system they started with, even once it is retired (§3.2).
    let s = indicator_systems::read(&mut **tx, &c.indicator_system).await?;
    let draft = state_of(c) == EvaluationCampaignState::Draft;
    if draft
        && (system_state(&s) != IndicatorSystemState::Published
            || s.subject_kind != c.subject_kind
            || s.jurisdiction != c.jurisdiction)
    {
        return Err(Error::refused(
            ErrorReason::SystemNotPublished,
            format!(
                "{} needs a PUBLISHED indicator system of its subject kind in {}; {} is not one",
                c.name, c.jurisdiction, s.name
            ),
        ));
    }
    for (i, e) in c.evaluators.iter().enumerate() {
        facts::known_organization(tx, e, &format!("{FIELD}.evaluators[{i}]")).await?;
    }
    let annual = profile
        .evaluation
        .subject(kind)
        .is_some_and(|r| r.cadence == Cadence::Annual);
    if let Some(other) = campaigns::clashing(tx, c, annual).await? {
        let rule = if annual {
            "one annual campaign per year"
        } else {
            "periodic campaigns do not overlap"
        };
        return Err(Error::refused(
            ErrorReason::CampaignExists,
            format!("{other} already evaluates {kind} organizations here: {rule} (inferred)"),
        ));
    }
    Ok(profile)
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateEvaluationCampaignRequest,
) -> Result<pb::CreateEvaluationCampaignResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut c = req.evaluation_campaign.unwrap_or_default();
    let mut v = Violations::new();
    campaign::check_shape(&c, FIELD, &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            c.name = format!("{COLLECTION}/{}", storage::new_id());
            c.evaluating_organization = u.call.caller.organization.clone();
            let profile = check(u.tx, u.state, u.call, &c).await?;
            let change = campaign::create(&mut c, u.call, &profile.id);
            let saved = campaigns::insert(u.tx, &c, u.call.now).await?;
            Ok(change.into_write(pb::CreateEvaluationCampaignResponse {
                evaluation_campaign: Some(saved),
            }))
        })
    })
    .await
}

fn is_supervisor(call: &Call) -> bool {
    [Role::DataAuthority, Role::Auditor]
        .iter()
        .any(|r| call.caller.has_role(*r))
}

fn is_party(c: &EvaluationCampaign, org: &str) -> bool {
    c.evaluating_organization == org
        || c.evaluators.iter().any(|e| e == org)
        || c.subjects.iter().any(|s| s == org)
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetEvaluationCampaignRequest,
) -> Result<pb::GetEvaluationCampaignResponse, Error> {
    let c = campaigns::read(&ctx.platform.pool, &req.name).await?;
    let party = is_party(&c, &call.caller.organization);
    super::may_read(ctx, &call, party, is_supervisor(&call), &c.jurisdiction, &c.name).await?;
    Ok(pb::GetEvaluationCampaignResponse {
        evaluation_campaign: Some(c),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListEvaluationCampaignsRequest,
) -> Result<pb::ListEvaluationCampaignsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let evaluating = optional_name(
        &req.evaluating_organization,
        "organizations",
        "evaluating_organization",
        &mut v,
    );
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, is_supervisor(&call)).await?;
    let me = pdop_kit::names::parse(&call.caller.organization, "organizations").unwrap_or_default();
    let (found, next) = campaigns::list(
        &ctx.platform.pool,
        campaigns::Filter {
            jurisdiction,
            year: req.year,
            subject_kind: req.subject_kind,
            evaluating,
            state: req.state,
            visible_to: me,
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListEvaluationCampaignsResponse {
        evaluation_campaigns: found,
        next_page_token: next,
    })
}

/// The evaluators of an evaluation: the campaign's, keeping each one's recusal; a recused evaluator stays
/// recused even when it is taken off the campaign and put back (R-EV-02).
fn assignments(
    evaluators: &[String],
    previous: &[EvaluatorAssignment],
    third: &[String],
) -> Vec<EvaluatorAssignment> {
    let recused = previous
        .iter()
        .filter(|a| a.recused && !evaluators.contains(&a.organization))
        .cloned();
    evaluators
        .iter()
        .map(|o| {
            previous
                .iter()
                .find(|a| a.organization == *o)
                .cloned()
                .unwrap_or_else(|| EvaluatorAssignment {
                    organization: o.clone(),
                    third_party: third.contains(o),
                    ..Default::default()
                })
        })
        .chain(recused)
        .collect()
}

/// Evaluators whose registry role is 第三方评估机构 (委托第三方, S-YN Art.26; S-HB §五(七)).
async fn third_parties(tx: &mut Tx, evaluators: &[String]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for e in evaluators {
        let org = facts::organization(tx, e).await?;
        if org.roles.contains(&(OrganizationRole::Evaluator as i32)) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdateEvaluationCampaignRequest,
) -> Result<pb::UpdateEvaluationCampaignResponse, Error> {
    let from = req.evaluation_campaign.unwrap_or_default();
    let (mask, etag) = update_envelope::<ErrorReason>(
        FIELD,
        &from.name,
        COLLECTION,
        req.update_mask.as_ref(),
        MUTABLE,
        |p| populated(&from, p),
        (req.etag, &from.etag),
    )?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = campaigns::lock(u.tx, &from.name, &etag).await?;
            let paths: Vec<String> = mask.paths().map(str::to_owned).collect();
            let change = campaign::update(&c, u.call, &paths)?;
            apply(&mut c, from, &mask);
            let mut v = Violations::new();
            campaign::check_shape(&c, FIELD, &mut v);
            if !v.is_empty() {
                return Err(Error::Invalid(v));
            }
            check(u.tx, u.state, u.call, &c).await?;
            let mut reached = Vec::new();
            if state_of(&c) == EvaluationCampaignState::InProgress {
                // R-EV-02: a subject never becomes an evaluator of the campaign.
                if let Some(s) = c.evaluators.iter().find(|o| c.subjects.contains(o)) {
                    return Err(Error::refused(
                        ErrorReason::EvaluatorIsSubject,
                        format!("{s} is evaluated in {}; it cannot evaluate there (回避)", c.name),
                    ));
                }
                // Due dates and evaluators reach the evaluations still open, each audited.
                let third = third_parties(u.tx, &c.evaluators).await?;
                let today = u.call.today();
                for mut e in evaluations::of_campaign(u.tx, &c.name).await? {
                    let state = evaluation::state_of(&e);
                    if !matches!(state, EvaluationState::DataCollection | EvaluationState::Scoring) {
                        continue;
                    }
                    e.evaluators = assignments(&c.evaluators, &e.evaluators, &third);
                    if e.state == pdop_proto::evaluation::v1::EvaluationState::DataCollection as i32 {
                        e.self_assessment_deadline =
                            campaign::self_assessment_deadline(&c, today, &u.state.calendar);
                    }
                    evaluations::save(u.tx, &e, u.call.now).await?;
                    reached.push(evaluation::campaign_changed(&e));
                }
            }
            let saved = campaigns::save(u.tx, &c, u.call.now).await?;
            let mut write = change.into_write(pb::UpdateEvaluationCampaignResponse {
                evaluation_campaign: Some(saved),
            });
            for e in reached {
                write = write.and(e);
            }
            Ok(write)
        })
    })
    .await
}

/// The subjects of a campaign with their agreements: the listed ones, or every organization of the kind active in
/// the covered period (§3.3).
async fn subjects(tx: &mut Tx, c: &EvaluationCampaign) -> Result<Vec<(String, String)>, Error> {
    let (from, until) = period(c).unwrap_or_default();
    let active = match kind(c)? {
        SubjectKind::Operator => facts::operators_active(tx, &c.jurisdiction, from, until).await?,
        // S-YN Art.26: an operator evaluates its own developers.
        SubjectKind::Developer => {
            facts::developers_active(tx, &c.evaluating_organization, &c.jurisdiction, from, until).await?
        }
        SubjectKind::ImplementingAgency => with_no_agreement(
            facts::holders(tx, &c.jurisdiction, OrganizationRole::ImplementingAgency).await?,
        ),
        SubjectKind::DataProvider => {
            with_no_agreement(facts::holders(tx, &c.jurisdiction, OrganizationRole::DataProvider).await?)
        }
    };
    if c.subjects.is_empty() {
        return Ok(active);
    }
    let mut listed = Vec::new();
    for (i, s) in c.subjects.iter().enumerate() {
        facts::known_organization(tx, s, &format!("{FIELD}.subjects[{i}]")).await?;
        // A listed subject is one the campaign could evaluate: of its kind, in its jurisdiction, active then.
        let Some((_, agreement)) = active.iter().find(|(o, _)| o == s) else {
            return Err(Error::refused(
                ErrorReason::SubjectOutOfScope,
                format!(
                    "{s} is not an organization of the campaign's kind active in {} during the covered period",
                    c.jurisdiction
                ),
            ));
        };
        listed.push((s.clone(), agreement.clone()));
    }
    Ok(listed)
}

fn with_no_agreement(orgs: Vec<String>) -> Vec<(String, String)> {
    orgs.into_iter().map(|o| (o, String::new())).collect()
}

pub async fn start(
    ctx: &Ctx,
    call: Call,
    req: pb::StartEvaluationCampaignRequest,
) -> Result<pb::StartEvaluationCampaignResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = campaigns::lock(u.tx, &req.name, &req.etag).await?;
            campaign::require_evaluating(&c, u.call)?;
            check(u.tx, u.state, u.call, &c).await?;
            let found = subjects(u.tx, &c).await?;
            let mut refs = Vec::with_capacity(found.len());
            for (s, _) in &found {
                refs.push(facts::organization(u.tx, s).await?);
            }
            let jurisdiction = facts::jurisdiction(u.tx, &c.jurisdiction).await?;
            let evaluating = facts::organization(u.tx, &c.evaluating_organization).await?;
            let summary = campaign::summary(&c, jurisdiction.clone(), evaluating.clone());
            let started = campaign::start(&mut c, u.call, refs.clone(), summary)?;
            let third = third_parties(u.tx, &c.evaluators).await?;
            let deadline = campaign::self_assessment_deadline(&c, u.call.today(), &u.state.calendar);
            let mut opened = Vec::with_capacity(found.len());
            for ((subject, agreement), subject_ref) in found.into_iter().zip(refs) {
                // The evidence of the covered period is linked to the evaluation (§3.3).
                let (from, until) = period(&c).unwrap_or_default();
                let linked = evidence::of_period(u.tx, &subject, from, until).await?;
                let mut e = pdop_proto::evaluation::v1::Evaluation {
                    name: format!("{}/{}", evaluation::COLLECTION, storage::new_id()),
                    subject,
                    agreement,
                    evidence_records: linked.into_iter().map(|r| r.name).collect(),
                    ..Default::default()
                };
                let p = Parties {
                    subject: subject_ref,
                    evaluating: evaluating.clone(),
                    jurisdiction: jurisdiction.clone(),
                };
                let change = evaluation::open(
                    &mut e,
                    &c,
                    u.call,
                    assignments(&c.evaluators, &[], &third),
                    deadline.clone(),
                    &p,
                );
                evaluations::insert(u.tx, &e, u.call.now).await?;
                opened.push(change);
            }
            let saved = campaigns::save(u.tx, &c, u.call.now).await?;
            let mut write = Write::new(pb::StartEvaluationCampaignResponse {
                evaluation_campaign: Some(saved),
            })
            .and(started);
            for change in opened {
                write = write.and(change);
            }
            Ok(write)
        })
    })
    .await
}

pub async fn close(
    ctx: &Ctx,
    call: Call,
    req: pb::CloseEvaluationCampaignRequest,
) -> Result<pb::CloseEvaluationCampaignResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = campaigns::lock(u.tx, &req.name, &req.etag).await?;
            let results: Vec<_> = evaluations::of_campaign(u.tx, &c.name)
                .await?
                .into_iter()
                .map(|e| e.final_result.or(e.result))
                .collect();
            let jurisdiction = facts::jurisdiction(u.tx, &c.jurisdiction).await?;
            let evaluating = facts::organization(u.tx, &c.evaluating_organization).await?;
            let summary = campaign::summary(&c, jurisdiction, evaluating);
            let change = campaign::close(&mut c, u.call, &results, summary)?;
            let saved = campaigns::save(u.tx, &c, u.call.now).await?;
            Ok(change.into_write(pb::CloseEvaluationCampaignResponse {
                evaluation_campaign: Some(saved),
            }))
        })
    })
    .await
}
