//! The lifecycle across the five service binaries as separate processes: one PostgreSQL (a database each), a
//! private nats-server, gRPC only, tokens signed with the development secret, and the development clocks moved
//! through the admin ports past public notices. Two provinces, Yunnan (an objection to its resource's notice)
//! and Hubei, walk every step of `pdop_lifecycle::steps::ALL`; the log then verifies with `pdop-verify` and
//! yields the annual report. `make test` builds the binaries first (`cargo build --bins`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::time::Instant;

use pdop_lifecycle::{Endpoints, Platform, Province, steps};
use pdop_testkit::{PrivateNats, TestEnv, free_port};
use support::{DEV_SECRET, LogLines, Process, SERVICES};

/// What every service said, for a failed step's message.
fn said(services: &[(Process, LogLines)]) -> String {
    let mut said = String::new();
    for (process, log) in services {
        said.push_str(&format!(
            "--- {} ---\n{}\n",
            process.name,
            log.lock().unwrap().join("\n")
        ));
    }
    said
}

#[tokio::test]
async fn a_dataset_goes_from_registration_to_a_verified_disclosure_in_two_provinces() {
    let started = Instant::now();
    let env = TestEnv::new().await.unwrap();
    let nats = PrivateNats::start().await.unwrap();
    let http = free_port().unwrap();
    let (public_addr, public_url) = (format!("127.0.0.1:{http}"), format!("http://127.0.0.1:{http}"));
    let nats_url = nats.url();
    let extra = [
        ("PDOP_NATS__URL", nats_url.as_str()),
        ("PDOP_AUTH__DEV_MODE", "true"),
        ("PDOP_AUTH__DEV_SECRET", DEV_SECRET),
        // Heads signed every second, so pdop-verify and the annual report need not wait a minute.
        ("PDOP_DISCLOSURE__SIGNING_INTERVAL", "1s"),
        ("PDOP_DISCLOSURE__HTTP_ADDR", public_addr.as_str()),
        ("PDOP_DISCLOSURE__HTTP_BASE_URL", public_url.as_str()),
    ];
    let mut services = Vec::new();
    for (name, _) in SERVICES {
        services.push(support::spawn_logged(name, &env, &extra).await.unwrap());
    }
    for ((process, _), (_, grpc_service)) in services.iter_mut().zip(SERVICES) {
        support::wait_serving(process, grpc_service).await;
    }
    let grpc = |name: &str| {
        let (process, _) = services.iter().find(|(p, _)| p.name == name).unwrap();
        process.endpoint()
    };
    let endpoints = Endpoints {
        registry: grpc("registry"),
        review: grpc("review"),
        pricing: grpc("pricing"),
        evaluation: grpc("evaluation"),
        disclosure: grpc("disclosure"),
        admin: services
            .iter()
            .map(|(p, _)| format!("http://127.0.0.1:{}", p.admin))
            .collect(),
        public: public_url.clone(),
    };
    let mut p = Platform::connect(
        endpoints,
        DEV_SECRET,
        "china",
        support::binary("verify").parent().unwrap().to_path_buf(),
    )
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
                panic!(
                    "step {step} in {}: {err:#}\n{:#?}\n{}",
                    j.id,
                    p.done,
                    said(&services)
                );
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
}
