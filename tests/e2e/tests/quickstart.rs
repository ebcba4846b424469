//! The quickstart as a newcomer meets it: `make run`'s seed (`pdop-seed` with a token from `pdop-token`)
//! creates the six profile jurisdictions once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use pdop_proto::registry::v1::registry_service_client::RegistryServiceClient;
use pdop_proto::registry::v1::{Jurisdiction, ListJurisdictionsRequest};
use pdop_testkit::TestEnv;
use support::{Process, mint_token, seed, spawn_dev};
use tonic::Request;

const REGISTRY: &str = "pdop.registry.v1.RegistryService";

fn bearer<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn jurisdictions(registry: &Process, token: &str) -> Vec<Jurisdiction> {
    let mut client = RegistryServiceClient::new(registry.connect().await);
    let request = ListJurisdictionsRequest {
        page_size: 100,
        ..Default::default()
    };
    let response = client
        .list_jurisdictions(bearer(token, request))
        .await
        .unwrap()
        .into_inner();
    assert!(response.next_page_token.is_empty());
    response.jurisdictions
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_has(output: &[u8], expected: &str) {
    let output = text(output);
    assert!(output.contains(expected), "missing {expected:?} in:\n{output}");
}

#[tokio::test]
async fn the_seed_creates_the_profile_jurisdictions_once_through_the_api() {
    let env = TestEnv::new().await.unwrap();
    let registry = spawn_dev("registry", REGISTRY, &env).await;
    let national = mint_token("data_authority", "jurisdictions/national").await;

    let first = seed(&registry, &national).await;
    assert!(first.status.success(), "first seed: {first:?}");
    assert_has(&first.stdout, "seed: 8 created, 0 already there");
    let seeded = jurisdictions(&registry, &national).await;
    let tree: Vec<(&str, &str, &str, i32, &str)> = seeded
        .iter()
        .map(|j| {
            (
                j.name.as_str(),
                j.parent.as_str(),
                j.profile_id.as_str(),
                j.level,
                j.division_code.as_str(),
            )
        })
        .collect();
    // Ordered by name. Hebei and Baoding carry Laiyuan and use the national profile.
    assert_eq!(
        tree,
        [
            (
                "jurisdictions/baoding",
                "jurisdictions/hebei",
                "national",
                3,
                "130600"
            ),
            (
                "jurisdictions/hebei",
                "jurisdictions/national",
                "national",
                2,
                "130000"
            ),
            (
                "jurisdictions/henan",
                "jurisdictions/national",
                "henan",
                2,
                "410000"
            ),
            (
                "jurisdictions/hubei",
                "jurisdictions/national",
                "hubei",
                2,
                "420000"
            ),
            (
                "jurisdictions/laiyuan",
                "jurisdictions/baoding",
                "laiyuan",
                4,
                "130630"
            ),
            ("jurisdictions/national", "", "national", 1, ""),
            (
                "jurisdictions/yunnan",
                "jurisdictions/national",
                "yunnan",
                2,
                "530000"
            ),
            (
                "jurisdictions/zhengzhou",
                "jurisdictions/henan",
                "zhengzhou",
                3,
                "410100"
            ),
        ]
    );

    // A second `make run` on the same database leaves every jurisdiction as it is (same etag and times).
    let second = seed(&registry, &national).await;
    assert!(second.status.success(), "second seed: {second:?}");
    assert_has(&second.stdout, "seed: 0 created, 8 already there");
    assert_eq!(jurisdictions(&registry, &national).await, seeded);

    // The seed holds no privilege of its own: a province's token may not add below the national root.
    let yunnan = mint_token("data_authority", "jurisdictions/yunnan").await;
    let refused = seed(&registry, &yunnan).await;
    assert!(!refused.status.success(), "seed as Yunnan: {refused:?}");
    assert_has(&refused.stderr, "PermissionDenied");
}
