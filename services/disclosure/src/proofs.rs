//! The verifiable side of the log: its parameters and keys, signed tree heads, and inclusion and consistency
//! proofs computed from stored nodes in O(log n) reads (pdop_merkle).

use pdop_kit::Violations;
use pdop_kit::handling::Handling as _;
use pdop_merkle::{NodeId, ProofPlan, consistency_plan, inclusion_plan};
use pdop_proto::disclosure::v1::get_inclusion_proof_request::Leaf;
use pdop_proto::disclosure::v1::{
    GetConsistencyProofRequest, GetConsistencyProofResponse, GetInclusionProofRequest,
    GetInclusionProofResponse, GetLogInfoRequest, GetLogInfoResponse, GetSignedTreeHeadRequest,
    GetSignedTreeHeadResponse, LogInfo, LogKey, LogKeyState,
};
use tonic::Status;

use crate::checkpoint;
use crate::context::Ctx;
use crate::signer;
use crate::tree_heads::{self, Row};

fn invalid(ctx: &Ctx, field: &str, message: &str) -> Status {
    let mut v = Violations::new();
    v.add(field, message);
    ctx.errors().invalid(&v)
}

async fn latest(ctx: &Ctx) -> Result<Row, Status> {
    let head = tree_heads::latest(ctx.pool())
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| Status::unavailable("the log has not signed a tree head yet"))?;
    ctx.log.recent_head.put(&head);
    Ok(head)
}

/// The latest head as read within [`tree_heads::RECENT_HEAD_TTL`], else read now.
async fn recent_latest(ctx: &Ctx) -> Result<Row, Status> {
    match ctx.log.recent_head.get() {
        Some(head) => Ok(head),
        None => latest(ctx).await,
    }
}

