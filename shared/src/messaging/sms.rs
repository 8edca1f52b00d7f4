//! SMS settings: the sender name and the primary and secondary provider.

use serde::{Deserialize, Serialize};

use crate::common::secret::SealedSecret;
use crate::common::validation::FieldErrors;
use crate::messaging::custom::CustomProvider;

/// The name an SMS appears to come from: 3 to 11 characters of `A-Za-z0-9`, dots and spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SenderName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSenderName {
    #[error("must be 3 to 11 characters long (it has {0})")]
    Length(usize),
    #[error("may hold only letters A-Z and a-z, digits 0-9, dots and spaces")]
    Charset,
}

impl SenderName {
    pub fn parse(s: &str) -> Result<Self, InvalidSenderName> {
        // Checked before the length so that "é" is reported as a bad character, not as two bytes.
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == ' ')
        {
            return Err(InvalidSenderName::Charset);
        }
        if !(3..=11).contains(&s.len()) {
            return Err(InvalidSenderName::Length(s.chars().count()));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SenderName {
    type Error = InvalidSenderName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SenderName> for String {
    fn from(n: SenderName) -> String {
        n.0
    }
}

/// An SMS provider Herald can send through. The operator configures which of the platform's
/// ones are available (and their credentials); accounts choose among those, or `custom`: their
/// own provider, which they configure themselves (see [`crate::messaging::custom`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    Sns,
    Twilio,
    Vonage,
    Custom,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not an SMS provider; known providers are sns, twilio, vonage and custom")]
pub struct UnknownSmsProvider(pub String);

/// The extra limits a provider puts on alphanumeric sender ids, beyond Herald's own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SenderNameRules {
    pub min_length: usize,
    pub max_length: usize,
    pub allows_spaces: bool,
    pub allows_dots: bool,
    /// An all-digit sender id would be read as a phone number.
    pub requires_letter: bool,
}

impl SmsProvider {
    /// The platform's providers, which an operator may offer (`custom` is every account's).
    pub const ALL: [SmsProvider; 3] = [Self::Sns, Self::Twilio, Self::Vonage];

    pub fn parse(s: &str) -> Result<Self, UnknownSmsProvider> {
        match s {
            "sns" => Ok(Self::Sns),
            "twilio" => Ok(Self::Twilio),
            "vonage" => Ok(Self::Vonage),
            "custom" => Ok(Self::Custom),
            other => Err(UnknownSmsProvider(other.to_owned())),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Self::Sns => "sns",
            Self::Twilio => "twilio",
            Self::Vonage => "vonage",
            Self::Custom => crate::messaging::custom::PROVIDER,
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::Sns => "Amazon SNS",
            Self::Twilio => "Twilio",
            Self::Vonage => "Vonage",
            Self::Custom => "Custom provider",
        }
    }

    /// Amazon SNS: "1-11 alphanumeric characters, at least one letter, no spaces". Twilio:
    /// letters, digits and spaces, at least one letter. Vonage, and an account's own provider
    /// (which answers for itself), take Herald's rule as it is.
    pub fn sender_name_rules(self) -> SenderNameRules {
        let base = SenderNameRules {
            min_length: 3,
            max_length: 11,
            allows_spaces: true,
            allows_dots: true,
            requires_letter: false,
        };
        match self {
            Self::Sns => SenderNameRules {
                allows_spaces: false,
                allows_dots: false,
                requires_letter: true,
                ..base
            },
            Self::Twilio => SenderNameRules {
                allows_dots: false,
                requires_letter: true,
                ..base
            },
            Self::Vonage | Self::Custom => base,
        }
    }

    /// Why this provider would reject `name`, if it would.
    pub fn rejects(self, name: &SenderName) -> Option<String> {
        let rules = self.sender_name_rules();
        let s = name.as_str();
        let what = if !rules.allows_spaces && s.contains(' ') {
            "spaces"
        } else if !rules.allows_dots && s.contains('.') {
            "dots"
        } else if rules.requires_letter && !s.chars().any(|c| c.is_ascii_alphabetic()) {
            return Some(format!(
                "{} requires at least one letter in a sender name",
                self.display_name()
            ));
        } else {
            return None;
        };
        Some(format!(
            "{} does not accept {what} in a sender name",
            self.display_name()
        ))
    }
}

impl std::fmt::Display for SmsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// An account's SMS settings. The constructor enforces the rules between fields: the secondary
/// provider differs from the primary, both accept the sender name, and the account's own
/// provider is configured exactly when one of them is `custom`. `S` is how that provider's
/// signing secret is held: sealed when stored, as given in a write request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "SmsSettingsFields<S>")]
pub struct SmsSettings<S = SealedSecret> {
    sender_name: SenderName,
    primary_provider: SmsProvider,
    secondary_provider: Option<SmsProvider>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_provider: Option<CustomProvider<S>>,
}

/// The fields as stored, checked again by [`SmsSettings::with_custom_provider`] when read back.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmsSettingsFields<S> {
    sender_name: SenderName,
    primary_provider: SmsProvider,
    secondary_provider: Option<SmsProvider>,
    #[serde(default = "Option::default")]
    custom_provider: Option<CustomProvider<S>>,
}

impl<S> TryFrom<SmsSettingsFields<S>> for SmsSettings<S> {
    type Error = FieldErrors;
    fn try_from(f: SmsSettingsFields<S>) -> Result<Self, Self::Error> {
        Self::with_custom_provider(
            f.sender_name,
            f.primary_provider,
            f.secondary_provider,
            f.custom_provider,
        )
    }
}

impl SmsSettings {
    /// Settings with the platform's providers only.
    pub fn new(
        sender_name: SenderName,
        primary_provider: SmsProvider,
        secondary_provider: Option<SmsProvider>,
    ) -> Result<Self, FieldErrors> {
        Self::with_custom_provider(sender_name, primary_provider, secondary_provider, None)
    }
}

impl<S> SmsSettings<S> {
    /// Checks the rules between the fields; errors name the fields as the API spells them.
    pub fn with_custom_provider(
        sender_name: SenderName,
        primary_provider: SmsProvider,
        secondary_provider: Option<SmsProvider>,
        custom_provider: Option<CustomProvider<S>>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if secondary_provider == Some(primary_provider) {
            errors.push(
                "secondaryProvider",
                "must differ from the primary provider (use null to disable failover)",
            );
        }
        for provider in std::iter::once(primary_provider).chain(secondary_provider) {
            if let Some(why) = provider.rejects(&sender_name) {
                errors.push("senderName", why);
            }
        }
        let uses_custom = primary_provider == SmsProvider::Custom
            || secondary_provider == Some(SmsProvider::Custom);
        match (uses_custom, custom_provider.is_some()) {
            (true, false) => errors.push(
                "customProvider",
                "is required when the primary or secondary provider is custom: where your \
                 provider takes messages ({\"url\": \"https://...\"})",
            ),
            (false, true) => errors.push(
                "customProvider",
                "is used only when the primary or secondary provider is custom; leave it out \
                 (or null)",
            ),
            _ => {}
        }
        errors.into_result(Self {
            sender_name,
            primary_provider,
            secondary_provider,
            custom_provider,
        })
    }

