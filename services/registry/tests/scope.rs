//! Jurisdiction scope over gRPC (THREATS H2): supervisors act only inside their token's jurisdiction and the
//! jurisdictions below it, and acts that DOMAIN binds to an agreement's implementing agency need that agency.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::agreements::*;
use common::developers::*;
use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{Date, JurisdictionLevel, OrganizationRole};
use pdop_proto::registry::v1::*;
use pdop_testkit::{acting, acting_in, reason};
use prost_types::FieldMask;
use tonic::{Request, Status};

const HENAN: &str = "jurisdictions/henan";
const GUANGXI: &str = "jurisdictions/guangxi";

/// The agreement's own implementing agency, holding a Henan token.
fn henan_agency<T>(message: T) -> Request<T> {
    acting_in(AGENCY, &[Role::ImplementingAgency], HENAN, message)
}

fn mask(path: &str) -> Option<FieldMask> {
    Some(FieldMask {
        paths: vec![path.into()],
    })
}

async fn audit_total(h: &Harness) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&h.db.pool)
        .await
        .unwrap()
}

fn served<T>(r: Result<tonic::Response<T>, Status>) -> Result<(), Status> {
    r.map(|_| ())
}

// THREATS H2: a Henan supervisor acting on Guangxi's rows (and on a Yunnan organization) is refused every
// supervisory RPC with OUTSIDE_JURISDICTION, and nothing is written, not even an audit row.
#[tokio::test]
async fn a_foreign_jurisdiction_token_is_denied_every_supervisory_rpc() {
    let (mut h, _nats, agreement, listed) = developer_world().await;
    h.province("henan", "henan").await;
    let developer = developer_draft(&agreement.name, &listed.name, months_from_today(12));
    let created = create_developer_agreement(&mut h, developer).await.unwrap();
    let developer_agreement = signed(&mut h, &created).await;
    let warn = CreateBlacklistEntryRequest {
        blacklist_entry: Some(BlacklistEntry {
            organization: DEVELOPER.into(),
            jurisdiction: GUANGXI.into(),
            action: BlacklistAction::Warn as i32,
            reason: "超范围使用数据".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let entry = h
        .client
        .create_blacklist_entry(authority(warn.clone()))
        .await
        .unwrap()
        .into_inner()
        .blacklist_entry
        .unwrap();
    let before = audit_total(&h).await;

    let incident = RecordSecurityIncidentRequest {
        organization: OPERATOR.into(),
        incident: Some(SecurityIncident {
            occur_date: Some(Date {
                year: 2025,
                month: 3,
                day: 5,
            }),
            severity: IncidentSeverity::Major as i32,
            description: "数据泄露".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let rename_operator = UpdateOrganizationRequest {
        organization: Some(Organization {
            name: OPERATOR.into(),
            display_name: "改名".into(),
            ..Default::default()
        }),
        update_mask: mask("display_name"),
        etag: String::new(),
    };
    let new_organization = CreateOrganizationRequest {
        organization: Some(Organization {
            display_name: "桂-运营".into(),
            unified_social_credit_code: credit_code(30),
            roles: vec![OrganizationRole::Operator as i32],
            jurisdiction: GUANGXI.into(),
            ..Default::default()
        }),
        organization_id: "gx-op".into(),
        request_id: String::new(),
    };
    let city = CreateJurisdictionRequest {
        jurisdiction: Some(Jurisdiction {
            display_name: "南宁市".into(),
            level: JurisdictionLevel::City as i32,
            parent: GUANGXI.into(),
            profile_id: "national".into(),
            ..Default::default()
        }),
        jurisdiction_id: "nanning".into(),
        request_id: String::new(),
    };
    let rebind = UpdateJurisdictionRequest {
        jurisdiction: Some(Jurisdiction {
            name: GUANGXI.into(),
            profile_id: "henan".into(),
            ..Default::default()
        }),
        update_mask: mask("profile_id"),
        etag: String::new(),
    };
    let suspend = SuspendAgreementRequest {
        name: agreement.name.clone(),
        reason: "越权".into(),
        ..Default::default()
    };
    let resume = ResumeAgreementRequest {
        name: agreement.name.clone(),
        reason: "越权".into(),
        etag: String::new(),
    };
    let terminate = TerminateAgreementRequest {
        name: agreement.name.clone(),
        ground: TerminationGround::EarlyEndByAgreement as i32,
        description: "越权".into(),
        ..Default::default()
    };
    let withdraw = WithdrawProductRequest {
        name: listed.name.clone(),
        reason: "越权".into(),
        etag: String::new(),
    };
    let end_developer = TerminateDeveloperAgreementRequest {
        name: developer_agreement.name.clone(),
        reason: "越权".into(),
        etag: String::new(),
    };
    let lift = LiftBlacklistEntryRequest {
        name: entry.name.clone(),
        reason: "越权".into(),
        etag: String::new(),
    };

    let new_agreement = CreateAgreementRequest {
        agreement: Some(draft("guangxi", months_from_today(36))),
        request_id: String::new(),
    };
    let population = "resources/population";
    let catalog = CatalogResourceRequest {
        name: population.into(),
        ..Default::default()
    };
    let retire = RetireResourceRequest {
        name: population.into(),
        reason: "越权".into(),
        ..Default::default()
    };
    let new_resource = CreateResourceRequest {
        resource: Some(resource(STATS, "越权资源", vec![field("id_no", "", false)])),
        resource_id: "foreign".into(),
        request_id: String::new(),
    };
    let list_negative = CreateNegativeListEntryRequest {
        negative_list_entry: Some(NegativeListEntry {
            resource: population.into(),
            reason: "越权".into(),
            basis: "越权".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let file = FileAgreementRequest {
        name: agreement.name.clone(),
        filed_with: "organizations/yn-bureau".into(),
        filing_reference: "豫备〔2026〕1号".into(),
        ..Default::default()
    };
    let c = &mut h.client;
    let outcomes = [
        (
            "CreateResource",
            served(c.create_resource(henan_authority(new_resource)).await),
        ),
        (
            "CatalogResource",
            served(c.catalog_resource(henan_authority(catalog)).await),
        ),
        (
            "RetireResource",
            served(c.retire_resource(henan_authority(retire)).await),
        ),
        (
            "CreateNegativeListEntry",
            served(c.create_negative_list_entry(henan_authority(list_negative)).await),
        ),
        (
            "FileAgreement",
            served(c.file_agreement(henan_authority(file)).await),
        ),
        (
            "CreateAgreement",
            served(c.create_agreement(henan_agency(new_agreement)).await),
        ),
        (
            "RecordSecurityIncident (agency)",
            served(
                c.record_security_incident(acting_in(
                    "organizations/hn-agency",
                    &[Role::ImplementingAgency],
                    HENAN,
                    incident.clone(),
                ))
                .await,
            ),
        ),
        (
            "RecordSecurityIncident",
            served(c.record_security_incident(henan_authority(incident)).await),
        ),
        (
            "UpdateOrganization",
            served(c.update_organization(henan_authority(rename_operator)).await),
        ),
        (
            "CreateOrganization",
            served(c.create_organization(henan_authority(new_organization)).await),
        ),
        (
            "CreateJurisdiction",
            served(c.create_jurisdiction(henan_authority(city)).await),
        ),
        (
            "UpdateJurisdiction",
            served(c.update_jurisdiction(henan_authority(rebind)).await),
        ),
        (
            "CreateBlacklistEntry",
            served(c.create_blacklist_entry(henan_authority(warn)).await),
        ),
        (
            "LiftBlacklistEntry",
            served(c.lift_blacklist_entry(henan_authority(lift)).await),
        ),
        (
            "SuspendAgreement (agency)",
            served(c.suspend_agreement(henan_agency(suspend.clone())).await),
        ),
        (
            "SuspendAgreement",
            served(c.suspend_agreement(henan_authority(suspend.clone())).await),
        ),
        (
            "ResumeAgreement",
            served(c.resume_agreement(henan_agency(resume)).await),
        ),
        (
            "TerminateAgreement",
            served(c.terminate_agreement(henan_agency(terminate)).await),
        ),
        (
            "WithdrawProduct (agency)",
            served(c.withdraw_product(henan_agency(withdraw.clone())).await),
        ),
        (
            "WithdrawProduct",
            served(c.withdraw_product(henan_authority(withdraw.clone())).await),
        ),
        (
            "TerminateDeveloperAgreement",
            served(c.terminate_developer_agreement(henan_agency(end_developer)).await),
        ),
    ];
    for (rpc, outcome) in outcomes {
        assert_outside_jurisdiction(&outcome.expect_err(rpc), rpc);
    }
    assert_eq!(
        audit_total(&h).await,
        before,
        "a refused call writes no audit row"
    );

    // THREATS H2.3: withdrawing binds to the agency of the product's agreement, whatever the jurisdiction.
    let other_agency = acting("organizations/yn-bureau", &[Role::ImplementingAgency], withdraw);
    let err = h.client.withdraw_product(other_agency).await.unwrap_err();
    assert_eq!(reason(&err), "NOT_THE_IMPLEMENTING_AGENCY", "{err:?}");

    // The agreement's agency acting in Guangxi itself is in scope.
    let in_guangxi = acting_in(AGENCY, &[Role::ImplementingAgency], GUANGXI, suspend);
    let suspended = h
        .client
        .suspend_agreement(in_guangxi)
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap();
    assert_eq!(suspended.state, AgreementState::Suspended as i32);
}

// THREATS H2, the named case: a Henan agency's CRITICAL (major) incident against a Yunnan operator is refused,
// so the operator stays eligible and a Yunnan agency's agreement with it is created.
#[tokio::test]
async fn a_henan_agency_cannot_make_a_yunnan_operator_ineligible() {
    let mut h = world().await;
    h.province("henan", "henan").await;
    let incident = RecordSecurityIncidentRequest {
        organization: OPERATOR.into(),
        incident: Some(SecurityIncident {
            occur_date: Some(Date {
                year: 2025,
                month: 3,
                day: 5,
            }),
            severity: IncidentSeverity::Major as i32,
            description: "数据泄露".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let henan = acting_in(
        "organizations/hn-agency",
        &[Role::ImplementingAgency],
        HENAN,
        incident,
    );
    let err = h.client.record_security_incident(henan).await.unwrap_err();
    assert_outside_jurisdiction(&err, "RecordSecurityIncident");

    let request = CreateAgreementRequest {
        agreement: Some(draft("yunnan", months_from_today(36))),
        request_id: String::new(),
    };
    let yunnan = acting_in(
        AGENCY,
        &[Role::ImplementingAgency],
        "jurisdictions/yunnan",
        request,
    );
    let created = h.client.create_agreement(yunnan).await.unwrap().into_inner();
    assert_eq!(created.agreement.unwrap().operator, OPERATOR);
}
