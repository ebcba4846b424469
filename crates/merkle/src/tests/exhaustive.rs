//! The stored-node implementation against the literal RFC definitions, for every tree size up
//! to `MAX` and every leaf index and size pair within it.

use std::collections::HashSet;

use super::{log_of, reference};
use crate::{
    Hash, MemoryTree, NodeId, NodeSource, ProofPlan, append_plan, consistency_plan, consistency_proof,
    inclusion_plan, inclusion_proof, root, root_plan, verify_consistency, verify_inclusion,
};

const MAX: u64 = 70;

/// Counts reads, to pin the number of stored nodes each operation touches.
struct Counting<'a> {
    log: &'a mut MemoryTree,
    reads: usize,
}

impl NodeSource for Counting<'_> {
    type Error = <MemoryTree as NodeSource>::Error;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        self.reads += 1;
        self.log.node(level, index)
    }
}

fn floor_log2(n: u64) -> usize {
    n.ilog2() as usize
}

#[test]
fn roots_match_the_definition() {
    let (leaves, mut log) = log_of(MAX);
    for size in 0..=MAX {
        let mut counting = Counting {
            log: &mut log,
            reads: 0,
        };
        assert_eq!(
            root(&mut counting, size).unwrap(),
            reference::mth(&leaves[..size as usize]),
            "size {size}"
        );
        assert_eq!(counting.reads, size.count_ones() as usize);
    }
}

#[test]
fn inclusion_proofs_match_the_definition() {
    let (leaves, mut log) = log_of(MAX);
    for size in 1..=MAX {
        let tree = &leaves[..size as usize];
        let root_hash = reference::mth(tree);
        for index in 0..size {
            let mut counting = Counting {
                log: &mut log,
                reads: 0,
            };
            let proof = inclusion_proof(&mut counting, index, size).unwrap();
            assert_eq!(
                proof,
                reference::path(index as usize, tree),
                "leaf {index} of {size}"
            );
            assert!(
                counting.reads <= 2 * floor_log2(size),
                "leaf {index} of {size}: {} reads",
                counting.reads
            );
            verify_inclusion(&leaves[index as usize], index, size, &proof, &root_hash).unwrap();
        }
    }
}

#[test]
fn consistency_proofs_match_the_definition() {
    let (leaves, mut log) = log_of(MAX);
    for second in 1..=MAX {
        let second_root = reference::mth(&leaves[..second as usize]);
        for first in 1..=second {
            let mut counting = Counting {
                log: &mut log,
                reads: 0,
            };
            let proof = consistency_proof(&mut counting, first, second).unwrap();
            let expected = reference::proof(first as usize, &leaves[..second as usize]);
            assert_eq!(proof, expected, "{first} -> {second}");
            assert!(
                counting.reads <= 2 * floor_log2(second) + 1,
                "{first} -> {second}: {} reads",
                counting.reads
            );
            let first_root = reference::mth(&leaves[..first as usize]);
            verify_consistency(first, second, &first_root, &second_root, &proof).unwrap();
        }
    }
}

#[test]
fn appends_store_exactly_the_complete_subtrees() {
    let (leaves, log) = log_of(MAX);
    for level in 0..8u32 {
        let count = MAX >> level;
        for index in 0..count {
            let span = 1usize << level;
            let start = index as usize * span;
            let expected = reference::mth(&leaves[start..start + span]);
            assert_eq!(log.get(level, index), Some(expected), "node ({level}, {index})");
        }
        assert_eq!(
            log.get(level, count),
            None,
            "level {level} holds only complete subtrees"
        );
    }
}

/// Every planned node is a complete subtree inside the tree, and no two overlap.
fn assert_sound(nodes: &[NodeId], size: u64, what: &str) {
    let mut spans: Vec<(u128, u128)> = nodes
        .iter()
        .map(|id| {
            let start = u128::from(id.index) << id.level;
            (start, start + (1u128 << id.level))
        })
        .collect();
    assert!(
        spans.iter().all(|&(_, end)| end <= u128::from(size)),
        "{what}: node past the tree"
    );
    spans.sort_unstable();
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "{what}: overlapping nodes"
    );
    assert_eq!(
        nodes.iter().collect::<HashSet<_>>().len(),
        nodes.len(),
        "{what}: repeated node"
    );
}

fn assert_proof_plan(plan: &ProofPlan, size: u64, what: &str) {
    assert_sound(plan.nodes(), size, what);
    assert!(
        plan.nodes().len() <= 2 * floor_log2(size) + 1,
        "{what}: {} nodes",
        plan.nodes().len()
    );
    assert!(
        plan.proof_len() <= floor_log2(size) + 2,
        "{what}: proof of {}",
        plan.proof_len()
    );
}

#[test]
fn plans_stay_inside_the_tree_and_logarithmic() {
    for size in 1..=MAX {
        assert_sound(root_plan(size).nodes(), size, "root");
        for index in 0..size {
            assert_proof_plan(&inclusion_plan(index, size).unwrap(), size, "inclusion");
        }
        for first in 1..=size {
            assert_proof_plan(&consistency_plan(first, size).unwrap(), size, "consistency");
        }
    }
}

#[test]
fn plans_for_huge_trees_do_not_overflow() {
    let sizes = [
        u64::MAX,
        u64::MAX - 1,
        1 << 63,
        (1 << 63) + 1,
        (1 << 63) - 1,
        0xAAAA_AAAA_AAAA_AAAA,
    ];
    for size in sizes {
        assert_eq!(root_plan(size).nodes().len(), size.count_ones() as usize);
        assert_sound(root_plan(size).nodes(), size, "root");
        for index in [0, 1, size / 2, size - 2, size - 1] {
            assert_proof_plan(&inclusion_plan(index, size).unwrap(), size, "inclusion");
        }
        for first in [1, 2, 3, size / 2, size / 2 + 1, size - 1, size] {
            assert_proof_plan(&consistency_plan(first, size).unwrap(), size, "consistency");
        }
        if size != u64::MAX {
            let plan = append_plan(size).unwrap();
            assert_eq!(plan.nodes().len(), size.trailing_ones() as usize);
            assert_sound(plan.nodes(), size, "append");
        }
    }
    assert_eq!(append_plan((1 << 63) - 1).unwrap().nodes().len(), 63);
}
