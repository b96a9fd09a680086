//! Template previews: a template rendered for one contact (or for sample values), with what
//! it costs as SMS (segments, GSM-7 or UCS-2 and the characters that forced UCS-2) and what
//! the law and the carriers require of it:
//!
//! * email: an unsubscribe link (`{{unsubscribe_url}}`, CAN-SPAM and RFC 8058), the company's
//!   postal address in the message (CAN-SPAM), a subject;
//! * SMS marketing: opt-out language ("Reply STOP to opt out"), the sender's name (CTIA), and
//!   warnings for long or UCS-2 messages.
//!
//! The dispatcher refuses to send what is reported here as an `error`; a `warning` is advice.

use std::collections::HashMap;

use gimbal_db::DbError;
use gimbal_templates::{Encoding, TemplateError, sms_segments};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_postgres::Transaction;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Channel, WriteError, templates, validate::err};

/// Input of `POST /functions/v1/render-template`: a saved template or an unsaved draft.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A saved template; or give `channel` and `body` (and `subject`, `html_body`).
    pub template_id: Option<Uuid>,
    pub channel: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub html_body: Option<String>,
    /// Render for this contact (the caller must be able to read it).
    pub contact_id: Option<Uuid>,
    /// Values for variables (override the contact's), e.g. `{"first_name": "Ada"}`.
    #[serde(default)]
    pub sample: HashMap<String, String>,
    /// Marketing messages (the default) carry the opt-out and address requirements.
    #[serde(default = "yes")]
    pub marketing: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SmsInfo {
    /// `gsm-7` or `ucs-2`.
    pub encoding: String,
    pub segments: usize,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// The characters that forced UCS-2.
    pub non_gsm_characters: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Problem {
    /// Stable code, e.g. `missing_unsubscribe_link`.
    pub code: &'static str,
    /// `error` (sending is refused) or `warning`.
    pub severity: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    pub channel: String,
    pub subject: Option<String>,
    pub body: String,
    pub html_body: Option<String>,
    /// Variables the template uses.
    pub variables: Vec<String>,
    /// Variables with no value and no default (shown as `{{name}}` in the preview).
    pub missing: Vec<String>,
    pub sms: Option<SmsInfo>,
    pub problems: Vec<Problem>,
    /// True when no problem is an `error`.
    pub compliant: bool,
}

struct Source {
    channel: Channel,
    subject: Option<String>,
    body: String,
    html_body: Option<String>,
}

async fn source(tx: &Transaction<'_>, input: &PreviewRequest) -> Result<Source, WriteError> {
    if let Some(id) = input.template_id {
        let t = templates::get(tx, id)
            .await?
            .ok_or_else(|| err("template_id", "no such template"))?;
        return Ok(Source {
            channel: Channel::parse("channel", &t.channel)?,
            subject: t.subject,
            body: t.body,
            html_body: t.html_body,
        });
    }
    let channel = input
        .channel
        .as_deref()
        .ok_or_else(|| err("channel", "is required without template_id"))?;
    let body = input
        .body
        .clone()
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| err("body", "is required without template_id"))?;
    Ok(Source {
        channel: Channel::parse("channel", channel)?,
        subject: input.subject.clone(),
        body,
        html_body: input.html_body.clone(),
    })
}

/// The values a template can draw on: company settings, the contact, then the sample.
async fn values(
    tx: &Transaction<'_>,
    input: &PreviewRequest,
    unsubscribe_url: &str,
) -> Result<HashMap<String, String>, WriteError> {
    let mut vars = HashMap::new();
    let settings = tx
        .query(
            "select key, value #>> '{}' from public.app_settings
             where key in ('company_name', 'company_postal_address')",
            &[],
        )
        .await
        .map_err(DbError::from)?;
    for row in settings {
        if let Some(value) = row.get::<_, Option<String>>(1) {
            vars.insert(row.get::<_, String>(0), value);
        }
    }
    vars.insert("unsubscribe_url".into(), unsubscribe_url.to_string());
    if let Some(id) = input.contact_id {
        let row = tx
            .query_opt(
                "select email, phone, first_name, last_name, locale, time_zone, attributes
                 from public.contacts where id = $1",
                &[&id],
            )
            .await
            .map_err(DbError::from)?
            .ok_or_else(|| err("contact_id", "no such contact"))?;
        for (i, name) in [
            "email",
            "phone",
            "first_name",
            "last_name",
            "locale",
            "time_zone",
        ]
        .iter()
        .enumerate()
        {
            if let Some(v) = row.get::<_, Option<String>>(i) {
                vars.insert((*name).to_string(), v);
            }
        }
        if let Value::Object(attributes) = row.get::<_, Value>(6) {
            for (key, value) in attributes {
                let text = match value {
                    Value::String(s) => s,
                    Value::Null => continue,
                    other => other.to_string(),
                };
                vars.insert(format!("attributes.{key}"), text);
            }
        }
    }
    for (k, v) in &input.sample {
        vars.insert(k.clone(), v.clone());
    }
    Ok(vars)
}

