//! Registration (登记, N3 发改数据规〔2025〕26号) of a data resource: apply → accept (3 WD, D3) →
//! formal review (20 WD, D4) → public notice (10 WD, D5) → code (赋码), valid 3 years (D7).
//!
//! Implemented: first registration (首次登记) of resources, including the supplement notice whose
//! resubmission restarts the acceptance clock and the Henan precondition (S-HN Art.10). Change,
//! correction, cancellation, renewal, revocation, objections and product registrations answer
//! `UNIMPLEMENTED` until they are built.

use chrono::{DateTime, Months, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_proto::common::DateRange;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::{
    AcceptRegistrationRequest, AcceptRegistrationResponse, CancellationReason,
    CompleteRegistrationReviewRequest, CompleteRegistrationReviewResponse, CorrectionBasis,
    CreateRegistrationRequest, CreateRegistrationResponse, GetRegistrationRequest, GetRegistrationResponse,
    IssueRegistrationCodeRequest, IssueRegistrationCodeResponse, ListRegistrationsRequest,
    ListRegistrationsResponse, ObligationKind, ProductState, RefuseRegistrationRequest,
    RefuseRegistrationResponse, Registration, RegistrationKind, RegistrationMaterialKind,
    RegistrationReviewOutcome, RegistrationState, ResourceState, ReturnRegistrationForSupplementRequest,
    ReturnRegistrationForSupplementResponse, StartRegistrationNoticeRequest, StartRegistrationNoticeResponse,
    SubmitRegistrationRequest, SubmitRegistrationResponse,
};
use pdop_rules::Profile;
use pdop_rules::deadlines::deadline;
use pdop_rules::profiles::RegistrationPrecondition;
use prost::Message;
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

mod lifecycle;
mod objections;

pub use self::lifecycle::{cancel, expire_due, renew, revoke, update};
pub use self::objections::{dismiss_objection, list_objections, record_objection, uphold_objection};
use crate::context::{Ctx, Handling, fetch_row, optional_name, paging};
use crate::convert::{self, actor, date, etag, naive_date, optional_date, timestamp};
use crate::deadlines::{self, Obligation};
use crate::jurisdictions::page_after;
use crate::{names, resources};

const COLLECTION: &str = "registrations";

/// The first-registration materials N3 Art.9 lists (首次登记).
const FIRST_REGISTRATION_MATERIALS: [RegistrationMaterialKind; 7] = [
    RegistrationMaterialKind::RegistrantInfo,
    RegistrationMaterialKind::LawfulSource,
    RegistrationMaterialKind::ResourceDescription,
    RegistrationMaterialKind::EvidenceDeposit,
    RegistrationMaterialKind::ProductInfo,
    RegistrationMaterialKind::ScenarioInfo,
    RegistrationMaterialKind::SecurityRiskAssessment,
];

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    applicant_id: String,
    jurisdiction_id: String,
    resource_id: Option<String>,
    product_id: Option<String>,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str =
    "id, applicant_id, jurisdiction_id, resource_id, product_id, body, create_time, update_time, version";

impl crate::context::Stored for Row {
    const TABLE: &'static str = "registrations";
    const COLUMNS: &'static str = COLUMNS;
    const COLLECTION: &'static str = COLLECTION;
    const NOT_FOUND: &'static str = "REGISTRATION_NOT_FOUND";
    fn version(&self) -> i64 {
        self.version
    }
}

impl Row {
    fn to_proto(&self) -> Registration {
        let mut r = Registration::decode(self.body.as_slice()).unwrap_or_default();
        r.name = names::registration(&self.id);
        r.create_time = Some(timestamp(self.create_time));
        r.update_time = Some(timestamp(self.update_time));
        r.etag = etag(self.version);
        r
    }
}

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str, lock: bool) -> Result<Option<Row>, sqlx::Error> {
    fetch_row(db, "registrations", COLUMNS, id, lock).await
}

fn state_of(r: &Registration) -> RegistrationState {
    RegistrationState::try_from(r.state).unwrap_or(RegistrationState::Unspecified)
}

/// The obligation `kind` about `reg`, owed by `responsible` (empty for the registry's own duties).
fn obligation<'a>(reg: &'a Registration, kind: ObligationKind, responsible: &'a str) -> Obligation<'a> {
    Obligation {
        kind,
        subject: &reg.name,
        responsible,
        jurisdiction: &reg.jurisdiction,
    }
}

/// The applicant's own staff, or the registry's (data authority), may read an application.
fn may_read(caller: &Caller, applicant: &str) -> bool {
    caller.has_role(Role::DataAuthority) || caller.has_role(Role::Auditor) || caller.organization == applicant
}

