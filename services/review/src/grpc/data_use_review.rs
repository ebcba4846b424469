//! The review RPCs of a data-use application (§2.4): the providers' confirmations, the lead's approval,
//! rejection and return, provisioning and revocation.

use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::review::v1 as pb;

use super::data_uses::confirm_step;
use super::parse;
use crate::context::Ctx;
use crate::domain::data_use_review::{self, Confirmation, Decided};
use crate::domain::scenario::Decision;
use crate::domain::{Error, ErrorReason, data_use, rules};
use crate::storage::{data_uses, deadlines, facts, opinions};

pub async fn confirm(
    ctx: &Ctx,
    call: Call,
    req: pb::ConfirmDataUseApplicationRequest,
) -> Result<pb::ConfirmDataUseApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let confirmation = Confirmation {
        decisions: req.decisions,
        comments: req.comments,
        late_explanation: req.late_explanation,
    };
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = data_uses::lock(u.tx, &req.name, &req.etag, "name").await?;
            let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
            let p = data_uses::parties_of(u.tx, &a).await?;
            let done = data_use_review::confirm(
                &mut a,
                u.call,
                &rules::data_use(&profile),
                &agreement,
                confirmation,
                &p,
            )?;
            let step = confirm_step(&u.call.caller.organization);
            deadlines::meet(u.tx, &a.name, &step, u.call.now).await?;
            if done.decided.is_some() {
                deadlines::meet_all(u.tx, &a.name, u.call.now).await?;
            }
            let saved = data_uses::save(u.tx, &a, u.call.now).await?;
            let write = done.confirmed.into_write(pb::ConfirmDataUseApplicationResponse {
                data_use_application: Some(saved),
            });
            Ok(match done.decided {
                None => write,
                Some(Decided::Approved(change)) => write.and(change),
                Some(Decided::Rejected(change)) => write.and(change),
            })
        })
    })
    .await
}

pub async fn approve(
    ctx: &Ctx,
    call: Call,
    req: pb::ApproveDataUseApplicationRequest,
) -> Result<pb::ApproveDataUseApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    parse::document(req.decision_document.as_ref(), "decision_document", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let decision = Decision {
        reasons: req.reasons,
        conditions: req.conditions,
        document: req.decision_document,
        late_explanation: req.late_explanation,
        ..Default::default()
    };
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = data_uses::lock(u.tx, &req.name, &req.etag, "name").await?;
            let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
            let opinions = opinions::of_round(u.tx, &a.name, data_use::round(&a)).await?;
            let p = data_uses::parties_of(u.tx, &a).await?;
            let rules = rules::data_use(&profile);
            let change =
                data_use_review::approve(&mut a, u.call, &rules, &agreement, &opinions, decision, &p)?;
            deadlines::meet_all(u.tx, &a.name, u.call.now).await?;
            let saved = data_uses::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::ApproveDataUseApplicationResponse {
                data_use_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn reject(
    ctx: &Ctx,
    call: Call,
    req: pb::RejectDataUseApplicationRequest,
) -> Result<pb::RejectDataUseApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let decision = parse::grounds(
        req.reasons,
        req.basis,
        req.decision_document,
        req.late_explanation,
    )?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = data_uses::lock(u.tx, &req.name, &req.etag, "name").await?;
            let profile = facts::profile(u.tx, &u.state.profiles, &a.jurisdiction).await?;
            let p = data_uses::parties_of(u.tx, &a).await?;
            let change = data_use_review::reject(&mut a, u.call, &rules::data_use(&profile), decision, &p)?;
            deadlines::meet_all(u.tx, &a.name, u.call.now).await?;
            let saved = data_uses::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::RejectDataUseApplicationResponse {
                data_use_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn return_for_supplement(
    ctx: &Ctx,
    call: Call,
    req: pb::ReturnDataUseApplicationForSupplementRequest,
) -> Result<pb::ReturnDataUseApplicationForSupplementResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let today = call.today();
    let request = parse::supplement(req.items, req.note, req.due_date, today)?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = data_uses::lock(u.tx, &req.name, &req.etag, "name").await?;
            let p = data_uses::parties_of(u.tx, &a).await?;
            let change = data_use_review::return_for_supplement(&mut a, u.call, request, &p)?;
            deadlines::meet_all(u.tx, &a.name, u.call.now).await?;
            let saved = data_uses::save(u.tx, &a, u.call.now).await?;
            Ok(
                change.into_write(pb::ReturnDataUseApplicationForSupplementResponse {
                    data_use_application: Some(saved),
                }),
            )
        })
    })
    .await
}

pub async fn provision(
    ctx: &Ctx,
    call: Call,
    req: pb::RecordDataUseProvisioningRequest,
) -> Result<pb::RecordDataUseProvisioningResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    parse::required(&req.provision_reference, "provision_reference", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = data_uses::lock(u.tx, &req.name, &req.etag, "name").await?;
            let row = facts::ancestry(u.tx, &a.jurisdiction).await?;
            pdop_kit::scope::may_supervise(&u.call.caller, &row, &a.name, ErrorReason::NotAParty)?;
            let agreement = facts::agreement(u.tx, &a.agreement, "name").await?;
            let p = data_uses::parties_of(u.tx, &a).await?;
            let change = data_use::provision(&mut a, u.call, &agreement, req.provision_reference, &p)?;
            let saved = data_uses::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::RecordDataUseProvisioningResponse {
                data_use_application: Some(saved),
            }))
        })
    })
    .await
}

pub async fn revoke(
    ctx: &Ctx,
    call: Call,
    req: pb::RevokeDataUseApplicationRequest,
) -> Result<pb::RevokeDataUseApplicationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let decision = parse::grounds(req.reasons, req.basis, None, String::new())?;
    let evidence = req.evidence;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut a = data_uses::lock(u.tx, &req.name, &req.etag, "name").await?;
            let caller = &u.call.caller;
            if caller.has_role(Role::DataAuthority) || caller.has_role(Role::ImplementingAgency) {
                let row = facts::ancestry(u.tx, &a.jurisdiction).await?;
                pdop_kit::scope::may_supervise(caller, &row, &a.name, ErrorReason::NotAParty)?;
            } else if !data_use::holds_items(caller, &a) {
                return Err(Error::denied(
                    ErrorReason::NotAProvider,
                    format!("{} provides no item of {}", caller.organization, a.name),
                ));
            }
            let p = data_uses::parties_of(u.tx, &a).await?;
            let change = data_use::revoke(&mut a, u.call, decision, &evidence, "", &p)?;
            deadlines::meet_all(u.tx, &a.name, u.call.now).await?;
            let saved = data_uses::save(u.tx, &a, u.call.now).await?;
            Ok(change.into_write(pb::RevokeDataUseApplicationResponse {
                data_use_application: Some(saved),
            }))
        })
    })
    .await
}
