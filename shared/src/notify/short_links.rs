//! Herald's own short links: the `shorten` template filter turns a URL into
//! `{HERALD_SHORT_LINK_BASE_URL}/{code}`, a public redirect that counts the clicks of the
//! message it was sent in. Codes are 128 random bits (22 base-62 characters): unguessable, so
//! a link reveals nothing of other messages. Only http and https targets.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rand::Rng;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::store::StoreError;
use crate::messaging::log::MessageId;
use crate::messaging::message::Channel;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A short link's code: 22 characters of 0-9, A-Z, a-z.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ShortCode(String);

impl ShortCode {
    pub const LEN: usize = 22;

    /// A new random code (22 base-62 digits hold 130 bits; 128 random bits are drawn).
    pub fn generate() -> Self {
        let mut n: u128 = rand::rng().random();
        let mut out = Vec::with_capacity(Self::LEN);
        for _ in 0..Self::LEN {
            out.push(ALPHABET[(n % 62) as usize]);
            n /= 62;
        }
        Self(String::from_utf8(out).expect("ASCII"))
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == Self::LEN && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(s.to_owned()))
        } else {
            Err("is not a short link code".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ShortCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<ShortCode> for String {
    fn from(v: ShortCode) -> String {
        v.0
    }
}

impl std::fmt::Display for ShortCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A target a short link may lead to: an absolute http or https URL.
pub fn target(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(parsed),
        "http" | "https" => Err(format!("{url:?} has no host")),
        other => Err(format!(
            "only http and https links can be shortened, not {other}:"
        )),
    }
}

/// A short link as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShortLink {
    pub code: ShortCode,
    pub account_id: AccountId,
    pub channel: Channel,
    pub message_id: MessageId,
    pub target: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl ShortLink {
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at <= now
    }
}

#[async_trait]
pub trait ShortLinkStore: Send + Sync {
    /// Stores new links (codes are random: a collision is not retried, it is an error).
    async fn put_all(&self, links: &[ShortLink]) -> Result<(), StoreError>;

    async fn get(&self, code: &ShortCode) -> Result<Option<ShortLink>, StoreError>;
}

/// Where short links point, and how long they work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLinkSettings {
    /// `https://go.example.com`: a link is `{base_url}/{code}`.
    pub base_url: String,
    pub lifetime: time::Duration,
}

impl ShortLinkSettings {
    /// How long a link works unless the operator says otherwise.
    pub const DEFAULT_LIFETIME: time::Duration = time::Duration::days(90);

    pub fn url(&self, code: &ShortCode) -> String {
        format!("{}/{code}", self.base_url.trim_end_matches('/'))
    }
}

/// The links one rendering shortened, handed to the `shorten` filter through the template
/// context (one per rendering, so that concurrent renderings never mix their links).
#[derive(Debug)]
pub struct LinkCollector {
    base_url: String,
    made: Mutex<Vec<(ShortCode, String)>>,
}

impl LinkCollector {
    /// The name the collector has in a template's context.
    pub const CONTEXT_NAME: &'static str = "__short_links";

    pub fn new(base_url: &str) -> Arc<Self> {
        Arc::new(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            made: Mutex::new(Vec::new()),
        })
    }

    /// The short URL of `url`, remembered for [`LinkCollector::take`].
    pub fn shorten(&self, url: &str) -> Result<String, String> {
        let target = target(url)?;
        let code = ShortCode::generate();
        let short = format!("{}/{code}", self.base_url);
        self.made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((code, target.to_string()));
        Ok(short)
    }

    /// The links made so far, as stored links of `message`.
    pub fn take(
        &self,
        account: &AccountId,
        channel: Channel,
        message: &MessageId,
        now: OffsetDateTime,
        lifetime: time::Duration,
    ) -> Vec<ShortLink> {
        std::mem::take(
            &mut *self
                .made
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_iter()
        .map(|(code, target)| ShortLink {
            code,
            account_id: account.clone(),
            channel,
            message_id: message.clone(),
            target,
            created_at: now,
            expires_at: now + lifetime,
        })
        .collect()
    }
}

impl minijinja::value::Object for LinkCollector {}

/// The `shorten` filter: looks up the rendering's collector in the context.
pub fn shorten_filter(
    state: &minijinja::State<'_, '_>,
    url: String,
) -> Result<String, minijinja::Error> {
    use minijinja::{Error, ErrorKind};
    let collector = state.lookup(LinkCollector::CONTEXT_NAME).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            "short links are not configured",
        )
    })?;
    let collector = collector
        .downcast_object_ref::<LinkCollector>()
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                "short links are not configured",
            )
        })?;
    collector
        .shorten(&url)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
}

/// `message.link_clicked`: the first click on one of a message's short links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkClicked {
    pub message_id: MessageId,
    pub channel: Channel,
    /// The recipient(s), as one line.
    pub to: String,
    /// Where the link leads.
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub clicked_at: OffsetDateTime,
    pub tags: Vec<crate::messaging::message::Tag>,
}

impl crate::events::payload::EventPayload for LinkClicked {
    fn event_name(&self) -> String {
        "message.link_clicked".into()
    }
}

