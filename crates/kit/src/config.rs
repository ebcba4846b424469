//! Layered configuration: compiled defaults, then an optional YAML file, then `PDOP_<SECTION>__<KEY>`
//! environment variables. A value of the wrong type fails start-up with an error naming its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use config::{Config, Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Compiled defaults shared by every service. Ports are overridden per service by [`ServiceDefaults`].
const BASE_DEFAULTS: &str = include_str!("../config/base.yaml");

/// Per-service defaults that differ between services (ports, database name).
#[derive(Debug, Clone, Copy)]
pub struct ServiceDefaults {
    /// Short service name: `registry`, `review`, `pricing`, `evaluation`, `disclosure`.
    pub name: &'static str,
    /// Default gRPC listen port (50051 to 50055).
    pub grpc_port: u16,
    /// Default admin HTTP port (9091 to 9095).
    pub admin_port: u16,
}

/// The configuration every service shares. Unknown top-level keys are allowed because each service
/// adds its own section; every nested section rejects unknown keys so typos fail start-up.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub grpc: GrpcSettings,
    pub admin: AdminSettings,
    pub database: DatabaseSettings,
    pub nats: NatsSettings,
    pub telemetry: TelemetrySettings,
    pub auth: AuthSettings,
    pub outbox: OutboxSettings,
    pub consumer: ConsumerSettings,
    pub rules: RulesSettings,
    #[serde(default)]
    pub clock: ClockSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSettings {
    /// Address the gRPC server listens on; port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// Upper bound on one request's handling time.
    #[serde(with = "humantime_secs")]
    pub request_timeout: Duration,
    /// Time given to in-flight requests after SIGTERM before the process exits.
    #[serde(with = "humantime_secs")]
    pub shutdown_grace: Duration,
    /// Largest request message decoded, in bytes (THREATS H1.2); disclosure's public port never takes more than
    /// 256 KiB.
    #[serde(default = "default_max_decoding_message_size")]
    pub max_decoding_message_size: usize,
}

fn default_max_decoding_message_size() -> usize {
    1024 * 1024
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// Address of the admin HTTP server (`/healthz`, `/metrics`).
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// PostgreSQL server URL; the database name in it is created at start-up when missing.
    pub url: SecretString,
    pub max_connections: u32,
    #[serde(with = "humantime_secs")]
    pub acquire_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    pub url: String,
    /// Prefixes every stream, subject on the wire and durable consumer (THREATS M15), so that releases sharing a
    /// NATS server, or tests and a running deployment, stay apart. Event contracts keep `pdop.`.
    pub namespace: crate::events::Namespace,
    /// Optional credentials file (NATS decentralized auth).
    pub credentials_file: Option<PathBuf>,
    /// Require TLS to the NATS server.
    pub tls_required: bool,
    /// Stream duplicate window; JetStream drops a repeated `Nats-Msg-Id` inside it.
    #[serde(with = "humantime_secs")]
    pub duplicate_window: Duration,
    /// Maximum time to wait for the initial connection at start-up.
    #[serde(with = "humantime_secs")]
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    /// `tracing_subscriber::EnvFilter` directives, e.g. `info,pdop_kit=debug`.
    pub log_filter: String,
    /// OTLP/HTTP endpoint, `http://` or `https://` (e.g. `https://otel-collector:4318`); spans go to
    /// `<endpoint>/v1/traces`. Empty disables export.
    pub otlp_endpoint: String,
    /// PEM file of the CA certificates an `https://` endpoint is verified against, instead of the system's.
    #[serde(default)]
    pub otlp_ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Expected `iss` claim.
    pub issuer: String,
    /// Expected `aud` claim.
    pub audience: String,
    /// Ed25519 public keys (PEM, SPKI) accepted for EdDSA tokens.
    pub ed25519_public_keys: Vec<String>,
    /// A file of further such keys, one or more PEM blocks (a mounted Kubernetes Secret, say).
    #[serde(default)]
    pub ed25519_public_keys_file: Option<std::path::PathBuf>,
    /// Accepts HS256 tokens signed with `dev_secret`. Never enable in production.
    pub dev_mode: bool,
    pub dev_secret: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// Rows published per relay round.
    pub batch_size: u32,
    /// Fallback poll when no NOTIFY arrives (a lost notification delays, never loses, an event).
    #[serde(with = "humantime_secs")]
    pub poll_interval: Duration,
    /// Published rows are purged after this long (well beyond the stream's duplicate window).
    #[serde(with = "humantime_secs")]
    pub retention: Duration,
    /// Largest event payload in bytes a change may enqueue, below the NATS server's `max_payload` (1 MiB by
    /// default) with room for headers; a larger one fails its call instead of blocking the outbox.
    #[serde(default = "default_max_payload")]
    pub max_payload: usize,
}

