//! The edge every request passes before its handler (issue 15 item 8; THREATS H1.1, L10).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_proto::pricing::v1::{BondYield, CreateBondYieldRequest, CreatePeriodSettlementRequest};
use pdop_testkit::assert_invalid;

fn bond_yield(note: &str) -> CreateBondYieldRequest {
    CreateBondYieldRequest {
        bond_yield: Some(BondYield {
            note: note.to_owned(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn a_nul_or_an_oversized_string_is_invalid_argument_naming_the_field() {
    let mut h = start().await;
    // THREATS L10: measured as INTERNAL on CreatePeriodSettlement before the edge check.
    let nul = h
        .client
        .create_period_settlement(authority(CreatePeriodSettlementRequest {
            pricing_case: "pricingCases/\0".to_owned(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_invalid(&nul, &["pricing_case"]);
    // Free text holds at most 10,000 characters (issue 15 item 8).
    let long = h
        .client
        .create_bond_yield(authority(bond_yield(&"注".repeat(10_001))))
        .await
        .unwrap_err();
    assert_invalid(&long, &["bond_yield.note"]);
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(written, 0);
}
