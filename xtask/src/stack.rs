//! The local stack shared by `dev` and `test`: moto on loopback as AWS, the template's resources
//! created on it, every function's binary connected to a local Lambda runtime (`cargo lambda
//! watch --only-lambda-apis`), and in front of them what AWS wires up from the template: the
//! HTTP API with its JWT authorizer (see `gateway.rs`), the queues' event source mappings and
//! the schedules (see `pump.rs`). Beside them, the local services: the token issuer, the SMS
//! providers and OAuth token endpoint, a webhook inbox, and the list of everything sent.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::issuer::Issuer;
use crate::process::{Guarded, free_port, run};
use crate::sent::{Console, SentLog};

/// The local SMTP servers' account.
pub const SMTP_USER: &str = "herald";
pub const SMTP_PASSWORD: &str = "local-smtp-password";
use crate::template::Template;
use crate::venv::Venv;

pub struct Options {
    /// How often schedules fire (EventBridge's rates, hurried for local runs).
    pub schedule_period: Duration,
    pub moto_port: u16,
    /// The HTTP API (the local API Gateway).
    pub api_port: u16,
    /// The local services: token issuer, SMS providers, webhook inbox, what was sent.
    pub services_port: u16,
    /// Where every part's log goes: moto, each function, the gateway, the pumps.
    pub log_dir: PathBuf,
    /// One line per request and per message sent on the terminal (dev).
    pub console: bool,
    /// The functions' own logs on the terminal too (`cargo xtask dev --logs`).
    pub function_logs_to_terminal: bool,
}

pub struct Stack {
    /// The local services (see `fakes.rs`, `issuer.rs`, `inbox.rs`, `sent.rs`).
    pub services_url: String,
    pub issuer: Issuer,
    /// Where the local SMTP servers write each message they accept (one JSON line each).
    pub smtp_log: PathBuf,
    /// The zone files of the local DNS server (see `xtask/servers/dns.py`).
    pub dns_zones: PathBuf,
    /// The local Azure Service Bus (see `xtask/servers/servicebus.py`).
    pub servicebus_url: String,
    /// The Lambda invoke API of the local runtime.
    pub lambda_url: String,
    /// The HTTP API, as API Gateway serves it.
    pub api_url: String,
    pub aws_endpoint: String,
    /// Google's Pub/Sub emulator and a Google token endpoint (see `start_google`).
    pub google: Google,
    /// The AWS calls the functions made so far, by function and operation (see `aws_calls.rs`).
    pub aws_calls_url: String,
    /// The template's variables of every function resolved to the local resources, and the
    /// AWS SDK pointed at moto: what a test standing in for a function gets.
    pub env: BTreeMap<String, String>,
    /// The audience the HTTP API's authorizer wants in tokens.
    pub audience: String,
    /// Runs the local services, the gateway and the queue pumps; dropping it stops them.
    background: Option<tokio::runtime::Runtime>,
    // Dropped (so killed) in reverse order: functions before the runtime before moto.
    children: Vec<Guarded>,
}

fn log_file(dir: &Path, name: &str) -> Result<(Stdio, Stdio)> {
    std::fs::create_dir_all(dir)?;
    let file = File::create(dir.join(format!("{name}.log")))?;
    Ok((Stdio::from(file.try_clone()?), Stdio::from(file)))
}

/// The stack parameters of local runs: every provider offered, through the stand-ins at
/// `fakes_url`, and delivery receipts back to the local API.
pub fn local_parameters(
    fakes_url: &str,
    api_url: &str,
    issuer: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("SmsProviders", "sns,twilio,vonage".to_owned()),
        ("TwilioBaseUrl", format!("{fakes_url}/twilio")),
        ("TwilioAccountSid", crate::fakes::TWILIO_SID.to_owned()),
        ("TwilioAuthToken", crate::fakes::TWILIO_TOKEN.to_owned()),
        ("VonageBaseUrl", format!("{fakes_url}/vonage")),
        ("VonageApiKey", crate::fakes::VONAGE_KEY.to_owned()),
        ("VonageApiSecret", crate::fakes::VONAGE_SECRET.to_owned()),
        (
            "VonageSignatureSecret",
            crate::fakes::VONAGE_SIGNATURE_SECRET.to_owned(),
        ),
        ("VonageSignatureMethod", "sha256".to_owned()),
        // Webhook receivers, token endpoints and SMTP servers of local runs and tests listen
        // on loopback, over plain http for the HTTP ones. Every other refused range stays
        // refused, as in a deployment.
        ("DestinationAllowHttp", "true".to_owned()),
        (
            "DestinationAllowedNetworks",
            "127.0.0.0/8,::1/128".to_owned(),
        ),
        ("DestinationAllowedHosts", "localhost".to_owned()),
        // Cloud destinations' emulators (Pub/Sub, Service Bus, moto for SQS, SNS and
        // EventBridge) listen on loopback too.
        (
            "DestinationAllowedEndpoints",
            "http://127.0.0.1:*".to_owned(),
        ),
        // Providers' delivery receipts come back to the local API, through its gateway.
        ("PublicApiUrl", api_url.to_owned()),
        // Tokens come from the local issuer, whose keys the gateway's authorizer fetches.
        ("JwtIssuer", issuer.to_owned()),
    ]
}

