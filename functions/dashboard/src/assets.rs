//! The stylesheet, the script and htmx (vendored, 0BSD: `static/htmx-LICENSE.txt`, served at
//! `/dashboard/static/htmx-LICENSE.txt`), built into the binary. Each is served under a name
//! that carries a hash of its content, so a page always asks for the version it was made with
//! and browsers may keep each for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// `name` with the content's hash before its extension.
    hashed: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        (
            "dashboard.css",
            "text/css; charset=utf-8",
            include_bytes!("../static/dashboard.css").as_slice(),
        ),
        (
            "dashboard.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../static/dashboard.js").as_slice(),
        ),
        (
            "htmx.min.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../static/htmx-2.0.11.min.js").as_slice(),
        ),
        (
            "htmx-LICENSE.txt",
            "text/plain; charset=utf-8",
            include_bytes!("../static/htmx-LICENSE.txt").as_slice(),
        ),
    ]
    .into_iter()
    .map(|(name, content_type, body)| {
        let hash = hex::encode(&Sha256::digest(body)[..6]);
        let hashed = match name.split_once('.') {
            Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
            None => format!("{name}.{hash}"),
        };
        Asset {
            name,
            content_type,
            body,
            hashed,
        }
    })
    .collect()
});

/// Where a page links `name`.
pub fn href(name: &str) -> String {
    let file = ASSETS
        .iter()
        .find(|a| a.name == name)
        .map_or(name, |a| a.hashed.as_str());
    format!("/dashboard/static/{file}")
}

/// `GET /dashboard/static/{file}`: by its hashed name (kept a year), or the licence by its own.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS
        .iter()
        .find(|a| a.hashed == file || (a.name == file && a.name.ends_with(".txt")))
    else {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    };
    let cache = if asset.hashed == file {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, cache),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let h = href("htmx.min.js");
        assert!(
            h.starts_with("/dashboard/static/htmx.") && h.ends_with(".min.js"),
            "{h}"
        );
        assert_ne!(h, "/dashboard/static/htmx.min.js");
    }
}
