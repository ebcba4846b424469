//! Jurisdictions over gRPC: the tree, profile binding (DOMAIN §6), refusals, events and audit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::JurisdictionLevel::{City, County, National, Province};
use pdop_proto::registry::events::v1::{JurisdictionCreated, JurisdictionUpdated};
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::Code;

#[tokio::test]
async fn builds_the_tree_and_lists_children_in_pages() {
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    for (id, name) in [("kunming", "昆明市"), ("dali", "大理州"), ("qujing", "曲靖市")] {
        h.create_jurisdiction(id, name, City, "jurisdictions/yunnan", "yunnan")
            .await
            .unwrap();
    }
    let county = h
        .create_jurisdiction("wuhua", "五华区", County, "jurisdictions/kunming", "yunnan")
        .await
        .unwrap();
    assert_eq!(county.parent, "jurisdictions/kunming");
    assert_eq!(county.level, County as i32);

    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let request = ListJurisdictionsRequest {
            page_size: 2,
            page_token: token.clone(),
            parent: "jurisdictions/yunnan".into(),
            ..Default::default()
        };
        let page = h
            .client
            .list_jurisdictions(as_role(request, &[Role::Operator]))
            .await
            .unwrap()
            .into_inner();
        assert!(page.jurisdictions.len() <= 2);
        names.extend(page.jurisdictions.into_iter().map(|j| j.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        names,
        [
            "jurisdictions/dali",
            "jurisdictions/kunming",
            "jurisdictions/qujing"
        ]
    );
}

#[tokio::test]
async fn each_jurisdiction_is_bound_to_a_known_profile() {
    // DOMAIN §6: the rules differ per jurisdiction; a jurisdiction must name one of the profiles.
    let mut h = Harness::start().await;
    let err = h
        .create_jurisdiction("china", "中国", National, "", "atlantis")
        .await
        .unwrap_err();
    assert_invalid(&err, &["jurisdiction.profile_id"]);
    assert!(err.message().contains("atlantis"));
    for profile in ["national", "henan", "hubei", "yunnan", "laiyuan", "zhengzhou"] {
        let j = h
            .create_jurisdiction(&format!("p-{profile}"), profile, Province, "", profile)
            .await
            .unwrap();
        assert_eq!(j.profile_id, profile);
    }
}

#[tokio::test]
async fn bad_input_names_every_offending_field() {
    let mut h = Harness::start().await;
    let request = CreateJurisdictionRequest {
        jurisdiction: Some(Jurisdiction {
            display_name: " ".into(),
            level: 0,
            profile_id: "national".into(),
            division_code: "53".into(),
            ..Default::default()
        }),
        jurisdiction_id: "Bad_Id".into(),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_jurisdiction(authority(request))
        .await
        .unwrap_err();
    assert_invalid(
        &err,
        &[
            "jurisdiction_id",
            "jurisdiction.display_name",
            "jurisdiction.division_code",
            "jurisdiction.level",
        ],
    );

    let err = h
        .create_jurisdiction("kunming", "昆明市", City, "", "yunnan")
        .await
        .unwrap_err();
    assert_invalid(&err, &["jurisdiction.parent"]);
}

#[tokio::test]
async fn a_child_sits_exactly_one_level_below_an_existing_parent() {
    let mut h = Harness::start().await;
    h.province("yunnan", "yunnan").await;
    let err = h
        .create_jurisdiction("wuhua", "五华区", County, "jurisdictions/yunnan", "yunnan")
        .await
        .unwrap_err();
    assert_invalid(&err, &["jurisdiction.parent"]);
    let err = h
        .create_jurisdiction("dali", "大理州", City, "jurisdictions/nowhere", "yunnan")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(reason(&err), "PARENT_NOT_FOUND");
    let err = h
        .create_jurisdiction("yunnan", "云南省", Province, "jurisdictions/china", "yunnan")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn only_data_authorities_create_and_anyone_signed_in_reads() {
    let mut h = Harness::start().await;
    let request = CreateJurisdictionRequest {
        jurisdiction: Some(Jurisdiction {
            display_name: "中国".into(),
            level: National as i32,
            profile_id: "national".into(),
            ..Default::default()
        }),
        jurisdiction_id: "china".into(),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_jurisdiction(as_role(request, &[Role::Operator]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = h.get_jurisdiction("jurisdictions/china").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = h.get_jurisdiction("china").await.unwrap_err();
    assert_invalid(&err, &["name"]);
}

#[tokio::test]
async fn a_retried_create_returns_the_first_result_and_emits_one_event() {
    // AIP-155: the same request_id from the same caller is answered from the first response.
    let mut h = Harness::start().await;
    let request = CreateJurisdictionRequest {
        jurisdiction: Some(Jurisdiction {
            display_name: "中国".into(),
            level: National as i32,
            profile_id: "national".into(),
            ..Default::default()
        }),
        jurisdiction_id: "china".into(),
        request_id: "6b3a4c1e-0000-4000-8000-000000000001".into(),
    };
    let first = h
        .client
        .create_jurisdiction(authority(request.clone()))
        .await
        .unwrap()
        .into_inner();
    let second = h
        .client
        .create_jurisdiction(authority(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, second);

    let events = h.events("pdop.registry.jurisdiction.created").await;
    assert_eq!(events.len(), 1, "one state change, one event");
    let event = JurisdictionCreated::decode(events[0].as_slice()).unwrap();
    assert_eq!(event.jurisdiction.unwrap().name, "jurisdictions/china");
    assert_eq!(event.actor.unwrap().organization, "organizations/authority");
    assert_eq!(h.audit_rows("registry.CreateJurisdiction").await, 1);
}

#[tokio::test]
async fn rebinding_a_profile_checks_the_etag_and_announces_the_previous_profile() {
    let mut h = Harness::start().await;
    let henan = h.province("henan", "national").await;
    let update = |etag: &str| UpdateJurisdictionRequest {
        jurisdiction: Some(Jurisdiction {
            name: "jurisdictions/henan".into(),
            profile_id: "henan".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["profile_id".into()],
        }),
        etag: etag.into(),
    };
    let updated = h
        .client
        .update_jurisdiction(authority(update(&henan.etag)))
        .await
        .unwrap()
        .into_inner();
    let updated = updated.jurisdiction.unwrap();
    assert_eq!(updated.profile_id, "henan");
    assert_ne!(updated.etag, henan.etag);

    let err = h
        .client
        .update_jurisdiction(authority(update(&henan.etag)))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::Aborted,
        "a stale etag must not overwrite a newer change"
    );

    let events = h.events("pdop.registry.jurisdiction.updated").await;
    assert_eq!(events.len(), 1);
    let event = JurisdictionUpdated::decode(events[0].as_slice()).unwrap();
    assert_eq!(event.previous_profile_id, "national");
    assert_eq!(event.jurisdiction.unwrap().profile_id, "henan");

    let bad = UpdateJurisdictionRequest {
        jurisdiction: Some(Jurisdiction {
            name: "jurisdictions/henan".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["level".into()],
        }),
        etag: String::new(),
    };
    let err = h.client.update_jurisdiction(authority(bad)).await.unwrap_err();
    assert_invalid(&err, &["update_mask"]);
}
