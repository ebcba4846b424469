//! Jurisdictions (辖区): the national / province / city / county tree, each bound to a rule profile
//! (DOMAIN §6: where the sources disagree, the jurisdiction's profile decides).

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_proto::common::{JurisdictionLevel, JurisdictionRef};
use pdop_proto::registry::events::v1::{JurisdictionCreated, JurisdictionUpdated};
use pdop_proto::registry::v1::{
    CreateJurisdictionRequest, CreateJurisdictionResponse, GetJurisdictionRequest, GetJurisdictionResponse,
    Jurisdiction, ListJurisdictionsRequest, ListJurisdictionsResponse, UpdateJurisdictionRequest,
    UpdateJurisdictionResponse,
};
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling, is_unique_violation, optional_name, paging};
use crate::convert::{actor, etag, timestamp};
use crate::mask::{self, Mask};
use crate::names;

const COLLECTION: &str = "jurisdictions";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    display_name: String,
    level: i16,
    parent_id: Option<String>,
    profile_id: String,
    division_code: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

impl Row {
    fn to_proto(&self) -> Jurisdiction {
        Jurisdiction {
            name: names::jurisdiction(&self.id),
            display_name: self.display_name.clone(),
            level: i32::from(self.level),
            parent: self
                .parent_id
                .as_deref()
                .map(names::jurisdiction)
                .unwrap_or_default(),
            profile_id: self.profile_id.clone(),
            division_code: self.division_code.clone(),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
            etag: etag(self.version),
        }
    }

    fn to_ref(&self) -> JurisdictionRef {
        JurisdictionRef {
            name: names::jurisdiction(&self.id),
            display_name: self.display_name.clone(),
            level: i32::from(self.level),
            profile_id: self.profile_id.clone(),
            division_code: self.division_code.clone(),
        }
    }
}

