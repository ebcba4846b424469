//! Organizations (机构): roles, unified social credit code (GB 32100-2015, check digits validated),
//! credit status and security incidents, which eligibility rules read (DOMAIN §4.3: an operator must
//! have had no cyber or data-security incident in the last 3 years).

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_proto::common::{AuditInfo, OrganizationRef, OrganizationRole};
use pdop_proto::registry::events::v1::{OrganizationCreated, OrganizationUpdated, SecurityIncidentRecorded};
use pdop_proto::registry::v1::{
    CreateOrganizationRequest, CreateOrganizationResponse, CreditStatus, GetOrganizationRequest,
    GetOrganizationResponse, IncidentSeverity, ListOrganizationsRequest, ListOrganizationsResponse,
    Organization, RecordSecurityIncidentRequest, RecordSecurityIncidentResponse, SecurityIncident,
    UpdateOrganizationRequest, UpdateOrganizationResponse,
};
use pdop_rules::UnifiedSocialCreditCode;
use prost::Message;
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling, fetch_row, is_unique_violation, optional_name, paging};
use crate::convert::{actor, date, etag, optional_date, timestamp};
use crate::jurisdictions::{self, page_after};
use crate::mask::{self, Mask};
use crate::names;

const COLLECTION: &str = "organizations";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    display_name: String,
    uscc: String,
    roles: Vec<i16>,
    jurisdiction_id: String,
    legal_representative: String,
    contact: String,
    credit_status: i16,
    credit_checked_date: Option<NaiveDate>,
    founded_date: Option<NaiveDate>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str = "id, display_name, uscc, roles, jurisdiction_id, legal_representative, contact, credit_status, \
                       credit_checked_date, founded_date, create_time, update_time, version";

impl Row {
    fn to_ref(&self) -> OrganizationRef {
        OrganizationRef {
            name: names::organization(&self.id),
            display_name: self.display_name.clone(),
            unified_social_credit_code: self.uscc.clone(),
            roles: self.roles.iter().map(|r| i32::from(*r)).collect(),
        }
    }

    fn to_proto(&self, incidents: Vec<SecurityIncident>) -> Organization {
        let last = incidents
            .iter()
            .filter_map(|i| i.occur_date)
            .max_by_key(|d| (d.year, d.month, d.day));
        Organization {
            name: names::organization(&self.id),
            display_name: self.display_name.clone(),
            unified_social_credit_code: self.uscc.clone(),
            roles: self.roles.iter().map(|r| i32::from(*r)).collect(),
            jurisdiction: names::jurisdiction(&self.jurisdiction_id),
            legal_representative: self.legal_representative.clone(),
            contact: self.contact.clone(),
            credit_status: i32::from(self.credit_status),
            credit_checked_date: self.credit_checked_date.map(date),
            last_security_incident_date: last,
            security_incidents: incidents,
            founded_date: self.founded_date.map(date),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
            etag: etag(self.version),
        }
    }
}

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str, lock: bool) -> Result<Option<Row>, sqlx::Error> {
    fetch_row(db, "organizations", COLUMNS, id, lock).await
}

