//! The audit chain against real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::migrated_db;
use pdop_kit::audit::{self, AuditRecord, ChainError};
use pdop_testkit::TestEnv;
use sqlx::PgPool;

async fn append(pool: &PgPool, resource: &str) {
    let mut tx = pool.begin().await.unwrap();
    let record = AuditRecord {
        actor: "u1",
        actor_org: "organizations/o1",
        action: "registry.CreateResource",
        resource,
        detail: serde_json::json!({ "title": resource, "grade": "general" }),
    };
    audit::append(&mut tx, record).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn intact_chain_verifies() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    for i in 0..3 {
        append(&db.pool, &format!("resources/{i}")).await;
    }
    assert_eq!(audit::verify_chain(&db.pool).await, Ok(3));
}

#[tokio::test]
async fn database_refuses_to_edit_audit_rows() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    append(&db.pool, "resources/1").await;
    // Unsealed or sealed, a row's content cannot change; a sealed row cannot be sealed again.
    let edit = sqlx::query("UPDATE audit_log SET actor = 'someone else'")
        .execute(&db.pool)
        .await;
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    assert_eq!(audit::seal(&db.pool).await.unwrap(), 1);
    let edit = sqlx::query("UPDATE audit_log SET actor = 'someone else'")
        .execute(&db.pool)
        .await;
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    let reseal = sqlx::query("UPDATE audit_log SET chain_pos = 7, hash = '\\x00'")
        .execute(&db.pool)
        .await;
    assert!(reseal.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_log").execute(&db.pool).await;
    assert!(delete.is_err());
    // A writer may not bring a hash of its own: only the sealer chains rows, each whole.
    let pre_hashed = sqlx::query(
        "INSERT INTO audit_log (actor, action, resource, detail, occurred_at, prev_hash, hash)
         VALUES ('u', 'a', 'r', '{}', now(), '\\x00', '\\x01')",
    )
    .execute(&db.pool)
    .await;
    assert!(
        pre_hashed
            .unwrap_err()
            .to_string()
            .contains("audit_log_sealed_whole")
    );
}

#[tokio::test]
async fn verifier_detects_an_edited_row() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    for i in 0..3 {
        append(&db.pool, &format!("resources/{i}")).await;
    }
    assert_eq!(audit::seal(&db.pool).await.unwrap(), 3);
    // Someone with superuser rights bypasses the append-only trigger and rewrites sealed history.
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET detail = '{\"grade\":\"core\"}' WHERE seq = 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        audit::verify_chain(&db.pool).await,
        Err(ChainError::Altered { seq: 2 })
    );
}

#[tokio::test]
async fn verifier_detects_a_removed_row() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    for i in 0..3 {
        append(&db.pool, &format!("resources/{i}")).await;
    }
    assert_eq!(audit::seal(&db.pool).await.unwrap(), 3);
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        audit::verify_chain(&db.pool).await,
        Err(ChainError::Gap {
            expected: 2,
            found: 3
        })
    );
}

#[tokio::test]
async fn writers_do_not_wait_for_each_other_and_a_late_commit_is_chained_after() {
    let env = TestEnv::new().await.unwrap();
    let db = migrated_db(&env).await;
    // A holds its audit row uncommitted while B appends and commits: B must not wait for A.
    let mut a = db.pool.begin().await.unwrap();
    let record = AuditRecord {
        actor: "u1",
        actor_org: "organizations/o1",
        action: "registry.CreateResource",
        resource: "resources/a",
        detail: serde_json::json!({}),
    };
    let a_seq = audit::append(&mut a, record).await.unwrap();
    // A bound, not a measurement: under a chain lock held to commit, B would wait for A forever.
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        append(&db.pool, "resources/b"),
    )
    .await
    .expect("B's append and commit waited for A's open transaction");
    assert_eq!(
        audit::seal(&db.pool).await.unwrap(),
        1,
        "only B's committed row is sealed"
    );
    a.commit().await.unwrap();
    // A's row has the lower sequence but committed later: it takes the next place in the chain.
    assert_eq!(audit::verify_chain(&db.pool).await, Ok(2));
    let place: i64 = sqlx::query_scalar("SELECT chain_pos FROM audit_log WHERE seq = $1")
        .bind(a_seq)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(place, 2);
}
