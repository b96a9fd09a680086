//! The app settings the engine reads (table `app_settings`, one JSON value per key), with the
//! defaults that apply when a key is absent:
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `company_name`, `company_postal_address` | — | template variables; the address is required for email |
//! | `default_time_zone` | `UTC` | quiet hours for contacts without a zone |
//! | `quiet_hours` | `{"start":"08:00","end":"21:00"}` | SMS window, clamped to 8:00–21:00 |
//! | `rate_limit.sms`, `rate_limit.email` | `{"per_second": 1/100, "burst": 5/1000}` | per provider; `"senders": {"<from>": {"per_second", "burst"}}` adds per-sender limits |
//! | `sending.auto_pause` | `{"error_rate": 0.2, "min_attempts": 50}` | pause a campaign whose failure rate crosses this |
//! | `transactional.email_from`, `transactional.sms_from` | — | sender of `email.send` / `sms.send` |

use std::collections::HashMap;

use chrono_tz::Tz;
use serde_json::Value;
use tokio_postgres::GenericClient;

use crate::{DispatchError, quiet_hours::SendWindow};

/// A rate: messages per second, and how many may go at once before the rate applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Debug, Clone)]
pub struct RateLimits {
    pub provider: Rate,
    pub senders: HashMap<String, Rate>,
}

impl RateLimits {
    fn from_setting(value: Option<&Value>, default: Rate) -> Self {
        let rate = |v: &Value, fallback: Rate| Rate {
            per_second: v["per_second"]
                .as_f64()
                .filter(|r| *r > 0.0)
                .unwrap_or(fallback.per_second),
            burst: v["burst"]
                .as_f64()
                .filter(|b| *b >= 1.0)
                .unwrap_or(fallback.burst),
        };
        let provider = value.map_or(default, |v| rate(v, default));
        let senders = value
            .and_then(|v| v["senders"].as_object())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), rate(v, provider)))
                    .collect()
            })
            .unwrap_or_default();
        RateLimits { provider, senders }
    }
}

#[derive(Debug, Clone)]
pub struct AutoPause {
    /// Failed / attempted above which the campaign pauses itself.
    pub error_rate: f64,
    /// Attempts (sent + failed) before the rate is judged.
    pub min_attempts: i64,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub company_name: Option<String>,
    pub company_postal_address: Option<String>,
    pub default_time_zone: Tz,
    pub window: SendWindow,
    pub sms_rate: RateLimits,
    pub email_rate: RateLimits,
    pub auto_pause: AutoPause,
    pub email_from: Option<Value>,
    pub sms_from: Option<String>,
}

impl Settings {
    pub async fn load(client: &impl GenericClient) -> Result<Self, DispatchError> {
        let rows = client
            .query("select key, value from public.app_settings", &[])
            .await?;
        let map: HashMap<String, Value> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(Settings::from_map(&map))
    }

    pub fn from_map(map: &HashMap<String, Value>) -> Self {
        let text = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let auto = map.get("sending.auto_pause");
        Settings {
            company_name: text("company_name"),
            company_postal_address: text("company_postal_address"),
            default_time_zone: text("default_time_zone")
                .and_then(|z| z.parse().ok())
                .unwrap_or(chrono_tz::UTC),
            window: SendWindow::from_setting(map.get("quiet_hours")),
            sms_rate: RateLimits::from_setting(
                map.get("rate_limit.sms"),
                Rate {
                    per_second: 1.0,
                    burst: 5.0,
                },
            ),
            email_rate: RateLimits::from_setting(
                map.get("rate_limit.email"),
                Rate {
                    per_second: 100.0,
                    burst: 1000.0,
                },
            ),
            auto_pause: AutoPause {
                error_rate: auto.and_then(|v| v["error_rate"].as_f64()).unwrap_or(0.2),
                min_attempts: auto.and_then(|v| v["min_attempts"].as_i64()).unwrap_or(50),
            },
            email_from: map.get("transactional.email_from").cloned(),
            sms_from: text("transactional.sms_from"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_apply_when_keys_are_absent() {
        let s = Settings::from_map(&HashMap::new());
        assert_eq!(s.default_time_zone, chrono_tz::UTC);
        assert_eq!(s.sms_rate.provider.per_second, 1.0);
        assert_eq!(s.auto_pause.error_rate, 0.2);
    }

    #[test]
    fn per_sender_limits_inherit_what_they_do_not_set() {
        let map = HashMap::from([(
            "rate_limit.sms".to_string(),
            json!({"per_second": 50, "burst": 10, "senders": {"+15550100199": {"per_second": 1}}}),
        )]);
        let s = Settings::from_map(&map);
        assert_eq!(
            s.sms_rate.provider,
            Rate {
                per_second: 50.0,
                burst: 10.0
            }
        );
        assert_eq!(
            s.sms_rate.senders["+15550100199"],
            Rate {
                per_second: 1.0,
                burst: 10.0
            }
        );
    }
}
