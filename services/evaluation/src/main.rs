//! `pdop-evaluation`: see the crate documentation of `pdop_evaluation`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    pdop_kit::server::main::<pdop_evaluation::Evaluation>().await
}
