//! Rotating keys: the new key seals, older keys still open what they sealed.

use gimbal_secrets::{Keyring, SecretError};
use secrecy::SecretString;

#[test]
fn old_key_still_opens_what_it_sealed() {
    let old_key = Keyring::generate_key_b64();
    let before = Keyring::from_parts("k1", &SecretString::from(old_key.clone()), "").unwrap();
    let sealed = before.seal(b"oauth-refresh-token", b"aad");

    let after = Keyring::from_parts(
        "k2",
        &SecretString::from(Keyring::generate_key_b64()),
        &format!("k1:{old_key}"),
    )
    .unwrap();

    assert_eq!(after.open(&sealed, b"aad").unwrap(), b"oauth-refresh-token");
    assert_eq!(after.seal(b"new", b"aad").key_id, "k2");
    assert_eq!(after.current_key_id(), "k2");
}

#[test]
fn several_old_keys_with_spaces_are_accepted() {
    let (a, b) = (Keyring::generate_key_b64(), Keyring::generate_key_b64());
    let old = format!(" k0:{a} , k1:{b} ,");

    let keyring = Keyring::from_parts("k2", &SecretString::from(Keyring::generate_key_b64()), &old);

    assert!(keyring.is_ok());
}

#[test]
fn unknown_key_id_fails_with_a_clear_error() {
    let sealed = crate::keyring("k0").seal(b"secret", b"");
    let keyring = crate::keyring("k1");

    let error = keyring.open(&sealed, b"").unwrap_err();

    assert!(matches!(&error, SecretError::UnknownKeyId { key_id } if key_id == "k0"));
    let message = error.to_string();
    assert!(
        message.contains("`k0`") && message.contains("GIMBAL_ENCRYPTION_OLD_KEYS"),
        "{message}"
    );
}