impl LinkClicked {
    /// The catalog's sample.
    pub fn sample() -> Self {
        Self {
            message_id: MessageId::parse("01JD6ZK5Q2V7X8Y9Z0A1B2C3D4").expect("a ULID"),
            channel: Channel::Sms,
            to: "+4712345678".into(),
            url: "https://sign.example/r/42".into(),
            clicked_at: time::macros::datetime!(2026-11-02 09:41:07 UTC),
            tags: Vec::new(),
        }
    }
}

/// Why following a link did not lead anywhere.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Follows the short link `code` at `now`: where it leads (`None`: unknown or expired). The
/// click is counted on its message, and the message's first click publishes
/// `message.link_clicked`. Counting is bookkeeping: when it fails the redirect still happens,
/// and the failure is logged.
pub async fn follow(
    links: &dyn ShortLinkStore,
    messages: &dyn crate::messaging::log::MessageLog,
    events: &crate::events::publish::EventPublisher,
    code: &str,
    now: OffsetDateTime,
) -> Result<Option<String>, FollowError> {
    let Ok(code) = ShortCode::parse(code) else {
        return Ok(None);
    };
    let Some(link) = links.get(&code).await? else {
        return Ok(None);
    };
    if link.expired(now) {
        return Ok(None);
    }
    if let Err(e) = count_click(&link, messages, events, now).await {
        tracing::error!(code = %link.code, message = %link.message_id, error = %e, "click not counted");
    }
    Ok(Some(link.target))
}

async fn count_click(
    link: &ShortLink,
    messages: &dyn crate::messaging::log::MessageLog,
    events: &crate::events::publish::EventPublisher,
    now: OffsetDateTime,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Optimistic: a click racing a status change (or another click) reads again.
    for _ in 0..5 {
        let Some(mut record) = messages
            .get(&link.account_id, link.channel, &link.message_id, now)
            .await?
        else {
            // The message left the log (retention): the link still leads where it did.
            return Ok(());
        };
        let first = record.record_click(now);
        match messages.replace(&mut record).await {
            Ok(()) => {
                if first {
                    let clicked = LinkClicked {
                        message_id: record.id.clone(),
                        channel: link.channel,
                        to: record.message.recipient(),
                        url: link.target.clone(),
                        clicked_at: now,
                        tags: record.tags.clone(),
                    };
                    events
                        .herald_event(
                            &link.account_id,
                            &clicked,
                            record.tags.iter().map(|t| t.as_str().to_owned()).collect(),
                            now,
                        )
                        .await?;
                }
                tracing::info!(account = %link.account_id, message = %record.id, first, "short link followed");
                return Ok(());
            }
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err("the message kept changing".into())
}

/// Short links in memory, for tests.
#[derive(Default)]
pub struct MemoryShortLinks {
    links: Mutex<std::collections::BTreeMap<ShortCode, ShortLink>>,
}

#[async_trait]
impl ShortLinkStore for MemoryShortLinks {
    async fn put_all(&self, links: &[ShortLink]) -> Result<(), StoreError> {
        let mut map = self
            .links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for l in links {
            if map.contains_key(&l.code) {
                return Err(StoreError::PreconditionFailed);
            }
            map.insert(l.code.clone(), l.clone());
        }
        Ok(())
    }

    async fn get(&self, code: &ShortCode) -> Result<Option<ShortLink>, StoreError> {
        Ok(self
            .links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(code)
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_and_parse_back() {
        let a = ShortCode::generate();
        assert_eq!(a.as_str().len(), ShortCode::LEN);
        assert_ne!(a, ShortCode::generate());
        assert_eq!(ShortCode::parse(a.as_str()), Ok(a));
        for bad in ["", "abc", &"a".repeat(23), "aaaaaaaaaaaaaaaaaaaaa-"] {
            assert!(ShortCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_http_and_https_targets() {
        assert!(target("https://sign.example/r/42?x=1").is_ok());
        assert!(target("http://sign.example").is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "mailto:a@b.c",
            "/relative",
            "https://",
        ] {
            assert!(target(bad).is_err(), "{bad}");
        }
        assert!(
            target("javascript:alert(1)")
                .unwrap_err()
                .contains("javascript:")
        );
    }

    #[test]
    fn a_collector_keeps_what_it_shortened() {
        let c = LinkCollector::new("https://go.example/");
        let short = c.shorten("https://sign.example/r/42").expect("shortened");
        assert!(short.starts_with("https://go.example/"), "{short}");
        assert!(c.shorten("javascript:alert(1)").is_err());
        let now = OffsetDateTime::UNIX_EPOCH;
        let links = c.take(
            &AccountId::parse("acme").unwrap(),
            Channel::Sms,
            &MessageId::new(now),
            now,
            ShortLinkSettings::DEFAULT_LIFETIME,
        );
        assert_eq!(links.len(), 1);
        assert_eq!(short, format!("https://go.example/{}", links[0].code));
        assert_eq!(links[0].target, "https://sign.example/r/42");
        assert_eq!(links[0].expires_at, now + time::Duration::days(90));
    }
}
