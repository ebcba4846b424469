//! Role × RPC (R-EV-01): every evaluation RPC refuses a caller without a token and every role its policy line
//! does not list, whatever the request.

mod common;

#[tokio::test]
async fn every_rpc_refuses_the_roles_its_policy_does_not_list() {
    let h = common::start().await;
    let calls = pdop_testkit::assert_roles_enforced::<pdop_evaluation::Evaluation>(h.grpc_addr()).await;
    // All 36 RPCs, each called without a token and with every role it does not allow.
    assert!(calls > 100, "{calls}");
}
