//! `CreateRegistration`, `GetRegistration`, `ListRegistrations`, `SubmitRegistration`, `AcceptRegistration`,
//! `ReturnRegistrationForSupplement`, `RefuseRegistration`, `CompleteRegistrationReview`: the application up to
//! its formal review (N3 Art.7-11).

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::convert::optional_date;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::uow::{Call, Mutate, Write};
use pdop_proto::registry::v1 as pb;
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::{
    CancellationReason, CorrectionBasis, ObligationKind, Registration, RegistrationKind,
    RegistrationMaterialKind, RegistrationReviewOutcome,
};

use super::decide;
use crate::context::Ctx;
use crate::domain::registration::{self, COLLECTION, Review};
use crate::domain::registration_lifecycle as lifecycle;
use crate::domain::{Error, ErrorReason};
use crate::names;
use crate::storage::{self, Tx, obligations};

/// What a registration is about: the resource or product, its registrant and jurisdiction.
struct SubjectOf {
    registrant: String,
    jurisdiction_id: String,
}

async fn subject_of(tx: &mut Tx, subject: &Subject) -> Result<SubjectOf, Error> {
    match subject {
        Subject::Resource(name) => {
            let r = storage::subjects::resource(tx, name, "registration.resource").await?;
            Ok(SubjectOf {
                registrant: r.provider,
                jurisdiction_id: r.jurisdiction_id,
            })
        }
        Subject::Product(name) => {
            storage::id_of(name, "products", "registration.product")?;
            let p = storage::subjects::lock_product(tx, name)
                .await?
                .ok_or_else(|| Error::not_found(ErrorReason::ProductNotFound, name))?;
            lifecycle::may_register_product(&p)?;
            Ok(SubjectOf {
                registrant: p.operator,
                jurisdiction_id: p.jurisdiction.trim_start_matches("jurisdictions/").to_owned(),
            })
        }
    }
}

/// Checks the kind-specific fields of an application (N3 Art.9).
fn validate_kind(kind: RegistrationKind, r: &Registration, v: &mut Violations) {
    if kind != RegistrationKind::First && names::parse(&r.original_registration, COLLECTION).is_none() {
        v.add(
            "registration.original_registration",
            "must name the CODED registration a change, correction or cancellation applies to",
        );
    }
    match kind {
        RegistrationKind::Change if r.change_description.trim().is_empty() => {
            v.add(
                "registration.change_description",
                "must say what changed (变更登记)",
            );
        }
        RegistrationKind::Correction
            if CorrectionBasis::try_from(r.correction_basis).unwrap_or_default()
                == CorrectionBasis::Unspecified =>
        {
            v.add(
                "registration.correction_basis",
                "must be REGISTRANT_CONSENT or PROOF_OF_ERROR (N3 Art.9(3))",
            );
        }
        RegistrationKind::Cancellation => {
            let reason = CancellationReason::try_from(r.cancellation_reason).unwrap_or_default();
            if matches!(
                reason,
                CancellationReason::Unspecified | CancellationReason::ExpiredNotRenewed
            ) {
                v.add(
                    "registration.cancellation_reason",
                    "must be RESOURCE_LOST, RIGHTS_ENDED, REGISTRANT_DISSOLVED or OTHER (N3 Art.9(4))",
                );
            }
        }
        _ => {}
    }
}

