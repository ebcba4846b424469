//! Role × RPC (R-RV-01): every review RPC refuses a caller without a token and every role its policy line does
//! not list, whatever the request.

mod common;

#[tokio::test]
async fn every_rpc_refuses_the_roles_its_policy_does_not_list() {
    let h = common::start().await;
    let calls = pdop_testkit::assert_roles_enforced::<pdop_review::Review>(h.grpc_addr()).await;
    assert!(calls > 300, "{calls}");
}
