//! Why a keyring could not be built, or a sealed value could not be opened. Messages name
//! the variable and the problem, never a key.

/// A problem with the encryption-key configuration.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{var} is not set")]
    Missing { var: &'static str },
    #[error("{var}: key `{key_id}` is not valid base64")]
    NotBase64 { var: &'static str, key_id: String },
    #[error("{var}: key `{key_id}` decodes to {len} bytes; AES-256 needs exactly 32")]
    WrongLength {
        var: &'static str,
        key_id: String,
        len: usize,
    },
    #[error(
        "{var}: key id{} must be 1 to 64 letters, digits, '-', '_' or '.'",
        .entry.map(|n| format!(" in entry #{n}")).unwrap_or_default()
    )]
    InvalidKeyId {
        var: &'static str,
        /// The entry's position in `GIMBAL_ENCRYPTION_OLD_KEYS`, from 1.
        entry: Option<usize>,
    },
    #[error("{var}: entry #{position} is not `id:base64`")]
    MalformedEntry { var: &'static str, position: usize },
    #[error("{var}: key id `{key_id}` is given more than once")]
    DuplicateKeyId { var: &'static str, key_id: String },
}

/// A sealed value that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "sealed with key `{key_id}`, which is not in the keyring \
         (list it in GIMBAL_ENCRYPTION_OLD_KEYS to keep opening such values)"
    )]
    UnknownKeyId { key_id: String },
    #[error("nonce is {len} bytes; AES-GCM here uses 12")]
    BadNonce { len: usize },
    #[error(
        "decryption failed: wrong key, or the ciphertext, nonce or associated data were altered"
    )]
    Decrypt,
}
