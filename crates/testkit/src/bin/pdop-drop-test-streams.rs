//! Deletes the JetStream streams that test namespaces (`t` + 12 hex digits) left on the server at `NATS_URL`;
//! `make test` runs it first (scripts/drop-test-streams.sh). The default `pdop` namespace and every other one stay.

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let dropped = pdop_testkit::drop_leftover_test_streams(&url).await?;
    eprintln!("dropped {} leftover test stream(s) on {url}", dropped.len());
    Ok(())
}