/// Every violation of an application as sent.
fn validate(kind: RegistrationKind, r: &Registration) -> Result<(), Error> {
    let mut v = Violations::new();
    if kind == RegistrationKind::Unspecified {
        v.add(
            "registration.kind",
            "must be FIRST, CHANGE, CORRECTION or CANCELLATION",
        );
    }
    validate_kind(kind, r, &mut v);
    if r.subject.is_none() {
        v.add(
            "registration.resource",
            "must name the resource (or product) to register",
        );
    }
    if r.title.trim().is_empty() {
        v.add(
            "registration.title",
            "must give the registered data's name (登记数据名称)",
        );
    }
    if r.content_summary.trim().is_empty() {
        v.add(
            "registration.content_summary",
            "must summarise the content (数据内容简介); it is published in the notice",
        );
    }
    for (i, m) in r.materials.iter().enumerate() {
        if RegistrationMaterialKind::try_from(m.kind).unwrap_or(RegistrationMaterialKind::Unspecified)
            == RegistrationMaterialKind::Unspecified
        {
            v.add(
                format!("registration.materials[{i}].kind"),
                "is not a known material",
            );
        }
    }
    if let Err(e) = optional_date(r.operation_start_date.as_ref()) {
        v.add("registration.operation_start_date", e);
    }
    if let Err(e) = optional_date(r.operating_term_end_date.as_ref()) {
        v.add("registration.operating_term_end_date", e);
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(v))
    }
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateRegistrationRequest,
) -> Result<pb::CreateRegistrationResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let r = req.registration.unwrap_or_default();
    let kind = RegistrationKind::try_from(r.kind).unwrap_or(RegistrationKind::Unspecified);
    validate(kind, &r)?;
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let subject = r.subject.clone().unwrap_or(Subject::Resource(String::new()));
            let of = subject_of(u.tx, &subject).await?;
            if kind != RegistrationKind::First {
                let field = "registration.original_registration";
                let original = storage::registrations::get(u.tx, &r.original_registration, field).await?;
                let (Subject::Resource(name) | Subject::Product(name)) = &subject;
                registration::may_apply_to(&original, name)?;
            }
            let applicant = registration::applicant_for(kind, &u.call.caller, &of.registrant)?;
            let profile = storage::refs::profile_of(u.tx, &u.state.profiles, &of.jurisdiction_id).await?;
            let id = uuid::Uuid::now_v7().to_string();
            let mut reg = Registration {
                name: names::registration(&id),
                kind: kind as i32,
                subject: Some(subject),
                applicant,
                registrant: of.registrant.clone(),
                jurisdiction: names::jurisdiction(&of.jurisdiction_id),
                ..r
            };
            let change = registration::draft(&mut reg, &profile, &u.state.calendar);
            let created = storage::registrations::insert(u.tx, &id, &reg, u.call.now).await?;
            if let Some(d) = &created.current_deadline {
                let kind = if created.legacy_operation {
                    ObligationKind::LegacyRegistration
                } else {
                    ObligationKind::FirstRegistration
                };
                obligations::open(u.tx, u.call, &created, kind, &created.applicant, d).await?;
            }
            Ok(change.into_write(pb::CreateRegistrationResponse {
                registration: Some(created),
            }))
        })
    })
    .await
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetRegistrationRequest,
) -> Result<pb::GetRegistrationResponse, Error> {
    let (reg, applicant) = storage::registrations::read(&ctx.platform.pool, &req.name).await?;
    if !registration::may_read(&call.caller, &applicant) {
        return Err(Error::denied(
            ErrorReason::NotYourApplication,
            "only the applicant and the registry read an application",
        ));
    }
    Ok(pb::GetRegistrationResponse {
        registration: Some(reg),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListRegistrationsRequest,
) -> Result<pb::ListRegistrationsResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let mut organization =
        optional_name(&req.organization, "organizations", "organization", &mut v).map(str::to_owned);
    let resource = optional_name(&req.resource, "resources", "resource", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    // Other roles see only their own organization's applications.
    let caller = &call.caller;
    if !(caller.has_role(Role::DataAuthority) || caller.has_role(Role::Auditor)) {
        let own = caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned();
        if organization.as_ref().is_some_and(|o| *o != own) {
            return Err(Error::denied(
                ErrorReason::NotYourApplication,
                "you may list only your own organization's applications",
            ));
        }
        organization = Some(own);
    }
    let filter = storage::registrations::Filter {
        after,
        jurisdiction,
        organization,
        resource,
        kind: req.kind,
        state: req.state,
        registration_code: &req.registration_code,
        size,
    };
    let (registrations, next_page_token) = storage::registrations::list(&ctx.platform.pool, filter).await?;
    Ok(pb::ListRegistrationsResponse {
        registrations,
        next_page_token,
    })
}

pub async fn submit(
    ctx: &Ctx,
    call: Call,
    req: pb::SubmitRegistrationRequest,
) -> Result<pb::SubmitRegistrationResponse, Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            registration::may_submit(&u.call.caller, &reg)?;
            let profile = storage::refs::profile_of_registration(u.tx, &u.state.profiles, &reg).await?;
            let resource = match &reg.subject {
                Some(Subject::Resource(name)) if profile.registration.preconditions.is_some() => {
                    Some(storage::subjects::resource(u.tx, name, "name").await?.facts)
                }
                _ => None,
            };
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let change = registration::submit(
                &mut reg,
                &parties,
                u.call,
                &profile,
                &u.state.calendar,
                resource.as_ref(),
            )?;
            for kind in [
                ObligationKind::FirstRegistration,
                ObligationKind::LegacyRegistration,
            ] {
                obligations::meet(u.tx, u.call, &reg.name, kind).await?;
            }
            if let Some(d) = &reg.current_deadline {
                let kind = ObligationKind::RegistrationAcceptance;
                obligations::open(u.tx, u.call, &reg, kind, "", d).await?;
            }
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(change.into_write(pb::SubmitRegistrationResponse {
                registration: Some(saved),
            }))
        })
    })
    .await
}

pub async fn accept(
    ctx: &Ctx,
    call: Call,
    req: pb::AcceptRegistrationRequest,
) -> Result<pb::AcceptRegistrationResponse, Error> {
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            decide::may_decide(u.tx, u.call, &reg).await?;
            registration::require(&reg, registration::Transition::Accept)?;
            let profile = storage::refs::profile_of_registration(u.tx, &u.state.profiles, &reg).await?;
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let change = registration::accept(&mut reg, &parties, u.call, &profile, &u.state.calendar)?;
            let review_kind = if registration::is_cancellation(&reg) {
                ObligationKind::RegistrationCancellation
            } else {
                ObligationKind::RegistrationReview
            };
            obligations::meet(u.tx, u.call, &reg.name, ObligationKind::RegistrationAcceptance).await?;
            if let Some(d) = &reg.current_deadline {
                obligations::open(u.tx, u.call, &reg, review_kind, "", d).await?;
            }
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(change.into_write(pb::AcceptRegistrationResponse {
                registration: Some(saved),
            }))
        })
    })
    .await
}

