//! The verifier behind `pdop-verify`: it trusts nothing the log says without checking it. Over the public HTTP
//! API it checks the latest tree head's signature with the published key, that the tree extends the last head it
//! trusted (consistency proof), and for each given entry that the published fields rebuild its leaf and that the
//! leaf is in the tree (inclusion proof). Only a fully checked head becomes the new trusted one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pdop_merkle::{Hash, leaf_hash, verify_consistency, verify_inclusion};
use pdop_proto::disclosure::v1::{
    GetConsistencyProofResponse, GetInclusionProofResponse, GetLogInfoResponse, GetSignedTreeHeadResponse,
    ListEntriesResponse, SignedTreeHead,
};
use prost_reflect::DynamicMessage;
use serde::{Deserialize, Serialize};

use crate::{leaf, signer};

/// The last tree head the verifier checked, kept between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trusted {
    pub tree_size: i64,
    /// Base64 of the root hash.
    pub root_hash: String,
    pub key_id: String,
}

/// Why verification failed. `Fetch` is the network or the server, the others are evidence against the log.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("could not fetch {0}")]
    Fetch(String),
    #[error("the tree head of size {0} is not signed by a published key of the log")]
    BadSignature(i64),
    #[error("the log shrank from {trusted} to {now} entries")]
    Shrunk { trusted: i64, now: i64 },
    #[error("the tree of {now} entries does not extend the trusted tree of {trusted}: {why}")]
    Inconsistent { trusted: i64, now: i64, why: String },
    #[error("entry {0}: its published fields do not rebuild its leaf")]
    LeafMismatch(i64),
    #[error("entry {0} is not in the signed tree: {1}")]
    NotIncluded(i64, String),
}

#[derive(Debug, Default)]
pub struct Report {
    pub tree_size: i64,
    pub consistent_with: Option<i64>,
    pub entries_checked: Vec<i64>,
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn get<T: prost::Message + Default>(&self, path: &str, message: &str) -> Result<T, Failure> {
        let url = format!("{}{path}", self.base);
        let fetch = |e: &dyn std::fmt::Display| Failure::Fetch(format!("{url}: {e}"));
        let response = self.http.get(&url).send().await.map_err(|e| fetch(&e))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(fetch(&format!("{status} {body}")));
        }
        let json: serde_json::Value = response.json().await.map_err(|e| fetch(&e))?;
        let descriptor = leaf::pool()
            .get_message_by_name(message)
            .ok_or_else(|| fetch(&format!("{message} unknown")))?;
        let dynamic = DynamicMessage::deserialize(descriptor, json).map_err(|e| fetch(&e))?;
        dynamic.transcode_to::<T>().map_err(|e| fetch(&e))
    }
}

fn hash(bytes: &[u8]) -> Hash {
    let mut h = [0u8; 32];
    if bytes.len() == 32 {
        h.copy_from_slice(bytes);
    }
    h
}

fn millis(head: &SignedTreeHead) -> u64 {
    head.timestamp.map_or(0, |t| {
        u64::try_from(t.seconds * 1000 + i64::from(t.nanos / 1_000_000)).unwrap_or(0)
    })
}

/// Verifies the log at `base_url` against `trusted` (none on a first run) and the inclusion of `entries`.
pub async fn verify(
    base_url: &str,
    trusted: Option<&Trusted>,
    entries: &[i64],
) -> Result<(Trusted, Report), Failure> {
    let api = Api {
        http: reqwest::Client::new(),
        base: base_url.trim_end_matches('/').to_owned(),
    };
    let info: GetLogInfoResponse = api
        .get("/log/v1/info", "pdop.disclosure.v1.GetLogInfoResponse")
        .await?;
    let keys = info.log_info.unwrap_or_default().keys;
    let head = api
        .get::<GetSignedTreeHeadResponse>("/log/v1/sth", "pdop.disclosure.v1.GetSignedTreeHeadResponse")
        .await?
        .tree_head
        .unwrap_or_default();
    let size = head.tree_size;
    let root = hash(&head.root_hash);
    // The key must be the one the head names, and the id must be the hash of the key itself.
    let signed = keys.iter().any(|k| {
        k.key_id == head.key_id
            && signer::key_id(&k.public_key) == k.key_id
            && signer::verify(
                &k.public_key,
                millis(&head),
                u64::try_from(size).unwrap_or(0),
                &root,
                &head.signature,
            )
    });
    if !signed {
        return Err(Failure::BadSignature(size));
    }
    let mut report = Report {
        tree_size: size,
        ..Default::default()
    };
    if let Some(trusted) = trusted {
        if size < trusted.tree_size {
            return Err(Failure::Shrunk {
                trusted: trusted.tree_size,
                now: size,
            });
        }
        let old_root = hash(&STANDARD.decode(&trusted.root_hash).unwrap_or_default());
        let proof = if size == trusted.tree_size || trusted.tree_size == 0 {
            Vec::new()
        } else {
            let path = format!(
                "/log/v1/proof/consistency?first={}&second={size}",
                trusted.tree_size
            );
            api.get::<GetConsistencyProofResponse>(&path, "pdop.disclosure.v1.GetConsistencyProofResponse")
                .await?
                .proof
        };
        if trusted.tree_size > 0 {
            let proof: Vec<Hash> = proof.iter().map(|p| hash(p)).collect();
            let (first, second) = (
                u64::try_from(trusted.tree_size).unwrap_or(0),
                u64::try_from(size).unwrap_or(0),
            );
            verify_consistency(first, second, &old_root, &root, &proof).map_err(|e| {
                Failure::Inconsistent {
                    trusted: trusted.tree_size,
                    now: size,
                    why: e.to_string(),
                }
            })?;
        }
        report.consistent_with = Some(trusted.tree_size);
    }
    for &sequence in entries {
        let page: ListEntriesResponse = api
            .get(
                &format!("/log/v1/entries?start={sequence}&end={sequence}"),
                "pdop.disclosure.v1.ListEntriesResponse",
            )
            .await?;
        let entry = page
            .entries
            .into_iter()
            .next()
            .ok_or_else(|| Failure::NotIncluded(sequence, "the log does not serve it".to_owned()))?;
        let rebuilt = leaf::leaf_input(&entry).map_err(|_| Failure::LeafMismatch(sequence))?;
        if rebuilt != entry.leaf_input || leaf_hash(&rebuilt).as_slice() != entry.leaf_hash.as_slice() {
            return Err(Failure::LeafMismatch(sequence));
        }
        let proof: GetInclusionProofResponse = api
            .get(
                &format!("/log/v1/proof/inclusion?sequence={sequence}&tree_size={size}"),
                "pdop.disclosure.v1.GetInclusionProofResponse",
            )
            .await?;
        let path: Vec<Hash> = proof.audit_path.iter().map(|p| hash(p)).collect();
        let (index, tree) = (
            u64::try_from(sequence).unwrap_or(0),
            u64::try_from(size).unwrap_or(0),
        );
        verify_inclusion(&leaf_hash(&rebuilt), index, tree, &path, &root)
            .map_err(|e| Failure::NotIncluded(sequence, e.to_string()))?;
        report.entries_checked.push(sequence);
    }
    let trusted = Trusted {
        tree_size: size,
        root_hash: STANDARD.encode(root),
        key_id: head.key_id,
    };
    Ok((trusted, report))
}
