//! Signed links for recipients, who have no session: to their preference page, and the
//! one-click unsubscribe of RFC 8058 for one type. A link names the account, the recipient
//! (and their role, which decides what they may change) and, for unsubscribing, the type; it
//! is signed with HMAC-SHA256 under the operator's link key, and expires.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::secret::Secret;
use crate::notify::recipients::RecipientId;
use crate::notify::types::{RecipientRole, TypeKey};

/// How long a link in an email works: long enough for an old email's footer to still work.
pub const LINK_LIFETIME: time::Duration = time::Duration::days(365);

/// What a link lets its holder do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientLink {
    #[serde(rename = "a")]
    pub account_id: AccountId,
    #[serde(rename = "r")]
    pub recipient_id: RecipientId,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RecipientRole>,
    /// Set on one-click unsubscribe links: the type whose email it turns off.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<TypeKey>,
    /// Unix seconds.
    #[serde(rename = "e")]
    pub expires: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("this link is not valid: it may have been cut short or changed")]
    Invalid,
    #[error("this link has expired; a newer email from the same sender holds a working one")]
    Expired,
}

/// The operator's link key (at least 32 bytes).
#[derive(Clone)]
pub struct LinkSigner {
    key: Secret,
}

impl LinkSigner {
    pub const MIN_KEY: usize = 32;

    pub fn new(key: Secret) -> Result<Self, String> {
        if key.expose().len() < Self::MIN_KEY {
            return Err(format!(
                "the link key must be at least {} bytes",
                Self::MIN_KEY
            ));
        }
        Ok(Self { key })
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.key.expose().as_bytes()).expect("any key length");
        mac.update(b"herald-recipient-link.");
        mac.update(payload.as_bytes());
        mac
    }

    /// The link's token: the payload and its signature, both URL-safe.
    pub fn sign(&self, link: &RecipientLink) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(link).expect("a link serialises"));
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    pub fn open(&self, token: &str, now: OffsetDateTime) -> Result<RecipientLink, LinkError> {
        let (payload, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Invalid)?;
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| LinkError::Invalid)?;
        let raw = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Invalid)?;
        let link: RecipientLink = serde_json::from_slice(&raw).map_err(|_| LinkError::Invalid)?;
        if link.expires <= now.unix_timestamp() {
            return Err(LinkError::Expired);
        }
        Ok(link)
    }
}

/// Where the links point: `{base}/dashboard/preferences/{token}` and
/// `{base}/dashboard/unsubscribe/{token}`, `base` being Herald's public URL.
#[derive(Clone)]
pub struct Links {
    pub signer: LinkSigner,
    pub base_url: String,
}

impl Links {
    pub fn preferences_url(
        &self,
        account: &AccountId,
        recipient: &RecipientId,
        role: Option<&RecipientRole>,
        now: OffsetDateTime,
    ) -> String {
        let token = self.signer.sign(&RecipientLink {
            account_id: account.clone(),
            recipient_id: recipient.clone(),
            role: role.cloned(),
            unsubscribe: None,
            expires: (now + LINK_LIFETIME).unix_timestamp(),
        });
        format!(
            "{}/dashboard/preferences/{token}",
            self.base_url.trim_end_matches('/')
        )
    }

    pub fn unsubscribe_url(
        &self,
        account: &AccountId,
        recipient: &RecipientId,
        role: Option<&RecipientRole>,
        key: &TypeKey,
        now: OffsetDateTime,
    ) -> String {
        let token = self.signer.sign(&RecipientLink {
            account_id: account.clone(),
            recipient_id: recipient.clone(),
            role: role.cloned(),
            unsubscribe: Some(key.clone()),
            expires: (now + LINK_LIFETIME).unix_timestamp(),
        });
        format!(
            "{}/dashboard/unsubscribe/{token}",
            self.base_url.trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &str) -> LinkSigner {
        LinkSigner::new(Secret::parse(&key.repeat(32)).unwrap()).unwrap()
    }

    #[test]
    fn links_open_until_they_expire_and_refuse_tampering() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let links = Links {
            signer: signer("k"),
            base_url: "https://h.example/".into(),
        };
        let account = AccountId::parse("acc-1").unwrap();
        let ann = RecipientId::parse("ann@example.com").unwrap();
        let url = links.preferences_url(&account, &ann, None, now);
        assert!(
            url.starts_with("https://h.example/dashboard/preferences/"),
            "{url}"
        );
        let token = url.rsplit('/').next().unwrap();
        let link = links.signer.open(token, now).expect("opens");
        assert_eq!(
            (link.account_id, link.recipient_id),
            (account.clone(), ann.clone())
        );
        assert_eq!(
            links.signer.open(token, now + LINK_LIFETIME),
            Err(LinkError::Expired)
        );
        assert_eq!(signer("x").open(token, now), Err(LinkError::Invalid));
        let (payload, tag) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap())
                .unwrap()
                .replace("ann@", "bob@"),
        );
        assert_eq!(
            links.signer.open(&format!("{forged}.{tag}"), now),
            Err(LinkError::Invalid)
        );
        assert_eq!(links.signer.open("garbage", now), Err(LinkError::Invalid));
        assert!(LinkSigner::new(Secret::parse("short").unwrap()).is_err());
    }
}
