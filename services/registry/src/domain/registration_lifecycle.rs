//! A registration after coding (N3 Art.9, 15, 20): change and correction applications amend the original,
//! which keeps its code; renewal within 60 days before expiry (D8) extends it by up to 3 years; it is
//! cancelled on an application (D6) or when it expires unrenewed, and revoked for registrant misconduct.
//! Drafts are edited with [`update`].

use chrono::{Months, NaiveDate};
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, date, naive_date, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::{DateRange, JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    CancellationReason, Product, ProductState, Registration, RegistrationKind, RegistrationState,
    RevocationGround,
};
use pdop_rules::deadlines::describe;
use pdop_rules::{Calendar, Profile};

use super::error::{Error, ErrorReason};
use super::registration::{
    Parties, Transition, audit_detail, is_first, may_issue, not_own, own_application, require, state_of,
    summary,
};

/// States from which nothing further happens to an application or registration.
pub const TERMINAL: [RegistrationState; 6] = [
    RegistrationState::NotAccepted,
    RegistrationState::Rejected,
    RegistrationState::Terminated,
    RegistrationState::Completed,
    RegistrationState::Cancelled,
    RegistrationState::Revoked,
];

/// The fields an applicant edits on its draft (AIP-134).
pub const MUTABLE: &[&str] = &[
    "title",
    "content_summary",
    "materials",
    "internal_review",
    "change_description",
    "co_applicants",
    "operation_start_date",
    "operating_term_end_date",
];

/// The note an expiry cancellation carries.
pub const EXPIRED_NOTE: &str = "期满未续展 (N3 Art.15)";

pub fn validity_end(reg: &Registration) -> Option<NaiveDate> {
    reg.validity
        .as_ref()
        .and_then(|v| v.end_date.as_ref())
        .and_then(naive_date)
}

