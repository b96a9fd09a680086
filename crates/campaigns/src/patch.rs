//! PATCH semantics for nullable fields: absent leaves the value alone, `null` clears it, a
//! value sets it.

use serde::{Deserialize, Deserializer};

/// Use as `#[serde(default, deserialize_with = "patch::nullable")] field: Option<Option<T>>`.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The value after applying a nullable patch field to `current`.
pub fn apply<T: Clone>(current: Option<T>, patch: &Option<Option<T>>) -> Option<T> {
    match patch {
        None => current,
        Some(value) => value.clone(),
    }
}
