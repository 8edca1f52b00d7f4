//! Signatures checked by code no one here wrote: the reference document's Node.js snippet, and
//! the `standardwebhooks`, `twilio` and `vonage-http-client` libraries from PyPI (in the local
//! `.venv`).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::stack_var;

fn run(mut command: Command, stdin: &[u8]) -> (bool, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("written");
    let out = child.wait_with_output().expect("finished");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text.trim().to_owned())
}

/// The reference's snippet, as an integrator would run it on the parsed request body:
/// `crypto.createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex').toUpperCase()`.
pub fn node_reference_signature(secret: &str, body: &[u8]) -> String {
    const SNIPPET: &str = r#"
const crypto = require('crypto');
const secret = process.argv[1];
const payload = JSON.parse(require('fs').readFileSync(0, 'utf8'));

const hmac = crypto.createHmac('sha256', secret);
const signature = hmac.update(JSON.stringify(payload)).digest('hex').toUpperCase();
console.log(signature)
"#;
    let mut node = Command::new("node");
    node.args(["-e", SNIPPET, secret]);
    let (ok, out) = run(node, body);
    assert!(ok, "node failed: {out}");
    out
}

/// Verifies a request with the `standardwebhooks` library; `Err` with its message if it
/// refuses.
pub fn standard_webhooks_verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> Result<(), String> {
    const SCRIPT: &str = r#"
import sys
from standardwebhooks.webhooks import Webhook
secret, msg_id, timestamp, signature = sys.argv[1:5]
headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
Webhook(secret).verify(sys.stdin.buffer.read(), headers)
print("verified")
"#;
    let mut python = Command::new(stack_var("HERALD_TEST_PYTHON"));
    python.args(["-c", SCRIPT, secret, id, timestamp, signature]);
    let (ok, out) = run(python, body);
    if ok { Ok(()) } else { Err(out) }
}

/// `X-Twilio-Signature` as Twilio's own helper library computes it (`RequestValidator`).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    const SCRIPT: &str = r#"
import json, sys
from twilio.request_validator import RequestValidator
token, url = sys.argv[1:3]
params = json.loads(sys.stdin.read())
print(RequestValidator(token).compute_signature(url, params))
"#;
    let params: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
        .collect();
    let mut python = Command::new(stack_var("HERALD_TEST_PYTHON"));
    python.args(["-c", SCRIPT, auth_token, url]);
    let (ok, out) = run(
        python,
        serde_json::Value::Object(params).to_string().as_bytes(),
    );
    assert!(ok, "twilio's RequestValidator failed: {out}");
    out
}

/// Vonage's `sig` as its own helper library computes it (`vonage_http_client.Auth`), for a
/// signature secret and HMAC method (`md5`, `sha1`, `sha256`, `sha512`).
pub fn vonage_signature(
    api_key: &str,
    secret: &str,
    method: &str,
    params: &[(&str, &str)],
) -> String {
    const SCRIPT: &str = r#"
import json, sys
from vonage_http_client.auth import Auth
api_key, secret, method = sys.argv[1:4]
params = json.loads(sys.stdin.read())
auth = Auth(api_key=api_key, signature_secret=secret, signature_method=method)
print(auth.sign_params(params))
"#;
    let params: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
        .collect();
    let mut python = Command::new(stack_var("HERALD_TEST_PYTHON"));
    python.args(["-c", SCRIPT, api_key, secret, method]);
    let (ok, out) = run(
        python,
        serde_json::Value::Object(params).to_string().as_bytes(),
    );
    assert!(ok, "vonage's Auth.sign_params failed: {out}");
    out
}
