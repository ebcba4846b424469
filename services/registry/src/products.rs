//! Products and services (公共数据产品和服务, DOMAIN §4.7): owned by an operator, built from resources in its
//! active agreement, submitted for compliance review (合规审核, the review service) and listed (上架) only when
//! review approves; where the profile makes product registration mandatory (Hubei, Yunnan) an approved
//! product waits in APPROVED for its registration. Review's verdicts arrive as events (see `review_events`).

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_proto::common::UseClass;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    CreateProductRequest, CreateProductResponse, GetProductRequest, GetProductResponse, ListProductsRequest,
    ListProductsResponse, Product, ProductKind, ProductState, SubmitProductRequest, SubmitProductResponse,
    UpdateProductRequest, UpdateProductResponse, WithdrawProductRequest, WithdrawProductResponse,
};
use prost::Message;
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling, fetch_row, optional_name, paging};
use crate::convert::{actor, etag, timestamp};
use crate::jurisdictions::page_after;
use crate::mask::{self, Mask};
use crate::{agreements, names, validate};

const COLLECTION: &str = "products";

const MUTABLE: &[&str] = &[
    "display_name",
    "description",
    "kind",
    "use_class",
    "source_resources",
    "scenario_applications",
    "involves_personal_info",
    "delivery_channel",
];

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    id: String,
    operator_id: String,
    agreement_id: String,
    jurisdiction_id: String,
    state: i16,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

pub(crate) const COLUMNS: &str =
    "id, operator_id, agreement_id, jurisdiction_id, state, body, create_time, update_time, version";

impl Row {
    pub(crate) fn to_proto(&self) -> Product {
        let mut p = Product::decode(self.body.as_slice()).unwrap_or_default();
        p.name = format!("products/{}", self.id);
        p.operator = names::organization(&self.operator_id);
        p.agreement = names::agreement(&self.agreement_id);
        p.jurisdiction = names::jurisdiction(&self.jurisdiction_id);
        p.state = i32::from(self.state);
        p.create_time = Some(timestamp(self.create_time));
        p.update_time = Some(timestamp(self.update_time));
        p.etag = etag(self.version);
        p
    }
}

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str, lock: bool) -> Result<Option<Row>, sqlx::Error> {
    fetch_row(db, "products", COLUMNS, id, lock).await
}

pub(crate) fn state_of(p: &Product) -> ProductState {
    ProductState::try_from(p.state).unwrap_or(ProductState::Unspecified)
}

/// Roles that see products in every state.
fn oversees(caller: &Caller) -> bool {
    [Role::DataAuthority, Role::ImplementingAgency, Role::Auditor]
        .iter()
        .any(|r| caller.has_role(*r))
}

fn validate(p: &Product, v: &mut Violations, paths: &Mask) {
    if paths.has("display_name") && p.display_name.trim().is_empty() {
        v.add("product.display_name", "must give the product's name (产品名称)");
    }
    if paths.has("kind")
        && ProductKind::try_from(p.kind).unwrap_or(ProductKind::Unspecified) == ProductKind::Unspecified
    {
        v.add(
            "product.kind",
            "must be DATASET, API, MODEL, REPORT, INDEX, COMPONENT or SERVICE",
        );
    }
    if paths.has("use_class")
        && UseClass::try_from(p.use_class).unwrap_or(UseClass::Unspecified) == UseClass::Unspecified
    {
        v.add(
            "product.use_class",
            "must be PUBLIC_GOVERNANCE (free) or INDUSTRY_DEVELOPMENT (chargeable) (N1 §二)",
        );
    }
    if paths.has("source_resources") {
        let why = "must name the resources it is built from";
        validate::name_list(
            &p.source_resources,
            "resources",
            "product.source_resources",
            Some(why),
            v,
        );
    }
    if paths.has("scenario_applications") {
        let field = "product.scenario_applications";
        validate::name_list(&p.scenario_applications, "scenarioApplications", field, None, v);
    }
}

