//! gimbal-auth's behaviour as a caller of the crate sees it.

mod support;

mod algorithms;
mod claims;
mod errors;
mod headers;
mod jwks;
mod legacy_tokens;
mod mint;
mod roles;
mod service_key;
