//! PostgreSQL and NATS in containers, where a Docker engine answers and neither `DATABASE_URL` nor `NATS_URL` is
//! set. Behind the default feature `containers`, so tools that never start containers do not build testcontainers.

/// A started container, kept alive as long as the test environment holds it.
pub type Held = Box<dyn std::any::Any + Send + Sync>;

#[cfg(feature = "containers")]
mod engine {
    use std::path::Path;

    use anyhow::Context;
    use testcontainers::core::{IntoContainerPort, WaitFor};
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{ContainerAsync, GenericImage, ImageExt};

    use super::Held;

    fn docker_available() -> bool {
        std::env::var("DOCKER_HOST").is_ok() || Path::new("/var/run/docker.sock").exists()
    }

    async fn postgres_container() -> anyhow::Result<(ContainerAsync<GenericImage>, String)> {
        let container = GenericImage::new("postgres", "16-alpine")
            .with_exposed_port(5432.tcp())
            .with_wait_for(WaitFor::message_on_stderr(
                "database system is ready to accept connections",
            ))
            .with_env_var("POSTGRES_HOST_AUTH_METHOD", "trust")
            .start()
            .await
            .context("starting a PostgreSQL container")?;
        let port = container.get_host_port_ipv4(5432.tcp()).await?;
        Ok((
            container,
            format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        ))
    }

    async fn nats_container() -> anyhow::Result<(ContainerAsync<GenericImage>, String)> {
        let container = GenericImage::new("nats", "2.10-alpine")
            .with_exposed_port(4222.tcp())
            .with_wait_for(WaitFor::message_on_stderr("Server is ready"))
            .with_cmd(["-js"])
            .start()
            .await
            .context("starting a NATS container")?;
        let port = container.get_host_port_ipv4(4222.tcp()).await?;
        Ok((container, format!("nats://127.0.0.1:{port}")))
    }

    /// A PostgreSQL container's URL, or `None` without a Docker engine.
    pub async fn postgres(held: &mut Vec<Held>) -> anyhow::Result<Option<String>> {
        if !docker_available() {
            return Ok(None);
        }
        let (container, url) = postgres_container().await?;
        held.push(Box::new(container));
        Ok(Some(url))
    }

    /// A NATS (JetStream) container's URL, or `None` without a Docker engine.
    pub async fn nats(held: &mut Vec<Held>) -> anyhow::Result<Option<String>> {
        if !docker_available() {
            return Ok(None);
        }
        let (container, url) = nats_container().await?;
        held.push(Box::new(container));
        Ok(Some(url))
    }
}

#[cfg(feature = "containers")]
pub use engine::{nats, postgres};

/// Without the `containers` feature there is never a container.
#[cfg(not(feature = "containers"))]
pub async fn postgres(_held: &mut Vec<Held>) -> anyhow::Result<Option<String>> {
    Ok(None)
}

/// Without the `containers` feature there is never a container.
#[cfg(not(feature = "containers"))]
pub async fn nats(_held: &mut Vec<Held>) -> anyhow::Result<Option<String>> {
    Ok(None)
}