pub async fn return_for_supplement(
    ctx: &Ctx,
    call: Call,
    req: pb::ReturnRegistrationForSupplementRequest,
) -> Result<pb::ReturnRegistrationForSupplementResponse, Error> {
    let mut v = Violations::new();
    if req.missing_materials.is_empty() {
        v.add(
            "missing_materials",
            "must list everything missing in one notice (一次性告知, N3 Art.10)",
        );
    }
    for (i, m) in req.missing_materials.iter().enumerate() {
        if m.description.trim().is_empty() {
            v.add(
                format!("missing_materials[{i}].description"),
                "must say what is missing",
            );
        }
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            decide::may_decide(u.tx, u.call, &reg).await?;
            registration::require(&reg, registration::Transition::ReturnForSupplement)?;
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let change = registration::return_for_supplement(
                &mut reg,
                &parties,
                u.call,
                req.missing_materials,
                &req.note,
            )?;
            // Returning for supplement decides on acceptance; resubmission opens a new acceptance clock (D3).
            obligations::meet(u.tx, u.call, &reg.name, ObligationKind::RegistrationAcceptance).await?;
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(change.into_write(pb::ReturnRegistrationForSupplementResponse {
                registration: Some(saved),
            }))
        })
    })
    .await
}

pub async fn refuse(
    ctx: &Ctx,
    call: Call,
    req: pb::RefuseRegistrationRequest,
) -> Result<pb::RefuseRegistrationResponse, Error> {
    if req.reason.trim().is_empty() {
        return Err(Error::invalid(
            "reason",
            "a refusal to accept needs reasons (N3 Art.10)",
        ));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            decide::may_decide(u.tx, u.call, &reg).await?;
            registration::require(&reg, registration::Transition::Refuse)?;
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let change = registration::refuse(&mut reg, &parties, u.call, &req.reason)?;
            obligations::meet(u.tx, u.call, &reg.name, ObligationKind::RegistrationAcceptance).await?;
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            Ok(change.into_write(pb::RefuseRegistrationResponse {
                registration: Some(saved),
            }))
        })
    })
    .await
}

pub async fn complete_review(
    ctx: &Ctx,
    call: Call,
    req: pb::CompleteRegistrationReviewRequest,
) -> Result<pb::CompleteRegistrationReviewResponse, Error> {
    let outcome =
        RegistrationReviewOutcome::try_from(req.outcome).unwrap_or(RegistrationReviewOutcome::Unspecified);
    let mut v = Violations::new();
    if outcome == RegistrationReviewOutcome::Unspecified {
        v.add("outcome", "must be PASSED or FAILED");
    }
    if outcome == RegistrationReviewOutcome::Failed && req.reasons.trim().is_empty() {
        v.add("reasons", "a failed review needs reasons");
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let review = Review {
        outcome,
        reasons: req.reasons,
        late_explanation: req.late_explanation,
    };
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut reg = storage::registrations::lock(u.tx, &req.name, &req.etag).await?;
            decide::may_decide(u.tx, u.call, &reg).await?;
            registration::may_complete_review(&reg, u.call, &review)?;
            // A cancellation needs no public notice: passing review completes it (N3 Art.9(4), D6).
            let original = if registration::review_cancels_original(&reg, &review) {
                Some(storage::registrations::lock(u.tx, &reg.original_registration, "").await?)
            } else {
                None
            };
            let parties = storage::refs::parties(u.tx, &reg).await?;
            let change = registration::complete_review(&mut reg, &parties, u.call, review)?;
            let review_kind = if registration::is_cancellation(&reg) {
                ObligationKind::RegistrationCancellation
            } else {
                ObligationKind::RegistrationReview
            };
            obligations::meet(u.tx, u.call, &reg.name, review_kind).await?;
            let cancelled = match original {
                Some(mut original) => {
                    let reason = CancellationReason::try_from(reg.cancellation_reason).unwrap_or_default();
                    let note = reg.decision_reason.clone();
                    let (cancelled, _) =
                        super::lifecycle::cancel_locked(u.tx, u.call, &mut original, reason, &note).await?;
                    Some(cancelled)
                }
                None => None,
            };
            let saved = storage::registrations::save(u.tx, &reg, u.call.now).await?;
            let mut write = Write::new(pb::CompleteRegistrationReviewResponse {
                registration: Some(saved),
            });
            // The original's cancellation is announced before the review that completed it, as it happened.
            if let Some(cancelled) = cancelled {
                write = write.and(cancelled);
            }
            Ok(write.and(change))
        })
    })
    .await
}
