//! The variables a Gimbal template may use. Contact fields, company settings, the
//! per-recipient unsubscribe link, and custom attributes as `attributes.<key>`. Anything else
//! is rejected when a template is saved, so a typo never reaches a recipient.

/// Contact columns usable as variables.
pub const CONTACT_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "locale",
    "time_zone",
];

/// Company settings (from `app_settings`) usable as variables.
pub const COMPANY_FIELDS: &[&str] = &["company_name", "company_postal_address"];

/// The per-recipient signed unsubscribe link, filled in at send time.
pub const UNSUBSCRIBE_URL: &str = "unsubscribe_url";

/// Prefix of custom contact attributes (`attributes.plan` reads `contacts.attributes->>'plan'`).
pub const ATTRIBUTE_PREFIX: &str = "attributes.";

/// True for a variable name a template may use.
pub fn is_known_variable(name: &str) -> bool {
    CONTACT_FIELDS.contains(&name)
        || COMPANY_FIELDS.contains(&name)
        || name == UNSUBSCRIBE_URL
        || name
            .strip_prefix(ATTRIBUTE_PREFIX)
            .is_some_and(|key| !key.is_empty() && !key.contains('.'))
}
