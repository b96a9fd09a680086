//! Field values: whether a text fits a column type, and its encoding in `COPY … (format text)`.
//!
//! Every value is checked here before it is sent, with rules no looser than PostgreSQL's own
//! input functions, so a row that passes never makes the server abort the `COPY` (which would
//! lose the whole load); a value that fails becomes an error for its row alone. Dates and
//! timestamps are sent re-formatted by chrono, so the server never has to guess (no `DateStyle`
//! surprises).

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::schema::ColumnType;

/// The `COPY` text spelling of NULL.
const NULL: &[u8] = b"\\N";

pub fn parses_as(raw: &str, ty: ColumnType) -> bool {
    match ty {
        ColumnType::Text => true,
        ColumnType::Boolean => boolean(raw).is_some(),
        ColumnType::Bigint => raw.parse::<i64>().is_ok(),
        ColumnType::Numeric => is_numeric(raw),
        ColumnType::Date => date(raw).is_some(),
        ColumnType::Timestamp => timestamp(raw).is_some(),
        ColumnType::Timestamptz => timestamptz(raw).is_some(),
    }
}

/// Appends `raw` as a `COPY` text field of type `ty` to `out`; an empty field is NULL. On error,
/// `out` may hold part of the field (the caller truncates the row) and the message says what
/// was expected.
pub fn encode(raw: &str, ty: ColumnType, out: &mut Vec<u8>) -> Result<(), &'static str> {
    if ty == ColumnType::Text {
        if raw.is_empty() {
            out.extend_from_slice(NULL);
            return Ok(());
        }
        return escape_text(raw, out);
    }
    let value = raw.trim();
    if value.is_empty() {
        out.extend_from_slice(NULL);
        return Ok(());
    }
    match ty {
        ColumnType::Boolean => {
            let b = boolean(value).ok_or("expected a boolean (true/false, yes/no, t/f, y/n)")?;
            out.push(if b { b't' } else { b'f' });
        }
        ColumnType::Bigint => {
            value
                .parse::<i64>()
                .map_err(|_| "expected a whole number within ±9.2e18")?;
            out.extend_from_slice(value.as_bytes());
        }
        ColumnType::Numeric => {
            if !is_numeric(value) {
                return Err("expected a number");
            }
            out.extend_from_slice(value.as_bytes());
        }
        ColumnType::Date => {
            let d = date(value).ok_or("expected a date (YYYY-MM-DD)")?;
            write_formatted(out, d.format("%Y-%m-%d"));
        }
        ColumnType::Timestamp => {
            let t = timestamp(value).ok_or("expected a date and time (YYYY-MM-DD HH:MM:SS)")?;
            write_formatted(out, t.format("%Y-%m-%d %H:%M:%S%.f"));
        }
        ColumnType::Timestamptz => {
            let t =
                timestamptz(value).ok_or("expected a date and time with an offset (RFC 3339)")?;
            write_formatted(out, t.format("%Y-%m-%d %H:%M:%S%.f%:z"));
        }
        ColumnType::Text => unreachable!("handled above"),
    }
    Ok(())
}

fn write_formatted(out: &mut Vec<u8>, value: impl std::fmt::Display) {
    use std::io::Write;
    write!(out, "{value}").expect("writing to a Vec cannot fail");
}

/// `COPY` text escaping: backslash, and the characters that delimit fields and rows.
fn escape_text(raw: &str, out: &mut Vec<u8>) -> Result<(), &'static str> {
    let bytes = raw.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0 => return Err("contains a NUL character, which PostgreSQL text cannot hold"),
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    Ok(())
}

fn boolean(raw: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["true", "t", "yes", "y"];
    const FALSE: [&str; 4] = ["false", "f", "no", "n"];
    if TRUE.iter().any(|t| raw.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| raw.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// `[+-]digits[.digits][e[+-]digits]` (or `.digits`), exponent within ±1000: a subset of what
/// `numeric_in` accepts that never overflows it.
fn is_numeric(raw: &str) -> bool {
    let s = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.len() <= 4 && digits(e) && e.parse::<u32>().is_ok_and(|n| n <= 1000)
    });
    mantissa_ok && exponent_ok && mantissa.len() <= 1000
}

fn in_range(d: NaiveDate) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&d.year())
}

fn date(raw: &str) -> Option<NaiveDate> {
    // chrono's %Y takes signs and more than four digits; PostgreSQL's ISO dates do not.
    if raw.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|d| in_range(*d))
}

fn timestamp(raw: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
    .filter(|t| in_range(t.date()) && raw.get(4..5) == Some("-"))
}

fn timestamptz(raw: &str) -> Option<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .or_else(|| DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f%#z").ok())
        .filter(|t| in_range(t.date_naive()) && raw.get(4..5) == Some("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(raw: &str, ty: ColumnType) -> Result<String, &'static str> {
        let mut out = Vec::new();
        encode(raw, ty, &mut out).map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn text_is_escaped_for_copy() {
        assert_eq!(
            enc("a\tb\\c\nd\re", ColumnType::Text).unwrap(),
            "a\\tb\\\\c\\nd\\re"
        );
        assert_eq!(enc("", ColumnType::Text).unwrap(), "\\N");
        assert!(enc("a\0b", ColumnType::Text).is_err());
    }

    #[test]
    fn typed_values_are_checked_and_normalised() {
        assert_eq!(enc(" 42 ", ColumnType::Bigint).unwrap(), "42");
        assert!(enc("9223372036854775808", ColumnType::Bigint).is_err());
        assert_eq!(enc("-1.5e3", ColumnType::Numeric).unwrap(), "-1.5e3");
        for bad in ["1,5", "e5", ".", "1e", "1e99999", "NaN", "0x10"] {
            assert!(enc(bad, ColumnType::Numeric).is_err(), "{bad}");
        }
        assert_eq!(enc("Yes", ColumnType::Boolean).unwrap(), "t");
        assert_eq!(enc("2024-02-29", ColumnType::Date).unwrap(), "2024-02-29");
        assert!(enc("2023-02-29", ColumnType::Date).is_err());
        assert!(enc("+12024-01-01", ColumnType::Date).is_err());
        assert_eq!(
            enc("2024-03-01T10:00:00.5+01:00", ColumnType::Timestamptz).unwrap(),
            "2024-03-01 10:00:00.500+01:00"
        );
        assert_eq!(
            enc("2024-03-01 10:00", ColumnType::Timestamp).unwrap(),
            "2024-03-01 10:00:00"
        );
        assert_eq!(enc("", ColumnType::Date).unwrap(), "\\N");
    }
}
