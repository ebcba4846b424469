//! Drafting an agreement and reading agreements: the rules checked on every draft (scope, term cap,
//! operator eligibility, checklist) live here and are checked again at signing.

use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_proto::common::OrganizationRole;
use pdop_proto::registry::v1::{
    Agreement, AgreementContentItem, AgreementContentKind, AgreementState, CreateAgreementRequest,
    CreateAgreementResponse, CreditStatus, GetAgreementRequest, GetAgreementResponse,
    ListAgreementRevisionsRequest, ListAgreementRevisionsResponse, ListAgreementsRequest,
    ListAgreementsResponse, OperatorSelectionMethod, UpdateAgreementRequest, UpdateAgreementResponse,
};
use pdop_rules::Profile;
use pdop_rules::deadlines::{describe, term_end};
use prost::Message;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use super::{
    COLLECTION, COLUMNS, RevisionRow, Row, add_revision, check_agency, fetch, for_change, may_read, oversees,
    save, set_scope, term_of,
};
use crate::checklist::{self, agreement_kind};
use crate::context::{Ctx, Handling, optional_name, paging};
use crate::jurisdictions::page_after;
use crate::mask::{self, Mask};
use crate::{names, organizations, plans, resources};

const MUTABLE: &[&str] = &[
    "display_name",
    "co_signers",
    "implementation_plan",
    "selection_method",
    "selection_document",
    "resources",
    "term",
    "content_items",
    "agreement_document",
];

/// Checks the writable fields named in `paths`.
fn validate(a: &Agreement, v: &mut Violations, paths: &Mask) {
    if paths.has("display_name") && a.display_name.trim().is_empty() {
        v.add("agreement.display_name", "must give the agreement's title");
    }
    if paths.has("co_signers") {
        crate::validate::name_list(&a.co_signers, "organizations", "agreement.co_signers", None, v);
    }
    if paths.has("implementation_plan")
        && !a.implementation_plan.is_empty()
        && names::parse(&a.implementation_plan, "implementationPlans").is_none()
    {
        v.add(
            "agreement.implementation_plan",
            names::expected("implementationPlans"),
        );
    }
    if paths.has("selection_method")
        && OperatorSelectionMethod::try_from(a.selection_method)
            .unwrap_or(OperatorSelectionMethod::Unspecified)
            == OperatorSelectionMethod::Unspecified
    {
        v.add(
            "agreement.selection_method",
            "must say how the operator was selected (N2 Art.12)",
        );
    }
    if paths.has("resources") {
        let why = "must name the authorized resources (N2 Art.14(1))";
        crate::validate::name_list(&a.resources, "resources", "agreement.resources", Some(why), v);
    }
    if paths.has("term") {
        if a.term.is_none() {
            v.add(
                "agreement.term",
                "must give the operating term (运营期限, N2 Art.14(2))",
            );
        }
        crate::validate::term(a.term.as_ref(), "agreement.term", v);
    }
    if paths.has("content_items") {
        for (i, item) in a.content_items.iter().enumerate() {
            if AgreementContentKind::try_from(item.kind).unwrap_or(AgreementContentKind::Unspecified)
                == AgreementContentKind::Unspecified
            {
                v.add(
                    format!("agreement.content_items[{i}].kind"),
                    "is not a known content item",
                );
            }
        }
    }
}

/// D12 / D12' (N2 Art.14; S-HN Art.14, S-LY §二(二)): the term may not exceed the profile cap.
pub(super) fn check_term_cap(profile: &Profile, a: &Agreement, field: &str, v: &mut Violations) {
    let (Some((start, end)), Some(cap)) = (term_of(a), profile.agreement.term_max.as_ref()) else {
        return;
    };
    if term_end(start, cap.value).is_some_and(|last| end > last) {
        v.add(
            field,
            format!(
                "a term of {start} to {end} exceeds the {} cap in {} ({}); the term may run at most {}",
                describe(cap.value),
                profile.id,
                cap.source,
                describe(cap.value),
            ),
        );
    }
}

