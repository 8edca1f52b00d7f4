//! The signed-in person, as every page sees it once the session checks passed.

use herald::dashboard::{Role, Session};

/// The form field (or, for htmx, the header) that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in person, in every page's request extensions.
#[derive(Clone)]
pub struct Signed {
    pub session: Session,
}

impl Signed {
    pub fn role(&self) -> Role {
        self.session.grant.role()
    }

    pub fn may_change(&self) -> bool {
        self.role().may_change()
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }
}
