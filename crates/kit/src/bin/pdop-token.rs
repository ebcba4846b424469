//! `pdop-token`: mints a bearer token for local use.
//!
//! HS256 with the dev secret (services must run with `auth.dev_mode: true`), or EdDSA with an
//! Ed25519 private key (PKCS#8 PEM) whose public key is in `auth.ed25519_public_keys`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pdop_kit::auth::{Claims, Role, SigningKey, mint};

#[derive(Parser)]
#[command(name = "pdop-token", about = "Mint a pdop bearer token for local use")]
struct Args {
    /// Token subject (the user).
    #[arg(long, default_value = "dev-user")]
    subject: String,
    /// Organization resource name of the caller.
    #[arg(long, default_value = "organizations/dev-org")]
    org: String,
    /// Roles, comma separated (data_authority, implementing_agency, data_provider, operator,
    /// developer, pricing_authority, evaluator, auditor, industry_regulator).
    #[arg(long, value_delimiter = ',', default_value = "data_authority")]
    roles: Vec<String>,
    /// Jurisdiction resource name of the caller.
    #[arg(long, default_value = "jurisdictions/national")]
    jurisdiction: String,
    #[arg(long, default_value = "pdop")]
    issuer: String,
    #[arg(long, default_value = "pdop")]
    audience: String,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    /// HS256 development secret (must match the services' `auth.dev_secret`).
    #[arg(long, env = "PDOP_AUTH__DEV_SECRET", conflicts_with = "ed25519_key")]
    dev_secret: Option<String>,
    /// Ed25519 private key file (PKCS#8 PEM).
    #[arg(long)]
    ed25519_key: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let roles = args
        .roles
        .iter()
        .map(|r| Role::parse(r.trim()).with_context(|| format!("unknown role `{r}`")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let key = match (&args.dev_secret, &args.ed25519_key) {
        (_, Some(path)) => SigningKey::Ed25519Pem(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        (Some(secret), None) => SigningKey::Hs256(secret.clone()),
        (None, None) => anyhow::bail!("give --dev-secret (or PDOP_AUTH__DEV_SECRET) or --ed25519-key"),
    };
    let now = u64::try_from(chrono::Utc::now().timestamp())?;
    let claims = Claims {
        sub: args.subject,
        iss: args.issuer,
        aud: args.audience,
        exp: now + args.ttl,
        iat: now,
        org: args.org,
        roles,
        jurisdiction: args.jurisdiction,
    };
    let token = mint(&claims, &key)?;
    writeln!(std::io::stdout(), "{token}")?;
    Ok(())
}