/// The profile's agreement checklist in its order, with what the request says of each item.
fn checklist_of(
    profile: &Profile,
    given: &[AgreementContentItem],
    v: &mut Violations,
) -> Vec<AgreementContentItem> {
    let list = profile
        .agreement
        .required_contents
        .as_ref()
        .map(|s| s.value.as_slice())
        .unwrap_or_default();
    let required: Vec<i32> = checklist::kinds(list, agreement_kind)
        .iter()
        .map(|(k, _)| *k as i32)
        .collect();
    checklist::merge(&profile.id, &required, given, "agreement.content_items", v)
}

/// Labels of required checklist items the agreement does not cover, with the source.
pub(super) fn missing_contents(profile: &Profile, a: &Agreement) -> Option<String> {
    let setting = profile.agreement.required_contents.as_ref()?;
    let required = checklist::kinds(&setting.value, agreement_kind);
    let missing = checklist::missing(&required, |kind| {
        a.content_items
            .iter()
            .any(|item| item.kind == kind as i32 && item.present)
    });
    (!missing.is_empty()).then(|| format!("({}) {}", setting.source, missing.join(", ")))
}

/// Every resource in scope must be authorizable: registered, catalogued, not core, not negative-listed.
pub(super) async fn check_scope(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    a: &Agreement,
) -> Result<(), Status> {
    for (i, name) in a.resources.iter().enumerate() {
        let field = format!("agreement.resources[{i}]");
        let r = resources::for_scope(ctx, tx, name, &field).await?;
        if let Some(why) = r.not_authorizable_because() {
            return Err(ctx.errors().failed_precondition(
                "RESOURCE_NOT_AUTHORIZABLE",
                format!("{field}: {name} cannot be authorized because {why}"),
            ));
        }
    }
    Ok(())
}

/// The operator holds the role, is under no blacklist measure in the jurisdiction, is not on a serious
/// dishonesty list, and had no security incident within the profile's period (DOMAIN §4.3: S-LY
/// 运营机构条件(5), S-HB 运营机构基本条件 1: 3 years).
pub(super) async fn check_operator(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    profile: &Profile,
    operator: &str,
    jurisdiction: &str,
) -> Result<(), Status> {
    organizations::holding(
        ctx,
        tx,
        operator,
        "agreement.operator",
        OrganizationRole::Operator,
    )
    .await?;
    if let Some(why) = crate::blacklist::exclusion(ctx, tx, operator, jurisdiction).await? {
        return Err(ctx.errors().failed_precondition("OPERATOR_INELIGIBLE", why));
    }
    let standing = organizations::standing(ctx, tx, operator, "agreement.operator").await?;
    if standing.credit_status == CreditStatus::DishonestListed {
        return Err(ctx.errors().failed_precondition(
            "OPERATOR_INELIGIBLE",
            format!("{operator} is on a serious dishonesty list (严重失信主体名单) and cannot be authorized"),
        ));
    }
    if let Some(window) = &profile.agreement.operator_incident_free {
        let since = ctx
            .calendar
            .opens_before(ctx.platform.clock.today(), window.value)
            .due;
        if let Some(last) = standing.incident_dates.iter().filter(|d| **d > since).max() {
            return Err(ctx.errors().failed_precondition(
                "OPERATOR_INELIGIBLE",
                format!(
                    "{operator} had a security incident on {last}; {} requires none in the last {} ({})",
                    profile.id,
                    describe(window.value),
                    window.source
                ),
            ));
        }
    }
    Ok(())
}

