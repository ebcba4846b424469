//! The lifecycle across the five service binaries as separate processes: one PostgreSQL (a database each), a
//! private nats-server, gRPC only, tokens signed with the development secret, and the development clocks moved
//! through the admin ports past public notices. Two provinces, Yunnan (an objection to its resource's notice)
//! and Hubei, walk every step of `pdop_lifecycle::steps::ALL`; the log then verifies with `pdop-verify` and
//! yields the annual report. `make test` builds the binaries first (`cargo build --bins`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use pdop_lifecycle::{Endpoints, Platform, Province, steps};
use pdop_testkit::{DEV_SECRET, PrivateNats, TestEnv, free_port, wait_until};
use tokio::process::{Child, Command};

const SERVICES: [&str; 5] = ["registry", "review", "pricing", "evaluation", "disclosure"];

fn bin_dir() -> PathBuf {
    match std::env::var("PDOP_BIN_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
            .join("debug"),
    }
}

struct Service {
    name: &'static str,
    child: Child,
    grpc: u16,
    admin: u16,
    log: PathBuf,
}

/// Starts `pdop-<name>` in development mode on free ports against a fresh database and the private NATS.
async fn spawn(name: &'static str, env: &TestEnv, nats: &str, http: u16, logs: &std::path::Path) -> Service {
    let binary = bin_dir().join(format!("pdop-{name}"));
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --bins` first",
        binary.display()
    );
    let db = env.fresh_database().await.unwrap();
    let (grpc, admin) = (free_port().unwrap(), free_port().unwrap());
    let log = logs.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let mut command = Command::new(binary);
    if name == "disclosure" {
        // Heads signed every second, so pdop-verify and the annual report need not wait a minute.
        command
            .env("PDOP_DISCLOSURE__HTTP_ADDR", format!("127.0.0.1:{http}"))
            .env(
                "PDOP_DISCLOSURE__HTTP_BASE_URL",
                format!("http://127.0.0.1:{http}"),
            )
            .env("PDOP_DISCLOSURE__SIGNING_INTERVAL", "1s");
    }
    let child = command
        .env("PDOP_DATABASE__URL", &db.url)
        .env("PDOP_NATS__URL", nats)
        .env("PDOP_NATS__NAMESPACE", env.namespace.as_str())
        .env("PDOP_AUTH__DEV_MODE", "true")
        .env("PDOP_AUTH__DEV_SECRET", DEV_SECRET)
        .env("PDOP_GRPC__ADDR", format!("127.0.0.1:{grpc}"))
        .env("PDOP_ADMIN__ADDR", format!("127.0.0.1:{admin}"))
        .env("PDOP_TELEMETRY__LOG_FILTER", "warn")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    db.pool.close().await;
    Service {
        name,
        child,
        grpc,
        admin,
        log,
    }
}

async fn serving(service: &mut Service) {
    let url = format!("http://127.0.0.1:{}/healthz", service.admin);
    let http = reqwest::Client::new();
    let result = wait_until(
        &format!("{} is SERVING", service.name),
        Duration::from_secs(60),
        || {
            let (http, url) = (http.clone(), url.clone());
            async move { http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) }
        },
    )
    .await;
    if let Err(err) = result {
        let log = std::fs::read_to_string(&service.log).unwrap_or_default();
        panic!("{err}: {:?}\n{log}", service.child.try_wait());
    }
}

#[tokio::test]
async fn a_dataset_goes_from_registration_to_a_verified_disclosure_in_two_provinces() {
    let started = Instant::now();
    let env = TestEnv::new().await.unwrap();
    let nats = PrivateNats::start().await.unwrap();
    let logs = std::env::temp_dir().join(format!("pdop-lifecycle-{}", env.namespace.as_str()));
    std::fs::create_dir_all(&logs).unwrap();
    let http = free_port().unwrap();
    let mut services = Vec::new();
    for name in SERVICES {
        services.push(spawn(name, &env, &nats.url(), http, &logs).await);
    }
    for service in &mut services {
        serving(service).await;
    }
    let grpc = |name: &str| {
        let s = services.iter().find(|s| s.name == name).unwrap();
        format!("http://127.0.0.1:{}", s.grpc)
    };
    let endpoints = Endpoints {
        registry: grpc("registry"),
        review: grpc("review"),
        pricing: grpc("pricing"),
        evaluation: grpc("evaluation"),
        disclosure: grpc("disclosure"),
        admin: services
            .iter()
            .map(|s| format!("http://127.0.0.1:{}", s.admin))
            .collect(),
        public: format!("http://127.0.0.1:{http}"),
    };
    let mut p = Platform::connect(endpoints, DEV_SECRET, "china", bin_dir())
        .await
        .unwrap();
    let mut provinces = [
        Province::new("yunnan", "云南省", 1, true),
        Province::new("hubei", "湖北省", 2, false),
    ];
    let ready = started.elapsed();
    for step in steps::ALL {
        for j in &mut provinces {
            let at = Instant::now();
            if let Err(err) = steps::run(step, &mut p, j).await {
                let mut said = String::new();
                for s in &services {
                    let log = std::fs::read_to_string(&s.log).unwrap_or_default();
                    said.push_str(&format!("--- {} ---\n{log}\n", s.name));
                }
                panic!("step {step} in {}: {err:#}\n{:#?}\n{said}", j.id, p.done);
            }
            eprintln!("{step} {}: {:?}", j.id, at.elapsed());
        }
    }
    for line in &p.done {
        eprintln!("{line}");
    }
    for j in &provinces {
        assert!(!j.entries.is_empty(), "{} has entries", j.id);
    }
    eprintln!(
        "lifecycle: services SERVING after {ready:?}, all {} steps in both provinces after {:?}",
        steps::ALL.len(),
        started.elapsed()
    );
    let _ = std::fs::remove_file(&p.verify_state);
    let _ = std::fs::remove_dir_all(&logs);
}
