//! Proof verification as specified in RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! The expected proof length is checked first, from the sizes alone, so that a malformed proof
//! is reported as such rather than as a root mismatch; the RFC's own length checks stay in as
//! a second line of defence.

use crate::error::ProofError;
use crate::hash::{Hash, node_hash};
use crate::plan::{consistency_plan, inclusion_plan};

fn check_len(got: usize, expected: usize) -> Result<(), ProofError> {
    if got == expected {
        Ok(())
    } else {
        Err(ProofError::ProofLength { got, expected })
    }
}

/// Shifts both positions right until `node` is odd or zero: skips the levels where the node is
/// the rightmost one and has no sibling.
fn skip_rightmost(node: &mut u64, last: &mut u64) {
    while *node & 1 == 0 && *node != 0 {
        *node >>= 1;
        *last >>= 1;
    }
}

/// Checks that `leaf_hash` is leaf `leaf_index` of the tree of `tree_size` leaves with `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    leaf_index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let expected = inclusion_plan(leaf_index, tree_size)?.proof_len();
    check_len(proof.len(), expected)?;

    let (mut node, mut last) = (leaf_index, tree_size - 1);
    let mut hash = *leaf_hash;
    for sibling in proof {
        if last == 0 {
            return Err(ProofError::ProofLength {
                got: proof.len(),
                expected,
            });
        }
        if node & 1 == 1 || node == last {
            hash = node_hash(sibling, &hash);
            skip_rightmost(&mut node, &mut last);
        } else {
            hash = node_hash(&hash, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(ProofError::ProofLength {
            got: proof.len(),
            expected,
        });
    }
    if hash == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that the tree of size `first` with `first_root` is a prefix of the tree of size
/// `second` with `second_root`.
///
/// Equal sizes need an empty proof and equal roots; `first == 0` is rejected because RFC 9162
/// defines no proof for it and an empty log commits to nothing.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let expected = consistency_plan(first, second)?.proof_len();
    check_len(proof.len(), expected)?;
    if first == second {
        return if first_root == second_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }

    // A power-of-two `first` is a complete subtree of `second`; its root starts the path.
    let (seed, rest) = match proof.split_first() {
        Some((head, tail)) if !first.is_power_of_two() => (*head, tail),
        _ => (*first_root, proof),
    };
    let (mut node, mut last) = (first - 1, second - 1);
    while node & 1 == 1 {
        node >>= 1;
        last >>= 1;
    }
    let (mut first_hash, mut second_hash) = (seed, seed);
    for sibling in rest {
        if last == 0 {
            return Err(ProofError::ProofLength {
                got: proof.len(),
                expected,
            });
        }
        if node & 1 == 1 || node == last {
            first_hash = node_hash(sibling, &first_hash);
            second_hash = node_hash(sibling, &second_hash);
            skip_rightmost(&mut node, &mut last);
        } else {
            second_hash = node_hash(&second_hash, sibling);
        }
        node >>= 1;
        last >>= 1;
    }
    if last != 0 {
        return Err(ProofError::ProofLength {
            got: proof.len(),
            expected,
        });
    }
    if first_hash == *first_root && second_hash == *second_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}
