//! Sealing and opening under one key, and what tampering does.

use gimbal_secrets::{Sealed, SecretError};

use crate::keyring;

const AAD: &[u8] = b"provider_secrets:3f2a";

fn sealed() -> (gimbal_secrets::Keyring, Sealed) {
    let keyring = keyring("k1");
    let sealed = keyring.seal(b"SG.sendgrid-api-key", AAD);
    (keyring, sealed)
}

#[test]
fn round_trip_returns_the_plaintext() {
    let (keyring, sealed) = sealed();

    assert_eq!(keyring.open(&sealed, AAD).unwrap(), b"SG.sendgrid-api-key");
    assert_eq!(sealed.key_id, "k1");
    assert_eq!(sealed.nonce.len(), 12);
}

#[test]
fn empty_plaintext_round_trips() {
    let keyring = keyring("k1");

    let sealed = keyring.seal(b"", b"");

    assert_eq!(keyring.open(&sealed, b"").unwrap(), b"");
}

#[test]
fn ciphertext_does_not_contain_the_plaintext() {
    let (_, sealed) = sealed();

    assert!(!sealed.ciphertext.windows(10).any(|w| w == b"SG.sendgri"));
}

#[test]
fn every_seal_uses_a_fresh_nonce() {
    let keyring = keyring("k1");

    let first = keyring.seal(b"same", AAD);
    let second = keyring.seal(b"same", AAD);

    assert_ne!(first.nonce, second.nonce);
    assert_ne!(first.ciphertext, second.ciphertext);
}

#[test]
fn tampered_ciphertext_fails() {
    let (keyring, mut sealed) = sealed();
    sealed.ciphertext[0] ^= 0x01;

    assert!(matches!(
        keyring.open(&sealed, AAD),
        Err(SecretError::Decrypt)
    ));
}

#[test]
fn tampered_tag_fails() {
    let (keyring, mut sealed) = sealed();
    let last = sealed.ciphertext.len() - 1;
    sealed.ciphertext[last] ^= 0x80;

    assert!(matches!(
        keyring.open(&sealed, AAD),
        Err(SecretError::Decrypt)
    ));
}

#[test]
fn tampered_nonce_fails() {
    let (keyring, mut sealed) = sealed();
    sealed.nonce[11] ^= 0x01;

    assert!(matches!(
        keyring.open(&sealed, AAD),
        Err(SecretError::Decrypt)
    ));
}

#[test]
fn different_aad_fails() {
    let (keyring, sealed) = sealed();

    let result = keyring.open(&sealed, b"provider_secrets:9999");

    assert!(matches!(result, Err(SecretError::Decrypt)));
}

#[test]
fn truncated_nonce_is_reported_as_such() {
    let (keyring, mut sealed) = sealed();
    sealed.nonce.truncate(8);

    assert!(matches!(
        keyring.open(&sealed, AAD),
        Err(SecretError::BadNonce { len: 8 })
    ));
}

#[test]
fn another_keyring_with_the_same_id_cannot_open() {
    let (_, sealed) = sealed();

    let result = keyring("k1").open(&sealed, AAD);

    assert!(matches!(result, Err(SecretError::Decrypt)));
}
