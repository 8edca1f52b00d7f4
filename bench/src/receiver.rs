//! A webhook receiver on loopback that answers every POST with 200 at once.

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
