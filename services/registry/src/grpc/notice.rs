//! `StartRegistrationNotice` and `IssueRegistrationCode`: the public notice (D5, N3 Art.12) and what follows it,
//! the code of a first registration (N3 Art.13) or the amendment a change or correction approved.

use chrono::Datelike;
use pdop_kit::convert::optional_date;
use pdop_kit::uow::{Call, Mutate, Write};
use pdop_proto::registry::v1 as pb;
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::{ObligationKind, Registration};

use super::decide;
use crate::context::Ctx;
use crate::domain::Error;
use crate::domain::registration::{self, Transition};
use crate::domain::registration_lifecycle::{self as lifecycle, ProductLinked};
use crate::names;
use crate::storage::{self, Tx, obligations};

pub async fn start_notice(
    ctx: &Ctx,
    call: Call,
    req: pb::StartRegistrationNoticeRequest,
) -> Result<pb::StartRegistrationNoticeResponse, Error> {
    let start = optional_date(req.start_date.as_ref()).map_err(|e| Error::invalid("start_date", e))?;
    let today = call.today();
    let start = start.unwrap_or(today);
    if start < today {
        return Err(Error::invalid(
            "start_date",
            "a public notice cannot start in the past",
        ));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            decide::may_decide(u.tx, u.call, &reg).await?;
            registration::require(&reg, Transition::StartNotice)?;
            let profile = storage::refs::profile_of_registration(u.tx, &u.state.profiles, &reg).await?;
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let change =
                registration::start_notice(&mut reg, &parties, u.call, &profile, &u.state.calendar, start)?;
            if let Some(d) = &reg.current_deadline {
                obligations::open(u.tx, u.call, &reg, ObligationKind::RegistrationNotice, "", d).await?;
            }
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(change.into_write(pb::StartRegistrationNoticeResponse {
                registration: Some(saved),
            }))
        })
    })
    .await
}

pub async fn issue_code(
    ctx: &Ctx,
    call: Call,
    req: pb::IssueRegistrationCodeRequest,
) -> Result<pb::IssueRegistrationCodeResponse, Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            decide::may_decide(u.tx, u.call, &reg).await?;
            registration::may_issue(&reg, u.call)?;
            // The notice ran its course; what follows it is the code (or the amendment it approved).
            obligations::meet(u.tx, u.call, &reg.name, ObligationKind::RegistrationNotice).await?;
            if !registration::is_first(&reg) {
                return amend(u.tx, u.call, reg).await;
            }
            // A registered product is linked to its registration (and listed if it was waiting for it).
            let product = match &reg.subject {
                Some(Subject::Product(name)) => storage::subjects::lock_product(u.tx, name).await?,
                _ => None,
            };
            let division = storage::refs::division(u.tx, &reg).await?;
            let pattern = &u.state.config.registration_code_format;
            let code =
                storage::registrations::next_code(u.tx, pattern, &division, u.call.today().year()).await?;
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let change = registration::issue_code(&mut reg, &parties, u.call, code)?;
            if let Some(Subject::Resource(name)) = &reg.subject
                && let Some(resource_id) = names::parse(name, "resources")
            {
                let id = names::parse(&reg.name, registration::COLLECTION);
                storage::subjects::link_resource(u.tx, resource_id, id, u.call.now).await?;
            }
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            let registered = saved.name.clone();
            let write = change.into_write(pb::IssueRegistrationCodeResponse {
                registration: Some(saved),
            });
            let Some(mut p) = product else {
                return Ok(write);
            };
            let refs = if lifecycle::lists_on_registration(&p) {
                let operator = storage::refs::organization(u.tx, &p.operator, "operator").await?;
                let jurisdiction = storage::refs::jurisdiction(u.tx, &p.jurisdiction, "jurisdiction").await?;
                Some((operator, jurisdiction))
            } else {
                None
            };
            let linked = lifecycle::link_product(&mut p, &registered, u.call, refs);
            storage::subjects::save_product(u.tx, &p, u.call.now).await?;
            Ok(match linked {
                ProductLinked::Listed(c) => write.and(*c),
                ProductLinked::Registered(c) => write.and(c),
            })
        })
    })
    .await
}

/// A change or correction whose notice ended amends its original, which keeps its code (N3 Art.9(2)-(3)).
async fn amend(
    tx: &mut Tx,
    call: &Call,
    mut app: Registration,
) -> Result<Write<pb::IssueRegistrationCodeResponse>, Error> {
    let mut original = storage::registrations::lock(tx, &app.original_registration, "").await?;
    registration::require(&original, Transition::Amend)?;
    let parties = storage::refs::parties(tx, &original).await?;
    let (coded, amended) = lifecycle::amend(&mut app, &mut original, &parties, call)?;
    storage::registrations::save(tx, &original, call.now).await?;
    let saved = storage::registrations::save(tx, &app, call.now).await?;
    Ok(coded
        .into_write(pb::IssueRegistrationCodeResponse {
            registration: Some(saved),
        })
        .and(amended))
}
