mod edges;
mod exhaustive;
mod reference;
mod tamper;
mod vectors;

use crate::{Hash, MemoryTree, leaf_hash};

/// Leaf hashes of `size` distinct entries, and the log holding them.
fn log_of(size: u64) -> (Vec<Hash>, MemoryTree) {
    let leaves: Vec<Hash> = (0..size)
        .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
        .collect();
    let mut log = MemoryTree::new();
    for leaf in &leaves {
        log.push(*leaf);
    }
    (leaves, log)
}
