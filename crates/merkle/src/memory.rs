//! An in-memory log with the same storage model as the database: complete subtrees only.

use crate::hash::{Hash, leaf_hash};
use crate::source::{NodeSource, appended_nodes};

/// A complete-subtree store held in vectors, one per level.
///
/// Useful for tests and for small logs; it goes through [`appended_nodes`] on every push, so it
/// also exercises the writer's path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[k][i]` is node `(k, i)`.
    levels: Vec<Vec<Hash>>,
}

/// A node that the tree does not (yet) hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node ({level}, {index}) is not stored")]
pub struct MissingNode {
    pub level: u32,
    pub index: u64,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The stored hash of the complete subtree `(level, index)`, if it exists yet.
    pub fn get(&self, level: u32, index: u64) -> Option<Hash> {
        let nodes = self.levels.get(usize::try_from(level).ok()?)?;
        nodes.get(usize::try_from(index).ok()?).copied()
    }

    /// Appends an entry and returns its leaf index.
    pub fn append(&mut self, entry: &[u8]) -> u64 {
        self.push(leaf_hash(entry))
    }

    /// Appends a leaf hash, storing every subtree it completes, and returns its leaf index.
    pub fn push(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.size();
        let created = appended_nodes(self, index, leaf_hash)
            .expect("the left siblings of a new leaf are complete subtrees already stored");
        for (id, hash) in created {
            let level = id.level as usize;
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
        }
        index
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        self.get(level, index).ok_or(MissingNode { level, index })
    }
}
