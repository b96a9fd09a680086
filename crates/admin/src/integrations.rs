//! Provider credentials (Twilio, SendGrid, GA4, Meta): validated, sealed with the keyring
//! (AES-256-GCM; the key id is stored for rotation) and kept in `public.secrets` as one row
//! per provider (scope `provider`, name = the provider). Clients only ever get metadata back:
//! which fields are set, and for identifiers (never secrets) the last four characters.
//!
//! Writes run in the caller's transaction (the secrets policies admit admins only); reading
//! the ciphertext back to test a connection is the one service-role step, taken only after
//! the caller was found to be an admin.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use gimbal_db::{DbError, Transaction};
use gimbal_secrets::{Keyring, Sealed};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

pub const SCOPE: &str = "provider";

/// The associated data every value in `public.secrets` is sealed with: it binds a ciphertext
/// to its row's (scope, name), so it cannot be copied to another row and still open. Every
/// writer of `public.secrets` uses it; `gimbal rotate-keys` relies on it.
pub fn secret_aad(scope: &str, name: &str) -> Vec<u8> {
    format!("gimbal.secrets/{scope}/{name}").into_bytes()
}

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("unknown provider {0:?}: expected twilio, sendgrid, ga4 or meta")]
    UnknownProvider(String),
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    #[error("stored credentials cannot be opened: {0}")]
    Sealed(#[from] gimbal_secrets::SecretError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for IntegrationError {
    fn from(err: tokio_postgres::Error) -> Self {
        IntegrationError::Db(err.into())
    }
}

fn invalid(field: &str, message: impl Into<String>) -> IntegrationError {
    IntegrationError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A provider Gimbal connects to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Twilio,
    SendGrid,
    Ga4,
    Meta,
}

pub const PROVIDERS: [Provider; 4] = [
    Provider::Twilio,
    Provider::SendGrid,
    Provider::Ga4,
    Provider::Meta,
];

struct Field {
    name: &'static str,
    /// Secrets never leave the server again; identifiers may be hinted at (last 4).
    secret: bool,
    required: bool,
    check: fn(&str) -> Result<(), &'static str>,
}

const fn field(
    name: &'static str,
    secret: bool,
    required: bool,
    check: fn(&str) -> Result<(), &'static str>,
) -> Field {
    Field {
        name,
        secret,
        required,
        check,
    }
}

fn any(_: &str) -> Result<(), &'static str> {
    Ok(())
}

fn twilio_sid(v: &str) -> Result<(), &'static str> {
    let ok = v.len() == 34 && v.starts_with("AC") && v[2..].bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(())
        .ok_or("must be an account SID: AC followed by 32 hexadecimal digits")
}

fn messaging_sid(v: &str) -> Result<(), &'static str> {
    let ok = v.len() == 34 && v.starts_with("MG") && v[2..].bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(())
        .ok_or("must be a messaging service SID: MG followed by 32 hexadecimal digits")
}

fn e164(v: &str) -> Result<(), &'static str> {
    let digits = v.strip_prefix('+').unwrap_or_default();
    let ok = (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then_some(())
        .ok_or("must be an E.164 number, e.g. +15550100100")
}

fn email(v: &str) -> Result<(), &'static str> {
    v.split_once('@')
        .filter(|(l, d)| !l.is_empty() && d.contains('.'))
        .map(|_| ())
        .ok_or("must be an email address")
}

fn base64_der(v: &str) -> Result<(), &'static str> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()
        .filter(|der| der.len() >= 64)
        .map(|_| ())
        .ok_or("must be the base64 (DER) verification key SendGrid shows for the Event Webhook")
}

fn digits(v: &str) -> Result<(), &'static str> {
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .then_some(())
        .ok_or("must be digits only")
}