pub async fn log_info(ctx: &Ctx, _req: GetLogInfoRequest) -> Result<GetLogInfoResponse, Status> {
    let keys: Vec<(String, Vec<u8>, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT key_id, public_key, first_used FROM log_keys ORDER BY first_used")
            .fetch_all(ctx.pool())
            .await
            .map_err(|e| ctx.db(e))?;
    let current = ctx.log.signer.key_id();
    let mut listed: Vec<LogKey> = keys
        .into_iter()
        .map(|(key_id, public_key, first_used)| LogKey {
            checkpoint_verifier_key: checkpoint_key(ctx, &public_key),
            state: if key_id == current {
                LogKeyState::Active
            } else {
                LogKeyState::Retired
            } as i32,
            public_key_pem: signer::public_key_pem(&public_key),
            key_id,
            public_key,
            valid_from: Some(pdop_kit::convert::timestamp(first_used)),
            valid_until: None,
        })
        .collect();
    if !listed.iter().any(|k| k.key_id == current) {
        let public_key = ctx.log.signer.public_key().to_vec();
        listed.push(LogKey {
            checkpoint_verifier_key: checkpoint_key(ctx, &public_key),
            key_id: current,
            public_key_pem: signer::public_key_pem(&public_key),
            public_key,
            state: LogKeyState::Active as i32,
            ..Default::default()
        });
    }
    let latest = tree_heads::latest(ctx.pool()).await.map_err(|e| ctx.db(e))?;
    Ok(GetLogInfoResponse {
        log_info: Some(LogInfo {
            origin: ctx.config.origin.clone(),
            description: ctx.config.description.clone(),
            hash_algorithm: "SHA-256".to_owned(),
            signature_algorithm: "Ed25519".to_owned(),
            keys: listed,
            signing_interval: prost_types::Duration::try_from(ctx.log.interval).ok(),
            http_base_url: ctx.config.http_base_url.clone(),
            latest_tree_head: latest.map(|h| h.to_proto()),
        }),
    })
}

/// The latest signed tree head as a C2SP checkpoint in a signed note, signed under the log's origin. Only a head
/// whose own signature this process's key verifies is re-signed, so a row written to `tree_heads` by anything else
/// never gets the log's signature.
pub async fn checkpoint_note(ctx: &Ctx) -> Result<String, Status> {
    let head = recent_latest(ctx).await?;
    let root: [u8; 32] = head
        .root_hash
        .as_slice()
        .try_into()
        .map_err(|_| Status::internal("a stored root hash is not 32 bytes"))?;
    let size = u64::try_from(head.tree_size).unwrap_or_default();
    let timestamp_ms = u64::try_from(head.timestamp_ms).unwrap_or_default();
    let public_key = ctx.log.signer.public_key();
    if !signer::verify(&public_key, timestamp_ms, size, &root, &head.signature) {
        // A head of a retired key: the current key signs a new one within the signing interval.
        return Err(Status::unavailable(
            "the latest tree head is not signed by the current key; retry after the signing interval",
        ));
    }
    let text = checkpoint::body(&ctx.config.origin, size, &root);
    Ok(checkpoint::signed_note(
        &ctx.log.signer,
        &ctx.config.origin,
        &text,
    ))
}

/// The note verifier key of `public_key` under the log's origin; empty for a key that is not 32 bytes.
fn checkpoint_key(ctx: &Ctx, public_key: &[u8]) -> String {
    <[u8; 32]>::try_from(public_key)
        .map(|key| checkpoint::verifier_key(&ctx.config.origin, &key))
        .unwrap_or_default()
}

pub async fn tree_head(
    ctx: &Ctx,
    req: GetSignedTreeHeadRequest,
) -> Result<GetSignedTreeHeadResponse, Status> {
    let head = match req.tree_size {
        n if n < 0 => return Err(invalid(ctx, "tree_size", "must not be negative")),
        0 => latest(ctx).await?,
        n => tree_heads::at_size(ctx.pool(), n)
            .await
            .map_err(|e| ctx.db(e))?
            .ok_or_else(|| {
                ctx.errors()
                    .not_found("TREE_HEAD_NOT_FOUND", &format!("treeHeads/{n}"))
            })?,
    };
    Ok(GetSignedTreeHeadResponse {
        tree_head: Some(head.to_proto()),
    })
}

/// The tree size a proof is asked for: 0 means the latest signed one; beyond it is OUT_OF_RANGE.
fn signed_size(ctx: &Ctx, latest: &Row, asked: i64, field: &str) -> Result<i64, Status> {
    match asked {
        n if n < 0 => Err(invalid(ctx, field, "must not be negative")),
        0 => Ok(latest.tree_size),
        n if n > latest.tree_size => Err(Status::out_of_range(format!(
            "{field} {n} is beyond the latest signed tree head ({})",
            latest.tree_size
        ))),
        n => Ok(n),
    }
}

async fn assemble(ctx: &Ctx, plan: &ProofPlan) -> Result<Vec<Vec<u8>>, Status> {
    let nodes = ctx
        .log
        .nodes
        .fetch(ctx.pool(), plan.nodes())
        .await
        .map_err(|e| ctx.internal(e))?;
    let proof = plan.assemble(&nodes).map_err(|e| ctx.internal(e.into()))?;
    Ok(proof.iter().map(|h| h.to_vec()).collect())
}

/// An inclusion proof in one read for the common case (the audit path with the leaf itself, against the latest
/// head read lately), since a signed tree size covers only entries that exist.
pub async fn inclusion(
    ctx: &Ctx,
    req: GetInclusionProofRequest,
) -> Result<GetInclusionProofResponse, Status> {
    let index = match &req.leaf {
        Some(Leaf::Sequence(n)) if *n >= 0 => *n,
        Some(Leaf::LeafHash(h)) if h.len() == 32 => {
            sqlx::query_scalar("SELECT sequence FROM entries WHERE leaf_hash = $1 ORDER BY sequence LIMIT 1")
                .bind(h)
                .fetch_optional(ctx.pool())
                .await
                .map_err(|e| ctx.db(e))?
                .ok_or_else(|| ctx.errors().not_found("ENTRY_NOT_FOUND", &hex::encode(h)))?
        }
        _ => {
            return Err(invalid(
                ctx,
                "leaf",
                "must be a sequence (≥ 0) or a 32-byte leaf hash",
            ));
        }
    };
    let mut latest = recent_latest(ctx).await?;
    // A leaf past the head kept may be in a head signed since.
    if req.tree_size == 0 && index >= latest.tree_size {
        latest = self::latest(ctx).await?;
    }
    let tree_size = signed_size(ctx, &latest, req.tree_size, "tree_size")?;
    if index >= tree_size {
        // A leaf found by its hash exists; a sequence may not.
        let exists = !matches!(req.leaf, Some(Leaf::Sequence(_))) || entry_exists(ctx, index).await?;
        return Err(beyond(ctx, exists, index));
    }
    let plan = inclusion_plan(
        u64::try_from(index).unwrap_or(0),
        u64::try_from(tree_size).unwrap_or(0),
    )
    .map_err(|e| invalid(ctx, "tree_size", &e.to_string()))?;
    // The leaf hash is the level-0 node: read with the path, in one query.
    let leaf = NodeId {
        level: 0,
        index: u64::try_from(index).unwrap_or(0),
    };
    let mut ids = plan.nodes().to_vec();
    ids.push(leaf);
    let mut hashes = ctx
        .log
        .nodes
        .fetch(ctx.pool(), &ids)
        .await
        .map_err(|e| ctx.internal(e))?;
    let leaf_hash = hashes.pop().map(|h| h.to_vec()).unwrap_or_default();
    let proof = plan.assemble(&hashes).map_err(|e| ctx.internal(e.into()))?;
    Ok(GetInclusionProofResponse {
        leaf_index: index,
        leaf_hash,
        tree_size,
        audit_path: proof.iter().map(|h| h.to_vec()).collect(),
        tree_head: head_at(ctx, latest, tree_size).await?.map(|h| h.to_proto()),
    })
}

async fn entry_exists(ctx: &Ctx, sequence: i64) -> Result<bool, Status> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM entries WHERE sequence = $1)")
        .bind(sequence)
        .fetch_one(ctx.pool())
        .await
        .map_err(|e| ctx.db(e))
}