/// The reference other resources and events carry; `NOT_FOUND` if absent, a violation on `field` if malformed.
pub async fn reference(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<OrganizationRef, Status> {
    let id = parse_name(ctx, name, field)?;
    match fetch(&mut **tx, id, false).await.map_err(|e| ctx.db(e))? {
        Some(row) => Ok(row.to_ref()),
        None => Err(ctx.errors().not_found("ORGANIZATION_NOT_FOUND", name)),
    }
}

/// The reference of an organization that must hold `role` for the part it plays, else `FAILED_PRECONDITION`.
pub async fn holding(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
    role: OrganizationRole,
) -> Result<OrganizationRef, Status> {
    let org = reference(ctx, tx, name, field).await?;
    if !org.roles.contains(&(role as i32)) {
        return Err(ctx.errors().failed_precondition(
            "ROLE_MISSING",
            format!(
                "{field}: {name} does not hold the {role:?} role; record the role on the organization first"
            ),
        ));
    }
    Ok(org)
}

/// What eligibility rules need of an organization: its credit standing and incident dates.
pub struct Standing {
    pub credit_status: CreditStatus,
    pub incident_dates: Vec<NaiveDate>,
}

pub async fn standing(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<Standing, Status> {
    let id = parse_name(ctx, name, field)?;
    let row = fetch(&mut **tx, id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("ORGANIZATION_NOT_FOUND", name))?;
    let list = incidents(&mut **tx, id).await.map_err(|e| ctx.db(e))?;
    Ok(Standing {
        credit_status: CreditStatus::try_from(i32::from(row.credit_status))
            .unwrap_or(CreditStatus::Unspecified),
        incident_dates: list
            .iter()
            .filter_map(|i| i.occur_date.as_ref().and_then(crate::convert::naive_date))
            .collect(),
    })
}

async fn incidents<'e>(db: impl PgExecutor<'e>, id: &str) -> Result<Vec<SecurityIncident>, sqlx::Error> {
    let stored: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT incident FROM security_incidents WHERE organization_id = $1 ORDER BY occur_date, seq",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(stored
        .iter()
        .filter_map(|bytes| SecurityIncident::decode(bytes.as_slice()).ok())
        .collect())
}

async fn full(ctx: &Ctx, tx: &mut Transaction<'static, Postgres>, row: &Row) -> Result<Organization, Status> {
    let list = incidents(&mut **tx, &row.id).await.map_err(|e| ctx.db(e))?;
    Ok(row.to_proto(list))
}

fn parse_name<'a>(ctx: &Ctx, name: &'a str, field: &str) -> Result<&'a str, Status> {
    ctx.parse_name(name, COLLECTION, field)
}

/// Checks the writable fields named in `paths`; returns the normalized credit code when checked.
fn validate_fields(o: &Organization, v: &mut Violations, paths: &Mask) -> Option<String> {
    if paths.has("display_name") && o.display_name.trim().is_empty() {
        v.add("organization.display_name", "must not be empty");
    }
    let mut code = None;
    if paths.has("unified_social_credit_code") {
        match UnifiedSocialCreditCode::parse(&o.unified_social_credit_code) {
            Ok(parsed) => code = Some(parsed.as_str().to_owned()),
            Err(err) => v.add("organization.unified_social_credit_code", err.to_string()),
        }
    }
    if paths.has("roles") {
        if o.roles.is_empty() {
            v.add("organization.roles", "must name at least one role");
        }
        for (i, role) in o.roles.iter().enumerate() {
            if OrganizationRole::try_from(*role).unwrap_or(OrganizationRole::Unspecified)
                == OrganizationRole::Unspecified
            {
                v.add(
                    format!("organization.roles[{i}]"),
                    "is not a known organization role",
                );
            }
        }
    }
    if paths.has("credit_status") && CreditStatus::try_from(o.credit_status).is_err() {
        v.add("organization.credit_status", "is not a known credit status");
    }
    for (path, value) in [
        ("credit_checked_date", &o.credit_checked_date),
        ("founded_date", &o.founded_date),
    ] {
        if let (true, Err(e)) = (paths.has(path), optional_date(value.as_ref())) {
            v.add(format!("organization.{path}"), e);
        }
    }
    code
}