const TWILIO_FIELDS: &[Field] = &[
    field("account_sid", false, true, twilio_sid),
    field("auth_token", true, true, any),
    field("messaging_service_sid", false, false, messaging_sid),
    field("from_number", false, false, e164),
];
const SENDGRID_FIELDS: &[Field] = &[
    field("api_key", true, true, any),
    field("from_email", false, false, email),
    // the Event Webhook's verification key: public, so its last characters may be shown.
    field("webhook_public_key", false, false, base64_der),
];
const GA4_FIELDS: &[Field] = &[
    field("client_id", false, true, any),
    field("client_secret", true, true, any),
    field("refresh_token", true, true, any),
    field("property_id", false, false, digits),
];
const META_FIELDS: &[Field] = &[
    field("access_token", true, true, any),
    field("ad_account_id", false, false, digits),
];

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Twilio => "twilio",
            Provider::SendGrid => "sendgrid",
            Provider::Ga4 => "ga4",
            Provider::Meta => "meta",
        }
    }

    pub fn parse(name: &str) -> Result<Self, IntegrationError> {
        PROVIDERS
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| IntegrationError::UnknownProvider(name.chars().take(40).collect()))
    }

    fn fields(self) -> &'static [Field] {
        match self {
            Provider::Twilio => TWILIO_FIELDS,
            Provider::SendGrid => SENDGRID_FIELDS,
            Provider::Ga4 => GA4_FIELDS,
            Provider::Meta => META_FIELDS,
        }
    }
}

/// Credentials in clear, only ever held in memory on the server.
pub struct Credentials(BTreeMap<String, SecretString>);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Credentials {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.expose_secret())
    }

    fn required(&self, name: &'static str) -> &str {
        self.get(name).unwrap_or_default()
    }
}

/// Checks a body of `{field: "value"}` against the provider's fields: unknown fields,
/// missing required ones and malformed values are errors naming the field.
pub fn validate(
    provider: Provider,
    body: &Map<String, Value>,
) -> Result<Credentials, IntegrationError> {
    for name in body.keys() {
        if !provider.fields().iter().any(|f| f.name == name) {
            return Err(invalid(
                name,
                format!("is not a {} credential field", provider.as_str()),
            ));
        }
    }
    let mut values = BTreeMap::new();
    for f in provider.fields() {
        match body.get(f.name) {
            None | Some(Value::Null) if f.required => return Err(invalid(f.name, "is required")),
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() || s.len() > 4096 {
                    return Err(invalid(f.name, "must be 1 to 4096 characters"));
                }
                (f.check)(s).map_err(|m| invalid(f.name, m))?;
                values.insert(f.name.to_string(), SecretString::from(s.to_string()));
            }
            Some(_) => return Err(invalid(f.name, "must be a string")),
        }
    }
    Ok(Credentials(values))
}

/// Applies `changes` to stored credentials (a field set to `null` is removed) and validates
/// the result as a whole, so a partial update cannot leave a required field out.
pub fn merge(
    provider: Provider,
    existing: Credentials,
    changes: &Map<String, Value>,
) -> Result<Credentials, IntegrationError> {
    let mut merged: Map<String, Value> = existing
        .0
        .into_iter()
        .map(|(k, v)| (k, Value::String(v.expose_secret().to_string())))
        .collect();
    for (name, value) in changes {
        if value.is_null() {
            merged.remove(name);
        } else {
            merged.insert(name.clone(), value.clone());
        }
    }
    validate(provider, &merged)
}

/// What a client may know about one provider's stored credentials.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct IntegrationView {
    pub provider: String,
    pub configured: bool,
    /// Per field: `{"set": true}`, plus `"hint": "…1234"` for identifiers (never for secrets).
    #[schema(value_type = Object)]
    pub fields: Value,
    pub key_id: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

fn metadata(provider: Provider, creds: &Credentials) -> Value {
    let fields: Map<String, Value> = provider
        .fields()
        .iter()
        .map(|f| {
            let value = match creds.get(f.name) {
                Some(v) if !f.secret => {
                    let tail: String = v
                        .chars()
                        .rev()
                        .take(4)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    json!({ "set": true, "hint": format!("…{tail}") })
                }
                Some(_) => json!({ "set": true }),
                None => json!({ "set": false }),
            };
            (f.name.to_string(), value)
        })
        .collect();
    json!({ "fields": fields })
}

fn unconfigured(provider: Provider) -> IntegrationView {
    IntegrationView {
        provider: provider.as_str().into(),
        configured: false,
        fields: metadata(provider, &Credentials(BTreeMap::new()))["fields"].clone(),
        key_id: None,
        updated_at: None,
    }
}