/// The AWS SDK's standard variables, pointing at the emulated AWS.
pub fn aws_env(endpoint: &str) -> [(&'static str, String); 6] {
    [
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", crate::template::REGION.to_owned()),
        ("AWS_DEFAULT_REGION", crate::template::REGION.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

async fn wait_for(
    url: &str,
    what: &str,
    ready: impl Fn(u16) -> bool,
    limit: Duration,
) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let deadline = Instant::now() + limit;
    loop {
        match client.get(url).send().await {
            Ok(r) if ready(r.status().as_u16()) => return Ok(()),
            _ if Instant::now() > deadline => {
                return Err(
                    format!("{what} did not become ready at {url} within {limit:?}").into(),
                );
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Waits until something listens on the loopback TCP port (a child server started).
fn wait_until_listening(port: u16, what: &str, log: &Path) -> Result<()> {
    wait_until_listening_for(port, what, log, Duration::from_secs(30))
}

fn wait_until_listening_for(port: u16, what: &str, log: &Path, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !crate::process::port_in_use(port) {
        if Instant::now() > deadline {
            return Err(format!("{what} did not start (see {})", log.display()).into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Where cargo puts the functions' debug binaries.
fn binaries(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| root.join(d))
        .unwrap_or_else(|| root.join("target"))
        .join("debug")
}

/// Binds a loopback port for a server the background runtime will serve.
fn listen(port: u16, what: &str) -> Result<(std::net::TcpListener, String)> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("{what}: cannot listen on 127.0.0.1:{port} ({e})"))?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((listener, url))
}

fn serve(background: &tokio::runtime::Runtime, listener: std::net::TcpListener, app: axum::Router) {
    background.spawn(async move {
        if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            let _ = axum::serve(listener, app).await;
        }
    });
}

/// Where Google Cloud's SDK installs the Pub/Sub emulator (`gcloud components install
/// pubsub-emulator`, or the `google-cloud-cli-pubsub-emulator` package).
const PUBSUB_EMULATOR: &str =
    "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator";

/// Google Cloud for `google-pubsub` subscriptions: Google's own Pub/Sub emulator, and a token
/// endpoint (`xtask/servers/google_token.py`) that verifies service-account assertions with
/// Google's auth library. The endpoint makes one service-account key at start, whose
/// `token_uri` is itself.
pub struct Google {
    /// The emulator's origin: a subscription's `endpoint`.
    pub pubsub_url: String,
    pub token_url: String,
    /// The service-account key, as Google Cloud's console downloads it.
    pub key_file: PathBuf,
}

fn start_google(
    venv: &Venv,
    root: &Path,
    log_dir: &Path,
    runtime: &tokio::runtime::Runtime,
    children: &mut Vec<Guarded>,
) -> Result<Google> {
    let emulator = std::env::var_os("HERALD_PUBSUB_EMULATOR")
        .map_or_else(|| PathBuf::from(PUBSUB_EMULATOR), PathBuf::from);
    if !emulator.exists() {
        return Err(format!(
            "Google's Pub/Sub emulator is not installed at {}: install it with `gcloud \
             components install pubsub-emulator` (or the google-cloud-cli-pubsub-emulator \
             package, with a Java runtime), or set HERALD_PUBSUB_EMULATOR to its \
             cloud-pubsub-emulator script",
            emulator.display()
        )
        .into());
    }
    let port = free_port()?;
    let pubsub_url = format!("http://127.0.0.1:{port}");
    let (out, err) = log_file(log_dir, "pubsub-emulator")?;
    let mut pubsub = Guarded::spawn(
        "the Pub/Sub emulator",
        Command::new(&emulator)
            .args(["--host=127.0.0.1", &format!("--port={port}")])
            .stdout(out)
            .stderr(err),
    )?;
    // A JVM: a few seconds before it answers.
    runtime.block_on(wait_for(
        &format!("{pubsub_url}/"),
        "the Pub/Sub emulator",
        |s| s == 200,
        Duration::from_secs(90),
    ))?;
    pubsub.check_alive()?;
    children.push(pubsub);
    eprintln!("==> Pub/Sub emulator on {pubsub_url}");

    let port = free_port()?;
    let key_file = log_dir.join("google-service-account.json");
    let _ = std::fs::remove_file(&key_file);
    let (out, err) = log_file(log_dir, "google-token")?;
    children.push(Guarded::spawn(
        "the Google token endpoint",
        Command::new(venv.tool("python"))
            .arg(root.join("xtask/servers/google_token.py"))
            .args(["--port", &port.to_string()])
            .arg("--key-file")
            .arg(&key_file)
            .stdout(out)
            .stderr(err),
    )?);
    wait_until_listening_for(
        port,
        "the Google token endpoint",
        &log_dir.join("google-token.log"),
        Duration::from_secs(60),
    )?;
    let token_url = format!("http://127.0.0.1:{port}/token");
    eprintln!(
        "==> Google token endpoint on {token_url} (its service-account key: {})",
        key_file.display()
    );
    Ok(Google {
        pubsub_url,
        token_url,
        key_file,
    })
}

pub fn start(root: &Path, venv: &Venv, options: &Options) -> Result<Stack> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut template = Template::load(&root.join("template.yaml"))?;
    let functions = template.functions();
    let mut children = Vec::new();
    std::fs::create_dir_all(&options.log_dir)?;
    let console = Console {
        to_terminal: options.console,
        log_file: options.log_dir.join("requests.log"),
    };
    let _ = std::fs::remove_file(&console.log_file);

    // Build first, so a compile error shows here, plainly; the runtime then runs these very
    // binaries, and nothing holds cargo's build lock while the stack runs.
    eprintln!("==> building the functions (cargo build)");
    let mut build = crate::cargo(root);
    build.arg("build");
    for f in &functions {
        build.args(["--bin", &f.binary]);
    }
    run("cargo build (functions)", &mut build)?;

    eprintln!(
        "==> starting moto (the emulated AWS) on 127.0.0.1:{}",
        options.moto_port
    );
    let aws_endpoint = format!("http://127.0.0.1:{}", options.moto_port);
    let (out, err) = log_file(&options.log_dir, "moto")?;
    let mut moto = Guarded::spawn(
        "moto",
        Command::new(venv.tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &options.moto_port.to_string()])
            .stdout(out)
            .stderr(err),
    )?;
    runtime.block_on(wait_for(
        &format!("{aws_endpoint}/moto-api/"),
        "moto",
        |s| s == 200,
        Duration::from_secs(60),
    ))?;
    moto.check_alive()?;
    children.push(moto);

    let google = start_google(venv, root, &options.log_dir, &runtime, &mut children)?;

    let background = tokio::runtime::Runtime::new()?;
    let (api_listener, api_url) = listen(options.api_port, "the HTTP API")?;
    let (services_listener, services_url) = listen(options.services_port, "the local services")?;
    let smtp_log = options.log_dir.join("smtp-messages.jsonl");
    std::fs::write(&smtp_log, "")?;
    let sent = SentLog::new(console.clone(), &smtp_log);
    let issuer = Issuer::load(&services_url, &root.join(".herald/dev-issuer-key.der"))?;

    // The functions reach moto through a proxy that counts their calls.
    let (proxy_listener, functions_aws_endpoint) = listen(0, "the AWS proxy")?;
    let aws_calls_url = format!("{functions_aws_endpoint}{}", crate::aws_calls::COUNTS_PATH);
    let upstream = aws_endpoint.clone();
    let proxy_sent = sent.clone();
    // What the functions use of AWS: recorded by the proxy and by the SQS-to-Lambda pumps,
    // which reach moto directly.
    let usage = crate::aws_calls::Usage::default();
    let proxy_usage = usage.clone();
    background.spawn(async move {
        if let Ok(listener) = tokio::net::TcpListener::from_std(proxy_listener) {
            crate::aws_calls::serve(listener, upstream, proxy_sent, proxy_usage).await;
        }
    });
    let (inbox, inbox_secrets) = crate::inbox::router(sent.clone());
    let clock = crate::scheduler::Clock::default();
    let services = crate::fakes::router(sent.clone())
        .merge(crate::scheduler::router(clock.clone()))
        .merge(issuer.router())
        .merge(inbox)
        .merge(sent.router())
        .merge(crate::sign_in::router(
            issuer.clone(),
            template
                .parameter("JwtAudience")
                .unwrap_or_default()
                .to_owned(),
            api_url.clone(),
        ));
    serve(&background, services_listener, services);
    background.spawn(sent.clone().follow_smtp());
    eprintln!("==> local services on {services_url}: token issuer, Twilio, Vonage, webhook inbox");
    for (name, value) in local_parameters(&services_url, &api_url, &issuer.url) {
        template.set_parameter(name, value);
    }

    // Real SMTP servers (aiosmtpd) on loopback for the ports accounts may choose.
    let smtp_ports = [free_port()?, free_port()?, free_port()?];
    let (out, err) = log_file(&options.log_dir, "smtp")?;
    let smtp = Guarded::spawn(
        "the SMTP servers",
        Command::new(venv.tool("python"))
            .arg(root.join("xtask/servers/smtp.py"))
            .arg("--log")
            .arg(&smtp_log)
            .arg("--ports")
            .arg(format!(
                "25={},587={},465={}",
                smtp_ports[0], smtp_ports[1], smtp_ports[2]
            ))
            .args(["--user", SMTP_USER, "--password", SMTP_PASSWORD])
            .args(["--token-prefix", crate::fakes::TOKEN_PREFIX])
            .stdout(out)
            .stderr(err),
    )?;
    children.push(smtp);
    for port in smtp_ports {
        wait_until_listening(port, "the SMTP servers", &options.log_dir.join("smtp.log"))?;
    }
    eprintln!(
        "==> SMTP servers: 25 → {}, 587 → {}, 465 → {} (127.0.0.1)",
        smtp_ports[0], smtp_ports[1], smtp_ports[2]
    );

    // A real DNS server (dnslib) on loopback, serving zone files the tests write.
    let dns_port = free_port()?;
    let dns_zones = options.log_dir.join("dns-zones");
    let _ = std::fs::remove_dir_all(&dns_zones);
    std::fs::create_dir_all(&dns_zones)?;
    let (out, err) = log_file(&options.log_dir, "dns")?;
    children.push(Guarded::spawn(
        "the DNS server",
        Command::new(venv.tool("python"))
            .arg(root.join("xtask/servers/dns.py"))
            .args(["--port", &dns_port.to_string()])
            .arg("--zones")
            .arg(&dns_zones)
            .stdout(out)
            .stderr(err),
    )?);
    wait_until_listening(dns_port, "the DNS server", &options.log_dir.join("dns.log"))?;
    template.set_parameter("DnsNameservers", format!("127.0.0.1:{dns_port}"));
    eprintln!(
        "==> DNS server on 127.0.0.1:{dns_port} (zones in {})",
        dns_zones.display()
    );

    // A local Azure Service Bus speaking the REST wire format, checking shared access
    // signatures as Microsoft documents them.
    let servicebus_port = free_port()?;
    let (out, err) = log_file(&options.log_dir, "servicebus")?;
    children.push(Guarded::spawn(
        "the Service Bus server",
        Command::new(venv.tool("python"))
            .arg(root.join("xtask/servers/servicebus.py"))
            .args(["--port", &servicebus_port.to_string()])
            .stdout(out)
            .stderr(err),
    )?);
    wait_until_listening(
        servicebus_port,
        "the Service Bus server",
        &options.log_dir.join("servicebus.log"),
    )?;
    let servicebus_url = format!("http://127.0.0.1:{servicebus_port}");
    eprintln!("==> Azure Service Bus on {servicebus_url}");

    eprintln!("==> creating the template's resources");
    let physical = runtime.block_on(crate::provision::provision(&template, &aws_endpoint))?;

    // What only local runs add: the SDK pointed at moto, and the SMTP ports accounts choose
    // mapped to the local servers'.
    let mut local: BTreeMap<String, String> = aws_env(&functions_aws_endpoint)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    local.insert(
        "HERALD_SMTP_PORT_MAP".into(),
        format!(
            "25:{},587:{},465:{}",
            smtp_ports[0], smtp_ports[1], smtp_ports[2]
        ),
    );
    local.insert(
        "RUST_LOG".into(),
        std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
    );
    let mut env = local.clone();
    let mut function_envs = Vec::new();
    for f in &functions {
        // Each function gets the environment the template gives it, and nothing more.
        let mut own = f.environment(&template, &physical)?;
        for (k, v) in &own {
            env.entry(k.clone()).or_insert_with(|| v.clone());
        }
        own.extend(local.clone());
        function_envs.push((f.binary.clone(), own));
    }

    let lambda_port = free_port()?;
    let lambda_url = format!("http://127.0.0.1:{lambda_port}");
    eprintln!("==> starting the local Lambda runtime (cargo lambda watch --only-lambda-apis)");
    let (out, err) = log_file(&options.log_dir, "runtime")?;
    children.push(Guarded::spawn(
        "the local Lambda runtime",
        Command::new(venv.tool("cargo-lambda"))
            .current_dir(root)
            .args(["lambda", "watch", "--only-lambda-apis"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &lambda_port.to_string()])
            .env("PATH", venv.path_env())
            .env("RUST_LOG", "cargo_lambda=warn")
            .stdout(out)
            .stderr(err),
    )?);
    wait_until_listening(
        lambda_port,
        "the local Lambda runtime",
        &options.log_dir.join("runtime.log"),
    )?;

    let dir = binaries(root);
    for (binary, own) in &function_envs {
        let (out, err) = if options.function_logs_to_terminal {
            (Stdio::inherit(), Stdio::inherit())
        } else {
            log_file(&options.log_dir, binary)?
        };
        children.push(Guarded::spawn(
            binary,
            Command::new(dir.join(binary))
                .current_dir(root)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .envs(own)
                .env(
                    "AWS_LAMBDA_RUNTIME_API",
                    format!("{lambda_url}/.rt/{binary}"),
                )
                .env("AWS_LAMBDA_FUNCTION_NAME", binary)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .stdout(out)
                .stderr(err),
        )?);
    }
    eprintln!(
        "==> functions running: {} (logs in {}/<function>.log)",
        function_envs
            .iter()
            .map(|(b, _)| b.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        options.log_dir.display()
    );

    let routes = crate::gateway::routes(&template, &physical)?;
    eprintln!(
        "==> HTTP API on {api_url}: {}",
        routes
            .iter()
            .map(|r| format!("{} → {}", r.key, r.function))
            .collect::<Vec<_>>()
            .join(", ")
    );
    serve(
        &background,
        api_listener,
        crate::gateway::router(routes, lambda_url.clone(), console.clone()),
    );
    // Any answer from the api function itself, through the gateway, means it is up.
    let audience = template
        .parameter("JwtAudience")
        .unwrap_or_default()
        .to_owned();
    let probe = issuer.mint(&audience, "-", false, Duration::from_secs(600))?;
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let answer = client
                .get(format!("{api_url}/sms-providers"))
                .bearer_auth(&probe)
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            match answer {
                Ok(r) if r.status() == 200 => return Ok(()),
                _ if Instant::now() > deadline => {
                    return Err(format!(
                        "the api function did not answer through {api_url} (see {})",
                        options.log_dir.display()
                    ));
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    })?;
    for child in &mut children {
        child.check_alive()?;
    }

    let sdk = runtime.block_on(crate::provision::sdk_config(&aws_endpoint));
    let _ = inbox_secrets.set(crate::inbox::Secrets {
        store: herald::adapters::dynamo::subscriptions::DynamoSubscriptionStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            env.get("HERALD_SUBSCRIPTIONS_TABLE")
                .cloned()
                .unwrap_or_default(),
        ),
        sealer: herald::adapters::kms::KmsSealer::new(
            aws_sdk_kms::Client::new(&sdk),
            env.get("HERALD_KMS_KEY_ID").cloned().unwrap_or_default(),
        ),
    });
    for f in &functions {
        for (queue, batch_size) in f.sqs_sources() {
            let mapping = crate::pump::Mapping {
                function: f.binary.clone(),
                queue_url: physical.refs.get(&queue).cloned().ok_or("no such queue")?,
                queue_arn: physical.arns.get(&queue).cloned().unwrap_or_default(),
                batch_size,
            };
            eprintln!("==> pumping {queue} into {}", f.binary);
            background.spawn(crate::pump::run(
                mapping,
                aws_sdk_sqs::Client::new(&sdk),
                lambda_url.clone(),
                options.log_dir.join("pump.log"),
                usage.clone(),
            ));
        }
    }
    let queues: HashMap<String, String> = template
        .resources
        .iter()
        .filter(|(_, r)| r.kind == "AWS::SQS::Queue")
        .filter_map(|(id, _)| {
            Some((
                physical.arns.get(id)?.clone(),
                physical.refs.get(id)?.clone(),
            ))
        })
        .collect();
    for (id, _) in template
        .resources
        .iter()
        .filter(|(_, r)| r.kind == "AWS::Scheduler::ScheduleGroup")
    {
        let group = physical
            .refs
            .get(id)
            .cloned()
            .ok_or("no such schedule group")?;
        eprintln!(
            "==> firing the one-time schedules of {group} when due (clock: {services_url}/_clock)"
        );
        background.spawn(crate::scheduler::run(
            group,
            aws_sdk_scheduler::Client::new(&sdk),
            aws_sdk_sqs::Client::new(&sdk),
            queues.clone(),
            clock.clone(),
            options.log_dir.join("pump.log"),
        ));
    }
    for f in functions.iter().filter(|f| f.scheduled()) {
        eprintln!(
            "==> firing {}'s schedule every {:?}",
            f.binary, options.schedule_period
        );
        background.spawn(crate::pump::schedule(
            f.binary.clone(),
            lambda_url.clone(),
            options.schedule_period,
            options.log_dir.join("pump.log"),
        ));
    }
    Ok(Stack {
        services_url,
        issuer,
        smtp_log,
        dns_zones,
        servicebus_url,
        background: Some(background),
        lambda_url,
        api_url,
        aws_endpoint,
        google,
        aws_calls_url,
        env,
        audience,
        children,
    })
}

impl Stack {
    /// Fails when a process of the stack has died.
    pub fn check_alive(&mut self) -> Result<()> {
        self.children.iter_mut().try_for_each(Guarded::check_alive)
    }
}

impl Stack {
    /// `command` (a `cargo test`) with what the tests need to reach this stack.
    pub fn test_command(&self, mut command: Command, venv: &Venv) -> Command {
        command
            .envs(&self.env)
            .env("HERALD_TEST_API_URL", &self.api_url)
            .env("HERALD_TEST_LAMBDA_URL", &self.lambda_url)
            .env("HERALD_TEST_FAKES_URL", &self.services_url)
            .env("HERALD_TEST_JWT_KEY_FILE", &self.issuer.key_file)
            .env("HERALD_TEST_JWT_KID", &self.issuer.kid)
            .env("HERALD_TEST_JWT_ISSUER", &self.issuer.url)
            .env("HERALD_TEST_JWT_AUDIENCE", &self.audience)
            .env("HERALD_TEST_AWS_CALLS_URL", &self.aws_calls_url)
            .env("HERALD_TEST_SMTP_LOG", &self.smtp_log)
            .env("HERALD_TEST_SMTP_USER", SMTP_USER)
            .env("HERALD_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
            .env(
                "HERALD_TEST_OAUTH_SECRET",
                crate::fakes::OAUTH_CLIENT_SECRET,
            )
            .env("HERALD_TEST_PYTHON", venv.tool("python"))
            .env("HERALD_TEST_DNS_ZONES", &self.dns_zones)
            .env("HERALD_TEST_PUBSUB_EMULATOR", &self.google.pubsub_url)
            .env("HERALD_TEST_GOOGLE_TOKEN_URL", &self.google.token_url)
            .env("HERALD_TEST_GOOGLE_KEY_FILE", &self.google.key_file)
            .env("HERALD_TEST_SERVICEBUS_URL", &self.servicebus_url);
        command
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(rt) = self.background.take() {
            rt.shutdown_background();
        }
        while let Some(child) = self.children.pop() {
            drop(child);
        }
    }
}
