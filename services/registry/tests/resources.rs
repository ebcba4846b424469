//! Data resources and the catalog over gRPC: PIPL flags, 一数一源, ownership, lifecycle, history.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::{DataGrade, DocumentRef};
use pdop_proto::registry::events::v1::{ResourceCreated, ResourceUpdated};
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::Code;

#[tokio::test]
async fn a_provider_creates_a_draft_resource_and_it_is_announced_once() {
    let mut h = setup().await;
    let r = create(
        &mut h,
        STATS,
        "population",
        resource(STATS, "人口基础信息", vec![field("name", "DE0001", true)]),
    )
    .await
    .unwrap();
    assert_eq!(r.name, "resources/population");
    assert_eq!(r.state, ResourceState::Draft as i32);
    assert_eq!(r.revision_id, "1");
    assert!(
        !r.authorizable,
        "a draft, unregistered resource cannot be authorized"
    );

    let events = h.events("pdop.registry.resource.created").await;
    assert_eq!(events.len(), 1);
    let snapshot = ResourceCreated::decode(events[0].as_slice())
        .unwrap()
        .resource
        .unwrap();
    assert_eq!(snapshot.authoritative_data_item_codes, ["DE0001"]);
    assert_eq!(snapshot.provider.unwrap().name, STATS);
}

#[tokio::test]
async fn personal_information_flags_follow_pipl_article_28() {
    // PIPL Art.28 (DOMAIN §9): sensitive categories and minors under 14 are personal information.
    let mut h = setup().await;
    let sensitive = ResourceField {
        sensitive_categories: vec![SensitiveCategory::MedicalHealth as i32],
        ..field("diagnosis", "", false)
    };
    let minor = ResourceField {
        minor_under_14: true,
        ..field("pupil", "", false)
    };
    let err = create(
        &mut h,
        STATS,
        "",
        resource(STATS, "健康档案", vec![sensitive.clone(), minor]),
    )
    .await
    .unwrap_err();
    assert_invalid(
        &err,
        &["resource.fields[0].is_personal", "resource.fields[1].is_personal"],
    );

    let ok = ResourceField {
        is_personal: true,
        ..sensitive
    };
    let created = create(&mut h, STATS, "health", resource(STATS, "健康档案", vec![ok]))
        .await
        .unwrap();
    assert!(created.fields[0].is_personal);

    let list = ListResourcesRequest {
        personal_only: true,
        ..Default::default()
    };
    let found = h
        .client
        .list_resources(authority(list))
        .await
        .unwrap()
        .into_inner()
        .resources;
    assert_eq!(
        found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["resources/health"]
    );
}

#[tokio::test]
async fn bad_content_names_every_field() {
    let mut h = setup().await;
    let r = Resource {
        display_name: " ".into(),
        grade: DataGrade::Important as i32,
        general_sub_level: 2,
        obtained_through_sharing: true,
        fields: vec![field("a", "", true), field("a", "X1", false)],
        ..resource(STATS, "x", vec![])
    };
    let err = create(&mut h, STATS, "", r).await.unwrap_err();
    assert_invalid(
        &err,
        &[
            "resource.display_name",
            "resource.general_sub_level",
            "resource.sharing_consent",
            "resource.fields[0].data_item_code",
            "resource.fields[1].field_key",
        ],
    );
}

#[tokio::test]
async fn one_authoritative_source_per_data_item() {
    // 一数一源 (registry issue §3): at most one resource of a jurisdiction is the authoritative source of a data item.
    let mut h = setup().await;
    create(
        &mut h,
        STATS,
        "population",
        resource(STATS, "人口", vec![field("id_no", "DE0001", true)]),
    )
    .await
    .unwrap();

    let rival = resource(TRANSPORT, "驾驶人", vec![field("id_no", "DE0001", true)]);
    let err = create(&mut h, TRANSPORT, "drivers", rival).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "NOT_THE_AUTHORITATIVE_SOURCE");
    assert!(
        err.message().contains("resources/population"),
        "{}",
        err.message()
    );

    // Using the item without claiming to be its source is fine.
    let user = resource(TRANSPORT, "驾驶人", vec![field("id_no", "DE0001", false)]);
    create(&mut h, TRANSPORT, "drivers", user).await.unwrap();

    // Once the source retires, another resource may become the source.
    let retire = RetireResourceRequest {
        name: "resources/population".into(),
        reason: "并入新库".into(),
        etag: String::new(),
    };
    h.client.retire_resource(provider(STATS, retire)).await.unwrap();
    let claim = UpdateResourceRequest {
        resource: Some(Resource {
            name: "resources/drivers".into(),
            fields: vec![field("id_no", "DE0001", true)],
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["fields".into()],
        }),
        etag: String::new(),
    };
    h.client
        .update_resource(provider(TRANSPORT, claim))
        .await
        .unwrap();
}

