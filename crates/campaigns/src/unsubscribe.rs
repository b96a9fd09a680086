//! Signed, per-recipient unsubscribe links (CAN-SPAM, RFC 8058 one-click).
//!
//! A link carries `<channel>.<address>.<campaign>.<issued>` in URL-safe base64 plus an
//! HMAC-SHA256 tag, so the `unsubscribe` function needs no lookup to know who asked and can
//! refuse a forged or altered link. Links do not expire: CAN-SPAM requires the opt-out to work
//! for at least 30 days after sending, and honouring an old link costs nothing. The key is
//! derived from `GIMBAL_ENCRYPTION_KEY` ([`link_key`]), never the raw key itself.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Who a link unsubscribes, from what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeClaim {
    /// `sms` or `email`.
    pub channel: String,
    /// The normalised address (lower-case email or E.164 phone).
    pub address: String,
    /// The campaign whose message carried the link, if any.
    pub campaign_id: Option<Uuid>,
    /// Unix seconds when the link was made.
    pub issued_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the unsubscribe token is malformed")]
    Malformed,
    #[error("the unsubscribe token's signature does not match")]
    BadSignature,
}

/// Derives the link-signing key from the encryption key bytes (domain-separated, so the
/// encryption key itself never signs anything that leaves the system).
pub fn link_key(encryption_key: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(encryption_key).expect("hmac takes any key length");
    mac.update(b"gimbal unsubscribe link v1");
    mac.finalize().into_bytes().into()
}

/// [`link_key`] from `GIMBAL_ENCRYPTION_KEY` as configured (base64 of 32 bytes): the key
/// bytes are the decoded value, so every process configured alike signs and checks alike.
pub fn link_key_from_base64(encryption_key_b64: &str) -> Option<[u8; 32]> {
    use base64::engine::general_purpose::STANDARD;
    let bytes = STANDARD.decode(encryption_key_b64.trim()).ok()?;
    (bytes.len() == 32).then(|| link_key(&bytes))
}

/// The token for a link: `<payload>.<tag>`, both URL-safe base64 without padding.
pub fn token(key: &[u8; 32], claim: &UnsubscribeClaim) -> String {
    let payload = format!(
        "{}\n{}\n{}\n{}",
        claim.channel,
        claim.address,
        claim.campaign_id.map(|c| c.to_string()).unwrap_or_default(),
        claim.issued_at
    );
    let payload = URL_SAFE_NO_PAD.encode(payload.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(sign(key, payload.as_bytes()));
    format!("{payload}.{tag}")
}

/// The full link: `<base_url>?token=<token>` (the base is the `unsubscribe` function's URL).
pub fn link(base_url: &str, key: &[u8; 32], claim: &UnsubscribeClaim) -> String {
    let sep = if base_url.contains('?') { '&' } else { '?' };
    format!("{base_url}{sep}token={}", token(key, claim))
}

/// Checks a token's tag in constant time and decodes its claim.
pub fn verify(key: &[u8; 32], token: &str) -> Result<UnsubscribeClaim, LinkError> {
    let (payload, tag) = token.split_once('.').ok_or(LinkError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| LinkError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac takes any key length");
    mac.update(payload.as_bytes());
    mac.verify_slice(&tag)
        .map_err(|_| LinkError::BadSignature)?;
    let text = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(LinkError::Malformed)?;
    let mut fields = text.split('\n');
    let (Some(channel), Some(address), Some(campaign), Some(issued), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(LinkError::Malformed);
    };
    if channel != "sms" && channel != "email" || address.is_empty() {
        return Err(LinkError::Malformed);
    }
    let campaign_id = match campaign {
        "" => None,
        id => Some(id.parse().map_err(|_| LinkError::Malformed)?),
    };
    Ok(UnsubscribeClaim {
        channel: channel.to_string(),
        address: address.to_string(),
        campaign_id,
        issued_at: issued.parse().map_err(|_| LinkError::Malformed)?,
    })
}

fn sign(key: &[u8; 32], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> UnsubscribeClaim {
        UnsubscribeClaim {
            channel: "email".into(),
            address: "ada@example.com".into(),
            campaign_id: Some(Uuid::from_u128(7)),
            issued_at: 1_795_000_000,
        }
    }

    #[test]
    fn a_token_verifies_to_its_claim() {
        let key = link_key(b"0123456789abcdef0123456789abcdef");
        assert_eq!(verify(&key, &token(&key, &claim())), Ok(claim()));
        let no_campaign = UnsubscribeClaim {
            campaign_id: None,
            ..claim()
        };
        assert_eq!(verify(&key, &token(&key, &no_campaign)), Ok(no_campaign));
    }

    #[test]
    fn another_key_or_an_altered_payload_is_refused() {
        let key = link_key(b"0123456789abcdef0123456789abcdef");
        let other = link_key(b"fedcba9876543210fedcba9876543210");
        let t = token(&key, &claim());
        assert_eq!(verify(&other, &t), Err(LinkError::BadSignature));
        let forged = UnsubscribeClaim {
            address: "someone-else@example.com".into(),
            ..claim()
        };
        let forged_payload = token(&other, &forged);
        let (payload, _) = forged_payload.split_once('.').unwrap();
        let (_, tag) = t.split_once('.').unwrap();
        assert_eq!(
            verify(&key, &format!("{payload}.{tag}")),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let key = link_key(b"k");
        assert_eq!(verify(&key, "nodot"), Err(LinkError::Malformed));
        assert_eq!(verify(&key, "a.!!!"), Err(LinkError::Malformed));
    }

    #[test]
    fn links_append_the_token_as_a_query_parameter() {
        let key = link_key(b"k");
        let l = link("https://x.test/functions/v1/unsubscribe", &key, &claim());
        assert!(l.starts_with("https://x.test/functions/v1/unsubscribe?token="));
        let l = link("https://x.test/u?lang=en", &key, &claim());
        assert!(l.contains("?lang=en&token="));
    }
}
