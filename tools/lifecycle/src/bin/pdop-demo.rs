//! `pdop-demo` (`make demo`): a short lifecycle in Yunnan and Hubei against the services `make run` started,
//! printing each step and the public page of each disclosure entry. Jurisdictions and organizations are found
//! when they exist; everything else is named per run, so the demo can run again. It moves the services'
//! development clocks forward past public notices.

#![allow(clippy::print_stdout)] // printing what it did is its purpose

use std::path::PathBuf;

use clap::Parser;
use pdop_lifecycle::{Endpoints, Platform, Province, steps};

#[derive(Parser)]
#[command(name = "pdop-demo", version)]
struct Args {
    /// The development HS256 secret the services accept (scripts/services.sh).
    #[arg(long, env = "PDOP_AUTH__DEV_SECRET", default_value = "pdop-local-dev-secret")]
    dev_secret: String,
    /// The root jurisdiction's id; tokens act in it.
    #[arg(long, default_value = "national")]
    root: String,
    /// Where pdop-verify is (default: beside this binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin_dir = match args.bin_dir {
        Some(dir) => dir,
        None => std::env::current_exe()?
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let mut p = Platform::connect(Endpoints::local(), &args.dev_secret, &args.root, bin_dir).await?;
    let mut provinces = [
        Province::new("yunnan", "云南省", 1, true),
        Province::new("hubei", "湖北省", 2, false),
    ];
    println!("pdop demo, run {}", p.run);
    for step in steps::ALL {
        println!("\n== {step}");
        for j in &mut provinces {
            let result = steps::run(step, &mut p, j).await;
            for line in p.done.drain(..) {
                println!("  {line}");
            }
            result.map_err(|err| err.context(format!("step {step} in {}", j.id)))?;
        }
    }
    println!("\nThe log, its feeds and proofs: {}/", p.endpoints.public);
    Ok(())
}
