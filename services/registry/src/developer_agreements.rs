//! Developer agreements (开发利用协议 / 应用协议, DOMAIN §4.8, S-YN Art.13): between an operator and a developer
//! the review service admitted, over listed products, with the eleven required contents and a term capped per
//! profile (Yunnan ≤3 years, D22). Blacklist measures suspend or end them; ending closes platform access
//! at once (及时关闭平台权限, S-YN Art.21).

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_proto::common::OrganizationRole;
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::{
    CreateDeveloperAgreementRequest, CreateDeveloperAgreementResponse, DeveloperAgreement,
    DeveloperAgreementContentItem, DeveloperAgreementContentKind, DeveloperAgreementState,
    GetDeveloperAgreementRequest, GetDeveloperAgreementResponse, ListDeveloperAgreementsRequest,
    ListDeveloperAgreementsResponse, ProductState, SignDeveloperAgreementRequest,
    SignDeveloperAgreementResponse, TerminateDeveloperAgreementRequest, TerminateDeveloperAgreementResponse,
    UpdateDeveloperAgreementRequest, UpdateDeveloperAgreementResponse,
};
use pdop_rules::deadlines::describe;
use prost::Message;
use sqlx::{PgExecutor, Postgres, Transaction};
use tonic::Status;

use crate::checklist::{self, Entry};
use crate::context::{Ctx, Handling, fetch_row, optional_name, paging};
use crate::convert::{actor, date, etag, naive_date, timestamp};
use crate::jurisdictions::page_after;
use crate::mask::{self, Mask};
use crate::{agreements, blacklist, names, organizations, products, validate};

const COLLECTION: &str = "developerAgreements";

/// The eleven contents S-YN Art.13 requires (DOMAIN §4.8).
const REQUIRED: [DeveloperAgreementContentKind; 11] = [
    DeveloperAgreementContentKind::RightsAndDuties,
    DeveloperAgreementContentKind::Assets,
    DeveloperAgreementContentKind::RevenueSharing,
    DeveloperAgreementContentKind::AuthorizedScope,
    DeveloperAgreementContentKind::ServiceTerm,
    DeveloperAgreementContentKind::Fees,
    DeveloperAgreementContentKind::Security,
    DeveloperAgreementContentKind::ProhibitedActs,
    DeveloperAgreementContentKind::CreditCommitment,
    DeveloperAgreementContentKind::Exit,
    DeveloperAgreementContentKind::BreachLiability,
];

const MUTABLE: &[&str] = &[
    "display_name",
    "products",
    "scenario_scope",
    "term",
    "content_items",
    "agreement_document",
];

impl Entry for DeveloperAgreementContentItem {
    fn kind(&self) -> i32 {
        self.kind
    }
    fn blank(kind: i32) -> Self {
        Self {
            kind,
            ..Default::default()
        }
    }
    fn kind_name(&self) -> String {
        format!(
            "{:?}",
            DeveloperAgreementContentKind::try_from(self.kind).unwrap_or_default()
        )
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    jurisdiction_id: String,
    operator_id: String,
    developer_id: String,
    agreement_id: String,
    state: i16,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str = "id, jurisdiction_id, operator_id, developer_id, agreement_id, state, body, create_time, \
                       update_time, version";

impl crate::context::Stored for Row {
    const TABLE: &'static str = "developer_agreements";
    const COLUMNS: &'static str = COLUMNS;
    const COLLECTION: &'static str = COLLECTION;
    const NOT_FOUND: &'static str = "DEVELOPER_AGREEMENT_NOT_FOUND";
    fn version(&self) -> i64 {
        self.version
    }
}

impl Row {
    fn to_proto(&self) -> DeveloperAgreement {
        let mut d = DeveloperAgreement::decode(self.body.as_slice()).unwrap_or_default();
        d.name = format!("{COLLECTION}/{}", self.id);
        d.jurisdiction = names::jurisdiction(&self.jurisdiction_id);
        d.operator = names::organization(&self.operator_id);
        d.developer = names::organization(&self.developer_id);
        d.agreement = names::agreement(&self.agreement_id);
        d.state = i32::from(self.state);
        d.create_time = Some(timestamp(self.create_time));
        d.update_time = Some(timestamp(self.update_time));
        d.etag = etag(self.version);
        d
    }
}

async fn fetch<'e>(db: impl PgExecutor<'e>, id: &str, lock: bool) -> Result<Option<Row>, sqlx::Error> {
    fetch_row(db, "developer_agreements", COLUMNS, id, lock).await
}

fn state_of(d: &DeveloperAgreement) -> DeveloperAgreementState {
    DeveloperAgreementState::try_from(d.state).unwrap_or_default()
}

fn term_end(d: &DeveloperAgreement) -> Option<NaiveDate> {
    d.term
        .as_ref()
        .and_then(|t| t.end_date.as_ref())
        .and_then(naive_date)
}

fn may_read(caller: &Caller, d: &DeveloperAgreement) -> bool {
    [Role::DataAuthority, Role::ImplementingAgency, Role::Auditor]
        .iter()
        .any(|r| caller.has_role(*r))
        || caller.organization == d.operator
        || caller.organization == d.developer
}

/// True when `operator` has (or had) a developer agreement with `developer`.
pub async fn works_with(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    operator: &str,
    developer: &str,
) -> Result<bool, Status> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM developer_agreements WHERE operator_id = $1 AND developer_id = $2)",
    )
    .bind(operator.trim_start_matches("organizations/"))
    .bind(developer.trim_start_matches("organizations/"))
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))
}

