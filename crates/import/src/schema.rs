//! The shape of an import: column names derived from the file's headers (made into safe
//! PostgreSQL identifiers), types inferred from a sample of the rows, and the caller's
//! overrides (rename, retype, skip) applied on top.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::value;

/// A column type an import table may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Boolean,
    Bigint,
    Numeric,
    Date,
    Timestamp,
    Timestamptz,
    Text,
}

impl ColumnType {
    /// The SQL spelling, as `app_private.create_import_table` accepts it.
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Boolean => "boolean",
            ColumnType::Bigint => "bigint",
            ColumnType::Numeric => "numeric",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Timestamptz => "timestamptz",
            ColumnType::Text => "text",
        }
    }

    /// Narrowest first: inference picks the first type every sampled value fits.
    const INFERENCE_ORDER: [ColumnType; 6] = [
        ColumnType::Boolean,
        ColumnType::Bigint,
        ColumnType::Numeric,
        ColumnType::Date,
        ColumnType::Timestamptz,
        ColumnType::Timestamp,
    ];
}

/// One column of the import: where it comes from and what it becomes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Column {
    /// The header in the file.
    pub source: String,
    /// The column name in the table: `^[a-z_][a-z0-9_]{0,62}$`.
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
}

/// The caller's say about one column, matched by its header in the file.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnOverride {
    /// The header in the file this override applies to.
    pub source: String,
    /// A new column name.
    pub name: Option<String>,
    /// A type instead of the inferred one.
    #[serde(rename = "type")]
    pub column_type: Option<ColumnType>,
    /// Leave the column out of the import.
    #[serde(default)]
    pub skip: bool,
}

/// `^[a-z][a-z0-9_]{0,62}$`: the table names `import_tables` accepts.
pub fn is_table_name(name: &str) -> bool {
    is_identifier(name) && name.starts_with(|c: char| c.is_ascii_lowercase())
}

/// `^[a-z_][a-z0-9_]{0,62}$`: a plain, lower-case PostgreSQL identifier. Names are still quoted
/// wherever they reach SQL; the pattern keeps them readable and unambiguous.
pub fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A header made into an identifier: lower case, runs of anything else become `_`, a leading
/// digit gets a `c_` prefix, at most 63 bytes. `Total Revenue (€)` becomes `total_revenue`.
pub fn identifier_from_header(header: &str, position: usize) -> String {
    let mut name = String::with_capacity(header.len());
    for c in header.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let name = name.trim_matches('_');
    let mut name = if name.is_empty() {
        format!("column_{}", position + 1)
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("c_{name}")
    } else {
        name.to_string()
    };
    name.truncate(63);
    name
}

/// Columns from the headers: unique identifiers (`_2`, `_3`… on collision), text until inferred.
pub fn columns_from_headers(headers: &[String]) -> Vec<Column> {
    let mut columns: Vec<Column> = Vec::with_capacity(headers.len());
    for (i, header) in headers.iter().enumerate() {
        let base = identifier_from_header(header, i);
        let mut name = base.clone();
        let mut n = 2;
        while columns.iter().any(|c| c.name == name) {
            let suffix = format!("_{n}");
            let mut stem = base.clone();
            stem.truncate(63 - suffix.len());
            name = format!("{stem}{suffix}");
            n += 1;
        }
        columns.push(Column {
            source: header.clone(),
            name,
            column_type: ColumnType::Text,
        });
    }
    columns
}

/// Tracks which types every sampled value of a column still fits.
#[derive(Clone, Debug)]
pub struct Inference {
    fits: [bool; 6],
    seen: bool,
}

impl Default for Inference {
    fn default() -> Self {
        Inference {
            fits: [true; 6],
            seen: false,
        }
    }
}

impl Inference {
    pub fn observe(&mut self, raw: &str) {
        let raw = raw.trim();
        if raw.is_empty() {
            return;
        }
        self.seen = true;
        for (fits, ty) in self.fits.iter_mut().zip(ColumnType::INFERENCE_ORDER) {
            *fits = *fits && value::parses_as(raw, ty);
        }
    }

    /// The narrowest type that fits every value seen; text for a column with no values.
    pub fn column_type(&self) -> ColumnType {
        if !self.seen {
            return ColumnType::Text;
        }
        ColumnType::INFERENCE_ORDER
            .iter()
            .zip(self.fits)
            .find(|(_, fits)| *fits)
            .map_or(ColumnType::Text, |(ty, _)| *ty)
    }
}

