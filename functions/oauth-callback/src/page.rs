//! The small HTML page the browser lands on after the provider's consent screen. It tells the
//! person what happened and, when the app opened the consent screen in a popup, posts the
//! outcome to `window.opener` for the configured origin only (`GIMBAL_OAUTH_OPENER_ORIGIN`) and
//! closes itself. Every text from outside (the provider's `error_description` comes through the
//! browser's query string) is HTML-escaped in the page and JSON-escaped in the script, whose
//! hash is the only script the Content-Security-Policy allows. No token ever appears in it.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What the page says, and what it posts to the opener.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// Always `gimbal:oauth`, so the opener can tell this message from others.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `connected` or `error`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_source_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The error kind of the JSON envelope (`bad_request`, `unavailable`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    pub message: String,
}

/// The page, with `status` and headers that keep it out of caches, referrers and frames.
pub fn render(status: StatusCode, outcome: &Outcome, opener_origin: Option<&str>) -> Response {
    let title = if outcome.status == "connected" {
        "Connected"
    } else {
        "Could not connect"
    };
    let script = opener_origin.map(|origin| {
        format!(
            "(function(){{var m={message};if(window.opener){{window.opener.postMessage(m,{origin});window.close();}}}})();",
            message = script_json(outcome),
            origin = script_json(&origin),
        )
    });
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\
         <body><main><h1>{title}</h1><p id=\"message\">{message}</p>\
         <p>You can close this window.</p></main>{script_tag}</body></html>\n",
        title = escape_html(title),
        message = escape_html(&outcome.message),
        script_tag = script
            .as_deref()
            .map(|s| format!("<script>{s}</script>"))
            .unwrap_or_default(),
    );
    let script_src = script
        .as_deref()
        .map(|s| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(s.as_bytes()))))
        .unwrap_or_else(|| "'none'".into());
    let policy = format!(
        "default-src 'none'; script-src {script_src}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The page's URL carries the authorization code: never send it on as a referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// Text for an HTML element or a quoted attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A JSON literal that cannot end the `<script>` element or break out of the string it is in:
/// `<`, `>` and `&` (and the two line separators older engines treat as newlines) are escaped.
fn script_json(value: &impl Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_is_escaped_everywhere() {
        assert_eq!(
            escape_html("<b a=\"1\">&'</b>"),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;&lt;/b&gt;"
        );
        assert_eq!(
            script_json(&"</script><script>x\u{2028}"),
            "\"\\u003c/script\\u003e\\u003cscript\\u003ex\\u2028\""
        );
    }
}
