//! `make bench`: every baseline and scenario in one run on this machine, against a private nats-server and
//! databases of the run's own on the machine's PostgreSQL, then JSON, a Markdown table and the README section.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use pdop_testkit::{PrivateNats, database_url_with_name, free_port, nats_server_binary};
use tokio::process::{Child, Command};

use crate::baselines::{self, closed_loop};
use crate::calls::{self, Tokens};
use crate::load::drive;
use crate::log_scale;
use crate::pipeline::Pipeline;
use crate::procs::{Launcher, Memory, ServiceProc, memory_of, recreate_database};
use crate::report::{
    Baselines, DisclosureAtScale, Machine, Results, Scenarios, ServiceMemory, replace_section,
};

const DEV_SECRET: &str = "pdop-bench-secret-0123456789";

#[derive(clap::Args)]
pub struct SuiteArgs {
    /// Tiny counts to check the tools work (seconds, not minutes); the README is left alone.
    #[arg(long)]
    quick: bool,
    /// Measured seconds per scenario (after a warm-up of a fifth of it).
    #[arg(long, default_value_t = 8.0)]
    seconds: f64,
    /// Concurrent requests for the throughput scenarios and their baselines.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Entries in the log the inclusion proofs are measured on (built once, then reused).
    #[arg(long, default_value_t = 1_000_000)]
    log_entries: u64,
    /// Events per second of the pipeline steps, in order; steps stop after the first one not sustained.
    #[arg(long, value_delimiter = ',', default_value = "250,500,1000,1500,2000")]
    rates: Vec<f64>,
    /// Organizations the pipeline's security incidents are spread over. An organization's reply lists every
    /// incident it has had, so piling the run's thousands onto a few would measure that list, not the pipeline.
    #[arg(long, default_value_t = 1000)]
    incident_organizations: usize,
    /// Events appended from a backlog to measure the disclosure consumer's append rate.
    #[arg(long, default_value_t = 5000)]
    backlog: u64,
    /// Where the service binaries are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Where results/<date>.json and results/<date>.md go.
    #[arg(long, default_value = "bench/results")]
    out_dir: PathBuf,
    /// Service logs and scratch files.
    #[arg(long, default_value = ".pdop/bench")]
    work_dir: PathBuf,
    /// README whose bench section gets the table (not in --quick runs).
    #[arg(long, default_value = "README.md")]
    readme: PathBuf,
}

impl SuiteArgs {
    fn tiny(&mut self) {
        self.seconds = 0.5;
        self.log_entries = self.log_entries.min(2_000);
        self.rates = vec![50.0];
        self.backlog = self.backlog.min(50);
        self.incident_organizations = self.incident_organizations.min(8);
    }
}

fn say(what: &str) {
    eprintln!("bench: {what}");
}

