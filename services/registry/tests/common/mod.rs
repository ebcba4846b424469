//! A registry on free ports against a fresh database, plus helpers to call it as a given role.

#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub mod agreements;
pub mod developers;
pub mod evaluation;
pub mod review;

use std::cell::RefCell;
use std::sync::Arc;

use chrono::NaiveDate;
use pdop_kit::Running;
use pdop_kit::auth::Role;
use pdop_kit::clock::{ManualClock, PlatformClock};
use pdop_proto::common::{DataGrade, Date, DocumentRef, JurisdictionLevel, OrganizationRole};
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::registry_service_client::RegistryServiceClient;
use pdop_proto::registry::v1::*;
use pdop_registry::Registry;
use pdop_testkit::{TestDb, TestEnv, dev_token, spawn_service_with_clock};
pub use pdop_testkit::{acting, assert_invalid, reason};
use prost::Message;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// Valid unified social credit codes (published, check digits correct).
pub const CODES: [&str; 7] = [
    "91350100M000100Y43",
    "91110000600037341L",
    "91310000631696382C",
    "91440300568520498A",
    "9144030071526726XG",
    "91340600MA2PBM9HXD",
    "121200004013590816",
];

/// A valid unified social credit code numbered `n` (both check characters computed by trying each one).
pub fn credit_code(n: u32) -> String {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    let base = format!("91530100{:08}", 10_000_000 + n);
    for org_check in "0123456789X".chars() {
        for check in ALPHABET.chars() {
            let code = format!("{base}{org_check}{check}");
            if pdop_rules::UnifiedSocialCreditCode::parse(&code).is_ok() {
                return code;
            }
        }
    }
    panic!("no valid credit code for {n}")
}

thread_local! {
    /// The clock of the registry this test started (a test and its registry run on one thread).
    static CLOCK: RefCell<Option<PlatformClock>> = const { RefCell::new(None) };
}

/// Today in China on the clock of the registry this test started (the wall clock before one is started).
pub fn today() -> NaiveDate {
    CLOCK
        .with(|c| c.borrow().as_ref().map(PlatformClock::today))
        .unwrap_or_else(|| pdop_kit::clock::china_date(chrono::Utc::now()))
}