fn validate(d: &DeveloperAgreement, v: &mut Violations, paths: &Mask) {
    if paths.has("display_name") && d.display_name.trim().is_empty() {
        v.add(
            "developer_agreement.display_name",
            "must give the agreement's title",
        );
    }
    if paths.has("products") {
        let why = "must name the products the developer may re-develop";
        validate::name_list(
            &d.products,
            "products",
            "developer_agreement.products",
            Some(why),
            v,
        );
    }
    if paths.has("term") {
        if d.term.is_none() {
            v.add(
                "developer_agreement.term",
                "must give the service term (服务期限)",
            );
        }
        validate::term(d.term.as_ref(), "developer_agreement.term", v);
    }
}

/// D22 (S-YN Art.13): the term may not exceed the profile's cap.
async fn check_term_cap(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    jurisdiction_id: &str,
    d: &DeveloperAgreement,
) -> Result<(), Status> {
    let profile = ctx.profile_of(tx, jurisdiction_id).await?;
    let start = d
        .term
        .as_ref()
        .and_then(|t| t.start_date.as_ref())
        .and_then(naive_date);
    if let (Some(cap), Some(start), Some(end)) = (&profile.developer.agreement_term_max, start, term_end(d))
        && pdop_rules::deadlines::term_end(start, cap.value).is_some_and(|last| end > last)
    {
        let mut v = Violations::new();
        v.add(
            "developer_agreement.term",
            format!(
                "a term of {start} to {end} exceeds the {} cap in {} ({})",
                describe(cap.value),
                profile.id,
                cap.source
            ),
        );
        return Err(ctx.errors().invalid(&v));
    }
    Ok(())
}

/// RG-7: where the profile has an admission procedure (`review.admission.panel`), the agreement names the admission;
/// where it has none (Zhengzhou, S-ZZ Art.18, 22: the operator organises its developers), it names none.
async fn check_admission_named(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    jurisdiction_id: &str,
    d: &DeveloperAgreement,
) -> Result<(), Status> {
    let profile = ctx.profile_of(tx, jurisdiction_id).await?;
    let mut v = Violations::new();
    match (
        profile.review.admission.panel.is_some(),
        d.developer_admission.is_empty(),
    ) {
        (true, true) => v.add(
            "developer_agreement.developer_admission",
            format!(
                "profile {} admits developers first (准入); name the admission",
                profile.id
            ),
        ),
        (false, false) => v.add(
            "developer_agreement.developer_admission",
            format!(
                "profile {} has no admission procedure; leave it empty",
                profile.id
            ),
        ),
        _ => {}
    }
    v.into_result(ctx.errors())
}

