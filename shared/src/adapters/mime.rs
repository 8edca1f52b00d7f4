//! An [`OutgoingEmail`] as lettre's MIME message, for SMTP, and its sender as a mailbox, for
//! SES.

use crate::messaging::senders::Failure;
use crate::messaging::senders::email::OutgoingEmail;

/// `Name <address>`, the display name encoded as RFC 2047 needs.
pub fn mailbox(email: &OutgoingEmail) -> Result<lettre::message::Mailbox, Failure> {
    let address = email.from.to_string().parse().map_err(|e| {
        Failure::permanent(
            format!("sender address: {e}"),
            None,
            serde_json::Value::Null,
        )
    })?;
    Ok(lettre::message::Mailbox::new(
        Some(email.from_name.clone()),
        address,
    ))
}

/// The message as MIME: text, HTML, or both as alternatives.
pub fn mime(email: &OutgoingEmail) -> Result<lettre::Message, Failure> {
    use lettre::message::{MultiPart, SinglePart, header::ContentType};
    let bad = |e: &dyn std::fmt::Display| {
        Failure::permanent(
            format!("the message cannot be built: {e}"),
            None,
            serde_json::Value::Null,
        )
    };
    let mut builder = lettre::Message::builder()
        .from(mailbox(email)?)
        .subject(&email.subject);
    for to in &email.to {
        builder = builder.to(to.to_string().parse().map_err(|e| bad(&e))?);
    }
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(reply_to.to_string().parse().map_err(|e| bad(&e))?);
    }
    for (name, value) in email.unsubscribe_headers() {
        builder = builder.raw_header(lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii_str(name),
            value,
        ));
    }
    let message = match (&email.text, &email.html) {
        (Some(text), Some(html)) => builder.multipart(MultiPart::alternative_plain_html(
            text.clone(),
            html.clone(),
        )),
        (None, Some(html)) => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html.clone()),
        ),
        (text, None) => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text.clone().unwrap_or_default()),
        ),
    };
    message.map_err(|e| bad(&e))
}
