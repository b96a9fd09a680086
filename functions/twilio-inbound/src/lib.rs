//! `twilio-inbound`: messages people send to our numbers. No JWT: Twilio authenticates with
//! `X-Twilio-Signature` (checked as in `twilio-status`; a failure is refused with 403 and
//! recorded as a security event). Each message is stored once per MessageSid as
//! `service_role`; Twilio's opt-out keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
//! REVOKE, OPTOUT) suppress the number and revoke its SMS consent at once, opt-in keywords
//! (START, YES, UNSTOP) lift a keyword suppression, HELP and INFO are answered. The answer is
//! TwiML: one confirmation message for a keyword, an empty `<Response/>` otherwise.

use axum::{
    Router,
    body::Bytes,
    extract::{OriginalUri, State},
    http::{HeaderMap, header},
    response::IntoResponse,
    routing::post,
};
use gimbal_db::DbError;
use gimbal_edge::{ApiError, AppState, ErrorBody, Function};
use gimbal_webhooks::{
    sms::{self, Inbound, Keyword},
    twilio,
};
use utoipa::OpenApi;

pub const FUNCTION: Function = Function {
    name: "twilio-inbound",
    verify_jwt: false,
    summary: "Inbound SMS and opt-out keywords (signed), answered in TwiML",
    router,
    openapi: || ApiDoc::openapi(),
};

const NAME: &str = "twilio-inbound";

fn router() -> Router<AppState> {
    Router::new().route("/", post(receive))
}

fn required<'a>(params: &'a [(String, String)], name: &'static str) -> Result<&'a str, ApiError> {
    twilio::param(params, name).ok_or_else(|| ApiError::validation(name, "is required"))
}

/// The reply to a keyword. Carriers expect the sender to name itself and say how to get
/// help or opt back in; the company name comes from `app_settings`.
fn reply(keyword: Option<Keyword>, company: &str) -> Option<String> {
    match keyword {
        Some(Keyword::OptOut) => Some(format!(
            "{company}: You have been unsubscribed and will receive no further messages. Reply START to resubscribe."
        )),
        Some(Keyword::OptIn) => Some(format!(
            "{company}: You have been resubscribed. Msg & data rates may apply. Reply HELP for help, STOP to opt out."
        )),
        Some(Keyword::Help) => Some(format!(
            "{company}: Reply STOP to opt out, START to opt back in. Msg & data rates may apply."
        )),
        None => None,
    }
}

fn twiml(message: Option<&str>) -> String {
    match message {
        Some(text) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
            escape_xml(text)
        ),
        None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".into(),
    }
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[utoipa::path(
    post,
    path = "/functions/v1/twilio-inbound",
    tag = "webhooks",
    request_body(content_type = "application/x-www-form-urlencoded", description = "Twilio's inbound message parameters (MessageSid, From, To, Body, …)"),
    params(("X-Twilio-Signature" = String, Header, description = "base64 HMAC-SHA1 of the URL and sorted parameters")),
    responses(
        (status = 200, description = "TwiML answer (a confirmation for keywords, otherwise empty)", content_type = "text/xml", body = String),
        (status = 403, description = "Missing or wrong signature; recorded as a security event", body = ErrorBody),
        (status = 422, description = "MessageSid, From or To missing", body = ErrorBody),
        (status = 503, description = "TWILIO_AUTH_TOKEN is not configured", body = ErrorBody),
    )
)]
async fn receive(
    State(app): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let path = uri.0.path_and_query().map_or("/", |p| p.as_str());
    let params =
        gimbal_webhooks::request::verified_twilio_form(&app, NAME, path, &headers, &body).await?;
    let message = Inbound {
        message_sid: required(&params, "MessageSid")?.to_string(),
        from: required(&params, "From")?.to_string(),
        to: required(&params, "To")?.to_string(),
        body: twilio::param(&params, "Body")
            .unwrap_or_default()
            .to_string(),
    };
    let mut conn = app.conn().await?;
    let tx = gimbal_webhooks::service_transaction(&mut conn, NAME).await?;
    let outcome = sms::apply_inbound(&tx, &message).await?;
    let company = sms::company_name(&tx).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(
        twilio.message_sid = %message.message_sid,
        keyword = ?outcome.keyword,
        first_delivery = outcome.first_delivery,
        "twilio inbound message"
    );
    let answer = twiml(reply(outcome.keyword, &company).as_deref());
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], answer))
}

#[derive(OpenApi)]
#[openapi(paths(receive), components(schemas(ErrorBody)))]
struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_replies_are_escaped_twiml() {
        let xml = twiml(reply(Some(Keyword::OptOut), "A & B").as_deref());
        assert!(
            xml.contains("<Message>A &amp; B: You have been unsubscribed"),
            "{xml}"
        );
        assert!(xml.contains("Reply START"));
        assert!(twiml(None).ends_with("<Response/>"));
    }
}