/// Every provider, configured or not, as the caller sees the metadata.
pub async fn list(tx: &Transaction<'_>) -> Result<Vec<IntegrationView>, IntegrationError> {
    let rows = tx
        .query(
            "select name, metadata, key_id, updated_at from public.secrets where scope = $1",
            &[&SCOPE],
        )
        .await?;
    Ok(PROVIDERS
        .into_iter()
        .map(|p| {
            rows.iter()
                .find(|r| r.get::<_, String>(0) == p.as_str())
                .map(|r| IntegrationView {
                    provider: p.as_str().into(),
                    configured: true,
                    fields: r
                        .get::<_, Value>(1)
                        .get("fields")
                        .cloned()
                        .unwrap_or(json!({})),
                    key_id: r.get(2),
                    updated_at: r.get(3),
                })
                .unwrap_or_else(|| unconfigured(p))
        })
        .collect())
}

pub async fn get(
    tx: &Transaction<'_>,
    provider: Provider,
) -> Result<IntegrationView, IntegrationError> {
    Ok(list(tx)
        .await?
        .into_iter()
        .find(|v| v.provider == provider.as_str())
        .unwrap_or_else(|| unconfigured(provider)))
}

/// Seals and stores the credentials (replacing any before), as the caller.
pub async fn save(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    provider: Provider,
    creds: &Credentials,
) -> Result<IntegrationView, IntegrationError> {
    let clear: Map<String, Value> = creds
        .0
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.expose_secret().to_string())))
        .collect();
    let plaintext = secrecy::zeroize::Zeroizing::new(Value::Object(clear).to_string());
    let sealed = keyring.seal(plaintext.as_bytes(), &secret_aad(SCOPE, provider.as_str()));
    let meta = metadata(provider, creds);
    let owner_ref = format!("integration:{}", provider.as_str());
    let updated = tx
        .execute(
            "update public.secrets
                set ciphertext = $3, nonce = $4, key_id = $5, metadata = $6, owner_ref = $7
              where scope = $1 and name = $2",
            &[
                &SCOPE,
                &provider.as_str(),
                &sealed.ciphertext,
                &sealed.nonce,
                &sealed.key_id,
                &meta,
                &owner_ref,
            ],
        )
        .await?;
    if updated == 0 {
        tx.execute(
            "insert into public.secrets (scope, name, ciphertext, nonce, key_id, metadata, owner_ref)
             values ($1, $2, $3, $4, $5, $6, $7)",
            &[&SCOPE, &provider.as_str(), &sealed.ciphertext, &sealed.nonce, &sealed.key_id, &meta, &owner_ref],
        )
        .await?;
    }
    get(tx, provider).await
}

/// Removes the provider's credentials; false when there were none.
pub async fn remove(tx: &Transaction<'_>, provider: Provider) -> Result<bool, IntegrationError> {
    let n = tx
        .execute(
            "delete from public.secrets where scope = $1 and name = $2",
            &[&SCOPE, &provider.as_str()],
        )
        .await?;
    Ok(n > 0)
}

/// Opens the stored credentials. `tx` must be a service-role transaction: no client role
/// may read ciphertext.
pub async fn load(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    provider: Provider,
) -> Result<Credentials, IntegrationError> {
    let row = tx
        .query_opt(
            "select ciphertext, nonce, key_id from public.secrets where scope = $1 and name = $2",
            &[&SCOPE, &provider.as_str()],
        )
        .await?
        .ok_or(IntegrationError::NotConfigured(provider.as_str()))?;
    let sealed = Sealed {
        ciphertext: row.get(0),
        nonce: row.get(1),
        key_id: row.get(2),
    };
    let clear = secrecy::zeroize::Zeroizing::new(
        keyring.open(&sealed, &secret_aad(SCOPE, provider.as_str()))?,
    );
    let map: Map<String, Value> = serde_json::from_slice(&clear).map_err(|_| {
        IntegrationError::Db(DbError::Other(
            "stored credentials are not a JSON object".into(),
        ))
    })?;
    Ok(Credentials(
        map.into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, SecretString::from(s.to_string()))))
            .collect(),
    ))
}

