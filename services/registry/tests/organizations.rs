//! Organizations over gRPC: credit codes (GB 32100-2015), roles, incidents (DOMAIN §4.3), events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{Date, OrganizationRole};
use pdop_proto::registry::events::v1::{OrganizationCreated, SecurityIncidentRecorded};
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::Code;

fn operator(name: &str, code: &str) -> Organization {
    Organization {
        display_name: name.into(),
        unified_social_credit_code: code.into(),
        roles: vec![OrganizationRole::Operator as i32],
        jurisdiction: "jurisdictions/yunnan".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn creates_an_organization_with_a_valid_credit_code_and_announces_it() {
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    let org = h
        .create_organization(
            operator("云南数据运营有限公司", &CODES[0].to_lowercase()),
            "yn-operator",
        )
        .await
        .unwrap();
    assert_eq!(org.name, "organizations/yn-operator");
    assert_eq!(
        org.unified_social_credit_code, CODES[0],
        "stored in the canonical upper-case form"
    );
    assert_eq!(
        org.credit_status,
        CreditStatus::Good as i32,
        "unset credit status is recorded as good"
    );

    let events = h.events("pdop.registry.organization.created").await;
    assert_eq!(events.len(), 1);
    let event = OrganizationCreated::decode(events[0].as_slice()).unwrap();
    assert_eq!(event.organization.unwrap().unified_social_credit_code, CODES[0]);
    assert_eq!(event.jurisdiction.unwrap().profile_id, "yunnan");
    assert_eq!(h.audit_rows("registry.CreateOrganization").await, 1);

    let server_named = h
        .create_organization(operator("另一家", CODES[1]), "")
        .await
        .unwrap();
    assert!(
        server_named.name.starts_with("organizations/"),
        "{}",
        server_named.name
    );
}

#[tokio::test]
async fn a_wrong_check_digit_is_refused_naming_the_field() {
    // GB 32100-2015: the 18th character is a check digit over the first 17.
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    let mut wrong = CODES[0].to_owned();
    wrong.replace_range(17..18, "1");
    let err = h
        .create_organization(operator("x", &wrong), "")
        .await
        .unwrap_err();
    assert_invalid(&err, &["organization.unified_social_credit_code"]);
    assert!(err.message().contains("unified_social_credit_code"));

    let err = h
        .create_organization(
            Organization {
                roles: vec![0],
                ..operator(" ", "123")
            },
            "Bad Id",
        )
        .await
        .unwrap_err();
    assert_invalid(
        &err,
        &[
            "organization_id",
            "organization.display_name",
            "organization.unified_social_credit_code",
            "organization.roles[0]",
        ],
    );
}

#[tokio::test]
async fn a_credit_code_is_registered_once_and_the_jurisdiction_must_exist() {
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    h.create_organization(operator("甲", CODES[2]), "first")
        .await
        .unwrap();
    let err = h
        .create_organization(operator("乙", CODES[2]), "second")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert!(err.message().contains("organizations/first"), "{}", err.message());

    let err = h
        .create_organization(
            Organization {
                jurisdiction: "jurisdictions/atlantis".into(),
                ..operator("丙", CODES[3])
            },
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn lists_filter_by_role_and_text_and_page_by_name() {
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    h.create_organization(operator("B 运营公司", CODES[0]), "op-b")
        .await
        .unwrap();
    h.create_organization(operator("A 运营公司", CODES[1]), "op-a")
        .await
        .unwrap();
    let provider = Organization {
        roles: vec![OrganizationRole::DataProvider as i32],
        ..operator("C 统计局", CODES[2])
    };
    h.create_organization(provider, "provider-c").await.unwrap();

    let list = |role: OrganizationRole, query: &str, token: &str| ListOrganizationsRequest {
        page_size: 1,
        page_token: token.into(),
        role: role as i32,
        query: query.into(),
        ..Default::default()
    };
    let first = h
        .client
        .list_organizations(as_role(
            list(OrganizationRole::Operator, "", ""),
            &[Role::Developer],
        ))
        .await;
    let first = first.unwrap().into_inner();
    assert_eq!(first.organizations[0].name, "organizations/op-a");
    let second = h
        .client
        .list_organizations(as_role(
            list(OrganizationRole::Operator, "", &first.next_page_token),
            &[Role::Developer],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.organizations[0].name, "organizations/op-b");
    assert!(second.next_page_token.is_empty());

    let by_text = h
        .client
        .list_organizations(authority(list(OrganizationRole::Unspecified, "统计", "")))
        .await;
    assert_eq!(
        by_text.unwrap().into_inner().organizations[0].name,
        "organizations/provider-c"
    );
    let by_code = h
        .client
        .list_organizations(authority(list(OrganizationRole::Unspecified, CODES[1], "")))
        .await;
    assert_eq!(
        by_code.unwrap().into_inner().organizations[0].name,
        "organizations/op-a"
    );

    let err = h
        .client
        .list_organizations(authority(ListOrganizationsRequest {
            page_size: -1,
            page_token: "zz".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_invalid(&err, &["page_size", "page_token"]);
}

#[tokio::test]
async fn updates_roles_but_never_the_credit_code() {
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    let org = h
        .create_organization(operator("甲", CODES[0]), "org-a")
        .await
        .unwrap();
    let request = UpdateOrganizationRequest {
        organization: Some(Organization {
            name: org.name.clone(),
            roles: vec![
                OrganizationRole::Operator as i32,
                OrganizationRole::Developer as i32,
            ],
            credit_status: CreditStatus::AdverseRecord as i32,
            ..Default::default()
        }),
        update_mask: None,
        etag: org.etag.clone(),
    };
    let updated = h
        .client
        .update_organization(authority(request))
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap();
    assert_eq!(
        updated.roles,
        [
            OrganizationRole::Operator as i32,
            OrganizationRole::Developer as i32
        ]
    );
    assert_eq!(updated.credit_status, CreditStatus::AdverseRecord as i32);
    assert_eq!(
        updated.display_name, "甲",
        "fields outside the implicit mask are kept"
    );
    assert_eq!(h.events("pdop.registry.organization.updated").await.len(), 1);

    let request = UpdateOrganizationRequest {
        organization: Some(Organization {
            name: org.name.clone(),
            unified_social_credit_code: CODES[1].into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["unified_social_credit_code".into()],
        }),
        etag: String::new(),
    };
    let err = h
        .client
        .update_organization(authority(request))
        .await
        .unwrap_err();
    assert_invalid(&err, &["update_mask"]);
}

#[tokio::test]
async fn security_incidents_are_recorded_for_eligibility_checks() {
    // DOMAIN §4.3 (Laiyuan, Hubei): operators need no security incident in the last 3 years, so the
    // registry keeps every incident and exposes the latest date.
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    let org = h
        .create_organization(operator("甲", CODES[0]), "org-a")
        .await
        .unwrap();
    let record = |day: i32| RecordSecurityIncidentRequest {
        organization: org.name.clone(),
        incident: Some(SecurityIncident {
            occur_date: Some(Date {
                year: 2025,
                month: 3,
                day,
            }),
            severity: IncidentSeverity::Serious as i32,
            description: "数据泄露".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    for day in [20, 5] {
        h.client
            .record_security_incident(authority(record(day)))
            .await
            .unwrap();
    }
    let got = h
        .client
        .get_organization(authority(GetOrganizationRequest {
            name: org.name.clone(),
        }))
        .await
        .unwrap();
    let got = got.into_inner().organization.unwrap();
    assert_eq!(
        got.last_security_incident_date,
        Some(Date {
            year: 2025,
            month: 3,
            day: 20
        })
    );
    assert_eq!(got.security_incidents.len(), 2);
    assert_eq!(
        got.security_incidents[0].occur_date,
        Some(Date {
            year: 2025,
            month: 3,
            day: 5
        }),
        "oldest first"
    );
    assert_eq!(
        got.security_incidents[1]
            .recorded
            .as_ref()
            .unwrap()
            .actor
            .as_ref()
            .unwrap()
            .organization,
        "organizations/authority"
    );

    let events = h.events("pdop.registry.organization.incident_recorded").await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        SecurityIncidentRecorded::decode(events[0].as_slice())
            .unwrap()
            .severity,
        IncidentSeverity::Serious as i32
    );

    let future = RecordSecurityIncidentRequest {
        incident: Some(SecurityIncident {
            occur_date: Some(Date {
                year: 2999,
                month: 1,
                day: 1,
            }),
            severity: 0,
            description: String::new(),
            ..Default::default()
        }),
        ..record(1)
    };
    let err = h
        .client
        .record_security_incident(authority(future))
        .await
        .unwrap_err();
    assert_invalid(
        &err,
        &["incident.occur_date", "incident.severity", "incident.description"],
    );
    let err = h
        .client
        .record_security_incident(as_role(record(1), &[Role::Operator]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn every_change_is_in_the_verifiable_audit_chain() {
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    h.create_organization(operator("甲", CODES[0]), "org-a")
        .await
        .unwrap();
    // china + yunnan + the organization.
    assert_eq!(pdop_kit::audit::verify_chain(&h.db.pool).await, Ok(3));
}