fn roles_column(roles: &[i32]) -> Vec<i16> {
    let mut out: Vec<i16> = roles.iter().filter_map(|r| i16::try_from(*r).ok()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Unset credit status is recorded as good (no adverse record known).
fn credit_column(status: i32) -> i16 {
    match CreditStatus::try_from(status).unwrap_or(CreditStatus::Unspecified) {
        CreditStatus::Unspecified => CreditStatus::Good as i16,
        known => known as i16,
    }
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateOrganizationRequest,
) -> Result<CreateOrganizationResponse, Status> {
    const METHOD: &str = "registry.CreateOrganization";
    let o = req.organization.unwrap_or_default();
    let mut v = Violations::new();
    if !req.organization_id.is_empty() && !names::valid_id(&req.organization_id) {
        v.add(
            "organization_id",
            "must be empty or 2-63 lower-case letters, digits or `-`",
        );
    }
    let code = validate_fields(&o, &mut v, &Mask::all());
    if o.jurisdiction.is_empty() {
        v.add(
            "organization.jurisdiction",
            "must name the home jurisdiction, e.g. jurisdictions/yunnan",
        );
    }
    v.into_result(ctx.errors())?;
    let code = code.unwrap_or_default();

    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let jurisdiction =
        jurisdictions::reference(ctx, &mut tx, &o.jurisdiction, "organization.jurisdiction").await?;
    crate::supervision::require(ctx, &mut tx, caller, &jurisdiction.name, &o.display_name).await?;
    let id = if req.organization_id.is_empty() {
        uuid::Uuid::now_v7().to_string()
    } else {
        req.organization_id.clone()
    };
    let now = ctx.platform.clock.now();
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO organizations (id, display_name, uscc, roles, jurisdiction_id, legal_representative, contact,
             credit_status, credit_checked_date, founded_date, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(o.display_name.trim())
    .bind(&code)
    .bind(roles_column(&o.roles))
    .bind(jurisdiction.name.trim_start_matches("jurisdictions/"))
    .bind(o.legal_representative.trim())
    .bind(o.contact.trim())
    .bind(credit_column(o.credit_status))
    .bind(optional_date(o.credit_checked_date.as_ref()).unwrap_or_default())
    .bind(optional_date(o.founded_date.as_ref()).unwrap_or_default())
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            let taken = sqlx::query_scalar::<_, String>("SELECT id FROM organizations WHERE uscc = $1")
                .bind(&code)
                .fetch_optional(ctx.pool())
                .await
                .ok()
                .flatten();
            let message = match taken {
                Some(other) => format!(
                    "credit code {code} is already registered as {}",
                    names::organization(&other)
                ),
                None => format!("{} already exists", names::organization(&id)),
            };
            return Err(ctx.errors().already_exists("ORGANIZATION_EXISTS", message));
        }
        Err(err) => return Err(ctx.db(err)),
    };
    let name = names::organization(&row.id);
    let event = OrganizationCreated {
        organization: Some(row.to_ref()),
        jurisdiction: Some(jurisdiction),
        credit_status: i32::from(row.credit_status),
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({
        "display_name": row.display_name, "uscc": row.uscc, "roles": row.roles,
        "jurisdiction": o.jurisdiction, "credit_status": row.credit_status,
    });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &name,
        detail,
        ("pdop.registry.organization.created", &event),
    )
    .await?;
    let response = CreateOrganizationResponse {
        organization: Some(row.to_proto(Vec::new())),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn get(ctx: &Ctx, req: GetOrganizationRequest) -> Result<GetOrganizationResponse, Status> {
    let id = parse_name(ctx, &req.name, "name")?;
    let mut tx = ctx.begin().await?;
    let Some(row) = fetch(&mut *tx, id, false).await.map_err(|e| ctx.db(e))? else {
        return Err(ctx.errors().not_found("ORGANIZATION_NOT_FOUND", &req.name));
    };
    let organization = full(ctx, &mut tx, &row).await?;
    Ok(GetOrganizationResponse {
        organization: Some(organization),
    })
}

pub async fn list(ctx: &Ctx, req: ListOrganizationsRequest) -> Result<ListOrganizationsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(String, String)>) = paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction_id = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    v.into_result(ctx.errors())?;
    let (after_name, after_id) = after.unzip();
    // Ordered by display name, then id; the keyset is that pair of the last row returned.
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM organizations
         WHERE ($1::text IS NULL OR (display_name, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::smallint = 0 OR $4 = ANY (roles))
           AND ($5::smallint = 0 OR credit_status = $5)
           AND ($6::text = '' OR uscc = upper($6) OR display_name ILIKE '%' || $7 || '%')
         ORDER BY display_name, id LIMIT $8"
    ))
    .bind(after_name)
    .bind(after_id)
    .bind(jurisdiction_id)
    .bind(i16::try_from(req.role).unwrap_or(0))
    .bind(i16::try_from(req.credit_status).unwrap_or(0))
    .bind(req.query.trim())
    .bind(crate::validate::like_literal(req.query.trim()))
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| (r.display_name.clone(), r.id.clone()));
    // List views carry the incident summary only through get; keep the page light.
    Ok(ListOrganizationsResponse {
        organizations: rows.iter().map(|r| r.to_proto(Vec::new())).collect(),
        next_page_token,
    })
}

pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    req: UpdateOrganizationRequest,
) -> Result<UpdateOrganizationResponse, Status> {
    const METHOD: &str = "registry.UpdateOrganization";
    const MUTABLE: &[&str] = &[
        "display_name",
        "roles",
        "jurisdiction",
        "legal_representative",
        "contact",
        "credit_status",
        "credit_checked_date",
        "founded_date",
    ];
    let o = req.organization.unwrap_or_default();
    let mut v = Violations::new();
    let id = names::parse(&o.name, COLLECTION);
    if id.is_none() {
        v.add("organization.name", names::expected(COLLECTION));
    }
    // The credit code identifies the organization, so it is not among the mutable fields.
    let paths = mask::resolve(req.update_mask.as_ref(), MUTABLE, &mut v, |path| match path {
        "display_name" => !o.display_name.is_empty(),
        "roles" => !o.roles.is_empty(),
        "jurisdiction" => !o.jurisdiction.is_empty(),
        "legal_representative" => !o.legal_representative.is_empty(),
        "contact" => !o.contact.is_empty(),
        "credit_status" => o.credit_status != 0,
        "credit_checked_date" => o.credit_checked_date.is_some(),
        "founded_date" => o.founded_date.is_some(),
        _ => false,
    });
    validate_fields(&o, &mut v, &paths);
    v.into_result(ctx.errors())?;
    let id = id.unwrap_or_default();

    let mut tx = ctx.begin().await?;
    let Some(before) = fetch(&mut *tx, id, true).await.map_err(|e| ctx.db(e))? else {
        return Err(ctx.errors().not_found("ORGANIZATION_NOT_FOUND", &o.name));
    };
    let expected = if req.etag.is_empty() { &o.etag } else { &req.etag };
    ctx.check_etag(expected, before.version, &o.name)?;
    crate::supervision::require(ctx, &mut tx, caller, &before.jurisdiction_id, &o.name).await?;
    let jurisdiction_id = if paths.has("jurisdiction") {
        let r = jurisdictions::reference(ctx, &mut tx, &o.jurisdiction, "organization.jurisdiction").await?;
        // Moving an organization is supervising both ends.
        crate::supervision::require(ctx, &mut tx, caller, &r.name, &o.name).await?;
        r.name.trim_start_matches("jurisdictions/").to_owned()
    } else {
        before.jurisdiction_id.clone()
    };
    let text = |path: &str, new: &str, old: &str| {
        if paths.has(path) {
            new.trim().to_owned()
        } else {
            old.to_owned()
        }
    };
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE organizations SET display_name = $2, roles = $3, jurisdiction_id = $4, legal_representative = $5,
             contact = $6, credit_status = $7, credit_checked_date = $8, founded_date = $9, update_time = $10,
             version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(text("display_name", &o.display_name, &before.display_name))
    .bind(if paths.has("roles") { roles_column(&o.roles) } else { before.roles.clone() })
    .bind(&jurisdiction_id)
    .bind(text("legal_representative", &o.legal_representative, &before.legal_representative))
    .bind(text("contact", &o.contact, &before.contact))
    .bind(if paths.has("credit_status") { credit_column(o.credit_status) } else { before.credit_status })
    .bind(if paths.has("credit_checked_date") {
        optional_date(o.credit_checked_date.as_ref()).unwrap_or_default()
    } else {
        before.credit_checked_date
    })
    .bind(if paths.has("founded_date") { optional_date(o.founded_date.as_ref()).unwrap_or_default() } else { before.founded_date })
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let name = names::organization(&row.id);
    let jurisdiction = jurisdictions::reference(
        ctx,
        &mut tx,
        &names::jurisdiction(&row.jurisdiction_id),
        "organization.jurisdiction",
    )
    .await?;
    let event = OrganizationUpdated {
        organization: Some(row.to_ref()),
        jurisdiction: Some(jurisdiction),
        credit_status: i32::from(row.credit_status),
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({
        "display_name": row.display_name, "roles": row.roles, "jurisdiction": names::jurisdiction(&row.jurisdiction_id),
        "credit_status": row.credit_status, "contact": row.contact,
        "legal_representative": row.legal_representative,
    });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &name,
        detail,
        ("pdop.registry.organization.updated", &event),
    )
    .await?;
    let organization = full(ctx, &mut tx, &row).await?;
    ctx.commit(tx).await?;
    Ok(UpdateOrganizationResponse {
        organization: Some(organization),
    })
}

