//! `pdop-pricing`: see the crate documentation of `pdop_pricing`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pdop_kit::server::main::<pdop_pricing::Pricing>().await
}