    /// The same settings with the custom provider's secret transformed by `f` (sealed, shown
    /// as a placeholder); the rules between the fields do not depend on it.
    pub fn map_secret<T>(self, f: impl FnOnce(S) -> T) -> SmsSettings<T> {
        SmsSettings {
            sender_name: self.sender_name,
            primary_provider: self.primary_provider,
            secondary_provider: self.secondary_provider,
            custom_provider: self.custom_provider.map(|c| c.map_secret(f)),
        }
    }

    /// The account's own provider, when the primary or secondary is `custom`.
    pub fn custom_provider(&self) -> Option<&CustomProvider<S>> {
        self.custom_provider.as_ref()
    }

    pub fn sender_name(&self) -> &SenderName {
        &self.sender_name
    }

    pub fn primary_provider(&self) -> SmsProvider {
        self.primary_provider
    }

    pub fn secondary_provider(&self) -> Option<SmsProvider> {
        self.secondary_provider
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> SenderName {
        SenderName::parse(s).expect("valid sender name")
    }

    #[test]
    fn sender_name_length_is_3_to_11() {
        assert_eq!(SenderName::parse("ab"), Err(InvalidSenderName::Length(2)));
        assert!(SenderName::parse("abc").is_ok());
        assert!(SenderName::parse("abcdefghijk").is_ok());
        assert_eq!(
            SenderName::parse("abcdefghijkl"),
            Err(InvalidSenderName::Length(12))
        );
        assert_eq!(SenderName::parse(""), Err(InvalidSenderName::Length(0)));
    }

    #[test]
    fn sender_name_charset_is_alphanumeric_dot_space() {
        assert!(SenderName::parse("Acme Co.").is_ok());
        assert!(SenderName::parse("A1.b2 C3").is_ok());
        for bad in [
            "Acme-Co",
            "Acme_Co",
            "Acmé",
            "Acme\nCo",
            "Acme\r\nBcc",
            "Acme\tCo",
            "Ac<me>",
        ] {
            assert_eq!(
                SenderName::parse(bad),
                Err(InvalidSenderName::Charset),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn providers_parse_by_id() {
        for p in SmsProvider::ALL {
            assert_eq!(SmsProvider::parse(p.id()), Ok(p));
        }
        assert!(SmsProvider::parse("SNS").is_err());
        assert!(SmsProvider::parse("carrier-pigeon").is_err());
    }

    #[test]
    fn same_primary_and_secondary_refused() {
        let err = SmsSettings::new(name("Acme"), SmsProvider::Twilio, Some(SmsProvider::Twilio))
            .expect_err("same provider twice");
        assert!(err.has("secondaryProvider"));
        assert!(
            SmsSettings::new(name("Acme"), SmsProvider::Twilio, Some(SmsProvider::Vonage)).is_ok()
        );
        assert!(SmsSettings::new(name("Acme"), SmsProvider::Twilio, None).is_ok());
    }

    #[test]
    fn provider_specific_sender_rules() {
        let spaced = name("Acme Co");
        let dotted = name("Acme.Co");
        let digits = name("12345");
        assert!(SmsProvider::Sns.rejects(&spaced).is_some());
        assert!(SmsProvider::Sns.rejects(&dotted).is_some());
        assert!(SmsProvider::Sns.rejects(&digits).is_some());
        assert!(SmsProvider::Twilio.rejects(&spaced).is_none());
        assert!(SmsProvider::Twilio.rejects(&dotted).is_some());
        assert!(SmsProvider::Vonage.rejects(&dotted).is_none());
        assert!(SmsProvider::Vonage.rejects(&digits).is_none());

        // The secondary provider must accept the name too: failover sends with it.
        let err = SmsSettings::new(dotted, SmsProvider::Vonage, Some(SmsProvider::Sns))
            .expect_err("sns rejects dots");
        assert!(err.to_string().contains("Amazon SNS"), "{err}");
    }

    #[test]
    fn custom_is_configured_exactly_when_it_is_chosen() {
        use crate::common::destination::AddressPolicy;
        use crate::messaging::custom::CustomEndpoint;
        let custom = || CustomProvider {
            url: CustomEndpoint::parse("https://sms.acme.example/", &AddressPolicy::default())
                .expect("valid"),
            signing_secret: (),
        };
        for (primary, secondary) in [
            (SmsProvider::Custom, None),
            (SmsProvider::Custom, Some(SmsProvider::Twilio)),
            (SmsProvider::Sns, Some(SmsProvider::Custom)),
        ] {
            let with =
                SmsSettings::with_custom_provider(name("Acme"), primary, secondary, Some(custom()));
            assert!(with.is_ok(), "{primary} {secondary:?}");
            let without =
                SmsSettings::<()>::with_custom_provider(name("Acme"), primary, secondary, None)
                    .expect_err("missing");
            assert!(without.has("customProvider"));
        }
        let unused = SmsSettings::with_custom_provider(
            name("Acme"),
            SmsProvider::Twilio,
            None,
            Some(custom()),
        )
        .expect_err("not chosen");
        assert!(unused.has("customProvider"));
        // Herald's own rule is the account's provider's.
        assert!(SmsProvider::Custom.rejects(&name("Acme. Co")).is_none());
        let same = SmsSettings::with_custom_provider(
            name("Acme"),
            SmsProvider::Custom,
            Some(SmsProvider::Custom),
            Some(custom()),
        )
        .expect_err("same twice");
        assert!(same.has("secondaryProvider"));
    }

    #[test]
    fn stored_settings_are_revalidated_on_read() {
        let bad = serde_json::json!({"senderName": "x", "primaryProvider": "sns", "secondaryProvider": null});
        assert!(serde_json::from_value::<SmsSettings>(bad).is_err());
        let same = serde_json::json!({"senderName": "Acme", "primaryProvider": "sns", "secondaryProvider": "sns"});
        assert!(serde_json::from_value::<SmsSettings>(same).is_err());
    }
}
