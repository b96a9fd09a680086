//! The keyring: the current key that seals, older keys that still open, and the
//! environment variables they come from.

use std::{collections::HashMap, fmt};

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretString, zeroize::Zeroizing};

use crate::error::{KeyError, SecretError};

/// Base64 of exactly 32 bytes: the key that seals.
pub const KEY_VAR: &str = "GIMBAL_ENCRYPTION_KEY";
/// The id recorded with everything the current key seals (default `k1`).
pub const KEY_ID_VAR: &str = "GIMBAL_ENCRYPTION_KEY_ID";
/// Retired keys that still open what they sealed: `id:base64,id:base64`.
pub const OLD_KEYS_VAR: &str = "GIMBAL_ENCRYPTION_OLD_KEYS";

const DEFAULT_KEY_ID: &str = "k1";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const MAX_KEY_ID_LEN: usize = 64;

/// An encrypted value and what is needed to open it, apart from the key and the
/// associated data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    /// Ciphertext followed by the 16-byte authentication tag.
    pub ciphertext: Vec<u8>,
}

/// The current key plus older keys by id. Its `Debug` shows key ids only.
#[derive(Clone)]
pub struct Keyring {
    current_id: String,
    current: Aes256Gcm,
    /// Every key, the current one included, by id.
    by_id: HashMap<String, Aes256Gcm>,
}

impl Keyring {
    /// Reads `GIMBAL_ENCRYPTION_KEY`, `GIMBAL_ENCRYPTION_KEY_ID` and
    /// `GIMBAL_ENCRYPTION_OLD_KEYS` from the process environment.
    pub fn from_env() -> Result<Self, KeyError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, KeyError> {
        let key = lookup(KEY_VAR)
            .filter(|value| !value.trim().is_empty())
            .map(SecretString::from)
            .ok_or(KeyError::Missing { var: KEY_VAR })?;
        let id = lookup(KEY_ID_VAR)
            .filter(|value| !value.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_KEY_ID.to_owned());
        let old = Zeroizing::new(lookup(OLD_KEYS_VAR).unwrap_or_default());
        Self::from_parts(id.trim(), &key, &old)
    }

    /// `current_b64` is base64 of exactly 32 bytes; `old` is `id:base64,id:base64` (may be
    /// empty). Errors name the variable and the problem, never the value.
    pub fn from_parts(
        current_id: &str,
        current_b64: &SecretString,
        old: &str,
    ) -> Result<Self, KeyError> {
        let current_id = checked_key_id(current_id, KEY_ID_VAR, None)?;
        let current = cipher(current_b64.expose_secret(), KEY_VAR, &current_id)?;
        let mut by_id = HashMap::from([(current_id.clone(), current.clone())]);
        for (id, cipher) in old_keys(old)? {
            if by_id.insert(id.clone(), cipher).is_some() {
                return Err(KeyError::DuplicateKeyId {
                    var: OLD_KEYS_VAR,
                    key_id: id,
                });
            }
        }
        Ok(Self {
            current_id,
            current,
            by_id,
        })
    }

    pub fn current_key_id(&self) -> &str {
        &self.current_id
    }

    /// Seals under the current key with a random 96-bit nonce. Random nonces are safe for
    /// up to 2^32 values per key, far beyond the number of secrets stored here.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Sealed {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        Sealed {
            key_id: self.current_id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    /// Opens a value sealed by this keyring's current key or one of its older keys, with
    /// the same associated data.
    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Vec<u8>, SecretError> {
        let cipher = self
            .by_id
            .get(&sealed.key_id)
            .ok_or_else(|| SecretError::UnknownKeyId {
                key_id: sealed.key_id.chars().take(MAX_KEY_ID_LEN).collect(),
            })?;
        if sealed.nonce.len() != NONCE_LEN {
            return Err(SecretError::BadNonce {
                len: sealed.nonce.len(),
            });
        }
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad,
        };
        cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), payload)
            .map_err(|_| SecretError::Decrypt)
    }

    /// A fresh random key, base64-encoded, for `GIMBAL_ENCRYPTION_KEY`.
    pub fn generate_key_b64() -> String {
        let key = Zeroizing::new(Aes256Gcm::generate_key(&mut OsRng).to_vec());
        STANDARD.encode(&*key)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&str> = self.by_id.keys().map(String::as_str).collect();
        ids.sort_unstable();
        f.debug_struct("Keyring")
            .field("current_key_id", &self.current_id)
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

/// The retired keys in `GIMBAL_ENCRYPTION_OLD_KEYS`, entries numbered from 1 as written.
fn old_keys(old: &str) -> Result<Vec<(String, Aes256Gcm)>, KeyError> {
    let entries = old
        .split(',')
        .enumerate()
        .map(|(i, entry)| (i + 1, entry.trim()));
    entries
        .filter(|(_, entry)| !entry.is_empty())
        .map(|(position, entry)| {
            let (id, key) = entry.split_once(':').ok_or(KeyError::MalformedEntry {
                var: OLD_KEYS_VAR,
                position,
            })?;
            let id = checked_key_id(id.trim(), OLD_KEYS_VAR, Some(position))?;
            let cipher = cipher(key.trim(), OLD_KEYS_VAR, &id)?;
            Ok((id, cipher))
        })
        .collect()
}

/// Key ids are stored next to every ciphertext, so they are kept short and plain.
fn checked_key_id(id: &str, var: &'static str, entry: Option<usize>) -> Result<String, KeyError> {
    let plain = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if id.is_empty() || id.len() > MAX_KEY_ID_LEN || !plain {
        return Err(KeyError::InvalidKeyId { var, entry });
    }
    Ok(id.to_owned())
}

fn cipher(key_b64: &str, var: &'static str, key_id: &str) -> Result<Aes256Gcm, KeyError> {
    let key = STANDARD
        .decode(key_b64.trim())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::NotBase64 {
            var,
            key_id: key_id.to_owned(),
        })?;
    if key.len() != KEY_LEN {
        return Err(KeyError::WrongLength {
            var,
            key_id: key_id.to_owned(),
            len: key.len(),
        });
    }
    Ok(Aes256Gcm::new_from_slice(&key).expect("length checked above"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
        let pairs: HashMap<&str, String> = pairs.iter().cloned().collect();
        move |var| pairs.get(var).cloned()
    }

    #[test]
    fn environment_defaults_the_key_id_to_k1() {
        let lookup = env(&[(KEY_VAR, Keyring::generate_key_b64())]);

        let keyring = Keyring::from_lookup(lookup).unwrap();

        assert_eq!(keyring.current_key_id(), "k1");
    }

    #[test]
    fn environment_without_a_key_names_the_variable() {
        let error = Keyring::from_lookup(env(&[])).unwrap_err();

        assert!(error.to_string().contains(KEY_VAR), "{error}");
    }

    #[test]
    fn environment_old_keys_open_what_they_sealed() {
        let old_key = Keyring::generate_key_b64();
        let old = Keyring::from_parts("k1", &SecretString::from(old_key.clone()), "").unwrap();
        let sealed = old.seal(b"refresh-token", b"row-1");
        let lookup = env(&[
            (KEY_VAR, Keyring::generate_key_b64()),
            (KEY_ID_VAR, "k2".to_owned()),
            (OLD_KEYS_VAR, format!("k1:{old_key}")),
        ]);

        let keyring = Keyring::from_lookup(lookup).unwrap();

        assert_eq!(keyring.current_key_id(), "k2");
        assert_eq!(keyring.open(&sealed, b"row-1").unwrap(), b"refresh-token");
    }
}
