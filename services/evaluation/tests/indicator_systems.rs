//! Indicator systems (§3.2): drafts, publication rules, grading schemes per profile (R-EV-07), supersession.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::systems::{dec, dimension, four_level, indicator, operator_system, pass_fail, pass_fail_rectify};
use pdop_kit::auth::Role;
use pdop_proto::evaluation::v1 as pb;
use pdop_proto::evaluation::v1::{
    EvaluationSubjectKind as Kind, IndicatorSystem, IndicatorSystemState as State, ScoringMethod as Method,
};
use pdop_testkit::{acting, assert_invalid, reason};
use prost_types::FieldMask;
use tonic::Code;

async fn create(
    h: &mut common::Harness,
    req: tonic::Request<pb::CreateIndicatorSystemRequest>,
) -> IndicatorSystem {
    let created = h.client.create_indicator_system(req).await.unwrap().into_inner();
    created.indicator_system.unwrap()
}

fn create_req(s: IndicatorSystem) -> pb::CreateIndicatorSystemRequest {
    pb::CreateIndicatorSystemRequest {
        indicator_system: Some(s),
        ..Default::default()
    }
}

fn publish_req(s: &IndicatorSystem) -> pb::PublishIndicatorSystemRequest {
    pb::PublishIndicatorSystemRequest {
        name: s.name.clone(),
        ..Default::default()
    }
}

fn replace_dimensions(
    s: &IndicatorSystem,
    dims: Vec<pdop_proto::evaluation::v1::Dimension>,
) -> pb::UpdateIndicatorSystemRequest {
    pb::UpdateIndicatorSystemRequest {
        indicator_system: Some(IndicatorSystem {
            name: s.name.clone(),
            dimensions: dims,
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["dimensions".into()],
        }),
        etag: String::new(),
    }
}

#[tokio::test]
async fn yunnan_publishes_only_whole_weights_and_its_three_grades() {
    let mut h = common::start().await;
    let w = h.world("yunnan").await;
    // S-YN Art.26: operators are evaluated by the implementing agency.
    let mut draft = operator_system(&w, pass_fail_rectify());
    draft.dimensions[1].weight = dec("0.4");
    let s = create(&mut h, w.as_ia(create_req(draft))).await;
    assert_eq!(State::try_from(s.state).unwrap(), State::Draft);
    assert_eq!(s.owner, w.ia());
    assert_eq!(s.profile_id, "yunnan");

    // §3.2: dimension weights 0.5 + 0.4 do not sum to exactly 1.
    let err = h
        .client
        .publish_indicator_system(w.as_ia(publish_req(&s)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "WEIGHTS")
    );
    assert!(err.message().contains("0.9"), "{}", err.message());

    let fixed = operator_system(&w, pass_fail_rectify()).dimensions;
    h.client
        .update_indicator_system(w.as_ia(replace_dimensions(&s, fixed)))
        .await
        .unwrap();
    let published = h
        .client
        .publish_indicator_system(w.as_ia(publish_req(&s)))
        .await
        .unwrap()
        .into_inner();
    let published = published.indicator_system.unwrap();
    assert_eq!(State::try_from(published.state).unwrap(), State::Published);
    assert!(published.publish_time.is_some());
    let event: pdop_proto::evaluation::events::v1::IndicatorSystemPublished = h
        .event("pdop.evaluation.indicator_system.published", &s.name)
        .await;
    assert_eq!(event.dimension_keys, ["quality", "compliance"]);
    assert_eq!(event.jurisdiction.unwrap().name, w.jurisdiction());

    // Immutable once published.
    let again = operator_system(&w, pass_fail_rectify()).dimensions;
    let err = h
        .client
        .update_indicator_system(w.as_ia(replace_dimensions(&s, again)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "WRONG_STATE")
    );

    // R-EV-07: Yunnan grades 通过 / 未通过 / 限期整改 (S-YN Art.26); four levels or pass/fail do not match.
    for scheme in [four_level(), pass_fail()] {
        let s = create(&mut h, w.as_ia(create_req(operator_system(&w, scheme)))).await;
        let err = h
            .client
            .publish_indicator_system(w.as_ia(publish_req(&s)))
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (Code::FailedPrecondition, "GRADING_SCHEME")
        );
        assert!(
            err.message().contains("yunnan") && err.message().contains("S-YN Art.26"),
            "{}",
            err.message()
        );
    }
}

