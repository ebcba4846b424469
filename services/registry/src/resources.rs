//! Public data resources (公共数据资源) and the catalog (目录): fields with personal-information flags
//! (PIPL Art.28), grade (一般 / 重要 / 核心), 一数一源 (one authoritative source per data item), and the
//! full revision history. Core data never becomes authorizable (DOMAIN §9).

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_proto::common::OrganizationRole;
use pdop_proto::common::{AuditInfo, DataGrade, JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1::{
    FieldFlags, ResourceCatalogued, ResourceCreated, ResourceRetired, ResourceSnapshot, ResourceUpdated,
};
use pdop_proto::registry::v1::{
    CatalogResourceRequest, CatalogResourceResponse, CreateResourceRequest, CreateResourceResponse,
    GetResourceRequest, GetResourceResponse, GetResourceRevisionRequest, GetResourceRevisionResponse,
    ListResourceRevisionsRequest, ListResourceRevisionsResponse, ListResourcesRequest, ListResourcesResponse,
    Resource, ResourceField, ResourceRevision, ResourceState, RetireResourceRequest, RetireResourceResponse,
    UpdateResourceRequest, UpdateResourceResponse,
};
use prost::Message;
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling, fetch_row, is_unique_violation, optional_name, paging};
use crate::convert::{actor, date, etag, timestamp};
use crate::jurisdictions::{self, page_after};
use crate::mask::{self, Mask};
use crate::{names, organizations};

const COLLECTION: &str = "resources";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    provider_id: String,
    jurisdiction_id: String,
    state: i16,
    negative_listed: bool,
    registration_id: Option<String>,
    body: Vec<u8>,
    revision: i64,
    retire_reason: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
    display_name: String,
    registration_code: Option<String>,
    registration_valid_until: Option<NaiveDate>,
}

/// The code and validity are read from the linked registration, so coding, renewal, cancellation, revocation
/// and expiry show on the resource without a second copy to keep in step.
const COLUMNS: &str = "id, provider_id, jurisdiction_id, state, negative_listed, registration_id, body, revision, \
                       retire_reason, create_time, update_time, version, display_name, \
                       (SELECT g.registration_code FROM registrations g WHERE g.id = resources.registration_id) \
                         AS registration_code, \
                       (SELECT g.validity_end FROM registrations g WHERE g.id = resources.registration_id) \
                         AS registration_valid_until";

impl Row {
    fn to_proto(&self) -> Resource {
        let mut r = Resource::decode(self.body.as_slice()).unwrap_or_default();
        r.name = names::resource(&self.id);
        r.provider = names::organization(&self.provider_id);
        r.jurisdiction = names::jurisdiction(&self.jurisdiction_id);
        r.state = i32::from(self.state);
        r.negative_listed = self.negative_listed;
        r.registration = self
            .registration_id
            .as_deref()
            .map(names::registration)
            .unwrap_or_default();
        r.registration_code = self.registration_code.clone().unwrap_or_default();
        r.registration_valid_until = self.registration_valid_until.map(date);
        r.authorizable = authorizable(&r);
        r.revision_id = self.revision.to_string();
        r.retire_reason = self.retire_reason.clone();
        r.create_time = Some(timestamp(self.create_time));
        r.update_time = Some(timestamp(self.update_time));
        r.etag = etag(self.version);
        r
    }
}

/// A resource may be placed in an operator agreement only when catalogued, registered (登记, N3),
/// not core data and not on the negative list.
fn authorizable(r: &Resource) -> bool {
    r.state == ResourceState::Catalogued as i32
        && !r.registration.is_empty()
        && r.grade != DataGrade::Core as i32
        && !r.negative_listed
}

fn snapshot(r: &Resource, provider: OrganizationRef, jurisdiction: JurisdictionRef) -> ResourceSnapshot {
    let fields: Vec<FieldFlags> = r.fields.iter().map(field_flags).collect();
    ResourceSnapshot {
        name: r.name.clone(),
        display_name: r.display_name.clone(),
        description: r.description.clone(),
        provider: Some(provider),
        jurisdiction: Some(jurisdiction),
        grade: r.grade,
        general_sub_level: r.general_sub_level,
        category: r.category.clone(),
        update_frequency: r.update_frequency,
        state: r.state,
        has_personal_info: fields.iter().any(|f| f.personal_info),
        has_sensitive_personal_info: fields.iter().any(|f| f.sensitive_personal_info),
        authoritative_data_item_codes: authoritative_codes(r).into_iter().map(|(code, _)| code).collect(),
        authorizable: r.authorizable,
        revision_id: r.revision_id.clone(),
        fields,
        obtained_through_sharing: r.obtained_through_sharing,
    }
}

