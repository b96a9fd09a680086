//! The template grammar, deliberately small:
//!
//! ```text
//! insertion := "{{" ws name ws ( "|" ws "default" ws "(" ws string ws ")" ws )? "}}"
//! name      := [A-Za-z_][A-Za-z0-9_]* ( "." [A-Za-z0-9_-]+ )*
//! string    := '"' ( [^"\\] | "\\" any )* '"'  |  "'" ( [^'\\] | "\\" any )* "'"
//! ```
//!
//! Anything outside `{{ … }}` is literal text (a lone `}}` included). No loops or conditions:
//! marketing copy does not need them and every extra feature is a way to send a broken message.

use crate::{Part, Template, TemplateError};

/// Parses a template body, reporting the line and column of the first malformed insertion.
pub fn parse(body: &str) -> Result<Template, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = body;
    let mut consumed = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_string()));
        }
        let start = consumed + open;
        let inner_from = open + 2;
        let close = rest[inner_from..]
            .find("}}")
            .ok_or_else(|| syntax(body, start, "`{{` is never closed by `}}`"))?;
        let inner = &rest[inner_from..inner_from + close];
        parts.push(insertion(inner).map_err(|m| syntax(body, start, &m))?);
        let after = inner_from + close + 2;
        consumed += after;
        rest = &rest[after..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    Ok(Template { parts })
}

fn syntax(body: &str, offset: usize, message: &str) -> TemplateError {
    let before = &body[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    TemplateError::Syntax {
        line,
        column,
        message: message.to_string(),
    }
}

fn insertion(inner: &str) -> Result<Part, String> {
    let (name, filter) = match inner.split_once('|') {
        Some((name, filter)) => (name.trim(), Some(filter.trim())),
        None => (inner.trim(), None),
    };
    if !valid_name(name) {
        return Err(format!(
            "{name:?} is not a variable name (letters, digits, `_`, dotted for attributes)"
        ));
    }
    let fallback = filter.map(default_filter).transpose()?;
    Ok(Part::Var {
        name: name.to_string(),
        fallback,
    })
}

fn valid_name(name: &str) -> bool {
    let mut segments = name.split('.');
    let head = segments.next().unwrap_or("");
    let mut chars = head.chars();
    let head_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    head_ok
        && segments.all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// `default("…")` → the fallback text; any other filter is an error.
fn default_filter(filter: &str) -> Result<String, String> {
    let args = filter
        .strip_prefix("default")
        .map(str::trim_start)
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.trim_end().strip_suffix(')'))
        .ok_or_else(|| format!("unknown filter {filter:?}; only default(\"…\") is supported"))?
        .trim();
    let quote = args
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')
        .ok_or("default(...) takes one quoted string")?;
    let body = &args[1..];
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => break,
            },
            c if c == quote => {
                return if body[i + 1..].trim().is_empty() {
                    Ok(out)
                } else {
                    Err("default(...) takes exactly one quoted string".into())
                };
            }
            c => out.push(c),
        }
    }
    Err("default(...) string is not closed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> (usize, usize, String) {
        match parse(body) {
            Err(TemplateError::Syntax {
                line,
                column,
                message,
            }) => (line, column, message),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn unclosed_insertion_reports_its_position() {
        let (line, column, message) = err("Hello\nthere {{first_name");
        assert_eq!((line, column), (2, 7));
        assert!(message.contains("never closed"));
    }

    #[test]
    fn bad_names_and_filters_are_rejected() {
        assert!(err("{{ }}").2.contains("not a variable name"));
        assert!(err("{{1abc}}").2.contains("not a variable name"));
        assert!(err("{{a b}}").2.contains("not a variable name"));
        assert!(err("{{a | upper}}").2.contains("unknown filter"));
        assert!(err("{{a | default(there)}}").2.contains("quoted"));
        assert!(
            err("{{a | default(\"x\" \"y\")}}")
                .2
                .contains("exactly one")
        );
        assert!(err("{{a | default(\"x)}}").2.contains("not closed"));
    }

    #[test]
    fn escapes_and_braces_inside_fallbacks() {
        let t = parse(r#"{{a | default("say \"hi\"")}}"#).unwrap();
        assert_eq!(t.render(&|_| None).unwrap(), "say \"hi\"");
    }

    #[test]
    fn lone_closing_braces_and_unicode_are_literal() {
        let t = parse("100% }} ünïcode 🎉 {{x}}").unwrap();
        assert_eq!(
            t.render(&|_| Some("y".into())).unwrap(),
            "100% }} ünïcode 🎉 y"
        );
    }

    #[test]
    fn column_counts_characters_not_bytes() {
        let (line, column, _) = err("ü {{ bad name }}");
        assert_eq!((line, column), (1, 3));
    }
}
