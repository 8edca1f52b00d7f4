//! What EventBridge Scheduler does with the template's schedule groups, done locally: every
//! one-time schedule (`at(...)`) in them fires when it falls due, sending its input to its
//! target queue, and is then deleted, as `ActionAfterCompletion: DELETE` asks. moto keeps the
//! schedules (the functions create and delete them through the real API); this loop is the
//! part of Scheduler moto does not run.
//!
//! Due by a clock that can be moved: `POST /_clock {"advanceSeconds": n}` moves it for every
//! schedule, and with `"accountId"` for that account's schedules only (the account named in
//! the schedule's input), so that tests running side by side do not move each other's time.
//! `GET /_clock` says where it stands.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::pump::log;

/// How far ahead of the real time schedules are judged: for everyone, and per account.
#[derive(Clone, Default)]
pub struct Clock {
    moved: Arc<Mutex<(i64, HashMap<String, i64>)>>,
}

impl Clock {
    /// The time schedules of `account` are judged by.
    pub fn now(&self, account: Option<&str>) -> OffsetDateTime {
        let moved = self.moved.lock().expect("not poisoned");
        let own = account.and_then(|a| moved.1.get(a)).copied().unwrap_or(0);
        OffsetDateTime::now_utc() + time::Duration::seconds(moved.0 + own)
    }

    fn advance(&self, account: Option<String>, seconds: i64) {
        let mut moved = self.moved.lock().expect("not poisoned");
        match account {
            Some(a) => *moved.1.entry(a).or_default() += seconds,
            None => moved.0 += seconds,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Advance {
    advance_seconds: i64,
    account_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Which {
    account_id: Option<String>,
}

fn stamp(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn router(clock: Clock) -> Router {
    Router::new()
        .route(
            "/_clock",
            get(
                |State(clock): State<Clock>, Query(which): Query<Which>| async move {
                    Json(json!({"now": stamp(clock.now(which.account_id.as_deref()))}))
                },
            )
            .post(
                |State(clock): State<Clock>, Json(advance): Json<Advance>| async move {
                    let account = advance.account_id.clone();
                    clock.advance(advance.account_id, advance.advance_seconds);
                    Json(json!({"now": stamp(clock.now(account.as_deref()))}))
                },
            ),
        )
        .with_state(clock)
}

/// The time in an `at(yyyy-mm-ddThh:mm:ss)` expression, taken as UTC (the only time zone
/// Herald's schedules use).
fn at(expression: &str) -> Option<OffsetDateTime> {
    let inner = expression.strip_prefix("at(")?.strip_suffix(')')?;
    time::PrimitiveDateTime::parse(
        inner,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    )
    .ok()
    .map(time::PrimitiveDateTime::assume_utc)
}

/// Fires the due schedules of `group` until the task is dropped; `queues` maps a queue's ARN
/// to its URL.
pub async fn run(
    group: String,
    scheduler: aws_sdk_scheduler::Client,
    sqs: aws_sdk_sqs::Client,
    queues: HashMap<String, String>,
    clock: Clock,
    log_file: PathBuf,
) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Err(e) = fire_due(&group, &scheduler, &sqs, &queues, &clock, &log_file).await {
            log(&log_file, &format!("schedules of {group}: {e}"));
        }
    }
}

async fn fire_due(
    group: &str,
    scheduler: &aws_sdk_scheduler::Client,
    sqs: &aws_sdk_sqs::Client,
    queues: &HashMap<String, String>,
    clock: &Clock,
    log_file: &PathBuf,
) -> Result<(), String> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = scheduler
            .list_schedules()
            .group_name(group)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| format!("listing: {}", aws_sdk_scheduler::Error::from(e)))?;
        names.extend(
            page.schedules()
                .iter()
                .filter_map(|s| s.name().map(str::to_owned)),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    for name in names {
        let Ok(schedule) = scheduler
            .get_schedule()
            .group_name(group)
            .name(&name)
            .send()
            .await
        else {
            continue; // deleted since it was listed
        };
        let Some(when) = schedule.schedule_expression().and_then(at) else {
            continue;
        };
        let Some(target) = schedule.target() else {
            continue;
        };
        let input = target.input().unwrap_or("{}").to_owned();
        let account = serde_json::from_str::<Value>(&input).ok().and_then(|v| {
            v.pointer("/reminder/accountId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        if when > clock.now(account.as_deref()) {
            continue;
        }
        let Some(url) = queues.get(target.arn()) else {
            log(
                log_file,
                &format!("{name}: no local queue has ARN {}", target.arn()),
            );
            continue;
        };
        sqs.send_message()
            .queue_url(url)
            .message_body(&input)
            .send()
            .await
            .map_err(|e| format!("{name}: sending: {}", aws_sdk_sqs::Error::from(e)))?;
        // Deleted after sending: a crash in between fires it again, as Scheduler may (at
        // least once); the reminder's consumer is idempotent.
        let _ = scheduler
            .delete_schedule()
            .group_name(group)
            .name(&name)
            .send()
            .await;
        log(log_file, &format!("{name}: fired (due {})", stamp(when)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_expressions_are_utc() {
        assert_eq!(
            at("at(2026-12-06T08:30:05)"),
            Some(time::macros::datetime!(2026-12-06 08:30:05 UTC))
        );
        assert_eq!(at("rate(1 day)"), None);
    }

    #[test]
    fn the_clock_moves_for_everyone_or_one_account() {
        let clock = Clock::default();
        clock.advance(Some("a".into()), 3 * 86_400);
        let a = clock.now(Some("a"));
        let b = clock.now(Some("b"));
        assert!(a - b > time::Duration::days(2));
        clock.advance(None, 86_400);
        assert!(clock.now(Some("b")) - OffsetDateTime::now_utc() > time::Duration::hours(23));
    }
}