/// Applies `overrides` to `columns`; the result keeps, for each column, its position in the
/// file. Errors name the override at fault.
pub fn apply_overrides(
    columns: Vec<Column>,
    overrides: &[ColumnOverride],
) -> Result<Vec<(usize, Column)>, SchemaError> {
    for o in overrides {
        if !columns.iter().any(|c| c.source == o.source) {
            return Err(SchemaError(format!(
                "columns: no header {:?} in the file",
                o.source
            )));
        }
        if let Some(name) = &o.name
            && !is_identifier(name)
        {
            return Err(SchemaError(format!(
                "columns: {name:?} is not a valid column name (lower-case letters, digits and _, \
                 starting with a letter or _, at most 63)"
            )));
        }
    }
    let mut kept = Vec::with_capacity(columns.len());
    for (position, mut column) in columns.into_iter().enumerate() {
        if let Some(o) = overrides.iter().find(|o| o.source == column.source) {
            if o.skip {
                continue;
            }
            if let Some(name) = &o.name {
                column.name = name.clone();
            }
            if let Some(ty) = o.column_type {
                column.column_type = ty;
            }
        }
        kept.push((position, column));
    }
    if kept.is_empty() {
        return Err(SchemaError("columns: every column is skipped".into()));
    }
    for (i, (_, column)) in kept.iter().enumerate() {
        if kept[..i].iter().any(|(_, c)| c.name == column.name) {
            return Err(SchemaError(format!(
                "columns: the name {:?} is used twice",
                column.name
            )));
        }
        if column.name.starts_with("_row") {
            return Err(SchemaError(format!(
                "columns: {:?} is reserved (names starting with _row)",
                column.name
            )));
        }
    }
    Ok(kept)
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_become_identifiers() {
        assert_eq!(
            identifier_from_header("Total Revenue (€)", 0),
            "total_revenue"
        );
        assert_eq!(identifier_from_header("  2024 sales", 0), "c_2024_sales");
        assert_eq!(identifier_from_header("", 4), "column_5");
        assert_eq!(
            identifier_from_header("\"; drop table x;--", 0),
            "drop_table_x"
        );
        assert_eq!(identifier_from_header(&"x".repeat(100), 0).len(), 63);
        assert!(is_identifier(&identifier_from_header("Événement", 0)));
    }

    #[test]
    fn duplicate_headers_get_suffixes() {
        let headers = ["Email", "email", "E-mail", "EMAIL"].map(String::from);
        let names: Vec<_> = columns_from_headers(&headers)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["email", "email_2", "e_mail", "email_3"]);
    }

    #[test]
    fn inference_picks_the_narrowest_type() {
        let infer = |values: &[&str]| {
            let mut i = Inference::default();
            values.iter().for_each(|v| i.observe(v));
            i.column_type()
        };
        assert_eq!(infer(&["1", "-2", ""]), ColumnType::Bigint);
        assert_eq!(infer(&["1", "2.5", "1e3"]), ColumnType::Numeric);
        assert_eq!(infer(&["true", "no", "Y"]), ColumnType::Boolean);
        assert_eq!(infer(&["2024-01-31", "2024-02-29"]), ColumnType::Date);
        assert_eq!(
            infer(&["2024-01-31T10:00:00Z", "2024-02-01 08:30:00+02:00"]),
            ColumnType::Timestamptz
        );
        assert_eq!(infer(&["2024-01-31 10:00:00"]), ColumnType::Timestamp);
        assert_eq!(infer(&["2024-02-30"]), ColumnType::Text);
        assert_eq!(infer(&["12", "n/a"]), ColumnType::Text);
        assert_eq!(infer(&["99999999999999999999"]), ColumnType::Numeric);
        assert_eq!(infer(&["", " "]), ColumnType::Text);
    }

    #[test]
    fn overrides_rename_retype_and_skip() {
        let columns = columns_from_headers(&["Code".into(), "Amount".into(), "Junk".into()]);
        let overrides = vec![
            ColumnOverride {
                source: "Code".into(),
                column_type: Some(ColumnType::Text),
                name: Some("product_code".into()),
                skip: false,
            },
            ColumnOverride {
                source: "Junk".into(),
                skip: true,
                ..Default::default()
            },
        ];
        let kept = apply_overrides(columns, &overrides).unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].1.name, "product_code");
        assert_eq!(kept[1].0, 1);
    }

    #[test]
    fn bad_overrides_are_refused_by_name() {
        let columns = || columns_from_headers(&["a".into(), "b".into()]);
        let rename = |source: &str, name: &str| ColumnOverride {
            source: source.into(),
            name: Some(name.into()),
            ..Default::default()
        };
        for (o, expected) in [
            (rename("zz", "x"), "no header"),
            (rename("a", "Bad Name"), "not a valid column name"),
            (rename("a", "b"), "used twice"),
            (rename("a", "_row_id"), "reserved"),
        ] {
            let err = apply_overrides(columns(), &[o]).unwrap_err().0;
            assert!(err.contains(expected), "{err}");
        }
    }
}
