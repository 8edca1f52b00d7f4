//! Who may use the dashboard: one-time sign-in links that a platform asks for on behalf of one
//! of its users, and the sessions they open.
//!
//! - A **sign-in link** names one or more accounts of one organisation and a role; it is valid
//!   for [`LINK_LIFETIME`] and opens one session, once.
//! - A **session** ends after [`IDLE_TIMEOUT`] without a request, after [`ABSOLUTE_TIMEOUT`]
//!   in any case, or at sign-out. It carries a CSRF token that every state-changing request
//!   must echo.
//!
//! Tokens are 256 random bits; the store keeps only their SHA-256, so a copy of the table opens
//! nothing.

pub mod memory;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::common::account::AccountId;
use crate::common::store::StoreError;

/// How long a sign-in link may wait to be opened.
pub const LINK_LIFETIME: Duration = Duration::minutes(10);
/// A session unused this long is over.
pub const IDLE_TIMEOUT: Duration = Duration::hours(1);
/// A session is over this long after sign-in, however busy.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// Last-use times are written at most this often: a page of several requests costs one write,
/// and idle expiry is late by at most this much.
const TOUCH_EVERY: Duration = Duration::minutes(1);
/// At most this many accounts in one session (the account switcher's list).
pub const MAX_ACCOUNTS: usize = 50;

/// What a session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and changes everything of its accounts.
    Admin,
    /// Reads only: sees no edit control and is refused any change.
    Viewer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }

    pub fn may_change(self) -> bool {
        self == Self::Admin
    }
}

/// What a sign-in link grants, and so the session it opens: accounts of one organisation (the
/// first is where the user lands), a role, and who the platform says the user is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    accounts: Vec<AccountId>,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("a session covers at most {MAX_ACCOUNTS} accounts")]
    TooManyAccounts,
}

impl Grant {
    /// `home` first, then the other accounts in the order given, each once.
    pub fn new(
        home: AccountId,
        others: Vec<AccountId>,
        role: Role,
        organization: Option<String>,
        user: Option<String>,
    ) -> Result<Self, GrantError> {
        let mut accounts = vec![home];
        for a in others {
            if !accounts.contains(&a) {
                accounts.push(a);
            }
        }
        if accounts.len() > MAX_ACCOUNTS {
            return Err(GrantError::TooManyAccounts);
        }
        Ok(Self {
            accounts,
            role,
            organization,
            user,
        })
    }

    pub fn home(&self) -> &AccountId {
        &self.accounts[0]
    }

    pub fn accounts(&self) -> &[AccountId] {
        &self.accounts
    }

    pub fn covers(&self, account: &AccountId) -> bool {
        self.accounts.contains(account)
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn organization(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}

/// A bearer token: a sign-in link's or a session cookie's. Shown once to its holder, stored
/// only as its [`TokenHash`].
pub struct Token(String);

impl Token {
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// What the holder presents; anything of the wrong shape is no token at all.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// The SHA-256 of a token, hex: the key it is stored under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As stored; only a store reads one back.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

/// An unused sign-in link, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLink {
    pub grant: Grant,
    pub expires_at: OffsetDateTime,
}

/// An open session, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub grant: Grant,
    /// Echoed by every state-changing request, in a form field or a header.
    pub csrf: String,
    #[serde(with = "crate::common::clock::rfc3339_serde")]
    pub created_at: OffsetDateTime,
    #[serde(with = "crate::common::clock::rfc3339_serde")]
    pub last_seen_at: OffsetDateTime,
}

impl Session {
    /// When the store may forget it: the absolute end (idle expiry is checked on every read).
    pub fn ends_at(&self) -> OffsetDateTime {
        self.created_at + ABSOLUTE_TIMEOUT
    }

    /// Whether `presented` is this session's CSRF token, compared in constant time.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        !presented.is_empty() && bool::from(self.csrf.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// Where links and sessions are kept.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn put_link(&self, hash: &TokenHash, link: &PendingLink) -> Result<(), StoreError>;
    /// Removes the link and answers what it was, atomically: of two concurrent openings only
    /// one gets it.
    async fn take_link(&self, hash: &TokenHash) -> Result<Option<PendingLink>, StoreError>;
    async fn put_session(&self, hash: &TokenHash, session: &Session) -> Result<(), StoreError>;
    async fn session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError>;
    async fn touch(&self, hash: &TokenHash, at: OffsetDateTime) -> Result<(), StoreError>;
    async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown, already used, or expired: one answer, so a prober learns nothing.
    #[error("this sign-in link has expired or was already used")]
    LinkInvalid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no session")]
    Missing,
    #[error("the session has ended")]
    Ended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues links, opens and checks sessions.
pub struct Sessions<S: ?Sized> {
    store: std::sync::Arc<S>,
}

impl<S: SessionStore + ?Sized> Sessions<S> {
    pub fn new(store: std::sync::Arc<S>) -> Self {
        Self { store }
    }

    /// A new one-time link's token and when it expires.
    pub async fn issue_link(
        &self,
        grant: Grant,
        now: OffsetDateTime,
    ) -> Result<(Token, OffsetDateTime), StoreError> {
        let token = Token::generate();
        let expires_at = now + LINK_LIFETIME;
        self.store
            .put_link(&token.hash(), &PendingLink { grant, expires_at })
            .await?;
        Ok((token, expires_at))
    }