/// Copies the `changed` fields of `from` onto the applicant's draft. Applications are private until
/// submitted: audited, no event.
pub fn update(
    reg: &mut Registration,
    caller: &Caller,
    from: Registration,
    changed: &[&'static str],
) -> Result<Change, Error> {
    own_application(caller, reg, "only the applicant edits its application")?;
    require(reg, Transition::Edit)?;
    for field in changed {
        match *field {
            "title" => reg.title = from.title.trim().to_owned(),
            "content_summary" => reg.content_summary = from.content_summary.trim().to_owned(),
            "materials" => reg.materials = from.materials.clone(),
            "internal_review" => reg.internal_review = from.internal_review.clone(),
            "change_description" => reg.change_description = from.change_description.clone(),
            "co_applicants" => reg.co_applicants = from.co_applicants.clone(),
            "operation_start_date" => reg.operation_start_date = from.operation_start_date,
            "operating_term_end_date" => reg.operating_term_end_date = from.operating_term_end_date,
            _ => {}
        }
    }
    Ok(Change::new(&reg.name, serde_json::json!({ "changed": changed })))
}

/// Applies a change or correction application whose notice ended: the original takes the new title and
/// summary and keeps its code; the application is COMPLETED (N3 Art.9(2)-(3)). Returns the application's change
/// (announcing the original as coded) and the original's.
pub fn amend(
    app: &mut Registration,
    original: &mut Registration,
    original_parties: &Parties,
    call: &Call,
) -> Result<(Change<ev::RegistrationCoded>, Change), Error> {
    may_issue(app, call)?;
    require(original, Transition::Amend)?;
    original.title = app.title.clone();
    original.content_summary = app.content_summary.clone();
    original.amendments.push(app.name.clone());
    app.state = RegistrationState::Completed as i32;
    app.current_deadline = None;
    let coded = Change::new(&app.name, audit_detail(app)).announce(ev::RegistrationCoded {
        registration: Some(summary(original, original_parties)),
        application: app.name.clone(),
        registration_code: original.registration_code.clone(),
        validity: original.validity,
        actor: Some(actor(&call.caller)),
    });
    let amended = Change::new(&original.name, serde_json::json!({ "amended_by": app.name }));
    Ok((coded, amended))
}

/// Only the registrant renews, and only a CODED registration.
pub fn may_renew(caller: &Caller, reg: &Registration) -> Result<(), Error> {
    if caller.organization != reg.registrant {
        return Err(Error::denied(
            ErrorReason::NotTheRegistrant,
            format!("only {} (the registrant) renews {}", reg.registrant, reg.name),
        ));
    }
    require(reg, Transition::Renew)
}

/// Extends the validity by `years` (1 to 3, N3 Art.15), from the day after the previous expiry. D8: renewal
/// opens in the window before expiry the profile sets (60 days).
pub fn renew(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    (profile, calendar): (&Profile, &Calendar),
    years: i32,
) -> Result<Change<ev::RegistrationRenewed>, Error> {
    may_renew(&call.caller, reg)?;
    let today = call.today();
    let end = validity_end(reg).unwrap_or(today);
    if let Some(window) = &profile.registration.renewal_window {
        let opens = calendar.opens_before(end, window.value).due;
        if today < opens {
            return Err(Error::refused(
                ErrorReason::RenewalWindowClosed,
                format!(
                    "renewal opens on {opens}, {} before the validity ends on {end} ({})",
                    describe(window.value),
                    window.source
                ),
            ));
        }
    }
    let new_end = end
        .checked_add_months(Months::new(12 * u32::try_from(years).unwrap_or(3)))
        .unwrap_or(end);
    reg.validity = Some(DateRange {
        start_date: reg.validity.and_then(|v| v.start_date),
        end_date: Some(date(new_end)),
    });
    reg.renewal_count += 1;
    Ok(
        Change::new(&reg.name, audit_detail(reg)).announce(ev::RegistrationRenewed {
            registration: Some(summary(reg, parties)),
            registration_code: reg.registration_code.clone(),
            validity: reg.validity,
            actor: Some(actor(&call.caller)),
        }),
    )
}

/// Whether ending `reg` unlinks its subject: a CODED first registration made its resource authorizable and its
/// product registered.
pub fn unlinks(reg: &Registration) -> bool {
    is_first(reg) && state_of(reg) == RegistrationState::Coded
}

/// CANCELLED: the subject is no longer registered.
pub fn cancel(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    reason: CancellationReason,
    note: &str,
) -> Result<Change<ev::RegistrationCancelled>, Error> {
    require(reg, Transition::Cancel)?;
    reg.state = RegistrationState::Cancelled as i32;
    Ok(
        Change::new(&reg.name, audit_detail(reg)).announce(ev::RegistrationCancelled {
            registration: Some(summary(reg, parties)),
            registration_code: reg.registration_code.clone(),
            reason: reason as i32,
            note: note.to_owned(),
            actor: Some(actor(&call.caller)),
        }),
    )
}

/// The application `app` completes the cancellation of `original`: it is an ACCEPTED cancellation of it.
pub fn may_complete_cancellation(app: &Registration, original: &str) -> Result<(), Error> {
    let ok = app.kind == RegistrationKind::Cancellation as i32 && app.original_registration == original;
    if !ok {
        return Err(Error::refused(
            ErrorReason::NotACancellationOfThis,
            format!("{} is not a cancellation application for {original}", app.name),
        ));
    }
    require(app, Transition::CompleteCancellation)
}

/// The cancellation application is COMPLETED once its original is cancelled.
pub fn complete_cancellation(app: &mut Registration) -> Change {
    app.state = RegistrationState::Completed as i32;
    app.current_deadline = None;
    Change::new(&app.name, serde_json::json!({ "state": "COMPLETED" }))
}

/// Whether the validity of `reg` ended before `today`.
pub fn expired(reg: &Registration, today: NaiveDate) -> bool {
    validity_end(reg).is_some_and(|end| end < today)
}

/// A data authority cancels a registration as expired only once its validity ended.
pub fn may_cancel_as_expired(reg: &Registration, today: NaiveDate) -> Result<(), Error> {
    if expired(reg, today) {
        return Ok(());
    }
    Err(Error::refused(
        ErrorReason::NotExpired,
        format!(
            "{} is valid until {}; it is not expired",
            reg.name,
            validity_end(reg).map(|d| d.to_string()).unwrap_or_default()
        ),
    ))
}

/// Whether the scheduler cancels `reg` today: CODED and its validity ended without renewal (N3 Art.15).
pub fn expires(reg: &Registration, today: NaiveDate) -> bool {
    state_of(reg) == RegistrationState::Coded && expired(reg, today)
}

/// Revocation needs something left to revoke; the registry never revokes its own organization's application.
pub fn may_revoke(caller: &Caller, reg: &Registration) -> Result<(), Error> {
    not_own(caller, reg)?;
    if TERMINAL.contains(&state_of(reg)) {
        return Err(Error::refused(
            ErrorReason::AlreadyEnded,
            format!("{} is {:?}; nothing is left to revoke", reg.name, state_of(reg)),
        ));
    }
    Ok(())
}

/// REVOKED for registrant misconduct (N3 Art.20), with the facts found.
pub fn revoke(
    reg: &mut Registration,
    parties: &Parties,
    call: &Call,
    ground: RevocationGround,
    description: &str,
) -> Result<Change<ev::RegistrationRevoked>, Error> {
    may_revoke(&call.caller, reg)?;
    reg.state = RegistrationState::Revoked as i32;
    reg.decision_reason = description.trim().to_owned();
    reg.current_deadline = None;
    Ok(
        Change::new(&reg.name, audit_detail(reg)).announce(ev::RegistrationRevoked {
            registration: Some(summary(reg, parties)),
            registration_code: reg.registration_code.clone(),
            ground: ground as i32,
            description: reg.decision_reason.clone(),
            actor: Some(actor(&call.caller)),
        }),
    )
}

/// A product is listed on its registration when it was held APPROVED for it (S-HB §四(五)2, S-YN Art.18).
pub fn lists_on_registration(p: &Product) -> bool {
    ProductState::try_from(p.state).unwrap_or(ProductState::Unspecified) == ProductState::Approved
}

/// What coding did to the registered product: linked it, and listed it when it waited for registration.
pub enum ProductLinked {
    Listed(Box<Change<ev::ProductListed>>),
    Registered(Change),
}

/// Links the product to its CODED registration; `refs` (operator, jurisdiction) are read when it is listed,
/// for the snapshot its event carries. Both keep the actions they have always been audited under.
pub fn link_product(
    p: &mut Product,
    registration: &str,
    call: &Call,
    refs: Option<(OrganizationRef, JurisdictionRef)>,
) -> ProductLinked {
    p.registration = registration.to_owned();
    let listing = lists_on_registration(p);
    if listing {
        p.state = ProductState::Listed as i32;
        p.list_time = Some(timestamp(call.now));
    }
    let detail = serde_json::json!({ "registration": registration, "listed": listing });
    let Some((operator, jurisdiction)) = refs.filter(|_| listing) else {
        return ProductLinked::Registered(
            Change::new(&p.name, detail).audited_as("registry.ProductRegistered"),
        );
    };
    let snapshot = super::product::snapshot(p, operator, jurisdiction);
    ProductLinked::Listed(Box::new(
        Change::new(&p.name, detail)
            .audited_as("registry.ProductListed")
            .announce(ev::ProductListed {
                product: Some(snapshot),
                product_review: p.last_review.clone(),
                registration: registration.to_owned(),
                actor: Some(actor(&call.caller)),
            }),
    ))
}

/// S-HB §四(五)2: products are registered once they passed compliance review.
pub fn may_register_product(p: &Product) -> Result<(), Error> {
    let reviewed = [ProductState::Approved, ProductState::Listed];
    if reviewed.contains(&ProductState::try_from(p.state).unwrap_or(ProductState::Unspecified)) {
        return Ok(());
    }
    Err(Error::refused(
        ErrorReason::ProductNotReviewed,
        format!(
            "{} has not passed compliance review (合规审核); it is registered afterwards",
            p.name
        ),
    ))
}