pub struct Harness {
    pub env: TestEnv,
    /// The NATS server the registry uses, in the namespace `env.namespace`.
    pub nats_url: String,
    pub db: TestDb,
    pub running: Running,
    pub client: RegistryServiceClient<Channel>,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with_nats(None).await
    }

    pub async fn start_with_nats(nats_url: Option<String>) -> Self {
        Self::start_on(nats_url, &[]).await
    }

    /// A registry with extra configuration, e.g. `("registry.scheduler_interval", "100ms")`.
    pub async fn start_with(overrides: &[(&str, String)]) -> Self {
        Self::start_on(None, overrides).await
    }

    /// A registry whose clock stands at 09:00 China time on `day` until the test moves it.
    pub async fn start_on_day(day: NaiveDate, overrides: &[(&str, String)]) -> Self {
        Self::start_on_clock(None, overrides, ManualClock::on(day)).await
    }

    /// The registry runs on a manual clock standing at the current instant: a test moves time with
    /// [`Harness::advance`] instead of rewriting stored rows.
    pub async fn start_on(nats_url: Option<String>, overrides: &[(&str, String)]) -> Self {
        Self::start_on_clock(nats_url, overrides, ManualClock::at(chrono::Utc::now())).await
    }

    pub async fn start_on_clock(
        nats_url: Option<String>,
        overrides: &[(&str, String)],
        clock: ManualClock,
    ) -> Self {
        let env = TestEnv::new().await.unwrap();
        let db = env.fresh_database().await.unwrap();
        let nats = nats_url.unwrap_or_else(|| env.nats_url.clone());
        let running =
            spawn_service_with_clock::<Registry>(&db, &nats, &env.namespace, overrides, Arc::new(clock))
                .await
                .unwrap();
        CLOCK.with(|c| *c.borrow_mut() = Some(running.platform.clock.clone()));
        let client = RegistryServiceClient::connect(format!("http://{}", running.grpc_addr))
            .await
            .unwrap();
        Self {
            env,
            nats_url: nats,
            db,
            running,
            client,
        }
    }

    /// Today in China on the registry's clock.
    pub fn today(&self) -> NaiveDate {
        self.running.platform.clock.today()
    }

    /// Moves the registry's clock forward by `days` (its scheduler wakes at once).
    pub fn advance(&self, days: i64) {
        assert!(self.running.platform.clock.advance(chrono::Duration::days(days)));
    }

    /// Moves the registry's clock forward to 09:00 China time on `day` (not before today).
    pub fn advance_to(&self, day: NaiveDate) {
        let by = (day - self.today()).num_days();
        assert!(by >= 0, "{day} is before {}", self.today());
        self.advance(by);
    }

    /// Payloads of outbox rows with `subject`, oldest first (published or not).
    pub async fn events(&self, subject: &str) -> Vec<Vec<u8>> {
        sqlx::query_scalar("SELECT payload FROM outbox WHERE subject = $1 ORDER BY seq")
            .bind(subject)
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
    }

    pub async fn audit_rows(&self, action: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    /// A national root and one province bound to `profile`, as the data authority.
    pub async fn province(&mut self, id: &str, profile: &str) -> Jurisdiction {
        if self.get_jurisdiction("jurisdictions/china").await.is_err() {
            self.create_jurisdiction(
                "china",
                "中华人民共和国",
                JurisdictionLevel::National,
                "",
                "national",
            )
            .await
            .unwrap();
        }
        self.create_jurisdiction(
            id,
            id,
            JurisdictionLevel::Province,
            "jurisdictions/china",
            profile,
        )
        .await
        .unwrap()
    }

    pub async fn create_jurisdiction(
        &mut self,
        id: &str,
        display_name: &str,
        level: JurisdictionLevel,
        parent: &str,
        profile: &str,
    ) -> Result<Jurisdiction, Status> {
        let request = CreateJurisdictionRequest {
            jurisdiction: Some(Jurisdiction {
                display_name: display_name.into(),
                level: level as i32,
                parent: parent.into(),
                profile_id: profile.into(),
                ..Default::default()
            }),
            jurisdiction_id: id.into(),
            request_id: String::new(),
        };
        let response = self.client.create_jurisdiction(authority(request)).await?;
        Ok(response.into_inner().jurisdiction.unwrap())
    }

    pub async fn get_jurisdiction(&mut self, name: &str) -> Result<Jurisdiction, Status> {
        let request = as_role(GetJurisdictionRequest { name: name.into() }, &[Role::Operator]);
        Ok(self
            .client
            .get_jurisdiction(request)
            .await?
            .into_inner()
            .jurisdiction
            .unwrap())
    }

    pub async fn create_organization(
        &mut self,
        organization: Organization,
        id: &str,
    ) -> Result<Organization, Status> {
        let request = CreateOrganizationRequest {
            organization: Some(organization),
            organization_id: id.into(),
            request_id: String::new(),
        };
        Ok(self
            .client
            .create_organization(authority(request))
            .await?
            .into_inner()
            .organization
            .unwrap())
    }
}

/// A request carrying a token for the data authority `organizations/authority`.
pub fn authority<T>(message: T) -> Request<T> {
    as_role(message, &[Role::DataAuthority])
}

pub fn as_role<T>(message: T, roles: &[Role]) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        dev_token("organizations/authority", roles).parse().unwrap(),
    );
    request
}

/// The data authority [`authority`] acts as, holding a token of Henan, which supervises none of the tests' rows.
pub fn henan_authority<T>(message: T) -> Request<T> {
    pdop_testkit::acting_in(
        "organizations/authority",
        &[Role::DataAuthority],
        "jurisdictions/henan",
        message,
    )
}

/// THREATS H2: the refusal of a supervisor acting outside its jurisdiction.
pub fn assert_outside_jurisdiction(err: &Status, what: &str) {
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{what}: {err:?}");
    assert_eq!(
        pdop_testkit::reason(err),
        "OUTSIDE_JURISDICTION",
        "{what}: {err:?}"
    );
}

