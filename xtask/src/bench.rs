//! `cargo xtask bench`: runs the criterion benchmarks of `bench/` and prints one table, each
//! figure a median with its baseline measured in the same run and the ratio between them, so
//! that a noisy shared machine slows both sides alike.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use crate::{Result, root};

/// How a figure reads.
enum Figure {
    /// A time against a baseline time: `ratio = time / baseline`.
    Ratio {
        what: &'static str,
        bench: &'static str,
        baseline: &'static str,
        target: &'static str,
    },
    /// Elements per second (the benchmark declares its throughput).
    Rate {
        what: &'static str,
        bench: &'static str,
    },
    /// A time on its own, against a fixed target.
    Time {
        what: &'static str,
        bench: &'static str,
        target: &'static str,
    },
}

const FIGURES: &[Figure] = &[
    Figure::Ratio {
        what: "send-dispatch: batch of 10 SMS vs 1, provider answering in 50 ms",
        bench: "sms_batch/10 @50ms",
        baseline: "sms_batch/1 @50ms",
        target: "close to 1 (concurrent), not 10",
    },
    Figure::Rate {
        what: "send-dispatch: SMS per second per invocation (in-memory stores, instant provider)",
        bench: "sms_batch/10 @0ms",
    },
    Figure::Ratio {
        what: "webhook-deliver: 10 deliveries at once vs 10 bare reqwest POSTs (loopback)",
        bench: "webhook_deliver/handler x10",
        baseline: "webhook_deliver/bare reqwest x10",
        target: "at most 1.25 (80% of the bare rate)",
    },
    Figure::Rate {
        what: "webhook-deliver: deliveries per second (in-memory stores, loopback receiver)",
        bench: "webhook_deliver/handler x10",
    },
    Figure::Rate {
        what: "webhook-deliver: bare reqwest POSTs per second, same receiver and concurrency",
        bench: "webhook_deliver/bare reqwest x10",
    },
    Figure::Ratio {
        what: "webhook-deliver: 10 SQS deliveries at once through the AWS courier vs 10 bare SDK SendMessage calls (in-process SQS)",
        bench: "aws_sqs_deliver/courier x10",
        baseline: "aws_sqs_deliver/bare sdk x10",
        target: "at most 1.25 (80% of the bare rate)",
    },
    Figure::Rate {
        what: "webhook-deliver: SQS deliveries per second through the AWS courier (in-process SQS)",
        bench: "aws_sqs_deliver/courier x10",
    },
    Figure::Rate {
        what: "webhook-deliver: bare SDK SendMessage calls per second, same server and concurrency",
        bench: "aws_sqs_deliver/bare sdk x10",
    },
    Figure::Ratio {
        what: "webhook-deliver: 10 Service Bus deliveries at once through the courier vs 10 bare reqwest POSTs (loopback stand-in)",
        bench: "servicebus_deliver/handler x10",
        baseline: "servicebus_deliver/bare reqwest x10",
        target: "at most 1.25 (80% of the bare rate)",
    },
    Figure::Rate {
        what: "webhook-deliver: Service Bus deliveries per second through the courier (in-memory stores, loopback 201)",
        bench: "servicebus_deliver/handler x10",
    },
    Figure::Rate {
        what: "webhook-deliver: bare reqwest POSTs per second, same Service Bus stand-in and concurrency",
        bench: "servicebus_deliver/bare reqwest x10",
    },
    Figure::Ratio {
        what: "notify: one event with 1,000 recipients rendered, logged and queued vs rendered alone (in-memory stores)",
        bench: "notify_event/1000 recipients, rendered and queued",
        baseline: "notify_event/1000 recipients, rendered only",
        target: "at most 4 (deciding, logging and queueing at most three renderings' worth)",
    },
    Figure::Rate {
        what: "notify: notifications per second of one event's recipients (in-memory stores)",
        bench: "notify_event/1000 recipients, rendered and queued",
    },
    Figure::Time {
        what: "webhook-fanout: a batch of 10 events over 10,000 subscriptions (one read per batch)",
        bench: "webhook_fanout/10000 subscriptions, batch of 10",
        target: "under 50 ms",
    },
];

