//! `pdop-review`: see the crate documentation of `pdop_review`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pdop_kit::server::main::<pdop_review::Review>().await
}
