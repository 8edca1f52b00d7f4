//! `GET /l/{code}`: a short link, public like the receipt callbacks (a person clicks it in an
//! SMS or email): 302 to its target, the click counted on its message. Unknown and expired
//! codes get a plain 404 page, the same for both, so that codes cannot be probed.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use herald::notify::short_links::follow as follow_link;

use crate::AppState;

const GONE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Link not found</title></head><body><main><h1>Link not found</h1>\
<p>This link is not valid, or it has expired. The message it came in may have a newer one.</p>\
</main></body></html>";

pub async fn follow(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    let now = state.clock.now();
    match follow_link(
        state.short_links.as_ref(),
        state.messages.as_ref(),
        &state.events,
        &code,
        now,
    )
    .await
    {
        Ok(Some(target)) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, target),
                (header::CACHE_CONTROL, "no-store".to_owned()),
                (header::REFERRER_POLICY, "no-referrer".to_owned()),
            ],
        )
            .into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            Html(GONE),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "short link lookup failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                Html(
                    "<!doctype html><title>Try again</title><p>Try the link again in a moment.</p>",
                ),
            )
                .into_response()
        }
    }
}
