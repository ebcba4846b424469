//! The public HTTP port: `pdop-verify`'s checks pass on an honest log and catch every kind of tampering with
//! the stored log; the feeds parse with a standard feed parser; the pages render.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_disclosure::verify::{Failure, Trusted, verify};

/// Runs `sql` with the append-only triggers off: what an attacker with database access would do.
async fn tamper(h: &Harness, table: &str, sql: &str) {
    let mut tx = h.db.pool.begin().await.unwrap();
    sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER USER"))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn get(url: &str) -> reqwest::Response {
    let response = reqwest::get(url).await.unwrap();
    assert!(response.status().is_success(), "{url}: {}", response.status());
    response
}

#[tokio::test]
async fn the_verifier_trusts_an_honest_log_and_follows_it() {
    let h = start().await;
    agreements(&h, 0..3).await;
    h.signed(3).await;
    let (trusted, report) = verify(&h.http, None, &[0, 1, 2]).await.unwrap();
    assert_eq!(report.tree_size, 3);
    assert_eq!(report.entries_checked, [0, 1, 2]);
    assert_eq!(report.consistent_with, None);

    agreements(&h, 3..5).await;
    h.signed(5).await;
    let (later, report) = verify(&h.http, Some(&trusted), &[4]).await.unwrap();
    assert_eq!(report.consistent_with, Some(3));
    assert_eq!(later.tree_size, 5);

    // A head the log never signed cannot be extended.
    let forged = Trusted {
        root_hash: later.root_hash.replace('A', "B").replace('a', "b"),
        ..trusted
    };
    let failure = verify(&h.http, Some(&forged), &[]).await.unwrap_err();
    assert!(matches!(failure, Failure::Inconsistent { .. }), "{failure}");
    // Nor can one from a bigger tree: the log cannot shrink.
    let bigger = Trusted {
        tree_size: 9,
        ..later
    };
    let failure = verify(&h.http, Some(&bigger), &[]).await.unwrap_err();
    assert!(
        matches!(failure, Failure::Shrunk { trusted: 9, now: 5 }),
        "{failure}"
    );
}

#[tokio::test]
async fn editing_a_stored_entry_is_detected() {
    let h = start().await;
    agreements(&h, 0..3).await;
    h.signed(3).await;
    // The published fields are changed but the leaf is not: the fields no longer rebuild the leaf.
    tamper(
        &h,
        "entries",
        "UPDATE entries SET body = (SELECT body FROM entries WHERE sequence = 2) WHERE sequence = 1",
    )
    .await;
    let failure = verify(&h.http, None, &[1]).await.unwrap_err();
    assert!(matches!(failure, Failure::LeafMismatch(1)), "{failure}");
    // The leaf is changed consistently with the fields: it is no longer in the signed tree.
    tamper(
        &h,
        "entries",
        "UPDATE entries SET leaf_input = (SELECT leaf_input FROM entries WHERE sequence = 2),
                            leaf_hash = (SELECT leaf_hash FROM entries WHERE sequence = 2) WHERE sequence = 1",
    )
    .await;
    let failure = verify(&h.http, None, &[1]).await.unwrap_err();
    assert!(matches!(failure, Failure::NotIncluded(1, _)), "{failure}");
}

#[tokio::test]
async fn editing_a_stored_tree_node_is_detected() {
    let h = start().await;
    agreements(&h, 0..4).await;
    h.signed(4).await;
    assert!(verify(&h.http, None, &[2]).await.is_ok());
    // Entry 2's audit path starts with its sibling, leaf 3.
    tamper(
        &h,
        "merkle_nodes",
        "UPDATE merkle_nodes SET hash = sha256(hash) WHERE level = 0 AND idx = 3",
    )
    .await;
    let failure = verify(&h.http, None, &[2]).await.unwrap_err();
    assert!(matches!(failure, Failure::NotIncluded(2, _)), "{failure}");
}

#[tokio::test]
async fn a_forged_tree_head_fails_its_signature() {
    let h = start().await;
    agreements(&h, 0..2).await;
    h.signed(2).await;
    // Same size and age, so the log does not sign anew: only the stored signature is altered.
    tamper(
        &h,
        "tree_heads",
        "UPDATE tree_heads SET signature = sha512(signature)",
    )
    .await;
    let failure = verify(&h.http, None, &[]).await.unwrap_err();
    assert!(matches!(failure, Failure::BadSignature(2)), "{failure}");
}

