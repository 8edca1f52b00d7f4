//! Receivers on loopback that answer at once: a webhook (200) and a Service Bus queue (201).

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;

/// Serves the receiver on an ephemeral loopback port; returns its URL.
pub async fn ok() -> std::io::Result<String> {
    let app = Router::new().route("/hooks", post(|| async { StatusCode::OK }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// A Service Bus stand-in on an ephemeral loopback port that accepts every message to queue
/// `bench-queue` with 201, as Service Bus does; returns its origin.
pub async fn service_bus() -> std::io::Result<String> {
    let app = Router::new().route(
        "/bench-queue/messages",
        post(|| async { StatusCode::CREATED }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(origin)
}
