//! The edge every request passes before its handler (issue 15 item 8; THREATS H1.1, L10).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::JurisdictionLevel;
use pdop_proto::registry::v1::{CreateJurisdictionRequest, Jurisdiction};
use tonic::Code;

fn jurisdiction(display_name: &str) -> CreateJurisdictionRequest {
    CreateJurisdictionRequest {
        jurisdiction: Some(Jurisdiction {
            display_name: display_name.to_owned(),
            level: JurisdictionLevel::National as i32,
            profile_id: "national".to_owned(),
            ..Default::default()
        }),
        jurisdiction_id: "china".to_owned(),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn a_nul_or_an_oversized_string_is_invalid_argument_naming_the_field_and_writes_nothing() {
    let mut h = Harness::start().await;
    let da = |m| acting("organizations/da", &[Role::DataAuthority], m);
    // THREATS L10: PostgreSQL would refuse the NUL and the caller would get INTERNAL.
    let nul = h
        .client
        .create_jurisdiction(da(jurisdiction("中华\0人民共和国")))
        .await
        .unwrap_err();
    assert_invalid(&nul, &["jurisdiction.display_name"]);
    // Names hold at most 200 characters (issue 15 item 8).
    let long = h
        .client
        .create_jurisdiction(da(jurisdiction(&"国".repeat(201))))
        .await
        .unwrap_err();
    assert_invalid(&long, &["jurisdiction.display_name"]);
    assert_eq!(h.audit_rows("registry.CreateJurisdiction").await, 0);
    // The same request without the bad character goes through.
    h.client
        .create_jurisdiction(da(jurisdiction("中华人民共和国")))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_message_over_the_decoding_limit_is_refused_before_it_is_read() {
    // THREATS H1.2: a configured decoding limit (1 MiB by default).
    let mut h = Harness::start().await;
    let huge = jurisdiction(&"x".repeat(1024 * 1024 + 1));
    let status = h
        .client
        .create_jurisdiction(acting("organizations/da", &[Role::DataAuthority], huge))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
}
