//! Cold-start figures: each function's release binary (stripped by the profile) and its init
//! time, from process start to its first request to the Lambda runtime API, served here by a
//! local stand-in that never answers it. Both are set beside lambda_runtime's hello world,
//! built with the same profile and started the same way, in the same rounds.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::mpsc;

use crate::Result;
use crate::template::{Physical, Template};

/// The baseline: `bench/hello-lambda`.
pub const HELLO: &str = "hello-lambda";

/// Rounds counted (after one warm-up round); each round starts every binary once. A start
/// takes a few milliseconds, so many rounds cost seconds and keep the medians steady on a
/// shared machine.
const ROUNDS: usize = 51;

pub struct ColdStart {
    pub binary: String,
    pub size: u64,
    pub init: Duration,
}

/// What the runtime-API stand-in saw: a function asking for its first event, or reporting that
/// its init failed.
enum Seen {
    Next(Instant),
    InitError(String),
}

/// Every resource of the template as a name and ARN that exist nowhere: init must not call AWS.
fn placeholders(template: &Template) -> Physical {
    let mut physical = Physical::default();
    for (id, resource) in &template.resources {
        let name = format!("{}-{id}", crate::template::STACK);
        let reference = if resource.kind == "AWS::SQS::Queue" {
            format!(
                "https://sqs.{}.amazonaws.com/{}/{name}",
                crate::template::REGION,
                crate::template::ACCOUNT
            )
        } else {
            name.clone()
        };
        physical.refs.insert(id.clone(), reference);
        physical.arns.insert(
            id.clone(),
            format!(
                "arn:aws:placeholder:{}:{}:{name}",
                crate::template::REGION,
                crate::template::ACCOUNT
            ),
        );
    }
    physical
}

/// Each function's environment as the template declares it, the baseline's empty.
fn environments(root: &Path) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut template = Template::load(&root.join("template.yaml"))?;
    for (name, value) in crate::stack::local_parameters(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        "http://127.0.0.1:9/issuer",
    ) {
        template.set_parameter(name, value);
    }
    let physical = placeholders(&template);
    let mut out = BTreeMap::new();
    for f in template.functions() {
        out.insert(f.binary.clone(), f.environment(&template, &physical)?);
    }
    out.insert(HELLO.to_owned(), BTreeMap::new());
    Ok(out)
}

async fn stand_in() -> Result<(String, mpsc::UnboundedReceiver<Seen>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let next = tx.clone();
    let app = Router::new()
        .route(
            "/2018-06-01/runtime/invocation/next",
            get(move || {
                let _ = next.send(Seen::Next(Instant::now()));
                // Never answered: the process is stopped once its init is timed.
                std::future::pending::<()>()
            }),
        )
        .route(
            "/2018-06-01/runtime/init/error",
            post(move |body: String| {
                let _ = tx.send(Seen::InitError(body));
                async { "" }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((address, rx))
}

/// Starts `binary` with only Lambda's own variables and its declared environment, and times
/// it to its first `GET /next`.
async fn init_once(
    path: &Path,
    binary: &str,
    env: &BTreeMap<String, String>,
    runtime_api: &str,
    seen: &mut mpsc::UnboundedReceiver<Seen>,
) -> Result<Duration> {
    let mut command = Command::new(path);
    command
        .env_clear()
        .envs(env)
        .envs([
            ("AWS_LAMBDA_RUNTIME_API", runtime_api),
            ("AWS_LAMBDA_FUNCTION_NAME", binary),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
            ("AWS_REGION", crate::template::REGION),
            ("AWS_DEFAULT_REGION", crate::template::REGION),
            ("AWS_ACCESS_KEY_ID", "AKIDBENCH"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
            ("AWS_SESSION_TOKEN", "bench"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = command.spawn()?;
    let result = tokio::time::timeout(Duration::from_secs(10), seen.recv()).await;
    let _ = child.kill();
    let output = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    match result {
        Ok(Some(Seen::Next(at))) => Ok(at - start),
        Ok(Some(Seen::InitError(body))) => {
            Err(format!("{binary} reported an init error: {body}\n{stderr}").into())
        }
        _ => Err(format!("{binary} never asked the runtime API for an event\n{stderr}").into()),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Builds every function and the baseline (release profile), then times their inits.
pub fn measure(root: &Path) -> Result<Vec<ColdStart>> {
    let envs = environments(root)?;
    eprintln!("==> cargo build --release (every function and the hello-world baseline)");
    let mut build = crate::cargo(root);
    build.args(["build", "--release", "--workspace"]);
    for binary in envs.keys() {
        build.args(["--bin", binary]);
    }
    if !build.status()?.success() {
        return Err("the release build failed".into());
    }
    let dir = root.join("target/release");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let (address, mut seen) = stand_in().await?;
        eprintln!("==> timing inits: {ROUNDS} rounds, every binary once a round");
        let mut times: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
        for round in 0..=ROUNDS {
            for (binary, env) in &envs {
                let took = init_once(&dir.join(binary), binary, env, &address, &mut seen).await?;
                // Round 0 warms the page cache and is not counted.
                if round > 0 {
                    times.entry(binary).or_default().push(took);
                }
            }
        }
        envs.keys()
            .map(|binary| {
                Ok(ColdStart {
                    binary: binary.clone(),
                    size: std::fs::metadata(dir.join(binary))?.len(),
                    init: median(times.remove(binary.as_str()).unwrap_or_default()),
                })
            })
            .collect()
    })
}
