//! `cargo xtask test`: every check, then every test, against the same local stack `dev` runs.

use std::process::{Command, ExitCode};
use std::time::Duration;

use crate::process::{self, free_port};
use crate::stack::{self, Options};
use crate::{Result, cargo, root, venv};

/// The `cargo test` that runs the AWS-calls test alone: the shared run ignores it, and its
/// module's name picks it out of the tests' one binary, `it`. `--workspace` rather than
/// `-p herald-tests`, so that cargo resolves the dependencies' features as the shared run
/// does and both use one build of the binary and the shared crate, not two.
pub const AWS_CALLS_TEST: [&str; 7] = [
    "test",
    "--workspace",
    "--test",
    "it",
    "--",
    "--ignored",
    "aws_calls::",
];

fn step(name: &str) {
    eprintln!("==> {name}");
}

pub fn run(test_args: &[String]) -> Result<ExitCode> {
    let root = root();

    step("cargo fmt --check");
    process::run(
        "cargo fmt --check (run `cargo fmt --all` to fix)",
        cargo(&root).args(["fmt", "--all", "--check"]),
    )?;
    step("cargo clippy");
    process::run(
        "cargo clippy",
        cargo(&root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ]),
    )?;

    domain_without_aws(&root)?;

    let venv = venv::ensure(&root)?;
    // Node.js (the signature tests), Chromium, ChromeDriver and axe-core (the browser tests).
    crate::browser::ensure(&root)?;
    step("cfn-lint template.yaml");
    process::run(
        "cfn-lint template.yaml",
        Command::new(venv.tool("cfn-lint"))
            .current_dir(&root)
            .arg("template.yaml"),
    )?;
    step("openapi-spec-validator docs/openapi.yaml");
    process::run(
        "openapi-spec-validator docs/openapi.yaml",
        Command::new(venv.tool("openapi-spec-validator"))
            .current_dir(&root)
            .arg("docs/openapi.yaml"),
    )?;

    let log_dir = root.join(".herald/test-logs");
    std::fs::create_dir_all(&log_dir)?;
    let stack = stack::start(
        &root,
        &venv,
        &Options {
            // Ports of their own, so tests can run while `cargo xtask dev` does.
            schedule_period: Duration::from_secs(3),
            moto_port: free_port()?,
            api_port: 0,
            services_port: 0,
            log_dir: log_dir.clone(),
            console: false,
            function_logs_to_terminal: false,
        },
    )
    .map_err(|e| format!("{e}\n(the stack's output is in {})", log_dir.display()))?;

    if test_args.is_empty() {
        // First, while nothing else runs on the stack: what each unit of work costs in calls.
        step(&format!(
            "cargo {} (AWS calls per unit of work, on the fresh stack)",
            AWS_CALLS_TEST.join(" ")
        ));
        let status = stack
            .test_command(cargo(&root), &venv)
            .args(AWS_CALLS_TEST)
            .status()?;
        if !status.success() {
            eprintln!(
                "==> the AWS calls test failed; the stack's output is in {}",
                log_dir.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    // With a filter, only when it names this step: `cargo xtask test schemathesis`.
    let wanted = test_args.is_empty()
        || test_args
            .iter()
            .any(|a| "schemathesis".contains(a.as_str()));
    if wanted && !schemathesis(&root, &venv, &stack, &log_dir)? {
        return Ok(ExitCode::FAILURE);
    }
    step("cargo test");
    let status = stack
        .test_command(cargo(&root), &venv)
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(test_args)
        .status()?;
    drop(stack);
    if status.success() {
        eprintln!("==> every check and test passed");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "==> tests failed; the stack's output (moto, functions) is in {}",
            log_dir.display()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Crates the domain must never depend on: AWS, HTTP and SMTP clients, DNS resolvers, Lambda.
const NOT_IN_THE_DOMAIN: [&str; 6] = [
    "aws-",
    "aws_lambda_events",
    "lambda_",
    "reqwest",
    "lettre",
    "hickory-",
];

/// The shared crate without its `aws` feature, that is without its adapters and Lambda
/// handlers: it must build, pass clippy and its unit tests, and depend on none of
/// [`NOT_IN_THE_DOMAIN`], which proves that no domain rule reaches AWS, a network client or
/// Lambda.
fn domain_without_aws(root: &std::path::Path) -> Result<()> {
    step(
        "the domain without AWS: cargo tree, clippy and test -p herald-shared --no-default-features",
    );
    let tree = cargo(root)
        .args([
            "tree",
            "-p",
            "herald-shared",
            "--no-default-features",
            "--edges",
            "normal",
        ])
        .args(["--prefix", "none", "--format", "{p}"])
        .output()?;
    if !tree.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&tree.stderr)
        )
        .into());
    }
    let tree = String::from_utf8_lossy(&tree.stdout);
    let leaks: std::collections::BTreeSet<&str> = tree
        .lines()
        .filter(|l| NOT_IN_THE_DOMAIN.iter().any(|c| l.starts_with(c)))
        .collect();
    if !leaks.is_empty() {
        return Err(format!(
            "herald-shared without its aws feature depends on {}; make them optional, behind `aws`",
            leaks.into_iter().collect::<Vec<_>>().join(", ")
        )
        .into());
    }
    process::run(
        "cargo clippy -p herald-shared --no-default-features",
        cargo(root).args([
            "clippy",
            "-p",
            "herald-shared",
            "--no-default-features",
            "--all-targets",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    process::run(
        "cargo test -p herald-shared --no-default-features",
        cargo(root).args([
            "test",
            "-p",
            "herald-shared",
            "--no-default-features",
            "--quiet",
        ]),
    )
}

/// Schemathesis against the running API: requests generated from `docs/openapi.yaml` (valid
/// ones, which must be accepted, and invalid ones, which must be refused), every response
/// checked against the document, with the settings of `xtask/schemathesis.toml`. Its report
/// (JUnit) goes beside the stack's logs.
fn schemathesis(
    root: &std::path::Path,
    venv: &venv::Venv,
    stack: &stack::Stack,
    log_dir: &std::path::Path,
) -> Result<bool> {
    step("schemathesis docs/openapi.yaml against the running API");
    // A fresh account, so that what earlier runs left behind changes nothing.
    let account = format!("schemathesis-{}", std::process::id());
    let token = stack
        .issuer
        .mint(&stack.audience, &account, true, Duration::from_secs(3600))?;
    let started = std::time::Instant::now();
    let status = Command::new(venv.tool("schemathesis"))
        .current_dir(root)
        .env("HERALD_SCHEMATHESIS_ACCOUNT", &account)
        .env("HERALD_SCHEMATHESIS_TOKEN", &token)
        .env(
            "HERALD_SCHEMATHESIS_EXPIRES_AT",
            herald::common::clock::rfc3339(
                time::OffsetDateTime::now_utc() + time::Duration::days(1),
            ),
        )
        .args([
            "--config-file",
            "xtask/schemathesis.toml",
            "--no-color",
            "run",
        ])
        .arg("docs/openapi.yaml")
        .args(["--url", &stack.api_url])
        .args(["--report", "junit", "--report-dir"])
        .arg(log_dir.join("schemathesis"))
        .status()?;
    eprintln!("==> schemathesis took {:.0?}", started.elapsed());
    if !status.success() {
        eprintln!(
            "==> schemathesis found disagreements between the API and docs/openapi.yaml (above); the stack's output is in {}",
            log_dir.display()
        );
    }
    Ok(status.success())
}
