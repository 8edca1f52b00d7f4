//! `cargo xtask dev`: the whole function set on an emulated AWS, ready to curl, until Ctrl-C.

use std::fs::{File, TryLockError};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use crate::process::port_in_use;
use crate::stack::{self, Options};
use crate::{Result, root, venv};

const STATE: &str = ".herald/dev.json";

fn port(var: &str, default: u16) -> Result<u16> {
    match std::env::var(var) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{var}={v} is not a port number").into()),
        Err(_) => Ok(default),
    }
}

pub fn run(args: &[String]) -> Result<ExitCode> {
    let logs = match args {
        [] => false,
        [flag] if flag == "--logs" => true,
        other => return Err(format!("cargo xtask dev takes only --logs, not {other:?}").into()),
    };
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
    let api_port = port("HERALD_DEV_API_PORT", 9000)?;
    let services_port = port("HERALD_DEV_SERVICES_PORT", 9100)?;
    for (p, var) in [
        (moto_port, "HERALD_DEV_AWS_PORT"),
        (api_port, "HERALD_DEV_API_PORT"),
        (services_port, "HERALD_DEV_SERVICES_PORT"),
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
    let log_dir = root.join(".herald/dev-logs");
    let stack = stack::start(
        &root,
        &venv,
        &Options {
            schedule_period: Duration::from_secs(10),
            moto_port,
            api_port,
            services_port,
            log_dir: log_dir.clone(),
            console: true,
            function_logs_to_terminal: logs,
        },
    )
    .map_err(|e| format!("{e}\n(the stack's logs are in {})", log_dir.display()))?;
    let mut stack = stack;
    let token = stack.issuer.mint(
        &stack.audience,
        "acme",
        true,
        Duration::from_secs(7 * 24 * 3600),
    )?;
    std::fs::write(
        root.join(STATE),
        format!("pid {}, API at {}", std::process::id(), stack.api_url),
    )?;
    print_banner(&stack, &token, logs);

    loop {
        match stop_rx.recv_timeout(Duration::from_secs(1)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = stack.check_alive() {
                    let _ = std::fs::remove_file(root.join(STATE));
                    return Err(format!("{e} (its log: {})", log_dir.display()).into());
                }
            }
        }
    }
    eprintln!("\n==> stopping");
    drop(stack);
    let _ = std::fs::remove_file(root.join(STATE));
    eprintln!("==> stopped");
    Ok(ExitCode::SUCCESS)
}