fn default_max_payload() -> usize {
    768 * 1024
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSettings {
    /// Deliveries before a message is moved to the dead-letter subject.
    pub max_deliver: i64,
    /// First redelivery delay; doubles per attempt.
    #[serde(with = "humantime_secs")]
    pub initial_backoff: Duration,
    pub batch_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSettings {
    /// An extended holiday calendar (same JSON shape as the built-in one); empty uses the built-in.
    pub holidays_file: Option<PathBuf>,
    /// A directory of jurisdiction profiles; empty uses the built-in ones.
    pub profiles_dir: Option<PathBuf>,
}

impl RulesSettings {
    /// The jurisdiction profiles and the holiday calendar these settings name (the built-in ones when unset).
    pub fn load(&self) -> anyhow::Result<(pdop_rules::Profiles, pdop_rules::Calendar)> {
        use anyhow::Context as _;
        let profiles = pdop_rules::Profiles::configured(self.profiles_dir.as_deref())
            .context("loading rules.profiles_dir")?;
        let calendar = pdop_rules::Calendar::configured(self.holidays_file.as_deref())
            .context("loading rules.holidays_file")?;
        Ok((profiles, calendar))
    }
}

/// Development only (refused at start-up unless `auth.dev_mode` is on): a clock ahead of the machine's, so a
/// demo or an end-to-end run can cross a public notice period without waiting for it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSettings {
    /// How far ahead of the machine's clock the service's clock runs (`15d`, `36h`, `90m`, `45s`).
    pub offset: Option<String>,
    /// The instant (RFC 3339) the service's clock reads at start-up; it runs forward from there.
    pub start: Option<String>,
}

/// Loads the shared settings plus the service's own section (`<service>:` in YAML,
/// `PDOP_<SERVICE>__<KEY>` in the environment).
pub fn load<S: DeserializeOwned>(
    defaults: ServiceDefaults,
    service_defaults_yaml: &str,
    file: Option<&Path>,
) -> anyhow::Result<(Settings, S)> {
    load_from(defaults, service_defaults_yaml, file, pdop_environment(), &[])
}

/// Like [`load`] without a file, then applies `overrides` (dotted keys such as `database.url`) last.
/// Tests use it to give each service instance its own database, ports and NATS server.
pub fn load_with_overrides<S: DeserializeOwned>(
    defaults: ServiceDefaults,
    service_defaults_yaml: &str,
    overrides: &[(&str, String)],
) -> anyhow::Result<(Settings, S)> {
    load_from(
        defaults,
        service_defaults_yaml,
        None,
        pdop_environment(),
        overrides,
    )
}

fn pdop_environment() -> Environment {
    Environment::with_prefix("PDOP")
        .prefix_separator("_")
        .separator("__")
}

fn load_from<S: DeserializeOwned>(
    defaults: ServiceDefaults,
    service_defaults_yaml: &str,
    file: Option<&Path>,
    env: Environment,
    overrides: &[(&str, String)],
) -> anyhow::Result<(Settings, S)> {
    let mut builder = Config::builder()
        .add_source(File::from_str(BASE_DEFAULTS, FileFormat::Yaml))
        .set_default("grpc.addr", format!("0.0.0.0:{}", defaults.grpc_port))?
        .set_default("admin.addr", format!("0.0.0.0:{}", defaults.admin_port))?
        .set_default(
            "database.url",
            format!("postgres://postgres@127.0.0.1:5432/pdop_{}", defaults.name),
        )?
        .add_source(File::from_str(service_defaults_yaml, FileFormat::Yaml));
    if let Some(path) = file {
        builder = builder.add_source(File::from(path).format(FileFormat::Yaml).required(true));
    }
    builder = builder.add_source(env);
    for (key, value) in overrides {
        builder = builder.set_override(*key, value.as_str())?;
    }
    let cfg = builder.build().with_context(|| config_source_hint(file))?;
    let settings: Settings = cfg.clone().try_deserialize().map_err(explain)?;
    let service: S = cfg.get(defaults.name).map_err(explain)?;
    Ok((settings, service))
}

fn config_source_hint(file: Option<&Path>) -> String {
    match file {
        Some(path) => format!("reading configuration (file {})", path.display()),
        None => "reading configuration".to_owned(),
    }
}

/// Turns a `config` error into one whose text starts with "invalid configuration" and keeps the key.
fn explain(err: config::ConfigError) -> anyhow::Error {
    anyhow::anyhow!("invalid configuration: {err}")
}

/// Durations are written as whole or fractional seconds (`30`, `0.5`) or with a unit (`250ms`, `2m`).
pub mod humantime_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, de};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Number(secs) => from_secs(secs).map_err(de::Error::custom),
            Raw::Text(text) => parse(&text).map_err(de::Error::custom),
        }
    }

    fn from_secs(secs: f64) -> Result<Duration, String> {
        Duration::try_from_secs_f64(secs).map_err(|_| format!("`{secs}` is not a valid duration"))
    }

    pub(super) fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (try `30s`, `250ms`, `2m`)"))?;
        let secs = match unit.trim() {
            "" | "s" => value,
            "ms" => value / 1000.0,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            other => return Err(format!("unknown duration unit `{other}` in `{text}`")),
        };
        from_secs(secs)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    const DEFAULTS: ServiceDefaults = ServiceDefaults {
        name: "registry",
        grpc_port: 50051,
        admin_port: 9091,
    };

    #[derive(Debug, Deserialize)]
    struct Own {
        greeting: String,
    }

    fn env(vars: &[(&str, &str)]) -> Environment {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Environment::with_prefix("PDOP")
            .prefix_separator("_")
            .separator("__")
            .source(Some(map))
    }

    #[test]
    fn compiled_defaults_give_service_ports_and_database() {
        let (s, own): (Settings, Own) =
            load_from(DEFAULTS, "registry: {greeting: hi}", None, env(&[]), &[]).unwrap();
        assert_eq!(s.grpc.addr.port(), 50051);
        assert_eq!(s.admin.addr.port(), 9091);
        assert!(s.database.url.expose_secret().ends_with("/pdop_registry"));
        assert_eq!(s.telemetry.log_format, LogFormat::Json);
        assert!(s.telemetry.otlp_endpoint.is_empty(), "export is off by default");
        assert!(!s.auth.dev_mode, "dev mode is off by default");
        assert_eq!(own.greeting, "hi");
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let vars = [
            ("PDOP_GRPC__ADDR", "127.0.0.1:0"),
            ("PDOP_REGISTRY__GREETING", "from env"),
        ];
        let (s, own): (Settings, Own) =
            load_from(DEFAULTS, "registry: {greeting: hi}", None, env(&vars), &[]).unwrap();
        assert_eq!(s.grpc.addr.to_string(), "127.0.0.1:0");
        assert_eq!(own.greeting, "from env");
    }

    #[test]
    fn yaml_file_overrides_defaults_and_env_overrides_file() {
        let dir = std::env::temp_dir().join(format!("pdop-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("registry.yaml");
        std::fs::write(
            &path,
            "outbox: {batch_size: 7}\ntelemetry: {log_format: pretty}\n",
        )
        .unwrap();
        let vars = [("PDOP_OUTBOX__BATCH_SIZE", "9")];
        let (s, _): (Settings, Own) =
            load_from(DEFAULTS, "registry: {greeting: hi}", Some(&path), env(&vars), &[]).unwrap();
        assert_eq!(s.telemetry.log_format, LogFormat::Pretty);
        assert_eq!(s.outbox.batch_size, 9);
    }

    #[test]
    fn bad_value_names_the_key() {
        let vars = [("PDOP_OUTBOX__BATCH_SIZE", "lots")];
        let err = load_from::<Own>(DEFAULTS, "registry: {greeting: hi}", None, env(&vars), &[]).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("outbox.batch_size"), "{text}");
    }

    #[test]
    fn bad_enum_value_names_the_key() {
        let vars = [("PDOP_TELEMETRY__LOG_FORMAT", "xml")];
        let err = load_from::<Own>(DEFAULTS, "registry: {greeting: hi}", None, env(&vars), &[]).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("telemetry.log_format"), "{text}");
    }

    #[test]
    fn bad_address_names_the_key() {
        let vars = [("PDOP_ADMIN__ADDR", "not-an-address")];
        let err = load_from::<Own>(DEFAULTS, "registry: {greeting: hi}", None, env(&vars), &[]).unwrap_err();
        assert!(format!("{err:#}").contains("admin.addr"), "{err:#}");
    }

    #[test]
    fn the_nats_namespace_defaults_to_pdop_and_takes_another() {
        let (s, _): (Settings, Own) =
            load_from(DEFAULTS, "registry: {greeting: hi}", None, env(&[]), &[]).unwrap();
        assert_eq!(s.nats.namespace.as_str(), "pdop");
        let vars = [("PDOP_NATS__NAMESPACE", "staging-2")];
        let (s, _): (Settings, Own) =
            load_from(DEFAULTS, "registry: {greeting: hi}", None, env(&vars), &[]).unwrap();
        assert_eq!(s.nats.namespace.as_str(), "staging-2");
    }

    // THREATS M15: a namespace that cannot be a subject token or a stream name stops start-up, naming the key.
    #[test]
    fn a_bad_nats_namespace_names_the_key() {
        for bad in ["Pdop", "a.b", "2x", ""] {
            let vars = [("PDOP_NATS__NAMESPACE", bad)];
            let err =
                load_from::<Own>(DEFAULTS, "registry: {greeting: hi}", None, env(&vars), &[]).unwrap_err();
            assert!(format!("{err:#}").contains("nats.namespace"), "{bad}: {err:#}");
        }
    }

    #[test]
    fn durations_accept_units() {
        assert_eq!(
            humantime_secs::parse("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(humantime_secs::parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(humantime_secs::parse("1.5").unwrap(), Duration::from_millis(1500));
        assert!(humantime_secs::parse("5 fortnights").is_err());
    }
}