pub async fn run(mut args: SuiteArgs) -> anyhow::Result<()> {
    if args.quick {
        args.tiny();
    }
    let started = Instant::now();
    let admin_url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let nats = PrivateNats::start()
        .await
        .context("starting a private nats-server")?;
    let launcher = Launcher {
        bin_dir: args.bin_dir.clone(),
        admin_database_url: admin_url.clone(),
        nats_url: nats.url(),
        dev_secret: DEV_SECRET.to_owned(),
        log_dir: args.work_dir.join("logs"),
    };
    let tokens = Tokens::new(DEV_SECRET);
    let seconds = Duration::from_secs_f64(args.seconds);
    let warmup = seconds / 5;
    let c = args.concurrency;
    let machine = machine(&admin_url).await?;
    say(&format!(
        "{} cores, {}; {}",
        machine.cores, machine.cpu, machine.postgres
    ));

    say("baseline: gRPC echo server");
    let (echo, echo_url) = echo_server().await?;
    let echo_channels = calls::channels(&echo_url, 4).await?;
    let grpc_echo = drive(
        closed_loop(c, seconds, warmup),
        crate::echo::calls(echo_channels, crate::echo::PAYLOAD_BYTES),
    )
    .await;
    say(&format!("  {}", grpc_echo.line()));
    drop(echo);

    say("starting evaluation, review, registry and pricing for their scenarios and memory");
    let mut idle = Vec::new();
    let evaluation = launcher.start("evaluation", &[]).await?;
    let evaluation_idle = evaluation.memory()?;
    let evaluation_channels = calls::channels(&evaluation.grpc_url, 4).await?;
    let scored = crate::evaluation::fixture(
        &nats.url(),
        &evaluation.database_url,
        evaluation_channels[0].clone(),
        &tokens,
    )
    .await?;
    say("scenario: evaluation RecordIndicatorScores");
    let evaluation_record = drive(
        closed_loop(c, seconds, warmup),
        crate::evaluation::record(evaluation_channels.clone(), &tokens, scored.clone())?,
    )
    .await;
    say(&format!("  {}", evaluation_record.line()));
    say("scenario: evaluation CalculateEvaluationResult");
    let evaluation_calculate = drive(
        closed_loop(c, seconds, warmup),
        crate::evaluation::calculate(evaluation_channels, &tokens, scored)?,
    )
    .await;
    say(&format!("  {}", evaluation_calculate.line()));
    idle.push(ServiceMemory::new(
        "evaluation",
        evaluation_idle,
        evaluation.memory()?,
    ));
    evaluation.stop().await?;
    let review = launcher.start("review", &[]).await?;
    let review_idle = review.memory()?;
    let review_channels = calls::channels(&review.grpc_url, 4).await?;
    crate::review::fixture(&nats.url(), &review.database_url).await?;
    say("scenario: review CreateScenarioApplication");
    let review_create = drive(
        closed_loop(c, seconds, warmup),
        crate::review::create(review_channels.clone(), &tokens)?,
    )
    .await;
    say(&format!("  {}", review_create.line()));
    say("scenario: review GetScenarioApplication");
    let read_name = crate::review::seed(review_channels[0].clone(), &tokens).await?;
    let review_get = drive(
        closed_loop(c, seconds, warmup),
        crate::review::get(review_channels, &tokens, read_name)?,
    )
    .await;
    say(&format!("  {}", review_get.line()));
    idle.push(ServiceMemory::new("review", review_idle, review.memory()?));
    review.stop().await?;
    let registry = launcher.start("registry", &[]).await?;
    let pricing = launcher.start("pricing", &[]).await?;
    let (registry_idle, pricing_idle) = (registry.memory()?, pricing.memory()?);
    let registry_channels = calls::channels(&registry.grpc_url, 4).await?;
    let pricing_channels = calls::channels(&pricing.grpc_url, 4).await?;
    let fixture =
        calls::registry_fixture(registry_channels[0].clone(), &tokens, args.incident_organizations).await?;
    calls::pricing_ready(pricing_channels[0].clone(), &tokens).await?;

    say("scenario: pricing PreviewMaxAllowedRevenue");
    let pricing_preview = drive(
        closed_loop(c, seconds, warmup),
        calls::pricing_preview(pricing_channels, &tokens)?,
    )
    .await;
    say(&format!("  {}", pricing_preview.line()));
    let pricing_end = pricing.memory()?;
    pricing.stop().await?;

    say("scenario: registry GetResource");
    let registry_get = drive(
        closed_loop(c, seconds, warmup),
        calls::registry_get(registry_channels.clone(), &tokens)?,
    )
    .await;
    say(&format!("  {}", registry_get.line()));

    say("baseline: pgbench, state + audit + outbox rows in one transaction");
    recreate_database(&admin_url, "pdop_bench_pgbench").await?;
    let pgbench = baselines::pgbench(
        &database_url_with_name(&admin_url, "pdop_bench_pgbench"),
        c,
        seconds.max(Duration::from_secs(1)),
        &args.work_dir,
    )
    .await?;
    say(&format!("  {}", pgbench.line()));

    say("scenario: registry CreateResource");
    let registry_create = drive(
        closed_loop(c, seconds, warmup),
        calls::registry_create(registry_channels.clone(), &tokens)?,
    )
    .await;
    say(&format!("  {}", registry_create.line()));

    say("baseline: JetStream publish with ack");
    let jetstream = baselines::jetstream(&nats.url(), closed_loop(c, seconds, warmup), 512).await?;
    say(&format!("  {}", jetstream.line()));

    say("scenario: event pipeline, registry writes → disclosure log");
    let disclosure = launcher.start("disclosure", &[]).await?;
    let disclosure_idle = disclosure.memory()?;
    let pipeline = Pipeline {
        registry: sqlx::PgPool::connect(&registry.database_url).await?,
        disclosure: sqlx::PgPool::connect(&disclosure.database_url).await?,
        concurrency: c,
        step_duration: seconds,
        drain_timeout: Duration::from_secs(30),
    };
    pipeline
        .settle(calls::registry_incident(
            registry_channels.clone(),
            &tokens,
            fixture.incident_orgs.clone(),
        )?)
        .await?;
    let mut steps = Vec::new();
    let mut highest = 0.0;
    for rate in &args.rates {
        let call =
            calls::registry_incident(registry_channels.clone(), &tokens, fixture.incident_orgs.clone())?;
        let step = pipeline.step(*rate, call).await?;
        say(&format!(
            "  {rate}/s: {:.0} writes/s, {} committed, {} lost, commit→entry p50 {:.1} ms p99 {:.1} ms{}",
            step.writes.throughput,
            step.committed,
            step.lost,
            step.p50_ms,
            step.p99_ms,
            if step.sustained { "" } else { " (not sustained)" }
        ));
        let sustained = step.sustained;
        if sustained {
            highest = *rate;
        }
        steps.push(step);
        if !sustained {
            break;
        }
    }

    say(&format!(
        "scenario: disclosure append from a backlog of {} events",
        args.backlog
    ));
    let disclosure_end = disclosure.memory()?;
    disclosure.stop().await?;
    let before = log_scale::log_size(&pipeline.disclosure).await;
    let call = calls::registry_incident(registry_channels.clone(), &tokens, fixture.incident_orgs.clone())?;
    let backlog = drive(
        crate::load::Load {
            concurrency: c,
            stop: crate::load::Stop::Count(args.backlog),
            warmup: Duration::ZERO,
            rate: None,
        },
        call,
    )
    .await;
    anyhow::ensure!(
        backlog.failed() == 0,
        "writing the backlog failed: {}",
        backlog.line()
    );
    let registry_end = registry.memory()?;
    let resumed = Instant::now();
    let disclosure = launcher.restart(disclosure_db_name(), "disclosure", &[]).await?;
    wait_log_size(
        &pipeline.disclosure,
        before + args.backlog,
        Duration::from_secs(300),
    )
    .await?;
    let append_per_second = args.backlog as f64 / resumed.elapsed().as_secs_f64();
    say(&format!(
        "  {append_per_second:.0} entries/s (including the consumer's start)"
    ));
    let disclosure_end = max_memory(disclosure_end, disclosure.memory()?);
    disclosure.stop().await?;
    registry.stop().await?;

    say(&format!(
        "scenario: inclusion proofs at {} entries",
        args.log_entries
    ));
    let (log_proc, build_seconds) = scale_log(&launcher, &admin_url, args.log_entries).await?;
    let log_channels = calls::channels(&log_proc.grpc_url, 4).await?;
    log_scale::wait_signed(
        log_channels[0].clone(),
        args.log_entries,
        Duration::from_secs(120),
    )
    .await?;
    let proof_latency = drive(
        closed_loop(1, seconds, warmup),
        calls::disclosure_proof(log_channels.clone(), args.log_entries)?,
    )
    .await;
    say(&format!("  1 caller: {}", proof_latency.line()));
    let proof_throughput = drive(
        closed_loop(c, seconds, warmup),
        calls::disclosure_proof(log_channels, args.log_entries)?,
    )
    .await;
    say(&format!("  {c} callers: {}", proof_throughput.line()));
    let disclosure_end = max_memory(disclosure_end, log_proc.memory()?);
    log_proc.stop().await?;

    idle.push(ServiceMemory::new("registry", registry_idle, registry_end));
    idle.push(ServiceMemory::new("pricing", pricing_idle, pricing_end));
    idle.push(ServiceMemory::new("disclosure", disclosure_idle, disclosure_end));
    idle.sort_by(|a, b| a.service.cmp(&b.service));

    let mut results = Results {
        date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
        quick: args.quick,
        machine,
        concurrency: c,
        seconds_per_scenario: args.seconds,
        baselines: Baselines {
            grpc_echo,
            pgbench_registry_write: pgbench,
            jetstream_publish: jetstream,
        },
        scenarios: Scenarios {
            pricing_preview,
            registry_get,
            registry_create,
            review_create,
            review_get,
            evaluation_record,
            evaluation_calculate,
            pipeline: steps,
            pipeline_highest_sustained_rate: highest,
            disclosure: DisclosureAtScale {
                append_backlog: args.backlog,
                append_per_second,
                log_entries: args.log_entries,
                build_seconds,
                proof_latency,
                proof_throughput,
            },
        },
        memory: idle,
        targets: Vec::new(),
    };
    results.check_targets();
    write(&args, &results)?;
    for db in [
        "pdop_bench_registry",
        "pdop_bench_pricing",
        "pdop_bench_disclosure",
        "pdop_bench_review",
        "pdop_bench_evaluation",
        "pdop_bench_pgbench",
    ] {
        drop_database(&admin_url, db).await?;
    }
    say(&format!("done in {:.0} s", started.elapsed().as_secs_f64()));
    Ok(())
}

