use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::wait::{free_port, wait_until};

/// A `nats-server` with JetStream owned by one test, on a free port, with its own store directory.
/// Stopping and starting it again keeps the port and the stored streams, as a real outage would.
/// The process is killed when this value is dropped.
pub struct PrivateNats {
    port: u16,
    store: PathBuf,
    child: Option<Child>,
}

impl PrivateNats {
    pub async fn start() -> anyhow::Result<Self> {
        let port = free_port()?;
        let store = std::env::temp_dir().join(format!("pdop-nats-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&store)?;
        let mut server = Self {
            port,
            store,
            child: None,
        };
        server.resume().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (by the PID this value started) and waits until the port is closed.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.context("stopping the private nats-server")?;
        }
        let addr = format!("127.0.0.1:{}", self.port);
        wait_until(
            "the private nats-server port is closed",
            Duration::from_secs(10),
            || async { tokio::net::TcpStream::connect(&addr).await.is_err() },
        )
        .await
    }

    /// Starts the server again on the same port and store, and waits until it accepts connections.
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        let child = Command::new(nats_server_binary())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context(
                "starting nats-server (install the Debian package nats-server, or set NATS_SERVER_BIN)",
            )?;
        self.child = Some(child);
        let url = self.url();
        wait_until(
            "the private nats-server accepts clients",
            Duration::from_secs(15),
            || async {
                // The server accepts clients only after JetStream has started.
                match async_nats::connect(&url).await {
                    Ok(client) => client.flush().await.is_ok(),
                    Err(_) => false,
                }
            },
        )
        .await
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// The `nats-server` to start: `NATS_SERVER_BIN`, else Debian's /usr/sbin/nats-server, else the one on PATH.
pub fn nats_server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("NATS_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let sbin = PathBuf::from("/usr/sbin/nats-server");
    if sbin.exists() {
        sbin
    } else {
        PathBuf::from("nats-server")
    }
}
