//! Measures the disclosure log on this machine: how fast the consumer appends entries from a backlog of events,
//! and the latency of inclusion proofs over gRPC. Needs PostgreSQL and NATS (DATABASE_URL, NATS_URL).
//!
//!     cargo run --release -p pdop-disclosure --example throughput -- [events] [proofs]

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use pdop_disclosure::Disclosure;
use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::disclosure::v1::GetInclusionProofRequest;
use pdop_proto::disclosure::v1::disclosure_service_client::DisclosureServiceClient;
use pdop_proto::disclosure::v1::get_inclusion_proof_request::Leaf;
use pdop_proto::registry::events::v1::{AgreementSigned, AgreementSummary};
use pdop_testkit::{PrivateNats, TestEnv, spawn_service, until_holds};
use prost::Message;

fn event(n: usize) -> Vec<u8> {
    AgreementSigned {
        agreement: Some(AgreementSummary {
            name: format!("agreements/a{n}"),
            display_name: format!("授权运营协议{n}"),
            jurisdiction: Some(JurisdictionRef {
                name: "jurisdictions/yunnan".into(),
                ..Default::default()
            }),
            implementing_agency: Some(OrganizationRef {
                name: "organizations/agency".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let proofs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let env = TestEnv::new().await.unwrap();
    let nats = PrivateNats::start().await.unwrap();
    let db = env.fresh_database().await.unwrap();
    let overrides = [
        ("disclosure.http_addr", "127.0.0.1:0".to_owned()),
        ("telemetry.log_filter", "warn".to_owned()),
    ];
    let running = spawn_service::<Disclosure>(&db, &nats.url(), &env.namespace, &overrides)
        .await
        .unwrap();

    // A backlog of events in the registry stream, then the time the consumer takes to append them all.
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    pdop_kit::events::ensure_stream(&js, &env.namespace, "registry", Duration::from_secs(120))
        .await
        .unwrap();
    let mut acks = Vec::with_capacity(events);
    for n in 0..events {
        let id = format!("bench-{n}");
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("ce-id", id.as_str());
        headers.insert("Nats-Msg-Id", id.as_str());
        headers.insert("ce-type", "pdop.registry.agreement.signed.v1");
        headers.insert("ce-subject", format!("agreements/a{n}").as_str());
        acks.push(
            js.publish_with_headers(
                env.namespace.wire_subject("pdop.registry.agreement.signed"),
                headers,
                event(n).into(),
            )
            .await
            .unwrap(),
        );
    }
    for ack in acks {
        ack.await.unwrap();
    }
    let started = Instant::now();
    until_holds(
        &db.pool,
        "the backlog is appended",
        &format!("SELECT size >= {events} FROM log_state"),
    )
    .await
    .unwrap();
    let append = started.elapsed();
    println!(
        "append: {events} entries in {:.2} s = {:.0} entries/s (consumer, one transaction per event)",
        append.as_secs_f64(),
        events as f64 / append.as_secs_f64()
    );

    until_holds(
        &db.pool,
        "a head covers the log",
        &format!("SELECT EXISTS (SELECT 1 FROM tree_heads WHERE tree_size = {events})"),
    )
    .await
    .unwrap();
    let mut client = DisclosureServiceClient::connect(format!("http://{}", running.grpc_addr))
        .await
        .unwrap();
    let mut latencies = Vec::with_capacity(proofs);
    let started = Instant::now();
    for i in 0..proofs {
        let sequence = ((i * 7919) % events) as i64;
        let t = Instant::now();
        client
            .get_inclusion_proof(GetInclusionProofRequest {
                leaf: Some(Leaf::Sequence(sequence)),
                tree_size: 0,
            })
            .await
            .unwrap();
        latencies.push(t.elapsed());
    }
    let total = started.elapsed();
    latencies.sort();
    println!(
        "inclusion proof at {events} entries: {proofs} sequential calls, {:.0}/s, p50 {:?}, p99 {:?}, max {:?}",
        proofs as f64 / total.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    drop(running);
}
