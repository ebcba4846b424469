//! Known-answer tests.
//!
//! Vectors from transparency-dev/merkle `proof/verify_test.go` (commit
//! 02194e9afb6c1d95b5381350007963aa70fff472: `leaves`, `roots`, `inclusionProofs`,
//! `consistencyProofs`), the same RFC 6962 8-leaf tree used by google/certificate-transparency.
//! That file numbers leaves from 1 (`p.leaf-1`); the indices below are 0-based.

use crate::{
    Hash, MemoryTree, consistency_proof, empty_root, inclusion_proof, leaf_hash, root, verify_consistency,
    verify_inclusion,
};

const ENTRIES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the trees of sizes 1..=8.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, audit path).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (first size, second size, consistency proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(hex_hash: &str) -> Hash {
    let bytes = hex::decode(hex_hash).expect("test vectors are hex");
    bytes.try_into().expect("test vectors are 32 bytes")
}

fn hashes(hex_hashes: &[&str]) -> Vec<Hash> {
    hex_hashes.iter().map(|x| h(x)).collect()
}

fn entry(i: usize) -> Vec<u8> {
    hex::decode(ENTRIES[i]).expect("test entries are hex")
}

fn vector_log() -> MemoryTree {
    let mut log = MemoryTree::new();
    for i in 0..ENTRIES.len() {
        log.append(&entry(i));
    }
    log
}

fn vector_root(size: u64) -> Hash {
    h(ROOTS[size as usize - 1])
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(
        empty_root(),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(root(&mut MemoryTree::new(), 0).unwrap(), empty_root());
}

#[test]
fn single_leaf_root_is_its_leaf_hash() {
    assert_eq!(leaf_hash(&entry(0)), vector_root(1));
}

#[test]
fn roots_of_sizes_one_to_eight() {
    let mut log = vector_log();
    for size in 1..=8 {
        assert_eq!(root(&mut log, size).unwrap(), vector_root(size), "size {size}");
    }
}

#[test]
fn inclusion_proofs() {
    let mut log = vector_log();
    for (index, size, expected) in INCLUSION {
        let expected = hashes(expected);
        assert_eq!(
            inclusion_proof(&mut log, index, size).unwrap(),
            expected,
            "leaf {index} of {size}"
        );
        let leaf = leaf_hash(&entry(index as usize));
        verify_inclusion(&leaf, index, size, &expected, &vector_root(size)).unwrap();
    }
}

#[test]
fn consistency_proofs() {
    let mut log = vector_log();
    for (first, second, expected) in CONSISTENCY {
        let expected = hashes(expected);
        assert_eq!(
            consistency_proof(&mut log, first, second).unwrap(),
            expected,
            "{first} -> {second}"
        );
        verify_consistency(
            first,
            second,
            &vector_root(first),
            &vector_root(second),
            &expected,
        )
        .unwrap();
    }
}
