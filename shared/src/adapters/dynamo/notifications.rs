//! Notifications in one DynamoDB table with string keys `pk` and `sk`:
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | type | `a#{account}` | `type#{key}` |
//! | rule | `a#{account}` | `rule#{id}` |
//! | a recipient's preferences | `a#{account}` | `pref#{recipient}` |
//! | a first-occurrence key | `first#{account}#{digest}` | `-` |
//! | a log entry | `log#{account}` | `{notification id}` |
//! | a short link | `link#{code}` | `-` |
//! | a reminder series | `series#{account}#{key}` | `-` |
//!
//! An account's types and rules are one Query each (a notifier reads both per event that has
//! rules); preferences and first keys one GetItem or conditional PutItem; the log one Query per
//! page, newest first, its id sorting by the event's time so that a time range is a key
//! condition. Log entries and first keys carry `ttl` and are deleted after the retention; short
//! links, one GetItem per click, after they expire. A reminder series is one item that
//! acting and closing events change in place (an UpdateItem each, so that whichever event
//! comes first creates it); it goes with its TTL, the retention after its last reminder.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use crate::adapters::dynamo::{document, n, s, write_error};
use crate::common::account::AccountId;
use crate::common::store::StoreError;
use crate::notify::log::{LogQuery, NotificationId, NotificationRecord};
use crate::notify::preferences::Preferences;
use crate::notify::recipients::RecipientId;
use crate::notify::reminders::{ReminderSeries, ReminderStore, SeriesKey, SeriesMark};
use crate::notify::rules::{NotificationRule, RuleId};
use crate::notify::short_links::{ShortCode, ShortLink, ShortLinkStore};
use crate::notify::store::{FirstClaim, NotifyStore};
use crate::notify::types::{NotificationType, TypeKey};

pub struct DynamoNotifyStore {
    client: Client,
    table: String,
}

fn settings(account: &AccountId) -> AttributeValue {
    s(format!("a#{account}"))
}

fn log_partition(account: &AccountId) -> AttributeValue {
    s(format!("log#{account}"))
}

fn doc<T: serde::Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(v).map_err(StoreError::unavailable)
}

