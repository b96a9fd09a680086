//! The cipher Keyring uses, checked against a published AES-256-GCM test vector: Test Case
//! 16 of McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)" (the same vector
//! appears in NIST's GCM validation material). 60-byte plaintext and 20-byte AAD, so the
//! last block of each is partial.

use gimbal_secrets::{Keyring, Sealed};
use secrecy::SecretString;

const KEY: &str = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const IV: &str = "cafebabefacedbaddecaf888";
const PLAINTEXT: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
const AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const CIPHERTEXT: &str = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                          8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
const TAG: &str = "76fc6ece0f4e1768cddf8853bb2d551b";

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

fn vector_keyring() -> Keyring {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let key = SecretString::from(STANDARD.encode(unhex(KEY)));
    Keyring::from_parts("tc16", &key, "").unwrap()
}

fn vector_sealed() -> Sealed {
    Sealed {
        key_id: "tc16".to_owned(),
        nonce: unhex(IV),
        ciphertext: [unhex(CIPHERTEXT), unhex(TAG)].concat(),
    }
}

#[test]
fn gcm_spec_test_case_16_opens_to_its_plaintext() {
    let opened = vector_keyring()
        .open(&vector_sealed(), &unhex(AAD))
        .unwrap();

    assert_eq!(opened, unhex(PLAINTEXT));
}

#[test]
fn gcm_spec_test_case_16_with_a_wrong_tag_is_refused() {
    let mut sealed = vector_sealed();
    let last = sealed.ciphertext.len() - 1;
    sealed.ciphertext[last] ^= 0x01;

    assert!(vector_keyring().open(&sealed, &unhex(AAD)).is_err());
}

#[test]
fn gcm_spec_test_case_16_seals_to_its_ciphertext_and_tag() {
    use aes_gcm::{
        Aes256Gcm, KeyInit, Nonce,
        aead::{Aead, Payload},
    };
    let cipher = Aes256Gcm::new_from_slice(&unhex(KEY)).unwrap();
    let payload = Payload {
        msg: &unhex(PLAINTEXT),
        aad: &unhex(AAD),
    };

    let sealed = cipher
        .encrypt(Nonce::from_slice(&unhex(IV)), payload)
        .unwrap();

    assert_eq!(sealed, vector_sealed().ciphertext);
}