/// Every source resource must be in the scope of the operator's active agreement.
fn check_sources(ctx: &Ctx, p: &Product, scope: &[String]) -> Result<(), Status> {
    for (i, r) in p.source_resources.iter().enumerate() {
        if !scope.contains(r) {
            return Err(ctx.errors().failed_precondition(
                "RESOURCE_NOT_AUTHORIZED",
                format!(
                    "product.source_resources[{i}]: {r} is not in the scope of {}; a product is built only from \
                     resources the operator is authorized to operate",
                    p.agreement
                ),
            ));
        }
    }
    Ok(())
}

fn check_owner(ctx: &Ctx, caller: &Caller, p: &Product) -> Result<(), Status> {
    if caller.organization == p.operator {
        return Ok(());
    }
    Err(ctx.errors().permission_denied(
        "NOT_THE_OWNER",
        format!("only {} (the operator owning it) changes {}", p.operator, p.name),
    ))
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateProductRequest,
) -> Result<CreateProductResponse, Status> {
    const METHOD: &str = "registry.CreateProduct";
    let p = req.product.unwrap_or_default();
    let mut v = Violations::new();
    validate(&p, &mut v, &Mask::all());
    if names::parse(&p.agreement, "agreements").is_none() {
        v.add("product.agreement", names::expected("agreements"));
    }
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let authorization = agreements::active(ctx, &mut tx, &p.agreement, "product.agreement").await?;
    if authorization.operator != caller.organization {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_OPERATOR",
            format!(
                "products under {} are created by its operator {}",
                p.agreement, authorization.operator
            ),
        ));
    }
    check_sources(ctx, &p, &authorization.resources)?;
    let product = Product {
        display_name: p.display_name.trim().to_owned(),
        description: p.description,
        kind: p.kind,
        source_resources: p.source_resources,
        use_class: p.use_class,
        scenario_applications: p.scenario_applications,
        involves_personal_info: p.involves_personal_info,
        delivery_channel: p.delivery_channel,
        state: ProductState::Draft as i32,
        ..Default::default()
    };
    let id = uuid::Uuid::now_v7().to_string();
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO products (id, display_name, operator_id, agreement_id, jurisdiction_id, kind, use_class, state, body,
                               create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(&product.display_name)
    .bind(authorization.operator.trim_start_matches("organizations/"))
    .bind(p.agreement.trim_start_matches("agreements/"))
    .bind(authorization.jurisdiction.trim_start_matches("jurisdictions/"))
    .bind(i16::try_from(product.kind).unwrap_or(0))
    .bind(i16::try_from(product.use_class).unwrap_or(0))
    .bind(ProductState::Draft as i16)
    .bind(product.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    set_sources(ctx, &mut tx, &id, &product.source_resources).await?;
    let created = row.to_proto();
    let event = ev::ProductCreated {
        product: Some(snapshot(ctx, &mut tx, &created).await?),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "agreement": created.agreement }),
        ("pdop.registry.product.created", &event),
    )
    .await?;
    let response = CreateProductResponse {
        product: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

async fn set_sources(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
    resources: &[String],
) -> Result<(), Status> {
    crate::resources::link(ctx, tx, ("product_sources", "product_id"), id, resources).await
}

pub async fn get(ctx: &Ctx, caller: &Caller, req: GetProductRequest) -> Result<GetProductResponse, Status> {
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let row = fetch(ctx.pool(), id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("PRODUCT_NOT_FOUND", &req.name))?;
    let p = row.to_proto();
    // Anyone sees the product list; unlisted products only their owner and overseers.
    if state_of(&p) != ProductState::Listed && !oversees(caller) && caller.organization != p.operator {
        return Err(ctx.errors().not_found("PRODUCT_NOT_FOUND", &req.name));
    }
    Ok(GetProductResponse { product: Some(p) })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListProductsRequest,
) -> Result<ListProductsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let operator_id = optional_name(&req.operator, "organizations", "operator", &mut v);
    let jurisdiction_id = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let resource_id = optional_name(&req.source_resource, "resources", "source_resource", &mut v);
    v.into_result(ctx.errors())?;
    let own = (!oversees(caller)).then(|| {
        caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned()
    });
    let query = req.query.trim();
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM products p
         WHERE ($1::text IS NULL OR id > $1)
           AND ($2::text IS NULL OR operator_id = $2)
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::smallint = 0 OR kind = $4)
           AND ($5::smallint = 0 OR use_class = $5)
           AND ($6::smallint = 0 OR state = $6)
           AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM product_sources s
                                            WHERE s.product_id = p.id AND s.resource_id = $7))
           AND ($8 = '' OR display_name ILIKE '%' || $8 || '%')
           AND ($9::text IS NULL OR state = $10 OR operator_id = $9)
         ORDER BY id LIMIT $11"
    ))
    .bind(after)
    .bind(operator_id)
    .bind(jurisdiction_id)
    .bind(i16::try_from(req.kind).unwrap_or(0))
    .bind(i16::try_from(req.use_class).unwrap_or(0))
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(resource_id)
    .bind(validate::like_literal(query))
    .bind(own)
    .bind(ProductState::Listed as i16)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListProductsResponse {
        products: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

/// A locked product for a change, with its etag checked.
pub(crate) async fn for_change(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    expected_etag: &str,
) -> Result<Option<(Row, Product)>, Status> {
    let Some(id) = names::parse(name, COLLECTION) else {
        return Ok(None);
    };
    let Some(row) = fetch(&mut **tx, id, true).await.map_err(|e| ctx.db(e))? else {
        return Ok(None);
    };
    ctx.check_etag(expected_etag, row.version, name)?;
    let p = row.to_proto();
    Ok(Some((row, p)))
}

async fn for_caller(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    expected_etag: &str,
) -> Result<(Row, Product), Status> {
    ctx.parse_name(name, COLLECTION, "name")?;
    for_change(ctx, tx, name, expected_etag)
        .await?
        .ok_or_else(|| ctx.errors().not_found("PRODUCT_NOT_FOUND", name))
}

/// Writes the product back; the caller records the audit row and event.
pub(crate) async fn save(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    p: &Product,
) -> Result<Product, Status> {
    let updated = sqlx::query_as::<_, Row>(&format!(
        "UPDATE products SET display_name = $2, kind = $3, use_class = $4, state = $5, body = $6, update_time = $7,
                last_review_id = $8, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(&row.id)
    .bind(&p.display_name)
    .bind(i16::try_from(p.kind).unwrap_or(0))
    .bind(i16::try_from(p.use_class).unwrap_or(0))
    .bind(i16::try_from(p.state).unwrap_or(0))
    .bind(p.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .bind(names::parse(&p.last_review, "productReviews"))
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(updated.to_proto())
}

pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    req: UpdateProductRequest,
) -> Result<UpdateProductResponse, Status> {
    const METHOD: &str = "registry.UpdateProduct";
    let p = req.product.unwrap_or_default();
    let mut v = Violations::new();
    let paths = mask::resolve(req.update_mask.as_ref(), MUTABLE, &mut v, |path| match path {
        "display_name" => !p.display_name.is_empty(),
        "description" => !p.description.is_empty(),
        "kind" => p.kind != 0,
        "use_class" => p.use_class != 0,
        "source_resources" => !p.source_resources.is_empty(),
        "scenario_applications" => !p.scenario_applications.is_empty(),
        "involves_personal_info" => p.involves_personal_info,
        "delivery_channel" => !p.delivery_channel.is_empty(),
        _ => false,
    });
    validate(&p, &mut v, &paths);
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut product) = for_caller(ctx, &mut tx, &p.name, &req.etag).await?;
    check_owner(ctx, caller, &product)?;
    ctx.require_state(
        &product.name,
        state_of(&product),
        &[ProductState::Draft],
        "updating",
    )?;
    if paths.has("source_resources") {
        let authorization = agreements::active(ctx, &mut tx, &product.agreement, "product.agreement").await?;
        let candidate = Product {
            source_resources: p.source_resources.clone(),
            agreement: product.agreement.clone(),
            ..Default::default()
        };
        check_sources(ctx, &candidate, &authorization.resources)?;
        set_sources(ctx, &mut tx, &row.id, &p.source_resources).await?;
    }
    let changed: Vec<&str> = MUTABLE.iter().copied().filter(|f| paths.has(f)).collect();
    for field in &changed {
        match *field {
            "display_name" => product.display_name = p.display_name.trim().to_owned(),
            "description" => product.description = p.description.clone(),
            "kind" => product.kind = p.kind,
            "use_class" => product.use_class = p.use_class,
            "source_resources" => product.source_resources = p.source_resources.clone(),
            "scenario_applications" => product.scenario_applications = p.scenario_applications.clone(),
            "involves_personal_info" => product.involves_personal_info = p.involves_personal_info,
            "delivery_channel" => product.delivery_channel = p.delivery_channel.clone(),
            _ => {}
        }
    }
    let saved = save(ctx, &mut tx, &row, &product).await?;
    let event = ev::ProductUpdated {
        product: Some(snapshot(ctx, &mut tx, &saved).await?),
        changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "changed": changed }),
        ("pdop.registry.product.updated", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(UpdateProductResponse { product: Some(saved) })
}

pub async fn submit(
    ctx: &Ctx,
    caller: &Caller,
    req: SubmitProductRequest,
) -> Result<SubmitProductResponse, Status> {
    const METHOD: &str = "registry.SubmitProduct";
    let mut tx = ctx.begin().await?;
    let (row, mut product) = for_caller(ctx, &mut tx, &req.name, &req.etag).await?;
    check_owner(ctx, caller, &product)?;
    ctx.require_state(
        &product.name,
        state_of(&product),
        &[ProductState::Draft],
        "submitting",
    )?;
    // The authorization may have ended or been suspended since the draft was made.
    let authorization = agreements::active(ctx, &mut tx, &product.agreement, "product.agreement").await?;
    check_sources(ctx, &product, &authorization.resources)?;
    product.state = ProductState::UnderReview as i32;
    product.rejection_reasons.clear();
    let saved = save(ctx, &mut tx, &row, &product).await?;
    let event = ev::ProductSubmitted {
        product: Some(snapshot(ctx, &mut tx, &saved).await?),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "UNDER_REVIEW" }),
        ("pdop.registry.product.submitted", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(SubmitProductResponse { product: Some(saved) })
}

pub async fn withdraw(
    ctx: &Ctx,
    caller: &Caller,
    req: WithdrawProductRequest,
) -> Result<WithdrawProductResponse, Status> {
    const METHOD: &str = "registry.WithdrawProduct";
    if req.reason.trim().is_empty() {
        let mut v = Violations::new();
        v.add("reason", "must say why the product is withdrawn (下架)");
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let (row, mut product) = for_caller(ctx, &mut tx, &req.name, &req.etag).await?;
    if caller.has_role(Role::DataAuthority) {
        crate::supervision::require(ctx, &mut tx, caller, &row.jurisdiction_id, &product.name).await?;
    } else if caller.has_role(Role::ImplementingAgency) {
        // THREATS H2.3: the agency of the product's agreement withdraws it.
        crate::supervision::require_agency(ctx, &mut tx, caller, &row.agreement_id, &product.name).await?;
        crate::supervision::require(ctx, &mut tx, caller, &row.jurisdiction_id, &product.name).await?;
    } else {
        check_owner(ctx, caller, &product)?;
    }
    ctx.require_state(
        &product.name,
        state_of(&product),
        &[ProductState::Listed, ProductState::Approved],
        "withdrawal",
    )?;
    product.state = ProductState::Withdrawn as i32;
    product.withdraw_reason = req.reason.trim().to_owned();
    let saved = save(ctx, &mut tx, &row, &product).await?;
    let event = ev::ProductWithdrawn {
        product: Some(snapshot(ctx, &mut tx, &saved).await?),
        reason: saved.withdraw_reason.clone(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "WITHDRAWN" }),
        ("pdop.registry.product.withdrawn", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(WithdrawProductResponse { product: Some(saved) })
}

/// The event view of a product, with its operator and jurisdiction looked up.
pub(crate) async fn snapshot(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    p: &Product,
) -> Result<ev::ProductSnapshot, Status> {
    let operator = crate::organizations::reference(ctx, tx, &p.operator, "operator").await?;
    let jurisdiction = crate::jurisdictions::reference(ctx, tx, &p.jurisdiction, "jurisdiction").await?;
    Ok(crate::domain::product::snapshot(p, operator, jurisdiction))
}
