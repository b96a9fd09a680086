//! What the webhook functions share about an HTTP request: the public URL a provider called
//! (Twilio signs it), and a form body's parameters.

/// The URL the provider called: `public_url` (the configured origin) plus the path and query
/// as received. Without a configured origin, the request's own `Host` and
/// `X-Forwarded-Proto` are used — a forger gains nothing from choosing them, since the
/// signature still needs the provider's secret.
pub fn called_url(
    public_url: Option<&str>,
    host: Option<&str>,
    forwarded_proto: Option<&str>,
    path_and_query: &str,
) -> String {
    match public_url {
        Some(origin) => format!("{}{path_and_query}", origin.trim_end_matches('/')),
        None => format!(
            "{}://{}{path_and_query}",
            forwarded_proto.unwrap_or("https"),
            host.unwrap_or("localhost")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_origin_wins() {
        assert_eq!(
            called_url(
                Some("https://x.test/"),
                Some("127.0.0.1:1"),
                None,
                "/functions/v1/a?b=1"
            ),
            "https://x.test/functions/v1/a?b=1"
        );
        assert_eq!(
            called_url(None, Some("h.test"), Some("http"), "/p"),
            "http://h.test/p"
        );
    }
}
