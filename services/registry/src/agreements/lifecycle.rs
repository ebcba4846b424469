//! An agreement's life after drafting: signing, filing, renewal, suspension, termination, destruction of
//! raw data and the termination filing. Each transition is one revision, one audit row and one event.

use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_proto::common::{DateRange, OrganizationRole};
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    Agreement, AgreementState, ApplyAgreementRenewalRequest, ApplyAgreementRenewalResponse,
    FileAgreementRequest, FileAgreementResponse, FileAgreementTerminationRequest,
    FileAgreementTerminationResponse, ObligationKind, RecordDataDestructionRequest,
    RecordDataDestructionResponse, RenewAgreementRequest, RenewAgreementResponse, SignAgreementRequest,
    SignAgreementResponse, TerminateAgreementRequest, TerminateAgreementResponse, TerminationGround,
};
use pdop_rules::deadlines::{deadline, describe, rule_id, term_end};
use sqlx::{Postgres, Transaction};
use tonic::Status;

use super::drafting::{check_operator, check_scope, check_term_cap, insert, missing_contents};
use super::{Row, add_revision, check_agency, commit_change, for_change, set_scope, state_of, term_of};
use crate::checklist::ground_kind;
use crate::context::{Ctx, Handling};
use crate::convert::{self, actor, date, due_date, naive_date, optional_date, timestamp};
use crate::deadlines::{self, Obligation};
use crate::organizations;
use crate::validate::{self, past_or_today};

/// The filing obligations of an agreement are the implementing agency's (it reports to the higher authority).
fn obligation(a: &Agreement, kind: ObligationKind) -> Obligation<'_> {
    Obligation {
        kind,
        subject: &a.name,
        responsible: &a.implementing_agency,
        jurisdiction: &a.jurisdiction,
    }
}

pub(super) fn require(
    ctx: &Ctx,
    a: &Agreement,
    allowed: &[AgreementState],
    action: &str,
) -> Result<(), Status> {
    ctx.require_state(&a.name, state_of(a), allowed, action)
}

pub(super) fn reason_required(ctx: &Ctx, field: &str, value: &str, what: &str) -> Result<(), Status> {
    if value.trim().is_empty() {
        let mut v = Violations::new();
        v.add(field, what);
        return Err(ctx.errors().invalid(&v));
    }
    Ok(())
}

/// Implementing agencies act on their own agreements; data authorities supervise those of their jurisdiction
/// and below it (THREATS H2), as agencies do.
pub(super) async fn check_agency_or_authority(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    a: &Agreement,
) -> Result<(), Status> {
    if !(caller.has_role(Role::DataAuthority) && caller.organization != a.operator) {
        check_agency(ctx, caller, a)?;
    }
    crate::supervision::require(ctx, tx, caller, &a.jurisdiction, &a.name).await
}