pub async fn record_security_incident(
    ctx: &Ctx,
    caller: &Caller,
    req: RecordSecurityIncidentRequest,
) -> Result<RecordSecurityIncidentResponse, Status> {
    const METHOD: &str = "registry.RecordSecurityIncident";
    let mut v = Violations::new();
    let id = names::parse(&req.organization, COLLECTION);
    if id.is_none() {
        v.add("organization", names::expected(COLLECTION));
    }
    let mut incident = req.incident.unwrap_or_default();
    let occurred = match optional_date(incident.occur_date.as_ref()) {
        Ok(Some(d)) if d > ctx.platform.clock.today() => {
            v.add("incident.occur_date", "must not be in the future");
            None
        }
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            v.add("incident.occur_date", "is required");
            None
        }
        Err(e) => {
            v.add("incident.occur_date", e);
            None
        }
    };
    if IncidentSeverity::try_from(incident.severity).unwrap_or(IncidentSeverity::Unspecified)
        == IncidentSeverity::Unspecified
    {
        v.add("incident.severity", "must be GENERAL, SERIOUS, MAJOR or CRITICAL");
    }
    if incident.description.trim().is_empty() {
        v.add("incident.description", "must describe what happened");
    }
    v.into_result(ctx.errors())?;
    let (id, occurred) = (id.unwrap_or_default(), occurred.unwrap_or_default());

    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let Some(row) = fetch(&mut *tx, id, true).await.map_err(|e| ctx.db(e))? else {
        return Err(ctx
            .errors()
            .not_found("ORGANIZATION_NOT_FOUND", &req.organization));
    };
    crate::supervision::require(ctx, &mut tx, caller, &row.jurisdiction_id, &req.organization).await?;
    let now = ctx.platform.clock.now();
    incident.recorded = Some(AuditInfo {
        actor: Some(actor(caller)),
        time: Some(timestamp(now)),
        trace_id: pdop_kit::propagation::current_trace_id().unwrap_or_default(),
        request_id: req.request_id.clone(),
    });
    sqlx::query("INSERT INTO security_incidents (organization_id, occur_date, incident, recorded_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(occurred)
        .bind(incident.encode_to_vec())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| ctx.db(e))?;
    let jurisdiction = jurisdictions::reference(
        ctx,
        &mut tx,
        &names::jurisdiction(&row.jurisdiction_id),
        "organization",
    )
    .await?;
    let event = SecurityIncidentRecorded {
        organization: Some(row.to_ref()),
        jurisdiction: Some(jurisdiction),
        occur_date: incident.occur_date,
        severity: incident.severity,
        description: incident.description.clone(),
        actor: Some(actor(caller)),
    };
    let name = names::organization(id);
    let detail = serde_json::json!({
        "occur_date": occurred.to_string(), "severity": incident.severity, "description": incident.description,
    });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &name,
        detail,
        ("pdop.registry.organization.incident_recorded", &event),
    )
    .await?;
    let organization = full(ctx, &mut tx, &row).await?;
    let response = RecordSecurityIncidentResponse {
        organization: Some(organization),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}
