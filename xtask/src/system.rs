//! Debian packages the checks need beyond Rust and Python, installed with apt-get when missing.

use std::process::{Command, Stdio};

use crate::Result;
use crate::process::run;

fn present(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Node.js runs the reference's own signature snippet in the tests.
pub fn ensure_node() -> Result<()> {
    if present("node") {
        return Ok(());
    }
    eprintln!(
        "==> installing Node.js (apt-get install nodejs): the webhook signature tests run it"
    );
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run("apt-get update", &mut apt(&["update", "-qq"]))?;
    run(
        "apt-get install nodejs (install Node.js 18+ by hand if this fails)",
        &mut apt(&["install", "-y", "-qq", "nodejs"]),
    )?;
    Ok(())
}
