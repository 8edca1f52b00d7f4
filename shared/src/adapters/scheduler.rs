//! Reminders' one-time schedules in Amazon EventBridge Scheduler: `at(...)` in UTC, no
//! flexible window, the notifications queue as target with the due reminder as input, and
//! deleted by Scheduler once they have fired.

use async_trait::async_trait;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::notify::reminders::{ReminderDue, ReminderScheduler, SchedulerError};

pub struct EventBridgeScheduler {
    client: Client,
    /// The schedule group reminders live in.
    group: String,
    /// The notifications queue's ARN, and the role Scheduler assumes to send to it.
    queue_arn: String,
    role_arn: String,
}

impl EventBridgeScheduler {
    pub fn new(client: Client, group: &str, queue_arn: &str, role_arn: &str) -> Self {
        Self {
            client,
            group: group.to_owned(),
            queue_arn: queue_arn.to_owned(),
            role_arn: role_arn.to_owned(),
        }
    }
}

/// Scheduler's `at()` takes a local date and time, here in UTC, to the second.
pub fn at_expression(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let text = at
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .expect("a date formats");
    format!("at({text})")
}

fn failed<E: ProvideErrorMetadata + std::fmt::Debug>(what: &str, e: &E) -> SchedulerError {
    SchedulerError(format!(
        "{what}: {}",
        e.message().or(e.code()).unwrap_or("no answer")
    ))
}

#[async_trait]
impl ReminderScheduler for EventBridgeScheduler {
    async fn schedule(
        &self,
        name: &str,
        at: OffsetDateTime,
        due: &ReminderDue,
    ) -> Result<(), SchedulerError> {
        let input = serde_json::json!({ "reminder": due }).to_string();
        let target = Target::builder()
            .arn(&self.queue_arn)
            .role_arn(&self.role_arn)
            .input(input)
            .build()
            .map_err(|e| SchedulerError(e.to_string()))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| SchedulerError(e.to_string()))?;
        let out = self
            .client
            .create_schedule()
            .name(name)
            .group_name(&self.group)
            .schedule_expression(at_expression(at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            // A name is one reminder of one series: made already by an earlier delivery.
            Err(e) if e.code() == Some("ConflictException") => Ok(()),
            Err(e) => Err(failed(&format!("creating schedule {name}"), &e)),
        }
    }

    async fn cancel(&self, name: &str) -> Result<(), SchedulerError> {
        let out = self
            .client
            .delete_schedule()
            .name(name)
            .group_name(&self.group)
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(failed(&format!("deleting schedule {name}"), &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_is_utc_to_the_second() {
        let at = time::macros::datetime!(2026-12-06 10:30:05.7 +02:00);
        assert_eq!(at_expression(at), "at(2026-12-06T08:30:05)");
    }
}