/// The plan an agreement implements must be in force and name the same implementing agency.
async fn check_plan(ctx: &Ctx, tx: &mut Transaction<'static, Postgres>, a: &Agreement) -> Result<(), Status> {
    if a.implementation_plan.is_empty() {
        return Ok(());
    }
    let plan = plans::in_force(ctx, tx, &a.implementation_plan, "agreement.implementation_plan").await?;
    if plan.implementing_agency != a.implementing_agency || plan.jurisdiction != a.jurisdiction {
        return Err(ctx.errors().failed_precondition(
            "PLAN_MISMATCH",
            format!(
                "{} is {}'s plan in {}; the agreement must be signed by that agency in that jurisdiction",
                a.implementation_plan, plan.implementing_agency, plan.jurisdiction
            ),
        ));
    }
    Ok(())
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateAgreementRequest,
) -> Result<CreateAgreementResponse, Status> {
    const METHOD: &str = "registry.CreateAgreement";
    let mut a = req.agreement.unwrap_or_default();
    if a.implementing_agency.is_empty() {
        a.implementing_agency = caller.organization.clone();
    }
    let mut v = Violations::new();
    validate(&a, &mut v, &Mask::all());
    for (field, name, collection) in [
        ("agreement.jurisdiction", &a.jurisdiction, "jurisdictions"),
        (
            "agreement.implementing_agency",
            &a.implementing_agency,
            "organizations",
        ),
        ("agreement.operator", &a.operator, "organizations"),
        ("agreement.predecessor", &a.predecessor, "agreements"),
    ] {
        let optional = field == "agreement.predecessor" && name.is_empty();
        if !optional && names::parse(name, collection).is_none() {
            v.add(field, names::expected(collection));
        }
    }
    if term_of(&a).is_some_and(|(_, end)| end < ctx.platform.clock.today()) {
        v.add("agreement.term.end_date", "the term has already ended");
    }
    v.into_result(ctx.errors())?;
    if a.implementing_agency != caller.organization {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_IMPLEMENTING_AGENCY",
            "an agreement is drafted by the implementing agency itself; act for that organization",
        ));
    }
    if !a.predecessor.is_empty() {
        let mut v = Violations::new();
        v.add(
            "agreement.predecessor",
            "is set by RenewAgreement; leave it empty",
        );
        return Err(ctx.errors().invalid(&v));
    }

    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let jurisdiction_id = names::parse(&a.jurisdiction, "jurisdictions")
        .unwrap_or_default()
        .to_owned();
    crate::jurisdictions::reference(ctx, &mut tx, &a.jurisdiction, "agreement.jurisdiction").await?;
    // An agency authorizes operation in the jurisdictions it supervises (THREATS H2).
    crate::supervision::require(ctx, &mut tx, caller, &jurisdiction_id, &a.jurisdiction).await?;
    let profile = ctx.profile_of(&mut tx, &jurisdiction_id).await?;
    let mut v = Violations::new();
    check_term_cap(&profile, &a, "agreement.term", &mut v);
    a.content_items = checklist_of(&profile, &a.content_items, &mut v);
    v.into_result(ctx.errors())?;
    organizations::holding(
        ctx,
        &mut tx,
        &a.implementing_agency,
        "agreement.implementing_agency",
        OrganizationRole::ImplementingAgency,
    )
    .await?;
    for (i, o) in a.co_signers.iter().enumerate() {
        organizations::reference(ctx, &mut tx, o, &format!("agreement.co_signers[{i}]")).await?;
    }
    check_operator(ctx, &mut tx, &profile, &a.operator, &a.jurisdiction).await?;
    check_plan(ctx, &mut tx, &a).await?;
    check_scope(ctx, &mut tx, &a).await?;

    let draft = Agreement {
        display_name: a.display_name.trim().to_owned(),
        state: AgreementState::Draft as i32,
        ..clear_output(a)
    };
    let id = uuid::Uuid::now_v7().to_string();
    let row = insert(ctx, &mut tx, &id, &jurisdiction_id, &draft, None).await?;
    let created = row.to_proto();
    set_scope(ctx, &mut tx, &id, &created.resources).await?;
    add_revision(ctx, &mut tx, caller, &created, &["*"]).await?;
    // Drafts are between the parties: audited, no event until signed.
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "operator": created.operator, "profile": profile.id }),
    )
    .await?;
    let response = CreateAgreementResponse {
        agreement: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

/// Only the input fields of a request; everything output-only starts empty.
fn clear_output(a: Agreement) -> Agreement {
    Agreement {
        display_name: a.display_name,
        jurisdiction: a.jurisdiction,
        implementing_agency: a.implementing_agency,
        operator: a.operator,
        co_signers: a.co_signers,
        implementation_plan: a.implementation_plan,
        selection_method: a.selection_method,
        selection_document: a.selection_document,
        resources: a.resources,
        term: a.term,
        content_items: a.content_items,
        agreement_document: a.agreement_document,
        ..Default::default()
    }
}

/// Inserts a new DRAFT agreement (a renewal passes its predecessor).
pub(super) async fn insert(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
    jurisdiction_id: &str,
    a: &Agreement,
    predecessor: Option<&str>,
) -> Result<Row, Status> {
    let (start, end) = term_of(a).unwrap_or_default();
    sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO agreements (id, jurisdiction_id, implementing_agency_id, operator_id, state, term_start, term_end,
                                 predecessor_id, body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(jurisdiction_id)
    .bind(a.implementing_agency.trim_start_matches("organizations/"))
    .bind(a.operator.trim_start_matches("organizations/"))
    .bind(AgreementState::Draft as i16)
    .bind(start)
    .bind(end)
    .bind(predecessor)
    .bind(a.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))
}

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetAgreementRequest,
) -> Result<GetAgreementResponse, Status> {
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let row = fetch(ctx.pool(), id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("AGREEMENT_NOT_FOUND", &req.name))?;
    let a = row.to_proto();
    if !may_read(caller, &a) {
        return Err(ctx.errors().permission_denied(
            "NOT_A_PARTY",
            "only the parties and the supervising authorities read an agreement",
        ));
    }
    Ok(GetAgreementResponse { agreement: Some(a) })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListAgreementsRequest,
) -> Result<ListAgreementsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction_id = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let agency_id = optional_name(
        &req.implementing_agency,
        "organizations",
        "implementing_agency",
        &mut v,
    );
    let operator_id = optional_name(&req.operator, "organizations", "operator", &mut v);
    let resource_id = optional_name(&req.resource, "resources", "resource", &mut v);
    let ends_before = match crate::convert::optional_date(req.term_ends_before.as_ref()) {
        Ok(d) => d,
        Err(e) => {
            v.add("term_ends_before", e);
            None
        }
    };
    v.into_result(ctx.errors())?;
    // Parties see only agreements they are party to (an operator only its own).
    let party = (!oversees(caller)).then(|| {
        caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned()
    });
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM agreements a
         WHERE ($1::text IS NULL OR id > $1)
           AND ($2::text IS NULL OR jurisdiction_id = $2)
           AND ($3::text IS NULL OR implementing_agency_id = $3)
           AND ($4::text IS NULL OR operator_id = $4)
           AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM agreement_resources r
                                            WHERE r.agreement_id = a.id AND r.resource_id = $5))
           AND ($6::smallint = 0 OR state = $6)
           AND ($7::date IS NULL OR term_end <= $7)
           AND ($8::text IS NULL OR implementing_agency_id = $8 OR operator_id = $8)
         ORDER BY id LIMIT $9"
    ))
    .bind(after)
    .bind(jurisdiction_id)
    .bind(agency_id)
    .bind(operator_id)
    .bind(resource_id)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(ends_before)
    .bind(party)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListAgreementsResponse {
        agreements: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    req: UpdateAgreementRequest,
) -> Result<UpdateAgreementResponse, Status> {
    const METHOD: &str = "registry.UpdateAgreement";
    let p = req.agreement.unwrap_or_default();
    let mut v = Violations::new();
    let paths = mask::resolve(req.update_mask.as_ref(), MUTABLE, &mut v, |path| match path {
        "display_name" => !p.display_name.is_empty(),
        "co_signers" => !p.co_signers.is_empty(),
        "implementation_plan" => !p.implementation_plan.is_empty(),
        "selection_method" => p.selection_method != 0,
        "selection_document" => p.selection_document.is_some(),
        "resources" => !p.resources.is_empty(),
        "term" => p.term.is_some(),
        "content_items" => !p.content_items.is_empty(),
        "agreement_document" => p.agreement_document.is_some(),
        _ => false,
    });
    validate(&p, &mut v, &paths);
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut a) = for_change(ctx, &mut tx, &p.name, &req.etag).await?;
    check_agency(ctx, caller, &a)?;
    ctx.require_state(&a.name, super::state_of(&a), &[AgreementState::Draft], "updating")?;
    let changed: Vec<&str> = MUTABLE.iter().copied().filter(|f| paths.has(f)).collect();
    let profile = ctx.profile_of(&mut tx, &row.jurisdiction_id).await?;
    let mut v = Violations::new();
    for field in &changed {
        match *field {
            "display_name" => a.display_name = p.display_name.trim().to_owned(),
            "co_signers" => a.co_signers = p.co_signers.clone(),
            "implementation_plan" => a.implementation_plan = p.implementation_plan.clone(),
            "selection_method" => a.selection_method = p.selection_method,
            "selection_document" => a.selection_document = p.selection_document.clone(),
            "resources" => a.resources = p.resources.clone(),
            "term" => a.term = p.term,
            "content_items" => a.content_items = checklist_of(&profile, &p.content_items, &mut v),
            "agreement_document" => a.agreement_document = p.agreement_document.clone(),
            _ => {}
        }
    }
    if paths.has("term") {
        check_term_cap(&profile, &a, "agreement.term", &mut v);
    }
    v.into_result(ctx.errors())?;
    if paths.has("resources") {
        check_scope(ctx, &mut tx, &a).await?;
    }
    if paths.has("implementation_plan") {
        check_plan(ctx, &mut tx, &a).await?;
    }
    let saved = save(ctx, &mut tx, caller, &row, &a, &changed).await?;
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "changed": changed, "revision": saved.revision_id }),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(UpdateAgreementResponse {
        agreement: Some(saved),
    })
}