/// The flags the review service derives data-use items' personal-information flags from (PIPL Art.28: sensitive
/// categories and minors under 14 make a field sensitive).
fn field_flags(f: &ResourceField) -> FieldFlags {
    FieldFlags {
        field_key: f.field_key.clone(),
        personal_info: f.is_personal,
        sensitive_personal_info: !f.sensitive_categories.is_empty() || f.minor_under_14,
        trade_secret: f.trade_secret,
    }
}

/// Whether `new` changes the grade or any field's personal-information flags of `old`: a field added, removed or
/// changed counts only when it is, or was, flagged.
fn reclassified(old: &Resource, new: &Resource) -> bool {
    let flagged = |r: &Resource| -> HashSet<(String, bool, bool)> {
        r.fields
            .iter()
            .map(field_flags)
            .filter(|f| f.personal_info || f.sensitive_personal_info)
            .map(|f| (f.field_key, f.personal_info, f.sensitive_personal_info))
            .collect()
    };
    old.grade != new.grade || flagged(old) != flagged(new)
}

/// `(data_item_code, field_key)` of every field claiming to be the authoritative source.
fn authoritative_codes(r: &Resource) -> Vec<(String, String)> {
    r.fields
        .iter()
        .filter(|f| f.authoritative_source && !f.data_item_code.is_empty())
        .map(|f| (f.data_item_code.clone(), f.field_key.clone()))
        .collect()
}

/// The input fields of a resource, with every output-only field cleared (what `body` stores).
fn input_only(r: &Resource) -> Resource {
    Resource {
        name: String::new(),
        provider: String::new(),
        jurisdiction: String::new(),
        state: 0,
        negative_listed: false,
        registration: String::new(),
        registration_code: String::new(),
        registration_valid_until: None,
        authorizable: false,
        revision_id: String::new(),
        retire_reason: String::new(),
        create_time: None,
        update_time: None,
        etag: String::new(),
        ..r.clone()
    }
}

fn validate_content(r: &Resource, v: &mut Violations, paths: &Mask) {
    if paths.has("display_name") && r.display_name.trim().is_empty() {
        v.add("resource.display_name", "must not be empty");
    }
    if paths.has("grade") && DataGrade::try_from(r.grade).is_err() {
        v.add("resource.grade", "is not a known data grade");
    }
    if (paths.has("general_sub_level") || paths.has("grade")) && r.general_sub_level != 0 {
        if r.general_sub_level < 0 {
            v.add("resource.general_sub_level", "must not be negative");
        } else if r.grade != DataGrade::General as i32 {
            v.add(
                "resource.general_sub_level",
                "applies only to general data (一般数据); leave it 0 for other grades",
            );
        }
    }
    if paths.has("record_count") && r.record_count < 0 {
        v.add("resource.record_count", "must not be negative");
    }
    // N2 Art.5: data obtained through sharing needs the sharing provider's consent.
    if (paths.has("obtained_through_sharing") || paths.has("sharing_consent"))
        && r.obtained_through_sharing
        && r.sharing_consent.as_ref().is_none_or(|d| d.uri.is_empty())
    {
        v.add(
            "resource.sharing_consent",
            "is required when the data was obtained through sharing (N2 Art.5)",
        );
    }
    if paths.has("fields") {
        validate_fields(r, v);
    }
}

fn validate_fields(r: &Resource, v: &mut Violations) {
    let mut keys = HashSet::new();
    let mut codes = HashSet::new();
    for (i, f) in r.fields.iter().enumerate() {
        let at = |name: &str| format!("resource.fields[{i}].{name}");
        if f.field_key.trim().is_empty() {
            v.add(at("field_key"), "must not be empty");
        } else if !keys.insert(f.field_key.as_str()) {
            v.add(
                at("field_key"),
                format!("`{}` appears twice in this resource", f.field_key),
            );
        }
        if f.display_name.trim().is_empty() {
            v.add(at("display_name"), "must not be empty");
        }
        // PIPL Art.28: sensitive categories and minors' information are personal information.
        if (!f.sensitive_categories.is_empty() || f.minor_under_14) && !f.is_personal {
            v.add(
                at("is_personal"),
                "must be true when the field has sensitive categories or minors' information (PIPL Art.28)",
            );
        }
        if f.sensitive_categories.contains(&0) {
            v.add(at("sensitive_categories"), "must not contain UNSPECIFIED");
        }
        if f.authoritative_source {
            if f.data_item_code.is_empty() {
                v.add(
                    at("data_item_code"),
                    "is required for the authoritative source of a data item (一数一源)",
                );
            } else if !codes.insert(f.data_item_code.as_str()) {
                v.add(
                    at("authoritative_source"),
                    format!("data item {} has two authoritative fields here", f.data_item_code),
                );
            }
        }
        if DataGrade::try_from(f.grade).is_err() {
            v.add(at("grade"), "is not a known data grade");
        }
    }
}