fn print_banner(stack: &stack::Stack, token: &str, logs: bool) {
    let api = &stack.api_url;
    let services = &stack.services_url;
    let servicebus = &stack.servicebus_url;
    let lambda = stack.lambda_url.trim_start_matches("http://127.0.0.1:");
    let logs_line = if logs {
        "the functions' logs stream here (and each request and message sent gets a line)"
    } else {
        "each request and each message sent gets a line here; the functions' logs are in\n               .herald/dev-logs/<function>.log (`cargo xtask dev --logs` streams them here)"
    };
    println!(
        r#"
Herald is running on an emulated AWS.

  API          {api}   (routes and JWT authorizer as template.yaml declares them)
  dashboard    {services}/dashboard   opens the dashboard of account "acme" as an admin
               (each visit asks the API for a fresh one-time sign-in link, as a platform does;
               ?role=viewer for a read-only session, &accounts=acme-eu,acme-us for more accounts)
  token        account "acme", internal service, valid 7 days, from the local issuer
               {services}/issuer (its keys: /.well-known/jwks.json)
  sent         {services}/sent   every SMS, email and webhook sent, newest first
  webhooks     {services}/hooks  a local inbox: records each request, checks its signature
  SMTP         127.0.0.1, ports 25, 587 (STARTTLS) and 465 (TLS), user {user}, password {password},
               a self-signed certificate (set "disableCertificateValidation": true)
  Service Bus  {servicebus}   a local Azure Service Bus (REST, SAS checked); create a queue
               with PUT /_control/entities/<name> {{"keys": {{"<keyName>": "<key>"}}}}, read
               it with GET /_control/entities/<name>/messages
  AWS (moto)   {aws}   (DynamoDB, SQS, SES, SNS, KMS; its log: .herald/dev-logs/moto.log)
  Pub/Sub      {pubsub}   Google's Pub/Sub emulator: a google-pubsub subscription's
               "endpoint"; its key: {google_key} (token_uri {google_token})
  logs         {logs_line}

Try it (each line works as printed):

  export HERALD_TOKEN={token}
  curl -s {api}/sms-providers -H "Authorization: Bearer $HERALD_TOKEN"

  # Events, delivered as signed webhooks to the local inbox (Herald's own, such as sms.sent,
  # go there too); a service registers its event type, listed by sender beside Herald's:
  curl -s -X POST {api}/accounts/acme/subscriptions -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"name": "mine", "type": "webhook", "url": "{services}/hooks", "secret": true}}'
  curl -s -X PUT {api}/event-types/order.completed -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"sender": "my-service", "description": "An order was completed.",
            "eventData": {{"orderId": "42"}}, "schema": {{"type": "object", "required": ["orderId"]}}}}'
  curl -s {api}/event-types -H "Authorization: Bearer $HERALD_TOKEN"
  curl -s -X POST {api}/accounts/acme/events -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"sender": "my-service", "eventName": "order.completed", "eventData": {{"orderId": "42"}}}}'
  curl -s {api}/accounts/acme/deliveries -H "Authorization: Bearer $HERALD_TOKEN"

  # Notifications: a type, a rule that emails the people an event names, the event, then
  # what each was sent (the email is in {services}/sent):
  curl -s -X PUT {api}/accounts/acme/notification-types/order-shipped \
       -H "Authorization: Bearer $HERALD_TOKEN" -H 'Content-Type: application/json' \
       -d '{{"name": "Order shipped", "channels": {{"email": {{}}}}}}'
  curl -s -X POST {api}/accounts/acme/notification-rules -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"name": "Tell the buyer", "eventName": "order.shipped", "type": "order-shipped",
            "recipients": {{"path": "eventData.buyers[*]"}},
            "templates": {{"email": {{"en": {{"subject": "Order {{{{ data.orderId }}}} shipped",
                                            "text": "Hi {{{{ recipient.name }}}}"}}}}}}}}'
  curl -s -X POST {api}/accounts/acme/events -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"sender": "my-service", "eventName": "order.shipped", "eventData": {{"orderId": "42",
            "buyers": [{{"id": "jane", "name": "Jane", "email": "jane@example.com"}}]}}}}'
  curl -s "{api}/accounts/acme/notifications?recipient=jane" -H "Authorization: Bearer $HERALD_TOKEN"

  # SMS settings and a message:
  curl -s -i {api}/accounts/acme/sms-settings -H "Authorization: Bearer $HERALD_TOKEN"
  curl -s -X PUT {api}/accounts/acme/sms-settings -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"senderName": "Acme", "primaryProvider": "twilio", "secondaryProvider": "vonage"}}'
  curl -s -X POST {api}/accounts/acme/messages/sms -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' -d '{{"to": "+4712345678", "text": "Your code is 1234"}}'
  curl -s {api}/accounts/acme/logs/sms -H "Authorization: Bearer $HERALD_TOKEN"

  # Email through the account's own SMTP server (here the local one); without it, through SES:
  curl -s -X PUT {api}/accounts/acme/email-settings -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"fromAddressPrefix": "hello", "senderName": "Acme Support",
            "smtp": {{"host": "127.0.0.1", "port": 587, "senderAddress": "hello@acme.example",
                     "disableCertificateValidation": true,
                     "auth": {{"type": "basic", "username": "{user}", "password": "{password}"}}}}}}'
  curl -s -X POST {api}/accounts/acme/messages/email -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' \
       -d '{{"to": "jane@example.com", "subject": "Welcome", "text": "Hello Jane"}}'
  curl -s {api}/accounts/acme/logs/email -H "Authorization: Bearer $HERALD_TOKEN"

  # A sending domain, with the DNS records to publish:
  curl -s -X POST {api}/accounts/acme/domains -H "Authorization: Bearer $HERALD_TOKEN" \
       -H 'Content-Type: application/json' -d '{{"domain": "acme.com"}}'

  # What was sent, newest first:
  curl -s {services}/sent

  # A function invoked directly with a sample event, as `sam local invoke` would:
  PATH=$PWD/.venv/bin:$PATH cargo lambda invoke -A 127.0.0.1 -P {lambda} api \
       --data-file events/api/get-sms-settings.json

Ctrl-C stops everything.
"#,
        aws = stack.aws_endpoint,
        pubsub = stack.google.pubsub_url,
        google_key = stack.google.key_file.display(),
        google_token = stack.google.token_url,
        user = stack::SMTP_USER,
        password = stack::SMTP_PASSWORD,
    );
}
