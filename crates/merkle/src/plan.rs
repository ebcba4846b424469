//! Which stored nodes a root, proof or append needs, and how to combine them.
//!
//! Planning is pure arithmetic on sizes so that a caller backed by a database can fetch every
//! node of a plan in one round trip and then [assemble](ProofPlan::assemble) the result without
//! further reads.

use std::ops::Range;

use crate::error::ProofError;
use crate::hash::{Hash, empty_root, node_hash};

/// Address of a complete subtree: level 0 is a leaf, and `(level, index)` covers the leaves
/// `[index·2^level, (index+1)·2^level)`.
///
/// Only complete subtrees are ever stored, because they never change once their last leaf is
/// appended; the hashes of incomplete right edges are recomputed from them on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub level: u32,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u32, index: u64) -> Self {
        Self { level, index }
    }
}

/// Pushes the complete subtrees tiling `[start, start + len)`, left to right.
///
/// Requires `start` to be a multiple of the largest power of two in `len`, which holds for every
/// range a plan asks about: the prefix `[0, begin)` and the right edge after a fork node.
fn push_range(out: &mut Vec<NodeId>, start: u64, len: u64) {
    let mut pos = start;
    let mut rest = len;
    while rest != 0 {
        let level = rest.ilog2();
        out.push(NodeId::new(level, pos >> level));
        pos += 1 << level;
        rest -= 1 << level;
    }
}

fn check_count(got: usize, expected: usize) -> Result<(), ProofError> {
    if got == expected {
        Ok(())
    } else {
        Err(ProofError::NodeCount { got, expected })
    }
}

/// The complete subtrees whose fold is the root of a tree size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootPlan {
    /// Left to right, i.e. by decreasing level.
    nodes: Vec<NodeId>,
}

/// Plans `MTH(D[0:tree_size])`: one node per set bit of `tree_size`.
pub fn root_plan(tree_size: u64) -> RootPlan {
    let mut nodes = Vec::with_capacity(tree_size.count_ones() as usize);
    push_range(&mut nodes, 0, tree_size);
    RootPlan { nodes }
}

impl RootPlan {
    /// The nodes to fetch; hashes are passed to [`RootPlan::assemble`] in this order.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Folds the subtrees right to left, which is how RFC 9162 splits an unbalanced tree: the
    /// largest power of two on the left, the rest recursively on the right.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Hash, ProofError> {
        check_count(hashes.len(), self.nodes.len())?;
        Ok(fold_right(hashes.iter().rev()).unwrap_or_else(empty_root))
    }
}

/// Folds hashes given from the rightmost subtree leftwards into the hash of their union.
fn fold_right<'a>(right_to_left: impl Iterator<Item = &'a Hash>) -> Option<Hash> {
    right_to_left
        .copied()
        .reduce(|right, left| node_hash(&left, &right))
}

/// The stored nodes behind an inclusion or consistency proof.
///
/// Every proof element is a stored node except at most one, the sibling of the path at the
/// point where it leaves the complete part of the tree; that element is the fold of a run of
/// stored nodes (`folded`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    /// Proof order, except that `nodes[folded]` runs from the rightmost subtree leftwards.
    nodes: Vec<NodeId>,
    folded: Range<usize>,
}

impl ProofPlan {
    fn empty() -> Self {
        Self {
            nodes: Vec::new(),
            folded: 0..0,
        }
    }

    /// The nodes to fetch; hashes are passed to [`ProofPlan::assemble`] in this order. They are
    /// distinct, so they can be fetched with a single `(level, index) IN (...)` query.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Number of hashes in the resulting proof, which is what a verifier expects for the sizes.
    pub fn proof_len(&self) -> usize {
        let folded = self.folded.len();
        self.nodes.len() - folded + usize::from(folded != 0)
    }

    /// Builds the proof from the hashes of [`ProofPlan::nodes`], in that order.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, ProofError> {
        check_count(hashes.len(), self.nodes.len())?;
        let mut proof = Vec::with_capacity(self.proof_len());
        proof.extend_from_slice(&hashes[..self.folded.start]);
        proof.extend(fold_right(hashes[self.folded.clone()].iter()));
        proof.extend_from_slice(&hashes[self.folded.end..]);
        Ok(proof)
    }
}

