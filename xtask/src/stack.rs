//! The local stack shared by `dev` and `test`: moto on loopback as AWS, the template's resources
//! created on it, and every function served by `cargo lambda watch`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::process::{Guarded, free_port, run};

/// The local SMTP servers' account.
pub const SMTP_USER: &str = "herald";
pub const SMTP_PASSWORD: &str = "local-smtp-password";
use crate::template::Template;
use crate::venv::Venv;

pub struct Options {
    /// How often schedules fire (EventBridge's rates, hurried for local runs).
    pub schedule_period: Duration,
    pub moto_port: u16,
    pub lambda_port: u16,
    /// Where moto's request log goes, and the functions' output unless `functions_to_terminal`.
    pub log_dir: PathBuf,
    pub functions_to_terminal: bool,
    pub dev_secret: String,
}

pub struct Stack {
    /// The local SMS providers and OAuth token endpoint (see `fakes.rs`).
    pub fakes_url: String,
    /// Where the local SMTP servers write each message they accept (one JSON line each).
    pub smtp_log: PathBuf,
    /// The zone files of the local DNS server (see `xtask/servers/dns.py`).
    pub dns_zones: PathBuf,
    /// The Lambda invoke API of `cargo lambda watch`.
    pub lambda_url: String,
    pub api_url: String,
    pub aws_endpoint: String,
    /// The AWS calls the functions made so far, by function and operation (see `aws_calls.rs`).
    pub aws_calls_url: String,
    /// What every function (and a test standing in for one) gets: the template's variables
    /// resolved to the local resources, and the AWS SDK pointed at moto.
    pub env: BTreeMap<String, String>,
    /// Runs the fake providers and the queue pumps; dropping it stops them.
    background: Option<tokio::runtime::Runtime>,
    // Dropped (so killed) in reverse order: functions before moto.
    children: Vec<Guarded>,
}

fn log_file(dir: &Path, name: &str) -> Result<(Stdio, Stdio)> {
    std::fs::create_dir_all(dir)?;
    let file = File::create(dir.join(format!("{name}.log")))?;
    Ok((Stdio::from(file.try_clone()?), Stdio::from(file)))
}

