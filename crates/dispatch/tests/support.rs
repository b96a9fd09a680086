//! A test database with a campaign ready to send, the mock providers, and a dispatcher wired to
//! them with short timings.

use std::time::Duration;

use chrono::{Timelike, Utc};

use gimbal_db::{Pool, harness::TestDatabase, postgres::Client};
use gimbal_dispatch::{DispatchConfig, Dispatcher};
use gimbal_providers::{
    Providers,
    config::{EmailChoice, ProviderConfig, SmsChoice},
    mock::{self, MockServer},
};
use secrecy::SecretString;
use serde_json::Value;
use uuid::Uuid;

pub const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const POSTAL: &str = "100 Example Street, Springfield, IL 62701, USA";

/// An `Etc/GMT±n` zone where the local hour is now `hour` (POSIX signs are inverted).
pub fn zone_at_local_hour(hour: i64) -> String {
    let utc_hour = i64::from(Utc::now().hour());
    let mut offset = (hour - utc_hour).rem_euclid(24);
    if offset > 12 {
        offset -= 24;
    }
    match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

pub struct Harness {
    /// Held so the database lives as long as the harness (dropping it drops the database).
    #[allow(dead_code)]
    pub db: TestDatabase,
    pub pool: Pool,
    pub superuser: Client,
    pub twilio: MockServer,
    pub sendgrid: MockServer,
}

impl Harness {
    /// Contacts without a zone follow the default time zone, which is one where it is now
    /// early afternoon: SMS quiet hours hold back only what a test puts in the night itself,
    /// whatever the hour the suite runs at.
    pub async fn new() -> Self {
        let daytime = zone_at_local_hour(13);
        let db = TestDatabase::new().await;
        let superuser = db.superuser().await;
        superuser
            .batch_execute(&format!(
                "insert into public.app_settings (key, value) values
                   ('company_name', '\"Acme\"'),
                   ('company_postal_address', '\"{POSTAL}\"'),
                   ('default_time_zone', '\"{daytime}\"'),
                   ('rate_limit.sms', '{{\"per_second\": 100000, \"burst\": 100000}}'),
                   ('rate_limit.email', '{{\"per_second\": 100000, \"burst\": 100000}}'),
                   ('transactional.email_from', '{{\"email\": \"reports@example.com\"}}'),
                   ('transactional.sms_from', '\"+15550100100\"')
                 on conflict (key) do update set value = excluded.value;"
            ))
            .await
            .unwrap();
        Harness {
            pool: db.app_pool(8),
            db,
            superuser,
            twilio: mock::twilio(false).await,
            sendgrid: mock::sendgrid(false).await,
        }
    }

    pub fn config(&self) -> DispatchConfig {
        let mut config = DispatchConfig::new(
            "https://functions.example.test/functions/v1",
            gimbal_dispatch::unsubscribe_key(KEY).unwrap(),
        );
        config.worker_id = "test".into();
        config.lease = Duration::from_secs(30);
        config.retry_base = Duration::from_millis(20);
        config.max_lease_wait = Duration::from_secs(5);
        config.sms_batch = 50;
        config
    }

    pub fn providers(&self, timeout: Duration) -> Providers {
        let config = ProviderConfig {
            sms: SmsChoice::Twilio {
                base_url: self.twilio.url(),
                account_sid: mock::TWILIO_ACCOUNT_SID.into(),
                api_key_sid: None,
                auth_token: SecretString::from(mock::TWILIO_AUTH_TOKEN),
            },
            email: EmailChoice::SendGrid {
                base_url: self.sendgrid.url(),
                api_key: SecretString::from(mock::SENDGRID_API_KEY),
            },
            timeout,
        };
        Providers::build(&config, self.pool.clone()).unwrap()
    }

    pub fn dispatcher(&self) -> Dispatcher {
        self.dispatcher_with(self.config(), Duration::from_secs(5))
    }

    pub fn dispatcher_with(&self, config: DispatchConfig, timeout: Duration) -> Dispatcher {
        Dispatcher::new(self.pool.clone(), self.providers(timeout), config)
    }

    pub async fn sql(&self, sql: &str) {
        self.superuser
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    pub async fn value(&self, sql: &str) -> Value {
        let row = self
            .superuser
            .query_one(&format!("select to_jsonb(x) from ({sql}) x"), &[])
            .await;
        row.unwrap_or_else(|e| panic!("{sql}: {e:?}")).get(0)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.superuser.query_one(sql, &[]).await.unwrap().get(0)
    }

    /// A running campaign on `channel` to `n` consenting contacts (phones +1555020xxxx /
    /// emails rN@example.com), each in zone `zone` (or none). Returns the campaign id.
    pub async fn campaign(
        &self,
        channel: &str,
        n: usize,
        zone: Option<&str>,
        settings: &str,
    ) -> Uuid {
        let id = Uuid::new_v4();
        let zone = zone.map_or("null".to_string(), |z| format!("'{z}'"));
        let (subject, body, html) = if channel == "email" {
            (
                "'Hello {{first_name}}'",
                "'Hi {{first_name}}, news. {{company_postal_address}} Unsubscribe: {{unsubscribe_url}}'",
                "'<p>Hi {{first_name}}</p><p>{{company_postal_address}}</p><a href=\"{{unsubscribe_url}}\">unsubscribe</a>'",
            )
        } else {
            (
                "null",
                "'Hi {{first_name}}, sale today. Reply STOP to opt out.'",
                "null",
            )
        };
        let from = if channel == "email" {
            "news@example.com"
        } else {
            "+15550100199"
        };
        self.sql(&format!(
            "insert into public.audiences (id, name) values ('{id}', 'aud');
             insert into public.templates (id, name, channel, subject, body, html_body)
               values ('{id}', 't', '{channel}', {subject}, {body}, {html});
             insert into public.contacts (email, phone, first_name, time_zone, sms_consent, email_consent)
               select 'r' || g || '@example.com', '+1555020' || lpad(g::text, 4, '0'), 'R' || g, {zone},
                      'granted', 'granted'
               from generate_series(1, {n}) g
             on conflict do nothing;
             insert into public.audience_contacts (audience_id, contact_id)
               select '{id}', c.id from public.contacts c
               join generate_series(1, {n}) g on c.email = 'r' || g || '@example.com';
             insert into public.campaigns (id, name, channel, status, template_id, audience_id,
                                           from_address, settings)
               values ('{id}', 'c', '{channel}', 'running', '{id}', '{id}', '{from}', '{settings}');"
        ))
        .await;
        id
    }

    pub async fn stats(&self, id: Uuid) -> Value {
        self.value(&format!(
            "select status, stats from public.campaigns where id = '{id}'"
        ))
        .await
    }

    /// Message rows of a campaign by status.
    pub async fn statuses(&self, channel: &str, id: Uuid) -> Value {
        let table = if channel == "sms" {
            "sms_messages"
        } else {
            "email_messages"
        };
        self.superuser
            .query_one(
                &format!(
                    "select coalesce(jsonb_object_agg(status, n), '{{}}') from
                       (select status, count(*) n from public.{table} where campaign_id = $1 group by status) s"
                ),
                &[&id],
            )
            .await
            .unwrap()
            .get(0)
    }
}
