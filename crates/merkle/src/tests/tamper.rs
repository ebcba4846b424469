//! Any change to a proof, a root, a leaf or the claimed position must fail verification.

use super::log_of;
use crate::{
    Hash, ProofError, consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion,
};

const MAX: u64 = 17;

/// Every single-byte corruption of `hash`.
fn corruptions(hash: &Hash) -> impl Iterator<Item = Hash> + '_ {
    (0..hash.len()).map(|i| {
        let mut bad = *hash;
        bad[i] ^= 0x01;
        bad
    })
}

/// Every single-byte corruption of one element of `proof`.
fn corrupted_proofs(proof: &[Hash]) -> impl Iterator<Item = Vec<Hash>> + '_ {
    proof.iter().enumerate().flat_map(move |(i, element)| {
        corruptions(element).map(move |bad| {
            let mut bad_proof = proof.to_vec();
            bad_proof[i] = bad;
            bad_proof
        })
    })
}

#[test]
fn inclusion_rejects_any_flipped_byte() {
    let (leaves, mut log) = log_of(MAX);
    for size in 1..=MAX {
        let root_hash = root(&mut log, size).unwrap();
        for index in 0..size {
            let leaf = &leaves[index as usize];
            let proof = inclusion_proof(&mut log, index, size).unwrap();
            for bad in corrupted_proofs(&proof) {
                assert_eq!(
                    verify_inclusion(leaf, index, size, &bad, &root_hash),
                    Err(ProofError::RootMismatch)
                );
            }
            for bad in corruptions(&root_hash) {
                assert_eq!(
                    verify_inclusion(leaf, index, size, &proof, &bad),
                    Err(ProofError::RootMismatch)
                );
            }
            for bad in corruptions(leaf) {
                assert_eq!(
                    verify_inclusion(&bad, index, size, &proof, &root_hash),
                    Err(ProofError::RootMismatch)
                );
            }
        }
    }
}

/// The probes of transparency-dev/merkle `corruptInclusionProof`, over every small tree.
#[test]
fn inclusion_rejects_other_positions_and_shapes() {
    let (leaves, mut log) = log_of(MAX);
    for size in 1..=MAX {
        let root_hash = root(&mut log, size).unwrap();
        for index in 0..size {
            let leaf = &leaves[index as usize];
            let proof = inclusion_proof(&mut log, index, size).unwrap();
            let rejects = |index: u64, size: u64, proof: &[Hash]| {
                verify_inclusion(leaf, index, size, proof, &root_hash).is_err()
            };
            for other in [index.wrapping_sub(1), index + 1, index ^ 2] {
                assert!(rejects(other, size, &proof), "leaf {index} of {size} as {other}");
            }
            for other in [size * 2, size / 2] {
                assert!(rejects(index, other, &proof), "leaf {index} of {size} in {other}");
            }
            let mut longer = proof.clone();
            longer.push(root_hash);
            assert!(rejects(index, size, &longer));
            longer.rotate_right(1);
            assert!(rejects(index, size, &longer));
            if let Some((_, shorter)) = proof.split_last() {
                assert!(rejects(index, size, shorter));
            }
        }
    }
}

#[test]
fn consistency_rejects_any_flipped_byte() {
    let (_, mut log) = log_of(MAX);
    for second in 2..=MAX {
        let second_root = root(&mut log, second).unwrap();
        for first in 1..second {
            let first_root = root(&mut log, first).unwrap();
            let proof = consistency_proof(&mut log, first, second).unwrap();
            let verify = |r1: &Hash, r2: &Hash, p: &[Hash]| verify_consistency(first, second, r1, r2, p);
            for bad in corrupted_proofs(&proof) {
                assert_eq!(
                    verify(&first_root, &second_root, &bad),
                    Err(ProofError::RootMismatch)
                );
            }
            for bad in corruptions(&first_root) {
                assert_eq!(verify(&bad, &second_root, &proof), Err(ProofError::RootMismatch));
            }
            for bad in corruptions(&second_root) {
                assert_eq!(verify(&first_root, &bad, &proof), Err(ProofError::RootMismatch));
            }
        }
    }
}

/// The probes of transparency-dev/merkle `corruptConsistencyProof`, over every small pair.
#[test]
fn consistency_rejects_other_sizes_and_shapes() {
    let (_, mut log) = log_of(MAX);
    for second in 2..=MAX {
        let second_root = root(&mut log, second).unwrap();
        for first in 1..second {
            let first_root = root(&mut log, first).unwrap();
            let proof = consistency_proof(&mut log, first, second).unwrap();
            let rejects = |first: u64, second: u64, first_root: &Hash, second_root: &Hash, proof: &[Hash]| {
                verify_consistency(first, second, first_root, second_root, proof).is_err()
            };
            for other in [first - 1, first + 1, first ^ 2] {
                assert!(
                    rejects(other, second, &first_root, &second_root, &proof),
                    "{first} as {other} -> {second}"
                );
            }
            for other in [second * 2, second / 2] {
                assert!(
                    rejects(first, other, &first_root, &second_root, &proof),
                    "{first} -> {second} as {other}"
                );
            }
            assert!(
                rejects(first, second, &second_root, &first_root, &proof),
                "swapped roots"
            );
            assert!(
                rejects(first, second, &first_root, &second_root, &[]),
                "empty proof"
            );
            for extra in [first_root, second_root, proof[0]] {
                let mut longer = proof.clone();
                longer.push(extra);
                assert!(
                    rejects(first, second, &first_root, &second_root, &longer),
                    "trailing"
                );
                longer.rotate_right(1);
                assert!(
                    rejects(first, second, &first_root, &second_root, &longer),
                    "preceding"
                );
            }
            let (_, shorter) = proof.split_last().unwrap();
            assert!(
                rejects(first, second, &first_root, &second_root, shorter),
                "truncated"
            );
        }
    }
}