// ---------------------------------------------------------------------------
// connection tests
// ---------------------------------------------------------------------------

/// Where each provider's API lives (configurable so tests and proxies can stand in).
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// `https://api.twilio.com`
    pub twilio: String,
    /// `https://api.sendgrid.com`
    pub sendgrid: String,
    /// `https://oauth2.googleapis.com/token`
    pub google_token: String,
    /// `https://graph.facebook.com`
    pub meta_graph: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            twilio: "https://api.twilio.com".into(),
            sendgrid: "https://api.sendgrid.com".into(),
            google_token: "https://oauth2.googleapis.com/token".into(),
            meta_graph: "https://graph.facebook.com".into(),
        }
    }
}

/// The Graph API version the connection test calls.
pub const META_GRAPH_VERSION: &str = "v21.0";

/// What a connection test found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The provider accepted the credentials.
    Ok,
    /// The provider refused the credentials (401/403, invalid grant, expired token).
    AuthFailed,
    /// The credentials work but lack a permission Gimbal needs (e.g. SendGrid `mail.send`).
    MissingPermission,
    /// No answer: DNS, connection refused, TLS or timeout.
    Unreachable,
    /// An answer Gimbal did not expect (5xx, a body of the wrong shape).
    UnexpectedResponse,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConnectionReport {
    pub provider: String,
    pub ok: bool,
    pub outcome: Outcome,
    /// For people: what failed, in the provider's words where it gave any. Never a secret.
    pub detail: String,
    /// The provider's HTTP status, when it answered.
    pub http_status: Option<u16>,
}

fn report(
    provider: Provider,
    outcome: Outcome,
    detail: impl Into<String>,
    status: Option<u16>,
) -> ConnectionReport {
    ConnectionReport {
        provider: provider.as_str().into(),
        ok: outcome == Outcome::Ok,
        outcome,
        detail: detail.into(),
        http_status: status,
    }
}

const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Calls the provider with the credentials and says exactly what happened.
pub async fn test_connection(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    provider: Provider,
    creds: &Credentials,
) -> ConnectionReport {
    let request = match provider {
        Provider::Twilio => {
            let sid = creds.required("account_sid");
            http.get(format!(
                "{}/2010-04-01/Accounts/{sid}.json",
                endpoints.twilio.trim_end_matches('/')
            ))
            .basic_auth(sid, Some(creds.required("auth_token")))
        }
        Provider::SendGrid => http
            .get(format!(
                "{}/v3/scopes",
                endpoints.sendgrid.trim_end_matches('/')
            ))
            .bearer_auth(creds.required("api_key")),
        Provider::Ga4 => http.post(&endpoints.google_token).form(&[
            ("grant_type", "refresh_token"),
            ("client_id", creds.required("client_id")),
            ("client_secret", creds.required("client_secret")),
            ("refresh_token", creds.required("refresh_token")),
        ]),
        Provider::Meta => http
            .get(format!(
                "{}/{META_GRAPH_VERSION}/me",
                endpoints.meta_graph.trim_end_matches('/')
            ))
            .query(&[("fields", "id,name")])
            .bearer_auth(creds.required("access_token")),
    };
    let response = match request.timeout(TEST_TIMEOUT).send().await {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "request failed"
            };
            return report(
                provider,
                Outcome::Unreachable,
                format!("{} {what}: {}", provider.as_str(), cause(e.without_url())),
                None,
            );
        }
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    judge(provider, creds, status, &body)
}