fn parse_name<'a>(ctx: &Ctx, name: &'a str, field: &str) -> Result<&'a str, Status> {
    ctx.parse_name(name, COLLECTION, field)
}

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str, lock: bool) -> Result<Option<Row>, sqlx::Error> {
    fetch_row(db, "resources", COLUMNS, id, lock).await
}

async fn fetch_for_change(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<Row, Status> {
    let id = parse_name(ctx, name, field)?;
    fetch(&mut **tx, id, true)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("RESOURCE_NOT_FOUND", name))
}

/// Data providers act only on their own organization's resources; data authorities on any.
fn check_owner(ctx: &Ctx, caller: &Caller, provider: &str) -> Result<(), Status> {
    if caller.has_role(Role::DataAuthority) || caller.organization == provider {
        return Ok(());
    }
    Err(ctx.errors().permission_denied(
        "NOT_THE_PROVIDER",
        format!("only {provider} or a data authority may change this resource"),
    ))
}

/// A data authority changing another organization's resource supervises its jurisdiction (THREATS H2).
async fn supervise_unless_own(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
) -> Result<(), Status> {
    if caller.organization == names::organization(&row.provider_id) {
        return Ok(());
    }
    crate::supervision::require(ctx, tx, caller, &row.jurisdiction_id, &names::resource(&row.id)).await
}

