//! The upper levels of the Merkle tree, kept in memory for proofs. A stored node is the hash of a complete
//! subtree and never changes, so a node once read stays right for good. Only levels from [`CACHED_FROM_LEVEL`]
//! up are kept: one node per 256 entries (about 40,000 nodes, a few MB, for ten million entries), which leaves
//! each proof only its lowest levels to read from the database.

use std::collections::HashMap;
use std::sync::RwLock;

use pdop_merkle::{Hash, NodeId};
use sqlx::PgPool;

use crate::log::fetch_nodes;

/// The lowest level kept.
pub const CACHED_FROM_LEVEL: u32 = 8;

#[derive(Debug, Default)]
pub struct NodeCache(RwLock<HashMap<NodeId, Hash>>);

impl NodeCache {
    /// The hashes of `ids`, in their order: the kept ones from memory, the others in one query.
    pub async fn fetch(&self, pool: &PgPool, ids: &[NodeId]) -> anyhow::Result<Vec<Hash>> {
        let mut found: Vec<Option<Hash>> = match self.0.read() {
            Ok(kept) => ids.iter().map(|id| kept.get(id).copied()).collect(),
            Err(_) => vec![None; ids.len()],
        };
        let missing: Vec<NodeId> = ids
            .iter()
            .zip(&found)
            .filter(|(_, hash)| hash.is_none())
            .map(|(id, _)| *id)
            .collect();
        if !missing.is_empty() {
            let read = fetch_nodes(pool, &missing).await?;
            if let Ok(mut kept) = self.0.write() {
                for (id, hash) in missing.iter().zip(&read) {
                    if id.level >= CACHED_FROM_LEVEL {
                        kept.insert(*id, *hash);
                    }
                }
            }
            let mut read = read.into_iter();
            for slot in found.iter_mut().filter(|hash| hash.is_none()) {
                *slot = read.next();
            }
        }
        found
            .into_iter()
            .map(|hash| hash.ok_or_else(|| anyhow::anyhow!("a tree node was not read")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn upper_levels_are_read_once_and_lower_levels_every_time() {
        let env = pdop_testkit::TestEnv::new().await.unwrap();
        let db = env.fresh_database().await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE merkle_nodes (level smallint, idx bigint, hash bytea, PRIMARY KEY (level, idx));
             INSERT INTO merkle_nodes VALUES (0, 5, decode(repeat('aa', 32), 'hex')),
                                             (8, 1, decode(repeat('bb', 32), 'hex'))",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        let (low, high) = (
            NodeId { level: 0, index: 5 },
            NodeId {
                level: CACHED_FROM_LEVEL,
                index: 1,
            },
        );
        let cache = NodeCache::default();
        assert_eq!(
            cache.fetch(&db.pool, &[high, low]).await.unwrap(),
            [[0xbb; 32], [0xaa; 32]]
        );
        sqlx::raw_sql("DELETE FROM merkle_nodes")
            .execute(&db.pool)
            .await
            .unwrap();
        // Kept: the upper node needs no read.
        assert_eq!(cache.fetch(&db.pool, &[high]).await.unwrap(), [[0xbb; 32]]);
        // Not kept: the lower node is read again (and is now gone).
        assert!(cache.fetch(&db.pool, &[low]).await.is_err());
    }
}
