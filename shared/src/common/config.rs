//! Configuration from the environment, parsed and checked once at cold start. Every problem is
//! reported at once, each naming its variable, so a bad deployment fails with a clear message.

use crate::messaging::email::{DisplayName, DomainName, LocalPart};
use crate::messaging::sms::{SenderName, SmsProvider};

/// Every invalid or missing variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.iter().map(|(k, m)| format!("{k}: {m}")).collect::<Vec<_>>().join("; "))]
pub struct ConfigError(pub Vec<(String, String)>);

/// Reads variables through a lookup function (the process environment, or a map in tests),
/// collecting problems.
pub struct EnvReader<F> {
    lookup: F,
    problems: Vec<(String, String)>,
}

impl EnvReader<fn(&str) -> Option<String>> {
    /// A reader of these variables alone, for tests of configuration.
    #[cfg(test)]
    pub fn of(
        vars: &'static [(&'static str, &'static str)],
    ) -> EnvReader<impl Fn(&str) -> Option<String>> {
        EnvReader::new(move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    pub fn from_process() -> Self {
        Self::new(|name| std::env::var(name).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> EnvReader<F> {
    pub fn new(lookup: F) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn problem(&mut self, name: &str, message: impl Into<String>) {
        self.problems.push((name.to_owned(), message.into()));
    }

    /// A variable that must be set and non-empty.
    pub fn required(&mut self, name: &str) -> String {
        self.get(name).unwrap_or_else(|| {
            self.problem(name, "is required");
            String::new()
        })
    }

    pub fn optional(&mut self, name: &str) -> Option<String> {
        self.get(name)
    }

    /// A variable parsed by `parse`, or `default` when unset.
    pub fn parsed<T, E: std::fmt::Display>(
        &mut self,
        name: &str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let raw = self.get(name).unwrap_or_else(|| default.to_owned());
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(name, format!("{raw:?} {e}"));
                None
            }
        }
    }

    pub fn flag(&mut self, name: &str) -> bool {
        self.parsed(name, "false", |s| match s {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("must be true or false"),
        })
        .unwrap_or(false)
    }

    /// Ends reading: `Ok(value)` when every variable was good.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ConfigError> {
        match value {
            Some(v) if self.problems.is_empty() => Ok(v),
            _ => Err(ConfigError(self.problems)),
        }
    }
}

/// What the operator sets for the whole platform: the defaults accounts start from and the
/// providers they may choose.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// The SMS providers the operator has credentials for, the first being the default primary.
    pub sms_providers: Vec<SmsProvider>,
    pub default_sms_sender: SenderName,
    pub default_email_sender_name: DisplayName,
    pub default_from_address_prefix: LocalPart,
    pub default_email_domain: DomainName,
    /// Where Herald may connect on an account's behalf (webhooks, token endpoints, SMTP hosts).
    pub destinations: crate::common::destination::AddressPolicy,
}

impl PlatformConfig {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &mut EnvReader<F>) -> Option<Self> {
        let providers = env.parsed("HERALD_SMS_PROVIDERS", "sns", parse_providers);
        let sender = env.parsed("HERALD_DEFAULT_SMS_SENDER", "Herald", SenderName::parse);
        let sender_name = env.parsed(
            "HERALD_DEFAULT_EMAIL_SENDER_NAME",
            "Herald",
            DisplayName::parse,
        );
        let prefix = env.parsed("HERALD_DEFAULT_FROM_PREFIX", "noreply", LocalPart::parse);
        let domain = env.required("HERALD_DEFAULT_EMAIL_DOMAIN");
        let domain = match DomainName::parse(&domain) {
            Ok(d) => Some(d),
            Err(e) if !domain.is_empty() => {
                env.problem("HERALD_DEFAULT_EMAIL_DOMAIN", e.to_string());
                None
            }
            Err(_) => None,
        };
        let destinations = crate::common::destination::AddressPolicy::read(env);
        let (providers, sender) = (providers?, sender?);
        // The default sender must be one every offered provider accepts, or accounts on the
        // defaults could not send at all.
        for p in &providers {
            if let Some(why) = p.rejects(&sender) {
                env.problem("HERALD_DEFAULT_SMS_SENDER", why);
            }
        }
        Some(Self {
            sms_providers: providers,
            default_sms_sender: sender,
            default_email_sender_name: sender_name?,
            default_from_address_prefix: prefix?,
            default_email_domain: domain?,
            destinations: destinations?,
        })
    }
}

