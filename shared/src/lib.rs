//! Herald's shared core: domain types that cannot hold invalid values, the rules between them,
//! the ports (traits) Herald's functions talk through, and their AWS and in-memory adapters.
//!
//! Nothing here knows about HTTP or Lambda events; the functions in `functions/` do.

#[cfg(feature = "aws")]
pub mod adapters;
pub mod common;
pub mod domains;
pub mod events;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod messaging;

/// `error: cause: cause ...`: an error with every source below it, so that one log line or
/// one recorded reason tells the whole story.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