impl DynamoNotifyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn corrupt(account: &AccountId, kind: &'static str) -> impl Fn(String) -> StoreError {
        move |reason| StoreError::Corrupt {
            account: account.clone(),
            kind,
            reason,
        }
    }

    /// Every item of the account's settings partition whose `sk` starts with `prefix`.
    async fn settings_items(
        &self,
        account: &AccountId,
        prefix: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", settings(account))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            out.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Writes one item of the account's settings partition, its record as `attribute`; with
    /// `new`, only if there is none at `sk` (else `PreconditionFailed`).
    async fn put_setting(
        &self,
        account: &AccountId,
        sk: String,
        attribute: &str,
        record: AttributeValue,
        new: bool,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", settings(account))
            .item("sk", s(sk))
            .item(attribute, record)
            .set_condition_expression(new.then(|| "attribute_not_exists(sk)".to_owned()))
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn delete(&self, pk: AttributeValue, sk: String) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", pk)
            .key("sk", s(sk))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    fn log_item(r: &NotificationRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let mut item = HashMap::from([
            ("pk".to_owned(), log_partition(&r.account_id)),
            ("sk".to_owned(), s(r.id.as_str())),
            ("ruleId".to_owned(), s(r.rule_id.as_str())),
            ("outcome".to_owned(), s(r.outcome.as_str())),
            ("ttl".to_owned(), n(r.expires_at.unix_timestamp())),
            ("record".to_owned(), doc(r)?),
        ]);
        if let Some(id) = &r.recipient_id {
            item.insert("recipientId".to_owned(), s(id.as_str()));
        }
        Ok(item)
    }
}

#[async_trait]
impl NotifyStore for DynamoNotifyStore {
    async fn types(&self, account: &AccountId) -> Result<Vec<NotificationType>, StoreError> {
        self.settings_items(account, "type#")
            .await?
            .into_iter()
            .map(|item| document(item, "type", Self::corrupt(account, "notification type")))
            .collect()
    }

    async fn put_type(
        &self,
        account: &AccountId,
        t: &NotificationType,
        new: bool,
    ) -> Result<(), StoreError> {
        self.put_setting(account, format!("type#{}", t.key), "type", doc(t)?, new)
            .await
    }

    async fn delete_type(&self, account: &AccountId, key: &TypeKey) -> Result<bool, StoreError> {
        self.delete(settings(account), format!("type#{key}")).await
    }

    async fn rules(&self, account: &AccountId) -> Result<Vec<NotificationRule>, StoreError> {
        self.settings_items(account, "rule#")
            .await?
            .into_iter()
            .map(|item| document(item, "rule", Self::corrupt(account, "notification rule")))
            .collect()
    }

    async fn put_rule(
        &self,
        account: &AccountId,
        rule: &NotificationRule,
    ) -> Result<(), StoreError> {
        self.put_setting(
            account,
            format!("rule#{}", rule.id),
            "rule",
            doc(rule)?,
            false,
        )
        .await
    }

    async fn delete_rule(&self, account: &AccountId, id: &RuleId) -> Result<bool, StoreError> {
        self.delete(settings(account), format!("rule#{id}")).await
    }

    async fn preferences(
        &self,
        account: &AccountId,
        recipient: &RecipientId,
    ) -> Result<Preferences, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", settings(account))
            .key("sk", s(format!("pref#{recipient}")))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        match out.item {
            Some(item) => document(item, "preferences", Self::corrupt(account, "preferences")),
            None => Ok(Preferences::none(recipient.clone())),
        }
    }

    async fn put_preferences(
        &self,
        account: &AccountId,
        preferences: &Preferences,
    ) -> Result<(), StoreError> {
        self.put_setting(
            account,
            format!("pref#{}", preferences.recipient_id),
            "preferences",
            doc(preferences)?,
            false,
        )
        .await
    }

    async fn claim_first(
        &self,
        account: &AccountId,
        key: &str,
        owner: &str,
        expires_at: OffsetDateTime,
    ) -> Result<FirstClaim, StoreError> {
        let pk = s(format!("first#{account}#{key}"));
        // Written unless held: by another owner whose claim has not expired (TTL deletes lag).
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", pk.clone())
            .item("sk", s("-"))
            .item("owner", s(owner))
            .item("ttl", n(expires_at.unix_timestamp()))
            .condition_expression("attribute_not_exists(pk) OR #owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await
            .map_err(write_error);
        match written {
            Ok(_) => Ok(FirstClaim::Mine),
            Err(StoreError::PreconditionFailed) => {
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", pk)
                    .key("sk", s("-"))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(StoreError::unavailable)?;
                let by = out
                    .item
                    .and_then(|mut i| i.remove("owner"))
                    .and_then(|v| v.as_s().ok().cloned())
                    .unwrap_or_default();
                Ok(FirstClaim::Taken { by })
            }
            Err(e) => Err(e),
        }
    }

    async fn begin(
        &self,
        record: &NotificationRecord,
    ) -> Result<Option<NotificationRecord>, StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::log_item(record)?))
            .condition_expression("attribute_not_exists(sk)")
            .send()
            .await
            .map_err(write_error);
        match written {
            Ok(_) => Ok(None),
            Err(StoreError::PreconditionFailed) => self.entry(&record.account_id, &record.id).await,
            Err(e) => Err(e),
        }
    }

    async fn finish(&self, record: &NotificationRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::log_item(record)?))
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn log(
        &self,
        account: &AccountId,
        query: &LogQuery,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        // The key condition takes the time range and the cursor; the other filters are a
        // filter expression, so a page may take more than one Query to fill.
        let mut upper: Option<String> = query
            .to
            .map(|t| NotificationId::lowest_at(t).as_str().to_owned());
        if let Some(after) = &query.after
            && upper.as_ref().is_none_or(|u| after.as_str() < u.as_str())
        {
            upper = Some(after.as_str().to_owned());
        }
        let lower = query
            .from
            .map(|t| NotificationId::lowest_at(t).as_str().to_owned())
            .unwrap_or_else(|| "n".to_owned());
        let mut filters = Vec::new();
        let mut values = HashMap::from([
            (":pk".to_owned(), log_partition(account)),
            (":lower".to_owned(), s(lower)),
        ]);
        let key = match &upper {
            Some(u) => {
                values.insert(":upper".to_owned(), s(u.clone()));
                "pk = :pk AND sk BETWEEN :lower AND :upper"
            }
            None => "pk = :pk AND sk >= :lower",
        };
        if let Some(rule) = &query.rule {
            filters.push("ruleId = :rule");
            values.insert(":rule".to_owned(), s(rule.as_str()));
        }
        if let Some(recipient) = &query.recipient {
            filters.push("recipientId = :recipient");
            values.insert(":recipient".to_owned(), s(recipient.as_str()));
        }
        if let Some(outcome) = query.outcome {
            filters.push("outcome = :outcome");
            values.insert(":outcome".to_owned(), s(outcome.as_str()));
        }
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(key)
                .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(false)
                .limit(i32::try_from(query.limit.max(1) * 2).unwrap_or(200))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for item in page.items.unwrap_or_default() {
                let r: NotificationRecord =
                    document(item, "record", Self::corrupt(account, "notification"))?;
                // BETWEEN includes its ends: the cursor's own entry is not repeated.
                if query.matches(&r) {
                    out.push(r);
                    if out.len() == query.limit {
                        return Ok(out);
                    }
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    async fn entry(
        &self,
        account: &AccountId,
        id: &NotificationId,
    ) -> Result<Option<NotificationRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", log_partition(account))
            .key("sk", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item
            .map(|item| document(item, "record", Self::corrupt(account, "notification")))
            .transpose()
    }
}

#[async_trait]
impl ShortLinkStore for DynamoNotifyStore {
    async fn put_all(&self, links: &[ShortLink]) -> Result<(), StoreError> {
        // Conditional, one by one: a message carries a few links, and a code is never reused.
        for link in links {
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(format!("link#{}", link.code)))
                .item("sk", s("-"))
                .item("link", doc(link)?)
                .item("ttl", n(link.expires_at.unix_timestamp()))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
                .map_err(write_error)?;
        }
        Ok(())
    }

    async fn get(&self, code: &ShortCode) -> Result<Option<ShortLink>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("link#{code}")))
            .key("sk", s("-"))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item
            .map(|item| {
                document(item, "link", |reason| StoreError::Unreadable {
                    kind: "short link",
                    key: code.to_string(),
                    reason,
                })
            })
            .transpose()
    }
}

