//! `pdop-seed`: creates the jurisdictions of the six rule profiles on a registry, over gRPC with the
//! caller's bearer token, so the seed passes the same checks as anyone's `CreateJurisdiction`.
//!
//! Idempotent: a jurisdiction that already exists is left as it is (reported, never updated).
//! `make run` calls it with a national data-authority token minted by `pdop-token`.

use std::io::Write;

use anyhow::Context;
use clap::Parser;
use pdop_proto::common::JurisdictionLevel;
use pdop_proto::registry::v1::registry_service_client::RegistryServiceClient;
use pdop_proto::registry::v1::{CreateJurisdictionRequest, GetJurisdictionRequest, Jurisdiction};
use tonic::transport::Channel;
use tonic::{Code, Request};

#[derive(Parser)]
#[command(
    name = "pdop-seed",
    about = "Create the jurisdictions of the six rule profiles on a registry (idempotent)"
)]
struct Args {
    /// The registry's gRPC endpoint.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    registry: String,
    /// Bearer token of a data authority acting in `jurisdictions/national` (see `pdop-token`).
    #[arg(long, env = "PDOP_TOKEN", hide_env_values = true)]
    token: String,
}

/// One seeded jurisdiction: id, display name, level, parent id, profile id, GB/T 2260 code.
type Seed = (
    &'static str,
    &'static str,
    JurisdictionLevel,
    &'static str,
    &'static str,
    &'static str,
);

/// Parents before children. Laiyuan is a county of Baoding, a city of Hebei; Hebei and Baoding have no
/// measure of their own, so they are bound to the national profile (the nearest ancestor's, stored explicitly).
const TREE: [Seed; 8] = [
    (
        "national",
        "国家",
        JurisdictionLevel::National,
        "",
        "national",
        "",
    ),
    (
        "henan",
        "河南省",
        JurisdictionLevel::Province,
        "national",
        "henan",
        "410000",
    ),
    (
        "zhengzhou",
        "郑州市",
        JurisdictionLevel::City,
        "henan",
        "zhengzhou",
        "410100",
    ),
    (
        "hubei",
        "湖北省",
        JurisdictionLevel::Province,
        "national",
        "hubei",
        "420000",
    ),
    (
        "yunnan",
        "云南省",
        JurisdictionLevel::Province,
        "national",
        "yunnan",
        "530000",
    ),
    (
        "hebei",
        "河北省",
        JurisdictionLevel::Province,
        "national",
        "national",
        "130000",
    ),
    (
        "baoding",
        "保定市",
        JurisdictionLevel::City,
        "hebei",
        "national",
        "130600",
    ),
    (
        "laiyuan",
        "涞源县",
        JurisdictionLevel::County,
        "baoding",
        "laiyuan",
        "130630",
    ),
];

fn name(id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!("jurisdictions/{id}")
    }
}

fn authorized<T>(token: &str, message: T) -> anyhow::Result<Request<T>> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let channel = Channel::from_shared(args.registry.clone())?
        .connect()
        .await
        .with_context(|| format!("connecting to the registry at {}", args.registry))?;
    let mut client = RegistryServiceClient::new(channel);
    let mut out = std::io::stdout().lock();
    let (mut created, mut kept) = (0, 0);
    for (id, display_name, level, parent, profile, code) in TREE {
        let wanted = Jurisdiction {
            display_name: display_name.into(),
            level: level as i32,
            parent: name(parent),
            profile_id: profile.into(),
            division_code: code.into(),
            ..Default::default()
        };
        let request = CreateJurisdictionRequest {
            jurisdiction: Some(wanted.clone()),
            jurisdiction_id: id.into(),
            request_id: String::new(),
        };
        match client
            .create_jurisdiction(authorized(&args.token, request)?)
            .await
        {
            Ok(_) => {
                created += 1;
                writeln!(out, "created {} (profile {profile})", name(id))?;
            }
            Err(status) if status.code() == Code::AlreadyExists => {
                kept += 1;
                let get = GetJurisdictionRequest { name: name(id) };
                let existing = client
                    .get_jurisdiction(authorized(&args.token, get)?)
                    .await
                    .with_context(|| format!("reading {}", name(id)))?
                    .into_inner()
                    .jurisdiction
                    .unwrap_or_default();
                // Left as it is either way: the seed never overwrites what an authority changed.
                if (existing.parent.as_str(), existing.profile_id.as_str())
                    == (wanted.parent.as_str(), profile)
                {
                    writeln!(out, "exists  {} (profile {profile})", name(id))?;
                } else {
                    writeln!(
                        out,
                        "exists  {} (profile {}, parent {:?}; the seed would have used profile {profile}, parent {:?}; left as it is)",
                        name(id),
                        existing.profile_id,
                        existing.parent,
                        wanted.parent
                    )?;
                }
            }
            Err(status) => {
                anyhow::bail!("creating {}: {:?} {}", name(id), status.code(), status.message());
            }
        }
    }
    writeln!(out, "seed: {created} created, {kept} already there")?;
    Ok(())
}
