//! `cargo xtask dev | test | bench`: Herald's local stack on an emulated AWS, every check, and
//! the benchmarks.

mod aws_calls;
mod bench;
mod browser;
mod cli;
mod coldstart;
mod dev;
mod fakes;
mod gateway;
mod inbox;
mod issuer;
mod process;
mod provision;
mod pump;
mod scheduler;
mod sent;
mod sign_in;
mod stack;
mod system;
mod template;
mod test;
mod trust;
mod venv;

use std::path::PathBuf;
use std::process::ExitCode;

pub type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("dev") => dev::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("-h" | "--help") | None => {
            cli::usage();
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("unknown command '{other}'\n");
            cli::usage();
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A cargo command in the workspace root, without the variables `cargo run` set for xtask
/// itself. Build scripts (ring's, for one) rerun when those change: a cargo started with them
/// would rebuild what the developer's own cargo built, and the next `cargo xtask` would build
/// it back, minutes each way.
pub fn cargo(root: &std::path::Path) -> std::process::Command {
    let mut c =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root);
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("CARGO_PKG_")
            || matches!(
                name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            c.env_remove(name);
        }
    }
    c
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