/// The stack parameters of local runs: every provider offered, through the stand-ins at
/// `fakes_url`, and delivery receipts back to the local API.
pub fn local_parameters(fakes_url: &str, lambda_port: u16) -> Vec<(&'static str, String)> {
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
        // Webhook receivers of local runs and tests listen on loopback over plain http.
        ("WebhookAllowHttp", "true".to_owned()),
        ("WebhookAllowedNetworks", "127.0.0.0/8,::1/128".to_owned()),
        // Providers' delivery receipts come back to the local API.
        (
            "PublicApiUrl",
            format!("http://127.0.0.1:{lambda_port}/lambda-url/api"),
        ),
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
    let deadline = Instant::now() + Duration::from_secs(30);
    while !crate::process::port_in_use(port) {
        if Instant::now() > deadline {
            return Err(format!("{what} did not start (see {})", log.display()).into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

pub fn start(root: &Path, venv: &Venv, options: &Options) -> Result<Stack> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut template = Template::load(&root.join("template.yaml"))?;
    let functions = template.functions();
    let mut children = Vec::new();

    // Build first, so a compile error shows here, plainly, and `cargo lambda watch` starts warm
    // (its `cargo run --bin <name>` finds the same artifacts).
    eprintln!("==> building the functions");
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build.current_dir(root).arg("build");
    for f in &functions {
        build.args(["--bin", &f.binary]);
    }
    run("cargo build (functions)", &mut build)?;

    eprintln!("==> starting moto on 127.0.0.1:{}", options.moto_port);
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

    // The fake providers first: the functions are told where they are.
    let background = tokio::runtime::Runtime::new()?;
    // The functions reach moto through a proxy that counts their calls.
    let proxy_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    proxy_listener.set_nonblocking(true)?;
    let functions_aws_endpoint = format!("http://{}", proxy_listener.local_addr()?);
    let aws_calls_url = format!("{functions_aws_endpoint}{}", crate::aws_calls::COUNTS_PATH);
    let upstream = aws_endpoint.clone();
    background.spawn(async move {
        if let Ok(listener) = tokio::net::TcpListener::from_std(proxy_listener) {
            crate::aws_calls::serve(listener, upstream).await;
        }
    });
    let fakes_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    fakes_listener.set_nonblocking(true)?;
    let fakes_url = format!("http://{}", fakes_listener.local_addr()?);
    background.spawn(async move {
        if let Ok(listener) = tokio::net::TcpListener::from_std(fakes_listener) {
            let _ = axum::serve(listener, crate::fakes::router()).await;
        }
    });
    eprintln!("==> fake SMS providers (Twilio, Vonage) on {fakes_url}");
    for (name, value) in local_parameters(&fakes_url, options.lambda_port) {
        template.set_parameter(name, value);
    }

    // Real SMTP servers (aiosmtpd) on loopback for the ports accounts may choose.
    let smtp_ports = [free_port()?, free_port()?, free_port()?];
    let smtp_log = options.log_dir.join("smtp-messages.jsonl");
    std::fs::create_dir_all(&options.log_dir)?;
    std::fs::write(&smtp_log, "")?;
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

    eprintln!("==> creating the template's resources");
    let physical = runtime.block_on(crate::provision::provision(&template, &aws_endpoint))?;

    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for f in &functions {
        for (k, v) in f.environment(&template, &physical)? {
            if let Some(old) = env.get(&k).filter(|old| **old != v) {
                // One watch process serves every function, with one environment.
                return Err(format!(
                    "{k} is {old} for one function and {v} for {}: give them distinct names",
                    f.binary
                )
                .into());
            }
            env.insert(k, v);
        }
    }
    for (k, v) in aws_env(&functions_aws_endpoint) {
        env.insert(k.to_owned(), v);
    }
    env.insert("HERALD_DEV_JWT_SECRET".into(), options.dev_secret.clone());
    env.insert("HERALD_ALLOW_HTTP_URLS".into(), "true".into());
    env.insert(
        "HERALD_SMTP_PORT_MAP".into(),
        format!(
            "25:{},587:{},465:{}",
            smtp_ports[0], smtp_ports[1], smtp_ports[2]
        ),
    );
    env.entry("RUST_LOG".into())
        .or_insert_with(|| "info".into());

    eprintln!(
        "==> starting the functions ({}) with cargo lambda watch on 127.0.0.1:{}",
        functions
            .iter()
            .map(|f| f.binary.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        options.lambda_port
    );
    let (out, err) = if options.functions_to_terminal {
        (Stdio::inherit(), Stdio::inherit())
    } else {
        log_file(&options.log_dir, "functions")?
    };
    let watch = Guarded::spawn(
        "cargo lambda watch",
        Command::new(venv.tool("cargo-lambda"))
            .current_dir(root)
            .args(["lambda", "watch", "--ignore-changes", "--quiet"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &options.lambda_port.to_string()])
            .env("PATH", venv.path_env())
            .envs(&env)
            .stdout(out)
            .stderr(err),
    )?;
    children.push(watch);

    let lambda_url = format!("http://127.0.0.1:{}", options.lambda_port);
    let api_url = format!("{lambda_url}/lambda-url/api");
    // Any answer from the API itself (401 without a token) means it is up.
    runtime.block_on(wait_for(
        &format!("{api_url}/sms-providers"),
        "the api function",
        |s| s == 401,
        Duration::from_secs(600),
    ))?;
    for child in &mut children {
        child.check_alive()?;
    }

    let sqs_config = runtime.block_on(crate::provision::sdk_config(&aws_endpoint));
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
                aws_sdk_sqs::Client::new(&sqs_config),
                lambda_url.clone(),
                options.log_dir.join("pump.log"),
            ));
        }
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
        fakes_url,
        smtp_log,
        dns_zones,
        background: Some(background),
        lambda_url,
        api_url,
        aws_endpoint,
        aws_calls_url,
        env,
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
            .env("HERALD_TEST_FAKES_URL", &self.fakes_url)
            .env("HERALD_TEST_AWS_CALLS_URL", &self.aws_calls_url)
            .env("HERALD_TEST_SMTP_LOG", &self.smtp_log)
            .env("HERALD_TEST_SMTP_USER", SMTP_USER)
            .env("HERALD_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
            .env(
                "HERALD_TEST_OAUTH_SECRET",
                crate::fakes::OAUTH_CLIENT_SECRET,
            )
            .env("HERALD_TEST_PYTHON", venv.tool("python"))
            .env("HERALD_TEST_DNS_ZONES", &self.dns_zones);
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