/// A finished benchmark: median nanoseconds per iteration, and elements per iteration if any.
struct Measured {
    median_ns: f64,
    elements: Option<f64>,
}

/// The parts of the benchmark; `cargo xtask bench <part>` runs one of them.
const PARTS: [&str; 3] = ["criterion", "cold-start", "aws-calls"];

pub fn run(args: &[String]) -> Result<ExitCode> {
    let root = root();
    // `cargo xtask bench cold-start` runs one part; other arguments are a criterion filter,
    // which asks for some criterion benchmarks only and skips the other parts.
    let (parts, filter): (Vec<&str>, &[String]) = match args.first() {
        Some(part) if PARTS.contains(&part.as_str()) => (vec![part.as_str()], &args[1..]),
        Some(_) => (vec!["criterion"], args),
        None => (PARTS.to_vec(), args),
    };
    let mut measured = HashMap::new();
    if parts.contains(&"criterion") {
        eprintln!("==> cargo bench -p herald-bench");
        let status = crate::cargo(&root)
            .args(["bench", "-p", "herald-bench", "--"])
            .args(filter)
            .status()?;
        if !status.success() {
            return Ok(ExitCode::FAILURE);
        }
        measured = read_criterion(&root.join("target/criterion"))?;
    }
    let cold = if parts.contains(&"cold-start") {
        crate::coldstart::measure(&root)?
    } else {
        Vec::new()
    };
    let calls = if parts.contains(&"aws-calls") {
        Some(aws_calls(&root)?)
    } else {
        None
    };
    println!(
        "\n{:<84} {:>12} {:>12} {:>9}  target",
        "figure (medians)", "measured", "baseline", "ratio"
    );
    if parts.contains(&"criterion") {
        print_table(&measured);
    }
    print_cold_starts(&cold);
    if let Some((calls, _)) = &calls {
        print_aws_calls(calls);
    }
    if let Some((_, false)) = &calls {
        eprintln!(
            "\nthe AWS calls test failed (a missed target fails it; its message is above), \
             after writing the figures printed here"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the AWS-calls test on a stack of its own and reads the figures it wrote, with whether
/// it passed: it writes them before asserting its targets, so a missed target still has them.
fn aws_calls(root: &Path) -> Result<(Value, bool)> {
    let venv = crate::venv::ensure(root)?;
    let log_dir = root.join(".herald/bench-logs");
    std::fs::create_dir_all(&log_dir)?;
    let stack = crate::stack::start(
        root,
        &venv,
        &crate::stack::Options {
            schedule_period: std::time::Duration::from_secs(10),
            moto_port: crate::process::free_port()?,
            api_port: 0,
            services_port: 0,
            log_dir: log_dir.clone(),
            console: false,
            function_logs_to_terminal: false,
        },
    )?;
    let out = log_dir.join("aws-calls.json");
    let _ = std::fs::remove_file(&out);
    let status = stack
        .test_command(crate::cargo(root), &venv)
        .args(crate::test::AWS_CALLS_TEST)
        .arg("--quiet")
        .env("HERALD_TEST_AWS_CALLS_OUT", &out)
        .status()?;
    drop(stack);
    match std::fs::read_to_string(&out) {
        Ok(figures) => Ok((serde_json::from_str(&figures)?, status.success())),
        Err(_) => Err(format!(
            "the AWS calls run failed; the stack's output is in {}",
            log_dir.display()
        )
        .into()),
    }
}

/// The units the AWS-calls test measures, as the table names them.
const AWS_UNITS: [(&str, &str); 5] = [
    ("sms", "SMS sent (Twilio)"),
    ("email", "email sent (SES)"),
    ("webhookFirstTry", "webhook, first try"),
    ("webhookRetriedOnce", "webhook, retried once"),
    ("fanoutPerEvent", "fan-out, per event"),
];

/// What a unit of work costs in AWS: one row per unit, then its usage by function and
/// operation. The model and prices are the test's (tests/it/aws_calls.rs), which writes them.
fn print_aws_calls(calls: &Value) {
    let number = |v: &Value| v.as_f64().unwrap_or_default();
    let models = |v: &Value, precision: usize| {
        [
            &v["fullBatches"],
            &v["fullBatchesUnshared"],
            &v["batchOfOne"],
        ]
        .map(|n| format!("{:.precision$}", number(n)))
        .join(" / ")
    };
    println!(
        "\nAWS cost per unit of work: us-east-1 on-demand list prices, December 2026, provider \
         fees (SNS, SES, Twilio) aside.\nEach figure on three batch models: full batches of 10 \
         sharing their per-batch reads / full batches sharing nothing / a batch of one;\n\
         targets on the first. WRU and RRU in request units.\n"
    );
    println!(
        "{:<24} {:>5} {:>11} {:>18} {:>15} {:>15} {:>23}  target",
        "unit", "calls", "WRU tbl+idx", "RRU", "SQS requests", "invocations", "$ per million"
    );
    for (unit, name) in AWS_UNITS {
        let figure = &calls[unit];
        if figure.is_null() {
            println!("{name:<24} not measured");
            continue;
        }
        let target = &figure["target"];
        let verdict = |met: &Value| if *met == true { "met" } else { "MISSED" };
        let target = if target.is_null() {
            "-".to_owned()
        } else {
            format!(
                "{}: {} (sharing nothing: {})",
                target["text"].as_str().unwrap_or_default(),
                verdict(&target["met"]),
                verdict(&target["metUnshared"]),
            )
        };
        println!(
            "{name:<24} {:>5} {:>11} {:>18} {:>15} {:>15} {:>23}  {target}",
            figure["calls"].as_u64().unwrap_or_default(),
            format!(
                "{} + {}",
                number(&figure["wruTable"]),
                number(&figure["wruIndex"])
            ),
            models(&figure["rru"], 2),
            models(&figure["sqsRequests"], 1),
            models(&figure["invocations"], 1),
            models(&figure["costPerMillion"], 3),
        );
    }
    for (unit, name) in AWS_UNITS {
        let figure = &calls[unit];
        if figure.is_null() {
            continue;
        }
        println!("{name}:");
        for (function, used) in figure["byFunction"].as_object().into_iter().flatten() {
            for line in wrap(&format!("{function}: {}", usage_detail(used)), 112) {
                println!("    {line}");
            }
        }
    }
    let compute: Vec<String> = AWS_UNITS
        .iter()
        .filter(|(unit, _)| !calls[unit].is_null())
        .map(|(unit, name)| {
            format!(
                "{name} ${:.3}",
                number(&calls[unit]["computePerMillion"]["fullBatches"])
            )
        })
        .collect();
    println!(
        "Lambda compute per million, estimated and not in the totals (arm64, 256 MB; 100 ms per \
         batch of webhook-deliver\nand send-dispatch, 20 ms of fan-out and notify, 25 ms per API \
         request; full batches):\n    {}",
        compute.join(", ")
    );
}

/// One function's usage in a unit, by kind: calls by operation, write and read units by
/// table and index, SQS requests by action and queue, what its pump did.
fn usage_detail(used: &Value) -> String {
    let stack = format!("{}-", crate::template::STACK);
    let mut kinds: Vec<(&str, Vec<String>)> = ["calls", "WRU", "RRU", "SQS", "pump", "API Gateway"]
        .iter()
        .map(|label| (*label, Vec::new()))
        .collect();
    for (key, n) in used.as_object().into_iter().flatten() {
        let n = n.as_u64().unwrap_or_default();
        let (kind, what) = key.split_once(' ').unwrap_or((key, ""));
        let what = what.replace(&stack, "");
        let (label, entry) = match kind {
            "call" => ("calls", format!("{what} {n}")),
            "wru" => ("WRU", format!("{what} {}", n as f64 / 1000.0)),
            "rru" => ("RRU", format!("{what} {}", n as f64 / 1000.0)),
            "sqs" => ("SQS", format!("{what} {n}")),
            "pump" => ("pump", format!("{what} {n}")),
            _ => ("API Gateway", format!("{what} {n}")),
        };
        if let Some((_, entries)) = kinds.iter_mut().find(|(l, _)| *l == label) {
            entries.push(entry);
        }
    }
    kinds
        .iter()
        .filter(|(_, entries)| !entries.is_empty())
        .map(|(label, entries)| format!("{label} {}", entries.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `text` in lines of at most `width` characters, broken after a comma or semicolon, the
/// lines after the first indented.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for piece in text.split_inclusive([',', ';']) {
        let line = lines.last_mut().expect("a line");
        if !line.is_empty() && line.len() + piece.len() > width {
            lines.push(format!("   {}", piece.trim_start()));
        } else {
            line.push_str(piece);
        }
    }
    lines
}

fn print_cold_starts(cold: &[crate::coldstart::ColdStart]) {
    let Some(hello) = cold.iter().find(|c| c.binary == crate::coldstart::HELLO) else {
        return;
    };
    let mb = |bytes: u64| format!("{:.2} MB", bytes as f64 / 1e6);
    for c in cold.iter().filter(|c| c.binary != hello.binary) {
        println!(
            "{:<84} {:>12} {:>12} {:>8.2}×  at most 1.5",
            format!(
                "{}: init, process start to first runtime-API request, vs hello world",
                c.binary
            ),
            human(c.init.as_nanos() as f64),
            human(hello.init.as_nanos() as f64),
            c.init.as_secs_f64() / hello.init.as_secs_f64(),
        );
    }
    for c in cold.iter().filter(|c| c.binary != hello.binary) {
        println!(
            "{:<84} {:>12} {:>12} {:>8.2}×",
            format!("{}: stripped release binary vs hello world", c.binary),
            mb(c.size),
            mb(hello.size),
            c.size as f64 / hello.size as f64,
        );
    }
}

/// Every `new/` result criterion left, by the benchmark's full id (`group/function`).
fn read_criterion(dir: &Path) -> Result<HashMap<String, Measured>> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            }
        }
        if d.file_name().is_some_and(|n| n == "new") {
            let read = |f: &str| -> Option<Value> {
                serde_json::from_str(&std::fs::read_to_string(d.join(f)).ok()?).ok()
            };
            let (Some(meta), Some(estimates)) = (read("benchmark.json"), read("estimates.json"))
            else {
                continue;
            };
            let (Some(id), Some(median_ns)) = (
                meta["full_id"].as_str(),
                estimates["median"]["point_estimate"].as_f64(),
            ) else {
                continue;
            };
            let elements = meta["throughput"]["Elements"].as_f64();
            out.insert(
                id.to_owned(),
                Measured {
                    median_ns,
                    elements,
                },
            );
        }
    }
    Ok(out)
}

fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn print_table(measured: &HashMap<String, Measured>) {
    for figure in FIGURES {
        match figure {
            Figure::Ratio {
                what,
                bench,
                baseline,
                target,
            } => match (measured.get(*bench), measured.get(*baseline)) {
                (Some(m), Some(b)) => println!(
                    "{what:<84} {:>12} {:>12} {:>8.2}×  {target}",
                    human(m.median_ns),
                    human(b.median_ns),
                    m.median_ns / b.median_ns
                ),
                _ => println!("{what:<84} {:>12}", "not run"),
            },
            Figure::Rate { what, bench } => match measured.get(*bench) {
                Some(m) => {
                    let per_second = m.elements.unwrap_or(1.0) / (m.median_ns / 1e9);
                    println!(
                        "{what:<84} {:>12} {:>12} {:>9}",
                        format!("{per_second:.0}/s"),
                        human(m.median_ns),
                        "-"
                    );
                }
                None => println!("{what:<84} {:>12}", "not run"),
            },
            Figure::Time {
                what,
                bench,
                target,
            } => match measured.get(*bench) {
                Some(m) => println!(
                    "{what:<84} {:>12} {:>12} {:>9}  {target}",
                    human(m.median_ns),
                    "-",
                    "-"
                ),
                None => println!("{what:<84} {:>12}", "not run"),
            },
        }
    }
}
