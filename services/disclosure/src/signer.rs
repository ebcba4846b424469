//! The log's Ed25519 key and the signed tree-head format (log.proto `SignedTreeHead`): the signature covers
//! version 0 ‖ signature type 1 (tree_hash) ‖ timestamp ms (u64 BE) ‖ tree size (u64 BE) ‖ root hash.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the raw key follows.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

pub struct LogSigner {
    key: SigningKey,
}

impl LogSigner {
    /// The key from its base64 32-byte seed.
    pub fn from_seed_base64(seed: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD
            .decode(seed.trim())
            .map_err(|e| anyhow::anyhow!("disclosure.signing_key is not base64: {e}"))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("disclosure.signing_key must be a 32-byte Ed25519 seed"))?;
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A fresh random key; tree heads it signs cannot be verified after a restart with another key.
    pub fn random() -> anyhow::Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed)
            .map_err(|e| anyhow::anyhow!("no randomness for a signing key: {e}"))?;
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn key_id(&self) -> String {
        key_id(&self.public_key())
    }

    /// A secret receipt code for `id` (an objection's 受理回执码): derived from the key, so a retry gets the same
    /// code and nothing secret is stored.
    pub fn access_code(&self, id: &str) -> String {
        let mut digest = Sha256::new();
        digest.update(b"pdop objection access code\0");
        digest.update(self.key.to_bytes());
        digest.update(id.as_bytes());
        hex::encode(digest.finalize())[..20].to_owned()
    }

    pub fn sign(&self, timestamp_ms: u64, tree_size: u64, root: &[u8; 32]) -> [u8; 64] {
        self.sign_bytes(&signed_bytes(timestamp_ms, tree_size, root))
    }

    /// An Ed25519 signature over `message` (a checkpoint note's text, or a tree head's signed bytes).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// Lower-case hex SHA-256 of the raw public key.
pub fn key_id(public_key: &[u8]) -> String {
    hex::encode(Sha256::digest(public_key))
}

/// The 50 bytes a tree-head signature covers.
pub fn signed_bytes(timestamp_ms: u64, tree_size: u64, root: &[u8; 32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(50);
    bytes.extend_from_slice(&[0, 1]);
    bytes.extend_from_slice(&timestamp_ms.to_be_bytes());
    bytes.extend_from_slice(&tree_size.to_be_bytes());
    bytes.extend_from_slice(root);
    bytes
}

/// Checks a tree-head signature against a raw public key.
pub fn verify(
    public_key: &[u8],
    timestamp_ms: u64,
    tree_size: u64,
    root: &[u8; 32],
    signature: &[u8],
) -> bool {
    let Ok(key) = <[u8; 32]>::try_from(public_key).map(|k| VerifyingKey::from_bytes(&k)) else {
        return false;
    };
    let (Ok(key), Ok(signature)) = (key, Signature::from_slice(signature)) else {
        return false;
    };
    key.verify(&signed_bytes(timestamp_ms, tree_size, root), &signature)
        .is_ok()
}

/// The key as a PEM "PUBLIC KEY" block.
pub fn public_key_pem(public_key: &[u8]) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(public_key);
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_the_signed_head() {
        let signer =
            LogSigner::from_seed_base64(&STANDARD.encode([7u8; 32])).unwrap_or_else(|e| panic!("{e}"));
        let root = [9u8; 32];
        let sig = signer.sign(1_700_000_000_000, 42, &root);
        let key = signer.public_key();
        assert!(verify(&key, 1_700_000_000_000, 42, &root, &sig));
        assert!(!verify(&key, 1_700_000_000_000, 43, &root, &sig));
        assert!(!verify(&key, 1_700_000_000_001, 42, &root, &sig));
        assert!(!verify(&key, 1_700_000_000_000, 42, &[8u8; 32], &sig));
        assert_eq!(signed_bytes(1, 2, &root).len(), 50);
        assert_eq!(signer.key_id().len(), 64);
        assert!(public_key_pem(&key).starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
    }

    #[test]
    fn a_seed_that_is_not_32_bytes_is_refused() {
        assert!(LogSigner::from_seed_base64(&STANDARD.encode([7u8; 31])).is_err());
        assert!(LogSigner::from_seed_base64("not base64!").is_err());
    }
}
