use anyhow::Context;
use pdop_kit::events::Namespace;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

/// Where a test finds PostgreSQL and NATS. Containers (if any) live as long as this value; the test's
/// NATS streams on `nats_url` are deleted when it is dropped.
pub struct TestEnv {
    /// URL of a database the test may use to create others (the server's maintenance database).
    pub database_url: String,
    pub nats_url: String,
    /// The test's own NATS namespace (`t<12 hex digits>`): its services and `publish_as_relay` use it, so a test
    /// never touches the streams, subjects or durables of a deployment on the same server (THREATS M15).
    pub namespace: Namespace,
    _containers: Vec<crate::containers::Held>,
}

impl TestEnv {
    /// `DATABASE_URL` and `NATS_URL` when set; otherwise containers when a Docker engine answers;
    /// otherwise the local defaults (`make test` starts them).
    pub async fn new() -> anyhow::Result<Self> {
        let db = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty());
        let nats = std::env::var("NATS_URL").ok().filter(|v| !v.is_empty());
        let mut containers = Vec::new();
        let database_url = match db {
            Some(url) => url,
            None => crate::containers::postgres(&mut containers)
                .await?
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
        };
        let nats_url = match nats {
            Some(url) => url,
            None => crate::containers::nats(&mut containers)
                .await?
                .unwrap_or_else(|| DEFAULT_NATS_URL.to_owned()),
        };
        Ok(Self {
            database_url,
            nats_url,
            namespace: test_namespace(),
            _containers: containers,
        })
    }

    /// Creates an empty database named `test_<uuid>`. `make test` drops leftovers before each run.
    pub async fn fresh_database(&self) -> anyhow::Result<TestDb> {
        let name = format!("test_{}", uuid::Uuid::now_v7().simple());
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.database_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", redact(&self.database_url)))?;
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await?;
        admin.close().await;
        let url = database_url_with_name(&self.database_url, &name);
        let pool = PgPoolOptions::new().max_connections(5).connect(&url).await?;
        Ok(TestDb { name, url, pool })
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        crate::streams::drop_namespace_streams_blocking(&self.nats_url, &self.namespace);
    }
}

/// A fresh namespace `t` + 12 hex digits, the shape `make test` recognises as a test's leftovers.
fn test_namespace() -> Namespace {
    // The tail of a UUIDv7 is random; its head is a timestamp shared by tests started together.
    let id = uuid::Uuid::now_v7().simple().to_string();
    match Namespace::new(format!("t{}", &id[id.len() - 12..])) {
        Ok(namespace) => namespace,
        Err(err) => unreachable!("{err}"),
    }
}

/// A database of one test's own.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

/// Replaces the database name in a PostgreSQL URL, keeping credentials, host and query.
pub fn database_url_with_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}***{}", &url[..scheme + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            database_url_with_name("postgres://u:p@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(database_url_with_name("postgres://h", "t1"), "postgres://h/t1");
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://***@h/db");
    }

    #[test]
    fn each_test_gets_a_namespace_of_its_own_that_cleanup_recognises() {
        let (a, b) = (test_namespace(), test_namespace());
        assert_ne!(a, b);
        assert!(crate::streams::is_test_stream(&a.stream("registry")), "{a}");
        assert!(crate::streams::is_test_stream(&a.dead_letter_stream()), "{a}");
    }
}
