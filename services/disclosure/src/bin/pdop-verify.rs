//! `pdop-verify`: checks a pdop disclosure log over its public HTTP API and remembers the last tree head it
//! trusted. Exit status: 0 verified, 1 the log failed a check (evidence of tampering), 2 it could not be checked.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pdop_disclosure::verify::{Failure, Trusted, verify};

/// Verify a pdop disclosure log: tree-head signature, consistency with the last trusted head, and inclusion
/// of the given entries.
#[derive(Parser)]
#[command(name = "pdop-verify", version)]
struct Args {
    /// Base URL of the log's public HTTP port, e.g. https://disclosure.example.gov.cn
    #[arg(long, env = "PDOP_VERIFY_URL")]
    url: String,
    /// Where the last trusted tree head is kept between runs.
    #[arg(long, default_value = "pdop-verify.json")]
    state: PathBuf,
    /// Sequence numbers of entries whose inclusion to check (repeatable).
    #[arg(long = "entry")]
    entries: Vec<i64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let trusted: Option<Trusted> = match std::fs::read_to_string(&args.state) {
        Ok(text) => match serde_json::from_str(&text) {
            Ok(t) => Some(t),
            Err(err) => {
                eprintln!("{}: not a pdop-verify state file: {err}", args.state.display());
                return ExitCode::from(2);
            }
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            eprintln!("{}: {err}", args.state.display());
            return ExitCode::from(2);
        }
    };
    match verify(&args.url, trusted.as_ref(), &args.entries).await {
        Ok((now, report)) => {
            eprintln!("tree head of {} entries: signature verified", report.tree_size);
            match report.consistent_with {
                Some(size) => eprintln!("consistent with the trusted tree of {size} entries"),
                None => eprintln!("first run: this tree head is now trusted"),
            }
            for sequence in &report.entries_checked {
                eprintln!("entry {sequence}: leaf rebuilt and included");
            }
            let saved = serde_json::to_string_pretty(&now)
                .map_err(std::io::Error::other)
                .and_then(|text| std::fs::write(&args.state, text));
            if let Err(err) = saved {
                eprintln!("{}: could not save the trusted head: {err}", args.state.display());
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Err(failure @ Failure::Fetch(_)) => {
            eprintln!("cannot verify: {failure}");
            ExitCode::from(2)
        }
        Err(failure) => {
            eprintln!("VERIFICATION FAILED: {failure}");
            ExitCode::from(1)
        }
    }
}