#[tokio::test]
async fn the_feeds_parse_and_the_pages_render() {
    let h = start().await;
    agreements(&h, 0..2).await;
    publish_cap(&h).await;
    h.signed(3).await;

    // RFC 4287 Atom, read by a standard parser; entry ids are the stable entry URLs.
    let atom = get(&format!("{}/feeds/all.atom", h.http))
        .await
        .text()
        .await
        .unwrap();
    let feed = feed_rs::parser::parse(atom.as_bytes()).unwrap();
    assert_eq!(feed.entries.len(), 3);
    // Newest first; the two producers' streams interleave in any order.
    let ids: Vec<String> = feed.entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        ids,
        [2, 1, 0].map(|n| format!("tag:disclosure.pdop.local,2025:entries/{n}"))
    );
    assert!(
        feed.entries
            .iter()
            .any(|e| e.title.as_ref().unwrap().content == "上限收费标准：企业信用画像接口")
    );
    // Filtered by organization (the discloser) and jurisdiction.
    let agency = get(&format!(
        "{}/feeds/all.atom?organization=organizations/agency&jurisdiction=jurisdictions/yunnan",
        h.http
    ))
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(
        feed_rs::parser::parse(agency.as_bytes()).unwrap().entries.len(),
        3
    );
    let none = get(&format!(
        "{}/feeds/all.atom?organization=organizations/nobody",
        h.http
    ))
    .await
    .text()
    .await
    .unwrap();
    assert!(
        feed_rs::parser::parse(none.as_bytes())
            .unwrap()
            .entries
            .is_empty()
    );

    // Named feeds: per jurisdiction × kind; unchanged pages answer 304 to a conditional request.
    let url = format!("{}/feeds/yunnan.cap-price.atom", h.http);
    let response = get(&url).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let caps = feed_rs::parser::parse(response.text().await.unwrap().as_bytes()).unwrap();
    assert_eq!(caps.entries.len(), 1);
    let again = reqwest::Client::new()
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), reqwest::StatusCode::NOT_MODIFIED);
    let missing = reqwest::get(format!("{}/feeds/all.rss", h.http)).await.unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    let mut client = h.client.clone();
    let feeds = client
        .list_feeds(pdop_proto::disclosure::v1::ListFeedsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .feeds;
    let count = |name: &str| feeds.iter().find(|f| f.name == name).map(|f| f.entry_count);
    assert_eq!(count("feeds/all"), Some(3));
    assert_eq!(count("feeds/yunnan"), Some(3));
    assert_eq!(count("feeds/cap-price"), Some(1));
    assert_eq!(count("feeds/yunnan.agreement-signed"), Some(2));
    let one = client
        .get_feed(pdop_proto::disclosure::v1::GetFeedRequest {
            name: "feeds/yunnan.cap-price".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .feed
        .unwrap();
    assert_eq!(one.atom_url, url);

    // JSON Feed 1.1.
    let json = get(&format!("{}/feeds/all.json", h.http))
        .await
        .text()
        .await
        .unwrap();
    let feed = feed_rs::parser::parse(json.as_bytes()).unwrap();
    assert_eq!(feed.entries.len(), 3);

    // The front page lists entries with their proof links, and its search box filters.
    let front = get(&format!("{}/", h.http)).await.text().await.unwrap();
    assert!(front.contains("<form method=\"get\" action=\"/\">"));
    assert!(front.contains("/log/v1/proof/inclusion?sequence=2"));
    assert!(front.contains("授权运营协议签订：授权运营协议1"));
    let searched = get(&format!("{}/?q=%E4%BF%A1%E7%94%A8%E7%94%BB%E5%83%8F", h.http))
        .await
        .text()
        .await
        .unwrap();
    assert!(searched.contains("企业信用画像接口"));
    assert!(!searched.contains("授权运营协议1"));
    let sequence: i64 = sqlx::query_scalar("SELECT sequence FROM entries WHERE subject = 'agreements/a0'")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    let page = get(&format!("{}/entries/{sequence}", h.http))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("云南数据运营有限公司"));
    let missing = reqwest::get(format!("{}/entries/99", h.http)).await.unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pdop_verify_remembers_the_head_it_trusted_and_fails_on_tampering() {
    let h = start().await;
    agreements(&h, 0..3).await;
    h.signed(3).await;
    let state = std::env::temp_dir().join(format!("pdop-verify-{}.json", uuid::Uuid::now_v7()));
    // Run from the test's own runtime without blocking it: the service answers on the same runtime.
    let run = |entries: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pdop-verify"));
        command.args(["--url", &h.http, "--state"]).arg(&state);
        for e in entries {
            command.args(["--entry", e]);
        }
        command.output()
    };
    let first = run(&["0", "2"]).await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let trusted: Trusted = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(trusted.tree_size, 3);

    agreements(&h, 3..4).await;
    h.signed(4).await;
    let second = run(&[]).await.unwrap();
    let said = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(second.status.success(), "{said}");
    assert!(
        said.contains("consistent with the trusted tree of 3 entries"),
        "{said}"
    );

    tamper(
        &h,
        "merkle_nodes",
        "UPDATE merkle_nodes SET hash = sha256(hash) WHERE level = 0 AND idx = 1",
    )
    .await;
    let third = run(&["0"]).await.unwrap();
    assert_eq!(
        third.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    // The failed run did not move the trusted head.
    let kept: Trusted = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(kept.tree_size, 4);
    std::fs::remove_file(&state).unwrap();
}

#[tokio::test]
async fn public_pages_carry_security_headers() {
    // THREATS L9: escaping is sound; the headers keep a slip in it from running script or framing the page.
    let h = start().await;
    agreements(&h, 0..1).await;
    h.signed(1).await;
    for path in ["/", "/?q=%3Cscript%3E", "/entries/0"] {
        let response = get(&format!("{}{path}", h.http)).await;
        let headers = response.headers();
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        let policy = header("content-security-policy").unwrap_or_default();
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{path}: {policy}");
        assert!(!policy.contains("script-src"), "{path}: no script is allowed");
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{path}"
        );
    }
}
