//! Implementation plans (实施方案, N2 Art.8-11, DOMAIN §4.2): drafted under the lead data authority with the
//! profile's content checklist, submitted after the 三重一大 review, approved by the government, filed with
//! the higher authority (D13 Yunnan 20 WD, D15 Hubei 1 M) and then in force. Catalog and product-list
//! updates are made in place; any other change is a major change (较大变更) that goes back through approval
//! as a successor plan, while the in-force plan stays in force.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_proto::common::{OrganizationRole, UseClass};
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    ApproveImplementationPlanRequest, ApproveImplementationPlanResponse, AuthorizationModel,
    ChangeImplementationPlanRequest, ChangeImplementationPlanResponse, CreateImplementationPlanRequest,
    CreateImplementationPlanResponse, FeasibilityAspect, FileImplementationPlanRequest,
    FileImplementationPlanResponse, GetImplementationPlanRequest, GetImplementationPlanResponse,
    ImplementationPlan, ImplementationPlanState, ListImplementationPlansRequest,
    ListImplementationPlansResponse, ObligationKind, PlanContentItem, ProductKind,
    SubmitImplementationPlanRequest, SubmitImplementationPlanResponse, UpdateImplementationPlanRequest,
    UpdateImplementationPlanResponse,
};
use pdop_rules::Profile;
use pdop_rules::deadlines::{deadline, rule_id};
use prost::Message;
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

use crate::checklist::{self, plan_kind};
use crate::context::{Ctx, Handling, fetch_row, is_unique_violation, optional_name, paging};
use crate::convert::{self, actor, date, due_date, etag, naive_date, timestamp};
use crate::deadlines::{self, Obligation};
use crate::jurisdictions::page_after;
use crate::mask::{self, Mask};
use crate::{names, organizations, resources, validate};

const COLLECTION: &str = "implementationPlans";

/// What the feasibility argument must cover at least (N2 Art.10).
const FEASIBILITY: [FeasibilityAspect; 5] = [
    FeasibilityAspect::LifecycleManagement,
    FeasibilityAspect::SocialDemand,
    FeasibilityAspect::MarketSize,
    FeasibilityAspect::ExpectedResults,
    FeasibilityAspect::RiskControl,
];

const MUTABLE: &[&str] = &[
    "display_name",
    "implementing_agency",
    "authorization_model",
    "content_items",
    "feasibility_aspects",
    "resources",
    "planned_products",
    "term",
    "plan_document",
];

/// What an in-force plan may change without re-approval: its catalog and product list (S-HB §五(六), DOMAIN §4.2).
const IN_FORCE_MUTABLE: &[&str] = &["resources", "planned_products"];

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    jurisdiction_id: String,
    lead_authority_id: String,
    implementing_agency_id: String,
    state: i16,
    supersedes_id: Option<String>,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str = "id, jurisdiction_id, lead_authority_id, implementing_agency_id, state, supersedes_id, body, \
                       create_time, update_time, version";

impl crate::context::Stored for Row {
    const TABLE: &'static str = "implementation_plans";
    const COLUMNS: &'static str = COLUMNS;
    const COLLECTION: &'static str = COLLECTION;
    const NOT_FOUND: &'static str = "IMPLEMENTATION_PLAN_NOT_FOUND";
    fn version(&self) -> i64 {
        self.version
    }
}

impl Row {
    fn to_proto(&self) -> ImplementationPlan {
        let mut p = ImplementationPlan::decode(self.body.as_slice()).unwrap_or_default();
        p.name = names::implementation_plan(&self.id);
        p.jurisdiction = names::jurisdiction(&self.jurisdiction_id);
        p.lead_authority = names::organization(&self.lead_authority_id);
        p.implementing_agency = names::organization(&self.implementing_agency_id);
        p.state = i32::from(self.state);
        p.supersedes = self
            .supersedes_id
            .as_deref()
            .map(names::implementation_plan)
            .unwrap_or_default();
        p.create_time = Some(timestamp(self.create_time));
        p.update_time = Some(timestamp(self.update_time));
        p.etag = etag(self.version);
        p
    }
}

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str, lock: bool) -> Result<Option<Row>, sqlx::Error> {
    fetch_row(db, "implementation_plans", COLUMNS, id, lock).await
}