#[tokio::test]
async fn providers_change_only_their_own_resources() {
    let mut h = setup().await;
    let err = create(&mut h, TRANSPORT, "", resource(STATS, "冒名", vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    create(
        &mut h,
        STATS,
        "population",
        resource(STATS, "人口", vec![field("a", "", false)]),
    )
    .await
    .unwrap();
    let update = UpdateResourceRequest {
        resource: Some(Resource {
            name: "resources/population".into(),
            display_name: "改名".into(),
            ..Default::default()
        }),
        update_mask: None,
        etag: String::new(),
    };
    let err = h
        .client
        .update_resource(provider(TRANSPORT, update.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    h.client.update_resource(authority(update)).await.unwrap();

    let op = CreateResourceRequest {
        resource: Some(resource(STATS, "x", vec![])),
        ..Default::default()
    };
    let err = h
        .client
        .create_resource(as_role(op, &[Role::Operator]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn cataloguing_needs_a_grade_and_fields_and_retired_resources_are_frozen() {
    let mut h = setup().await;
    create(&mut h, STATS, "population", resource(STATS, "人口", vec![]))
        .await
        .unwrap();
    let catalog = || CatalogResourceRequest {
        name: "resources/population".into(),
        etag: String::new(),
    };
    let err = h
        .client
        .catalog_resource(provider(STATS, catalog()))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "GRADE_REQUIRED")
    );

    let graded = UpdateResourceRequest {
        resource: Some(Resource {
            name: "resources/population".into(),
            grade: DataGrade::General as i32,
            ..Default::default()
        }),
        update_mask: None,
        etag: String::new(),
    };
    h.client.update_resource(provider(STATS, graded)).await.unwrap();
    let err = h
        .client
        .catalog_resource(provider(STATS, catalog()))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "FIELDS_REQUIRED");

    let described = UpdateResourceRequest {
        resource: Some(Resource {
            name: "resources/population".into(),
            fields: vec![field("a", "", false)],
            ..Default::default()
        }),
        update_mask: None,
        etag: String::new(),
    };
    h.client
        .update_resource(provider(STATS, described))
        .await
        .unwrap();
    let catalogued = h
        .client
        .catalog_resource(provider(STATS, catalog()))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(catalogued.state, ResourceState::Catalogued as i32);
    assert_eq!(h.events("pdop.registry.resource.catalogued").await.len(), 1);
    let err = h
        .client
        .catalog_resource(provider(STATS, catalog()))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_DRAFT");

    let no_reason = RetireResourceRequest {
        name: "resources/population".into(),
        reason: " ".into(),
        etag: String::new(),
    };
    assert_invalid(
        &h.client
            .retire_resource(provider(STATS, no_reason))
            .await
            .unwrap_err(),
        &["reason"],
    );
    let retire = RetireResourceRequest {
        name: "resources/population".into(),
        reason: "停止提供".into(),
        etag: String::new(),
    };
    let retired = h
        .client
        .retire_resource(provider(STATS, retire))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(retired.retire_reason, "停止提供");
    let rename = UpdateResourceRequest {
        resource: Some(Resource {
            name: "resources/population".into(),
            display_name: "新".into(),
            ..Default::default()
        }),
        update_mask: None,
        etag: String::new(),
    };
    let err = h
        .client
        .update_resource(provider(STATS, rename))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "RESOURCE_RETIRED")
    );
}

#[tokio::test]
async fn every_accepted_update_is_a_revision_in_the_history() {
    let mut h = setup().await;
    let created = create(&mut h, STATS, "population", resource(STATS, "人口 v1", vec![]))
        .await
        .unwrap();
    let mut etag = created.etag;
    for name in ["人口 v2", "人口 v3"] {
        let update = UpdateResourceRequest {
            resource: Some(Resource {
                name: "resources/population".into(),
                display_name: name.into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
            etag: etag.clone(),
        };
        etag = h
            .client
            .update_resource(provider(STATS, update))
            .await
            .unwrap()
            .into_inner()
            .resource
            .unwrap()
            .etag;
    }
    let stale = UpdateResourceRequest {
        resource: Some(Resource {
            name: "resources/population".into(),
            display_name: "lost".into(),
            ..Default::default()
        }),
        update_mask: None,
        etag: "\"1\"".into(),
    };
    assert_eq!(
        h.client
            .update_resource(provider(STATS, stale))
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );

    let list = ListResourceRevisionsRequest {
        parent: "resources/population".into(),
        page_size: 2,
        page_token: String::new(),
    };
    let page = h
        .client
        .list_resource_revisions(authority(list))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = page.revisions.iter().map(|r| r.revision_id.as_str()).collect();
    assert_eq!(ids, ["3", "2"], "newest first");
    assert_eq!(page.revisions[0].changed_fields, ["display_name"]);
    assert!(!page.next_page_token.is_empty());

    let first = GetResourceRevisionRequest {
        name: "resources/population/revisions/1".into(),
    };
    let first = h
        .client
        .get_resource_revision(authority(first))
        .await
        .unwrap()
        .into_inner()
        .revision
        .unwrap();
    assert_eq!(first.snapshot.unwrap().display_name, "人口 v1");
    assert_eq!(first.audit.unwrap().actor.unwrap().organization, STATS);

    let events = h.events("pdop.registry.resource.updated").await;
    assert_eq!(events.len(), 2, "one event per accepted update");
    assert_eq!(
        ResourceUpdated::decode(events[1].as_slice())
            .unwrap()
            .changed_fields,
        ["display_name"]
    );
}

#[tokio::test]
async fn data_obtained_through_sharing_needs_the_sharing_providers_consent() {
    // N2 Art.5 (DOMAIN §2.2): shared data enters authorized operation only with the sharing provider's consent.
    let mut h = setup().await;
    let without = Resource {
        obtained_through_sharing: true,
        ..resource(STATS, "共享数据", vec![])
    };
    assert_invalid(
        &create(&mut h, STATS, "", without.clone()).await.unwrap_err(),
        &["resource.sharing_consent"],
    );
    let consent = DocumentRef {
        uri: "https://docs.example/consent.pdf".into(),
        ..Default::default()
    };
    let with = Resource {
        sharing_consent: Some(consent),
        ..without
    };
    create(&mut h, STATS, "shared", with).await.unwrap();
    // The review service asks data uses of it for the same consent: the event says the data is shared.
    let events = h.events("pdop.registry.resource.created").await;
    let snapshot = pdop_proto::registry::events::v1::ResourceCreated::decode(events[0].as_slice())
        .unwrap()
        .resource
        .unwrap();
    assert!(snapshot.obtained_through_sharing);
}

#[tokio::test]
async fn the_catalog_is_searched_by_name_and_description_with_wildcards_taken_literally() {
    let mut h = setup().await;
    let r = Resource {
        description: "全省常住人口的年度统计".into(),
        ..resource(STATS, "人口统计", vec![field("a", "", false)])
    };
    create(&mut h, STATS, "population", r).await.unwrap();
    create(
        &mut h,
        STATS,
        "roads",
        resource(STATS, "道路里程", vec![field("a", "", false)]),
    )
    .await
    .unwrap();
    let search = |query: &str| ListResourcesRequest {
        query: query.into(),
        ..Default::default()
    };
    for (query, expected) in [
        ("人口", vec!["resources/population"]),
        ("年度统计", vec!["resources/population"]),
        ("%", vec![]),
    ] {
        let found = h
            .client
            .list_resources(authority(search(query)))
            .await
            .unwrap()
            .into_inner()
            .resources;
        let names: Vec<&str> = found.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, expected, "query {query:?}");
    }
}

#[tokio::test]
async fn a_provider_cannot_downgrade_a_catalogued_core_resource() {
    // THREATS M8: core data is never authorizable; once catalogued, its grade and personal-information flags change
    // only through review, so the provider cannot make it authorizable by editing it.
    let mut h = setup().await;
    let core = Resource {
        grade: DataGrade::Core as i32,
        ..resource(
            STATS,
            "人口库",
            vec![
                ResourceField {
                    is_personal: true,
                    ..field("id_number", "", false)
                },
                field("count", "", false),
            ],
        )
    };
    create(&mut h, STATS, "census", core).await.unwrap();
    let catalogued = h
        .client
        .catalog_resource(provider(
            STATS,
            CatalogResourceRequest {
                name: "resources/census".into(),
                etag: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    let update = |r: Resource| UpdateResourceRequest {
        resource: Some(Resource {
            name: "resources/census".into(),
            ..r
        }),
        update_mask: None,
        etag: String::new(),
    };
    let downgrades = [
        Resource {
            grade: DataGrade::General as i32,
            ..Default::default()
        },
        Resource {
            grade: DataGrade::Important as i32,
            ..Default::default()
        },
        // The personal flag cleared, or the personal field dropped.
        Resource {
            fields: vec![field("id_number", "", false), field("count", "", false)],
            ..Default::default()
        },
        Resource {
            fields: vec![field("count", "", false)],
            ..Default::default()
        },
    ];
    for change in downgrades {
        let err = h
            .client
            .update_resource(provider(STATS, update(change.clone())))
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (Code::FailedPrecondition, "RECLASSIFICATION_NEEDS_REVIEW"),
            "{change:?}"
        );
    }
    let get = || GetResourceRequest {
        name: "resources/census".into(),
    };
    let unchanged = h
        .client
        .get_resource(provider(STATS, get()))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(unchanged.grade, DataGrade::Core as i32);
    assert!(unchanged.fields[0].is_personal);
    assert_eq!(unchanged.revision_id, catalogued.revision_id);
    assert!(!unchanged.authorizable);

    // Edits that leave the classification alone still go through, an unflagged field added included.
    let edited = h
        .client
        .update_resource(provider(
            STATS,
            update(Resource {
                display_name: "人口基础库".into(),
                fields: vec![
                    ResourceField {
                        is_personal: true,
                        ..field("id_number", "", false)
                    },
                    field("count", "", false),
                    field("year", "", false),
                ],
                ..Default::default()
            }),
        ))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(edited.display_name, "人口基础库");
    assert_eq!(edited.grade, DataGrade::Core as i32);
}
