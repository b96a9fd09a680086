//! Field validation for campaign input. Each error names its field so the client can put the
//! message next to it.

use chrono::{DateTime, Utc};

use crate::NewCampaign;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

pub(crate) fn err(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

impl Channel {
    pub fn parse(field: &'static str, value: &str) -> Result<Channel, FieldError> {
        match value {
            "sms" => Ok(Channel::Sms),
            "email" => Ok(Channel::Email),
            other => Err(err(
                field,
                format!("must be \"sms\" or \"email\", not {other:?}"),
            )),
        }
    }
}

pub struct ValidCampaign {
    pub name: String,
    pub channel: Channel,
    pub send_at: Option<DateTime<Utc>>,
    pub from_address: Option<String>,
    pub settings: serde_json::Value,
}

pub fn new_campaign(input: &NewCampaign, now: DateTime<Utc>) -> Result<ValidCampaign, FieldError> {
    let name = input.name.trim().to_string();
    let length = name.chars().count();
    if !(1..=200).contains(&length) {
        return Err(err("name", "must be 1 to 200 characters"));
    }
    let channel = match input.channel.as_str() {
        "sms" => Channel::Sms,
        "email" => Channel::Email,
        other => {
            return Err(err(
                "channel",
                format!("must be \"sms\" or \"email\", not {other:?}"),
            ));
        }
    };
    if let Some(at) = input.send_at
        && at <= now
    {
        return Err(err("send_at", "must be in the future"));
    }
    let from_address = input
        .from_address
        .as_deref()
        .map(str::trim)
        .map(str::to_string);
    if let Some(from) = &from_address {
        validate_sender(channel, from)?;
    }
    let settings = input
        .settings
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    if !settings.is_object() {
        return Err(err("settings", "must be a JSON object"));
    }
    Ok(ValidCampaign {
        name,
        channel,
        send_at: input.send_at,
        from_address,
        settings,
    })
}

pub(crate) fn validate_sender(channel: Channel, from: &str) -> Result<(), FieldError> {
    let ok = match channel {
        // An E.164 number, or a Twilio Messaging Service SID (MG + 32 hex).
        Channel::Sms => {
            let e164 = from.len() <= 16
                && from.starts_with('+')
                && from[1..].chars().all(|c| c.is_ascii_digit())
                && from.len() >= 8
                && !from[1..].starts_with('0');
            let service = from.len() == 34
                && from.starts_with("MG")
                && from[2..].chars().all(|c| c.is_ascii_hexdigit());
            e164 || service
        }
        Channel::Email => {
            let mut parts = from.splitn(2, '@');
            let local = parts.next().unwrap_or_default();
            let domain = parts.next().unwrap_or_default();
            !local.is_empty() && domain.contains('.') && !from.contains(char::is_whitespace)
        }
    };
    if ok {
        Ok(())
    } else {
        let expected = match channel {
            Channel::Sms => "an E.164 number (+15551234567) or a Messaging Service SID (MG…)",
            Channel::Email => "an email address",
        };
        Err(err("from_address", format!("must be {expected}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, channel: &str) -> NewCampaign {
        NewCampaign {
            name: name.into(),
            channel: channel.into(),
            template_id: None,
            audience_id: None,
            send_at: None,
            from_address: None,
            settings: None,
        }
    }

    #[test]
    fn empty_name_is_rejected_naming_the_field() {
        let e = new_campaign(&input("   ", "sms"), Utc::now())
            .err()
            .unwrap();
        assert_eq!(e.field, "name");
    }

    #[test]
    fn unknown_channel_is_rejected() {
        let e = new_campaign(&input("Spring", "fax"), Utc::now())
            .err()
            .unwrap();
        assert_eq!(e.field, "channel");
        assert!(e.message.contains("fax"));
    }

    #[test]
    fn send_at_in_the_past_is_rejected() {
        let mut i = input("Spring", "email");
        i.send_at = Some(Utc::now() - chrono::Duration::minutes(1));
        assert_eq!(new_campaign(&i, Utc::now()).err().unwrap().field, "send_at");
    }

    #[test]
    fn sms_sender_must_be_e164_or_service_sid() {
        let mut i = input("Spring", "sms");
        i.from_address = Some("555-1234".into());
        assert_eq!(
            new_campaign(&i, Utc::now()).err().unwrap().field,
            "from_address"
        );
        i.from_address = Some("+15551234567".into());
        assert!(new_campaign(&i, Utc::now()).is_ok());
        i.from_address = Some(format!("MG{}", "a".repeat(32)));
        assert!(new_campaign(&i, Utc::now()).is_ok());
    }

    #[test]
    fn name_is_trimmed() {
        let v = new_campaign(&input("  Spring sale ", "email"), Utc::now()).unwrap();
        assert_eq!(v.name, "Spring sale");
    }
}