fn state_of(p: &ImplementationPlan) -> ImplementationPlanState {
    ImplementationPlanState::try_from(p.state).unwrap_or(ImplementationPlanState::Unspecified)
}

/// An in-force plan as an agreement needs it: its jurisdiction and implementing agency.
pub struct InForce {
    pub jurisdiction: String,
    pub implementing_agency: String,
}

/// The plan `name` (field `field`), which must be IN_FORCE for an agreement to implement it.
pub async fn in_force(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<InForce, Status> {
    let id = ctx.parse_name(name, COLLECTION, field)?;
    let row = fetch(&mut **tx, id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("IMPLEMENTATION_PLAN_NOT_FOUND", name))?;
    let plan = row.to_proto();
    ctx.require_state(
        name,
        state_of(&plan),
        &[ImplementationPlanState::InForce],
        "an agreement implementing it",
    )?;
    Ok(InForce {
        jurisdiction: plan.jurisdiction,
        implementing_agency: plan.implementing_agency,
    })
}

/// Checks the writable fields named in `paths`.
fn validate(p: &ImplementationPlan, v: &mut Violations, paths: &Mask) {
    if paths.has("display_name") && p.display_name.trim().is_empty() {
        v.add(
            "implementation_plan.display_name",
            "must give the name of the authorized operation (授权运营名称)",
        );
    }
    if paths.has("implementing_agency") && names::parse(&p.implementing_agency, "organizations").is_none() {
        v.add(
            "implementation_plan.implementing_agency",
            names::expected("organizations"),
        );
    }
    if paths.has("authorization_model")
        && AuthorizationModel::try_from(p.authorization_model).unwrap_or(AuthorizationModel::Unspecified)
            == AuthorizationModel::Unspecified
    {
        v.add(
            "implementation_plan.authorization_model",
            "must be WHOLE_REGION, BY_SECTOR or BY_SCENARIO (N2 Art.9(4))",
        );
    }
    if paths.has("feasibility_aspects") {
        for (i, a) in p.feasibility_aspects.iter().enumerate() {
            if FeasibilityAspect::try_from(*a).unwrap_or(FeasibilityAspect::Unspecified)
                == FeasibilityAspect::Unspecified
            {
                v.add(
                    format!("implementation_plan.feasibility_aspects[{i}]"),
                    "is not a known aspect",
                );
            }
        }
    }
    if paths.has("resources") {
        validate::name_list(
            &p.resources,
            "resources",
            "implementation_plan.resources",
            None,
            v,
        );
    }
    if paths.has("planned_products") {
        for (i, product) in p.planned_products.iter().enumerate() {
            if product.display_name.trim().is_empty() {
                v.add(
                    format!("implementation_plan.planned_products[{i}].display_name"),
                    "must not be empty",
                );
            }
            if UseClass::try_from(product.use_class).unwrap_or(UseClass::Unspecified) == UseClass::Unspecified
            {
                v.add(
                    format!("implementation_plan.planned_products[{i}].use_class"),
                    "must be PUBLIC_GOVERNANCE or INDUSTRY_DEVELOPMENT (N2 Art.9(7))",
                );
            }
            if ProductKind::try_from(product.kind).is_err() {
                v.add(
                    format!("implementation_plan.planned_products[{i}].kind"),
                    "is not a known product kind",
                );
            }
        }
    }
    if paths.has("term") {
        validate::term(p.term.as_ref(), "implementation_plan.term", v);
    }
}

/// The profile's checklist, in its order, with what the request says of each item; items the profile
/// does not have are violations.
fn checklist_of(profile: &Profile, given: &[PlanContentItem], v: &mut Violations) -> Vec<PlanContentItem> {
    let list = profile
        .implementation_plan
        .required_contents
        .as_ref()
        .map(|s| s.value.as_slice())
        .unwrap_or_default();
    let required: Vec<i32> = checklist::kinds(list, plan_kind)
        .iter()
        .map(|(k, _)| *k as i32)
        .collect();
    checklist::merge(
        &profile.id,
        &required,
        given,
        "implementation_plan.content_items",
        v,
    )
}

/// Checks what the named organizations and resources are: the implementing agency holds its role; scope
/// resources exist, are not core data and not negative-listed.
async fn check_references(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    p: &ImplementationPlan,
    paths: &Mask,
) -> Result<(), Status> {
    if paths.has("implementing_agency") {
        organizations::holding(
            ctx,
            tx,
            &p.implementing_agency,
            "implementation_plan.implementing_agency",
            OrganizationRole::ImplementingAgency,
        )
        .await?;
    }
    if paths.has("resources") {
        for (i, name) in p.resources.iter().enumerate() {
            let field = format!("implementation_plan.resources[{i}]");
            let r = resources::for_scope(ctx, tx, name, &field).await?;
            let excluded =
                r.resource.grade == pdop_proto::common::DataGrade::Core as i32 || r.resource.negative_listed;
            if excluded {
                let why = r.not_authorizable_because().unwrap_or_default();
                return Err(ctx.errors().failed_precondition(
                    "RESOURCE_NOT_AUTHORIZABLE",
                    format!("{field}: {name} cannot be in a plan's scope: {why}"),
                ));
            }
        }
    }
    Ok(())
}

/// Only the lead data authority's staff work on its plan.
fn check_lead(ctx: &Ctx, caller: &Caller, p: &ImplementationPlan) -> Result<(), Status> {
    if caller.organization == p.lead_authority {
        return Ok(());
    }
    Err(ctx.errors().permission_denied(
        "NOT_THE_LEAD_AUTHORITY",
        format!(
            "only {} (the lead authority) works on {}",
            p.lead_authority, p.name
        ),
    ))
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateImplementationPlanRequest,
) -> Result<CreateImplementationPlanResponse, Status> {
    const METHOD: &str = "registry.CreateImplementationPlan";
    let p = req.implementation_plan.unwrap_or_default();
    let mut v = Violations::new();
    validate(&p, &mut v, &Mask::all());
    let jurisdiction_id = match names::parse(&p.jurisdiction, "jurisdictions") {
        Some(id) => id.to_owned(),
        None => {
            v.add(
                "implementation_plan.jurisdiction",
                names::expected("jurisdictions"),
            );
            String::new()
        }
    };
    let lead = if p.lead_authority.is_empty() {
        caller.organization.clone()
    } else {
        p.lead_authority.clone()
    };
    if names::parse(&lead, "organizations").is_none() {
        v.add(
            "implementation_plan.lead_authority",
            names::expected("organizations"),
        );
    }
    v.into_result(ctx.errors())?;
    if lead != caller.organization {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_LEAD_AUTHORITY",
            "a plan is drafted by the lead data authority itself; act for that organization",
        ));
    }

    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    crate::jurisdictions::reference(ctx, &mut tx, &p.jurisdiction, "implementation_plan.jurisdiction")
        .await?;
    crate::supervision::require(ctx, &mut tx, caller, &p.jurisdiction, &p.jurisdiction).await?;
    organizations::holding(
        ctx,
        &mut tx,
        &lead,
        "implementation_plan.lead_authority",
        OrganizationRole::DataAuthority,
    )
    .await?;
    check_references(ctx, &mut tx, &p, &Mask::all()).await?;
    let profile = ctx.profile_of(&mut tx, &jurisdiction_id).await?;
    let mut v = Violations::new();
    let content_items = checklist_of(&profile, &p.content_items, &mut v);
    v.into_result(ctx.errors())?;
    let plan = ImplementationPlan {
        display_name: p.display_name.trim().to_owned(),
        implementing_agency: p.implementing_agency,
        authorization_model: p.authorization_model,
        content_items,
        feasibility_aspects: p.feasibility_aspects,
        resources: p.resources,
        planned_products: p.planned_products,
        term: p.term,
        plan_document: p.plan_document,
        state: ImplementationPlanState::Draft as i32,
        ..Default::default()
    };
    let id = uuid::Uuid::now_v7().to_string();
    let row = insert(ctx, &mut tx, &id, &jurisdiction_id, &lead, &plan, None).await?;
    let created = row.to_proto();
    // Drafts are internal to the authority: audited, no event.
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "profile": profile.id, "items": created.content_items.len() }),
    )
    .await?;
    let response = CreateImplementationPlanResponse {
        implementation_plan: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

async fn insert(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
    jurisdiction_id: &str,
    lead: &str,
    plan: &ImplementationPlan,
    supersedes: Option<&str>,
) -> Result<Row, Status> {
    sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO implementation_plans
           (id, jurisdiction_id, lead_authority_id, implementing_agency_id, state, supersedes_id, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(jurisdiction_id)
    .bind(lead.trim_start_matches("organizations/"))
    .bind(plan.implementing_agency.trim_start_matches("organizations/"))
    .bind(ImplementationPlanState::Draft as i16)
    .bind(supersedes)
    .bind(plan.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            ctx.errors().failed_precondition(
                "CHANGE_PENDING",
                "a major change of this plan is already under way; finish it first",
            )
        } else {
            ctx.db(e)
        }
    })
}