fn disclosure_db_name() -> &'static str {
    "pdop_bench_disclosure"
}

fn max_memory(a: Memory, b: Memory) -> Memory {
    Memory {
        rss_mib: b.rss_mib,
        peak_mib: a.peak_mib.max(b.peak_mib),
    }
}

/// The log of `entries` entries in `pdop_bench_log_<entries>`, built unless an earlier run left it complete, with
/// a disclosure service started on it.
async fn scale_log(launcher: &Launcher, admin_url: &str, entries: u64) -> anyhow::Result<(ServiceProc, f64)> {
    let db = format!("pdop_bench_log_{entries}");
    let url = database_url_with_name(admin_url, &db);
    let existing = match sqlx::PgPool::connect(&url).await {
        Ok(pool) => {
            let size = log_scale::log_size(&pool).await;
            pool.close().await;
            size
        }
        Err(_) => 0,
    };
    let mut build_seconds = 0.0;
    if existing != entries {
        say(&format!(
            "  building the log of {entries} entries (kept in database {db} for later runs)"
        ));
        recreate_database(admin_url, &db).await?;
        // The service migrates its database on start; the log is then built beside it, stopped.
        launcher.restart(&db, "disclosure", &[]).await?.stop().await?;
        let pool = sqlx::PgPool::connect(&url).await?;
        build_seconds = log_scale::bulk_build(&pool, entries).await?.as_secs_f64();
        pool.close().await;
    } else {
        say(&format!(
            "  reusing the log of {entries} entries in database {db}"
        ));
    }
    Ok((launcher.restart(&db, "disclosure", &[]).await?, build_seconds))
}

