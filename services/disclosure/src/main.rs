//! `pdop-disclosure`: see the crate documentation of `pdop_disclosure`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pdop_kit::server::main::<pdop_disclosure::Disclosure>().await
}