#[tokio::test]
async fn henan_grades_pass_fail_and_refuses_four_levels() {
    let mut h = common::start().await;
    let w = h.world("henan").await;
    // S-HN Art.22: operators are evaluated by the data authority; grades pass/fail (inferred, DOMAIN §5).
    let s = create(&mut h, w.as_da(create_req(operator_system(&w, four_level())))).await;
    let err = h
        .client
        .publish_indicator_system(w.as_da(publish_req(&s)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "GRADING_SCHEME");
    assert!(err.message().contains("inferred"), "{}", err.message());
    let s = create(&mut h, w.as_da(create_req(operator_system(&w, pass_fail())))).await;
    h.client
        .publish_indicator_system(w.as_da(publish_req(&s)))
        .await
        .unwrap();
}

#[tokio::test]
async fn hubei_provider_systems_need_the_three_dimensions_of_the_seed() {
    let mut h = common::start().await;
    let w = h.world("hubei").await;
    // S-HB §四(七)2: 数据质量, 审核时效, 应用情况 (weights 0.4 / 0.3 / 0.3 inferred).
    let dims = |keys: &[(&str, &str)]| {
        keys.iter()
            .map(|(k, wt)| dimension(k, k, wt, vec![indicator(&format!("{k}_i"), "1", Method::Manual)]))
            .collect::<Vec<_>>()
    };
    let system = IndicatorSystem {
        display_name: "湖北 2026 数据提供单位".into(),
        jurisdiction: w.jurisdiction(),
        subject_kind: Kind::DataProvider as i32,
        year: 2026,
        dimensions: dims(&[("data_quality", "0.5"), ("review_timeliness", "0.5")]),
        grading: Some(pass_fail()),
        ..Default::default()
    };
    let s = create(&mut h, w.as_da(create_req(system))).await;
    let err = h
        .client
        .publish_indicator_system(w.as_da(publish_req(&s)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "DIMENSION_MISSING")
    );
    assert!(
        err.message().contains("application") && err.message().contains("应用情况"),
        "{}",
        err.message()
    );
    let all = dims(&[
        ("data_quality", "0.4"),
        ("review_timeliness", "0.3"),
        ("application", "0.3"),
    ]);
    h.client
        .update_indicator_system(w.as_da(replace_dimensions(&s, all)))
        .await
        .unwrap();
    h.client
        .publish_indicator_system(w.as_da(publish_req(&s)))
        .await
        .unwrap();
}

#[tokio::test]
async fn bands_must_be_contiguous_and_thresholds_decrease_to_zero() {
    let mut h = common::start().await;
    let w = h.world("henan").await;
    let mut gap = operator_system(&w, pass_fail());
    gap.dimensions[1].indicators[0].bands[1].lower = dec("6");
    let s = create(&mut h, w.as_da(create_req(gap))).await;
    let err = h
        .client
        .publish_indicator_system(w.as_da(publish_req(&s)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "SCALE")
    );
    assert!(err.message().contains("products_listed"), "{}", err.message());

    let mut grading = pass_fail();
    grading.thresholds[1].min_score = dec("10");
    let s = create(&mut h, w.as_da(create_req(operator_system(&w, grading)))).await;
    let err = h
        .client
        .publish_indicator_system(w.as_da(publish_req(&s)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "SCALE");
}

#[tokio::test]
async fn drafts_are_checked_for_shape_naming_every_bad_field() {
    let mut h = common::start().await;
    let w = h.world("henan").await;
    let mut bad = operator_system(&w, pass_fail());
    bad.dimensions[0].weight = dec("0.5.0");
    bad.dimensions[1].indicators[1].key = "outcomes".into();
    bad.dimensions[0].indicators[0].max_score = dec("0");
    bad.year = 1999;
    let err = h
        .client
        .create_indicator_system(w.as_da(create_req(bad)))
        .await
        .unwrap_err();
    // R-EV-03: a malformed decimal is INVALID_ARGUMENT naming the field.
    assert_invalid(
        &err,
        &[
            "indicator_system.year",
            "indicator_system.dimensions[0].weight.value",
            "indicator_system.dimensions[0].indicators[0].max_score",
            "indicator_system.dimensions[1].indicators[1].key",
        ],
    );
}

#[tokio::test]
async fn only_the_profile_evaluator_creates_and_only_the_owner_changes() {
    let mut h = common::start().await;
    let w = h.world("yunnan").await;
    // S-YN Art.26: not the data authority for operators.
    let err = h
        .client
        .create_indicator_system(w.as_da(create_req(operator_system(&w, pass_fail_rectify()))))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "SUBJECT_KIND_NOT_EVALUATED")
    );
    // The policy: an evaluator token creates no system.
    let err = h
        .client
        .create_indicator_system(acting(
            &w.third(),
            &[Role::Evaluator],
            create_req(operator_system(&w, pass_fail_rectify())),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // S-ZZ Art.27: Zhengzhou evaluates operators only.
    let z = h.world("zhengzhou").await;
    let mut dev = operator_system(&z, pass_fail());
    dev.subject_kind = Kind::Developer as i32;
    let err = h
        .client
        .create_indicator_system(z.as_da(create_req(dev)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "SUBJECT_KIND_NOT_EVALUATED")
    );
    assert!(err.message().contains("zhengzhou"), "{}", err.message());

    let s = create(
        &mut h,
        w.as_ia(create_req(operator_system(&w, pass_fail_rectify()))),
    )
    .await;
    // Another implementing agency's draft is neither readable nor editable.
    let other = acting(
        "organizations/other-ia",
        &[Role::ImplementingAgency],
        publish_req(&s),
    );
    let err = h.client.publish_indicator_system(other).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let get = pb::GetIndicatorSystemRequest { name: s.name.clone() };
    let err = h
        .client
        .get_indicator_system(w.as_operator(get.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let stale = pb::PublishIndicatorSystemRequest {
        etag: "\"99\"".into(),
        ..publish_req(&s)
    };
    let err = h
        .client
        .publish_indicator_system(w.as_ia(stale))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    h.client
        .publish_indicator_system(w.as_ia(publish_req(&s)))
        .await
        .unwrap();
    // Published: any authenticated caller reads it.
    h.client.get_indicator_system(w.as_operator(get)).await.unwrap();
}

#[tokio::test]
async fn a_new_version_supersedes_and_retires_the_published_one() {
    let mut h = common::start().await;
    let w = h.world("henan").await;
    let v1 = create(&mut h, w.as_da(create_req(operator_system(&w, pass_fail())))).await;
    h.client
        .publish_indicator_system(w.as_da(publish_req(&v1)))
        .await
        .unwrap();
    let v2 = IndicatorSystem {
        supersedes: v1.name.clone(),
        ..operator_system(&w, pass_fail())
    };
    let v2 = create(&mut h, w.as_da(create_req(v2))).await;
    h.client
        .publish_indicator_system(w.as_da(publish_req(&v2)))
        .await
        .unwrap();
    let get = pb::GetIndicatorSystemRequest {
        name: v1.name.clone(),
    };
    let old = h
        .client
        .get_indicator_system(w.as_da(get))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        State::try_from(old.indicator_system.unwrap().state).unwrap(),
        State::Retired
    );
    assert_eq!(
        h.events("pdop.evaluation.indicator_system.retired", &v1.name)
            .await,
        1
    );
    // A retired system is retired once.
    let retire = pb::RetireIndicatorSystemRequest {
        name: v1.name.clone(),
        reason: "again".into(),
        ..Default::default()
    };
    let err = h
        .client
        .retire_indicator_system(w.as_da(retire))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "WRONG_STATE");
    let list = pb::ListIndicatorSystemsRequest {
        jurisdiction: w.jurisdiction(),
        state: State::Published as i32,
        ..Default::default()
    };
    let listed = h
        .client
        .list_indicator_systems(w.as_operator(list))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = listed.indicator_systems.iter().map(|s| s.name.clone()).collect();
    assert_eq!(names, [v2.name]);
}
