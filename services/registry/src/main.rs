//! `pdop-registry`: see the crate documentation of `pdop_registry`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pdop_kit::server::main::<pdop_registry::Registry>().await
}