/// Credentials of the SMS providers the operator offers (Amazon SNS needs none: it uses the
/// function's role). Their secret parts are not here but in Secrets Manager, in the secret
/// `secrets` names (see [`crate::messaging::provider_secrets`]).
#[derive(Debug, Clone)]
pub struct ProviderCredentials {
    pub twilio: Option<TwilioCredentials>,
    pub vonage: Option<VonageCredentials>,
    /// The secret holding Twilio's and Vonage's secrets (`HERALD_PROVIDER_SECRETS`, its ARN
    /// or name); set whenever either is offered.
    pub secrets: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TwilioCredentials {
    pub base_url: String,
    pub account_sid: String,
}

#[derive(Debug, Clone)]
pub struct VonageCredentials {
    pub base_url: String,
    pub api_key: String,
}

impl ProviderCredentials {
    /// Reads the credentials of every offered provider; a missing one names its variable.
    pub fn read<F: Fn(&str) -> Option<String>>(
        env: &mut EnvReader<F>,
        offered: &[SmsProvider],
    ) -> Self {
        let twilio = offered.contains(&SmsProvider::Twilio).then(|| {
            let base_url = env
                .optional("HERALD_TWILIO_BASE_URL")
                .unwrap_or_else(|| "https://api.twilio.com".into());
            let account_sid = env.required("HERALD_TWILIO_ACCOUNT_SID");
            TwilioCredentials {
                base_url,
                account_sid,
            }
        });
        let vonage = offered.contains(&SmsProvider::Vonage).then(|| {
            let base_url = env
                .optional("HERALD_VONAGE_BASE_URL")
                .unwrap_or_else(|| "https://rest.nexmo.com".into());
            let api_key = env.required("HERALD_VONAGE_API_KEY");
            VonageCredentials { base_url, api_key }
        });
        let secrets =
            (twilio.is_some() || vonage.is_some()).then(|| env.required("HERALD_PROVIDER_SECRETS"));
        Self {
            twilio,
            vonage,
            secrets,
        }
    }
}

fn parse_providers(s: &str) -> Result<Vec<SmsProvider>, String> {
    let mut out: Vec<SmsProvider> = Vec::new();
    for id in s.split(',').map(str::trim) {
        let p = SmsProvider::parse(id).map_err(|e| e.to_string())?;
        if p == SmsProvider::Custom {
            return Err(
                "lists custom, which is each account's own provider and needs no offering".into(),
            );
        }
        if out.contains(&p) {
            return Err(format!("lists {id} twice"));
        }
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<PlatformConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut env = EnvReader::new(move |k: &str| map.get(k).cloned());
        let cfg = PlatformConfig::read(&mut env);
        env.finish(cfg)
    }

    #[test]
    fn defaults_apply() {
        let cfg = read(&[("HERALD_DEFAULT_EMAIL_DOMAIN", "mail.example.com")]).expect("valid");
        assert_eq!(cfg.sms_providers, vec![SmsProvider::Sns]);
        assert_eq!(cfg.default_sms_sender.as_str(), "Herald");
        assert_eq!(
            cfg.destinations,
            crate::common::destination::AddressPolicy::default()
        );
    }

    #[test]
    fn every_problem_names_its_variable() {
        let err = read(&[
            ("HERALD_SMS_PROVIDERS", "sns,pigeon"),
            ("HERALD_DESTINATION_ALLOW_HTTP", "yes"),
        ])
        .expect_err("invalid");
        let vars: Vec<&str> = err.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            vars,
            [
                "HERALD_SMS_PROVIDERS",
                "HERALD_DEFAULT_EMAIL_DOMAIN",
                "HERALD_DESTINATION_ALLOW_HTTP"
            ]
        );
    }

    #[test]
    fn accounts_own_providers_are_not_the_operators_to_offer() {
        let err = read(&[
            ("HERALD_DEFAULT_EMAIL_DOMAIN", "mail.example.com"),
            ("HERALD_SMS_PROVIDERS", "twilio,custom"),
        ])
        .expect_err("custom is not offered");
        assert!(err.to_string().contains("HERALD_SMS_PROVIDERS"), "{err}");
    }

    #[test]
    fn default_sender_must_suit_every_provider() {
        let err = read(&[
            ("HERALD_DEFAULT_EMAIL_DOMAIN", "mail.example.com"),
            ("HERALD_SMS_PROVIDERS", "twilio,sns"),
            ("HERALD_DEFAULT_SMS_SENDER", "Acme Co"),
        ])
        .expect_err("sns rejects spaces");
        assert!(
            err.to_string().contains("HERALD_DEFAULT_SMS_SENDER"),
            "{err}"
        );
    }
}
