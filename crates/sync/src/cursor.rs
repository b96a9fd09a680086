//! Incremental cursors compared by what they are, not by their text. Text order is right only
//! for ISO timestamps in one offset and zero-padded ids: `"9" > "10"`, and
//! `2024-03-01T10:00:00+02:00` is *earlier* than `2024-03-01T09:00:00Z`. A cursor has a
//! [`CursorType`], configured or inferred from the first value seen (as discovery reports it),
//! and values are parsed to that type before they are compared. The value kept is the
//! original JSON value, so it is sent back to the API exactly as the API wrote it.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CursorType {
    /// Whole numbers, as JSON numbers or digit strings (`9` < `10`).
    Integer,
    /// Any JSON number or numeric string.
    Number,
    /// RFC 3339 date-times, compared as instants whatever their offsets.
    Timestamp,
    /// `YYYY-MM-DD`.
    Date,
    /// Plain text, compared byte by byte.
    String,
}

impl CursorType {
    pub fn name(self) -> &'static str {
        match self {
            CursorType::Integer => "integer",
            CursorType::Number => "number",
            CursorType::Timestamp => "timestamp",
            CursorType::Date => "date",
            CursorType::String => "string",
        }
    }

    /// The type a value looks like: JSON integers and digit strings are integers, other
    /// numbers numbers, RFC 3339 strings timestamps, `YYYY-MM-DD` dates; the rest strings.
    /// `None` for values that cannot be a cursor (null, booleans, objects, arrays).
    pub fn infer(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(CursorType::Integer),
            Value::Number(_) => Some(CursorType::Number),
            Value::String(s) => Some(if is_integer_text(s) {
                CursorType::Integer
            } else if DateTime::parse_from_rfc3339(s).is_ok() {
                CursorType::Timestamp
            } else if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
                CursorType::Date
            } else {
                CursorType::String
            }),
            _ => None,
        }
    }
}

fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 38 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A cursor value parsed for comparison.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Key {
    Integer(i128),
    Number(f64),
    Instant(DateTime<Utc>),
    Date(NaiveDate),
    Text(String),
}

fn parse(kind: CursorType, value: &Value) -> Option<Key> {
    let text = match value {
        Value::String(s) => Some(s.trim()),
        _ => None,
    };
    match kind {
        CursorType::Integer => match value {
            Value::Number(n) => n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)),
            _ => text?.parse().ok(),
        }
        .map(Key::Integer),
        CursorType::Number => match value {
            Value::Number(n) => n.as_f64(),
            _ => text?.parse::<f64>().ok(),
        }
        .filter(|f| f.is_finite())
        .map(Key::Number),
        CursorType::Timestamp => DateTime::parse_from_rfc3339(text?)
            .ok()
            .map(|t| Key::Instant(t.with_timezone(&Utc))),
        CursorType::Date => NaiveDate::parse_from_str(text?, "%Y-%m-%d")
            .ok()
            .map(Key::Date),
        CursorType::String => match value {
            Value::String(s) => Some(Key::Text(s.clone())),
            Value::Number(n) => Some(Key::Text(n.to_string())),
            _ => None,
        },
    }
}

/// Orders two values as `kind`; `None` when either is not a value of that type.
pub fn compare(kind: CursorType, a: &Value, b: &Value) -> Option<Ordering> {
    parse(kind, a)?.partial_cmp(&parse(kind, b)?)
}

/// The highest cursor value of a run, carried from page to page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Highest {
    /// Configured, or inferred from the first usable value.
    pub kind: Option<CursorType>,
    /// As the API wrote it.
    pub value: Option<Value>,
    /// Values that are not of the cursor's type (they cannot move it).
    pub skipped: u64,
}

impl Highest {
    pub fn new(kind: Option<CursorType>, value: Option<Value>) -> Self {
        let value = value.filter(|v| !v.is_null());
        Highest {
            kind,
            value,
            skipped: 0,
        }
    }