/// The developer may contract: it is not the operator itself, holds the role, is admitted for this operator (and
/// has not exited since) where the profile admits developers, and is not excluded.
async fn check_developer(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    d: &DeveloperAgreement,
    jurisdiction: &str,
) -> Result<(), Status> {
    if d.developer == d.operator {
        return Err(ctx.errors().failed_precondition(
            "OWN_PRODUCTS",
            format!(
                "{} operates the products itself and may not re-develop them (运营机构不得参与再开发, N2 Art.6)",
                d.developer
            ),
        ));
    }
    organizations::holding(
        ctx,
        tx,
        &d.developer,
        "developer_agreement.developer",
        OrganizationRole::Developer,
    )
    .await?;
    if let Some(why) = blacklist::exclusion(ctx, tx, &d.developer, jurisdiction).await? {
        return Err(ctx.errors().failed_precondition("DEVELOPER_EXCLUDED", why));
    }
    if d.developer_admission.is_empty() {
        // No admission procedure in this profile (checked by `check_admission_named`).
        return Ok(());
    }
    let admission_id = names::parse(&d.developer_admission, "developerAdmissions").unwrap_or_default();
    let admitted: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM developer_admissions
                        WHERE id = $1 AND developer_id = $2 AND operator_id = $3 AND exit_time IS NULL)",
    )
    .bind(admission_id)
    .bind(d.developer.trim_start_matches("organizations/"))
    .bind(d.operator.trim_start_matches("organizations/"))
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    if !admitted {
        return Err(ctx.errors().failed_precondition(
            "NOT_ADMITTED",
            format!(
                "{} has not admitted {} for {}, or the developer has exited since (准入, S-YN Art.13; 退出, \
                 S-YN Art.25); the review service's admission comes first",
                d.developer_admission, d.developer, d.operator
            ),
        ));
    }
    Ok(())
}

/// Every product must be the operator's and listed.
async fn check_products(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    d: &DeveloperAgreement,
) -> Result<(), Status> {
    for (i, name) in d.products.iter().enumerate() {
        let field = format!("developer_agreement.products[{i}]");
        let found = products::for_change(ctx, tx, name, "").await?;
        let Some((_, p)) = found else {
            return Err(ctx.errors().not_found("PRODUCT_NOT_FOUND", name));
        };
        if p.operator != d.operator || products::state_of(&p) != ProductState::Listed {
            return Err(ctx.errors().failed_precondition(
                "PRODUCT_NOT_AVAILABLE",
                format!("{field}: {name} is not a listed product of {}", d.operator),
            ));
        }
    }
    Ok(())
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateDeveloperAgreementRequest,
) -> Result<CreateDeveloperAgreementResponse, Status> {
    const METHOD: &str = "registry.CreateDeveloperAgreement";
    let mut d = req.developer_agreement.unwrap_or_default();
    let mut v = Violations::new();
    validate(&d, &mut v, &Mask::all());
    for (field, name, collection) in [
        ("developer_agreement.developer", &d.developer, "organizations"),
        ("developer_agreement.agreement", &d.agreement, "agreements"),
    ] {
        if names::parse(name, collection).is_none() {
            v.add(field, names::expected(collection));
        }
    }
    // Whether an admission must be named depends on the jurisdiction's profile (RG-7), read below.
    if !d.developer_admission.is_empty()
        && names::parse(&d.developer_admission, "developerAdmissions").is_none()
    {
        v.add(
            "developer_agreement.developer_admission",
            names::expected("developerAdmissions"),
        );
    }
    let required: Vec<i32> = REQUIRED.iter().map(|k| *k as i32).collect();
    d.content_items = checklist::merge(
        "S-YN Art.13",
        &required,
        &d.content_items,
        "developer_agreement.content_items",
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let authorization =
        agreements::active(ctx, &mut tx, &d.agreement, "developer_agreement.agreement").await?;
    if authorization.operator != caller.organization {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_OPERATOR",
            format!(
                "developer agreements under {} are made by its operator",
                d.agreement
            ),
        ));
    }
    d.operator = authorization.operator.clone();
    d.jurisdiction = authorization.jurisdiction.clone();
    let jurisdiction_id = d.jurisdiction.trim_start_matches("jurisdictions/").to_owned();
    check_term_cap(ctx, &mut tx, &jurisdiction_id, &d).await?;
    check_admission_named(ctx, &mut tx, &jurisdiction_id, &d).await?;
    check_developer(ctx, &mut tx, &d, &authorization.jurisdiction).await?;
    check_products(ctx, &mut tx, &d).await?;
    let draft = DeveloperAgreement {
        display_name: d.display_name.trim().to_owned(),
        developer_admission: d.developer_admission.clone(),
        products: d.products.clone(),
        scenario_scope: d.scenario_scope.clone(),
        term: d.term,
        content_items: d.content_items.clone(),
        agreement_document: d.agreement_document.clone(),
        state: DeveloperAgreementState::Draft as i32,
        ..Default::default()
    };
    let id = uuid::Uuid::now_v7().to_string();
    let row = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO developer_agreements (id, jurisdiction_id, operator_id, developer_id, agreement_id, state, term_end,
                                           body, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(&jurisdiction_id)
    .bind(d.operator.trim_start_matches("organizations/"))
    .bind(d.developer.trim_start_matches("organizations/"))
    .bind(d.agreement.trim_start_matches("agreements/"))
    .bind(DeveloperAgreementState::Draft as i16)
    .bind(term_end(&d).unwrap_or_default())
    .bind(draft.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let created = row.to_proto();
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "developer": created.developer }),
    )
    .await?;
    let response = CreateDeveloperAgreementResponse {
        developer_agreement: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn get(
    ctx: &Ctx,
    caller: &Caller,
    req: GetDeveloperAgreementRequest,
) -> Result<GetDeveloperAgreementResponse, Status> {
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let row = fetch(ctx.pool(), id, false)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("DEVELOPER_AGREEMENT_NOT_FOUND", &req.name))?;
    let d = row.to_proto();
    if !may_read(caller, &d) {
        return Err(ctx
            .errors()
            .permission_denied("NOT_A_PARTY", "only the parties and supervisors read it"));
    }
    Ok(GetDeveloperAgreementResponse {
        developer_agreement: Some(d),
    })
}

pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    req: ListDeveloperAgreementsRequest,
) -> Result<ListDeveloperAgreementsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) = paging(req.page_size, &req.page_token, &mut v);
    let operator_id = optional_name(&req.operator, "organizations", "operator", &mut v);
    let developer_id = optional_name(&req.developer, "organizations", "developer", &mut v);
    let agreement_id = optional_name(&req.agreement, "agreements", "agreement", &mut v);
    v.into_result(ctx.errors())?;
    let supervises = [Role::DataAuthority, Role::ImplementingAgency, Role::Auditor]
        .iter()
        .any(|r| caller.has_role(*r));
    let party = (!supervises).then(|| {
        caller
            .organization
            .trim_start_matches("organizations/")
            .to_owned()
    });
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM developer_agreements
         WHERE ($1::text IS NULL OR id > $1)
           AND ($2::text IS NULL OR operator_id = $2)
           AND ($3::text IS NULL OR developer_id = $3)
           AND ($4::text IS NULL OR agreement_id = $4)
           AND ($5::smallint = 0 OR state = $5)
           AND ($6::text IS NULL OR operator_id = $6 OR developer_id = $6)
         ORDER BY id LIMIT $7"
    ))
    .bind(after)
    .bind(operator_id)
    .bind(developer_id)
    .bind(agreement_id)
    .bind(i16::try_from(req.state).unwrap_or(0))
    .bind(party)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| r.id.clone());
    Ok(ListDeveloperAgreementsResponse {
        developer_agreements: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}

async fn for_change(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    expected_etag: &str,
) -> Result<(Row, DeveloperAgreement), Status> {
    let row: Row = ctx.locked(tx, name, expected_etag).await?;
    let d = row.to_proto();
    Ok((row, d))
}

async fn save(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    row: &Row,
    d: &DeveloperAgreement,
) -> Result<DeveloperAgreement, Status> {
    let updated = sqlx::query_as::<_, Row>(&format!(
        "UPDATE developer_agreements SET state = $2, term_end = $3, body = $4, update_time = $5, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(&row.id)
    .bind(i16::try_from(d.state).unwrap_or(0))
    .bind(term_end(d).unwrap_or_default())
    .bind(d.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(updated.to_proto())
}

fn check_operator(ctx: &Ctx, caller: &Caller, d: &DeveloperAgreement) -> Result<(), Status> {
    if caller.organization == d.operator {
        return Ok(());
    }
    Err(ctx.errors().permission_denied(
        "NOT_THE_OPERATOR",
        format!("only {} (the operator) acts on {}", d.operator, d.name),
    ))
}

pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    req: UpdateDeveloperAgreementRequest,
) -> Result<UpdateDeveloperAgreementResponse, Status> {
    const METHOD: &str = "registry.UpdateDeveloperAgreement";
    let p = req.developer_agreement.unwrap_or_default();
    let mut v = Violations::new();
    let paths = mask::resolve(req.update_mask.as_ref(), MUTABLE, &mut v, |path| match path {
        "display_name" => !p.display_name.is_empty(),
        "products" => !p.products.is_empty(),
        "scenario_scope" => !p.scenario_scope.is_empty(),
        "term" => p.term.is_some(),
        "content_items" => !p.content_items.is_empty(),
        "agreement_document" => p.agreement_document.is_some(),
        _ => false,
    });
    validate(&p, &mut v, &paths);
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut d) = for_change(ctx, &mut tx, &p.name, &req.etag).await?;
    check_operator(ctx, caller, &d)?;
    ctx.require_state(
        &d.name,
        state_of(&d),
        &[DeveloperAgreementState::Draft],
        "updating",
    )?;
    let changed: Vec<&str> = MUTABLE.iter().copied().filter(|f| paths.has(f)).collect();
    let mut v = Violations::new();
    for field in &changed {
        match *field {
            "display_name" => d.display_name = p.display_name.trim().to_owned(),
            "products" => d.products = p.products.clone(),
            "scenario_scope" => d.scenario_scope = p.scenario_scope.clone(),
            "term" => d.term = p.term,
            "content_items" => {
                let required: Vec<i32> = REQUIRED.iter().map(|k| *k as i32).collect();
                d.content_items = checklist::merge(
                    "S-YN Art.13",
                    &required,
                    &p.content_items,
                    "developer_agreement.content_items",
                    &mut v,
                );
            }
            "agreement_document" => d.agreement_document = p.agreement_document.clone(),
            _ => {}
        }
    }
    v.into_result(ctx.errors())?;
    if paths.has("term") {
        check_term_cap(ctx, &mut tx, &row.jurisdiction_id, &d).await?;
    }
    if paths.has("products") {
        check_products(ctx, &mut tx, &d).await?;
    }
    let saved = save(ctx, &mut tx, &row, &d).await?;
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "changed": changed }),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(UpdateDeveloperAgreementResponse {
        developer_agreement: Some(saved),
    })
}