    /// Opens a session with a link's token; the link is used up whatever happens next.
    pub async fn sign_in(
        &self,
        link: &str,
        now: OffsetDateTime,
    ) -> Result<(Token, Session), SignInError> {
        let link = Token::parse(link).ok_or(SignInError::LinkInvalid)?;
        let pending = self
            .store
            .take_link(&link.hash())
            .await?
            .filter(|l| now < l.expires_at)
            .ok_or(SignInError::LinkInvalid)?;
        let token = Token::generate();
        let session = Session {
            grant: pending.grant,
            csrf: Token::generate().0,
            created_at: now,
            last_seen_at: now,
        };
        self.store.put_session(&token.hash(), &session).await?;
        Ok((token, session))
    }

    /// The session a cookie names, if it is still open; notes its use.
    pub async fn check(&self, cookie: &str, now: OffsetDateTime) -> Result<Session, SessionError> {
        let hash = Token::parse(cookie).ok_or(SessionError::Missing)?.hash();
        let mut session = self
            .store
            .session(&hash)
            .await?
            .ok_or(SessionError::Missing)?;
        if now >= session.ends_at() || now - session.last_seen_at >= IDLE_TIMEOUT {
            self.store.delete_session(&hash).await?;
            return Err(SessionError::Ended);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch(&hash, now).await?;
            session.last_seen_at = now;
        }
        Ok(session)
    }

    pub async fn sign_out(&self, cookie: &str) -> Result<(), StoreError> {
        match Token::parse(cookie) {
            Some(t) => self.store.delete_session(&t.hash()).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::datetime;

    use super::memory::MemorySessionStore;
    use super::*;

    const T0: OffsetDateTime = datetime!(2030-01-15 09:30:00 UTC);

    fn account(s: &str) -> AccountId {
        AccountId::parse(s).expect("valid")
    }

    fn sessions() -> Sessions<MemorySessionStore> {
        Sessions::new(Arc::new(MemorySessionStore::default()))
    }

    fn grant(role: Role) -> Grant {
        Grant::new(
            account("acme"),
            vec![account("acme-eu"), account("acme")],
            role,
            Some("Acme Group".into()),
            None,
        )
        .expect("valid")
    }

    #[test]
    fn grant_lists_each_account_once_home_first() {
        let g = grant(Role::Admin);
        assert_eq!(g.accounts(), [account("acme"), account("acme-eu")]);
        assert!(g.covers(&account("acme-eu")));
        assert!(!g.covers(&account("globex")));
        let many = (0..MAX_ACCOUNTS)
            .map(|i| account(&format!("a{i}")))
            .collect();
        assert_eq!(
            Grant::new(account("acme"), many, Role::Viewer, None, None),
            Err(GrantError::TooManyAccounts)
        );
    }

    #[tokio::test]
    async fn a_link_opens_one_session_once() {
        let s = sessions();
        let (link, expires) = s.issue_link(grant(Role::Admin), T0).await.expect("issued");
        assert_eq!(expires, T0 + LINK_LIFETIME);
        let (cookie, session) = s.sign_in(link.expose(), T0).await.expect("signed in");
        assert_eq!(session.grant.role(), Role::Admin);
        assert!(matches!(
            s.sign_in(link.expose(), T0).await,
            Err(SignInError::LinkInvalid)
        ));
        let checked = s.check(cookie.expose(), T0).await.expect("open");
        assert!(checked.csrf_matches(&session.csrf));
        assert!(!checked.csrf_matches(""));
        assert!(!checked.csrf_matches("forged"));
    }

    #[tokio::test]
    async fn links_expire_and_forgeries_fail() {
        let s = sessions();
        let (link, _) = s.issue_link(grant(Role::Admin), T0).await.expect("issued");
        assert!(matches!(
            s.sign_in(link.expose(), T0 + LINK_LIFETIME).await,
            Err(SignInError::LinkInvalid)
        ));
        assert!(matches!(
            s.sign_in("not-a-token", T0).await,
            Err(SignInError::LinkInvalid)
        ));
        assert!(matches!(
            s.check(&Token::generate().0, T0).await,
            Err(SessionError::Missing)
        ));
    }

    #[tokio::test]
    async fn sessions_end_when_idle_or_old_or_signed_out() {
        let s = sessions();
        let open = |s: &Sessions<MemorySessionStore>| {
            let s = Sessions::new(s.store.clone());
            async move {
                let (link, _) = s.issue_link(grant(Role::Viewer), T0).await.expect("issued");
                s.sign_in(link.expose(), T0).await.expect("signed in").0
            }
        };
        // Idle: used at 50 minutes keeps it open until 1 h 50.
        let cookie = open(&s).await;
        s.check(cookie.expose(), T0 + Duration::minutes(50))
            .await
            .expect("used in time");
        s.check(cookie.expose(), T0 + Duration::minutes(109))
            .await
            .expect("still in time");
        assert!(matches!(
            s.check(cookie.expose(), T0 + Duration::minutes(170)).await,
            Err(SessionError::Ended)
        ));
        assert!(matches!(
            s.check(cookie.expose(), T0 + Duration::minutes(171)).await,
            Err(SessionError::Missing)
        ));
        // Absolute: busy all along, over at 12 h.
        let cookie = open(&s).await;
        let mut t = T0;
        while t < T0 + ABSOLUTE_TIMEOUT - Duration::minutes(30) {
            t += Duration::minutes(30);
            s.check(cookie.expose(), t).await.expect("busy");
        }
        assert!(matches!(
            s.check(cookie.expose(), T0 + ABSOLUTE_TIMEOUT).await,
            Err(SessionError::Ended)
        ));
        // Signed out.
        let cookie = open(&s).await;
        s.sign_out(cookie.expose()).await.expect("signed out");
        assert!(matches!(
            s.check(cookie.expose(), T0).await,
            Err(SessionError::Missing)
        ));
    }
}
