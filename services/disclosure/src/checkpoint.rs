//! The latest tree head as a C2SP `tlog-checkpoint` (<https://c2sp.org/tlog-checkpoint>) in a C2SP signed note
//! (<https://c2sp.org/signed-note>), so transparency-log witnesses and verifiers that know nothing of pdop's own
//! `SignedTreeHead` can check, and cosign, what the log commits to.
//!
//! The note text is `origin \n tree size \n base64(root hash) \n`; the signature line is
//! `— <origin> base64(key id ‖ Ed25519 signature over the text)`, where the key id is the first four bytes of
//! SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ public key). The key is the log's tree-head key; the name is the log's origin.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::signer::LogSigner;

/// Signature type byte of an Ed25519 key in a note verifier key (signed-note "Signatures").
const ED25519: u8 = 0x01;

/// Whether `name` may name a note key: non-empty, no Unicode whitespace, no `+` (signed-note "Signatures"), and no
/// control character (the name is the checkpoint's first line, which must not look like other signed bytes).
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

/// The checkpoint body for a tree of `size` leaves with root `root`.
pub fn body(origin: &str, size: u64, root: &[u8; 32]) -> String {
    format!("{origin}\n{size}\n{}\n", STANDARD.encode(root))
}

/// The 4-byte id of the Ed25519 key `public_key` named `name`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut digest = Sha256::new();
    digest.update(name.as_bytes());
    digest.update([b'\n', ED25519]);
    digest.update(public_key);
    let hash = digest.finalize();
    [hash[0], hash[1], hash[2], hash[3]]
}

/// The verifier key a witness configures: `name+hex(key id)+base64(0x01 ‖ public key)`.
pub fn verifier_key(name: &str, public_key: &[u8; 32]) -> String {
    let mut typed = vec![ED25519];
    typed.extend_from_slice(public_key);
    format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, public_key)),
        STANDARD.encode(typed)
    )
}

/// `text` signed by `signer` under `name`: the text, a blank line, one signature line.
pub fn signed_note(signer: &LogSigner, name: &str, text: &str) -> String {
    let mut signature = key_id(name, &signer.public_key()).to_vec();
    signature.extend_from_slice(&signer.sign_bytes(text.as_bytes()));
    format!("{text}\n\u{2014} {name} {}\n", STANDARD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of the example in Go's `golang.org/x/mod/sumdb/note` documentation (the format's reference
    /// implementation), `PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALV…`: the seed follows the type byte.
    fn peter() -> LogSigner {
        let typed = STANDARD
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap();
        LogSigner::from_seed_base64(&STANDARD.encode(&typed[1..])).unwrap()
    }

    #[test]
    fn the_reference_example_signs_to_the_same_bytes() {
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let want = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n\
                    \n\
                    \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let signer = peter();
        assert_eq!(signed_note(&signer, "PeterNeumann", text), want);
        assert_eq!(
            verifier_key("PeterNeumann", &signer.public_key()),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
    }

    #[test]
    fn the_body_holds_origin_size_and_base64_root() {
        assert_eq!(
            body("log.example/x", 3, &[0u8; 32]),
            "log.example/x\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        );
    }

    #[test]
    fn key_names_with_spaces_or_plus_are_refused() {
        assert!(valid_key_name("disclosure.pdop.local"));
        assert!(valid_key_name("example.com/log"));
        assert!(!valid_key_name(""));
        assert!(!valid_key_name("a b"));
        assert!(!valid_key_name("a+b"));
        assert!(!valid_key_name("a\u{3000}b"));
        assert!(!valid_key_name("\u{0}\u{1}log"));
    }
}
