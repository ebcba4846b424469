//! Errors shared by planning, assembling and verifying.

/// Why a proof could not be planned, assembled or verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// An inclusion proof needs a leaf that exists in the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A log only grows, so the older size cannot exceed the newer one.
    #[error("first tree size {first} exceeds second tree size {second}")]
    FirstAfterSecond { first: u64, second: u64 },
    /// RFC 9162 §2.1.4 defines consistency only from a non-empty tree.
    #[error("consistency from an empty tree is not defined")]
    EmptyFirstTree,
    /// The proof cannot belong to the claimed sizes, whatever its hashes.
    #[error("proof has {got} hashes, the sizes require {expected}")]
    ProofLength { got: usize, expected: usize },
    /// The proof has the right shape but does not lead to the claimed root(s).
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    /// A plan was assembled from a different number of node hashes than it asked for.
    #[error("plan needs {expected} node hashes, got {got}")]
    NodeCount { got: usize, expected: usize },
    /// Leaf indices are `u64`, so a tree of `u64::MAX` leaves cannot grow.
    #[error("tree is full")]
    TreeFull,
}
