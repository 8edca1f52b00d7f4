//! Errors as RFC 9457 `application/problem+json`. Every error a handler can return is an
//! [`ApiError`]; internal failures are logged with their whole chain and answered without detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald::common::queue::QueueError;
use herald::common::seal::SealError;
use herald::common::validation::{FieldError, FieldErrors};
use herald::messaging::provider_secrets::SecretsError;
use herald::messaging::settings::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("invalid request: {0}")]
    Validation(FieldErrors),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// An error Herald did not expect: logged with its whole chain, answered 500.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    /// A store's error where a lost race (the record changed since it was read) is the
    /// caller's to retry: 409 with `message`; every other error as usual.
    pub fn conflict_if_changed(message: impl Into<String>) -> impl FnOnce(StoreError) -> Self {
        move |e| match e {
            StoreError::PreconditionFailed => Self::Conflict(message.into()),
            other => other.into(),
        }
    }
}

/// What a client reads when AWS failed or did not answer within the SDK's timeouts
/// (`herald::adapters::aws::timeouts`): the request may or may not have taken effect, and is safe to
/// repeat, as every write of the API is (sends by their `Idempotency-Key`).
const AWS_UNAVAILABLE: &str = "Herald could not reach the services it depends on in time; \
     retry the request (a send with the same Idempotency-Key)";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::PreconditionFailed => Self::PreconditionFailed,
            StoreError::Unavailable(source) => {
                tracing::error!(error = %error_chain(source.as_ref()), "the store failed");
                Self::Unavailable(AWS_UNAVAILABLE)
            }
            corrupt @ (StoreError::Corrupt { .. } | StoreError::Unreadable { .. }) => {
                Self::internal(corrupt)
            }
        }
    }
}

impl From<SealError> for ApiError {
    fn from(e: SealError) -> Self {
        match e {
            SealError::KeyService(source) => {
                tracing::error!(error = %error_chain(source.as_ref()), "the key service failed");
                Self::Unavailable(AWS_UNAVAILABLE)
            }
            unreadable @ SealError::Unreadable => Self::internal(unreadable),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        tracing::error!(error = %error_chain(&e), "the queue failed");
        Self::Unavailable(AWS_UNAVAILABLE)
    }
}

impl From<SecretsError> for ApiError {
    fn from(e: SecretsError) -> Self {
        match e {
            SecretsError::Unavailable(source) => {
                tracing::error!(error = %error_chain(source.as_ref()), "Secrets Manager failed");
                Self::Unavailable(AWS_UNAVAILABLE)
            }
            malformed @ SecretsError::Malformed(_) => Self::internal(malformed),
        }
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    type_: &'a str,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
}

pub const VALIDATION_TYPE: &str = "urn:herald:problem:validation";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, type_, title, detail, errors) = match self {
            Self::Unauthorized(why) => (
                StatusCode::UNAUTHORIZED,
                "about:blank",
                "Unauthorized",
                Some(why.to_owned()),
                vec![],
            ),
            Self::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                "about:blank",
                "Forbidden",
                Some(why.to_owned()),
                vec![],
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "about:blank",
                "Not Found",
                Some("No such resource, or it is not visible with this token.".to_owned()),
                vec![],
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "about:blank",
                "Method Not Allowed",
                None,
                vec![],
            ),
            Self::Validation(errors) => (
                StatusCode::BAD_REQUEST,
                VALIDATION_TYPE,
                "Invalid request",
                Some(format!(
                    "{} field{} invalid; see errors.",
                    errors.len(),
                    if errors.len() == 1 { " is" } else { "s are" }
                )),
                errors.into_vec(),
            ),
            Self::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "about:blank",
                "Bad Request",
                Some(detail),
                vec![],
            ),
            Self::PreconditionFailed => (
                StatusCode::PRECONDITION_FAILED,
                "about:blank",
                "Precondition Failed",
                Some(
                    "The resource changed since the ETag in If-Match was read; GET it again."
                        .to_owned(),
                ),
                vec![],
            ),
            Self::Conflict(detail) => (
                StatusCode::CONFLICT,
                "about:blank",
                "Conflict",
                Some(detail),
                vec![],
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "about:blank",
                "Payload Too Large",
                Some(format!(
                    "Request bodies are limited to {} KiB.",
                    crate::MAX_BODY_BYTES / 1024
                )),
                vec![],
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "about:blank",
                "Unsupported Media Type",
                Some("Send the body as application/json.".to_owned()),
                vec![],
            ),
            Self::Unprocessable(detail) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "about:blank",
                "Unprocessable Content",
                Some(detail),
                vec![],
            ),
            Self::Unavailable(detail) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "about:blank",
                "Service Unavailable",
                Some(detail.to_owned()),
                vec![],
            ),
            Self::Internal(source) => {
                tracing::error!(error = %error_chain(source.as_ref()), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "about:blank",
                    "Internal Server Error",
                    Some("Herald could not complete the request; try again later.".to_owned()),
                    vec![],
                )
            }
        };
        let body = Problem {
            type_,
            title,
            status: status.as_u16(),
            detail,
            errors,
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // AWS's outages and throttling pass in seconds; the SDK has already retried.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

use herald::error_chain;

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
