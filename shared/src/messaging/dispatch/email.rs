//! Email dispatch: through the account's own SMTP server or its own provider when it set one,
//! else through SES from `senderName <prefix@domain>`. A temporary failure is retried by the
//! queue until the attempts run out; a permanent one is final at once.

use std::sync::Arc;
use std::time::Instant;

use crate::common::clock::Clock;
use crate::common::config::PlatformConfig;
use crate::common::seal::SecretSealer;
use crate::domains::store::DomainStore;
use crate::messaging::dispatch::SendJob;
use crate::messaging::email::{EmailAddress, EmailRoute, EmailSettings};
use crate::messaging::log::{Content, MessageLog};
use crate::messaging::message::MessageStatus;
use crate::messaging::senders::FailureKind;
use crate::messaging::senders::custom::CustomProviderClient;
use crate::messaging::senders::email::{EmailSender, OutgoingEmail, SmtpSender};
use crate::messaging::settings::Settings;

use crate::messaging::dispatch::{Attempt, DispatchError, Outcome};

pub struct EmailDispatcher {
    pub log: Arc<dyn MessageLog>,
    pub settings: Settings,
    pub sealer: Arc<dyn SecretSealer>,
    pub ses: Arc<dyn EmailSender>,
    pub smtp: Arc<dyn SmtpSender>,
    /// Accounts' own providers.
    pub custom: Arc<dyn CustomProviderClient>,
    /// The account's sending domain in use, if any, replaces the platform's default domain.
    pub domains: Arc<dyn DomainStore>,
    /// `email.sent` and `email.failed` go here.
    pub events: crate::events::publish::EventPublisher,
    pub clock: Arc<dyn Clock>,
    pub platform: PlatformConfig,
    pub max_receives: u32,
}

