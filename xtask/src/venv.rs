//! The project-local Python environment (`.venv`) holding moto, cargo-lambda and the linters,
//! installed from the pinned `requirements-dev.txt` and reinstalled when that file changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;
use crate::process::run;

pub struct Venv {
    pub bin: PathBuf,
}

impl Venv {
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// PATH with the venv's tools first (cargo-lambda is found as a cargo subcommand there).
    pub fn path_env(&self) -> String {
        let rest = std::env::var("PATH").unwrap_or_default();
        format!("{}:{rest}", self.bin.display())
    }
}

pub fn ensure(root: &Path) -> Result<Venv> {
    let dir = root.join(".venv");
    let bin = dir.join("bin");
    let requirements = root.join("requirements-dev.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let stamp = dir.join(".herald-requirements");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
        && bin.join("python").exists()
    {
        return Ok(Venv { bin });
    }
    eprintln!("==> installing the local tools into .venv (first run only; takes a minute)");
    if !bin.join("python").exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run(
            "python3 -m venv .venv (install Python 3.11+ with venv support)",
            Command::new(&python).args(["-m", "venv"]).arg(&dir),
        )?;
    }
    run(
        "pip install -r requirements-dev.txt",
        Command::new(bin.join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(Venv { bin })
}
