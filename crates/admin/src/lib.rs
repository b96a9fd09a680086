//! Administration: managing users (through Supabase Auth's admin API, or over the local
//! `auth.users` when there is no Supabase project), the typed company settings, provider
//! credentials sealed in `public.secrets` with their connection tests, and re-encrypting
//! every stored secret under the current key.

pub mod integrations;
pub mod rotation;
pub mod settings;
pub mod users;
