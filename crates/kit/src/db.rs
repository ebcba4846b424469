//! PostgreSQL: the pool, creating the service's database when it is missing, and migrations.
//!
//! Migrations run at start-up. sqlx's migrator holds a PostgreSQL advisory lock while it runs, so
//! several replicas starting at once apply each migration exactly once. The kit's own tables (outbox,
//! inbox, audit log, idempotency) are applied first, then the service's.

use std::str::FromStr;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::config::DatabaseSettings;

/// Connects to the configured database, creating it first when it does not exist.
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(settings.url.expose_secret())
        .context("database.url is not a valid PostgreSQL URL")?;
    create_database_if_missing(&options).await?;
    pool_options(settings)
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL (database.url)")
}

/// How every service pools its connections. A pooled connection is not pinged before each use: the ping
/// doubled the round trips of a one-query request. The price: a connection that died while idle (a database
/// restart) fails the one request that next uses it, instead of being replaced unseen.
pub fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(false)
}

/// Creates the database named in `options` through the server's `postgres` database.
pub async fn create_database_if_missing(options: &PgConnectOptions) -> anyhow::Result<()> {
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .context("connecting to PostgreSQL to check the database exists (database.url)")?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await?;
    if !exists {
        let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&statement).execute(&mut admin).await {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another replica created it between the check and the create.
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P04") => {}
            Err(err) => return Err(err).with_context(|| format!("creating database {name}")),
        }
    }
    admin.close().await.ok();
    Ok(())
}

/// Applies the kit's migrations and then the service's (from `sqlx::migrate!()`), each under sqlx's
/// advisory lock.
pub async fn migrate(pool: &PgPool, service: Migrator) -> anyhow::Result<()> {
    run_migrator(pool, sqlx::migrate!("./migrations"), "kit").await?;
    run_migrator(pool, service, "service").await
}

async fn run_migrator(pool: &PgPool, mut migrator: Migrator, which: &str) -> anyhow::Result<()> {
    // Both migrators share `_sqlx_migrations`; each must ignore the other's versions.
    migrator.set_ignore_missing(true);
    migrator.set_locking(true);
    migrator
        .run(pool)
        .await
        .with_context(|| format!("applying {which} migrations"))?;
    Ok(())
}

/// Opens one connection outside the pool (for LISTEN and session advisory locks).
pub async fn dedicated_connection(pool: &PgPool) -> anyhow::Result<PgConnection> {
    let options = pool.connect_options();
    PgConnection::connect_with(&options)
        .await
        .context("opening a dedicated PostgreSQL connection")
}