/// Renders `text`, showing variables without a value as `{{name}}` and listing them.
fn render(
    field: &'static str,
    text: &str,
    vars: &HashMap<String, String>,
    missing: &mut Vec<String>,
) -> Result<String, WriteError> {
    templates::checked_variables(field, text)?;
    let template = gimbal_templates::parse(text).map_err(|e| err(field, e.to_string()))?;
    let mut placeholders: HashMap<String, String> = HashMap::new();
    loop {
        let lookup = |name: &str| {
            vars.get(name)
                .cloned()
                .or_else(|| placeholders.get(name).cloned())
        };
        match template.render(&lookup) {
            Ok(out) => return Ok(out),
            Err(TemplateError::MissingValue { name }) => {
                if !missing.contains(&name) {
                    missing.push(name.clone());
                }
                placeholders.insert(name.clone(), format!("{{{{{name}}}}}"));
            }
            Err(other) => return Err(err(field, other.to_string()).into()),
        }
    }
}

/// Previews a template as the caller (RLS decides which templates and contacts they see).
pub async fn preview(
    tx: &Transaction<'_>,
    input: &PreviewRequest,
    unsubscribe_url: &str,
) -> Result<Preview, WriteError> {
    let src = source(tx, input).await?;
    let vars = values(tx, input, unsubscribe_url).await?;
    let mut missing = Vec::new();
    let mut variables = Vec::new();
    for text in [
        src.subject.as_deref(),
        Some(src.body.as_str()),
        src.html_body.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        for v in gimbal_templates::parse(text)
            .map(|t| t.variables())
            .unwrap_or_default()
        {
            if !variables.contains(&v) {
                variables.push(v);
            }
        }
    }
    let subject = src
        .subject
        .as_deref()
        .map(|s| render("subject", s, &vars, &mut missing))
        .transpose()?;
    let body = render("body", &src.body, &vars, &mut missing)?;
    let html_body = src
        .html_body
        .as_deref()
        .map(|h| render("html_body", h, &vars, &mut missing))
        .transpose()?;
    let company = Company {
        name: vars.get("company_name").cloned(),
        postal_address: vars.get("company_postal_address").cloned(),
    };
    let (sms, problems) = match src.channel {
        Channel::Sms => {
            let info = sms_segments(&body);
            let problems = sms_problems(&body, &info, input.marketing, &company);
            let sms = SmsInfo {
                encoding: match info.encoding {
                    Encoding::Gsm7 => "gsm-7".into(),
                    Encoding::Ucs2 => "ucs-2".into(),
                },
                segments: info.segments,
                units: info.units,
                non_gsm_characters: info
                    .non_gsm_characters
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
            };
            (Some(sms), problems)
        }
        Channel::Email => {
            let uses_unsubscribe = variables.iter().any(|v| v == "unsubscribe_url");
            let parts = [Some(body.as_str()), html_body.as_deref()];
            let problems = email_problems(
                subject.as_deref(),
                &parts,
                uses_unsubscribe,
                input.marketing,
                &company,
            );
            (None, problems)
        }
    };
    let compliant = problems.iter().all(|p| p.severity != "error");
    Ok(Preview {
        channel: src.channel.as_str().into(),
        subject,
        body,
        html_body,
        variables,
        missing,
        sms,
        problems,
        compliant,
    })
}

pub struct Company {
    pub name: Option<String>,
    pub postal_address: Option<String>,
}

fn problem(code: &'static str, severity: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        code,
        severity,
        message: message.into(),
    }
}

/// Whitespace-insensitive, case-insensitive containment (addresses wrap across lines).
fn contains_loosely(haystack: &str, needle: &str) -> bool {
    let squash = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let needle = squash(needle);
    !needle.is_empty() && squash(haystack).contains(&needle)
}

