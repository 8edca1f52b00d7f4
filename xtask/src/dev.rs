//! `cargo xtask dev`: the whole function set on an emulated AWS, ready to curl, until Ctrl-C.

use std::fs::{File, TryLockError};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use crate::process::port_in_use;
use crate::stack::{self, Options};
use crate::{Result, root, token, venv};

const STATE: &str = ".herald/dev.json";

fn port(var: &str, default: u16) -> Result<u16> {
    match std::env::var(var) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{var}={v} is not a port number").into()),
        Err(_) => Ok(default),
    }
}

pub fn run() -> Result<ExitCode> {
    let root = root();
    std::fs::create_dir_all(root.join(".herald"))?;
    // Held for as long as this dev stack runs; the OS releases it however the process ends.
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join(".herald/dev.lock"))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let running = std::fs::read_to_string(root.join(STATE)).unwrap_or_default();
            return Err(format!(
                "another `cargo xtask dev` is already running in this checkout{}.\n\
                 Use it, or stop it with Ctrl-C in its terminal before starting a new one.",
                if running.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", running.trim())
                }
            )
            .into());
        }
        Err(TryLockError::Error(e)) => return Err(e.into()),
    }

    let moto_port = port("HERALD_DEV_AWS_PORT", 4510)?;
    let lambda_port = port("HERALD_DEV_API_PORT", 9000)?;
    for (p, var) in [
        (moto_port, "HERALD_DEV_AWS_PORT"),
        (lambda_port, "HERALD_DEV_API_PORT"),
    ] {
        if port_in_use(p) {
            return Err(format!(
                "port {p} on 127.0.0.1 is taken by another program; free it, or choose another \
                 port with {var}=<port> cargo xtask dev"
            )
            .into());
        }
    }

    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })?;

    let venv = venv::ensure(&root)?;
    let secret = token::dev_secret();
    let mut stack = stack::start(
        &root,
        &venv,
        &Options {
            schedule_period: Duration::from_secs(10),
            moto_port,
            lambda_port,
            log_dir: root.join(".herald/dev-logs"),
            functions_to_terminal: true,
            dev_secret: secret.clone(),
        },
    )?;
    let issuer = stack
        .env
        .get("HERALD_JWT_ISSUER")
        .cloned()
        .unwrap_or_default();
    let audience = stack
        .env
        .get("HERALD_JWT_AUDIENCE")
        .cloned()
        .unwrap_or_default();
    let token = token::mint(
        &secret,
        &issuer,
        &audience,
        "acme",
        true,
        Duration::from_secs(7 * 24 * 3600),
    )?;
    std::fs::write(
        root.join(STATE),
        format!("pid {}, API at {}", std::process::id(), stack.api_url),
    )?;
    print_banner(&stack, &token);

    loop {
        match stop_rx.recv_timeout(Duration::from_secs(1)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = stack.check_alive() {
                    let _ = std::fs::remove_file(root.join(STATE));
                    return Err(e);
                }
            }
        }
    }
    eprintln!("\n==> stopping");
    drop(stack);
    let _ = std::fs::remove_file(root.join(STATE));
    Ok(ExitCode::SUCCESS)
}

fn print_banner(stack: &stack::Stack, token: &str) {
    let api = &stack.api_url;
    println!(
        r#"
Herald is running on an emulated AWS.

  API          {api}
  AWS (moto)   {aws}   (its request log: .herald/dev-logs/moto.log)
  token        account "acme", internal service, valid 7 days

Try it:

  export HERALD_TOKEN={token}
  curl -s {api}/sms-providers -H "Authorization: Bearer $HERALD_TOKEN"
  curl -s -i {api}/accounts/acme/sms-settings -H "Authorization: Bearer $HERALD_TOKEN"
  curl -s -X PUT {api}/accounts/acme/sms-settings -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"senderName": "Acme", "primaryProvider": "twilio", "secondaryProvider": "vonage"}}'
  curl -s -X PUT {api}/accounts/acme/email-settings -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"fromAddressPrefix": "hello", "senderName": "Acme Support",
            "smtp": {{"host": "smtp.acme.example", "port": 587, "senderAddress": "hello@acme.example",
                     "auth": {{"type": "basic", "username": "hello", "password": "s3cret"}}}}}}'
  curl -s -X DELETE {api}/accounts/acme/email-settings -H "Authorization: Bearer $HERALD_TOKEN"
  curl -s -X POST {api}/accounts/acme/messages/sms -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' -d '{{"to": "+4712345678", "text": "Your code is 1234"}}'
  curl -s {api}/accounts/acme/logs/sms -H "Authorization: Bearer $HERALD_TOKEN"
  curl -s -X POST {api}/accounts/acme/domains -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' -d '{{"domain": "acme.com"}}'
  curl -s -X POST {api}/accounts/acme/subscriptions -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"name": "mine", "type": "webhook", "url": "http://127.0.0.1:8080/hooks", "secret": true}}'
  curl -s -X POST {api}/accounts/acme/events -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"sender": "my-service", "eventName": "order.completed", "eventData": {{"orderId": "42"}}}}'
  curl -s {api}/accounts/acme/deliveries -H "Authorization: Bearer $HERALD_TOKEN"

Ctrl-C stops everything.
"#,
        aws = stack.aws_endpoint,
    );
}
