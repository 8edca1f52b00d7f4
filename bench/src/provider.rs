//! A Twilio Messages API on loopback that answers every send with 201 after a set latency,
//! as a real provider would, so that benchmarks measure Herald's concurrency rather than a
//! mock's.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::json;

/// Serves the fake provider on an ephemeral loopback port; returns its base URL.
pub async fn twilio(latency: Duration) -> std::io::Result<String> {
    let app = Router::new().route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        post(move || async move {
            tokio::time::sleep(latency).await;
            (
                StatusCode::CREATED,
                axum::Json(
                    json!({"sid": "SM00000000000000000000000000000000", "status": "queued"}),
                ),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}
