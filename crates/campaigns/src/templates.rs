//! Templates: validated writes. A template is parsed and its variables checked against the
//! catalog when it is saved, so a typo is a 422 naming the field, line and column — never a
//! broken message at send time. The variables used are stored with the template.

use chrono::{DateTime, Utc};
use gimbal_db::DbError;
use gimbal_templates::{TemplateError, catalog};
use serde::{Deserialize, Serialize};
use tokio_postgres::{Row, Transaction};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    Channel, FieldError, WriteError, fields,
    patch::{self, nullable},
    validate::err,
};

/// Input of `POST /functions/v1/templates`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    /// 1–200 characters.
    pub name: String,
    /// `sms` or `email`.
    pub channel: String,
    /// Email only, required there; may use variables.
    pub subject: Option<String>,
    /// The text (for email, the plain-text part), with `{{variables}}`.
    pub body: String,
    /// Email only: the HTML part.
    pub html_body: Option<String>,
}

/// Input of `PATCH /functions/v1/templates/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub subject: Option<Option<String>>,
    pub body: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub html_body: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Template {
    pub id: Uuid,
    pub name: String,
    pub channel: String,
    pub subject: Option<String>,
    pub body: String,
    pub html_body: Option<String>,
    /// Variables used, as extracted when saved.
    pub variables: Vec<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// SMS bodies above this are refused (Twilio's limit is 1,600 characters).
const SMS_MAX_CHARS: usize = 1600;
const EMAIL_MAX_CHARS: usize = 500_000;

pub(crate) struct ValidTemplate {
    pub name: String,
    pub channel: Channel,
    pub subject: Option<String>,
    pub body: String,
    pub html_body: Option<String>,
    pub variables: Vec<String>,
}

/// Validates a whole template: names, channel rules, syntax and variables of every part.
pub(crate) fn validate(input: &NewTemplate) -> Result<ValidTemplate, FieldError> {
    let name = fields::name("name", &input.name)?;
    let channel = Channel::parse("channel", &input.channel)?;
    let subject = input
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let html_body = input.html_body.clone().filter(|h| !h.trim().is_empty());
    if input.body.trim().is_empty() {
        return Err(err("body", "must not be empty"));
    }
    match channel {
        Channel::Sms => {
            if subject.is_some() {
                return Err(err("subject", "SMS templates have no subject"));
            }
            if html_body.is_some() {
                return Err(err("html_body", "SMS templates have no HTML part"));
            }
            if input.body.chars().count() > SMS_MAX_CHARS {
                return Err(err(
                    "body",
                    format!("must be at most {SMS_MAX_CHARS} characters for SMS"),
                ));
            }
        }
        Channel::Email => {
            let Some(subject) = &subject else {
                return Err(err("subject", "is required for email templates"));
            };
            if subject.contains(['\r', '\n']) || subject.chars().count() > 998 {
                return Err(err("subject", "must be one line of at most 998 characters"));
            }
            if input.body.chars().count() > EMAIL_MAX_CHARS {
                return Err(err("body", "is too long"));
            }
        }
    }
    let mut variables: Vec<String> = Vec::new();
    let parts = [
        ("subject", subject.as_deref()),
        ("body", Some(input.body.as_str())),
        ("html_body", html_body.as_deref()),
    ];
    for (field, text) in parts {
        let Some(text) = text else { continue };
        for name in checked_variables(field, text)? {
            if !variables.contains(&name) {
                variables.push(name);
            }
        }
    }
    Ok(ValidTemplate {
        name,
        channel,
        subject,
        body: input.body.clone(),
        html_body,
        variables,
    })
}

/// Parses `text` and checks its variables; errors carry the line and column.
pub fn checked_variables(field: &'static str, text: &str) -> Result<Vec<String>, FieldError> {
    let template = gimbal_templates::parse(text).map_err(|e| err(field, e.to_string()))?;
    match template.check_variables(&catalog::is_known_variable) {
        Ok(()) => Ok(template.variables()),
        Err(TemplateError::UnknownVariable { name }) => {
            let (line, column) = position_of_variable(text, &name).unwrap_or((1, 1));
            Err(err(
                field,
                format!(
                    "line {line}, column {column}: unknown variable {name:?} (use a contact field, \
                     company_name, company_postal_address, unsubscribe_url or attributes.<key>)"
                ),
            ))
        }
        Err(other) => Err(err(field, other.to_string())),
    }
}

/// The 1-based line and column (in characters) of the `{{` that opens the first insertion of
/// variable `name`.
pub fn position_of_variable(text: &str, name: &str) -> Option<(usize, usize)> {
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find("{{") {
        let open = search_from + offset;
        let inner_start = open + 2;
        let close = text[inner_start..].find("}}").map(|c| inner_start + c)?;
        let inner = &text[inner_start..close];
        let var = inner.split('|').next().unwrap_or_default().trim();
        if var == name {
            let before = &text[..open];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = text[line_start..open].chars().count() + 1;
            return Some((line, column));
        }
        search_from = close + 2;
    }
    None
}

const COLUMNS: &str =
    "id, name, channel, subject, body, html_body, variables, created_by, created_at, updated_at";

fn from_row(row: &Row) -> Template {
    Template {
        id: row.get("id"),
        name: row.get("name"),
        channel: row.get("channel"),
        subject: row.get("subject"),
        body: row.get("body"),
        html_body: row.get("html_body"),
        variables: row
            .get::<_, Option<Vec<String>>>("variables")
            .unwrap_or_default(),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

pub async fn create(tx: &Transaction<'_>, input: &NewTemplate) -> Result<Template, WriteError> {
    let v = validate(input)?;
    let sql = format!(
        "insert into public.templates (name, channel, subject, body, html_body, variables)
         values ($1, $2, $3, $4, $5, $6) returning {COLUMNS}"
    );
    let row = tx
        .query_one(
            &sql,
            &[
                &v.name,
                &v.channel.as_str(),
                &v.subject,
                &v.body,
                &v.html_body,
                &v.variables,
            ],
        )
        .await
        .map_err(DbError::from)?;
    Ok(from_row(&row))
}

/// A template visible to the caller.
pub async fn get(tx: &Transaction<'_>, id: Uuid) -> Result<Option<Template>, WriteError> {
    let sql = format!("select {COLUMNS} from public.templates where id = $1");
    let row = tx.query_opt(&sql, &[&id]).await.map_err(DbError::from)?;
    Ok(row.as_ref().map(from_row))
}

pub async fn update(
    tx: &Transaction<'_>,
    id: Uuid,
    input: &TemplatePatch,
) -> Result<Template, WriteError> {
    let current = get(tx, id).await?.ok_or(WriteError::NotFound)?;
    let merged = NewTemplate {
        name: input.name.clone().unwrap_or(current.name),
        channel: input.channel.clone().unwrap_or(current.channel),
        subject: patch::apply(current.subject, &input.subject),
        body: input.body.clone().unwrap_or(current.body),
        html_body: patch::apply(current.html_body, &input.html_body),
    };
    let v = validate(&merged)?;
    let sql = format!(
        "update public.templates set name = $2, channel = $3, subject = $4, body = $5,
                html_body = $6, variables = $7
         where id = $1 returning {COLUMNS}"
    );
    let row = tx
        .query_opt(
            &sql,
            &[
                &id,
                &v.name,
                &v.channel.as_str(),
                &v.subject,
                &v.body,
                &v.html_body,
                &v.variables,
            ],
        )
        .await
        .map_err(DbError::from)?;
    // Visible (we read it above) but not updated: RLS refused the caller.
    row.as_ref().map(from_row).ok_or(WriteError::Forbidden)
}

pub async fn delete(tx: &Transaction<'_>, id: Uuid) -> Result<(), WriteError> {
    crate::delete_visible(tx, "templates", id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(body: &str) -> NewTemplate {
        NewTemplate {
            name: "Welcome".into(),
            channel: "email".into(),
            subject: Some("Hi {{first_name | default(\"there\")}}".into()),
            body: body.into(),
            html_body: None,
        }
    }

    #[test]
    fn unknown_variable_names_field_line_and_column() {
        let e = validate(&email("Hello\n  {{ first_name }} and {{favourite_colour}}"))
            .err()
            .unwrap();
        assert_eq!(e.field, "body");
        assert!(
            e.message
                .starts_with("line 2, column 24: unknown variable \"favourite_colour\""),
            "{}",
            e.message
        );
    }

    #[test]
    fn syntax_errors_name_the_part() {
        let mut t = email("fine");
        t.subject = Some("Hi {{first_name".into());
        let e = validate(&t).err().unwrap();
        assert_eq!(e.field, "subject");
        assert!(e.message.contains("line 1"), "{}", e.message);
    }

    #[test]
    fn variables_are_collected_from_every_part() {
        let mut t = email("{{unsubscribe_url}} {{attributes.plan}}");
        t.html_body = Some("<p>{{company_postal_address}}</p>".into());
        let v = validate(&t).unwrap();
        assert_eq!(
            v.variables,
            [
                "first_name",
                "unsubscribe_url",
                "attributes.plan",
                "company_postal_address"
            ]
        );
    }

    #[test]
    fn channel_rules() {
        let mut t = email("x");
        t.subject = None;
        assert_eq!(validate(&t).err().unwrap().field, "subject");
        let sms = NewTemplate {
            name: "s".into(),
            channel: "sms".into(),
            subject: Some("no".into()),
            body: "Hi".into(),
            html_body: None,
        };
        assert_eq!(validate(&sms).err().unwrap().field, "subject");
        let long = NewTemplate {
            subject: None,
            body: "x".repeat(1601),
            ..sms
        };
        assert_eq!(validate(&long).err().unwrap().field, "body");
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(position_of_variable("é {{x}}", "x"), Some((1, 3)));
        assert_eq!(
            position_of_variable("{{ y }}\n{{x|default(\"a\")}}", "x"),
            Some((2, 1))
        );
        assert_eq!(position_of_variable("{{y}}", "x"), None);
    }
}
