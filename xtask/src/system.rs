//! Debian packages the checks need beyond Rust and Python, installed with apt-get when missing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// `apt-get install` of `packages`, as root or through sudo, with the package lists updated
/// first (once per run). `hint` says what to do by hand if it fails.
fn apt_install(packages: &[&str], hint: &str) -> Result<()> {
    static UPDATED: AtomicBool = AtomicBool::new(false);
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
    if !UPDATED.load(Ordering::Relaxed) {
        run("apt-get update", &mut apt(&["update", "-qq"]))?;
        UPDATED.store(true, Ordering::Relaxed);
    }
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(packages);
    run(
        &format!("apt-get install {} ({hint})", packages.join(" ")),
        &mut apt(&args),
    )
}

/// Node.js runs the reference's own signature snippet in the tests; npm installs the browser
/// tests' axe-core. Debian packages npm apart from nodejs (NodeSource's nodejs carries both).
pub fn ensure_node() -> Result<()> {
    let mut missing = Vec::new();
    if !present("node") {
        missing.push("nodejs");
    }
    if !present("npm") {
        missing.push("npm");
    }
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "==> installing Node.js (apt-get install {}): the webhook signature tests run it, npm \
         installs axe-core for the browser tests",
        missing.join(" ")
    );
    apt_install(
        &missing,
        "install Node.js 18+ and npm by hand if this fails",
    )
}

/// Where the browser tests find Chromium and ChromeDriver (the harness in
/// `tests/src/browser.rs` uses the same paths).
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Debian's Chromium and its ChromeDriver, which the browser tests drive headless, with the
/// Liberation fonts (metric twins of Arial, Times and Courier), so that pages and their
/// screenshots lay out alike on every machine. Recommended packages (printing, desktop
/// notifications) are left out: headless needs none of them.
pub fn ensure_chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    eprintln!(
        "==> installing Chromium (apt-get install chromium chromium-driver fonts-liberation): \
         the browser tests drive it headless"
    );
    apt_install(
        &["chromium", "chromium-driver", "fonts-liberation"],
        "install Debian's chromium and chromium-driver by hand if this fails",
    )?;
    for path in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(path).exists() {
            return Err(format!("{path} is still missing after apt-get install").into());
        }
    }
    Ok(())
}
