//! Validation of the fields contacts, audiences and templates share: names, email addresses,
//! phone numbers (normalised to E.164 with `phonenumber`), IANA time zones, consent states.
//! Every error names its field.

use phonenumber::{Mode, country};

use crate::validate::{FieldError, err};

/// Trims and checks a required name of 1–200 characters.
pub fn name(field: &'static str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if (1..=200).contains(&trimmed.chars().count()) {
        Ok(trimmed.to_string())
    } else {
        Err(err(field, "must be 1 to 200 characters"))
    }
}

/// Lower-cases and checks an email address: one `@`, a local part of 1–64 characters and a
/// dotted domain of letters, digits and hyphens, no spaces, at most 254 characters.
pub fn email(field: &'static str, value: &str) -> Result<String, FieldError> {
    let address = value.trim().to_lowercase();
    let invalid = || err(field, format!("{value:?} is not an email address"));
    if address.len() > 254 || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = address.split_once('@').ok_or_else(invalid)?;
    let labels_ok = domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    let local_ok = (1..=64).contains(&local.len())
        && !local.contains(['@', '"', '(', ')', ',', ':', ';', '<', '>', '[', ']', '\\'])
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if labels_ok && local_ok {
        Ok(address)
    } else {
        Err(invalid())
    }
}

/// An ISO 3166 region code (`US`, `GB`) for numbers written without a country code.
pub fn region(field: &'static str, value: &str) -> Result<country::Id, FieldError> {
    value
        .trim()
        .to_ascii_uppercase()
        .parse::<country::Id>()
        .map_err(|_| {
            err(
                field,
                format!("{value:?} is not a two-letter region code (e.g. US)"),
            )
        })
}

/// Parses a phone number as written (`(415) 555-2671`, `+44 20 7946 0958`) and returns it in
/// E.164; numbers without a country code are read in `region`.
pub fn phone(field: &'static str, value: &str, region: country::Id) -> Result<String, FieldError> {
    let number = phonenumber::parse(Some(region), value.trim())
        .map_err(|_| err(field, format!("{value:?} is not a phone number")))?;
    if !phonenumber::is_valid(&number) {
        let read_as = if value.trim().starts_with('+') {
            String::new()
        } else {
            format!(" (read in region {region:?}, as it has no country code)")
        };
        return Err(err(
            field,
            format!("{value:?} is not a valid number{read_as}"),
        ));
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

/// An IANA time zone name (`America/Chicago`).
pub fn time_zone(field: &'static str, value: &str) -> Result<String, FieldError> {
    let zone = value.trim();
    zone.parse::<chrono_tz::Tz>()
        .map(|_| zone.to_string())
        .map_err(|_| {
            err(
                field,
                format!("{value:?} is not an IANA time zone (e.g. America/Chicago)"),
            )
        })
}

/// `granted`, `denied` or `unknown`; imports may also say yes/no, true/false, 1/0.
pub fn consent(field: &'static str, value: &str) -> Result<&'static str, FieldError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "granted" | "yes" | "y" | "true" | "1" | "opted_in" => Ok("granted"),
        "denied" | "no" | "n" | "false" | "0" | "opted_out" => Ok("denied"),
        "unknown" | "" => Ok("unknown"),
        other => Err(err(
            field,
            format!("must be granted, denied or unknown, not {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_normalised_to_e164() {
        let us = region("region", "us").unwrap();
        assert_eq!(
            phone("phone", "(415) 555-2671", us).unwrap(),
            "+14155552671"
        );
        assert_eq!(
            phone("phone", "+44 20 7946 0958", us).unwrap(),
            "+442079460958"
        );
        let gb = region("region", "GB").unwrap();
        assert_eq!(
            phone("phone", "020 7946 0958", gb).unwrap(),
            "+442079460958"
        );
        assert_eq!(phone("phone", "12", us).unwrap_err().field, "phone");
        assert_eq!(
            phone("phone", "not a number", us).unwrap_err().field,
            "phone"
        );
        assert!(region("region", "ZZZ").is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            email("email", " Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@@example.com",
            "ada@exa_mple.com",
            "ada..b@example.com",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones_must_be_iana() {
        assert_eq!(
            time_zone("time_zone", "Europe/Paris").unwrap(),
            "Europe/Paris"
        );
        assert!(time_zone("time_zone", "Mars/Olympus").is_err());
        assert!(time_zone("time_zone", "CET+1").is_err());
    }

    #[test]
    fn consent_words_map_to_states() {
        assert_eq!(consent("c", "Yes").unwrap(), "granted");
        assert_eq!(consent("c", "opted_out").unwrap(), "denied");
        assert_eq!(consent("c", "").unwrap(), "unknown");
        assert_eq!(
            consent("sms_consent", "maybe").unwrap_err().field,
            "sms_consent"
        );
    }
}
