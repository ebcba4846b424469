//! `pdop-loadgen`: drives pdop RPCs and their baselines, and runs the benchmark suite behind `make bench`.
//!
//!     pdop-loadgen run --target registry-get --addr http://127.0.0.1:50051 --concurrency 32 --seconds 10
//!     pdop-loadgen echo-server --addr 127.0.0.1:50099
//!     pdop-loadgen suite            # everything, see `suite --help`

// A command-line tool: its results go to stdout.
#![allow(clippy::print_stdout)]

mod baselines;
mod calls;
mod echo;
mod evaluation;
mod load;
mod log_scale;
mod pipeline;
mod procs;
mod report;
mod review;
mod stats;
mod suite;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::calls::Tokens;
use crate::load::{Load, Stop, drive};

#[derive(Parser)]
#[command(name = "pdop-loadgen", about = "Load generator and benchmark suite for pdop")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Drive one RPC at a concurrency for a duration or a count; print throughput, latency and errors.
    Run(RunArgs),
    /// Serve the baseline: a bare tonic server whose one RPC returns its input.
    EchoServer {
        #[arg(long, default_value = "127.0.0.1:50099")]
        addr: SocketAddr,
    },
    /// Everything `make bench` measures: baselines, scenarios, memory; writes JSON and a Markdown table.
    Suite(suite::SuiteArgs),
}

#[derive(Clone, Copy, ValueEnum, Debug)]
enum Target {
    /// The echo baseline (`echo-server`).
    Echo,
    /// pricing PreviewMaxAllowedRevenue (pure computation).
    PricingPreview,
    /// registry GetResource.
    RegistryGet,
    /// registry CreateResource (state + audit + outbox in one commit).
    RegistryCreate,
    /// registry RecordSecurityIncident (a write the disclosure log publishes).
    RegistryIncident,
    /// disclosure GetInclusionProof against the latest signed tree head.
    DisclosureProof,
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, value_enum)]
    target: Target,
    /// gRPC address of the service driven, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    addr: String,
    /// Registry to lay the fixtures on (for pricing-preview; the registry targets use --addr).
    #[arg(long)]
    registry: Option<String>,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured duration; ignored when --count is given.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Number of measured calls instead of a duration.
    #[arg(long)]
    count: Option<u64>,
    #[arg(long, default_value_t = 2.0)]
    warmup_seconds: f64,
    /// Total calls per second (paced); unpaced when absent.
    #[arg(long)]
    rate: Option<f64>,
    /// HTTP/2 connections the calls are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Development HS256 secret the services accept (as `make run` starts them).
    #[arg(long, env = "PDOP_AUTH__DEV_SECRET", default_value = "pdop-local-dev-secret")]
    dev_secret: String,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args).await,
        Command::EchoServer { addr } => echo::serve(addr).await,
        Command::Suite(args) => suite::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pdop-loadgen: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let tokens = Tokens::new(&args.dev_secret);
    let channels = calls::channels(&args.addr, args.connections).await?;
    let call = match args.target {
        Target::Echo => echo::calls(channels, echo::PAYLOAD_BYTES),
        Target::PricingPreview => {
            if let Some(registry) = &args.registry {
                let registry = calls::channels(registry, 1).await?;
                calls::registry_fixture(registry[0].clone(), &tokens, 0).await?;
                calls::pricing_ready(channels[0].clone(), &tokens).await?;
            }
            calls::pricing_preview(channels, &tokens)?
        }
        Target::RegistryGet => {
            calls::registry_fixture(channels[0].clone(), &tokens, 0).await?;
            calls::registry_get(channels, &tokens)?
        }
        Target::RegistryCreate => {
            calls::registry_fixture(channels[0].clone(), &tokens, 0).await?;
            calls::registry_create(channels, &tokens)?
        }
        Target::RegistryIncident => {
            let fixture = calls::registry_fixture(channels[0].clone(), &tokens, args.concurrency).await?;
            calls::registry_incident(channels, &tokens, fixture.incident_orgs)?
        }
        Target::DisclosureProof => {
            let size = log_scale::signed_size(channels[0].clone()).await?;
            calls::disclosure_proof(channels, size)?
        }
    };
    let load = Load {
        concurrency: args.concurrency,
        stop: match args.count {
            Some(n) => Stop::Count(n),
            None => Stop::After(Duration::from_secs_f64(args.seconds)),
        },
        warmup: Duration::from_secs_f64(args.warmup_seconds),
        rate: args.rate,
    };
    let summary = drive(load, call).await;
    println!("{:?}: {}", args.target, summary.line());
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)?;
    }
    Ok(())
}
