//! The RFC 9162 §2.1.1 hashing rules.
//!
//! Leaves and interior nodes get distinct one-byte prefixes so that a leaf can never be passed
//! off as an interior node (second-preimage resistance of the tree, RFC 9162 §2.1.1).

use sha2::{Digest, Sha256};

/// A SHA-256 output: every leaf hash, node hash, root and proof element.
pub type Hash = [u8; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 ‖ entry)`: the level-0 node of an entry.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the parent of two adjacent subtrees.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// `SHA-256("")`: the root of the tree with no entries, which no stored node represents.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}
