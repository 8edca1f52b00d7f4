//! What the browser tests need: Debian's Chromium and ChromeDriver, and axe-core, pinned in
//! `tests/browser/package-lock.json` and installed into `tests/browser/node_modules` with
//! `npm ci`, again whenever the lock changes.

use std::path::Path;
use std::process::Command;

use crate::Result;
use crate::process::run;
use crate::system;

/// Chromium, ChromeDriver and axe-core, each installed when missing (Node.js and npm too).
pub fn ensure(root: &Path) -> Result<()> {
    system::ensure_chromium()?;
    system::ensure_node()?;
    npm_ci(&root.join("tests/browser"))
}

/// `npm ci` in `dir` when its `node_modules` is missing or was installed from another lock. A
/// copy of the lock it was installed from is kept in `node_modules` (which `npm ci` empties
/// first, so an interrupted install is redone).
fn npm_ci(dir: &Path) -> Result<()> {
    let lock_file = dir.join("package-lock.json");
    let lock = std::fs::read_to_string(&lock_file)
        .map_err(|e| format!("cannot read {}: {e}", lock_file.display()))?;
    let stamp = dir.join("node_modules/.herald-package-lock.json");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(lock.as_str()) {
        return Ok(());
    }
    eprintln!(
        "==> installing the browser tests' axe-core (npm ci in {})",
        dir.strip_prefix(crate::root()).unwrap_or(dir).display()
    );
    run(
        "npm ci --no-audit --no-fund",
        Command::new("npm").current_dir(dir).args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]),
    )?;
    std::fs::write(&stamp, lock)?;
    Ok(())
}