pub async fn get(
    ctx: &Ctx,
    req: GetImplementationPlanRequest,
) -> Result<GetImplementationPlanResponse, Status> {
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let row = fetch(ctx.pool(), id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("IMPLEMENTATION_PLAN_NOT_FOUND", &req.name))?;
    Ok(GetImplementationPlanResponse {
        implementation_plan: Some(row.to_proto()),
    })
}

pub async fn list(
    ctx: &Ctx,
    req: ListImplementationPlansRequest,
) -> Result<ListImplementationPlansResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction_id = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let agency_id = optional_name(
        &req.implementing_agency,
        "organizations",
        "implementing_agency",
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM implementation_plans
         WHERE ($1::text IS NULL OR id > $1)
           AND ($2::text IS NULL OR jurisdiction_id = $2)
           AND ($3::text IS NULL OR implementing_agency_id = $3)
           AND ($4::smallint = 0 OR state = $4)
         ORDER BY id LIMIT $5"
    ))
    .bind(after)
    .bind(jurisdiction_id)
    .bind(agency_id)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListImplementationPlansResponse {
        implementation_plans: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

/// A locked plan for a change, with its etag checked.
/// The plan `name` at `expected_etag`, locked, for a data authority supervising its jurisdiction (THREATS H2).
async fn for_change(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    name: &str,
    expected_etag: &str,
) -> Result<(Row, ImplementationPlan), Status> {
    let row: Row = ctx.locked(tx, name, expected_etag).await?;
    crate::supervision::require(ctx, tx, caller, &row.jurisdiction_id, name).await?;
    let plan = row.to_proto();
    Ok((row, plan))
}

/// Writes the plan back; the caller appends the audit row and event.
async fn save(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    plan: &ImplementationPlan,
) -> Result<ImplementationPlan, Status> {
    let updated = sqlx::query_as::<_, Row>(&format!(
        "UPDATE implementation_plans
         SET state = $2, implementing_agency_id = $3, body = $4, update_time = $5, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(&row.id)
    .bind(i16::try_from(plan.state).unwrap_or(0))
    .bind(plan.implementing_agency.trim_start_matches("organizations/"))
    .bind(plan.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(updated.to_proto())
}

pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    req: UpdateImplementationPlanRequest,
) -> Result<UpdateImplementationPlanResponse, Status> {
    const METHOD: &str = "registry.UpdateImplementationPlan";
    let p = req.implementation_plan.unwrap_or_default();
    let mut v = Violations::new();
    let paths = mask::resolve(req.update_mask.as_ref(), MUTABLE, &mut v, |path| match path {
        "display_name" => !p.display_name.is_empty(),
        "implementing_agency" => !p.implementing_agency.is_empty(),
        "authorization_model" => p.authorization_model != 0,
        "content_items" => !p.content_items.is_empty(),
        "feasibility_aspects" => !p.feasibility_aspects.is_empty(),
        "resources" => !p.resources.is_empty(),
        "planned_products" => !p.planned_products.is_empty(),
        "term" => p.term.is_some(),
        "plan_document" => p.plan_document.is_some(),
        _ => false,
    });
    validate(&p, &mut v, &paths);
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut plan) = for_change(ctx, &mut tx, caller, &p.name, &req.etag).await?;
    check_lead(ctx, caller, &plan)?;
    let state = state_of(&plan);
    ctx.require_state(
        &plan.name,
        state,
        &[ImplementationPlanState::Draft, ImplementationPlanState::InForce],
        "updating",
    )?;
    let changed: Vec<&str> = MUTABLE.iter().copied().filter(|f| paths.has(f)).collect();
    if state == ImplementationPlanState::InForce
        && let Some(major) = changed.iter().find(|f| !IN_FORCE_MUTABLE.contains(f))
    {
        return Err(ctx.errors().failed_precondition(
            "MAJOR_CHANGE_REQUIRED",
            format!(
                "`{major}` of an in-force plan changes only through a major change \
                 (ChangeImplementationPlan, N2 Art.11); the catalog and product list may be updated in place"
            ),
        ));
    }
    check_references(ctx, &mut tx, &p, &paths).await?;
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    let mut v = Violations::new();
    if paths.has("content_items") {
        plan.content_items = checklist_of(&profile, &p.content_items, &mut v);
    }
    v.into_result(ctx.errors())?;
    for field in &changed {
        match *field {
            "display_name" => plan.display_name = p.display_name.trim().to_owned(),
            "implementing_agency" => plan.implementing_agency = p.implementing_agency.clone(),
            "authorization_model" => plan.authorization_model = p.authorization_model,
            "feasibility_aspects" => plan.feasibility_aspects = p.feasibility_aspects.clone(),
            "resources" => plan.resources = p.resources.clone(),
            "planned_products" => plan.planned_products = p.planned_products.clone(),
            "term" => plan.term = p.term,
            "plan_document" => plan.plan_document = p.plan_document.clone(),
            _ => {}
        }
    }
    let saved = save(ctx, &mut tx, &row, &plan).await?;
    let detail = serde_json::json!({ "changed": changed });
    if state == ImplementationPlanState::InForce {
        let event = ev::ImplementationPlanUpdated {
            plan: Some(summary(ctx, &mut tx, &saved).await?),
            changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
            actor: Some(actor(caller)),
        };
        ctx.record(
            &mut tx,
            caller,
            METHOD,
            &saved.name,
            detail,
            ("pdop.registry.implementation_plan.updated", &event),
        )
        .await?;
    } else {
        ctx.audit(&mut tx, caller, METHOD, &saved.name, detail).await?;
    }
    ctx.commit(tx).await?;
    Ok(UpdateImplementationPlanResponse {
        implementation_plan: Some(saved),
    })
}

pub async fn submit(
    ctx: &Ctx,
    caller: &Caller,
    req: SubmitImplementationPlanRequest,
) -> Result<SubmitImplementationPlanResponse, Status> {
    const METHOD: &str = "registry.SubmitImplementationPlan";
    if req.collective_decision.as_ref().is_none_or(|d| d.uri.is_empty()) {
        let mut v = Violations::new();
        v.add(
            "collective_decision",
            "must reference the record of the 三重一大 collective decision (N2 Art.11)",
        );
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let (row, mut plan) = for_change(ctx, &mut tx, caller, &req.name, &req.etag).await?;
    check_lead(ctx, caller, &plan)?;
    ctx.require_state(
        &plan.name,
        state_of(&plan),
        &[ImplementationPlanState::Draft],
        "submitting",
    )?;
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    let problems = readiness_problems(&profile, &plan);
    if !problems.is_empty() {
        return Err(ctx.errors().failed_precondition(
            "PLAN_INCOMPLETE",
            format!("complete the plan before submitting it: {}", problems.join("; ")),
        ));
    }
    plan.state = ImplementationPlanState::Submitted as i32;
    plan.collective_decision = req.collective_decision;
    let saved = save(ctx, &mut tx, &row, &plan).await?;
    let event = ev::ImplementationPlanSubmitted {
        plan: Some(summary(ctx, &mut tx, &saved).await?),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "SUBMITTED" }),
        ("pdop.registry.implementation_plan.submitted", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(SubmitImplementationPlanResponse {
        implementation_plan: Some(saved),
    })
}

/// What keeps a draft from submission, each with its source.
fn readiness_problems(profile: &Profile, plan: &ImplementationPlan) -> Vec<String> {
    let mut problems = Vec::new();
    let list = profile
        .implementation_plan
        .required_contents
        .as_ref()
        .map(|s| (s.value.as_slice(), s.source.as_str()));
    if let Some((items, source)) = list {
        let required = checklist::kinds(items, plan_kind);
        let missing = checklist::missing(&required, |kind| {
            plan.content_items
                .iter()
                .any(|item| item.kind == kind as i32 && item.present)
        });
        if !missing.is_empty() {
            problems.push(format!(
                "checklist items not covered ({source}): {}",
                missing.join(", ")
            ));
        }
    }
    let absent: Vec<String> = FEASIBILITY
        .iter()
        .filter(|a| !plan.feasibility_aspects.contains(&(**a as i32)))
        .map(|a| format!("{a:?}"))
        .collect();
    if !absent.is_empty() {
        problems.push(format!(
            "the feasibility argument does not cover (N2 Art.10): {}",
            absent.join(", ")
        ));
    }
    if plan.resources.is_empty() {
        problems.push("the data scope names no resource (N2 Art.9(5))".to_owned());
    }
    for (class, label) in [
        (UseClass::PublicGovernance, "public governance / welfare"),
        (UseClass::IndustryDevelopment, "industry / sector development"),
    ] {
        if !plan.planned_products.iter().any(|p| p.use_class == class as i32) {
            problems.push(format!(
                "the product list has no {label} product; it must cover both classes (N2 Art.9(7))"
            ));
        }
    }
    if plan.term.is_none() {
        problems.push("the term is not set (N2 Art.9(6))".to_owned());
    }
    problems
}

pub async fn approve(
    ctx: &Ctx,
    caller: &Caller,
    req: ApproveImplementationPlanRequest,
) -> Result<ApproveImplementationPlanResponse, Status> {
    const METHOD: &str = "registry.ApproveImplementationPlan";
    let mut v = Violations::new();
    if req.approving_body.trim().is_empty() {
        v.add(
            "approving_body",
            "must name the approving body (本级人民政府 or 部务会, N2 Art.11)",
        );
    }
    if req.approval_document.as_ref().is_none_or(|d| d.uri.is_empty()) {
        v.add("approval_document", "must reference the approval document");
    }
    let approval_date = validate::past_or_today(
        req.approval_date.as_ref(),
        "approval_date",
        ctx.platform.clock.today(),
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut plan) = for_change(ctx, &mut tx, caller, &req.name, &req.etag).await?;
    ctx.not_own(
        caller,
        &[plan.lead_authority.as_str(), plan.implementing_agency.as_str()],
        &plan.name,
    )?;
    ctx.require_state(
        &plan.name,
        state_of(&plan),
        &[ImplementationPlanState::Submitted],
        "approving",
    )?;
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    plan.state = ImplementationPlanState::Approved as i32;
    plan.approving_body = req.approving_body.trim().to_owned();
    plan.approval_document = req.approval_document;
    plan.approval_date = Some(date(approval_date));
    // D13 (S-YN Art.10) 20 WD, D15 (S-HB §五(六)) 1 M; no deadline nationally or in Henan.
    plan.filing_deadline = profile.implementation_plan.filing_deadline.as_ref().map(|p| {
        convert::deadline(&deadline(
            &ctx.calendar,
            &profile,
            &rule_id("plan_filing", &p.source),
            p,
            approval_date,
        ))
    });
    let saved = save(ctx, &mut tx, &row, &plan).await?;
    if let Some(d) = &saved.filing_deadline {
        let o = Obligation {
            kind: ObligationKind::PlanFiling,
            subject: &saved.name,
            responsible: &saved.lead_authority,
            jurisdiction: &saved.jurisdiction,
        };
        deadlines::open(ctx, &mut tx, o, d).await?;
    }
    let event = ev::ImplementationPlanApproved {
        plan: Some(summary(ctx, &mut tx, &saved).await?),
        approving_body: saved.approving_body.clone(),
        approval_date: saved.approval_date,
        filing_deadline: saved.filing_deadline.clone(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "APPROVED", "filing_due": due_date(saved.filing_deadline.as_ref()).map(|d| d.to_string()) }),
        ("pdop.registry.implementation_plan.approved", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(ApproveImplementationPlanResponse {
        implementation_plan: Some(saved),
    })
}

pub async fn file(
    ctx: &Ctx,
    caller: &Caller,
    req: FileImplementationPlanRequest,
) -> Result<FileImplementationPlanResponse, Status> {
    const METHOD: &str = "registry.FileImplementationPlan";
    let mut v = Violations::new();
    let filing_date = validate::filing(
        &req.filed_with,
        req.filing_date.as_ref(),
        ctx.platform.clock.today(),
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut plan) = for_change(ctx, &mut tx, caller, &req.name, &req.etag).await?;
    ctx.not_own(
        caller,
        &[plan.lead_authority.as_str(), plan.implementing_agency.as_str()],
        &plan.name,
    )?;
    ctx.require_state(
        &plan.name,
        state_of(&plan),
        &[ImplementationPlanState::Approved],
        "filing",
    )?;
    let filed_with = organizations::holding(
        ctx,
        &mut tx,
        &req.filed_with,
        "filed_with",
        OrganizationRole::DataAuthority,
    )
    .await?;
    if plan
        .approval_date
        .as_ref()
        .and_then(naive_date)
        .is_some_and(|approved| filing_date < approved)
    {
        let mut v = Violations::new();
        v.add("filing_date", "must not be before the approval date");
        return Err(ctx.errors().invalid(&v));
    }
    plan.state = ImplementationPlanState::InForce as i32;
    plan.filed_with = filed_with.name.clone();
    plan.filing_date = Some(date(filing_date));
    plan.filing_reference = req.filing_reference.trim().to_owned();
    let saved = save(ctx, &mut tx, &row, &plan).await?;
    deadlines::meet(ctx, &mut tx, &saved.name, ObligationKind::PlanFiling).await?;
    // The successor of a major change replaces its predecessor once filed.
    if let Some(old_id) = &row.supersedes_id {
        let (old_row, mut old) =
            for_change(ctx, &mut tx, caller, &names::implementation_plan(old_id), "").await?;
        old.state = ImplementationPlanState::Superseded as i32;
        old.superseded_by = saved.name.clone();
        let old = save(ctx, &mut tx, &old_row, &old).await?;
        ctx.audit(
            &mut tx,
            caller,
            METHOD,
            &old.name,
            serde_json::json!({ "state": "SUPERSEDED", "by": saved.name }),
        )
        .await?;
    }
    let event = ev::ImplementationPlanFiled {
        plan: Some(summary(ctx, &mut tx, &saved).await?),
        filed_with: Some(filed_with),
        filing_date: saved.filing_date,
        filing_reference: saved.filing_reference.clone(),
        supersedes: saved.supersedes.clone(),
        actor: Some(actor(caller)),
    };
    let late = due_date(saved.filing_deadline.as_ref()).is_some_and(|due| filing_date > due);
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "IN_FORCE", "late": late }),
        ("pdop.registry.implementation_plan.filed", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(FileImplementationPlanResponse {
        implementation_plan: Some(saved),
    })
}

pub async fn change(
    ctx: &Ctx,
    caller: &Caller,
    req: ChangeImplementationPlanRequest,
) -> Result<ChangeImplementationPlanResponse, Status> {
    const METHOD: &str = "registry.ChangeImplementationPlan";
    if req.change_summary.trim().is_empty() {
        let mut v = Violations::new();
        v.add("change_summary", "must say what the major change (较大变更) is");
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let (row, current) = for_change(ctx, &mut tx, caller, &req.name, "").await?;
    check_lead(ctx, caller, &current)?;
    ctx.require_state(
        &current.name,
        state_of(&current),
        &[ImplementationPlanState::InForce],
        "a major change",
    )?;
    // The successor starts as a copy of the content; approval and filing start over (N2 Art.11).
    let successor = ImplementationPlan {
        display_name: current.display_name.clone(),
        implementing_agency: current.implementing_agency.clone(),
        authorization_model: current.authorization_model,
        content_items: current.content_items.clone(),
        feasibility_aspects: current.feasibility_aspects.clone(),
        resources: current.resources.clone(),
        planned_products: current.planned_products.clone(),
        term: current.term,
        plan_document: current.plan_document.clone(),
        change_summary: req.change_summary.trim().to_owned(),
        state: ImplementationPlanState::Draft as i32,
        ..Default::default()
    };
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = insert(
        ctx,
        &mut tx,
        &id,
        &row.jurisdiction_id,
        &current.lead_authority,
        &successor,
        Some(&row.id),
    )
    .await?;
    let created = inserted.to_proto();
    let event = ev::ImplementationPlanChangeStarted {
        plan: Some(summary(ctx, &mut tx, &created).await?),
        supersedes: current.name.clone(),
        change_summary: created.change_summary.clone(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "supersedes": current.name }),
        ("pdop.registry.implementation_plan.change_started", &event),
    )
    .await?;
    let response = ChangeImplementationPlanResponse {
        implementation_plan: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

/// The self-contained view events carry.
async fn summary(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    plan: &ImplementationPlan,
) -> Result<ev::ImplementationPlanSummary, Status> {
    let jurisdiction = crate::jurisdictions::reference(ctx, tx, &plan.jurisdiction, "jurisdiction").await?;
    let lead = organizations::reference(ctx, tx, &plan.lead_authority, "lead_authority").await?;
    let agency = organizations::reference(ctx, tx, &plan.implementing_agency, "implementing_agency").await?;
    Ok(ev::ImplementationPlanSummary {
        name: plan.name.clone(),
        display_name: plan.display_name.clone(),
        jurisdiction: Some(jurisdiction),
        lead_authority: Some(lead),
        implementing_agency: Some(agency),
        authorization_model: plan.authorization_model,
        resources: plan.resources.clone(),
        planned_product_names: plan
            .planned_products
            .iter()
            .map(|p| p.display_name.clone())
            .collect(),
        planned_use_classes: plan.planned_products.iter().map(|p| p.use_class).collect(),
        term: plan.term,
        state: plan.state,
    })
}
