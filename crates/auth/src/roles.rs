//! The two role vocabularies a caller carries: the Postgres role a request runs as
//! ([`DbRole`]) and the application role granted through `app_metadata` ([`AppRole`]).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The database role a request runs as, the value PostgREST puts in `role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbRole {
    Anon,
    Authenticated,
    ServiceRole,
}

impl DbRole {
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Anon => "anon",
            Self::Authenticated => "authenticated",
            Self::ServiceRole => "service_role",
        }
    }

    /// The role named by a token's `role` claim; any other database role
    /// (`postgres`, `supabase_admin`, …) is not one a token may ask for.
    pub(crate) fn from_claim(role: &str) -> Option<Self> {
        match role {
            "anon" => Some(Self::Anon),
            "authenticated" => Some(Self::Authenticated),
            "service_role" => Some(Self::ServiceRole),
            _ => None,
        }
    }
}

impl fmt::Display for DbRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The application role of a signed-in user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppRole {
    Admin,
    User,
    Viewer,
}

impl AppRole {
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
            Self::Viewer => "viewer",
        }
    }

    /// The role in a token's `app_metadata` object (pass that object, not the whole claims).
    /// Anything missing or unknown is `Viewer`, the least privileged role. `user_metadata`
    /// is writable by the user and is deliberately never read.
    pub fn from_app_metadata(app_metadata: &Value) -> AppRole {
        app_metadata
            .get("role")
            .and_then(Value::as_str)
            .and_then(|role| role.parse().ok())
            .unwrap_or(AppRole::Viewer)
    }
}

impl fmt::Display for AppRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An application role name that is not exactly `admin`, `user` or `viewer`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown app role `{0}`: expected admin, user or viewer")]
pub struct ParseAppRoleError(pub String);

impl FromStr for AppRole {
    type Err = ParseAppRoleError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "admin" => Ok(Self::Admin),
            "user" => Ok(Self::User),
            "viewer" => Ok(Self::Viewer),
            other => Err(ParseAppRoleError(other.to_owned())),
        }
    }
}