pub async fn list_revisions(
    ctx: &Ctx,
    caller: &Caller,
    req: ListAgreementRevisionsRequest,
) -> Result<ListAgreementRevisionsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<i64>) = paging(req.page_size, &req.page_token, &mut v);
    let id = names::parse(&req.parent, COLLECTION);
    if id.is_none() {
        v.add("parent", names::expected(COLLECTION));
    }
    v.into_result(ctx.errors())?;
    let id = id.unwrap_or_default();
    let row = fetch(ctx.pool(), id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("AGREEMENT_NOT_FOUND", &req.parent))?;
    if !may_read(caller, &row.to_proto()) {
        return Err(ctx.errors().permission_denied(
            "NOT_A_PARTY",
            "only the parties and the supervising authorities read an agreement's history",
        ));
    }
    // Newest first; the keyset is the last revision number returned.
    let mut rows = sqlx::query_as::<_, RevisionRow>(
        "SELECT agreement_id, revision, snapshot, changed_fields, audit FROM agreement_revisions
         WHERE agreement_id = $1 AND ($2::bigint IS NULL OR revision < $2)
         ORDER BY revision DESC LIMIT $3",
    )
    .bind(id)
    .bind(after)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.revision);
    Ok(ListAgreementRevisionsResponse {
        revisions: rows.iter().map(RevisionRow::to_proto).collect(),
        next_page_token,
    })
}
