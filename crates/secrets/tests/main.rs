//! gimbal-secrets' behaviour as a caller of the crate sees it.

mod configuration;
mod rotation;
mod sealing;
mod test_vectors;

use gimbal_secrets::Keyring;
use secrecy::SecretString;

/// A keyring with one fresh key under `id`.
fn keyring(id: &str) -> Keyring {
    Keyring::from_parts(id, &SecretString::from(Keyring::generate_key_b64()), "").unwrap()
}