impl EmailDispatcher {
    pub async fn dispatch(
        &self,
        job: &SendJob,
        receive_count: u32,
    ) -> Result<Outcome, DispatchError> {
        let now = self.clock.now();
        let mut record = match crate::messaging::dispatch::load(self.log.as_ref(), job, now).await?
        {
            crate::messaging::dispatch::Loaded::Ready(record) => *record,
            crate::messaging::dispatch::Loaded::Done(outcome) => return Ok(outcome),
        };
        let Content::Email(email) = record.message.clone() else {
            tracing::error!(message = %job.message_id, "an email job names an SMS");
            return Ok(Outcome::Skipped);
        };
        if !crate::messaging::dispatch::claim(self.log.as_ref(), &mut record, now).await? {
            return Ok(Outcome::Retry);
        }
        let settings = self.settings.email(&job.account_id).await?.settings;
        let settings = settings.unwrap_or_else(|| EmailSettings {
            from_address_prefix: self.platform.default_from_address_prefix.clone(),
            sender_name: self.platform.default_email_sender_name.clone(),
            route: None,
        });
        let mut outgoing = OutgoingEmail {
            account_id: job.account_id.as_str().to_owned(),
            message_id: job.message_id.as_str().to_owned(),
            from_name: settings.sender_name.as_str().to_owned(),
            from: EmailAddress::new(
                settings.from_address_prefix.clone(),
                self.platform.default_email_domain.clone(),
            ),
            to: email.to.clone(),
            reply_to: email.reply_to.clone(),
            subject: email.subject.as_str().to_owned(),
            text: email.text.as_ref().map(|t| t.as_str().to_owned()),
            html: email.html.as_ref().map(|h| h.as_str().to_owned()),
            list_unsubscribe: email.list_unsubscribe.clone(),
        };
        let started = Instant::now();
        let (provider, result) = match &settings.route {
            Some(EmailRoute::Smtp(smtp)) => {
                // The account's server: its sender address, unless the request names another
                // and the address is not locked.
                outgoing.from = match (&email.from, smtp.sender_locked) {
                    (Some(from), false) => from.clone(),
                    _ => smtp.sender_address.clone(),
                };
                let secret = match smtp.auth.secret() {
                    Some(sealed) => Some(self.sealer.open(&job.account_id, sealed).await?),
                    None => None,
                };
                (
                    "smtp",
                    self.smtp.send(smtp, secret.as_ref(), &outgoing).await,
                )
            }
            Some(EmailRoute::Custom(custom)) => {
                // The account's provider sends from what the request names, else from the
                // account's default sender.
                outgoing.from = match &email.from {
                    Some(from) => from.clone(),
                    None => self.default_from(&job.account_id, outgoing.from).await?,
                };
                let body = crate::messaging::senders::custom::email_body(&outgoing);
                let sent = crate::messaging::senders::custom::deliver(
                    self.custom.as_ref(),
                    self.sealer.as_ref(),
                    &job.account_id,
                    custom,
                    job.message_id.as_str(),
                    body,
                    now,
                )
                .await?;
                (crate::messaging::custom::PROVIDER, sent)
            }
            None => {
                outgoing.from = self.default_from(&job.account_id, outgoing.from).await?;
                // SES sends only from the platform's (or the account's verified) domain.
                if let Some(from) = email
                    .from
                    .as_ref()
                    .filter(|f| f.domain() == outgoing.from.domain())
                {
                    outgoing.from = from.clone();
                }
                ("ses", self.ses.send(&outgoing).await)
            }
        };
        // The log shows who the message came from, whether asked for or the default.
        if let Content::Email(logged) = &mut record.message {
            logged.from = Some(outgoing.from.clone());
        }
        let mut attempt = Attempt::started(provider, None, now);
        attempt.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        crate::messaging::dispatch::settle(&mut attempt, &result);
        let now = self.clock.now();
        record.claimed_until = None;
        record.push_attempt(attempt);
        let reason = result.as_ref().err().map(|f| f.reason.clone());
        let outcome = match result {
            Ok(_) => {
                record.sent_via = Some(provider.to_owned());
                if provider == "smtp" {
                    record.tracking = Some(
                        "sent through the account's SMTP server, which reports no delivery: sent is final"
                            .into(),
                    );
                }
                if provider == crate::messaging::custom::PROVIDER {
                    record.tracking = Some(crate::messaging::custom::TRACKING.to_owned());
                }
                record.set_status(MessageStatus::Sent, now, None);
                Outcome::Sent
            }
            Err(f) if f.kind == FailureKind::Temporary && receive_count < self.max_receives => {
                Outcome::Retry
            }
            // SES may have taken it: never sent again, so that it cannot arrive twice. SES's
            // own event notifications (they carry the message's tags) settle it if it did.
            Err(f) if f.kind == FailureKind::Unknown => {
                record.set_status(
                    MessageStatus::Failed,
                    now,
                    Some(format!("outcome unknown, not sent again: {}", f.reason)),
                );
                Outcome::Failed
            }
            Err(f) => {
                record.set_status(MessageStatus::Failed, now, Some(f.reason));
                Outcome::Failed
            }
        };
        record.next_attempt_at = crate::messaging::dispatch::next_attempt_at(&outcome, now);
        self.log.replace(&mut record).await?;
        tracing::info!(account = %job.account_id, message = %job.message_id, provider, outcome = ?outcome, reason, "email dispatched");
        if matches!(outcome, Outcome::Sent | Outcome::Failed) {
            crate::messaging::events::publish_status(&self.events, &record, reason, None, now)
                .await;
        }
        Ok(outcome)
    }

    /// The account's own verified domain, once put in use, is its default sender; else
    /// `platform`, the platform's.
    async fn default_from(
        &self,
        account: &crate::common::account::AccountId,
        platform: EmailAddress,
    ) -> Result<EmailAddress, DispatchError> {
        Ok(match self.domains.in_use(account).await? {
            Some(in_use) => {
                EmailAddress::new(in_use.prefix, in_use.domain.as_domain_name().clone())
            }
            None => platform,
        })
    }
}
