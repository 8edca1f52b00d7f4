//! Child processes that die with the task: each runs in its own process group, killed as a
//! whole (cargo-lambda's `cargo run` and the function it starts included) when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

pub struct Guarded {
    name: String,
    child: Child,
}

impl Guarded {
    pub fn spawn(name: &str, command: &mut Command) -> Result<Self> {
        use std::os::unix::process::CommandExt;
        command.process_group(0).stdin(Stdio::null());
        let child = command
            .spawn()
            .map_err(|e| format!("could not start {name} ({command:?}): {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
        })
    }

    /// Fails if the process has already exited.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(format!("{} exited unexpectedly ({status})", self.name).into()),
        }
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal("-KILL");
        let _ = self.child.wait();
    }
}

/// Runs a command to completion, failing with its name when it fails.
pub fn run(name: &str, command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .map_err(|e| format!("could not run {name}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})").into())
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Whether something already listens on a loopback port.
pub fn port_in_use(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}
