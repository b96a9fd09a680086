//! Encryption at rest for the secrets Gimbal stores (provider API keys, OAuth refresh
//! tokens, AI keys): AES-256-GCM under a keyring taken from the environment.
//!
//! Every value is sealed under the current key with a fresh random nonce and records the
//! id of that key, so keys can rotate: the new key seals, older keys listed in
//! `GIMBAL_ENCRYPTION_OLD_KEYS` still open what they sealed. Associated data (for example
//! the owning row's table and id) binds a ciphertext to its place, so it cannot be moved
//! to another row and still open.

mod error;
mod keyring;

pub use error::{KeyError, SecretError};
pub use keyring::{KEY_ID_VAR, KEY_VAR, Keyring, OLD_KEYS_VAR, Sealed};
