//! Size validation, plan misuse and store failures.

use std::error::Error as _;

use super::log_of;
use crate::{
    MemoryTree, MissingNode, NodeId, ProofError, ReadError, append_plan, consistency_plan, consistency_proof,
    empty_root, inclusion_plan, inclusion_proof, leaf_hash, root, root_plan, verify_consistency,
    verify_inclusion,
};

#[test]
fn sizes_are_validated() {
    assert_eq!(
        inclusion_plan(0, 0),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        inclusion_plan(5, 5),
        Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
    );
    assert_eq!(
        consistency_plan(3, 2),
        Err(ProofError::FirstAfterSecond { first: 3, second: 2 })
    );
    assert_eq!(consistency_plan(0, 5), Err(ProofError::EmptyFirstTree));
    assert_eq!(consistency_plan(0, 0), Err(ProofError::EmptyFirstTree));
    assert_eq!(append_plan(u64::MAX), Err(ProofError::TreeFull));

    let some = leaf_hash(b"x");
    assert_eq!(
        verify_inclusion(&some, 1, 1, &[], &some),
        Err(ProofError::IndexOutOfRange { index: 1, size: 1 })
    );
    assert_eq!(
        verify_consistency(2, 1, &some, &some, &[]),
        Err(ProofError::FirstAfterSecond { first: 2, second: 1 })
    );
    assert_eq!(
        verify_consistency(0, 3, &empty_root(), &some, &[]),
        Err(ProofError::EmptyFirstTree)
    );
}

#[test]
fn wrong_proof_lengths_are_named() {
    let (leaves, mut log) = log_of(5);
    let root_hash = root(&mut log, 5).unwrap();
    let mut proof = inclusion_proof(&mut log, 1, 5).unwrap();
    proof.pop();
    assert_eq!(
        verify_inclusion(&leaves[1], 1, 5, &proof, &root_hash),
        Err(ProofError::ProofLength { got: 2, expected: 3 })
    );
    assert_eq!(
        verify_consistency(2, 5, &root(&mut log, 2).unwrap(), &root_hash, &[]),
        Err(ProofError::ProofLength { got: 0, expected: 2 })
    );
}

#[test]
fn equal_sizes_need_equal_roots_and_no_proof() {
    let (_, mut log) = log_of(6);
    let six = root(&mut log, 6).unwrap();
    let five = root(&mut log, 5).unwrap();
    assert!(consistency_proof(&mut log, 6, 6).unwrap().is_empty());
    assert_eq!(verify_consistency(6, 6, &six, &six, &[]), Ok(()));
    assert_eq!(
        verify_consistency(6, 6, &five, &six, &[]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_consistency(6, 6, &six, &six, &[six]),
        Err(ProofError::ProofLength { got: 1, expected: 0 })
    );
}

#[test]
fn single_leaf_tree() {
    let mut log = MemoryTree::new();
    let leaf = leaf_hash(b"only");
    assert_eq!(log.push(leaf), 0);
    assert_eq!(root(&mut log, 1).unwrap(), leaf);
    assert!(inclusion_proof(&mut log, 0, 1).unwrap().is_empty());
    assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
    assert_eq!(
        verify_inclusion(&leaf, 0, 1, &[], &empty_root()),
        Err(ProofError::RootMismatch)
    );
}

#[test]
fn assembling_needs_one_hash_per_planned_node() {
    let hash = leaf_hash(b"x");
    assert_eq!(
        root_plan(3).assemble(&[hash]),
        Err(ProofError::NodeCount { got: 1, expected: 2 })
    );
    assert_eq!(
        inclusion_plan(0, 4).unwrap().assemble(&[hash; 3]),
        Err(ProofError::NodeCount { got: 3, expected: 2 })
    );
    assert_eq!(
        append_plan(3).unwrap().assemble(hash, &[]),
        Err(ProofError::NodeCount { got: 0, expected: 2 })
    );
    assert_eq!(root_plan(0).assemble(&[]), Ok(empty_root()));
}

#[test]
fn appending_leaf_seven_completes_three_subtrees() {
    let plan = append_plan(7).unwrap();
    assert_eq!(
        plan.nodes(),
        [NodeId::new(0, 6), NodeId::new(1, 2), NodeId::new(2, 0)]
    );
    let ids: Vec<NodeId> = plan
        .assemble(leaf_hash(b"x"), &[[0; 32]; 3])
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        ids,
        [
            NodeId::new(0, 7),
            NodeId::new(1, 3),
            NodeId::new(2, 1),
            NodeId::new(3, 0)
        ]
    );
    assert_eq!(append_plan(8).unwrap().nodes(), []);
}

#[test]
fn missing_nodes_surface_with_their_address() {
    let (_, mut log) = log_of(5);
    // Leaves 4 and 5 form node (1, 2), which a 5-leaf log cannot hold yet.
    let err = inclusion_proof(&mut log, 0, 6).unwrap_err();
    assert!(matches!(
        err,
        ReadError::Node {
            level: 1,
            index: 2,
            source: MissingNode { level: 1, index: 2 }
        }
    ));
    assert_eq!(err.to_string(), "reading stored node (1, 2)");
    assert_eq!(
        err.source().map(ToString::to_string).as_deref(),
        Some("node (1, 2) is not stored")
    );
    assert!(matches!(
        inclusion_proof(&mut log, 6, 6),
        Err(ReadError::Proof(ProofError::IndexOutOfRange {
            index: 6,
            size: 6
        }))
    ));
}
