//! Developer agreements (开发利用协议) and the blacklist over gRPC: admission learned from the review service,
//! the eleven required contents, the profile term cap, platform access closed on termination, and graded
//! measures that suspend, end and bar.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::Months;
use common::agreements::*;
use common::developers::*;
use common::review::*;
use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::DateRange;
use pdop_proto::registry::events::v1::DeveloperAgreementEnded;
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::{Code, Status};

async fn developer_agreement(h: &mut Harness, name: &str) -> DeveloperAgreement {
    let request = authority(GetDeveloperAgreementRequest { name: name.into() });
    h.client
        .get_developer_agreement(request)
        .await
        .unwrap()
        .into_inner()
        .developer_agreement
        .unwrap()
}

async fn blacklist(
    h: &mut Harness,
    by: (&str, Role),
    organization: &str,
    action: BlacklistAction,
    period: Option<DateRange>,
) -> Result<BlacklistEntry, Status> {
    let request = CreateBlacklistEntryRequest {
        blacklist_entry: Some(BlacklistEntry {
            organization: organization.into(),
            jurisdiction: "jurisdictions/guangxi".into(),
            action: action as i32,
            reason: "超范围使用数据".into(),
            period,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    Ok(h.client
        .create_blacklist_entry(acting(by.0, &[by.1], request))
        .await?
        .into_inner()
        .blacklist_entry
        .unwrap())
}

#[tokio::test]
async fn a_developer_agreement_needs_admission_and_every_content_item_and_closes_access_when_ended() {
    let (mut h, _nats, agreement, listed) = developer_world().await;
    // S-YN Art.13: the developer must have been admitted (the review service's DeveloperAdmitted).
    let unadmitted = DeveloperAgreement {
        developer_admission: "developerAdmissions/unknown".into(),
        ..developer_draft(&agreement.name, &listed.name, months_from_today(12))
    };
    let err = create_developer_agreement(&mut h, unadmitted).await.unwrap_err();
    assert_eq!(reason(&err), "NOT_ADMITTED");

    let created = create_developer_agreement(
        &mut h,
        developer_draft(&agreement.name, &listed.name, months_from_today(60)),
    )
    .await
    .unwrap();
    // DOMAIN §4.8 (S-YN Art.13): eleven required contents.
    assert_eq!(created.content_items.len(), 11);
    assert_eq!(created.jurisdiction, "jurisdictions/guangxi");
    let sign = SignDeveloperAgreementRequest {
        name: created.name.clone(),
        ..Default::default()
    };
    let err = h
        .client
        .sign_developer_agreement(operator(OPERATOR, sign))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "CHECKLIST_INCOMPLETE");
    assert!(err.message().contains("CreditCommitment"), "{}", err.message());

    let active = signed(&mut h, &created).await;
    assert_eq!(active.state, DeveloperAgreementState::Active as i32);
    assert_eq!(
        h.events("pdop.registry.developer_agreement.signed").await.len(),
        1
    );
    // The developer reads its own agreement; a rival operator does not.
    let get = |name: &str| GetDeveloperAgreementRequest { name: name.into() };
    assert!(
        h.client
            .get_developer_agreement(acting(DEVELOPER, &[Role::Developer], get(&created.name)))
            .await
            .is_ok()
    );
    let err = h
        .client
        .get_developer_agreement(operator(RIVAL, get(&created.name)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // S-YN Art.21: ending an agreement closes platform access at once.
    let terminate = TerminateDeveloperAgreementRequest {
        name: created.name.clone(),
        reason: "开发主体申请退出".into(),
        etag: String::new(),
    };
    let ended = h
        .client
        .terminate_developer_agreement(operator(OPERATOR, terminate))
        .await
        .unwrap()
        .into_inner()
        .developer_agreement
        .unwrap();
    assert_eq!(ended.state, DeveloperAgreementState::Terminated as i32);
    assert!(ended.access_close_time.is_some());
    let events = h.events("pdop.registry.developer_agreement.ended").await;
    assert_eq!(events.len(), 1);
    assert!(
        DeveloperAgreementEnded::decode(events[0].as_slice())
            .unwrap()
            .access_close_time
            .is_some()
    );
}

#[tokio::test]
async fn yunnan_caps_a_developer_agreement_at_three_years() {
    // D22 (S-YN Art.13): 协议期限原则上不超过3年; the national profile sets no cap (the test above signs 5 years).
    let (mut h, _nats, _agreement, listed) = developer_world().await;
    let yunnan = running(&mut h, draft("yunnan", months_from_today(48))).await;
    admit(&mut h, "developerAdmissions/adm-yn", DEVELOPER, &yunnan.name).await;
    let d = DeveloperAgreement {
        developer_admission: "developerAdmissions/adm-yn".into(),
        ..developer_draft(&yunnan.name, &listed.name, months_from_today(48))
    };
    let err = create_developer_agreement(&mut h, d).await.unwrap_err();
    assert_invalid(&err, &["developer_agreement.term"]);
    assert!(err.message().contains("S-YN Art.13"), "{}", err.message());
}

#[tokio::test]
async fn blacklist_measures_suspend_end_and_bar() {
    let (mut h, _nats, agreement, listed) = developer_world().await;
    let created = create_developer_agreement(
        &mut h,
        developer_draft(&agreement.name, &listed.name, months_from_today(12)),
    )
    .await
    .unwrap();
    let running_dev = signed(&mut h, &created).await;

    // An operator imposes measures only on its own developers.
    let err = blacklist(
        &mut h,
        (OPERATOR, Role::Operator),
        RIVAL,
        BlacklistAction::Warn,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "NOT_YOUR_DEVELOPER");
    // A warning (提醒约谈) changes no rights.
    blacklist(
        &mut h,
        (OPERATOR, Role::Operator),
        DEVELOPER,
        BlacklistAction::Warn,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        developer_agreement(&mut h, &running_dev.name).await.state,
        DeveloperAgreementState::Active as i32
    );

    // 暂停资格 (S-YN Art.21): the developer's agreements are suspended and it cannot contract meanwhile.
    let suspension = blacklist(
        &mut h,
        (OPERATOR, Role::Operator),
        DEVELOPER,
        BlacklistAction::Suspend,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        developer_agreement(&mut h, &running_dev.name).await.state,
        DeveloperAgreementState::Suspended as i32
    );
    let err = create_developer_agreement(
        &mut h,
        developer_draft(&agreement.name, &listed.name, months_from_today(12)),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&err), "DEVELOPER_EXCLUDED");
    // Lifting it resumes the agreement.
    let lift = LiftBlacklistEntryRequest {
        name: suspension.name.clone(),
        reason: "整改完成".into(),
        etag: String::new(),
    };
    let err = h
        .client
        .lift_blacklist_entry(operator(RIVAL, lift.clone()))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_THE_IMPOSER");
    h.client
        .lift_blacklist_entry(operator(OPERATOR, lift))
        .await
        .unwrap();
    assert_eq!(
        developer_agreement(&mut h, &running_dev.name).await.state,
        DeveloperAgreementState::Active as i32
    );

    // 取消资格: the agreement ends and platform access closes.
    blacklist(
        &mut h,
        (OPERATOR, Role::Operator),
        DEVELOPER,
        BlacklistAction::Disqualify,
        None,
    )
    .await
    .unwrap();
    let ended = developer_agreement(&mut h, &running_dev.name).await;
    assert_eq!(ended.state, DeveloperAgreementState::Terminated as i32);
    assert!(ended.access_close_time.is_some());
    assert_eq!(h.events("pdop.registry.blacklist_entry.added").await.len(), 3);
    assert_eq!(h.events("pdop.registry.blacklist_entry.lifted").await.len(), 1);

    // A measure against the operator suspends its agreements in that jurisdiction and bars new ones.
    blacklist(
        &mut h,
        (AGENCY, Role::ImplementingAgency),
        OPERATOR,
        BlacklistAction::Suspend,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        get(&mut h, &agreement.name).await.state,
        AgreementState::Suspended as i32
    );
    assert_eq!(h.events("pdop.registry.agreement.suspended").await.len(), 1);
    let request = CreateAgreementRequest {
        agreement: Some(draft("guangxi", months_from_today(12))),
        request_id: String::new(),
    };
    let err = h.client.create_agreement(agency(request)).await.unwrap_err();
    assert_eq!(reason(&err), "OPERATOR_INELIGIBLE");

    // Bad input names the fields.
    let err = h
        .client
        .create_blacklist_entry(authority(CreateBlacklistEntryRequest {
            blacklist_entry: Some(BlacklistEntry {
                organization: "dev-co".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap_err();
    assert_invalid(
        &err,
        &[
            "blacklist_entry.organization",
            "blacklist_entry.jurisdiction",
            "blacklist_entry.action",
            "blacklist_entry.reason",
        ],
    );
}

#[tokio::test]
async fn a_measure_whose_period_ended_expires_and_the_developer_resumes() {
    let (mut h, _nats, agreement, listed) =
        developer_world_with(&[("registry.scheduler_interval", "100ms".to_owned())]).await;
    let created = create_developer_agreement(
        &mut h,
        developer_draft(&agreement.name, &listed.name, months_from_today(12)),
    )
    .await
    .unwrap();
    let running_dev = signed(&mut h, &created).await;
    // A suspension that ran until yesterday: it acts, then the scheduler ends it and the developer resumes.
    let start = today().checked_sub_months(Months::new(1)).unwrap();
    let period = term(start, today().pred_opt().unwrap());
    let entry = blacklist(
        &mut h,
        (OPERATOR, Role::Operator),
        DEVELOPER,
        BlacklistAction::Suspend,
        period,
    )
    .await
    .unwrap();
    let client = h.client.clone();
    pdop_testkit::wait_until("the measure expires", Duration::from_secs(20), || {
        let mut client = client.clone();
        let name = entry.name.clone();
        async move {
            let request = authority(GetBlacklistEntryRequest { name });
            client
                .get_blacklist_entry(request)
                .await
                .unwrap()
                .into_inner()
                .blacklist_entry
                .unwrap()
                .state
                == BlacklistEntryState::Expired as i32
        }
    })
    .await
    .unwrap();
    assert_eq!(
        developer_agreement(&mut h, &running_dev.name).await.state,
        DeveloperAgreementState::Active as i32
    );
    // It was suspended when the measure was recorded and resumed when it expired.
    assert_eq!(h.audit_rows("registry.BlacklistMeasure").await, 2);
}

#[tokio::test]
async fn zhengzhou_names_no_admission_and_admitting_profiles_require_one() {
    // RG-7, S-ZZ Art.18, 22: Zhengzhou's operators organise their developers; there is no admission to name.
    let nats = pdop_testkit::PrivateNats::start().await.unwrap();
    let mut h = Harness::start_on(Some(nats.url()), &[]).await;
    populate(&mut h).await;
    h.province("zhengzhou", "zhengzhou").await;
    organization(
        &mut h,
        "dev-co",
        &credit_code(10),
        "jurisdictions/zhengzhou",
        &[pdop_proto::common::OrganizationRole::Developer],
    )
    .await;
    let agreement = running(&mut h, draft("zhengzhou", months_from_today(36))).await;
    let listed = listed_product(&mut h, &agreement.name).await;
    let named = developer_draft(&agreement.name, &listed.name, months_from_today(12));
    let err = create_developer_agreement(&mut h, named.clone())
        .await
        .unwrap_err();
    assert_invalid(&err, &["developer_agreement.developer_admission"]);
    assert!(
        err.message().contains("zhengzhou") || format!("{err:?}").contains("zhengzhou"),
        "{err:?}"
    );
    let unnamed = DeveloperAgreement {
        developer_admission: String::new(),
        ..named
    };
    let created = create_developer_agreement(&mut h, unnamed).await.unwrap();
    assert!(created.developer_admission.is_empty());

    // The national profile admits developers: an agreement naming none is refused.
    let (mut h, _nats, agreement, listed) = developer_world().await;
    let unnamed = DeveloperAgreement {
        developer_admission: String::new(),
        ..developer_draft(&agreement.name, &listed.name, months_from_today(12))
    };
    let err = create_developer_agreement(&mut h, unnamed).await.unwrap_err();
    assert_invalid(&err, &["developer_agreement.developer_admission"]);
}
