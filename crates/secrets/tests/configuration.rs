//! Malformed key configuration: errors name the variable and the problem, never the value.

use gimbal_secrets::{KeyError, Keyring};
use secrecy::SecretString;

fn current(value: &str) -> Result<Keyring, KeyError> {
    Keyring::from_parts("k1", &SecretString::from(value.to_owned()), "")
}

fn with_old(old: &str) -> Result<Keyring, KeyError> {
    Keyring::from_parts("k2", &SecretString::from(Keyring::generate_key_b64()), old)
}

fn message(result: Result<Keyring, KeyError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn key_that_is_not_base64_names_the_variable() {
    let value = "this is not base64 at all!";

    let text = message(current(value));

    assert!(text.starts_with("GIMBAL_ENCRYPTION_KEY:"), "{text}");
    assert!(text.contains("base64") && !text.contains(value), "{text}");
}

#[test]
fn key_of_the_wrong_length_says_so() {
    let sixteen_bytes = "AAECAwQFBgcICQoLDA0ODw==";

    let error = current(sixteen_bytes).unwrap_err();

    assert!(matches!(error, KeyError::WrongLength { len: 16, .. }));
    let text = error.to_string();
    assert!(
        text.contains("GIMBAL_ENCRYPTION_KEY") && text.contains("32"),
        "{text}"
    );
    assert!(!text.contains(sixteen_bytes), "{text}");
}

#[test]
fn invalid_current_key_id_names_its_variable() {
    let key = SecretString::from(Keyring::generate_key_b64());

    for id in ["", "k 1", "k1:x", "ключ", &"k".repeat(65)] {
        let text = message(Keyring::from_parts(id, &key, ""));
        assert!(
            text.starts_with("GIMBAL_ENCRYPTION_KEY_ID:"),
            "{id:?}: {text}"
        );
    }
}

#[test]
fn old_entry_without_an_id_names_the_variable_and_entry() {
    let key = Keyring::generate_key_b64();

    let text = message(with_old(&format!(
        "k0:{}, {key}",
        Keyring::generate_key_b64()
    )));

    assert_eq!(
        text,
        "GIMBAL_ENCRYPTION_OLD_KEYS: entry #2 is not `id:base64`"
    );
}

#[test]
fn old_key_that_is_not_base64_names_the_variable_and_id() {
    let text = message(with_old("k0:%%%%"));

    assert_eq!(
        text,
        "GIMBAL_ENCRYPTION_OLD_KEYS: key `k0` is not valid base64"
    );
}

#[test]
fn old_key_of_the_wrong_length_names_the_variable() {
    let text = message(with_old("k0:AAECAwQFBgcICQoLDA0ODw=="));

    assert!(
        text.starts_with("GIMBAL_ENCRYPTION_OLD_KEYS: key `k0`"),
        "{text}"
    );
}

#[test]
fn old_key_with_a_bad_id_names_the_entry() {
    let text = message(with_old(&format!("bad id:{}", Keyring::generate_key_b64())));

    assert!(
        text.starts_with("GIMBAL_ENCRYPTION_OLD_KEYS: key id in entry #1"),
        "{text}"
    );
}

#[test]
fn duplicate_key_ids_are_refused() {
    let old = format!("k2:{}", Keyring::generate_key_b64());

    let error = with_old(&old).unwrap_err();

    assert!(matches!(&error, KeyError::DuplicateKeyId { key_id, .. } if key_id == "k2"));
}

#[test]
fn debug_never_shows_key_material() {
    let key = Keyring::generate_key_b64();
    let old = Keyring::generate_key_b64();
    let keyring =
        Keyring::from_parts("k2", &SecretString::from(key.clone()), &format!("k1:{old}")).unwrap();

    let shown = format!("{keyring:?} {keyring:#?}");

    assert!(shown.contains("k1") && shown.contains("k2"), "{shown}");
    assert!(!shown.contains(&key) && !shown.contains(&old), "{shown}");
    assert!(
        !shown.contains("Aes"),
        "cipher state must not be printed: {shown}"
    );
}

#[test]
fn generated_keys_are_32_random_bytes() {
    use base64::{Engine, engine::general_purpose::STANDARD};

    let (a, b) = (Keyring::generate_key_b64(), Keyring::generate_key_b64());

    assert_eq!(STANDARD.decode(&a).unwrap().len(), 32);
    assert_ne!(a, b);
}
