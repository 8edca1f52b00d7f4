//! `notify`: each event `webhook-fanout` forwards to the notifications queue is run through
//! the account's notification rules ([`crate::notify::notifier`]), its messages taken in as the
//! API takes them in.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use tokio::sync::OnceCell;

use crate::adapters::aws::Clients;
use crate::adapters::scheduler::EventBridgeScheduler;
use crate::common::config::{ConfigError, EnvReader};
use crate::common::secret::Secret;
use crate::events::publish::EventPublisher;
use crate::lambda::Error;
use crate::lambda::sqs_batch::{Delivery, run_batch};
use crate::messaging::accept::Intake;
use crate::notify::links::{LinkSigner, Links};
use crate::notify::notifier::{Notifier, Reminding};
use crate::notify::reminders::NotifyJob;
use crate::notify::short_links::{ShortLinkSettings, ShortLinkStore};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Notification types, rules, preferences and the notification log.
    pub notifications_table: String,
    /// The message log, where notifications' messages are taken in.
    pub messages_table: String,
    pub send_queue_url: String,
    /// Where notifications' own events are published.
    pub events_queue_url: String,
    /// How long log entries, first-occurrence keys and messages are kept: the message log's
    /// retention.
    pub retention: time::Duration,
    /// Herald's public URL, the base of recipients' links.
    pub public_api_url: Option<String>,
    /// The Secrets Manager secret holding the key that signs recipients' links.
    pub link_secret: Option<String>,
    /// Whether a channel is on when neither its type nor the recipient says.
    pub operator_default: bool,
    /// Where the `shorten` filter's links point (`HERALD_SHORT_LINK_BASE_URL`, else Herald's
    /// public URL and `/l`) and how long they work; none without either URL.
    pub short_links: Option<ShortLinkSettings>,
    /// Where reminders are scheduled; none without all three variables.
    pub reminders: Option<ReminderConfig>,
}

/// Reminders' schedules: their group, the queue they fire into (this function's own) and the
/// role Scheduler assumes to send there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderConfig {
    pub schedule_group: String,
    pub queue_arn: String,
    pub role_arn: String,
}

impl NotifyConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(EnvReader::from_process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(mut env: EnvReader<F>) -> Result<Self, ConfigError> {
        let notifications_table = env.required("HERALD_NOTIFICATIONS_TABLE");
        let messages_table = env.required("HERALD_MESSAGES_TABLE");
        let send_queue_url = env.required("HERALD_SEND_QUEUE_URL");
        let events_queue_url = env.required("HERALD_EVENTS_QUEUE_URL");
        let retention = env.parsed("HERALD_LOG_RETENTION_DAYS", "90", |s| {
            s.parse::<i64>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .map(time::Duration::days)
                .ok_or("must be a number of days from 1 to 3650")
        });
        let public_api_url = env
            .optional("HERALD_PUBLIC_API_URL")
            .map(|u| u.trim_end_matches('/').to_owned());
        let link_secret = env.optional("HERALD_LINK_SECRET_ARN");
        let operator_default = env.parsed(
            "HERALD_NOTIFICATIONS_DEFAULT_ON",
            "true",
            crate::notify::preferences::parse_default_on,
        );
        let short_link_base = env
            .optional("HERALD_SHORT_LINK_BASE_URL")
            .or_else(|| public_api_url.as_ref().map(|u| format!("{u}/l")));
        let short_link_days = env.parsed("HERALD_SHORT_LINK_DAYS", "90", |s| {
            s.parse::<i64>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .map(time::Duration::days)
                .ok_or("must be a number of days from 1 to 3650")
        });
        let reminders = match (
            env.optional("HERALD_REMINDER_SCHEDULE_GROUP"),
            env.optional("HERALD_NOTIFICATIONS_QUEUE_ARN"),
            env.optional("HERALD_REMINDER_ROLE_ARN"),
        ) {
            (Some(schedule_group), Some(queue_arn), Some(role_arn)) => Some(ReminderConfig {
                schedule_group,
                queue_arn,
                role_arn,
            }),
            _ => None,
        };
        let config = retention.zip(operator_default).zip(short_link_days).map(
            |((retention, operator_default), lifetime)| Self {
                short_links: short_link_base.map(|base_url| ShortLinkSettings {
                    base_url: base_url.trim_end_matches('/').to_owned(),
                    lifetime,
                }),
                reminders,
                notifications_table,
                messages_table,
                send_queue_url,
                events_queue_url,
                retention,
                public_api_url,
                link_secret,
                operator_default,
            },
        );
        env.finish(config)
    }

    /// The notifier over DynamoDB and SQS, signing links with `links`.
    pub fn notifier(&self, aws: &Clients, links: Option<Links>) -> Notifier {
        use crate::adapters::dynamo::message_log::DynamoMessageLog;
        use crate::adapters::dynamo::notifications::DynamoNotifyStore;
        use crate::adapters::sqs::SqsQueue;

        let dynamo = aws.dynamo();
        let sqs = aws.sqs();
        Notifier {
            store: Arc::new(DynamoNotifyStore::new(
                dynamo.clone(),
                &self.notifications_table,
            )),
            intake: Intake {
                messages: Arc::new(DynamoMessageLog::new(dynamo, &self.messages_table)),
                send_queue: Arc::new(SqsQueue::new(sqs.clone(), &self.send_queue_url)),
            },
            events: EventPublisher::new(Arc::new(SqsQueue::new(sqs, &self.events_queue_url))),
            links,
            operator_default: self.operator_default,
            retention: self.retention,
            short_links: self.short_links.clone().map(|settings| {
                let store: Arc<dyn ShortLinkStore> = Arc::new(DynamoNotifyStore::new(
                    aws.dynamo(),
                    &self.notifications_table,
                ));
                (store, settings)
            }),
            reminders: self.reminders.as_ref().map(|r| Reminding {
                store: Arc::new(DynamoNotifyStore::new(
                    aws.dynamo(),
                    &self.notifications_table,
                )),
                scheduler: Arc::new(EventBridgeScheduler::new(
                    aws.scheduler(),
                    &r.schedule_group,
                    &r.queue_arn,
                    &r.role_arn,
                )),
            }),
        }
    }

    /// Recipients' links, where both Herald's public URL and the link key are configured: the
    /// key read from Secrets Manager.
    pub async fn links(&self, aws: &Clients) -> Result<Option<Links>, Error> {
        let (Some(base_url), Some(secret_id)) = (&self.public_api_url, &self.link_secret) else {
            return Ok(None);
        };
        let out = aws
            .secrets_manager()
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading the link key ({secret_id}): {}",
                    aws_sdk_secretsmanager::Error::from(e)
                )
            })?;
        let key = out
            .secret_string()
            .and_then(|s| Secret::parse(s.trim()).ok())
            .ok_or_else(|| format!("the link key ({secret_id}) holds no usable string"))?;
        let signer =
            LinkSigner::new(key).map_err(|e| format!("the link key ({secret_id}): {e}"))?;
        Ok(Some(Links {
            signer,
            base_url: base_url.clone(),
        }))
    }
}