pub async fn sign(
    ctx: &Ctx,
    caller: &Caller,
    req: SignDeveloperAgreementRequest,
) -> Result<SignDeveloperAgreementResponse, Status> {
    const METHOD: &str = "registry.SignDeveloperAgreement";
    let mut v = Violations::new();
    let sign_date = validate::past_or_today(
        req.sign_date.as_ref(),
        "sign_date",
        ctx.platform.clock.today(),
        &mut v,
    );
    v.into_result(ctx.errors())?;
    let mut tx = ctx.begin().await?;
    let (row, mut d) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    check_operator(ctx, caller, &d)?;
    ctx.require_state(
        &d.name,
        state_of(&d),
        &[DeveloperAgreementState::Draft],
        "signing",
    )?;
    let missing: Vec<String> = REQUIRED
        .iter()
        .filter(|k| !d.content_items.iter().any(|i| i.kind == **k as i32 && i.present))
        .map(|k| format!("{k:?}"))
        .collect();
    if !missing.is_empty() {
        return Err(ctx.errors().failed_precondition(
            "CHECKLIST_INCOMPLETE",
            format!(
                "the agreement does not cover (S-YN Art.13): {}",
                missing.join(", ")
            ),
        ));
    }
    agreements::active(ctx, &mut tx, &d.agreement, "agreement").await?;
    if let Some(why) = blacklist::exclusion(ctx, &mut tx, &d.developer, &d.jurisdiction).await? {
        return Err(ctx.errors().failed_precondition("DEVELOPER_EXCLUDED", why));
    }
    d.state = DeveloperAgreementState::Active as i32;
    d.sign_date = Some(date(sign_date));
    if req.agreement_document.is_some() {
        d.agreement_document = req.agreement_document;
    }
    let saved = save(ctx, &mut tx, &row, &d).await?;
    let event = ev::DeveloperAgreementSigned {
        name: saved.name.clone(),
        jurisdiction: Some(
            crate::jurisdictions::reference(ctx, &mut tx, &saved.jurisdiction, "jurisdiction").await?,
        ),
        operator: Some(organizations::reference(ctx, &mut tx, &saved.operator, "operator").await?),
        developer: Some(organizations::reference(ctx, &mut tx, &saved.developer, "developer").await?),
        agreement: saved.agreement.clone(),
        products: saved.products.clone(),
        term: saved.term,
        actor: Some(actor(caller)),
        developer_admission: saved.developer_admission.clone(),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &saved.name,
        serde_json::json!({ "state": "ACTIVE" }),
        ("pdop.registry.developer_agreement.signed", &event),
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(SignDeveloperAgreementResponse {
        developer_agreement: Some(saved),
    })
}

pub async fn terminate(
    ctx: &Ctx,
    caller: &Caller,
    req: TerminateDeveloperAgreementRequest,
) -> Result<TerminateDeveloperAgreementResponse, Status> {
    const METHOD: &str = "registry.TerminateDeveloperAgreement";
    if req.reason.trim().is_empty() {
        let mut v = Violations::new();
        v.add("reason", "must say why the agreement ends");
        return Err(ctx.errors().invalid(&v));
    }
    let mut tx = ctx.begin().await?;
    let (row, d) = for_change(ctx, &mut tx, &req.name, &req.etag).await?;
    if caller.has_role(Role::ImplementingAgency) {
        // THREATS H2.3: ended by the agency of the operator agreement it hangs under, or by its operator.
        crate::supervision::require_agency(ctx, &mut tx, caller, &row.agreement_id, &d.name).await?;
        crate::supervision::require(ctx, &mut tx, caller, &row.jurisdiction_id, &d.name).await?;
    } else {
        check_operator(ctx, caller, &d)?;
    }
    crate::follow_ups::meet(ctx, &mut tx, &d.name).await?;
    let saved = end(
        ctx,
        &mut tx,
        caller,
        &row,
        d,
        DeveloperAgreementState::Terminated,
        req.reason.trim(),
        METHOD,
    )
    .await?;
    ctx.commit(tx).await?;
    Ok(TerminateDeveloperAgreementResponse {
        developer_agreement: Some(saved),
    })
}

/// Ends a running agreement (TERMINATED or EXPIRED): platform access closes now; one event.
#[allow(clippy::too_many_arguments)]
async fn end(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    row: &Row,
    mut d: DeveloperAgreement,
    state: DeveloperAgreementState,
    reason: &str,
    action: &str,
) -> Result<DeveloperAgreement, Status> {
    ctx.require_state(
        &d.name,
        state_of(&d),
        &[
            DeveloperAgreementState::Active,
            DeveloperAgreementState::Suspended,
        ],
        "ending",
    )?;
    d.state = state as i32;
    d.termination_reason = reason.to_owned();
    d.access_close_time = Some(timestamp(ctx.platform.clock.now()));
    let saved = save(ctx, tx, row, &d).await?;
    let event = ev::DeveloperAgreementEnded {
        name: saved.name.clone(),
        jurisdiction: Some(
            crate::jurisdictions::reference(ctx, tx, &saved.jurisdiction, "jurisdiction").await?,
        ),
        operator: Some(organizations::reference(ctx, tx, &saved.operator, "operator").await?),
        developer: Some(organizations::reference(ctx, tx, &saved.developer, "developer").await?),
        state: state as i32,
        reason: reason.to_owned(),
        access_close_time: saved.access_close_time,
        actor: Some(actor(caller)),
        developer_admission: saved.developer_admission.clone(),
    };
    ctx.record(
        tx,
        caller,
        action,
        &saved.name,
        serde_json::json!({ "state": format!("{state:?}") }),
        ("pdop.registry.developer_agreement.ended", &event),
    )
    .await?;
    Ok(saved)
}

/// Ids of the developer's agreements in `state` in the jurisdiction.
async fn of_developer(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    developer: &str,
    jurisdiction: &str,
    state: DeveloperAgreementState,
) -> Result<Vec<String>, Status> {
    sqlx::query_scalar(
        "SELECT id FROM developer_agreements WHERE developer_id = $1 AND jurisdiction_id = $2 AND state = $3
         ORDER BY id FOR UPDATE",
    )
    .bind(developer.trim_start_matches("organizations/"))
    .bind(jurisdiction.trim_start_matches("jurisdictions/"))
    .bind(state as i16)
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))
}

