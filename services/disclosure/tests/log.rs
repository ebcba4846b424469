//! The disclosure log over gRPC: the other services' public facts become entries exactly once, every entry is
//! in a signed tree head, and its inclusion and the log's consistency verify with an independent verifier
//! (pdop_merkle) against the published key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_merkle::{Hash, leaf_hash, verify_consistency, verify_inclusion};
use pdop_proto::disclosure::v1::get_inclusion_proof_request::Leaf;
use pdop_proto::disclosure::v1::*;
use pdop_proto::registry::events::v1::OrganizationCreated;
use prost::Message;
use tonic::Code;

fn hash(bytes: &[u8]) -> Hash {
    bytes.try_into().unwrap()
}

#[tokio::test]
async fn public_facts_become_entries_once_and_verify_against_signed_heads() {
    let mut h = start().await;
    h.publish(
        "pdop.registry.agreement.signed",
        "e-1",
        "m-1",
        "agreements/a1",
        signed(1),
    )
    .await;
    // The two producers' streams are consumed independently: wait, so the order of the entries is known.
    h.until("the agreement is entry 0", "SELECT count(*) = 1 FROM entries")
        .await;
    h.publish(
        "pdop.pricing.cap_price.published",
        "e-2",
        "m-2",
        "capPrices/c1",
        cap(),
    )
    .await;
    h.signed(2).await;
    let first = h.tree_head(2).await;

    // Not a public fact: no entry. A redelivery of e-1 under another message id: no second entry.
    let created = OrganizationCreated::default().encode_to_vec();
    h.publish(
        "pdop.registry.organization.created",
        "e-3",
        "m-3",
        "organizations/x",
        created,
    )
    .await;
    h.publish(
        "pdop.registry.agreement.signed",
        "e-1",
        "m-1-again",
        "agreements/a1",
        signed(1),
    )
    .await;
    agreements(&h, 2..5).await;
    h.signed(5).await;
    h.until(
        "the redelivery and the private fact are consumed",
        "SELECT count(*) = 6 FROM inbox",
    )
    .await;
    let entries = h
        .client
        .list_entries(ListEntriesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(entries.len(), 5, "one entry per public event");
    assert_eq!(
        entries.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    let a1 = &entries[0];
    assert_eq!(a1.kind, EntryKind::AgreementSigned as i32);
    assert_eq!(a1.subject, "agreements/a1");
    assert_eq!(a1.title, "授权运营协议签订：授权运营协议1");
    assert_eq!(a1.jurisdiction.as_ref().unwrap().name, "jurisdictions/yunnan");
    assert_eq!(a1.discloser.as_ref().unwrap().name, "organizations/agency");
    assert_eq!(a1.source.as_ref().unwrap().event_id, "e-1");
    let body = a1.body.as_ref().unwrap();
    assert!(
        body.fields
            .iter()
            .any(|f| f.key == "operator" && f.value == "organizations/operator")
    );
    assert!(
        !format!("{a1:?}").contains("staff-secret-7"),
        "the acting person is not disclosed"
    );
    assert_eq!(entries[1].kind, EntryKind::CapPrice as i32);
    assert_eq!(entries[1].title, "上限收费标准：企业信用画像接口");

    // Anyone can rebuild each leaf from the entry and check it against the signed root.
    let latest = h.tree_head(0).await;
    assert_eq!(latest.tree_size, 5);
    let info = h.log_info().await;
    let key = &info.keys[0];
    assert_eq!(key.key_id, latest.key_id);
    let millis = |head: &SignedTreeHead| {
        let t = head.timestamp.unwrap();
        u64::try_from(t.seconds * 1000 + i64::from(t.nanos / 1_000_000)).unwrap()
    };
    for head in [&first, &latest] {
        let size = u64::try_from(head.tree_size).unwrap();
        assert!(pdop_disclosure::signer::verify(
            &key.public_key,
            millis(head),
            size,
            &hash(&head.root_hash),
            &head.signature
        ));
    }
    let root = hash(&latest.root_hash);
    for entry in &entries {
        assert_eq!(
            pdop_disclosure::leaf::leaf_input(entry).unwrap(),
            entry.leaf_input
        );
        assert_eq!(leaf_hash(&entry.leaf_input).to_vec(), entry.leaf_hash);
        let proof = h
            .client
            .get_inclusion_proof(GetInclusionProofRequest {
                leaf: Some(Leaf::Sequence(entry.sequence)),
                tree_size: 0,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(proof.leaf_hash, entry.leaf_hash);
        let path: Vec<Hash> = proof.audit_path.iter().map(|p| hash(p)).collect();
        verify_inclusion(
            &hash(&entry.leaf_hash),
            u64::try_from(entry.sequence).unwrap(),
            5,
            &path,
            &root,
        )
        .unwrap();
    }
    let by_hash = h
        .client
        .get_inclusion_proof(GetInclusionProofRequest {
            leaf: Some(Leaf::LeafHash(entries[3].leaf_hash.clone())),
            tree_size: 5,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_hash.leaf_index, 3);
    assert_eq!(by_hash.tree_head.unwrap().root_hash, latest.root_hash);

    // In an earlier tree: the proof is for that size and carries the head signed at it.
    let earlier = h
        .client
        .get_inclusion_proof(GetInclusionProofRequest {
            leaf: Some(Leaf::Sequence(1)),
            tree_size: 2,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(earlier.tree_head.unwrap().root_hash, first.root_hash);
    let path: Vec<Hash> = earlier.audit_path.iter().map(|p| hash(p)).collect();
    verify_inclusion(&hash(&entries[1].leaf_hash), 1, 2, &path, &hash(&first.root_hash)).unwrap();
    // A leaf the tree does not reach yet names the size; a leaf that does not exist is not found.
    let err = h
        .client
        .get_inclusion_proof(GetInclusionProofRequest {
            leaf: Some(Leaf::Sequence(3)),
            tree_size: 2,
        })
        .await
        .unwrap_err();
    pdop_testkit::assert_invalid(&err, &["tree_size"]);
    let err = h
        .client
        .get_inclusion_proof(GetInclusionProofRequest {
            leaf: Some(Leaf::Sequence(99)),
            tree_size: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // The tree of 2 is a prefix of the tree of 5.
    let consistency = h
        .client
        .get_consistency_proof(GetConsistencyProofRequest {
            first_tree_size: 2,
            second_tree_size: 5,
        })
        .await
        .unwrap()
        .into_inner();
    let proof: Vec<Hash> = consistency.proof.iter().map(|p| hash(p)).collect();
    verify_consistency(2, 5, &hash(&first.root_hash), &root, &proof).unwrap();

    // Sizes beyond the latest signed head are out of range; malformed ones are named.
    let err = h
        .client
        .get_inclusion_proof(GetInclusionProofRequest {
            leaf: Some(Leaf::Sequence(0)),
            tree_size: 6,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange);
    let err = h
        .client
        .get_consistency_proof(GetConsistencyProofRequest {
            first_tree_size: 0,
            second_tree_size: 5,
        })
        .await
        .unwrap_err();
    pdop_testkit::assert_invalid(&err, &["first_tree_size"]);
    let err = h
        .client
        .get_entry(GetEntryRequest {
            name: "entries/99".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn the_log_refuses_edits_and_deletions_at_the_database() {
    let h = start().await;
    h.publish(
        "pdop.registry.agreement.signed",
        "e-1",
        "m-1",
        "agreements/a1",
        signed(1),
    )
    .await;
    h.signed(1).await;
    for sql in [
        "UPDATE entries SET subject = 'agreements/forged'",
        "DELETE FROM entries",
        "UPDATE merkle_nodes SET hash = '\\x00'",
        "DELETE FROM tree_heads",
    ] {
        let err = sqlx::query(sql).execute(&h.db.pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn listing_filters_and_pages_by_sequence() {
    let mut h = start().await;
    agreements(&h, 0..3).await;
    publish_cap(&h).await;
    h.signed(4).await;
    let page = |token: String| ListEntriesRequest {
        page_size: 2,
        page_token: token,
        ..Default::default()
    };
    let first = h
        .client
        .list_entries(page(String::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.entries.len(), 2);
    let second = h
        .client
        .list_entries(page(first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        second.entries.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(second.next_page_token.is_empty());
    let caps = h
        .client
        .list_entries(ListEntriesRequest {
            kinds: vec![EntryKind::CapPrice as i32],
            jurisdiction: "jurisdictions/yunnan".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(caps.len(), 1);
    let by_subject = h
        .client
        .list_entries(ListEntriesRequest {
            subject: "agreements/a1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(by_subject.len(), 1);
    let err = h
        .client
        .list_entries(ListEntriesRequest {
            discloser: "agency".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    pdop_testkit::assert_invalid(&err, &["discloser"]);
}

#[tokio::test]
async fn a_subscription_resumes_after_reconnecting_without_gaps() {
    let mut h = start().await;
    agreements(&h, 0..3).await;
    h.signed(3).await;
    let mut received = Vec::new();
    {
        let mut stream = h
            .client
            .subscribe_entries(SubscribeEntriesRequest::default())
            .await
            .unwrap()
            .into_inner();
        while received.len() < 2 {
            if let Some(subscribe_entries_response::Item::Entry(e)) =
                stream.message().await.unwrap().unwrap().item
            {
                received.push(e.sequence);
            }
        }
        // The client goes away after two entries.
    }
    agreements(&h, 3..6).await;
    let mut stream = h
        .client
        .subscribe_entries(SubscribeEntriesRequest {
            start_sequence: received.last().unwrap() + 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut saw_head = false;
    while received.len() < 6 || !saw_head {
        match stream.message().await.unwrap().unwrap().item {
            Some(subscribe_entries_response::Item::Entry(e)) => received.push(e.sequence),
            Some(subscribe_entries_response::Item::TreeHead(_)) => saw_head = true,
            None => {}
        }
    }
    assert_eq!(received, [0, 1, 2, 3, 4, 5]);
    assert!(saw_head, "tree heads are interleaved");
}

// N4 / N1 §五: a published cap that stops applying (product withdrawn, period over) is disclosed as ended.
#[tokio::test]
async fn an_ended_cap_is_disclosed() {
    let h = start().await;
    let ended = pdop_proto::pricing::events::v1::CapPriceEnded {
        cap_price: pdop_proto::pricing::events::v1::CapPricePublished::decode(cap().as_slice())
            .unwrap()
            .cap_price,
        reason: "PRODUCT_WITHDRAWN".into(),
        ..Default::default()
    };
    h.publish(
        "pdop.pricing.cap_price.ended",
        "e-end",
        "m-end",
        "capPrices/c1",
        ended.encode_to_vec(),
    )
    .await;
    h.until(
        "the end is an entry",
        "SELECT count(*) = 1 FROM entries WHERE source_event_id = 'e-end'",
    )
    .await;
    let body: Vec<u8> = sqlx::query_scalar("SELECT body FROM entries WHERE source_event_id = 'e-end'")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    let entry = pdop_proto::disclosure::v1::Entry::decode(body.as_slice()).unwrap();
    assert!(entry.title.starts_with("上限收费标准终止"), "{}", entry.title);
    assert_eq!(entry.kind, pdop_proto::disclosure::v1::EntryKind::CapPrice as i32);
}