pub const STATS: &str = "organizations/yn-stats";
pub const TRANSPORT: &str = "organizations/yn-transport";

/// A province (profile yunnan) with two data providers.
pub async fn setup() -> Harness {
    let mut h = Harness::start().await;
    providers(&mut h).await;
    h
}

/// The Yunnan province (profile yunnan) with its two data providers, in a started registry.
pub async fn providers(h: &mut Harness) {
    h.province("yunnan", "yunnan").await;
    for (id, code) in [("yn-stats", CODES[0]), ("yn-transport", CODES[1])] {
        organization(
            h,
            id,
            code,
            "jurisdictions/yunnan",
            &[OrganizationRole::DataProvider],
        )
        .await;
    }
}

/// An organization of `jurisdiction` holding `roles`, with a valid credit code.
pub async fn organization(
    h: &mut Harness,
    id: &str,
    code: &str,
    jurisdiction: &str,
    roles: &[OrganizationRole],
) {
    let org = Organization {
        display_name: id.into(),
        unified_social_credit_code: code.into(),
        roles: roles.iter().map(|r| *r as i32).collect(),
        jurisdiction: jurisdiction.into(),
        ..Default::default()
    };
    h.create_organization(org, id).await.unwrap();
}

pub fn provider<T>(org: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let token = pdop_testkit::dev_token(org, &[Role::DataProvider]);
    request
        .metadata_mut()
        .insert("authorization", token.parse().unwrap());
    request
}

pub fn field(key: &str, code: &str, authoritative: bool) -> ResourceField {
    ResourceField {
        field_key: key.into(),
        display_name: key.into(),
        data_item_code: code.into(),
        authoritative_source: authoritative,
        ..Default::default()
    }
}

pub fn resource(owner: &str, name: &str, fields: Vec<ResourceField>) -> Resource {
    Resource {
        display_name: name.into(),
        provider: owner.into(),
        jurisdiction: "jurisdictions/yunnan".into(),
        fields,
        ..Default::default()
    }
}

pub async fn create(h: &mut Harness, owner: &str, id: &str, r: Resource) -> Result<Resource, tonic::Status> {
    let request = CreateResourceRequest {
        resource: Some(r),
        resource_id: id.into(),
        request_id: String::new(),
    };
    Ok(h.client
        .create_resource(provider(owner, request))
        .await?
        .into_inner()
        .resource
        .unwrap())
}

pub fn doc(title: &str) -> Option<DocumentRef> {
    Some(DocumentRef {
        uri: format!("https://docs.example/{title}.pdf"),
        title: title.into(),
        ..Default::default()
    })
}

/// Every material N3 Art.9 lists for a first registration.
pub fn all_materials() -> Vec<RegistrationMaterial> {
    use RegistrationMaterialKind::*;
    [
        RegistrantInfo,
        LawfulSource,
        ResourceDescription,
        EvidenceDeposit,
        ProductInfo,
        ScenarioInfo,
        SecurityRiskAssessment,
    ]
    .into_iter()
    .map(|kind| RegistrationMaterial {
        kind: kind as i32,
        document: doc(&format!("{kind:?}")),
        ..Default::default()
    })
    .collect()
}

pub fn application(resource: &str, materials: Vec<RegistrationMaterial>) -> Registration {
    Registration {
        kind: RegistrationKind::First as i32,
        subject: Some(Subject::Resource(resource.into())),
        title: "人口基础信息".into(),
        content_summary: "全省常住人口基础信息".into(),
        materials,
        internal_review: doc("internal-review"),
        operation_start_date: Some(Date {
            year: 2026,
            month: 9,
            day: 28,
        }),
        ..Default::default()
    }
}

pub async fn catalogued_resource(h: &mut Harness, owner: &str, id: &str) {
    catalogued_graded(h, owner, id, DataGrade::General).await;
}

