//! Provider-side signing for webhook tests: what Twilio and SendGrid would send.

use base64::{Engine, engine::general_purpose::STANDARD};
use p256::{
    ecdsa::{DerSignature, SigningKey, signature::Signer},
    pkcs8::EncodePublicKey,
};

/// The origin the host believes providers call (`GIMBAL_PUBLIC_URL`): signatures are over
/// this, not over the test server's 127.0.0.1 address.
pub const PUBLIC_URL: &str = "https://hooks.gimbal.test";
pub const TWILIO_AUTH_TOKEN: &str = "twilio-test-auth-token";

/// A fixed P-256 key standing in for SendGrid's signing key.
pub fn sendgrid_signing_key() -> SigningKey {
    SigningKey::from_slice(&[7u8; 32]).expect("valid scalar")
}

/// Its public half, as SendGrid shows it: base64 DER SubjectPublicKeyInfo.
pub fn sendgrid_public_key() -> String {
    let der = sendgrid_signing_key()
        .verifying_key()
        .to_public_key_der()
        .expect("der");
    STANDARD.encode(der.as_bytes())
}

/// `X-Twilio-Email-Event-Webhook-Signature` for `timestamp || body`.
pub fn sendgrid_signature(timestamp: &str, body: &[u8]) -> String {
    let mut signed = timestamp.as_bytes().to_vec();
    signed.extend_from_slice(body);
    let signature: DerSignature = sendgrid_signing_key().sign(&signed);
    STANDARD.encode(signature.as_bytes())
}

/// `X-Twilio-Signature` for a form POST to `<PUBLIC_URL>/functions/v1/<path>`.
pub fn twilio_signature(path: &str, params: &[(&str, &str)]) -> String {
    let url = format!("{PUBLIC_URL}/functions/v1/{path}");
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    gimbal_webhooks::twilio::signature(TWILIO_AUTH_TOKEN.as_bytes(), &url, &params)
}