/// Moves the developer's agreements between ACTIVE and SUSPENDED (a SUSPEND measure starting or ending); the
/// blacklist event announces it. Agreements whose term ended are left to the scheduler.
async fn set_suspended(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    developer: &str,
    jurisdiction: &str,
    suspend: bool,
) -> Result<(), Status> {
    let (from, to) = if suspend {
        (
            DeveloperAgreementState::Active,
            DeveloperAgreementState::Suspended,
        )
    } else {
        (
            DeveloperAgreementState::Suspended,
            DeveloperAgreementState::Active,
        )
    };
    for id in of_developer(ctx, tx, developer, jurisdiction, from).await? {
        let (row, mut d) = for_change(ctx, tx, &format!("{COLLECTION}/{id}"), "").await?;
        if !suspend && term_end(&d).is_some_and(|end| end < ctx.platform.clock.today()) {
            continue;
        }
        d.state = to as i32;
        let saved = save(ctx, tx, &row, &d).await?;
        ctx.audit(
            tx,
            caller,
            "registry.BlacklistMeasure",
            &saved.name,
            serde_json::json!({ "state": format!("{to:?}") }),
        )
        .await?;
    }
    Ok(())
}

pub async fn suspend_developer(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    developer: &str,
    jurisdiction: &str,
) -> Result<(), Status> {
    set_suspended(ctx, tx, caller, developer, jurisdiction, true).await
}