pub async fn sign(
    ctx: &Ctx,
    caller: &Caller,
    req: SignAgreementRequest,
) -> Result<SignAgreementResponse, Status> {
    const METHOD: &str = "registry.SignAgreement";
    let mut v = Violations::new();
    if req.collective_decision.as_ref().is_none_or(|d| d.uri.is_empty()) {
        v.add(
            "collective_decision",
            "must reference the record of the implementing agency's 三重一大 decision (N2 Art.13)",
        );
    }
    let sign_date = past_or_today(
        req.sign_date.as_ref(),
        "sign_date",
        ctx.platform.clock.today(),
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut a) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    check_agency(ctx, caller, &a)?;
    require(ctx, &a, &[AgreementState::Draft], "signing")?;
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    if let Some(missing) = missing_contents(&profile, &a) {
        return Err(ctx.errors().failed_precondition(
            "CHECKLIST_INCOMPLETE",
            format!("the agreement does not cover every required item {missing}"),
        ));
    }
    // Facts may have changed since drafting: a resource negative-listed, an incident recorded.
    check_scope(ctx, &mut tx, &a).await?;
    check_operator(ctx, &mut tx, &profile, &a.operator, &a.jurisdiction).await?;
    a.state = AgreementState::Signed as i32;
    a.collective_decision = req.collective_decision;
    a.sign_date = Some(date(sign_date));
    if req.agreement_document.is_some() {
        a.agreement_document = req.agreement_document;
    }
    // D14 Yunnan 20 WD, D15 Hubei 1 M, D16 Laiyuan 10 WD; none nationally or in Henan.
    a.filing_deadline = profile.agreement.filing_deadline.as_ref().map(|p| {
        convert::deadline(&deadline(
            &ctx.calendar,
            &profile,
            &rule_id("agreement_filing", &p.source),
            p,
            sign_date,
        ))
    });
    if let Some(d) = &a.filing_deadline {
        let o = obligation(&a, ObligationKind::AgreementFiling);
        deadlines::open(ctx, &mut tx, o, d).await?;
    }
    let saved = commit_change(
        ctx,
        &mut tx,
        caller,
        &row,
        &a,
        &["state", "sign_date", "filing_deadline"],
        METHOD,
        "pdop.registry.agreement.signed",
        |summary| ev::AgreementSigned {
            agreement: Some(summary),
            sign_date: a.sign_date,
            filing_deadline: a.filing_deadline.clone(),
            actor: Some(actor(caller)),
        },
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(SignAgreementResponse {
        agreement: Some(saved),
    })
}

pub async fn file(
    ctx: &Ctx,
    caller: &Caller,
    req: FileAgreementRequest,
) -> Result<FileAgreementResponse, Status> {
    const METHOD: &str = "registry.FileAgreement";
    let mut v = Violations::new();
    let filing_date = validate::filing(
        &req.filed_with,
        req.filing_date.as_ref(),
        ctx.platform.clock.today(),
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut a) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    ctx.not_own(
        caller,
        &[a.implementing_agency.as_str(), a.operator.as_str()],
        &a.name,
    )?;
    // The filing authority supervises the agreement's jurisdiction (THREATS H2).
    crate::supervision::require(ctx, &mut tx, caller, &a.jurisdiction, &a.name).await?;
    require(ctx, &a, &[AgreementState::Signed], "filing")?;
    let filed_with = organizations::holding(
        ctx,
        &mut tx,
        &req.filed_with,
        "filed_with",
        OrganizationRole::DataAuthority,
    )
    .await?;
    if a.sign_date
        .as_ref()
        .and_then(naive_date)
        .is_some_and(|signed| filing_date < signed)
    {
        let mut v = Violations::new();
        v.add("filing_date", "must not be before the signing date");
        return Err(ctx.errors().invalid(&v));
    }
    let late = due_date(a.filing_deadline.as_ref()).is_some_and(|due| filing_date > due);
    // Access is granted once filed and within the term; before the term the scheduler activates it.
    let started = term_of(&a).is_some_and(|(start, _)| start <= ctx.platform.clock.today());
    a.state = if started {
        AgreementState::Active
    } else {
        AgreementState::Filed
    } as i32;
    a.filed_with = filed_with.name.clone();
    a.filing_date = Some(date(filing_date));
    a.filing_reference = req.filing_reference.trim().to_owned();
    deadlines::meet(ctx, &mut tx, &a.name, ObligationKind::AgreementFiling).await?;
    let saved = commit_change(
        ctx,
        &mut tx,
        caller,
        &row,
        &a,
        &["state", "filed_with", "filing_date", "filing_reference"],
        METHOD,
        "pdop.registry.agreement.filed",
        |summary| ev::AgreementFiled {
            agreement: Some(summary),
            filed_with: Some(filed_with),
            filing_date: a.filing_date,
            filing_reference: a.filing_reference.clone(),
            late,
            actor: Some(actor(caller)),
        },
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(FileAgreementResponse {
        agreement: Some(saved),
    })
}

pub async fn apply_renewal(
    ctx: &Ctx,
    caller: &Caller,
    req: ApplyAgreementRenewalRequest,
) -> Result<ApplyAgreementRenewalResponse, Status> {
    const METHOD: &str = "registry.ApplyAgreementRenewal";
    let application = req.application.unwrap_or_default();
    let mut v = Violations::new();
    if application.requested_term.is_none() {
        v.add("application.requested_term", "must give the term requested");
    }
    validate::term(
        application.requested_term.as_ref(),
        "application.requested_term",
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut a) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    if caller.organization != a.operator {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_OPERATOR",
            format!("only {} (the operator) applies to renew {}", a.operator, a.name),
        ));
    }
    require(ctx, &a, &[AgreementState::Active], "a renewal application")?;
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    let (_, end) = term_of(&a).unwrap_or_default();
    // D18 (S-LY §二(二)): apply within the 3 months before expiry, not earlier.
    if let Some(window) = &profile.agreement.renewal_application_window {
        let opens = ctx.calendar.opens_before(end, window.value).due;
        if ctx.platform.clock.today() < opens {
            return Err(ctx.errors().failed_precondition(
                "RENEWAL_WINDOW_CLOSED",
                format!(
                    "renewal applications open on {opens}, {} before the term ends on {end} ({})",
                    describe(window.value),
                    window.source
                ),
            ));
        }
    }
    let requested_start = application
        .requested_term
        .as_ref()
        .and_then(|t| t.start_date.as_ref())
        .and_then(naive_date);
    if requested_start.is_some_and(|s| s <= end) {
        let mut v = Violations::new();
        v.add(
            "application.requested_term.start_date",
            format!("must be after the current term ends on {end}"),
        );
        return Err(ctx.errors().invalid(&v));
    }
    let apply_date = ctx.platform.clock.today();
    a.renewal_application = Some(pdop_proto::registry::v1::RenewalApplication {
        apply_date: Some(date(apply_date)),
        ..application
    });
    let requested_term = a.renewal_application.as_ref().and_then(|r| r.requested_term);
    let saved = commit_change(
        ctx,
        &mut tx,
        caller,
        &row,
        &a,
        &["renewal_application"],
        METHOD,
        "pdop.registry.agreement.renewal_applied",
        |summary| ev::AgreementRenewalApplied {
            agreement: Some(summary),
            apply_date: Some(date(apply_date)),
            requested_term,
            actor: Some(actor(caller)),
        },
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(ApplyAgreementRenewalResponse {
        agreement: Some(saved),
    })
}

pub async fn renew(
    ctx: &Ctx,
    caller: &Caller,
    req: RenewAgreementRequest,
) -> Result<RenewAgreementResponse, Status> {
    const METHOD: &str = "registry.RenewAgreement";
    let mut v = Violations::new();
    if req.term.is_none() {
        v.add("term", "must give the successor's term");
    }
    validate::term(req.term.as_ref(), "term", &mut v);
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let (row, mut a) = for_change(ctx, &mut tx, &req.name, "").await?;
    check_agency(ctx, caller, &a)?;
    require(ctx, &a, &[AgreementState::Active], "renewal")?;
    if a.renewal_application.is_none() {
        return Err(ctx.errors().failed_precondition(
            "NO_RENEWAL_APPLICATION",
            "the operator has not applied to renew; a renewal follows its application (N2 Art.14(9))",
        ));
    }
    if !a.successor.is_empty() {
        return Err(ctx.errors().failed_precondition(
            "ALREADY_RENEWED",
            format!("{} was already renewed by {}", a.name, a.successor),
        ));
    }
    let (_, end) = term_of(&a).unwrap_or_default();
    let successor_term: DateRange = req.term.unwrap_or_default();
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    let mut successor = Agreement {
        display_name: a.display_name.clone(),
        jurisdiction: a.jurisdiction.clone(),
        implementing_agency: a.implementing_agency.clone(),
        operator: a.operator.clone(),
        co_signers: a.co_signers.clone(),
        implementation_plan: a.implementation_plan.clone(),
        selection_method: a.selection_method,
        selection_document: a.selection_document.clone(),
        resources: a.resources.clone(),
        term: Some(successor_term),
        content_items: a.content_items.clone(),
        state: AgreementState::Draft as i32,
        ..Default::default()
    };
    let mut v = Violations::new();
    if term_of(&successor).is_some_and(|(start, _)| start <= end) {
        v.add(
            "term.start_date",
            format!("must be after the current term ends on {end}"),
        );
    }
    check_term_cap(&profile, &successor, "term", &mut v);
    v.into_result(ctx.errors())?;
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = insert(ctx, &mut tx, &id, &row.jurisdiction_id, &successor, Some(&row.id)).await?;
    successor = inserted.to_proto();
    set_scope(ctx, &mut tx, &id, &successor.resources).await?;
    add_revision(ctx, &mut tx, caller, &successor, &["*"]).await?;
    a.successor = successor.name.clone();
    let successor_name = successor.name.clone();
    let saved = commit_change(
        ctx,
        &mut tx,
        caller,
        &row,
        &a,
        &["successor"],
        METHOD,
        "pdop.registry.agreement.renewed",
        |summary| ev::AgreementRenewed {
            agreement: Some(summary),
            successor: successor_name,
            successor_term: Some(successor_term),
            actor: Some(actor(caller)),
        },
    )
    .await?;
    let response = RenewAgreementResponse {
        successor: Some(successor),
        agreement: Some(saved),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn terminate(
    ctx: &Ctx,
    caller: &Caller,
    req: TerminateAgreementRequest,
) -> Result<TerminateAgreementResponse, Status> {
    const METHOD: &str = "registry.TerminateAgreement";
    let ground = TerminationGround::try_from(req.ground).unwrap_or(TerminationGround::Unspecified);
    let mut v = Violations::new();
    if ground == TerminationGround::Unspecified {
        v.add("ground", "must name the ground of termination");
    }
    if req.description.trim().is_empty() {
        v.add("description", "must state the facts");
    }
    let termination_date = match optional_date(req.termination_date.as_ref()) {
        Ok(d) => d.unwrap_or_else(|| ctx.platform.clock.today()),
        Err(e) => {
            v.add("termination_date", e);
            ctx.platform.clock.today()
        }
    };
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut a) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    check_agency_or_authority(ctx, &mut tx, caller, &a).await?;
    require(
        ctx,
        &a,
        &[
            AgreementState::Signed,
            AgreementState::Filed,
            AgreementState::Active,
            AgreementState::Suspended,
        ],
        "termination",
    )?;
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    // Laiyuan (S-LY) and Hubei (S-HB §三(六)) enumerate the grounds; elsewhere the agreement sets them.
    if let Some(grounds) = &profile.agreement.termination_grounds {
        let allowed: Vec<TerminationGround> =
            grounds.value.iter().filter_map(|g| ground_kind(&g.id)).collect();
        if !allowed.contains(&ground) {
            let mut v = Violations::new();
            let names: Vec<String> = allowed.iter().map(|g| format!("{g:?}")).collect();
            v.add(
                "ground",
                format!(
                    "{ground:?} is not a ground in {} ({}); allowed: {}",
                    profile.id,
                    grounds.source,
                    names.join(", ")
                ),
            );
            return Err(ctx.errors().invalid(&v));
        }
    }
    let now = ctx.platform.clock.now();
    a.state = AgreementState::Terminated as i32;
    a.termination_ground = ground as i32;
    a.termination_description = req.description.trim().to_owned();
    a.termination_date = Some(date(termination_date));
    a.access_revoke_time = Some(timestamp(now));
    // D17 (S-LY §三(三)5): the termination is filed within 10 WD.
    a.termination_filing_deadline = profile.agreement.termination_filing_deadline.as_ref().map(|p| {
        convert::deadline(&deadline(
            &ctx.calendar,
            &profile,
            &rule_id("termination_filing", &p.source),
            p,
            termination_date,
        ))
    });
    deadlines::cancel(ctx, &mut tx, &a.name, ObligationKind::AgreementFiling).await?;
    // Terminating is one of the measures an evaluation follow-up asks for (REVIEW-EVALUATION §3.8).
    crate::follow_ups::meet(ctx, &mut tx, &a.name).await?;
    if let Some(d) = &a.termination_filing_deadline {
        let o = obligation(&a, ObligationKind::AgreementTerminationFiling);
        deadlines::open(ctx, &mut tx, o, d).await?;
    }
    let saved = commit_change(
        ctx,
        &mut tx,
        caller,
        &row,
        &a,
        &[
            "state",
            "termination_ground",
            "termination_date",
            "access_revoke_time",
        ],
        METHOD,
        "pdop.registry.agreement.terminated",
        |summary| ev::AgreementTerminated {
            agreement: Some(summary),
            ground: ground as i32,
            description: a.termination_description.clone(),
            termination_date: a.termination_date,
            access_revoke_time: a.access_revoke_time,
            actor: Some(actor(caller)),
        },
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(TerminateAgreementResponse {
        agreement: Some(saved),
    })
}

pub async fn record_destruction(
    ctx: &Ctx,
    caller: &Caller,
    req: RecordDataDestructionRequest,
) -> Result<RecordDataDestructionResponse, Status> {
    const METHOD: &str = "registry.RecordDataDestruction";
    let record = req.record.unwrap_or_default();
    let mut v = Violations::new();
    if record.scope.trim().is_empty() {
        v.add("record.scope", "must say what was destroyed");
    }
    if record.method.trim().is_empty() {
        v.add("record.method", "must say how it was destroyed");
    }
    let destroyed = past_or_today(
        record.destroyed_date.as_ref(),
        "record.destroyed_date",
        ctx.platform.clock.today(),
        &mut v,
    );
    let retained = optional_date(record.logs_retained_until.as_ref());
    if !matches!(retained, Ok(Some(_))) {
        v.add(
            "record.logs_retained_until",
            "must give the last day destruction records and network logs are kept",
        );
    }
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut a) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    check_agency(ctx, caller, &a)?;
    require(
        ctx,
        &a,
        &[AgreementState::Terminated, AgreementState::Expired],
        "recording data destruction",
    )?;
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    // D27 (S-LY §三(三)5): records and network logs are kept at least 6 months after destruction.
    if let (Some(minimum), Ok(Some(until))) = (&profile.retention.destruction_records, retained) {
        let earliest = term_end(destroyed, minimum.value).and_then(|d| d.succ_opt());
        if earliest.is_some_and(|earliest| until < earliest) {
            let mut v = Violations::new();
            v.add(
                "record.logs_retained_until",
                format!(
                    "records must be kept at least {} after destruction ({}), i.e. until {} or later",
                    describe(minimum.value),
                    minimum.source,
                    earliest.map(|d| d.to_string()).unwrap_or_default()
                ),
            );
            return Err(ctx.errors().invalid(&v));
        }
    }
    a.destruction_record = Some(pdop_proto::registry::v1::DataDestructionRecord {
        destroyed_date: Some(date(destroyed)),
        recorded: Some(pdop_proto::common::AuditInfo {
            actor: Some(actor(caller)),
            time: Some(timestamp(ctx.platform.clock.now())),
            ..Default::default()
        }),
        ..record
    });
    let r = a.destruction_record.clone().unwrap_or_default();
    let saved = commit_change(
        ctx,
        &mut tx,
        caller,
        &row,
        &a,
        &["destruction_record"],
        METHOD,
        "pdop.registry.agreement.destruction_recorded",
        |summary| ev::DataDestructionRecorded {
            agreement: Some(summary),
            destroyed_date: r.destroyed_date,
            scope: r.scope.clone(),
            copies_included: r.copies_included,
            logs_retained_until: r.logs_retained_until,
            actor: Some(actor(caller)),
        },
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(RecordDataDestructionResponse {
        agreement: Some(saved),
    })
}

pub async fn file_termination(
    ctx: &Ctx,
    caller: &Caller,
    req: FileAgreementTerminationRequest,
) -> Result<FileAgreementTerminationResponse, Status> {
    const METHOD: &str = "registry.FileAgreementTermination";
    let mut v = Violations::new();
    let filing_date = validate::filing(
        &req.filed_with,
        req.filing_date.as_ref(),
        ctx.platform.clock.today(),
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut a) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    ctx.not_own(
        caller,
        &[a.implementing_agency.as_str(), a.operator.as_str()],
        &a.name,
    )?;
    // The filing authority supervises the agreement's jurisdiction (THREATS H2).
    crate::supervision::require(ctx, &mut tx, caller, &a.jurisdiction, &a.name).await?;
    require(ctx, &a, &[AgreementState::Terminated], "filing the termination")?;
    if a.termination_filing_date.is_some() {
        return Err(ctx.errors().failed_precondition(
            "ALREADY_FILED",
            format!("the termination of {} is already filed", a.name),
        ));
    }
    let filed_with = organizations::holding(
        ctx,
        &mut tx,
        &req.filed_with,
        "filed_with",
        OrganizationRole::DataAuthority,
    )
    .await?;
    a.termination_filing_date = Some(date(filing_date));
    deadlines::meet(ctx, &mut tx, &a.name, ObligationKind::AgreementTerminationFiling).await?;
    let saved = commit_change(
        ctx,
        &mut tx,
        caller,
        &row,
        &a,
        &["termination_filing_date"],
        METHOD,
        "pdop.registry.agreement.termination_filed",
        |summary| ev::AgreementTerminationFiled {
            agreement: Some(summary),
            filed_with: Some(filed_with),
            filing_date: Some(date(filing_date)),
            actor: Some(actor(caller)),
        },
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(FileAgreementTerminationResponse {
        agreement: Some(saved),
    })
}

/// Used by the scheduler: a transition it makes with its own service identity.
pub(super) async fn scheduled<E: prost::Message>(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    a: &Agreement,
    subject: &str,
    event: impl FnOnce(ev::AgreementSummary) -> E,
) -> Result<Agreement, Status> {
    commit_change(
        ctx,
        tx,
        caller,
        row,
        a,
        &["state"],
        "registry.AgreementScheduler",
        subject,
        event,
    )
    .await
}
