//! Opaque page cursors: the last key of a page, bound to the listing's filters so that a cursor
//! cannot be replayed against another filter or order.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode(fingerprint: &str, last: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{fingerprint}|{last}"))
}

/// The last key of the page `cursor` ended, if it came from a listing with `fingerprint`.
pub fn decode(fingerprint: &str, cursor: &str) -> Result<String, String> {
    let bad = || "cursor is not one this listing returned".to_owned();
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    // Split at the last '|': keys never hold one, a listing's fingerprint may.
    let (found, last) = raw.rsplit_once('|').ok_or_else(bad)?;
    if found != fingerprint {
        return Err(bad());
    }
    Ok(last.to_owned())
}
