//! What the local stack sent, in one place: every SMS (the local Twilio and Vonage, and Amazon
//! SNS as the functions asked moto), every email (SES through moto, and the local SMTP servers)
//! and every webhook (the local inbox), newest first at `GET /sent` of the local services.
//! `cargo xtask dev` also prints one line for each as it happens.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Where the stack's one-line reports go: the terminal (dev) and a log file.
#[derive(Clone)]
pub struct Console {
    pub to_terminal: bool,
    pub log_file: PathBuf,
}

impl Console {
    pub fn line(&self, line: &str) {
        if self.to_terminal {
            println!("{line}");
        }
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

pub fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn at(item: &Value) -> OffsetDateTime {
    item["at"]
        .as_str()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[derive(Clone)]
pub struct SentLog {
    items: Arc<Mutex<Vec<Value>>>,
    console: Console,
    /// The local SMTP servers' own record of what they accepted (one JSON line each).
    smtp_log: PathBuf,
}

impl SentLog {
    pub fn new(console: Console, smtp_log: &Path) -> Self {
        Self {
            items: Arc::default(),
            console,
            smtp_log: smtp_log.to_owned(),
        }
    }

    /// Records one thing sent (`channel`: sms, email or webhook) and reports it in one line.
    pub fn record(&self, channel: &str, mut item: Value, summary: &str) {
        item["channel"] = json!(channel);
        if item.get("at").is_none() {
            item["at"] = json!(now());
        }
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(item);
        self.console.line(&format!("  sent {channel}: {summary}"));
    }

    /// The emails the SMTP servers accepted.
    fn smtp(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.smtp_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|mut m| {
                m["channel"] = json!("email");
                m["via"] = json!("smtp");
                m
            })
            .collect()
    }

    /// Reports each email the SMTP servers accepted, once, as it arrives: the log is read
    /// again only when it grew.
    pub async fn follow_smtp(self) {
        let mut seen = 0;
        let mut size = 0;
        loop {
            let now = std::fs::metadata(&self.smtp_log).map_or(0, |m| m.len());
            if now != size {
                size = now;
                let mails = self.smtp();
                for m in mails.iter().skip(seen) {
                    self.console.line(&format!(
                        "  sent email: smtp (port {}) from {} to {}",
                        m["port"].as_str().unwrap_or("?"),
                        m["mailFrom"].as_str().unwrap_or("?"),
                        m["rcptTos"]
                    ));
                }
                seen = seen.max(mails.len());
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }

    /// Everything sent so far, newest first.
    pub fn all(&self) -> Vec<Value> {
        let mut all = self
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        all.extend(self.smtp());
        all.sort_by_key(|item| std::cmp::Reverse(at(item)));
        all
    }

    pub fn router(&self) -> axum::Router {
        let log = self.clone();
        axum::Router::new().route(
            "/sent",
            axum::routing::get(move || async move { axum::Json(Value::Array(log.all())) }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_across_sources() {
        let dir = std::env::temp_dir().join(format!("herald-sent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let smtp = dir.join("smtp.jsonl");
        std::fs::write(
            &smtp,
            "{\"at\": \"2026-12-02T10:00:01.500+00:00\", \"port\": \"587\"}\n",
        )
        .expect("written");
        let log = SentLog::new(
            Console {
                to_terminal: false,
                log_file: dir.join("console.log"),
            },
            &smtp,
        );
        log.record("sms", json!({"at": "2026-12-02T10:00:00Z"}), "first");
        log.record("webhook", json!({"at": "2026-12-02T10:00:02Z"}), "last");
        let channels: Vec<String> = log
            .all()
            .iter()
            .map(|i| i["channel"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(channels, ["webhook", "email", "sms"]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
