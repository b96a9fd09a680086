//! Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the
//! account's auth token, over the full URL Twilio called followed by every POST parameter's
//! name and value, sorted by name (then value). Like Twilio's own validators, the URL is also
//! tried with the scheme's default port added or removed, since proxies differ in whether they
//! keep it. Comparison is constant-time.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::security::Rejection;

type HmacSha1 = Hmac<Sha1>;

/// The signature Twilio computes for a form-encoded request to `url` with `params`.
pub fn signature(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = HmacSha1::new_from_slice(auth_token).expect("hmac takes any key length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// True when `header` is the signature of the request under `url` as given, or with its
/// default port added or removed.
pub fn verify(auth_token: &[u8], url: &str, params: &[(String, String)], header: &str) -> bool {
    url_variants(url).iter().any(|candidate| {
        let expected = signature(auth_token, candidate, params);
        expected.as_bytes().ct_eq(header.trim().as_bytes()).into()
    })
}

/// Checks a form POST's `X-Twilio-Signature` (absent: `None`) for `url`, and returns its
/// parameters when it verifies.
pub fn verify_form(
    auth_token: &[u8],
    url: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String)>, Rejection> {
    let signature = signature.ok_or(Rejection::MissingSignature)?;
    let params = form_params(body);
    if verify(auth_token, url, &params, signature) {
        Ok(params)
    } else {
        Err(Rejection::BadSignature)
    }
}

/// The first non-empty value of `name` among form parameters.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Parses an `application/x-www-form-urlencoded` body into its pairs, in order.
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// `url` itself, plus the same URL with the default port toggled (`:443` for https, `:80`
/// for http).
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_string()];
    let (scheme, default_port) = if let Some(rest) = url.strip_prefix("https://") {
        (("https://", rest), ":443")
    } else if let Some(rest) = url.strip_prefix("http://") {
        (("http://", rest), ":80")
    } else {
        return variants;
    };
    let (prefix, rest) = scheme;
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    // userinfo@host:port: the port, if any, follows the last ':' after any ']' (IPv6).
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    let has_port = authority[host_end..].contains(':');
    if has_port {
        if let Some(host) = authority.strip_suffix(default_port) {
            variants.push(format!("{prefix}{host}{tail}"));
        }
    } else {
        variants.push(format!("{prefix}{authority}{default_port}{tail}"));
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    /// twilio-python `tests/unit/test_request_validator.py`.
    fn published_params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const EXPECTED: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    #[test]
    fn matches_twilios_published_vector() {
        assert_eq!(signature(b"12345", URL, &published_params()), EXPECTED);
        assert!(verify(b"12345", URL, &published_params(), EXPECTED));
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let mut reversed = published_params();
        reversed.reverse();
        assert!(verify(b"12345", URL, &reversed, EXPECTED));
    }

    #[test]
    fn url_with_or_without_the_default_port_is_accepted() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert!(verify(b"12345", with_port, &published_params(), EXPECTED));
        let signed_with_port = signature(b"12345", with_port, &published_params());
        assert!(verify(
            b"12345",
            URL,
            &published_params(),
            &signed_with_port
        ));
        let other_port = "https://mycompany.com:8443/myapp.php?foo=1&bar=2";
        assert!(!verify(b"12345", other_port, &published_params(), EXPECTED));
    }

    #[test]
    fn altered_parameter_token_or_url_is_refused() {
        let mut altered = published_params();
        altered[2].1 = "1235".into();
        assert!(!verify(b"12345", URL, &altered, EXPECTED));
        assert!(!verify(b"54321", URL, &published_params(), EXPECTED));
        assert!(!verify(
            b"12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &published_params(),
            EXPECTED
        ));
        assert!(!verify(b"12345", URL, &published_params(), ""));
    }

    #[test]
    fn form_bodies_decode_plus_and_percent() {
        let params = form_params(b"From=%2B14158675309&Body=Stop+please");
        assert_eq!(params[0], ("From".into(), "+14158675309".into()));
        assert_eq!(params[1], ("Body".into(), "Stop please".into()));
    }
}
