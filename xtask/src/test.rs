//! `cargo xtask test`: every check, then every test, against the same local stack `dev` runs.

use std::process::{Command, ExitCode};
use std::time::Duration;

use crate::process::{self, free_port};
use crate::stack::{self, Options};
use crate::{Result, cargo, root, venv};

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

    let venv = venv::ensure(&root)?;
    crate::system::ensure_node()?;
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
        step("cargo test --test aws_calls (AWS calls per unit of work, on the fresh stack)");
        let status = stack
            .test_command(cargo(&root), &venv)
            .args(["test", "-p", "herald-tests", "--test", "aws_calls", "--"])
            .arg("--ignored")
            .status()?;
        if !status.success() {
            eprintln!(
                "==> the AWS calls test failed; the stack's output is in {}",
                log_dir.display()
            );
            return Ok(ExitCode::FAILURE);
        }
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