fn series_key(account: &AccountId, key: &SeriesKey) -> AttributeValue {
    s(format!("series#{account}#{key}"))
}

impl DynamoNotifyStore {
    /// One UpdateItem on a series: `extra` is the clause that differs (keeping the event,
    /// adding who acted, closing), the rest names the series whichever event comes first.
    async fn update_series(
        &self,
        blank: &ReminderSeries,
        (extra, name, values): (&str, &str, Vec<(&str, AttributeValue)>),
    ) -> Result<ReminderSeries, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", series_key(&blank.account_id, &blank.key))
            .key("sk", s("-"))
            .update_expression(format!(
                "SET #rule = :rule, #subject = :subject, #ttl = if_not_exists(#ttl, :ttl){extra}"
            ))
            .expression_attribute_names("#rule", "rule")
            .expression_attribute_names("#subject", "subject")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_names(format!("#{name}"), name)
            .expression_attribute_values(":rule", s(blank.rule_id.as_str()))
            .expression_attribute_values(":subject", s(&blank.subject))
            .expression_attribute_values(":ttl", n(blank.expires_at.unix_timestamp()))
            .return_values(ReturnValue::AllNew);
        for (placeholder, value) in values {
            update = update.expression_attribute_values(placeholder, value);
        }
        let out = update.send().await.map_err(write_error)?;
        Self::series_of(
            &blank.account_id,
            &blank.key,
            out.attributes.unwrap_or_default(),
        )
    }

    fn series_of(
        account: &AccountId,
        key: &SeriesKey,
        mut item: HashMap<String, AttributeValue>,
    ) -> Result<ReminderSeries, StoreError> {
        let corrupt = Self::corrupt(account, "reminder series");
        let mut text = |name: &str| item.remove(name).and_then(|v| v.as_s().ok().cloned());
        let rule_id = text("rule")
            .and_then(|r| crate::notify::rules::RuleId::parse(&r).ok())
            .ok_or_else(|| corrupt("no rule".into()))?;
        let subject = text("subject").ok_or_else(|| corrupt("no subject".into()))?;
        let event = text("event")
            .filter(|e| !e.is_empty())
            .map(|e| serde_json::from_str(&e).map_err(|e| corrupt(e.to_string())))
            .transpose()?;
        let closed_at = text("closedAt")
            .map(|t| {
                OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| corrupt(e.to_string()))
            })
            .transpose()?;
        let acted = item
            .remove("acted")
            .and_then(|v| v.as_ss().ok().cloned())
            .unwrap_or_default()
            .into_iter()
            .collect();
        let expires_at = item
            .remove("ttl")
            .and_then(|v| v.as_n().ok().and_then(|n| n.parse::<i64>().ok()))
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or_else(|| corrupt("no ttl".into()))?;
        Ok(ReminderSeries {
            account_id: account.clone(),
            key: key.clone(),
            rule_id,
            subject,
            event,
            acted,
            closed_at,
            expires_at,
        })
    }
}

#[async_trait]
impl ReminderStore for DynamoNotifyStore {
    async fn open_series(&self, series: &ReminderSeries) -> Result<ReminderSeries, StoreError> {
        let event = series
            .event
            .as_ref()
            .map(|e| serde_json::to_string(e).expect("JSON serialises"))
            .unwrap_or_default();
        self.update_series(
            series,
            (
                ", #event = if_not_exists(#event, :event)",
                "event",
                vec![(":event", s(event))],
            ),
        )
        .await
    }

    async fn mark_series(
        &self,
        blank: &ReminderSeries,
        mark: &SeriesMark,
    ) -> Result<ReminderSeries, StoreError> {
        match mark {
            SeriesMark::Acted(who) => {
                self.update_series(
                    blank,
                    (
                        " ADD #acted :who",
                        "acted",
                        vec![(":who", AttributeValue::Ss(vec![who.clone()]))],
                    ),
                )
                .await
            }
            SeriesMark::Closed(at) => {
                let at = at
                    .format(&time::format_description::well_known::Rfc3339)
                    .map_err(StoreError::unavailable)?;
                self.update_series(
                    blank,
                    (
                        ", #closedAt = if_not_exists(#closedAt, :at)",
                        "closedAt",
                        vec![(":at", s(at))],
                    ),
                )
                .await
            }
        }
    }

    async fn series(
        &self,
        account: &AccountId,
        key: &SeriesKey,
    ) -> Result<Option<ReminderSeries>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", series_key(account, key))
            .key("sk", s("-"))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item
            .map(|item| Self::series_of(account, key, item))
            .transpose()
    }
}