pub async fn resume_developer(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    developer: &str,
    jurisdiction: &str,
) -> Result<(), Status> {
    set_suspended(ctx, tx, caller, developer, jurisdiction, false).await
}

/// A disqualified developer's running agreements end at once (取消资格, S-YN Art.21).
pub async fn end_developer(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    developer: &str,
    jurisdiction: &str,
    reason: &str,
) -> Result<(), Status> {
    for state in [
        DeveloperAgreementState::Active,
        DeveloperAgreementState::Suspended,
    ] {
        for id in of_developer(ctx, tx, developer, jurisdiction, state).await? {
            let (row, d) = for_change(ctx, tx, &format!("{COLLECTION}/{id}"), "").await?;
            end(
                ctx,
                tx,
                caller,
                &row,
                d,
                DeveloperAgreementState::Terminated,
                reason,
                "registry.CreateBlacklistEntry",
            )
            .await?;
        }
    }
    Ok(())
}

/// Ends the running agreements between `developer_id` and `operator_id` that rest on `admission`, which the
/// developer exited (S-YN Art.25(5)); their events name the admission.
pub(crate) async fn end_on_exit(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    caller: &Caller,
    admission: &str,
    developer_id: &str,
    operator_id: &str,
) -> Result<(), Status> {
    // The admission is in the body only; the parties narrow the rows to read.
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM developer_agreements WHERE developer_id = $1 AND operator_id = $2 AND state = ANY($3)
         ORDER BY id FOR UPDATE",
    )
    .bind(developer_id)
    .bind(operator_id)
    .bind(vec![
        DeveloperAgreementState::Active as i16,
        DeveloperAgreementState::Suspended as i16,
    ])
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    let reason = format!("开发主体退出 {admission}");
    for id in ids {
        let (row, d) = for_change(ctx, tx, &format!("{COLLECTION}/{id}"), "").await?;
        if d.developer_admission != admission {
            continue;
        }
        let terminated = DeveloperAgreementState::Terminated;
        end(
            ctx,
            tx,
            caller,
            &row,
            d,
            terminated,
            &reason,
            "registry.DeveloperExited",
        )
        .await?;
    }
    Ok(())
}

/// Expires running agreements whose term ended before `today` (run by the scheduler); returns how many.
pub async fn expire_due(ctx: &Ctx, caller: &Caller, today: NaiveDate) -> Result<usize, Status> {
    let due: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM developer_agreements WHERE state = ANY($1) AND term_end < $2 ORDER BY id LIMIT 100",
    )
    .bind(vec![
        DeveloperAgreementState::Active as i16,
        DeveloperAgreementState::Suspended as i16,
    ])
    .bind(today)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let mut done = 0;
    for id in due {
        let mut tx = ctx.begin().await?;
        let (row, d) = for_change(ctx, &mut tx, &format!("{COLLECTION}/{id}"), "").await?;
        let running = [
            DeveloperAgreementState::Active,
            DeveloperAgreementState::Suspended,
        ];
        if running.contains(&state_of(&d)) {
            end(
                ctx,
                &mut tx,
                caller,
                &row,
                d,
                DeveloperAgreementState::Expired,
                "",
                "registry.Scheduler",
            )
            .await?;
            done += 1;
        }
        ctx.commit(tx).await?;
    }
    Ok(done)
}