pub async fn catalogued_graded(h: &mut Harness, owner: &str, id: &str, grade: DataGrade) {
    let r = Resource {
        grade: grade as i32,
        ..resource(owner, id, vec![field("a", "", false)])
    };
    create(h, owner, id, r).await.unwrap();
    let catalog = CatalogResourceRequest {
        name: format!("resources/{id}"),
        etag: String::new(),
    };
    h.client.catalog_resource(provider(owner, catalog)).await.unwrap();
}

/// A catalogued resource taken through first registration (N3) to its code, so it is authorizable.
/// Returns the registration's name.
pub async fn registered_resource(h: &mut Harness, owner: &str, id: &str) -> String {
    catalogued_resource(h, owner, id).await;
    let app = application(&format!("resources/{id}"), all_materials());
    let name = through_notice(h, owner, &[Role::DataProvider], app).await;
    end_notice(h, &name).await;
    issue(h, &name).await.unwrap();
    name
}

/// Creates `app` as `applicant`, submits it, and has the registry accept it, pass the review and start the
/// public notice. Returns the application's name.
pub async fn through_notice(h: &mut Harness, applicant: &str, roles: &[Role], app: Registration) -> String {
    let name = accepted(h, applicant, roles, app).await;
    let review = CompleteRegistrationReviewRequest {
        name: name.clone(),
        outcome: RegistrationReviewOutcome::Passed as i32,
        ..Default::default()
    };
    h.client
        .complete_registration_review(authority(review))
        .await
        .unwrap();
    let notice = StartRegistrationNoticeRequest {
        name: name.clone(),
        ..Default::default()
    };
    h.client
        .start_registration_notice(authority(notice))
        .await
        .unwrap();
    name
}

/// Creates `app` as `applicant`, submits it and has the registry accept it. Returns its name.
pub async fn accepted(h: &mut Harness, applicant: &str, roles: &[Role], app: Registration) -> String {
    let request = CreateRegistrationRequest {
        registration: Some(app),
        request_id: String::new(),
    };
    let name = h
        .client
        .create_registration(acting(applicant, roles, request))
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap()
        .name;
    let submit = SubmitRegistrationRequest {
        name: name.clone(),
        etag: String::new(),
    };
    h.client
        .submit_registration(acting(applicant, roles, submit))
        .await
        .unwrap();
    let accept = AcceptRegistrationRequest {
        name: name.clone(),
        etag: String::new(),
    };
    h.client.accept_registration(authority(accept)).await.unwrap();
    name
}

/// Moves the registry's clock to the first day after the public notice of `name`.
pub async fn end_notice(h: &mut Harness, name: &str) {
    let reg = get_registration(h, name).await;
    let end = ymd(&reg.notice_period.unwrap().end_date);
    h.advance_to(end.succ_opt().unwrap());
}

pub async fn issue(h: &mut Harness, name: &str) -> Result<Registration, Status> {
    let issue = IssueRegistrationCodeRequest {
        name: name.into(),
        etag: String::new(),
    };
    Ok(h.client
        .issue_registration_code(authority(issue))
        .await?
        .into_inner()
        .registration
        .unwrap())
}

pub async fn get_registration(h: &mut Harness, name: &str) -> Registration {
    let request = authority(GetRegistrationRequest { name: name.into() });
    h.client
        .get_registration(request)
        .await
        .unwrap()
        .into_inner()
        .registration
        .unwrap()
}

pub fn day(y: i32, m: i32, d: i32) -> Option<Date> {
    Some(Date {
        year: y,
        month: m,
        day: d,
    })
}

pub fn ymd(d: &Option<Date>) -> chrono::NaiveDate {
    let d = d.unwrap();
    chrono::NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32).unwrap()
}

/// The obligations of `kind` about `subject`, by due date, as the data authority lists them.
pub async fn deadlines_of(h: &mut Harness, subject: &str, kind: ObligationKind) -> Vec<ObligationDeadline> {
    let request = ListDeadlinesRequest {
        subject: subject.into(),
        kind: kind as i32,
        ..Default::default()
    };
    h.client
        .list_deadlines(authority(request))
        .await
        .unwrap()
        .into_inner()
        .deadlines
}
