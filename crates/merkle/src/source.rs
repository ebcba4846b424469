//! Plans executed against a synchronous node store.
//!
//! These are conveniences for stores that answer one node at a time (an in-memory tree, a
//! blocking client); an async caller fetches a plan's [`nodes`](crate::ProofPlan::nodes) in one
//! query instead and calls `assemble` itself.

use crate::error::ProofError;
use crate::hash::Hash;
use crate::plan::{NodeId, append_plan, consistency_plan, inclusion_plan, root_plan};

/// Read access to the stored hashes of complete subtrees.
///
/// Takes `&mut self` so that blocking database clients, which need exclusive access to run a
/// query, can implement it directly.
pub trait NodeSource {
    type Error;

    /// The hash of the complete subtree `(level, index)` (see [`NodeId`]).
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a root, proof or append could not be computed from a [`NodeSource`].
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("reading stored node ({level}, {index})")]
    Node {
        level: u32,
        index: u64,
        #[source]
        source: E,
    },
}

fn fetch<S>(source: &mut S, nodes: &[NodeId]) -> Result<Vec<Hash>, ReadError<S::Error>>
where
    S: NodeSource + ?Sized,
{
    nodes
        .iter()
        .map(|&NodeId { level, index }| {
            source
                .node(level, index)
                .map_err(|source| ReadError::Node { level, index, source })
        })
        .collect()
}

/// The root of the first `tree_size` leaves; `popcount(tree_size)` reads.
pub fn root<S>(source: &mut S, tree_size: u64) -> Result<Hash, ReadError<S::Error>>
where
    S: NodeSource + ?Sized,
{
    let plan = root_plan(tree_size);
    Ok(plan.assemble(&fetch(source, plan.nodes())?)?)
}

/// The RFC 9162 §2.1.3.1 audit path of `leaf_index`; at most `2·log2(tree_size)` reads.
pub fn inclusion_proof<S>(
    source: &mut S,
    leaf_index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, ReadError<S::Error>>
where
    S: NodeSource + ?Sized,
{
    let plan = inclusion_plan(leaf_index, tree_size)?;
    Ok(plan.assemble(&fetch(source, plan.nodes())?)?)
}

/// The RFC 9162 §2.1.4.1 consistency proof from `first` to `second`; at most
/// `2·log2(second) + 1` reads.
pub fn consistency_proof<S>(source: &mut S, first: u64, second: u64) -> Result<Vec<Hash>, ReadError<S::Error>>
where
    S: NodeSource + ?Sized,
{
    let plan = consistency_plan(first, second)?;
    Ok(plan.assemble(&fetch(source, plan.nodes())?)?)
}

/// Every node to store once leaf number `size_before` (hash `leaf_hash`) is appended, the leaf
/// itself first; `trailing_ones(size_before)` reads.
pub fn appended_nodes<S>(
    source: &mut S,
    size_before: u64,
    leaf_hash: Hash,
) -> Result<Vec<(NodeId, Hash)>, ReadError<S::Error>>
where
    S: NodeSource + ?Sized,
{
    let plan = append_plan(size_before)?;
    Ok(plan.assemble(leaf_hash, &fetch(source, plan.nodes())?)?)
}
