//! The quickstart as a newcomer meets it: `make run`'s seed (`pdop-seed` with a token from `pdop-token`)
//! creates the six profile jurisdictions once, and the Python client of `examples/python/` reads the
//! registry and previews a price against the built binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use pdop_proto::registry::v1::registry_service_client::RegistryServiceClient;
use pdop_proto::registry::v1::{Jurisdiction, ListJurisdictionsRequest};
use pdop_testkit::{TestEnv, until_holds};
use support::{Process, mint_token, repo_root, seed, spawn_dev};
use tokio::process::Command;
use tonic::Request;

const REGISTRY: &str = "pdop.registry.v1.RegistryService";
const PRICING: &str = "pdop.pricing.v1.PricingService";

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

async fn python_example(
    python: &str,
    registry: &Process,
    pricing: &Process,
    token: &str,
) -> std::process::Output {
    Command::new(python)
        .arg(repo_root().join("examples/python/example.py"))
        .args(["--registry", &format!("127.0.0.1:{}", registry.grpc)])
        .args(["--pricing", &format!("127.0.0.1:{}", pricing.grpc)])
        .env("PDOP_TOKEN", token)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_python_example_reads_the_registry_and_previews_a_price() {
    // The example's virtual environment under .pdop/, built only when its requirements change.
    let pyenv = Command::new(repo_root().join("scripts/pyenv.sh"))
        .arg("python-example")
        .arg(repo_root().join("examples/python/requirements.txt"))
        .output()
        .await
        .unwrap();
    assert!(
        pyenv.status.success(),
        "scripts/pyenv.sh: {}",
        text(&pyenv.stderr)
    );
    let python = text(&pyenv.stdout).trim().to_owned();

    let env = TestEnv::new().await.unwrap();
    let registry = spawn_dev("registry", REGISTRY, &env).await;
    let pricing = spawn_dev("pricing", PRICING, &env).await;
    let national = mint_token("data_authority", "jurisdictions/national").await;
    let seeded = seed(&registry, &national).await;
    assert!(seeded.status.success(), "seed: {seeded:?}");

    // The pricing service learns jurisdictions from the registry's events: wait until it knows Yunnan.
    until_holds(
        &pricing.db.pool,
        "pricing knows jurisdictions/yunnan",
        "SELECT EXISTS (SELECT 1 FROM jurisdictions WHERE id = 'yunnan' AND profile_id = 'yunnan')",
    )
    .await
    .unwrap();
    let token = mint_token("pricing_authority", "jurisdictions/yunnan").await;

    let ran = python_example(&python, &registry, &pricing, &token).await;
    assert!(
        ran.status.success(),
        "example.py failed: {}{}",
        text(&ran.stdout),
        text(&ran.stderr)
    );
    for expected in [
        "registry: jurisdictions/yunnan 云南省 level=PROVINCE profile=yunnan parent=jurisdictions/national \
         division_code=530000",
        "registry: 4 jurisdiction(s) under jurisdictions/national: jurisdictions/hebei, jurisdictions/henan, \
         jurisdictions/hubei, jurisdictions/yunnan",
        "pricing: preview for jurisdictions/yunnan (profile yunnan, markup at most 0.06)",
        "pricing: max_allowed_revenue=8821333.33 CNY a year (allowed_profit=616000.00, taxes=205333.33)",
        "example: OK",
    ] {
        assert_has(&ran.stdout, expected);
    }

    // A role the preview does not allow: the registry read passes, the preview fails, the exit code says so.
    let developer = mint_token("developer", "jurisdictions/yunnan").await;
    let refused = python_example(&python, &registry, &pricing, &developer).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert_has(
        &refused.stderr,
        "example: pricing PreviewMaxAllowedRevenue: PERMISSION_DENIED",
    );
    assert_has(&refused.stdout, "registry: jurisdictions/yunnan 云南省");
    assert!(!text(&refused.stdout).contains("example: OK"));
}

/// The README's first call, exactly as written there but for the binaries' directory, the development secret and
/// the registry's port: a seeded jurisdiction read with `buf curl` over reflection.
#[tokio::test]
async fn the_readmes_first_call_answers_with_a_seeded_jurisdiction() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(code, _)| code))
        .find(|code| code.contains("buf curl") && code.contains("GetJurisdiction"))
        .expect("the README shows its first call in a ```sh block with buf curl");
    // `make test` installs buf first (`make buf`); a plain `cargo nextest` run installs it here.
    let buf = repo_root().join(".pdop/tools/node_modules/.bin/buf");
    if !buf.exists() {
        let made = Command::new("make")
            .arg("buf")
            .current_dir(repo_root())
            .output()
            .await
            .unwrap();
        assert!(made.status.success(), "make buf: {made:?}");
    }
    let env = TestEnv::new().await.unwrap();
    let registry = spawn_dev("registry", REGISTRY, &env).await;
    let national = mint_token("data_authority", "jurisdictions/national").await;
    assert!(seed(&registry, &national).await.status.success());

    let bin_dir = support::binary("token").parent().unwrap().display().to_string();
    let script = block
        .replace("target/debug/", &format!("{bin_dir}/"))
        .replace("pdop-local-dev-secret", support::DEV_SECRET)
        .replace("127.0.0.1:50051", &format!("127.0.0.1:{}", registry.grpc));
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(repo_root())
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "the README's first call: {output:?}");
    assert_has(&output.stdout, "\"displayName\": \"云南省\"");
    assert_has(&output.stdout, "\"profileId\": \"yunnan\"");
}
