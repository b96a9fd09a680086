//! The real Twilio and SendGrid clients against local servers speaking their wire formats.

use std::time::Duration;

use gimbal_providers::{
    EmailAddress, EmailBatch, EmailMessage, EmailProvider, ProviderError, SendOutcome, SmsMessage,
    SmsProvider, SmsSender, SuppressionReason,
    mock::{self, Fault},
    sendgrid::SendGridClient,
    twilio::TwilioClient,
};
use secrecy::SecretString;

fn http(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

fn twilio(url: &str, timeout: Duration) -> TwilioClient {
    TwilioClient::new(
        http(timeout),
        url,
        mock::TWILIO_ACCOUNT_SID,
        None,
        SecretString::from(mock::TWILIO_AUTH_TOKEN),
    )
}

fn sms(to: &str, from: SmsSender) -> SmsMessage {
    SmsMessage {
        to: to.into(),
        from,
        body: "hello".into(),
        status_callback: Some("https://x.test/functions/v1/twilio-status".into()),
    }
}

#[tokio::test]
async fn twilio_messaging_service_and_status_callback_reach_the_api() {
    let server = mock::twilio(false).await;
    let client = twilio(&server.url(), Duration::from_secs(5));
    let service = SmsSender::parse("MG0123456789abcdef0123456789abcdef");
    let outcome = client.send(&sms("+15550100001", service)).await.unwrap();
    assert!(
        matches!(outcome, SendOutcome::Accepted { ref provider_message_id } if provider_message_id.starts_with("SM"))
    );
    let received = &server.received()[0];
    assert_eq!(
        received.from.as_deref(),
        Some("MG0123456789abcdef0123456789abcdef")
    );
    assert_eq!(
        received.status_callback.as_deref(),
        Some("https://x.test/functions/v1/twilio-status")
    );
}

#[tokio::test]
async fn twilio_faults_are_classified() {
    let server = mock::twilio(false).await;
    let client = twilio(&server.url(), Duration::from_millis(300));
    let from = || SmsSender::From("+15550100199".into());
    server.fail_next(
        1,
        Fault::RateLimited {
            retry_after_secs: 7,
        },
    );
    let err = client.send(&sms("+15550100001", from())).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    server.fail_next(1, Fault::ServerError);
    assert!(matches!(
        client.send(&sms("+15550100001", from())).await,
        Err(ProviderError::Transient { .. })
    ));
    server.fail_next(1, Fault::Hang);
    assert!(matches!(
        client.send(&sms("+15550100001", from())).await,
        Err(ProviderError::Ambiguous { .. })
    ));
    server.opt_out("+15550100002");
    assert!(matches!(
        client.send(&sms("+15550100002", from())).await,
        Ok(SendOutcome::Rejected {
            suppression: Some(SuppressionReason::ProviderOptOut),
            ..
        })
    ));
    let wrong = TwilioClient::new(
        http(Duration::from_secs(5)),
        &server.url(),
        mock::TWILIO_ACCOUNT_SID,
        None,
        SecretString::from("wrong"),
    );
    let err = wrong.send(&sms("+15550100001", from())).await.unwrap_err();
    assert!(matches!(err, ProviderError::Fatal { .. }));
    assert!(!err.to_string().contains(mock::TWILIO_ACCOUNT_SID), "{err}");
    // nothing listening: the request was never sent
    let closed = twilio("http://127.0.0.1:9", Duration::from_secs(2));
    assert!(matches!(
        closed.send(&sms("+15550100001", from())).await,
        Err(ProviderError::Transient { .. })
    ));
    assert_eq!(
        server.count(),
        0,
        "no refused, failed or unanswered request counts as taken"
    );
}

fn email(to: &str) -> EmailMessage {
    EmailMessage {
        to: to.into(),
        subject: "s".into(),
        text: Some(format!("text {to}")),
        ..EmailMessage::default()
    }
}

#[tokio::test]
async fn sendgrid_splits_a_refused_batch_to_find_the_bad_address() {
    let server = mock::sendgrid(false).await;
    let client = SendGridClient::new(
        http(Duration::from_secs(5)),
        &server.url(),
        SecretString::from(mock::SENDGRID_API_KEY),
    );
    server.invalid("bad@example.com");
    let batch = EmailBatch {
        from: EmailAddress {
            email: "news@example.com".into(),
            name: None,
        },
        categories: vec![],
        messages: vec![
            email("a@example.com"),
            email("bad@example.com"),
            email("c@example.com"),
        ],
    };
    let outcomes = client.send_batch(&batch).await.unwrap();
    assert!(matches!(outcomes[0], SendOutcome::Accepted { .. }));
    assert!(matches!(
        outcomes[1],
        SendOutcome::Rejected {
            suppression: Some(SuppressionReason::Invalid),
            ..
        }
    ));
    assert!(matches!(outcomes[2], SendOutcome::Accepted { .. }));
    assert_eq!(server.count(), 2);
    assert_eq!(
        server.requests(),
        4,
        "one refused batch, then one request per message"
    );
}

#[tokio::test]
async fn sendgrid_sends_a_thousand_per_request() {
    let server = mock::sendgrid(true).await;
    let client = SendGridClient::new(
        http(Duration::from_secs(5)),
        &server.url(),
        SecretString::from(mock::SENDGRID_API_KEY),
    );
    let batch = EmailBatch {
        from: EmailAddress {
            email: "news@example.com".into(),
            name: None,
        },
        categories: vec![],
        messages: (0..2500)
            .map(|i| email(&format!("r{i}@example.com")))
            .collect(),
    };
    let outcomes = client.send_batch(&batch).await.unwrap();
    assert_eq!(outcomes.len(), 2500);
    assert_eq!(server.requests(), 3);
    assert_eq!(server.count(), 2500);
    let ids: std::collections::HashSet<_> = outcomes
        .iter()
        .map(|o| match o {
            SendOutcome::Accepted {
                provider_message_id,
            } => provider_message_id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), 2500, "each recipient has its own id");
}