const COLUMNS: &str =
    "id, display_name, level, parent_id, profile_id, division_code, create_time, update_time, version";

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM jurisdictions WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The denormalized reference other resources and events carry; `NOT_FOUND` naming `field` if absent.
pub async fn reference(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<JurisdictionRef, Status> {
    let Some(id) = names::parse(name, COLLECTION) else {
        let mut v = Violations::new();
        v.add(field, names::expected(COLLECTION));
        return Err(ctx.errors().invalid(&v));
    };
    match fetch(&mut **tx, id).await.map_err(|e| ctx.db(e))? {
        Some(row) => Ok(row.to_ref()),
        None => Err(ctx.errors().not_found("JURISDICTION_NOT_FOUND", name)),
    }
}

fn validate_fields(j: &Jurisdiction, ctx: &Ctx, v: &mut Violations, paths: &Mask) {
    if paths.has("display_name") && j.display_name.trim().is_empty() {
        v.add("jurisdiction.display_name", "must not be empty");
    }
    if paths.has("profile_id") && ctx.profiles.get(&j.profile_id).is_none() {
        let known: Vec<_> = ctx.profiles.ids().collect();
        v.add(
            "jurisdiction.profile_id",
            format!("unknown profile `{}`; known: {}", j.profile_id, known.join(", ")),
        );
    }
    if paths.has("division_code")
        && !(j.division_code.is_empty()
            || (j.division_code.len() == 6 && j.division_code.bytes().all(|b| b.is_ascii_digit())))
    {
        v.add(
            "jurisdiction.division_code",
            "must be empty or six digits (GB/T 2260), e.g. 530000",
        );
    }
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateJurisdictionRequest,
) -> Result<CreateJurisdictionResponse, Status> {
    const METHOD: &str = "registry.CreateJurisdiction";
    let mut v = Violations::new();
    let j = req.jurisdiction.unwrap_or_default();
    if !names::valid_id(&req.jurisdiction_id) {
        v.add(
            "jurisdiction_id",
            "must be 2-63 lower-case letters, digits or `-`, e.g. yunnan-kunming",
        );
    }
    validate_fields(&j, ctx, &mut v, &Mask::all());
    let level = JurisdictionLevel::try_from(j.level).unwrap_or(JurisdictionLevel::Unspecified);
    if level == JurisdictionLevel::Unspecified {
        v.add("jurisdiction.level", "must be NATIONAL, PROVINCE, CITY or COUNTY");
    }
    let parent_id = match j.parent.as_str() {
        "" => None,
        name => {
            let parsed = names::parse(name, COLLECTION);
            if parsed.is_none() {
                v.add("jurisdiction.parent", names::expected(COLLECTION));
            }
            parsed
        }
    };
    if parent_id.is_none() && matches!(level, JurisdictionLevel::City | JurisdictionLevel::County) {
        v.add(
            "jurisdiction.parent",
            "a city or county needs its parent jurisdiction",
        );
    }
    if parent_id.is_some() && level == JurisdictionLevel::National {
        v.add("jurisdiction.parent", "the national root has no parent");
    }
    v.into_result(ctx.errors())?;

    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    if let Some(parent_id) = parent_id {
        let Some(parent) = fetch(&mut *tx, parent_id).await.map_err(|e| ctx.db(e))? else {
            return Err(ctx.errors().not_found("PARENT_NOT_FOUND", &j.parent));
        };
        // Only a supervisor of the parent adds to the tree below it (THREATS H2).
        crate::supervision::require(ctx, &mut tx, caller, parent_id, &j.parent).await?;
        // A child is exactly one level below its parent.
        if i32::from(parent.level) + 1 != level as i32 {
            let mut v = Violations::new();
            v.add(
                "jurisdiction.parent",
                format!(
                    "{} is at level {:?}; a {:?} must sit directly below its parent",
                    j.parent,
                    level_of(parent.level),
                    level
                ),
            );
            return Err(ctx.errors().invalid(&v));
        }
    }
    let now = ctx.platform.clock.now();
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO jurisdictions (id, display_name, level, parent_id, profile_id, division_code, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
    ))
    .bind(&req.jurisdiction_id)
    .bind(j.display_name.trim())
    .bind(level as i16)
    .bind(parent_id)
    .bind(&j.profile_id)
    .bind(&j.division_code)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            return Err(ctx.errors().already_exists(
                "JURISDICTION_EXISTS",
                format!("{} already exists", names::jurisdiction(&req.jurisdiction_id)),
            ));
        }
        Err(err) => return Err(ctx.db(err)),
    };
    let name = names::jurisdiction(&row.id);
    let event = JurisdictionCreated {
        jurisdiction: Some(row.to_ref()),
        parent: j.parent.clone(),
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({
        "display_name": row.display_name, "level": row.level, "parent": j.parent,
        "profile_id": row.profile_id, "division_code": row.division_code,
    });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &name,
        detail,
        ("pdop.registry.jurisdiction.created", &event),
    )
    .await?;
    let response = CreateJurisdictionResponse {
        jurisdiction: Some(row.to_proto()),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

fn level_of(level: i16) -> JurisdictionLevel {
    JurisdictionLevel::try_from(i32::from(level)).unwrap_or(JurisdictionLevel::Unspecified)
}

pub async fn get(ctx: &Ctx, req: GetJurisdictionRequest) -> Result<GetJurisdictionResponse, Status> {
    let Some(id) = names::parse(&req.name, COLLECTION) else {
        let mut v = Violations::new();
        v.add("name", names::expected(COLLECTION));
        return Err(ctx.errors().invalid(&v));
    };
    match fetch(ctx.pool(), id).await.map_err(|e| ctx.db(e))? {
        Some(row) => Ok(GetJurisdictionResponse {
            jurisdiction: Some(row.to_proto()),
        }),
        None => Err(ctx.errors().not_found("JURISDICTION_NOT_FOUND", &req.name)),
    }
}

pub async fn list(ctx: &Ctx, req: ListJurisdictionsRequest) -> Result<ListJurisdictionsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let parent_id = optional_name(&req.parent, COLLECTION, "parent", &mut v);
    v.into_result(ctx.errors())?;
    // Ordered by resource name; the keyset is the id of the last row returned.
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM jurisdictions
         WHERE ($1::text IS NULL OR id > $1)
           AND ($2::text IS NULL OR parent_id = $2)
           AND ($3::smallint = 0 OR level = $3)
           AND ($4::text = '' OR profile_id = $4)
         ORDER BY id LIMIT $5"
    ))
    .bind(after)
    .bind(parent_id)
    .bind(i16::try_from(req.level).unwrap_or(0))
    .bind(&req.profile_id)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListJurisdictionsResponse {
        jurisdictions: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

pub use pdop_kit::handling::page_after;

pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    req: UpdateJurisdictionRequest,
) -> Result<UpdateJurisdictionResponse, Status> {
    const METHOD: &str = "registry.UpdateJurisdiction";
    const MUTABLE: &[&str] = &["display_name", "profile_id", "division_code"];
    let j = req.jurisdiction.unwrap_or_default();
    let mut v = Violations::new();
    let id = names::parse(&j.name, COLLECTION);
    if id.is_none() {
        v.add("jurisdiction.name", names::expected(COLLECTION));
    }
    let paths = mask::resolve(req.update_mask.as_ref(), MUTABLE, &mut v, |path| match path {
        "display_name" => !j.display_name.is_empty(),
        "profile_id" => !j.profile_id.is_empty(),
        "division_code" => !j.division_code.is_empty(),
        _ => false,
    });
    validate_fields(&j, ctx, &mut v, &paths);
    v.into_result(ctx.errors())?;
    let id = id.unwrap_or_default();

    let mut tx = ctx.begin().await?;
    let Some(before) = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM jurisdictions WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?
    else {
        return Err(ctx.errors().not_found("JURISDICTION_NOT_FOUND", &j.name));
    };
    let expected = if req.etag.is_empty() { &j.etag } else { &req.etag };
    ctx.check_etag(expected, before.version, &j.name)?;
    crate::supervision::require(ctx, &mut tx, caller, &before.id, &j.name).await?;
    let pick = |path: &str, new: &str, old: &str| {
        if paths.has(path) {
            new.trim().to_owned()
        } else {
            old.to_owned()
        }
    };
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE jurisdictions SET display_name = $2, profile_id = $3, division_code = $4, update_time = $5, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(pick("display_name", &j.display_name, &before.display_name))
    .bind(pick("profile_id", &j.profile_id, &before.profile_id))
    .bind(pick("division_code", &j.division_code, &before.division_code))
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let name = names::jurisdiction(&row.id);
    let event = JurisdictionUpdated {
        jurisdiction: Some(row.to_ref()),
        parent: row
            .parent_id
            .as_deref()
            .map(names::jurisdiction)
            .unwrap_or_default(),
        previous_profile_id: before.profile_id.clone(),
        actor: Some(actor(caller)),
    };
    let detail = serde_json::json!({
        "display_name": row.display_name, "profile_id": row.profile_id, "division_code": row.division_code,
        "previous_profile_id": before.profile_id,
    });
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &name,
        detail,
        ("pdop.registry.jurisdiction.updated", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(UpdateJurisdictionResponse {
        jurisdiction: Some(row.to_proto()),
    })
}
