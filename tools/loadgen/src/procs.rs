//! The services under test as separate processes (the release binaries, as deployed), each on free ports against
//! a database of its own, and what the kernel says about their memory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tokio::process::{Child, Command};

use pdop_testkit::{database_url_with_name, free_port};

/// A service process this run started; killed (by its own PID) when dropped.
pub struct ServiceProc {
    pub name: String,
    pub grpc_url: String,
    pub database_url: String,
    child: Child,
}

/// Resident memory in MiB: now (`VmRSS`) and the highest so far (`VmHWM`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Memory {
    pub rss_mib: f64,
    pub peak_mib: f64,
}

/// Where the binaries are and what they connect to.
pub struct Launcher {
    pub bin_dir: PathBuf,
    pub admin_database_url: String,
    pub nats_url: String,
    pub dev_secret: String,
    pub log_dir: PathBuf,
}

impl Launcher {
    /// Recreates database `pdop_bench_<service>` and starts `pdop-<service>` on it; returns once it is SERVING.
    pub async fn start(&self, service: &str, extra_env: &[(&str, String)]) -> anyhow::Result<ServiceProc> {
        let database = format!("pdop_bench_{service}");
        recreate_database(&self.admin_database_url, &database).await?;
        self.restart(&database, service, extra_env).await
    }

    /// Starts `pdop-<service>` on the existing database `database` (its data kept); returns once it is SERVING.
    pub async fn restart(
        &self,
        database: &str,
        service: &str,
        extra_env: &[(&str, String)],
    ) -> anyhow::Result<ServiceProc> {
        let database_url = database_url_with_name(&self.admin_database_url, database);
        let (grpc, admin) = (free_port()?, free_port()?);
        let http = (service == "disclosure").then(free_port).transpose()?;
        std::fs::create_dir_all(&self.log_dir)?;
        let log = std::fs::File::create(self.log_dir.join(format!("{service}.log")))?;
        let binary = self.bin_dir.join(format!("pdop-{service}"));
        let mut command = Command::new(&binary);
        command
            .env("PDOP_DATABASE__URL", &database_url)
            .env("PDOP_NATS__URL", &self.nats_url)
            .env("PDOP_AUTH__DEV_MODE", "true")
            .env("PDOP_AUTH__DEV_SECRET", &self.dev_secret)
            .env("PDOP_GRPC__ADDR", format!("127.0.0.1:{grpc}"))
            .env("PDOP_ADMIN__ADDR", format!("127.0.0.1:{admin}"));
        if let Some(port) = http {
            command.env("PDOP_DISCLOSURE__HTTP_ADDR", format!("127.0.0.1:{port}"));
        }
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (build it with cargo build --release)",
                    binary.display()
                )
            })?;
        let mut proc = ServiceProc {
            name: service.to_owned(),
            grpc_url: format!("http://127.0.0.1:{grpc}"),
            database_url,
            child,
        };
        proc.wait_serving(admin, &self.log_dir).await?;
        Ok(proc)
    }
}

impl ServiceProc {
    async fn wait_serving(&mut self, admin: u16, log_dir: &Path) -> anyhow::Result<()> {
        let url = format!("http://127.0.0.1:{admin}/healthz");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "{} exited ({status}) before SERVING; see {}",
                    self.name,
                    log_dir.join(format!("{}.log", self.name)).display()
                );
            }
            if http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "{} not SERVING after 60 s", self.name);
            // Polling the health endpoint until the condition holds.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        let pid = self.child.id().context("the service has exited")?;
        memory_of(pid)
    }

    /// Stops the process (SIGKILL to the PID this run started) and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

pub fn memory_of(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .with_context(|| format!("no {key} in /proc/{pid}/status"))?;
        let value: f64 = line[key.len()..].trim().trim_end_matches("kB").trim().parse()?;
        Ok(value)
    };
    Ok(Memory {
        rss_mib: kib("VmRSS:")? / 1024.0,
        peak_mib: kib("VmHWM:")? / 1024.0,
    })
}

/// Drops (terminating its sessions) and creates database `name` on the server of `admin_url`.
pub async fn recreate_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = sqlx::PgPool::connect(admin_url)
        .await
        .context("connecting to PostgreSQL (DATABASE_URL)")?;
    sqlx::raw_sql(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
        .execute(&admin)
        .await?;
    sqlx::raw_sql(&format!(r#"CREATE DATABASE "{name}""#))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_memory() {
        let m = memory_of(std::process::id()).unwrap_or_else(|e| panic!("{e}"));
        assert!(m.rss_mib > 0.0 && m.peak_mib >= m.rss_mib, "{m:?}");
    }
}