/// CAN-SPAM and RFC 8058 checks on a rendered email.
pub fn email_problems(
    subject: Option<&str>,
    parts: &[Option<&str>],
    uses_unsubscribe_url: bool,
    marketing: bool,
    company: &Company,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if subject.is_none_or(|s| s.trim().is_empty()) {
        problems.push(problem(
            "missing_subject",
            "error",
            "an email needs a subject",
        ));
    }
    if !marketing {
        return problems;
    }
    if !uses_unsubscribe_url {
        problems.push(problem(
            "missing_unsubscribe_link",
            "error",
            "marketing email must carry {{unsubscribe_url}} (CAN-SPAM; it also backs the RFC 8058 List-Unsubscribe header)",
        ));
    }
    match company
        .postal_address
        .as_deref()
        .filter(|a| !a.trim().is_empty())
    {
        None => problems.push(problem(
            "postal_address_not_configured",
            "error",
            "set the company_postal_address setting: CAN-SPAM requires it in every marketing email",
        )),
        Some(address) => {
            for part in parts.iter().flatten() {
                if !contains_loosely(part, address) {
                    problems.push(problem(
                        "missing_postal_address",
                        "error",
                        "the company's postal address must appear in the footer (use {{company_postal_address}})",
                    ));
                    break;
                }
            }
        }
    }
    problems
}

/// TCPA / CTIA checks and cost warnings on a rendered SMS.
pub fn sms_problems(
    body: &str,
    info: &gimbal_templates::Segments,
    marketing: bool,
    company: &Company,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let lower = body.to_lowercase();
    if marketing {
        let opt_out = [
            "reply stop",
            "text stop",
            "txt stop",
            "send stop",
            "stop to opt out",
            "stop to end",
            "stop to unsubscribe",
            "stop to cancel",
            "stop to quit",
        ]
        .iter()
        .any(|phrase| lower.contains(phrase));
        if !opt_out {
            problems.push(problem(
                "missing_opt_out_language",
                "error",
                "marketing SMS must say how to opt out, e.g. \"Reply STOP to opt out\"",
            ));
        }
        if let Some(name) = company.name.as_deref().filter(|n| !n.trim().is_empty())
            && !contains_loosely(body, name)
        {
            problems.push(problem(
                "missing_sender_name",
                "warning",
                format!(
                    "carriers expect the sender to be named; the message does not mention {name:?}"
                ),
            ));
        }
    }
    if info.encoding == Encoding::Ucs2 {
        let chars: String = info.non_gsm_characters.iter().collect();
        problems.push(problem(
            "ucs2_encoding",
            "warning",
            format!("{chars:?} are not GSM-7 characters: the message is sent as UCS-2 (70 characters per segment instead of 160)"),
        ));
    }
    if info.segments > 4 {
        problems.push(problem(
            "many_segments",
            "warning",
            format!(
                "the message takes {} segments, each billed as one SMS",
                info.segments
            ),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company() -> Company {
        Company {
            name: Some("Acme".into()),
            postal_address: Some("1 Main St, Springfield".into()),
        }
    }

    fn codes(problems: &[Problem]) -> Vec<&'static str> {
        problems.iter().map(|p| p.code).collect()
    }

    #[test]
    fn marketing_sms_needs_opt_out_language() {
        let body = "Acme: 20% off today";
        let p = sms_problems(body, &sms_segments(body), true, &company());
        assert_eq!(codes(&p), ["missing_opt_out_language"]);
        let ok = "Acme: 20% off today. Reply STOP to opt out";
        assert!(sms_problems(ok, &sms_segments(ok), true, &company()).is_empty());
        assert!(sms_problems(body, &sms_segments(body), false, &company()).is_empty());
    }

    #[test]
    fn ucs2_and_sender_name_are_warnings() {
        let body = "Sale 🎉 now. Reply STOP to opt out";
        let p = sms_problems(body, &sms_segments(body), true, &company());
        assert_eq!(codes(&p), ["missing_sender_name", "ucs2_encoding"]);
        assert!(p.iter().all(|p| p.severity == "warning"));
        assert!(p[1].message.contains('🎉'));
    }

    #[test]
    fn marketing_email_needs_unsubscribe_and_postal_address() {
        let p = email_problems(Some("Hi"), &[Some("Hello")], false, true, &company());
        assert_eq!(
            codes(&p),
            ["missing_unsubscribe_link", "missing_postal_address"]
        );
        let footer = "Hello\n--\nAcme, 1 Main St,\n  Springfield";
        let p = email_problems(Some("Hi"), &[Some(footer)], true, true, &company());
        assert!(p.is_empty(), "{p:?}");
        let none = Company {
            name: None,
            postal_address: None,
        };
        let p = email_problems(None, &[Some(footer)], true, true, &none);
        assert_eq!(
            codes(&p),
            ["missing_subject", "postal_address_not_configured"]
        );
    }
}
