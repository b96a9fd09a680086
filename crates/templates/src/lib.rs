//! Message templates. A template is text with `{{variable}}` insertions, optionally with a
//! fallback (`{{first_name | default("there")}}`). Rendering is strict: a variable with no
//! value and no fallback is an error rather than an empty gap in a customer's message.
//! [`catalog`] says which variable names Gimbal knows; [`segments`] counts SMS segments.

pub mod catalog;
mod parse;
pub mod segments;

pub use catalog::is_known_variable;
pub use parse::parse;
pub use segments::{Encoding, Segments, sms_segments};

/// A parsed template: literal text and insertions, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var {
        name: String,
        fallback: Option<String>,
    },
}

/// Why a template could not be parsed or rendered. Positions are 1-based lines and columns
/// (in characters) of the `{{` that opens the faulty insertion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The text is not a well-formed template (unclosed `{{`, bad name, bad filter).
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A variable that Gimbal does not know (see [`Template::check_variables`]).
    #[error("unknown variable {name:?}")]
    UnknownVariable { name: String },
    /// A variable that has no value for this recipient and no `default(...)` fallback.
    #[error("variable {name:?} has no value and no default")]
    MissingValue { name: String },
}

impl Template {
    /// Renders the template. `vars` answers a variable's value (`None` or an empty string when
    /// it has none); a missing value takes the insertion's `default(...)` if any, and otherwise
    /// fails with [`TemplateError::MissingValue`] naming the variable.
    pub fn render(&self, vars: &dyn Fn(&str) -> Option<String>) -> Result<String, TemplateError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var { name, fallback } => {
                    match (vars(name).filter(|v| !v.is_empty()), fallback) {
                        (Some(value), _) => out.push_str(&value),
                        (None, Some(fallback)) => out.push_str(fallback),
                        (None, None) => {
                            return Err(TemplateError::MissingValue { name: name.clone() });
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The distinct variable names used, in order of first appearance.
    pub fn variables(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for part in &self.parts {
            if let Part::Var { name, .. } = part
                && !names.contains(name)
            {
                names.push(name.clone());
            }
        }
        names
    }

    /// Fails with [`TemplateError::UnknownVariable`] on the first variable `is_known` rejects;
    /// [`catalog::is_known_variable`] is the usual judge.
    pub fn check_variables(&self, is_known: &dyn Fn(&str) -> bool) -> Result<(), TemplateError> {
        match self.variables().into_iter().find(|name| !is_known(name)) {
            Some(name) => Err(TemplateError::UnknownVariable { name }),
            None => Ok(()),
        }
    }

    /// True when the template uses `name` (e.g. `unsubscribe_url`).
    pub fn uses(&self, name: &str) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Var { name: n, .. } if n == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "first_name" => Some("Ada".into()),
            "last_name" => Some(String::new()),
            "attributes.plan" => Some("pro".into()),
            _ => None,
        }
    }

    #[test]
    fn renders_variables_and_text() {
        let t = parse("Hi {{first_name}}, your plan: {{ attributes.plan }}!").unwrap();
        assert_eq!(t.render(&vars).unwrap(), "Hi Ada, your plan: pro!");
    }

    #[test]
    fn fallback_is_used_when_value_is_missing_or_empty() {
        let t = parse(r#"Hi {{nickname | default("there")}} {{last_name|default('X')}}"#).unwrap();
        assert_eq!(t.render(&vars).unwrap(), "Hi there X");
    }

    #[test]
    fn fallback_is_not_used_when_value_is_present() {
        let t = parse(r#"{{first_name | default("there")}}"#).unwrap();
        assert_eq!(t.render(&vars).unwrap(), "Ada");
    }

    #[test]
    fn missing_value_without_fallback_is_an_error_naming_it() {
        let t = parse("Hi {{nickname}}").unwrap();
        assert_eq!(
            t.render(&vars),
            Err(TemplateError::MissingValue {
                name: "nickname".into()
            })
        );
    }

    #[test]
    fn unknown_variables_are_rejected_by_the_catalog() {
        let t = parse("Hi {{first_name}} {{favourite_colour}}").unwrap();
        assert_eq!(
            t.check_variables(&is_known_variable),
            Err(TemplateError::UnknownVariable {
                name: "favourite_colour".into()
            })
        );
        let ok = parse("{{first_name}} {{attributes.plan}} {{unsubscribe_url}}").unwrap();
        assert!(ok.check_variables(&is_known_variable).is_ok());
    }

    #[test]
    fn variables_are_distinct_in_order() {
        let t = parse("{{b}} {{a}} {{b | default(\"x\")}}").unwrap();
        assert_eq!(t.variables(), vec!["b".to_string(), "a".to_string()]);
        assert!(t.uses("a"));
        assert!(!t.uses("c"));
    }
}
