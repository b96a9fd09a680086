//! Which providers to use, from the environment. Twilio when `TWILIO_ACCOUNT_SID` is set,
//! SendGrid when `SENDGRID_API_KEY` is set, and otherwise the local providers (which record in
//! the database): `gimbal dev` needs no accounts, and a deployment that forgot a credential
//! sends nothing rather than failing half-way. `GIMBAL_SMS_PROVIDER` / `GIMBAL_EMAIL_PROVIDER`
//! (`twilio` / `sendgrid` / `local`) make the choice explicit; naming a real provider without
//! its credentials is a start-up error naming the missing variable.

use std::{sync::Arc, time::Duration};

use gimbal_db::Pool;
use secrecy::SecretString;

use crate::{
    EmailProvider, SmsProvider, local::LocalProvider, sendgrid::SendGridClient,
    twilio::TwilioClient,
};

#[derive(Debug, thiserror::Error)]
pub enum ProviderConfigError {
    #[error("{var} is required when {because}")]
    Missing { var: &'static str, because: String },
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

#[derive(Clone, Debug)]
pub enum SmsChoice {
    Twilio {
        base_url: String,
        account_sid: String,
        api_key_sid: Option<String>,
        auth_token: SecretString,
    },
    Local,
}

#[derive(Clone, Debug)]
pub enum EmailChoice {
    SendGrid {
        base_url: String,
        api_key: SecretString,
    },
    Local,
}

#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub sms: SmsChoice,
    pub email: EmailChoice,
    /// Per-request timeout for provider calls.
    pub timeout: Duration,
}

impl ProviderConfig {
    pub fn from_env() -> Result<Self, ProviderConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ProviderConfigError> {
        let timeout_secs: f64 = match lookup("GIMBAL_PROVIDER_TIMEOUT_SECS") {
            None => 10.0,
            Some(raw) => raw.trim().parse().ok().filter(|s: &f64| *s > 0.0).ok_or(
                ProviderConfigError::Invalid {
                    var: "GIMBAL_PROVIDER_TIMEOUT_SECS",
                    reason: "must be a positive number of seconds".into(),
                },
            )?,
        };
        Ok(ProviderConfig {
            sms: sms_choice(&lookup)?,
            email: email_choice(&lookup)?,
            timeout: Duration::from_secs_f64(timeout_secs),
        })
    }

