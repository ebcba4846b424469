//! The edge every request passes before its handler, on the public port too (issue 15 item 8; THREATS H1, L10).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_proto::disclosure::v1::{CreateObjectionRequest, ListNoticesRequest, Objection};
use pdop_testkit::assert_invalid;
use tonic::Code;

#[tokio::test]
async fn a_nul_or_an_oversized_string_is_invalid_argument_naming_the_field() {
    let mut h = start().await;
    // THREATS L10: measured as INTERNAL on ListNotices before the edge check; anonymous callers reach it.
    let nul = h
        .client
        .list_notices(ListNoticesRequest {
            subject: "registrations/\0".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_invalid(&nul, &["subject"]);
    let long = h
        .client
        .create_objection(CreateObjectionRequest {
            objection: Some(Objection {
                grounds: "理由".repeat(5_001),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_invalid(&long, &["objection.grounds"]);
}

#[tokio::test]
async fn the_public_port_decodes_at_most_256_kib() {
    // THREATS H1.2: whatever grpc.max_decoding_message_size allows, the public port takes 256 KiB at most.
    let mut h = start().await;
    let status = h
        .client
        .create_objection(CreateObjectionRequest {
            objection: Some(Objection {
                grounds: "x".repeat(300 * 1024),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
}