/// The error and its causes, e.g. "error sending request: … tcp connect error: Connection
/// refused" (the URL removed; no request headers are part of these errors).
fn cause(err: reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

fn judge(provider: Provider, creds: &Credentials, status: u16, body: &Value) -> ConnectionReport {
    let said = provider_message(body);
    let name = provider.as_str();
    let fail = |outcome, detail: String| report(provider, outcome, detail, Some(status));
    match (provider, status) {
        (Provider::Twilio, 200)
            if body.get("sid").and_then(Value::as_str) == creds.get("account_sid") =>
        {
            let state = body
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            if state == "active" {
                fail(Outcome::Ok, "twilio account is active".to_string())
            } else {
                fail(
                    Outcome::AuthFailed,
                    format!("twilio account status is {state:?}, not active"),
                )
            }
        }
        (Provider::SendGrid, 200) => match body.get("scopes").and_then(Value::as_array) {
            Some(scopes) if scopes.iter().any(|s| s == "mail.send") => {
                fail(Outcome::Ok, "sendgrid key may send mail".into())
            }
            Some(_) => fail(
                Outcome::MissingPermission,
                "sendgrid key lacks the mail.send scope".into(),
            ),
            None => fail(
                Outcome::UnexpectedResponse,
                "sendgrid answered 200 without a scopes list".into(),
            ),
        },
        (Provider::Ga4, 200) if body.get("access_token").is_some() => {
            let scope = body
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if scope.is_empty() || scope.contains("analytics") {
                fail(Outcome::Ok, "google issued an access token".into())
            } else {
                fail(
                    Outcome::MissingPermission,
                    format!("the token's scopes do not include analytics: {scope}"),
                )
            }
        }
        (Provider::Meta, 200) if body.get("id").is_some() => {
            fail(Outcome::Ok, "meta accepted the access token".into())
        }
        (Provider::Ga4, 400 | 401)
            if matches!(
                body.get("error").and_then(Value::as_str),
                Some("invalid_grant" | "invalid_client" | "unauthorized_client")
            ) =>
        {
            fail(
                Outcome::AuthFailed,
                format!("google refused the credentials: {said}"),
            )
        }
        (Provider::Meta, 400 | 401 | 403)
            if body.pointer("/error/code").and_then(Value::as_i64) == Some(190)
                || status != 400 =>
        {
            fail(
                Outcome::AuthFailed,
                format!("meta refused the access token: {said}"),
            )
        }
        (_, 401 | 403) => fail(
            Outcome::AuthFailed,
            format!("{name} refused the credentials ({status}): {said}"),
        ),
        (_, 200) => fail(
            Outcome::UnexpectedResponse,
            format!("{name} answered 200 with an unexpected body"),
        ),
        _ => fail(
            Outcome::UnexpectedResponse,
            format!("{name} answered {status}: {said}"),
        ),
    }
}

/// The error text a provider put in its body (Twilio `message`, SendGrid `errors[].message`,
/// Google `error_description`, Meta `error.message`), cut short.
fn provider_message(body: &Value) -> String {
    let text = body
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| body.pointer("/errors/0/message").and_then(Value::as_str))
        .or_else(|| body.get("error_description").and_then(Value::as_str))
        .or_else(|| body.pointer("/error/message").and_then(Value::as_str))
        .or_else(|| body.get("error").and_then(Value::as_str))
        .unwrap_or("no message");
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn fields_are_checked_and_named() {
        let sid = "AC0123456789abcdef0123456789abcdef";
        assert!(
            validate(
                Provider::Twilio,
                &body(json!({"account_sid": sid, "auth_token": "t"}))
            )
            .is_ok()
        );
        for (b, field) in [
            (json!({"auth_token": "t"}), "account_sid"),
            (
                json!({"account_sid": "AC1", "auth_token": "t"}),
                "account_sid",
            ),
            (
                json!({"account_sid": sid, "auth_token": "t", "from_number": "555"}),
                "from_number",
            ),
            (json!({"account_sid": sid, "auth_token": 5}), "auth_token"),
            (
                json!({"account_sid": sid, "auth_token": "t", "colour": "x"}),
                "colour",
            ),
        ] {
            match validate(Provider::Twilio, &body(b)) {
                Err(IntegrationError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected {field} to be named, got {other:?}"),
            }
        }
    }

    #[test]
    fn metadata_hints_identifiers_only() {
        let creds = validate(
            Provider::Twilio,
            &body(json!({"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "supersecret-9876"})),
        )
        .unwrap();
        let meta = metadata(Provider::Twilio, &creds).to_string();
        assert!(meta.contains("…cdef"));
        assert!(!meta.contains("9876"), "{meta}");
        assert!(!format!("{creds:?}").contains("supersecret"));
    }
}