    /// Local providers for both channels.
    pub fn local() -> Self {
        ProviderConfig {
            sms: SmsChoice::Local,
            email: EmailChoice::Local,
            timeout: Duration::from_secs(10),
        }
    }
}

fn choice(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    real: &str,
    credential: &'static str,
) -> Result<bool, ProviderConfigError> {
    match lookup(var).as_deref().map(str::trim) {
        None => Ok(lookup(credential).is_some()),
        Some("local") => Ok(false),
        Some(name) if name == real => match lookup(credential) {
            Some(_) => Ok(true),
            None => Err(ProviderConfigError::Missing {
                var: credential,
                because: format!("{var}={real}"),
            }),
        },
        Some(_) => Err(ProviderConfigError::Invalid {
            var,
            reason: format!("must be {real} or local"),
        }),
    }
}

fn sms_choice(lookup: &impl Fn(&str) -> Option<String>) -> Result<SmsChoice, ProviderConfigError> {
    if !choice(
        lookup,
        "GIMBAL_SMS_PROVIDER",
        "twilio",
        "TWILIO_ACCOUNT_SID",
    )? {
        return Ok(SmsChoice::Local);
    }
    // With an API key, Basic auth takes the key's SID and secret; TWILIO_AUTH_TOKEN stays the
    // account's token, which is what Twilio signs webhooks with.
    let api_key_sid = lookup("TWILIO_API_KEY_SID");
    let (secret_var, because) = match api_key_sid {
        Some(_) => ("TWILIO_API_KEY_SECRET", "TWILIO_API_KEY_SID is set"),
        None => ("TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID is set"),
    };
    let auth_token = lookup(secret_var).ok_or(ProviderConfigError::Missing {
        var: secret_var,
        because: because.into(),
    })?;
    Ok(SmsChoice::Twilio {
        base_url: base_url(lookup, "TWILIO_API_URL", "https://api.twilio.com")?,
        account_sid: lookup("TWILIO_ACCOUNT_SID").unwrap_or_default(),
        api_key_sid,
        auth_token: SecretString::from(auth_token),
    })
}

fn email_choice(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<EmailChoice, ProviderConfigError> {
    if !choice(
        lookup,
        "GIMBAL_EMAIL_PROVIDER",
        "sendgrid",
        "SENDGRID_API_KEY",
    )? {
        return Ok(EmailChoice::Local);
    }
    Ok(EmailChoice::SendGrid {
        base_url: base_url(lookup, "SENDGRID_API_URL", "https://api.sendgrid.com")?,
        api_key: SecretString::from(lookup("SENDGRID_API_KEY").unwrap_or_default()),
    })
}

fn base_url(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<String, ProviderConfigError> {
    let url = lookup(var).unwrap_or_else(|| default.to_string());
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url.trim_end_matches('/').into()),
        _ => Err(ProviderConfigError::Invalid {
            var,
            reason: "must be an http(s) URL".into(),
        }),
    }
}

/// The providers a process sends through.
#[derive(Clone)]
pub struct Providers {
    pub sms: Arc<dyn SmsProvider>,
    pub email: Arc<dyn EmailProvider>,
}

impl Providers {
    /// Builds the configured providers; the HTTP client carries the provider timeout.
    pub fn build(config: &ProviderConfig, pool: Pool) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("gimbal/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(64)
            .build()?;
        let local = LocalProvider::new(pool);
        let sms: Arc<dyn SmsProvider> = match &config.sms {
            SmsChoice::Twilio {
                base_url,
                account_sid,
                api_key_sid,
                auth_token,
            } => Arc::new(TwilioClient::new(
                http.clone(),
                base_url,
                account_sid,
                api_key_sid.as_deref(),
                auth_token.clone(),
            )),
            SmsChoice::Local => Arc::new(local.clone()),
        };
        let email: Arc<dyn EmailProvider> = match &config.email {
            EmailChoice::SendGrid { base_url, api_key } => {
                Arc::new(SendGridClient::new(http, base_url, api_key.clone()))
            }
            EmailChoice::Local => Arc::new(local),
        };
        Ok(Providers { sms, email })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<ProviderConfig, ProviderConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProviderConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_means_local_providers() {
        let config = load(&[]).unwrap();
        assert!(matches!(config.sms, SmsChoice::Local));
        assert!(matches!(config.email, EmailChoice::Local));
    }

    #[test]
    fn credentials_select_the_real_providers_with_configurable_base_urls() {
        let config = load(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", "secret-token"),
            ("TWILIO_API_URL", "http://127.0.0.1:9/"),
            ("SENDGRID_API_KEY", "SG.key"),
        ])
        .unwrap();
        assert!(
            matches!(config.sms, SmsChoice::Twilio { ref base_url, .. } if base_url == "http://127.0.0.1:9")
        );
        assert!(
            matches!(config.email, EmailChoice::SendGrid { ref base_url, .. } if base_url == "https://api.sendgrid.com")
        );
        assert!(!format!("{config:?}").contains("secret-token"));
        assert!(!format!("{config:?}").contains("SG.key"));
    }

    #[test]
    fn missing_or_bad_values_are_named() {
        let err = load(&[("TWILIO_ACCOUNT_SID", "AC1")]).unwrap_err();
        assert!(err.to_string().starts_with("TWILIO_AUTH_TOKEN is required"));
        let err = load(&[("GIMBAL_EMAIL_PROVIDER", "sendgrid")]).unwrap_err();
        assert!(err.to_string().starts_with("SENDGRID_API_KEY is required"));
        let err = load(&[("GIMBAL_SMS_PROVIDER", "nexmo")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("GIMBAL_SMS_PROVIDER is invalid")
        );
        let err = load(&[("SENDGRID_API_KEY", "k"), ("SENDGRID_API_URL", "ftp://x")]).unwrap_err();
        assert!(err.to_string().starts_with("SENDGRID_API_URL is invalid"));
        let config = load(&[
            ("SENDGRID_API_KEY", "k"),
            ("GIMBAL_EMAIL_PROVIDER", "local"),
        ])
        .unwrap();
        assert!(matches!(config.email, EmailChoice::Local));
    }

    #[test]
    fn an_api_key_sends_with_its_own_secret_not_the_webhook_token() {
        let err = load(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", "account-token"),
            ("TWILIO_API_KEY_SID", "SK1"),
        ])
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TWILIO_API_KEY_SECRET is required")
        );
        let config = load(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", "account-token"),
            ("TWILIO_API_KEY_SID", "SK1"),
            ("TWILIO_API_KEY_SECRET", "key-secret"),
        ])
        .unwrap();
        match config.sms {
            SmsChoice::Twilio {
                api_key_sid,
                auth_token,
                ..
            } => {
                assert_eq!(api_key_sid.as_deref(), Some("SK1"));
                assert_eq!(auth_token.expose_secret(), "key-secret");
            }
            SmsChoice::Local => panic!("expected Twilio"),
        }
    }
}