/// Plans the audit path (RFC 9162 §2.1.3.1) of leaf `leaf_index` in the tree of `tree_size`.
pub fn inclusion_plan(leaf_index: u64, tree_size: u64) -> Result<ProofPlan, ProofError> {
    if leaf_index >= tree_size {
        return Err(ProofError::IndexOutOfRange {
            index: leaf_index,
            size: tree_size,
        });
    }
    Ok(path_plan(NodeId::new(0, leaf_index), tree_size, false))
}

/// Plans the consistency proof (RFC 9162 §2.1.4.1) between tree sizes `first` and `second`.
///
/// The proof is the inclusion path, in the tree of `second`, of the last complete subtree of
/// `first`, preceded by that subtree's own hash unless it is the whole of `first` (which the
/// verifier already holds as `first`'s root).
pub fn consistency_plan(first: u64, second: u64) -> Result<ProofPlan, ProofError> {
    if first > second {
        return Err(ProofError::FirstAfterSecond { first, second });
    }
    if first == 0 {
        return Err(ProofError::EmptyFirstTree);
    }
    if first == second {
        return Ok(ProofPlan::empty());
    }
    let level = first.trailing_zeros();
    let seed = NodeId::new(level, (first - 1) >> level);
    Ok(path_plan(seed, second, !first.is_power_of_two()))
}

/// Plans the path from the complete node `seed` up to the root of the tree of `size` leaves.
///
/// Requires `seed.index < size >> seed.level`.
///
/// Walking up from `seed`, the siblings are complete nodes until the `fork`: the highest
/// ancestor that is still complete. Above it, the sibling to the right (if any) is the
/// incomplete right edge, folded from its complete pieces; every other sibling is to the left
/// and complete, one per set bit of the fork's first leaf. Hence at most `2·log2(size) + 1`
/// nodes.
fn path_plan(seed: NodeId, size: u64, include_seed: bool) -> ProofPlan {
    let width = size >> seed.level;
    // Highest bit where the seed's position and the size differ: below it the seed's ancestors
    // are complete, at it the ancestor would reach past `size`.
    let inner = (seed.index ^ width).ilog2();
    let fork_level = seed.level + inner;
    let begin = (seed.index >> inner) << fork_level;
    let end = begin + (1 << fork_level);

    let mut nodes = Vec::new();
    if include_seed {
        nodes.push(seed);
    }
    nodes.extend((0..inner).map(|up| NodeId::new(seed.level + up, (seed.index >> up) ^ 1)));

    let folded_start = nodes.len();
    push_range(&mut nodes, end, size - end);
    nodes[folded_start..].reverse();
    let folded = folded_start..nodes.len();

    let left_start = nodes.len();
    push_range(&mut nodes, 0, begin);
    nodes[left_start..].reverse();

    ProofPlan { nodes, folded }
}

/// The stored nodes needed to derive the nodes that appending one leaf completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendPlan {
    leaf_index: u64,
    /// Left siblings of the new leaf's ancestors, bottom up.
    nodes: Vec<NodeId>,
}

/// Plans appending leaf number `size_before`.
///
/// The new leaf completes one subtree per trailing one bit of `size_before`; the left halves
/// of those subtrees are exactly the smallest complete subtrees of the current tree, so a
/// writer that caches [`root_plan`]'s nodes already has them.
pub fn append_plan(size_before: u64) -> Result<AppendPlan, ProofError> {
    if size_before == u64::MAX {
        return Err(ProofError::TreeFull);
    }
    let nodes = (0..size_before.trailing_ones())
        .map(|level| NodeId::new(level, (size_before >> level) - 1))
        .collect();
    Ok(AppendPlan {
        leaf_index: size_before,
        nodes,
    })
}

impl AppendPlan {
    /// The nodes to fetch; hashes are passed to [`AppendPlan::assemble`] in this order.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// Every node to store after the append, the new leaf first and then upwards.
    pub fn assemble(&self, leaf_hash: Hash, hashes: &[Hash]) -> Result<Vec<(NodeId, Hash)>, ProofError> {
        check_count(hashes.len(), self.nodes.len())?;
        let mut created = Vec::with_capacity(hashes.len() + 1);
        created.push((NodeId::new(0, self.leaf_index), leaf_hash));
        let mut hash = leaf_hash;
        for (left, level) in hashes.iter().zip(1..) {
            hash = node_hash(left, &hash);
            created.push((NodeId::new(level, self.leaf_index >> level), hash));
        }
        Ok(created)
    }
}
