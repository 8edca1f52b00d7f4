//! The account's own SMTP server, through lettre: port 465 with implicit TLS, 587 with STARTTLS
//! required, 25 with STARTTLS when the server offers it. Certificates are validated unless the
//! account disabled it. Auth: none, PLAIN/LOGIN with a password, or XOAUTH2 with a token from
//! the account's token endpoint.

mod token;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::{Value, json};

use crate::adapters::connect::{self, Lookup, ResolveError};
use crate::adapters::mime::mime;
use crate::adapters::smtp::token::TokenCache;
use crate::common::destination::AddressPolicy;
use crate::common::destination::excerpt::excerpt;
use crate::common::secret::{SealedSecret, Secret};
use crate::messaging::email::{SmtpAuth, SmtpPort, SmtpSettings};
use crate::messaging::senders::email::{OutgoingEmail, SmtpSender};
use crate::messaging::senders::{Accepted, Failure};

const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

pub struct SmtpMailer {
    tokens: TokenCache,
    policy: AddressPolicy,
    lookup: Arc<Lookup>,
    port_map: Vec<(u16, u16)>,
}

fn failure(e: &lettre::transport::smtp::Error) -> Failure {
    let code = e.status().map(|c| c.to_string());
    let response = json!({"code": code});
    // The whole chain: a certificate problem surfaces as the source of a connection error.
    let chain = crate::error_chain(e);
    // The server is the account's: what it said is kept short.
    let reason = format!("SMTP: {}", excerpt(&chain));
    if e.is_permanent() || e.is_tls() || chain.contains("certificate") {
        // A 5xx answer, or a certificate that does not validate: retrying changes nothing.
        Failure::permanent(reason, code, response)
    } else {
        Failure::temporary(reason, code, response)
    }
}

impl SmtpMailer {
    /// `port_map` redirects the standard ports (`25 → 2525`), for local stacks where the
    /// privileged ports are not available; deployments leave it empty.
    pub fn new(
        policy: AddressPolicy,
        lookup: Arc<Lookup>,
        port_map: Vec<(u16, u16)>,
    ) -> reqwest::Result<Self> {
        Ok(Self {
            tokens: TokenCache::new(policy.clone(), lookup.clone())?,
            policy,
            lookup,
            port_map,
        })
    }

    /// The address to connect to: the host resolved once, every address checked against the
    /// policy, the first that passed. lettre then connects to that address, and TLS still
    /// verifies the certificate against the host name.
    async fn address(&self, host: &str) -> Result<String, Failure> {
        match connect::resolve(host, &self.policy, &*self.lookup).await {
            Ok(ips) => Ok(ips[0].to_string()),
            Err(ResolveError::Blocked(b)) => {
                Err(Failure::permanent(format!("SMTP: {b}"), None, Value::Null))
            }
            Err(e) => Err(Failure::temporary(format!("SMTP: {e}"), None, Value::Null)),
        }
    }

    fn port_for(&self, settings: &SmtpSettings<SealedSecret>) -> u16 {
        let port = settings.port.number();
        self.port_map
            .iter()
            .find(|(from, _)| *from == port)
            .map_or(port, |(_, to)| *to)
    }
}

#[async_trait]
impl SmtpSender for SmtpMailer {
    /// Sends through the server of `settings`; `secret` is its auth's secret, opened.
    async fn send(
        &self,
        settings: &SmtpSettings<SealedSecret>,
        secret: Option<&Secret>,
        email: &OutgoingEmail,
    ) -> Result<Accepted, Failure> {
        let host = settings.host.as_str();
        let insecure = settings.disable_certificate_validation;
        let tls = TlsParameters::builder(host.to_owned())
            .dangerous_accept_invalid_certs(insecure)
            .dangerous_accept_invalid_hostnames(insecure)
            .build_rustls()
            .map_err(|e| failure(&e))?;
        let tls = match settings.port {
            SmtpPort::P465 => Tls::Wrapper(tls),
            SmtpPort::P587 => Tls::Required(tls),
            SmtpPort::P25 => Tls::Opportunistic(tls),
        };
        let address = self.address(host).await?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address)
            .port(self.port_for(settings))
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        let missing = || Failure::permanent("the SMTP secret is missing", None, Value::Null);
        match &settings.auth {
            SmtpAuth::None => {}
            SmtpAuth::Basic { username, .. } => {
                let password = secret.ok_or_else(missing)?;
                builder = builder
                    .credentials(Credentials::new(
                        username.as_str().to_owned(),
                        password.expose().to_owned(),
                    ))
                    .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            }
            SmtpAuth::Xoauth2 {
                client_id,
                scopes,
                token_endpoint,
                ..
            } => {
                let client_secret = secret.ok_or_else(missing)?;
                let token = self
                    .tokens
                    .token(token_endpoint, client_id, client_secret, scopes)
                    .await?;
                // XOAUTH2 authenticates as the mailbox that sends.
                builder = builder
                    .credentials(Credentials::new(
                        settings.sender_address.to_string(),
                        token.expose().to_owned(),
                    ))
                    .authentication(vec![Mechanism::Xoauth2]);
            }
        }
        let message = mime(email)?;
        let response = builder
            .build()
            .send(message)
            .await
            .map_err(|e| failure(&e))?;
        let text = excerpt(&response.message().collect::<Vec<_>>().join(" "));
        Ok(Accepted {
            provider_message_id: text.clone(),
            response: json!({"code": response.code().to_string(), "message": text}),
        })
    }
}