/// The `resources/…` or `products/…` name a registration is about.
fn registration_subject(reg: &Registration) -> String {
    match &reg.subject {
        Some(Subject::Resource(n) | Subject::Product(n)) => n.clone(),
        None => String::new(),
    }
}

/// What a registration is about: the resource or product, its registrant and jurisdiction.
struct SubjectOf {
    resource_id: Option<String>,
    product_id: Option<String>,
    registrant: String,
    jurisdiction_id: String,
}

async fn subject_of(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    subject: &Subject,
) -> Result<SubjectOf, Status> {
    match subject {
        Subject::Resource(name) => {
            let r = resources::for_registration(ctx, tx, name, "registration.resource").await?;
            Ok(SubjectOf {
                resource_id: Some(r.id),
                product_id: None,
                registrant: r.provider,
                jurisdiction_id: r.jurisdiction_id,
            })
        }
        Subject::Product(name) => {
            ctx.parse_name(name, "products", "registration.product")?;
            let (_, p) = crate::products::for_change(ctx, tx, name, "")
                .await?
                .ok_or_else(|| ctx.errors().not_found("PRODUCT_NOT_FOUND", name))?;
            // S-HB §四(五)2: products are registered once they passed compliance review.
            let reviewed = [ProductState::Approved, ProductState::Listed];
            if !reviewed.contains(&crate::products::state_of(&p)) {
                return Err(ctx.errors().failed_precondition(
                    "PRODUCT_NOT_REVIEWED",
                    format!(
                        "{name} has not passed compliance review (合规审核); it is registered afterwards"
                    ),
                ));
            }
            Ok(SubjectOf {
                resource_id: None,
                product_id: names::parse(name, "products").map(str::to_owned),
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

/// The CODED registration a change, correction or cancellation applies to; it must be about the same subject.
async fn original_of(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    subject: &SubjectOf,
) -> Result<Row, Status> {
    let id = ctx.parse_name(name, COLLECTION, "registration.original_registration")?;
    let row = fetch(&mut **tx, id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("REGISTRATION_NOT_FOUND", name))?;
    let original = row.to_proto();
    ctx.require_state(
        name,
        state_of(&original),
        &[RegistrationState::Coded],
        "applying to it",
    )?;
    if row.resource_id != subject.resource_id || row.product_id != subject.product_id {
        return Err(ctx
            .errors()
            .failed_precondition("SUBJECT_MISMATCH", format!("{name} registers another subject")));
    }
    Ok(row)
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateRegistrationRequest,
) -> Result<CreateRegistrationResponse, Status> {
    const METHOD: &str = "registry.CreateRegistration";
    let r = req.registration.unwrap_or_default();
    let kind = RegistrationKind::try_from(r.kind).unwrap_or(RegistrationKind::Unspecified);
    let mut v = Violations::new();
    if kind == RegistrationKind::Unspecified {
        v.add(
            "registration.kind",
            "must be FIRST, CHANGE, CORRECTION or CANCELLATION",
        );
    }
    validate_kind(kind, &r, &mut v);
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
    let start = optional_date(r.operation_start_date.as_ref()).unwrap_or_else(|e| {
        v.add("registration.operation_start_date", e);
        None
    });
    if let Err(e) = optional_date(r.operating_term_end_date.as_ref()) {
        v.add("registration.operating_term_end_date", e);
    }
    v.into_result(ctx.errors())?;

    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let subject = r.subject.clone().unwrap_or(Subject::Resource(String::new()));
    let of = subject_of(ctx, &mut tx, &subject).await?;
    if kind != RegistrationKind::First {
        original_of(ctx, &mut tx, &r.original_registration, &of).await?;
    }
    // The registrant (provider or operator) applies; anyone with an interest may apply for a correction
    // (N3 Art.9(3)); a data authority may act for the registrant.
    let applicant = if kind == RegistrationKind::Correction {
        caller.organization.clone()
    } else {
        if !(caller.organization == of.registrant || caller.has_role(Role::DataAuthority)) {
            return Err(ctx.errors().permission_denied(
                "NOT_THE_REGISTRANT",
                format!("only {} may apply for this registration", of.registrant),
            ));
        }
        of.registrant.clone()
    };
    let profile = ctx.profile_of(&mut tx, &of.jurisdiction_id).await?;
    let mut reg = Registration {
        kind: kind as i32,
        subject: Some(subject),
        applicant,
        registrant: of.registrant.clone(),
        jurisdiction: names::jurisdiction(&of.jurisdiction_id),
        state: RegistrationState::Draft as i32,
        ..r
    };
    // D1 (N3 Art.9): apply within 20 WD of starting operation; D2 for operations predating N3.
    reg.current_deadline = match (kind, reg.legacy_operation) {
        (RegistrationKind::First, true) => {
            let rules = &profile.registration;
            match (&rules.legacy_registration, &rules.legacy_registration_from) {
                (Some(period), Some(from)) => Some(convert::deadline(&deadline(
                    &ctx.calendar,
                    &profile,
                    "D2",
                    period,
                    from.value,
                ))),
                _ => None,
            }
        }
        (RegistrationKind::First, false) => match (&profile.registration.first_registration, start) {
            (Some(period), Some(start)) => Some(convert::deadline(&deadline(
                &ctx.calendar,
                &profile,
                "D1",
                period,
                start,
            ))),
            _ => None,
        },
        _ => None,
    };
    let id = uuid::Uuid::now_v7().to_string();
    let now = ctx.platform.clock.now();
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO registrations (id, kind, resource_id, product_id, applicant_id, jurisdiction_id, state, body,
                                    create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(kind as i16)
    .bind(&of.resource_id)
    .bind(&of.product_id)
    .bind(reg.applicant.trim_start_matches("organizations/"))
    .bind(&of.jurisdiction_id)
    .bind(RegistrationState::Draft as i16)
    .bind(reg.encode_to_vec())
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let registration = row.to_proto();
    if let Some(d) = &registration.current_deadline {
        let kind = if registration.legacy_operation {
            ObligationKind::LegacyRegistration
        } else {
            ObligationKind::FirstRegistration
        };
        let o = obligation(&registration, kind, &registration.applicant);
        deadlines::open(ctx, &mut tx, o, d).await?;
    }
    // Drafts are private: audited, but no event.
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &registration.name,
        serde_json::json!({ "subject": registration_subject(&registration), "kind": format!("{kind:?}") }),
    )
    .await?;
    let response = CreateRegistrationResponse {
        registration: Some(registration),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetRegistrationRequest,
) -> Result<GetRegistrationResponse, Status> {
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let row = fetch(ctx.pool(), id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("REGISTRATION_NOT_FOUND", &req.name))?;
    if !may_read(caller, &names::organization(&row.applicant_id)) {
        return Err(ctx.errors().permission_denied(
            "NOT_YOUR_APPLICATION",
            "only the applicant and the registry read an application",
        ));
    }
    Ok(GetRegistrationResponse {
        registration: Some(row.to_proto()),
    })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListRegistrationsRequest,
) -> Result<ListRegistrationsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction_id = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let mut organization_id =
        optional_name(&req.organization, "organizations", "organization", &mut v).map(str::to_owned);
    let resource_id = optional_name(&req.resource, "resources", "resource", &mut v);
    v.into_result(ctx.errors())?;
    // Other roles see only their own organization's applications.
    if !(caller.has_role(Role::DataAuthority) || caller.has_role(Role::Auditor)) {
        let own = caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned();
        if organization_id.as_ref().is_some_and(|o| *o != own) {
            return Err(ctx.errors().permission_denied(
                "NOT_YOUR_APPLICATION",
                "you may list only your own organization's applications",
            ));
        }
        organization_id = Some(own);
    }
    let (after_time, after_id) = after.unzip();
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM registrations
         WHERE ($1::timestamptz IS NULL OR (create_time, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR applicant_id = $4)
           AND ($5::text IS NULL OR resource_id = $5)
           AND ($6::smallint = 0 OR kind = $6)
           AND ($7::smallint = 0 OR state = $7)
           AND ($8::text = '' OR registration_code = $8)
         ORDER BY create_time, id LIMIT $9"
    ))
    .bind(after_time)
    .bind(after_id)
    .bind(jurisdiction_id)
    .bind(organization_id)
    .bind(resource_id)
    .bind(i16::try_from(req.kind).unwrap_or(0))
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(req.registration_code.trim())
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| (r.create_time, r.id.clone()));
    Ok(ListRegistrationsResponse {
        registrations: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

/// A locked application for a state change, with its etag checked.
async fn for_change(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    expected_etag: &str,
) -> Result<(Row, Registration), Status> {
    let row: Row = ctx.locked(tx, name, expected_etag).await?;
    let reg = row.to_proto();
    Ok((row, reg))
}

fn require_state(
    ctx: &Ctx,
    reg: &Registration,
    allowed: &[RegistrationState],
    action: &str,
) -> Result<(), Status> {
    ctx.require_state(&reg.name, state_of(reg), allowed, action)
}

/// Nobody decides their own organization's application.
fn not_own(ctx: &Ctx, caller: &Caller, reg: &Registration) -> Result<(), Status> {
    ctx.not_own(caller, &[reg.applicant.as_str()], &reg.name)
}

/// Writes the new body and state, appends the audit row and the event.
async fn save<E: Message>(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    reg: &Registration,
    action: &str,
    (subject, event): (&str, &E),
) -> Result<Registration, Status> {
    let saved = store(ctx, tx, row, reg).await?;
    let detail = serde_json::json!({ "state": format!("{:?}", state_of(&saved)), "deadline": saved.current_deadline.as_ref().and_then(|d| d.due_date).map(|d| format!("{}-{:02}-{:02}", d.year, d.month, d.day)) });
    ctx.record(tx, caller, action, &saved.name, detail, (subject, event))
        .await?;
    Ok(saved)
}

/// Writes the registration back; the caller records the audit row (and event).
async fn store(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    reg: &Registration,
) -> Result<Registration, Status> {
    let updated = sqlx::query_as::<_, Row>(&format!(
        "UPDATE registrations SET state = $2, registration_code = $3, body = $4, update_time = $5, validity_end = $6,
                version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(&row.id)
    .bind(i16::try_from(reg.state).unwrap_or(0))
    .bind(Some(reg.registration_code.clone()).filter(|c| !c.is_empty()))
    .bind(reg.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .bind(reg.validity.as_ref().and_then(|v| v.end_date.as_ref()).and_then(naive_date))
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(updated.to_proto())
}

pub async fn submit(
    ctx: &Ctx,
    caller: &Caller,
    req: SubmitRegistrationRequest,
) -> Result<SubmitRegistrationResponse, Status> {
    const METHOD: &str = "registry.SubmitRegistration";
    let mut tx = ctx.begin().await?;
    let (row, mut reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    if caller.organization != reg.applicant {
        return Err(ctx.errors().permission_denied(
            "NOT_YOUR_APPLICATION",
            "only the applicant submits its application",
        ));
    }
    require_state(
        ctx,
        &reg,
        &[RegistrationState::Draft, RegistrationState::ReturnedForSupplement],
        "submitting",
    )?;
    // N3 Art.7: after internal business review, with the evidence deposit (存证) made; Art.9: a first
    // registration needs every listed material, a later application at least one supporting material.
    let first = reg.kind == RegistrationKind::First as i32;
    let mut missing: Vec<String> = if first {
        FIRST_REGISTRATION_MATERIALS
            .iter()
            .filter(|kind| !reg.materials.iter().any(|m| m.kind == **kind as i32))
            .map(|kind| format!("{kind:?}"))
            .collect()
    } else if reg.materials.is_empty() {
        vec!["a supporting material for the change, correction or cancellation".to_owned()]
    } else {
        Vec::new()
    };
    if reg.internal_review.as_ref().is_none_or(|d| d.uri.is_empty()) {
        missing.push("internal business review (N3 Art.7)".to_owned());
    }
    if !missing.is_empty() {
        return Err(ctx.errors().failed_precondition(
            "MATERIALS_MISSING",
            format!(
                "add these materials before submitting (N3 Art.7, Art.9): {}",
                missing.join(", ")
            ),
        ));
    }
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    if row.resource_id.is_some() {
        check_preconditions(ctx, &mut tx, &profile, &row).await?;
    }
    let resubmission = state_of(&reg) == RegistrationState::ReturnedForSupplement;
    let now = ctx.platform.clock.now();
    reg.state = RegistrationState::Submitted as i32;
    reg.submit_time = Some(timestamp(now));
    // D3 (N3 Art.10): 3 WD to accept, counted from receipt; a resubmission restarts it.
    reg.current_deadline = profile.registration.acceptance.as_ref().map(|p| {
        convert::deadline(&deadline(
            &ctx.calendar,
            &profile,
            "D3",
            p,
            ctx.platform.clock.today(),
        ))
    });
    let event = ev::RegistrationSubmitted {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        resubmission,
        acceptance_deadline: reg.current_deadline.clone(),
        actor: Some(actor(caller)),
    };
    for kind in [
        ObligationKind::FirstRegistration,
        ObligationKind::LegacyRegistration,
    ] {
        deadlines::meet(ctx, &mut tx, &reg.name, kind).await?;
    }
    if let Some(d) = &reg.current_deadline {
        let o = obligation(&reg, ObligationKind::RegistrationAcceptance, "");
        deadlines::open(ctx, &mut tx, o, d).await?;
    }
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.submitted", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(SubmitRegistrationResponse {
        registration: Some(saved),
    })
}

/// Profile preconditions of acceptance, e.g. Henan (S-HN Art.10): catalogue compiled, state-asset duties done.
async fn check_preconditions(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    profile: &Profile,
    row: &Row,
) -> Result<(), Status> {
    let Some(preconditions) = &profile.registration.preconditions else {
        return Ok(());
    };
    let resource = resources::for_registration(
        ctx,
        tx,
        &names::resource(row.resource_id.as_deref().unwrap_or_default()),
        "name",
    )
    .await?;
    for precondition in &preconditions.value {
        let (met, what) = match precondition {
            RegistrationPrecondition::CatalogueCompiled => (
                resource.state == ResourceState::Catalogued,
                "catalogue the resource (目录编制) first",
            ),
            RegistrationPrecondition::StateAssetRules => (
                resource.state_asset_duties_fulfilled,
                "record that state-asset duties are fulfilled on the resource first",
            ),
        };
        if !met {
            return Err(ctx.errors().failed_precondition(
                "PROFILE_PRECONDITION",
                format!(
                    "{} ({}) does not accept this registration yet: {what}",
                    profile.id, preconditions.source
                ),
            ));
        }
    }
    Ok(())
}

pub async fn accept(
    ctx: &Ctx,
    caller: &Caller,
    req: AcceptRegistrationRequest,
) -> Result<AcceptRegistrationResponse, Status> {
    const METHOD: &str = "registry.AcceptRegistration";
    let mut tx = ctx.begin().await?;
    let (row, mut reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    not_own(ctx, caller, &reg)?;
    require_state(ctx, &reg, &[RegistrationState::Submitted], "accepting")?;
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    reg.state = RegistrationState::Accepted as i32;
    reg.accept_time = Some(timestamp(ctx.platform.clock.now()));
    reg.missing_materials.clear();
    // D4 (N3 Art.11): formal review within 20 WD of acceptance; D6 (N3 Art.9(4)): a cancellation is
    // completed within 10 WD of acceptance.
    let cancellation = reg.kind == RegistrationKind::Cancellation as i32;
    let (rule, setting, review_kind) = if cancellation {
        (
            "D6",
            &profile.registration.cancellation,
            ObligationKind::RegistrationCancellation,
        )
    } else {
        (
            "D4",
            &profile.registration.formal_review,
            ObligationKind::RegistrationReview,
        )
    };
    reg.current_deadline = setting.as_ref().map(|p| {
        convert::deadline(&deadline(
            &ctx.calendar,
            &profile,
            rule,
            p,
            ctx.platform.clock.today(),
        ))
    });
    let event = ev::RegistrationAccepted {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        next_deadline: reg.current_deadline.clone(),
        actor: Some(actor(caller)),
    };
    deadlines::meet(ctx, &mut tx, &reg.name, ObligationKind::RegistrationAcceptance).await?;
    if let Some(d) = &reg.current_deadline {
        let o = obligation(&reg, review_kind, "");
        deadlines::open(ctx, &mut tx, o, d).await?;
    }
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.accepted", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(AcceptRegistrationResponse {
        registration: Some(saved),
    })
}

pub async fn return_for_supplement(
    ctx: &Ctx,
    caller: &Caller,
    req: ReturnRegistrationForSupplementRequest,
) -> Result<ReturnRegistrationForSupplementResponse, Status> {
    const METHOD: &str = "registry.ReturnRegistrationForSupplement";
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
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    not_own(ctx, caller, &reg)?;
    require_state(
        ctx,
        &reg,
        &[RegistrationState::Submitted],
        "returning for supplement",
    )?;
    reg.state = RegistrationState::ReturnedForSupplement as i32;
    reg.missing_materials = req.missing_materials.clone();
    reg.decision_reason = req.note.trim().to_owned();
    // The applicant owes the supplement; no registry clock runs until it is resubmitted.
    reg.current_deadline = None;
    let event = ev::RegistrationReturnedForSupplement {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        missing_kinds: req.missing_materials.iter().map(|m| m.kind).collect(),
        missing_descriptions: req
            .missing_materials
            .iter()
            .map(|m| m.description.clone())
            .collect(),
        actor: Some(actor(caller)),
    };
    // Returning for supplement decides on acceptance; resubmission opens a new acceptance clock (D3).
    deadlines::meet(ctx, &mut tx, &reg.name, ObligationKind::RegistrationAcceptance).await?;
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.returned", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(ReturnRegistrationForSupplementResponse {
        registration: Some(saved),
    })
}

pub async fn refuse(
    ctx: &Ctx,
    caller: &Caller,
    req: RefuseRegistrationRequest,
) -> Result<RefuseRegistrationResponse, Status> {
    const METHOD: &str = "registry.RefuseRegistration";
    if req.reason.trim().is_empty() {
        let mut v = Violations::new();
        v.add("reason", "a refusal to accept needs reasons (N3 Art.10)");
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let (row, mut reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    not_own(ctx, caller, &reg)?;
    require_state(ctx, &reg, &[RegistrationState::Submitted], "refusing")?;
    reg.state = RegistrationState::NotAccepted as i32;
    reg.decision_reason = req.reason.trim().to_owned();
    reg.current_deadline = None;
    let event = ev::RegistrationRefused {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        reason: reg.decision_reason.clone(),
        actor: Some(actor(caller)),
    };
    deadlines::meet(ctx, &mut tx, &reg.name, ObligationKind::RegistrationAcceptance).await?;
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.refused", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(RefuseRegistrationResponse {
        registration: Some(saved),
    })
}

pub async fn complete_review(
    ctx: &Ctx,
    caller: &Caller,
    req: CompleteRegistrationReviewRequest,
) -> Result<CompleteRegistrationReviewResponse, Status> {
    const METHOD: &str = "registry.CompleteRegistrationReview";
    let outcome =
        RegistrationReviewOutcome::try_from(req.outcome).unwrap_or(RegistrationReviewOutcome::Unspecified);
    let mut v = Violations::new();
    if outcome == RegistrationReviewOutcome::Unspecified {
        v.add("outcome", "must be PASSED or FAILED");
    }
    if outcome == RegistrationReviewOutcome::Failed && req.reasons.trim().is_empty() {
        v.add("reasons", "a failed review needs reasons");
    }
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    not_own(ctx, caller, &reg)?;
    require_state(
        ctx,
        &reg,
        &[RegistrationState::Accepted],
        "completing the formal review",
    )?;
    // N3 Art.11: a review finished after its 20 WD must explain why.
    let due = reg
        .current_deadline
        .as_ref()
        .and_then(|d| d.due_date.as_ref())
        .and_then(naive_date);
    if due.is_some_and(|due| ctx.platform.clock.today() > due) && req.late_explanation.trim().is_empty() {
        let mut v = Violations::new();
        v.add(
            "late_explanation",
            "the 20-working-day review period (D4, N3 Art.11) has passed; explain the delay",
        );
        return Err(ctx.errors().invalid(&v));
    }
    reg.late_explanation = req.late_explanation.trim().to_owned();
    reg.review_complete_time = Some(timestamp(ctx.platform.clock.now()));
    reg.decision_reason = req.reasons.trim().to_owned();
    // A cancellation needs no public notice: passing review completes it (N3 Art.9(4), D6).
    let cancellation = reg.kind == RegistrationKind::Cancellation as i32;
    let passed = outcome == RegistrationReviewOutcome::Passed;
    let original = if cancellation && passed {
        Some(for_change(ctx, &mut tx, &reg.original_registration, "").await?)
    } else {
        None
    };
    reg.state = match (outcome, cancellation) {
        (RegistrationReviewOutcome::Failed, _) => RegistrationState::Rejected as i32,
        (_, true) => RegistrationState::Completed as i32,
        _ => RegistrationState::ReviewPassed as i32,
    };
    reg.current_deadline = None;
    let event = ev::RegistrationReviewCompleted {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        outcome: req.outcome,
        reasons: reg.decision_reason.clone(),
        late: !reg.late_explanation.is_empty(),
        late_explanation: reg.late_explanation.clone(),
        actor: Some(actor(caller)),
    };
    let review_kind = if cancellation {
        ObligationKind::RegistrationCancellation
    } else {
        ObligationKind::RegistrationReview
    };
    deadlines::meet(ctx, &mut tx, &reg.name, review_kind).await?;
    if let Some((original_row, original)) = original {
        let reason = CancellationReason::try_from(reg.cancellation_reason).unwrap_or_default();
        lifecycle::cancel_locked(
            ctx,
            &mut tx,
            caller,
            &original_row,
            original,
            reason,
            &reg.decision_reason,
            METHOD,
        )
        .await?;
    }
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.reviewed", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(CompleteRegistrationReviewResponse {
        registration: Some(saved),
    })
}

pub async fn start_notice(
    ctx: &Ctx,
    caller: &Caller,
    req: StartRegistrationNoticeRequest,
) -> Result<StartRegistrationNoticeResponse, Status> {
    const METHOD: &str = "registry.StartRegistrationNotice";
    let mut v = Violations::new();
    let start = optional_date(req.start_date.as_ref()).unwrap_or_else(|e| {
        v.add("start_date", e);
        None
    });
    v.into_result(ctx.errors())?;
    let start = start.unwrap_or_else(|| ctx.platform.clock.today());
    if start < ctx.platform.clock.today() {
        let mut v = Violations::new();
        v.add("start_date", "a public notice cannot start in the past");
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let (row, mut reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    not_own(ctx, caller, &reg)?;
    require_state(
        ctx,
        &reg,
        &[RegistrationState::ReviewPassed],
        "starting the public notice",
    )?;
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    // D5 (N3 Art.12): the notice lasts 10 WD and its first day is one of them. A period counts the working days
    // after its trigger day (DOMAIN §10), so the count runs from the day before the notice starts.
    let notice = profile.registration.public_notice.as_ref().map(|p| {
        let trigger = start.pred_opt().unwrap_or(start);
        let mut notice = deadline(&ctx.calendar, &profile, "D5", p, trigger);
        notice.start = start;
        convert::deadline(&notice)
    });
    let end = notice.as_ref().and_then(|d| d.due_date);
    reg.state = RegistrationState::PublicNotice as i32;
    reg.notice_period = Some(DateRange {
        start_date: Some(date(start)),
        end_date: end,
    });
    if let Some(d) = &notice {
        let o = obligation(&reg, ObligationKind::RegistrationNotice, "");
        deadlines::open(ctx, &mut tx, o, d).await?;
    }
    reg.current_deadline = notice;
    let event = ev::RegistrationNoticeStarted {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        notice_period: reg.notice_period,
        period_working_days: reg.current_deadline.as_ref().map_or(0, |d| d.duration),
        notice_deadline: reg.current_deadline.clone(),
        actor: Some(actor(caller)),
    };
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.notice_started", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(StartRegistrationNoticeResponse {
        registration: Some(saved),
    })
}

pub async fn issue_code(
    ctx: &Ctx,
    caller: &Caller,
    req: IssueRegistrationCodeRequest,
) -> Result<IssueRegistrationCodeResponse, Status> {
    const METHOD: &str = "registry.IssueRegistrationCode";
    let mut tx = ctx.begin().await?;
    let (row, mut reg) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    not_own(ctx, caller, &reg)?;
    require_state(ctx, &reg, &[RegistrationState::PublicNotice], "issuing the code")?;
    let notice_end = reg
        .notice_period
        .as_ref()
        .and_then(|p| p.end_date.as_ref())
        .and_then(naive_date);
    let today = ctx.platform.clock.today();
    if notice_end.is_none_or(|end| today <= end) {
        return Err(ctx.errors().failed_precondition(
            "NOTICE_OPEN",
            format!(
                "the public notice runs until {}; the code is issued after it ends without an upheld objection (N3 Art.12-13)",
                notice_end.map(|d| d.to_string()).unwrap_or_default()
            ),
        ));
    }
    if reg.objection_count > 0 {
        return Err(ctx.errors().failed_precondition(
            "OBJECTIONS_OPEN",
            "decide every objection before issuing the code",
        ));
    }
    // The notice ran its course; what follows it is the code (or the amendment it approved).
    deadlines::meet(ctx, &mut tx, &reg.name, ObligationKind::RegistrationNotice).await?;
    if reg.kind != RegistrationKind::First as i32 {
        let saved = lifecycle::apply_amendment(ctx, &mut tx, caller, &row, reg, METHOD).await?;
        ctx.commit(tx).await?;
        return Ok(IssueRegistrationCodeResponse {
            registration: Some(saved),
        });
    }
    // A registered product is linked to its registration (and listed if it was waiting for it); lock it
    // before the audit row.
    let product = match &reg.subject {
        Some(Subject::Product(name)) => crate::products::for_change(ctx, &mut tx, name, "").await?,
        _ => None,
    };
    let division = jurisdiction_division(ctx, &mut tx, &row.jurisdiction_id).await?;
    reg.registration_code = next_code(ctx, &mut tx, &division, chrono::Datelike::year(&today)).await?;
    // D7 (N3 Art.15): valid 3 years from coding, or the operating term when that ends sooner.
    let three_years = today.checked_add_months(Months::new(36)).unwrap_or(today);
    let term_end = optional_date(reg.operating_term_end_date.as_ref()).ok().flatten();
    let valid_until = term_end.filter(|end| *end < three_years).unwrap_or(three_years);
    reg.validity = Some(DateRange {
        start_date: Some(date(today)),
        end_date: Some(date(valid_until)),
    });
    reg.state = RegistrationState::Coded as i32;
    reg.current_deadline = None;
    if let Some(resource_id) = &row.resource_id {
        resources::set_registration(ctx, &mut tx, resource_id, Some(&row.id)).await?;
    }
    let event = ev::RegistrationCoded {
        registration: Some(summary(ctx, &mut tx, &row, &reg).await?),
        application: reg.name.clone(),
        registration_code: reg.registration_code.clone(),
        validity: reg.validity,
        actor: Some(actor(caller)),
    };
    let saved = save(
        ctx,
        &mut tx,
        caller,
        &row,
        &reg,
        METHOD,
        ("pdop.registry.registration.coded", &event),
    )
    .await?;
    if let Some((product_row, product)) = product {
        crate::products::registered(ctx, &mut tx, caller, &product_row, product, &saved.name).await?;
    }
    ctx.commit(tx).await?;
    Ok(IssueRegistrationCodeResponse {
        registration: Some(saved),
    })
}

/// The next free code for `division` in `year`. Codes are numbered per code space (the code without its sequence
/// number), not per jurisdiction: jurisdictions may share a division code, and a format may leave the division
/// out, yet every code must stay unique. A code already taken (numbered before code spaces) is skipped.
async fn next_code(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    division: &str,
    year: i32,
) -> Result<String, Status> {
    let pattern = &ctx.config.registration_code_format;
    if !pattern.contains("{seq}") {
        return Err(ctx.internal(anyhow::anyhow!(
            "registry.registration_code_format `{pattern}` has no {{seq}}, so its codes cannot be unique"
        )));
    }
    let space = pattern
        .replace("{division}", division)
        .replace("{year}", &year.to_string());
    loop {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO registration_code_spaces (space, last) VALUES ($1, 1)
             ON CONFLICT (space) DO UPDATE SET last = registration_code_spaces.last + 1
             RETURNING last",
        )
        .bind(&space)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?;
        let code = format_code(pattern, division, year, seq);
        let taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM registrations WHERE registration_code = $1)")
                .bind(&code)
                .fetch_one(&mut **tx)
                .await
                .map_err(|e| ctx.db(e))?;
        if !taken {
            return Ok(code);
        }
    }
}

/// The self-contained summary events carry (the disclosure service publishes from it).
async fn summary(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    reg: &Registration,
) -> Result<ev::RegistrationSummary, Status> {
    let applicant = crate::organizations::reference(ctx, tx, &reg.applicant, "applicant").await?;
    let registrant = crate::organizations::reference(ctx, tx, &reg.registrant, "registrant").await?;
    let jurisdiction = crate::jurisdictions::reference(
        ctx,
        tx,
        &names::jurisdiction(&row.jurisdiction_id),
        "jurisdiction",
    )
    .await?;
    Ok(ev::RegistrationSummary {
        name: reg.name.clone(),
        kind: reg.kind,
        subject: registration_subject(reg),
        registrant: Some(registrant),
        applicant: Some(applicant),
        jurisdiction: Some(jurisdiction),
        title: reg.title.clone(),
        content_summary: reg.content_summary.clone(),
        original_registration: reg.original_registration.clone(),
        state: reg.state,
    })
}

async fn jurisdiction_division(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
) -> Result<String, Status> {
    let j = crate::jurisdictions::reference(ctx, tx, &names::jurisdiction(id), "jurisdiction").await?;
    Ok(if j.division_code.is_empty() {
        id.to_uppercase()
    } else {
        j.division_code
    })
}

/// Fills the configured code pattern: `{division}` (GB/T 2260 code, or the jurisdiction id), `{year}`,
/// `{seq}` (six digits). The national coding rules (N3 Art.13) were not published, so it is configurable.
pub fn format_code(pattern: &str, division: &str, year: i32, seq: i64) -> String {
    pattern
        .replace("{division}", division)
        .replace("{year}", &year.to_string())
        .replace("{seq}", &format!("{seq:06}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_configured_pattern() {
        // N3 Art.13: the unified coding rules are not published, so the pattern is configuration.
        assert_eq!(
            format_code("DJ-{division}-{year}-{seq}", "530000", 2026, 7),
            "DJ-530000-2026-000007"
        );
    }

    #[test]
    fn first_registration_needs_every_article_9_material() {
        assert_eq!(FIRST_REGISTRATION_MATERIALS.len(), 7);
        assert!(FIRST_REGISTRATION_MATERIALS.contains(&RegistrationMaterialKind::EvidenceDeposit));
    }
}