async fn wait_log_size(pool: &sqlx::PgPool, size: u64, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while log_scale::log_size(pool).await < size {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the log did not reach {size} entries in {timeout:?}"
        );
        // Polling until the consumer has appended the backlog.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// This binary's echo server as a child process on a free port.
async fn echo_server() -> anyhow::Result<(Child, String)> {
    let port = free_port()?;
    let child = Command::new(std::env::current_exe()?)
        .args(["echo-server", "--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the echo server did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(pid) = child.id() {
        say(&format!(
            "  echo server idle RSS {:.1} MiB",
            memory_of(pid)?.rss_mib
        ));
    }
    Ok((child, format!("http://127.0.0.1:{port}")))
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = sqlx::PgPool::connect(admin_url).await?;
    sqlx::raw_sql(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(())
}

fn write(args: &SuiteArgs, results: &Results) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out_dir)?;
    let stem = if results.quick {
        format!("{}-quick", results.date)
    } else {
        results.date.clone()
    };
    let json = args.out_dir.join(format!("{stem}.json"));
    std::fs::write(&json, serde_json::to_vec_pretty(results)?)?;
    let table = results.markdown();
    std::fs::write(args.out_dir.join(format!("{stem}.md")), &table)?;
    println!("{table}");
    say(&format!("wrote {}", json.display()));
    if !results.quick {
        let readme = std::fs::read_to_string(&args.readme)
            .with_context(|| format!("reading {}", args.readme.display()))?;
        std::fs::write(&args.readme, replace_section(&readme, &table)?)?;
        say(&format!("updated the table in {}", args.readme.display()));
    }
    Ok(())
}

/// What this run ran on, as the kernel and the servers report it.
async fn machine(admin_url: &str) -> anyhow::Result<Machine> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let pool = sqlx::PgPool::connect(admin_url).await?;
    let postgres: String = sqlx::query_scalar("SHOW server_version").fetch_one(&pool).await?;
    pool.close().await;
    let nats = Command::new(nats_server_binary())
        .arg("--version")
        .output()
        .await?;
    Ok(Machine {
        cpu,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        memory_gib: memory_kib / 1024.0 / 1024.0,
        postgres: format!("PostgreSQL {}", postgres.split_whitespace().next().unwrap_or("?")),
        nats_server: String::from_utf8_lossy(&nats.stdout)
            .trim()
            .trim_start_matches("nats-server: ")
            .to_owned(),
    })
}
