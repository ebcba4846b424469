//! The latest tree head as a C2SP tlog-checkpoint signed note (`/checkpoint`), checked with an independent
//! implementation of the signed-note format (the `signed_note` crate, a port of Go's `sumdb/note`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pdop_proto::disclosure::v1::LogKeyState;
use signed_note::{Note, NoteError, StandardVerifier, VerifierList};

/// The origin the harness's disclosure service runs with (its default configuration).
const ORIGIN: &str = "disclosure.pdop.local";

fn verifiers(vkey: &str) -> VerifierList {
    VerifierList::new(vec![Box::new(StandardVerifier::new(vkey).unwrap())])
}

#[tokio::test]
async fn the_checkpoint_of_the_latest_head_verifies_with_an_independent_note_verifier() {
    let mut h = common::start().await;
    common::agreements(&h, 0..3).await;
    h.signed(3).await;

    // The verifier key the log publishes is the one an outsider derives from the log's public key.
    let info = h.log_info().await;
    let active = info
        .keys
        .iter()
        .find(|k| k.state == LogKeyState::Active as i32)
        .unwrap();
    let public = ed25519_dalek::SigningKey::from_bytes(&common::SEED).verifying_key();
    let vkey = signed_note::new_ed25519_verifier_key(ORIGIN, &public);
    assert_eq!(active.checkpoint_verifier_key, vkey);

    let served = reqwest::get(format!("{}/checkpoint", h.http)).await.unwrap();
    assert_eq!(served.headers()["content-type"], "text/plain; charset=utf-8");
    let text = served.text().await.unwrap();
    let note = Note::from_bytes(text.as_bytes()).unwrap();
    let (verified, unverified) = note.verify(&verifiers(&vkey)).unwrap();
    assert_eq!((verified.len(), unverified.len()), (1, 0));
    assert_eq!(verified[0].name(), ORIGIN);

    // tlog-checkpoint: origin, tree size, base64 root hash — those of the newest signed tree head.
    let head = h.tree_head(0).await;
    let body = std::str::from_utf8(note.text()).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], ORIGIN);
    assert_eq!(lines[1], head.tree_size.to_string());
    assert_eq!(lines[1], "3");
    assert_eq!(STANDARD.decode(lines[2]).unwrap(), head.root_hash);

    // A changed size no longer verifies under the log's key.
    let forged = text.replacen("\n3\n", "\n4\n", 1);
    let forged = Note::from_bytes(forged.as_bytes()).unwrap();
    assert!(matches!(
        forged.verify(&verifiers(&vkey)),
        Err(NoteError::InvalidSignature { .. })
    ));

    // A later head is what the checkpoint then shows.
    common::agreements(&h, 3..5).await;
    h.signed(5).await;
    let text = h.public_text("/checkpoint").await;
    let note = Note::from_bytes(text.as_bytes()).unwrap();
    note.verify(&verifiers(&vkey)).unwrap();
    assert_eq!(
        std::str::from_utf8(note.text()).unwrap().lines().nth(1),
        Some("5")
    );
}

#[tokio::test]
async fn an_origin_that_cannot_name_a_note_key_stops_start_up() {
    let env = pdop_testkit::TestEnv::new().await.unwrap();
    let db = env.fresh_database().await.unwrap();
    let refused = pdop_testkit::spawn_service::<pdop_disclosure::Disclosure>(
        &db,
        &env.nats_url,
        &env.namespace,
        &[("disclosure.origin", "pdop disclosure+log".to_owned())],
    )
    .await;
    let err = format!("{:#}", refused.err().unwrap());
    assert!(err.contains("disclosure.origin"), "{err}");
}

#[tokio::test]
async fn a_tree_head_row_the_log_did_not_sign_is_never_signed_as_a_checkpoint() {
    let h = common::start().await;
    common::agreements(&h, 0..2).await;
    h.signed(2).await;
    // A row written straight into the table, as by someone with database access: size 99, a made-up root.
    sqlx::query(
        "INSERT INTO tree_heads (tree_size, root_hash, timestamp_ms, signature, key_id)
         SELECT 99, decode(repeat('ab', 32), 'hex'), timestamp_ms + 1, signature, key_id
         FROM tree_heads ORDER BY id DESC LIMIT 1",
    )
    .execute(&h.db.pool)
    .await
    .unwrap();
    let url = format!("{}/checkpoint", h.http);
    pdop_testkit::wait_until(
        "the checkpoint refuses the forged head",
        std::time::Duration::from_secs(10),
        || async {
            let response = reqwest::get(&url).await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            assert!(!text.contains("\n99\n"), "the forged head was signed: {text}");
            status == reqwest::StatusCode::SERVICE_UNAVAILABLE
        },
    )
    .await
    .unwrap();
}