    /// Takes `candidate` if it is higher than the current value.
    pub fn offer(&mut self, candidate: &Value) {
        if candidate.is_null() {
            return;
        }
        let Some(kind) = self.kind.or_else(|| CursorType::infer(candidate)) else {
            self.skipped += 1;
            return;
        };
        self.kind = Some(kind);
        if parse(kind, candidate).is_none() {
            self.skipped += 1;
            return;
        }
        let higher = match &self.value {
            None => true,
            // A saved value the type cannot read (a cursor saved before its type was set)
            // gives way to the first readable one.
            Some(current) => compare(kind, candidate, current)
                .map(|o| o == Ordering::Greater)
                .unwrap_or(parse(kind, current).is_none()),
        };
        if higher {
            self.value = Some(candidate.clone());
        }
    }
}

/// A cursor value as a query parameter: strings as they are, numbers in JSON notation.
pub fn as_param(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn highest(kind: Option<CursorType>, values: &[Value]) -> Highest {
        let mut h = Highest::new(kind, None);
        for v in values {
            h.offer(v);
        }
        h
    }

    #[test]
    fn integer_ids_advance_from_9_to_10_as_numbers_or_digit_strings() {
        let h = highest(None, &[json!(9), json!(10), json!(8)]);
        assert_eq!(
            (h.kind, h.value),
            (Some(CursorType::Integer), Some(json!(10)))
        );
        let h = highest(None, &[json!("9"), json!("10")]);
        assert_eq!(h.value, Some(json!("10")), "text order would keep \"9\"");
        let h = highest(Some(CursorType::String), &[json!("9"), json!("10")]);
        assert_eq!(
            h.value,
            Some(json!("9")),
            "a configured string cursor is text"
        );
    }

    #[test]
    fn timestamps_with_different_offsets_compare_by_instant() {
        // 10:00+02:00 is 08:00Z: earlier than 09:00Z although its text sorts later.
        let h = highest(
            None,
            &[
                json!("2024-03-01T09:00:00Z"),
                json!("2024-03-01T10:00:00+02:00"),
            ],
        );
        assert_eq!(h.kind, Some(CursorType::Timestamp));
        assert_eq!(h.value, Some(json!("2024-03-01T09:00:00Z")));
        // 08:30-05:00 is 13:30Z: later, although its text sorts first.
        let h = highest(
            None,
            &[
                json!("2024-03-01T12:00:00Z"),
                json!("2024-03-01T08:30:00-05:00"),
            ],
        );
        assert_eq!(h.value, Some(json!("2024-03-01T08:30:00-05:00")));
        assert_eq!(
            compare(
                CursorType::Timestamp,
                &json!("2024-03-01T10:00:00+02:00"),
                &json!("2024-03-01T08:00:00Z")
            ),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn numbers_dates_and_inference() {
        let h = highest(None, &[json!(2.5), json!(10.25), json!(9.75)]);
        assert_eq!(
            (h.kind, h.value),
            (Some(CursorType::Number), Some(json!(10.25)))
        );
        let h = highest(None, &[json!("2024-12-31"), json!("2025-01-01")]);
        assert_eq!(h.kind, Some(CursorType::Date));
        assert_eq!(h.value, Some(json!("2025-01-01")));
        assert_eq!(CursorType::infer(&json!("abc")), Some(CursorType::String));
        assert_eq!(CursorType::infer(&json!(true)), None);
        assert_eq!(CursorType::infer(&Value::Null), None);
    }

    #[test]
    fn values_of_another_type_never_move_the_cursor() {
        let h = highest(
            Some(CursorType::Integer),
            &[json!(5), json!("not a number"), json!(true), json!(null)],
        );
        assert_eq!(h.value, Some(json!(5)));
        assert_eq!(h.skipped, 2);
        // A text cursor saved before the type was known gives way to a readable value.
        let mut h = Highest::new(Some(CursorType::Integer), Some(json!("n/a")));
        h.offer(&json!(3));
        assert_eq!(h.value, Some(json!(3)));
    }

    #[test]
    fn parameters_are_written_as_the_api_wrote_them() {
        assert_eq!(as_param(&json!(10)).as_deref(), Some("10"));
        assert_eq!(
            as_param(&json!("2024-03-01T10:00:00+02:00")).as_deref(),
            Some("2024-03-01T10:00:00+02:00")
        );
        assert_eq!(as_param(&Value::Null), None);
    }
}