/// A leaf at or past the proof's tree size: NOT_FOUND when there is no such entry, else the size is too small.
fn beyond(ctx: &Ctx, exists: bool, sequence: i64) -> Status {
    if exists {
        invalid(ctx, "tree_size", "must be greater than the leaf index")
    } else {
        ctx.errors()
            .not_found("ENTRY_NOT_FOUND", &format!("entries/{sequence}"))
    }
}

/// The head a proof is for: the latest one when the size is the latest, else the newest signed at that size.
async fn head_at(ctx: &Ctx, latest: Row, tree_size: i64) -> Result<Option<Row>, Status> {
    if latest.tree_size == tree_size {
        return Ok(Some(latest));
    }
    tree_heads::at_size(ctx.pool(), tree_size)
        .await
        .map_err(|e| ctx.db(e))
}

pub async fn consistency(
    ctx: &Ctx,
    req: GetConsistencyProofRequest,
) -> Result<GetConsistencyProofResponse, Status> {
    if req.first_tree_size < 1 {
        return Err(invalid(ctx, "first_tree_size", "must be at least 1"));
    }
    let latest = latest(ctx).await?;
    let second = signed_size(ctx, &latest, req.second_tree_size, "second_tree_size")?;
    if req.first_tree_size > second {
        return Err(invalid(
            ctx,
            "first_tree_size",
            "must not exceed second_tree_size",
        ));
    }
    let plan = consistency_plan(
        u64::try_from(req.first_tree_size).unwrap_or(0),
        u64::try_from(second).unwrap_or(0),
    )
    .map_err(|e| invalid(ctx, "first_tree_size", &e.to_string()))?;
    let proof = assemble(ctx, &plan).await?;
    let head = head_at(ctx, latest, second).await?;
    Ok(GetConsistencyProofResponse {
        first_tree_size: req.first_tree_size,
        second_tree_size: second,
        proof,
        second_tree_head: head.map(|h| h.to_proto()),
    })
}