/// Claims the authoritative data items of `r` for `resource_id` (一数一源), replacing its earlier claims.
async fn claim_items(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    jurisdiction_id: &str,
    resource_id: &str,
    r: &Resource,
) -> Result<(), Status> {
    sqlx::query("DELETE FROM authoritative_items WHERE resource_id = $1")
        .bind(resource_id)
        .execute(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?;
    for (code, field_key) in authoritative_codes(r) {
        let inserted = sqlx::query(
            "INSERT INTO authoritative_items (jurisdiction_id, data_item_code, resource_id, field_key) VALUES ($1, $2, $3, $4)",
        )
        .bind(jurisdiction_id)
        .bind(&code)
        .bind(resource_id)
        .bind(&field_key)
        .execute(&mut **tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => {
                let holder: Option<String> = sqlx::query_scalar(
                    "SELECT resource_id FROM authoritative_items WHERE jurisdiction_id = $1 AND data_item_code = $2",
                )
                .bind(jurisdiction_id)
                .bind(&code)
                .fetch_optional(ctx.pool())
                .await
                .ok()
                .flatten();
                return Err(ctx.errors().failed_precondition(
                    "NOT_THE_AUTHORITATIVE_SOURCE",
                    format!(
                        "一数一源: {} is already the authoritative source of data item {code} in {}; \
                         mark field `{field_key}` as not authoritative or retire the other resource first",
                        holder.as_deref().map(names::resource).unwrap_or_default(),
                        names::jurisdiction(jurisdiction_id),
                    ),
                ));
            }
            Err(err) => return Err(ctx.db(err)),
        }
    }
    Ok(())
}

async fn save_revision(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    resource: &Resource,
    changed: &[String],
) -> Result<(), Status> {
    let audit = AuditInfo {
        actor: Some(actor(caller)),
        time: resource.update_time,
        trace_id: pdop_kit::propagation::current_trace_id().unwrap_or_default(),
        request_id: String::new(),
    };
    sqlx::query(
        "INSERT INTO resource_revisions (resource_id, revision, snapshot, changed_fields, audit) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(resource.name.trim_start_matches("resources/"))
    .bind(resource.revision_id.parse::<i64>().unwrap_or(1))
    .bind(resource.encode_to_vec())
    .bind(changed)
    .bind(audit.encode_to_vec())
    .execute(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(())
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateResourceRequest,
) -> Result<CreateResourceResponse, Status> {
    const METHOD: &str = "registry.CreateResource";
    let r = req.resource.unwrap_or_default();
    let mut v = Violations::new();
    if !req.resource_id.is_empty() && !names::valid_id(&req.resource_id) {
        v.add(
            "resource_id",
            "must be empty or 2-63 lower-case letters, digits or `-`",
        );
    }
    validate_content(&r, &mut v, &Mask::all());
    if r.provider.is_empty() {
        v.add(
            "resource.provider",
            "must name the providing organization, e.g. organizations/yn-stats",
        );
    }
    if r.jurisdiction.is_empty() {
        v.add(
            "resource.jurisdiction",
            "must name the jurisdiction, e.g. jurisdictions/yunnan",
        );
    }
    v.into_result(ctx.errors())?;
    check_owner(ctx, caller, &r.provider)?;

    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let provider = organizations::reference(ctx, &mut tx, &r.provider, "resource.provider").await?;
    if !provider.roles.contains(&(OrganizationRole::DataProvider as i32)) {
        return Err(ctx.errors().failed_precondition(
            "NOT_A_DATA_PROVIDER",
            format!(
                "{} does not hold the data provider role; add it to the organization first",
                r.provider
            ),
        ));
    }
    let jurisdiction =
        jurisdictions::reference(ctx, &mut tx, &r.jurisdiction, "resource.jurisdiction").await?;
    if caller.organization != r.provider {
        crate::supervision::require(ctx, &mut tx, caller, &jurisdiction.name, &r.provider).await?;
    }
    let id = if req.resource_id.is_empty() {
        uuid::Uuid::now_v7().to_string()
    } else {
        req.resource_id.clone()
    };
    let jurisdiction_id = r.jurisdiction.trim_start_matches("jurisdictions/").to_owned();
    let now = ctx.platform.clock.now();
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO resources (id, display_name, provider_id, jurisdiction_id, grade, state, has_personal, body,
             create_time, update_time, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(r.display_name.trim())
    .bind(r.provider.trim_start_matches("organizations/"))
    .bind(&jurisdiction_id)
    .bind(i16::try_from(r.grade).unwrap_or(0))
    .bind(ResourceState::Draft as i16)
    .bind(r.fields.iter().any(|f| f.is_personal))
    .bind(input_only(&r).encode_to_vec())
    .bind(now)
    .bind(r.description.trim())
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            return Err(ctx.errors().already_exists(
                "RESOURCE_EXISTS",
                format!("{} already exists", names::resource(&id)),
            ));
        }
        Err(err) => return Err(ctx.db(err)),
    };
    claim_items(ctx, &mut tx, &jurisdiction_id, &id, &r).await?;
    let resource = row.to_proto();
    save_revision(ctx, &mut tx, caller, &resource, &["*".to_owned()]).await?;
    let event = ResourceCreated {
        resource: Some(snapshot(&resource, provider, jurisdiction)),
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({
        "display_name": resource.display_name, "provider": resource.provider, "grade": resource.grade,
        "fields": resource.fields.iter().map(|f| &f.field_key).collect::<Vec<_>>(),
    });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &resource.name,
        detail,
        ("pdop.registry.resource.created", &event),
    )
    .await?;
    let response = CreateResourceResponse {
        resource: Some(resource),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn get(ctx: &Ctx, req: GetResourceRequest) -> Result<GetResourceResponse, Status> {
    let id = parse_name(ctx, &req.name, "name")?;
    match fetch(ctx.pool(), id, false).await.map_err(|e| ctx.db(e))? {
        Some(row) => Ok(GetResourceResponse {
            resource: Some(row.to_proto()),
        }),
        None => Err(ctx.errors().not_found("RESOURCE_NOT_FOUND", &req.name)),
    }
}

pub async fn list(ctx: &Ctx, req: ListResourcesRequest) -> Result<ListResourcesResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(String, String)>) = paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction_id = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let provider_id = optional_name(&req.provider, "organizations", "provider", &mut v);
    v.into_result(ctx.errors())?;
    let (after_name, after_id) = after.unzip();
    // `authorizable_only` needs a coded registration, so it is a column test, not a decode.
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM resources
         WHERE ($1::text IS NULL OR (display_name, id) > ($1, $2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR provider_id = $4)
           AND ($5::smallint = 0 OR grade = $5)
           AND ($6::smallint = 0 OR state = $6)
           AND ($7::text = '' OR display_name ILIKE '%' || $7 || '%' OR description ILIKE '%' || $7 || '%')
           AND (NOT $8 OR (state = {catalogued} AND registration_id IS NOT NULL AND grade <> {core} AND NOT negative_listed))
           AND (NOT $9 OR has_personal)
         ORDER BY display_name, id LIMIT $10",
        catalogued = ResourceState::Catalogued as i16,
        core = DataGrade::Core as i16,
    ))
    .bind(after_name)
    .bind(after_id)
    .bind(jurisdiction_id)
    .bind(provider_id)
    .bind(i16::try_from(req.grade).unwrap_or(0))
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(crate::validate::like_literal(req.query.trim()))
    .bind(req.authorizable_only)
    .bind(req.personal_only)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| (r.display_name.clone(), r.id.clone()));
    Ok(ListResourcesResponse {
        resources: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

const MUTABLE: &[&str] = &[
    "display_name",
    "description",
    "fields",
    "grade",
    "general_sub_level",
    "category",
    "update_frequency",
    "quality_notes",
    "sample_data",
    "record_count",
    "obtained_through_sharing",
    "sharing_consent",
    "state_asset_duties_fulfilled",
    "state_asset_evidence",
];

/// Copies the fields named in `paths` from `new` onto `old`.
fn apply(old: &mut Resource, new: &Resource, paths: &Mask) {
    macro_rules! take {
        ($($field:ident),*) => {
            $( if paths.has(stringify!($field)) { old.$field = new.$field.clone(); } )*
        };
    }
    take!(
        display_name,
        description,
        fields,
        grade,
        general_sub_level,
        category,
        update_frequency,
        quality_notes,
        sample_data,
        record_count,
        obtained_through_sharing,
        sharing_consent,
        state_asset_duties_fulfilled,
        state_asset_evidence
    );
}

pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    req: UpdateResourceRequest,
) -> Result<UpdateResourceResponse, Status> {
    const METHOD: &str = "registry.UpdateResource";
    let new = req.resource.unwrap_or_default();
    let mut v = Violations::new();
    let paths = mask::resolve(req.update_mask.as_ref(), MUTABLE, &mut v, |path| match path {
        "display_name" => !new.display_name.is_empty(),
        "description" => !new.description.is_empty(),
        "fields" => !new.fields.is_empty(),
        "grade" => new.grade != 0,
        "general_sub_level" => new.general_sub_level != 0,
        "category" => !new.category.is_empty(),
        "update_frequency" => new.update_frequency != 0,
        "quality_notes" => !new.quality_notes.is_empty(),
        "sample_data" => new.sample_data.is_some(),
        "record_count" => new.record_count != 0,
        "obtained_through_sharing" => new.obtained_through_sharing,
        "sharing_consent" => new.sharing_consent.is_some(),
        "state_asset_duties_fulfilled" => new.state_asset_duties_fulfilled,
        "state_asset_evidence" => new.state_asset_evidence.is_some(),
        _ => false,
    });
    v.into_result(ctx.errors())?;

    let mut tx = ctx.begin().await?;
    let row = fetch_for_change(ctx, &mut tx, &new.name, "resource.name").await?;
    check_owner(ctx, caller, &names::organization(&row.provider_id))?;
    supervise_unless_own(ctx, &mut tx, caller, &row).await?;
    let expected = if req.etag.is_empty() { &new.etag } else { &req.etag };
    ctx.check_etag(expected, row.version, &new.name)?;
    if row.state == ResourceState::Retired as i16 {
        return Err(ctx.errors().failed_precondition(
            "RESOURCE_RETIRED",
            format!("{} is retired and can no longer change", new.name),
        ));
    }
    let mut merged = row.to_proto();
    apply(&mut merged, &new, &paths);
    // Validate the merged resource so cross-field rules (sub-level vs grade, sharing consent) hold.
    let mut v = Violations::new();
    validate_content(&merged, &mut v, &paths);
    v.into_result(ctx.errors())?;
    if row.state == ResourceState::Catalogued as i16 && merged.grade == DataGrade::Unspecified as i32 {
        return Err(ctx
            .errors()
            .failed_precondition("GRADE_REQUIRED", "a catalogued resource keeps its grade"));
    }
    if row.state == ResourceState::Catalogued as i16 && reclassified(&row.to_proto(), &merged) {
        // Downgrading core data, or clearing a personal-information flag, would make it authorizable (THREATS M8).
        return Err(ctx.errors().failed_precondition(
            "RECLASSIFICATION_NEEDS_REVIEW",
            format!(
                "{} is catalogued: its grade and personal-information flags change only through review",
                new.name
            ),
        ));
    }
    let updated = sqlx::query_as::<_, Row>(&format!(
        "UPDATE resources SET display_name = $2, grade = $3, has_personal = $4, body = $5, revision = revision + 1,
             update_time = $6, version = version + 1, description = $7
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(&row.id)
    .bind(merged.display_name.trim())
    .bind(i16::try_from(merged.grade).unwrap_or(0))
    .bind(merged.fields.iter().any(|f| f.is_personal))
    .bind(input_only(&merged).encode_to_vec())
    .bind(ctx.platform.clock.now())
    .bind(merged.description.trim())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    if paths.has("fields") {
        claim_items(ctx, &mut tx, &row.jurisdiction_id, &row.id, &merged).await?;
    }
    let resource = updated.to_proto();
    let changed: Vec<String> = MUTABLE
        .iter()
        .filter(|p| paths.has(p))
        .map(|p| (*p).to_owned())
        .collect();
    save_revision(ctx, &mut tx, caller, &resource, &changed).await?;
    let (provider, jurisdiction) = refs(ctx, &mut tx, &resource).await?;
    let event = ResourceUpdated {
        resource: Some(snapshot(&resource, provider, jurisdiction)),
        changed_fields: changed.clone(),
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({ "changed_fields": changed, "revision": resource.revision_id });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &resource.name,
        detail,
        ("pdop.registry.resource.updated", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(UpdateResourceResponse {
        resource: Some(resource),
    })
}

async fn refs(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    r: &Resource,
) -> Result<(OrganizationRef, JurisdictionRef), Status> {
    let provider = organizations::reference(ctx, tx, &r.provider, "resource.provider").await?;
    let jurisdiction = jurisdictions::reference(ctx, tx, &r.jurisdiction, "resource.jurisdiction").await?;
    Ok((provider, jurisdiction))
}

/// Moves the state and records the change; shared by catalogue and retire.
async fn transition(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    to: ResourceState,
    retire_reason: &str,
) -> Result<Resource, Status> {
    let updated = sqlx::query_as::<_, Row>(&format!(
        "UPDATE resources SET state = $2, retire_reason = $3, update_time = $4, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(&row.id)
    .bind(to as i16)
    .bind(retire_reason)
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(updated.to_proto())
}

pub async fn catalog(
    ctx: &Ctx,
    caller: &Caller,
    req: CatalogResourceRequest,
) -> Result<CatalogResourceResponse, Status> {
    const METHOD: &str = "registry.CatalogResource";
    let mut tx = ctx.begin().await?;
    let row = fetch_for_change(ctx, &mut tx, &req.name, "name").await?;
    check_owner(ctx, caller, &names::organization(&row.provider_id))?;
    supervise_unless_own(ctx, &mut tx, caller, &row).await?;
    ctx.check_etag(&req.etag, row.version, &req.name)?;
    let current = row.to_proto();
    if row.state != ResourceState::Draft as i16 {
        return Err(ctx.errors().failed_precondition(
            "NOT_DRAFT",
            format!(
                "{} is {:?}; only a draft resource is catalogued",
                req.name,
                state_of(row.state)
            ),
        ));
    }
    if current.grade == DataGrade::Unspecified as i32 {
        return Err(ctx.errors().failed_precondition(
            "GRADE_REQUIRED",
            "grade the resource (一般 / 重要 / 核心) before cataloguing it",
        ));
    }
    if current.fields.is_empty() {
        return Err(ctx.errors().failed_precondition(
            "FIELDS_REQUIRED",
            "describe at least one field before cataloguing the resource",
        ));
    }
    let resource = transition(ctx, &mut tx, &row, ResourceState::Catalogued, "").await?;
    let (provider, jurisdiction) = refs(ctx, &mut tx, &resource).await?;
    let event = ResourceCatalogued {
        resource: Some(snapshot(&resource, provider, jurisdiction)),
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({ "state": "CATALOGUED" });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &resource.name,
        detail,
        ("pdop.registry.resource.catalogued", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(CatalogResourceResponse {
        resource: Some(resource),
    })
}

pub async fn retire(
    ctx: &Ctx,
    caller: &Caller,
    req: RetireResourceRequest,
) -> Result<RetireResourceResponse, Status> {
    const METHOD: &str = "registry.RetireResource";
    if req.reason.trim().is_empty() {
        let mut v = Violations::new();
        v.add("reason", "must say why the resource stops being provided");
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let row = fetch_for_change(ctx, &mut tx, &req.name, "name").await?;
    check_owner(ctx, caller, &names::organization(&row.provider_id))?;
    supervise_unless_own(ctx, &mut tx, caller, &row).await?;
    ctx.check_etag(&req.etag, row.version, &req.name)?;
    if row.state == ResourceState::Retired as i16 {
        return Err(ctx
            .errors()
            .failed_precondition("ALREADY_RETIRED", format!("{} is already retired", req.name)));
    }
    let resource = transition(ctx, &mut tx, &row, ResourceState::Retired, req.reason.trim()).await?;
    // A retired resource is no longer the authoritative source of anything (一数一源 frees the items).
    sqlx::query("DELETE FROM authoritative_items WHERE resource_id = $1")
        .bind(&row.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| ctx.db(e))?;
    let (provider, jurisdiction) = refs(ctx, &mut tx, &resource).await?;
    let event = ResourceRetired {
        resource: Some(snapshot(&resource, provider, jurisdiction)),
        reason: resource.retire_reason.clone(),
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({ "state": "RETIRED", "reason": resource.retire_reason });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &resource.name,
        detail,
        ("pdop.registry.resource.retired", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(RetireResourceResponse {
        resource: Some(resource),
    })
}

fn state_of(state: i16) -> ResourceState {
    ResourceState::try_from(i32::from(state)).unwrap_or(ResourceState::Unspecified)
}

#[derive(sqlx::FromRow)]
struct RevisionRow {
    resource_id: String,
    revision: i64,
    snapshot: Vec<u8>,
    changed_fields: Vec<String>,
    audit: Vec<u8>,
}

impl RevisionRow {
    fn to_proto(&self) -> ResourceRevision {
        ResourceRevision {
            name: format!(
                "{}/revisions/{}",
                names::resource(&self.resource_id),
                self.revision
            ),
            revision_id: self.revision.to_string(),
            snapshot: Resource::decode(self.snapshot.as_slice()).ok(),
            changed_fields: self.changed_fields.clone(),
            audit: AuditInfo::decode(self.audit.as_slice()).ok(),
        }
    }
}

pub async fn list_revisions(
    ctx: &Ctx,
    req: ListResourceRevisionsRequest,
) -> Result<ListResourceRevisionsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<i64>) = paging(req.page_size, &req.page_token, &mut v);
    let id = names::parse(&req.parent, COLLECTION);
    if id.is_none() {
        v.add("parent", names::expected(COLLECTION));
    }
    v.into_result(ctx.errors())?;
    let id = id.unwrap_or_default();
    if fetch(ctx.pool(), id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .is_none()
    {
        return Err(ctx.errors().not_found("RESOURCE_NOT_FOUND", &req.parent));
    }
    // Newest first; the keyset is the last revision number returned.
    let mut rows = sqlx::query_as::<_, RevisionRow>(
        "SELECT resource_id, revision, snapshot, changed_fields, audit FROM resource_revisions
         WHERE resource_id = $1 AND ($2::bigint IS NULL OR revision < $2)
         ORDER BY revision DESC LIMIT $3",
    )
    .bind(id)
    .bind(after)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.revision);
    Ok(ListResourceRevisionsResponse {
        revisions: rows.iter().map(RevisionRow::to_proto).collect(),
        next_page_token,
    })
}

pub async fn get_revision(
    ctx: &Ctx,
    req: GetResourceRevisionRequest,
) -> Result<GetResourceRevisionResponse, Status> {
    let parsed = req.name.split_once("/revisions/").and_then(|(parent, rev)| {
        let id = names::parse(parent, COLLECTION)?;
        Some((id, rev.parse::<i64>().ok()?))
    });
    let Some((id, revision)) = parsed else {
        let mut v = Violations::new();
        v.add("name", "must be `resources/{id}/revisions/{revision}`");
        return Err(ctx.errors().invalid(&v));
    };
    let row = sqlx::query_as::<_, RevisionRow>(
        "SELECT resource_id, revision, snapshot, changed_fields, audit FROM resource_revisions
         WHERE resource_id = $1 AND revision = $2",
    )
    .bind(id)
    .bind(revision)
    .fetch_optional(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    match row {
        Some(row) => Ok(GetResourceRevisionResponse {
            revision: Some(row.to_proto()),
        }),
        None => Err(ctx.errors().not_found("REVISION_NOT_FOUND", &req.name)),
    }
}

/// What the negative list needs of a resource: its id, jurisdiction and field keys (locked for the change).
pub struct Listed {
    pub id: String,
    pub jurisdiction_id: String,
    pub field_keys: Vec<String>,
}

pub async fn for_listing(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<Listed, Status> {
    let row = fetch_for_change(ctx, tx, name, field).await?;
    let r = row.to_proto();
    Ok(Listed {
        id: row.id,
        jurisdiction_id: row.jurisdiction_id,
        field_keys: r.fields.into_iter().map(|f| f.field_key).collect(),
    })
}

/// Marks whether an active negative-list entry covers the resource (it then is not authorizable).
pub async fn set_negative_listed(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
    listed: bool,
) -> Result<(), Status> {
    sqlx::query(
        "UPDATE resources SET negative_listed = $2, version = version + 1, update_time = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(listed)
    .bind(ctx.platform.clock.now())
    .execute(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(())
}

/// Replaces the resources linked to `owner_id` in a link table (an agreement's scope, a product's sources),
/// so that "which agreements or products use this resource" is one indexed query.
pub async fn link(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    (table, owner_column): (&str, &str),
    owner_id: &str,
    resources: &[String],
) -> Result<(), Status> {
    let ids: Vec<&str> = resources
        .iter()
        .map(|r| r.trim_start_matches("resources/"))
        .collect();
    sqlx::query(&format!("DELETE FROM {table} WHERE {owner_column} = $1"))
        .bind(owner_id)
        .execute(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?;
    sqlx::query(&format!(
        "INSERT INTO {table} ({owner_column}, resource_id) SELECT $1, unnest($2::text[])"
    ))
    .bind(owner_id)
    .bind(&ids)
    .execute(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(())
}

/// What a plan's or an agreement's scope needs of a resource.
pub struct InScope {
    pub resource: Resource,
}

impl InScope {
    /// Why the resource may not be placed in an operator agreement, if it may not.
    pub fn not_authorizable_because(&self) -> Option<&'static str> {
        let r = &self.resource;
        if r.grade == DataGrade::Core as i32 {
            Some("it is core data (核心数据), which never enters authorized operation")
        } else if r.negative_listed {
            Some("it is on the negative list (负面清单)")
        } else if r.state != ResourceState::Catalogued as i32 {
            Some("it is not catalogued (目录)")
        } else if r.registration.is_empty() {
            Some("it is not registered (登记, N3): unregistered resources cannot be placed in an agreement")
        } else {
            None
        }
    }
}

/// A resource named in a scope (`field` names it in errors); `NOT_FOUND` if absent.
pub async fn for_scope(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<InScope, Status> {
    let id = parse_name(ctx, name, field)?;
    let row = fetch(&mut **tx, id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("RESOURCE_NOT_FOUND", name))?;
    Ok(InScope {
        resource: row.to_proto(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(grade: DataGrade) -> Resource {
        Resource {
            state: ResourceState::Catalogued as i32,
            registration: "registrations/r1".into(),
            grade: grade as i32,
            ..Default::default()
        }
    }

    #[test]
    fn core_data_never_enters_authorized_operation() {
        // Registry issue §3 / GB/T 43697 (DOMAIN §9): core data (核心数据) is never authorizable.
        assert!(authorizable(&registered(DataGrade::General)));
        assert!(authorizable(&registered(DataGrade::Important)));
        assert!(!authorizable(&registered(DataGrade::Core)));
    }

    #[test]
    fn only_catalogued_registered_and_unlisted_resources_are_authorizable() {
        // N3: unregistered resources cannot be placed in an agreement; 负面清单 entries are excluded.
        let unregistered = Resource {
            registration: String::new(),
            ..registered(DataGrade::General)
        };
        assert!(!authorizable(&unregistered));
        let listed = Resource {
            negative_listed: true,
            ..registered(DataGrade::General)
        };
        assert!(!authorizable(&listed));
        let draft = Resource {
            state: ResourceState::Draft as i32,
            ..registered(DataGrade::General)
        };
        assert!(!authorizable(&draft));
    }
}
