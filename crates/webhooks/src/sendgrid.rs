//! SendGrid's signed Event Webhook: an ECDSA P-256 / SHA-256 signature (base64 DER) over the
//! timestamp header's bytes followed by the raw body, exactly as received, verified with the
//! account's verification key (base64 DER SubjectPublicKeyInfo, no PEM armour).

use base64::{Engine, engine::general_purpose::STANDARD};
use p256::{
    ecdsa::{DerSignature, VerifyingKey, signature::Verifier},
    pkcs8::DecodePublicKey,
};

pub const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
pub const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the SendGrid verification key is not base64 DER of a P-256 public key")]
    Invalid,
}

/// A parsed verification key; parse once, verify many batches.
#[derive(Clone, Debug)]
pub struct EventKey(VerifyingKey);

impl EventKey {
    pub fn from_base64_der(key: &str) -> Result<Self, KeyError> {
        let der = STANDARD.decode(key.trim()).map_err(|_| KeyError::Invalid)?;
        VerifyingKey::from_public_key_der(&der)
            .map(EventKey)
            .map_err(|_| KeyError::Invalid)
    }

    /// True when `signature` (base64 DER) signs `timestamp || body` under this key.
    pub fn verify(&self, timestamp: &str, body: &[u8], signature: &str) -> bool {
        let Ok(der) = STANDARD.decode(signature.trim()) else {
            return false;
        };
        let Ok(signature) = DerSignature::try_from(der.as_slice()) else {
            return false;
        };
        let mut signed = Vec::with_capacity(timestamp.len() + body.len());
        signed.extend_from_slice(timestamp.as_bytes());
        signed.extend_from_slice(body);
        self.0.verify(&signed, &signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // sendgrid-python `test/unit/test_eventwebhook.py`.
    const PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
    const SIGNATURE: &str = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
    const TIMESTAMP: &str = "1600112502";
    const PAYLOAD: &str = concat!(
        r#"[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","#,
        r#""sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","#,
        r#""sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","#,
        r#""smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]"#,
        "\r\n"
    );

    fn key() -> EventKey {
        EventKey::from_base64_der(PUBLIC_KEY).unwrap()
    }

    #[test]
    fn verifies_sendgrids_published_vector() {
        assert!(key().verify(TIMESTAMP, PAYLOAD.as_bytes(), SIGNATURE));
    }

    #[test]
    fn the_trailing_crlf_is_part_of_what_is_signed() {
        let trimmed = PAYLOAD.trim_end();
        assert!(!key().verify(TIMESTAMP, trimmed.as_bytes(), SIGNATURE));
    }

    #[test]
    fn a_bad_key_payload_signature_or_timestamp_is_refused() {
        let other = EventKey::from_base64_der("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==").unwrap();
        assert!(!other.verify(TIMESTAMP, PAYLOAD.as_bytes(), SIGNATURE));
        assert!(!key().verify(TIMESTAMP, b"payload", SIGNATURE));
        let bad = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=";
        assert!(!key().verify(TIMESTAMP, PAYLOAD.as_bytes(), bad));
        assert!(!key().verify("timestamp", PAYLOAD.as_bytes(), SIGNATURE));
        assert!(!key().verify(TIMESTAMP, PAYLOAD.as_bytes(), "not base64!"));
    }

    #[test]
    fn a_malformed_key_is_an_error() {
        assert_eq!(
            EventKey::from_base64_der("bm90IGEga2V5").unwrap_err(),
            KeyError::Invalid
        );
    }
}
