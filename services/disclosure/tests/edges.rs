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

/// The status of a GET on the public HTTP port.
async fn status(h: &Harness, path: &str) -> u16 {
    reqwest::get(format!("{}{path}", h.http))
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_extreme_entry_range_is_a_bad_request() {
    // THREATS L9: `end - start` overflowed (a panic in debug builds, a reset connection for the caller).
    let h = start().await;
    agreements(&h, 0..2).await;
    h.signed(2).await;
    for range in [
        "start=-1&end=9223372036854775807",
        "start=-9223372036854775808&end=9223372036854775807",
        "start=9223372036854775807&end=-9223372036854775808",
        "start=-5&end=0",
        "start=0&end=1000",
    ] {
        assert_eq!(
            status(&h, &format!("/log/v1/entries?{range}")).await,
            400,
            "{range}"
        );
    }
    // An ordinary range still answers, and the service is still up.
    let ok: serde_json::Value = reqwest::get(format!("{}/log/v1/entries?start=0&end=1", h.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["entries"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_extreme_report_year_is_a_bad_request() {
    // THREATS L9: `year + 1` overflowed for the last i32.
    let h = start().await;
    agreements(&h, 0..1).await;
    h.signed(1).await;
    for year in ["2147483647", "-2147483648", "262143"] {
        let path = format!("/reports/agency/{year}.json");
        assert_eq!(status(&h, &path).await, 400, "{path}");
    }
    // An ordinary year still answers.
    assert_eq!(status(&h, "/reports/agency/2020.json").await, 200);
}
