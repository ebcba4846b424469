//! The RFC 9162 (RFC 6962) Merkle tree of an append-only disclosure log.
//!
//! # Storage model
//!
//! The log stores the hash of every *complete* subtree once its last leaf is appended, keyed
//! by [`NodeId`] `(level, index)`: level 0 holds the leaf hashes, and `(k, i)` covers the
//! leaves `[i·2^k, (i+1)·2^k)`. Those rows never change, so they can be written once and
//! cached freely. Subtrees along the right edge of a tree whose size is not a power of two are
//! incomplete; their hashes are recomputed from the complete subtrees that tile them.
//!
//! # Two phases
//!
//! Each operation is split into a *plan* (pure arithmetic on sizes: which nodes are needed)
//! and an *assemble* step (pure hashing over the fetched hashes). An async service fetches all
//! nodes of a plan in one query, e.g. `WHERE (level, idx) IN (...)`, and no I/O trait has to be
//! async. [`NodeSource`] and the functions [`root`], [`inclusion_proof`],
//! [`consistency_proof`] and [`appended_nodes`] run the same plans against a store that answers
//! one node at a time, such as [`MemoryTree`].
//!
//! ```
//! use std::collections::HashMap;
//! use pdop_merkle::{MemoryTree, NodeId, inclusion_plan, leaf_hash, root_plan, verify_inclusion};
//!
//! let mut log = MemoryTree::new();
//! for entry in [&b"a"[..], b"b", b"c", b"d", b"e"] {
//!     log.append(entry);
//! }
//! // Stand-in for the rows a single SQL query returns.
//! let fetch = |ids: &[NodeId]| -> Vec<_> {
//!     let rows: HashMap<NodeId, _> = ids.iter().map(|&id| (id, log.get(id.level, id.index).unwrap())).collect();
//!     ids.iter().map(|id| rows[id]).collect()
//! };
//!
//! let root_plan = root_plan(5);
//! let root = root_plan.assemble(&fetch(root_plan.nodes()))?;
//! let plan = inclusion_plan(2, 5)?;
//! let proof = plan.assemble(&fetch(plan.nodes()))?;
//! verify_inclusion(&leaf_hash(b"c"), 2, 5, &proof, &root)?;
//! # Ok::<(), pdop_merkle::ProofError>(())
//! ```
//!
//! # Cost
//!
//! Node reads are O(log n) for every operation, never O(log² n): the incomplete right edge
//! contributes at most one proof element, and the complete pieces folded into it are disjoint
//! from the other nodes read.
//!
//! | operation | stored nodes read |
//! |---|---|
//! | root of size `n` | `popcount(n)` |
//! | inclusion proof in size `n` | at most `2·⌊log2 n⌋` |
//! | consistency proof from `m` to `n` | at most `2·⌊log2 n⌋ + 1` |
//! | append leaf number `n` | `trailing_ones(n)` |
//!
//! Proofs themselves have the RFC lengths (at most `⌈log2 n⌉` hashes for inclusion).

mod error;
mod hash;
mod memory;
mod plan;
mod source;
mod verify;

#[cfg(test)]
mod tests;

pub use error::ProofError;
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use memory::{MemoryTree, MissingNode};
pub use plan::{
    AppendPlan, NodeId, ProofPlan, RootPlan, append_plan, consistency_plan, inclusion_plan, root_plan,
};
pub use source::{NodeSource, ReadError, appended_nodes, consistency_proof, inclusion_proof, root};
pub use verify::{verify_consistency, verify_inclusion};