/// `notify`: each event becomes the notifications its account's rules make of it. The link
/// key is read once per instance, by its first batch; a failed read is not kept, so the next
/// batch tries again.
pub struct Notify {
    config: NotifyConfig,
    aws: Clients,
    notifier: OnceCell<Notifier>,
}

impl Notify {
    pub async fn from_env() -> Result<Self, Error> {
        let config = NotifyConfig::from_env()?;
        let aws = crate::adapters::aws::clients().await;
        Ok(Self {
            config,
            aws,
            notifier: OnceCell::new(),
        })
    }

    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
        let notifier = self
            .notifier
            .get_or_try_init(|| async {
                let links = self.config.links(&self.aws).await?;
                Ok::<_, Error>(self.config.notifier(&self.aws, links))
            })
            .await?;
        Ok(run_batch(event, |d: Delivery<NotifyJob>| async move {
            let now = time::OffsetDateTime::now_utc();
            match &d.job {
                NotifyJob::Event(event) => match notifier.handle(event, now).await {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::error!(account = %event.account_id(), event = %event.id(), error = %e, "notifications failed; will retry");
                        false
                    }
                },
                NotifyJob::Reminder { reminder } => match notifier.remind(reminder, now).await {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::error!(account = %reminder.account_id, series = %reminder.series, number = reminder.number, error = %e, "reminder failed; will retry");
                        false
                    }
                },
            }
        })
        .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(
        vars: &'static [(&'static str, &'static str)],
    ) -> EnvReader<impl Fn(&str) -> Option<String>> {
        EnvReader::of(vars)
    }

    const BASE: [(&str, &str); 4] = [
        ("HERALD_NOTIFICATIONS_TABLE", "notifications"),
        ("HERALD_MESSAGES_TABLE", "messages"),
        ("HERALD_SEND_QUEUE_URL", "http://q/send"),
        ("HERALD_EVENTS_QUEUE_URL", "http://q/events"),
    ];

    #[test]
    fn defaults() {
        let config = NotifyConfig::read(env(&BASE)).expect("valid");
        assert_eq!(config.retention, time::Duration::days(90));
        assert!(config.operator_default);
        assert_eq!(config.public_api_url, None);
        assert_eq!(config.link_secret, None);
    }

    #[test]
    fn every_variable() {
        static VARS: [(&str, &str); 8] = [
            BASE[0],
            BASE[1],
            BASE[2],
            BASE[3],
            ("HERALD_LOG_RETENTION_DAYS", "30"),
            ("HERALD_PUBLIC_API_URL", "https://herald.example.com/"),
            (
                "HERALD_LINK_SECRET_ARN",
                "arn:aws:secretsmanager:eu-west-1:1:secret:links",
            ),
            ("HERALD_NOTIFICATIONS_DEFAULT_ON", "false"),
        ];
        let config = NotifyConfig::read(env(&VARS)).expect("valid");
        assert_eq!(config.retention, time::Duration::days(30));
        assert!(!config.operator_default);
        assert_eq!(
            config.public_api_url.as_deref(),
            Some("https://herald.example.com")
        );
        assert_eq!(
            config.link_secret.as_deref(),
            Some("arn:aws:secretsmanager:eu-west-1:1:secret:links")
        );
    }

    #[test]
    fn every_bad_variable_is_named() {
        static VARS: [(&str, &str); 2] = [
            ("HERALD_LOG_RETENTION_DAYS", "0"),
            ("HERALD_NOTIFICATIONS_DEFAULT_ON", "maybe"),
        ];
        let e = NotifyConfig::read(env(&VARS)).expect_err("invalid");
        let names: Vec<&str> = e.0.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "HERALD_NOTIFICATIONS_TABLE",
            "HERALD_MESSAGES_TABLE",
            "HERALD_SEND_QUEUE_URL",
            "HERALD_EVENTS_QUEUE_URL",
            "HERALD_LOG_RETENTION_DAYS",
            "HERALD_NOTIFICATIONS_DEFAULT_ON",
        ] {
            assert!(names.contains(&expected), "{names:?}");
        }
    }
}
