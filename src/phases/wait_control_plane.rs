//! `wait-control-plane`: wait for the kubelet, then for kube-apiserver, kube-controller-manager
//! and kube-scheduler to answer their health endpoints (kubeadm
//! `app/cmd/phases/init/waitcontrolplane.go`, `app/util/apiclient/wait.go`).
//!
//! Differences from kubeadm, on purpose: probes run every [`POLL_INTERVAL`] (100 ms) instead of
//! 500 ms, so readiness is noticed sooner (see `benches/readiness.rs`); the apiserver is probed
//! over TLS trusting only the cluster CA (kubeadm skips verification; the controller-manager and
//! scheduler serve self-signed certificates, so those two are probed without verification as
//! kubeadm does); after `/livez` answers 200 the apiserver's `/readyz?verbose` must pass too,
//! and each of its checks is reported as [`Event::ReadyzCheck`].
//!
//! Every attempt is an [`Event::Probe`] (the wizard's health pane counts them), but the log
//! gets a line only when a component's state changes (a new answer, or healthy) and one
//! summary every [`SUMMARY_INTERVAL`] while something is still unhealthy ([`ProbeLog`]):
//! a 4-minute wait logs a few dozen lines, not 2,400.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::net::https_url;
use crate::engine::{Event, PhaseCtx, PhaseError, ProbeOutcome};
use crate::host::Host;

/// This phase has no sub-phases.
pub const SUBPHASES: &[(&str, &str)] = &[];

/// Time between two attempts on one endpoint.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How long one HTTP attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// How often, while a control-plane component is unhealthy, the container runtime is asked
/// (through `crictl`) whether its container keeps exiting.
pub const CRASH_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// Exits after which a component counts as failing at start: the kubelet restarted it and it
/// exited again. The wait then ends at once instead of at its timeout.
pub const CRASH_EXITS: u32 = 2;

/// While any component is unhealthy, one log line sums up the wait this often.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// What the wait writes to the log, decided from each round of attempts: one line when a
/// component's state changes (first answer, a different status or error, or a different
/// URL failing), and a summary of the components still waiting every `every`. Pure: the
/// caller passes the time elapsed, so a test can run a 4-minute wait on a fake clock.
#[derive(Debug)]
pub struct ProbeLog {
    every: Duration,
    last_summary: Duration,
    components: BTreeMap<String, ProbeState>,
}

#[derive(Debug)]
struct ProbeState {
    /// What a change is measured on: the URL and the status or error (not the body).
    key: String,
    /// The last answer as the log shows it.
    answer: String,
    attempts: u32,
    healthy: bool,
}

impl ProbeLog {
    /// A log that sums up every `every`.
    pub fn new(every: Duration) -> Self {
        ProbeLog {
            every,
            last_summary: Duration::ZERO,
            components: BTreeMap::new(),
        }
    }

    /// Records one round of attempts on `component` (`url` answered `outcome`; `attempt` is
    /// the attempt counter, `elapsed` the time since the wait began) and returns the lines to
    /// log: the change, if the state changed to a new unhealthy one (the healthy line is the
    /// caller's, with the time it took), and the summary when one is due.
    pub fn record(
        &mut self,
        component: &str,
        url: &str,
        outcome: &ProbeOutcome,
        attempt: u32,
        elapsed: Duration,
    ) -> Vec<String> {
        let healthy = *outcome == ProbeOutcome::Healthy;
        let key = match outcome {
            ProbeOutcome::Healthy => "healthy".to_string(),
            ProbeOutcome::Http { status, .. } => format!("{url} HTTP {status}"),
            ProbeOutcome::Error { message } => format!("{url} {message}"),
        };
        let answer = outcome_text(outcome);
        let mut lines = Vec::new();
        let st = self
            .components
            .entry(component.to_string())
            .or_insert_with(|| ProbeState {
                key: String::new(),
                answer: String::new(),
                attempts: 0,
                healthy: false,
            });
        if st.key != key && !healthy {
            lines.push(format!(
                "[control-plane-check] {component} at {url}: {answer} (attempt {attempt}, {})",
                secs(elapsed)
            ));
        }
        st.key = key;
        st.answer = answer;
        st.attempts = attempt;
        st.healthy = healthy;
        if elapsed >= self.last_summary + self.every {
            self.last_summary = elapsed;
            if let Some(s) = self.summary(elapsed) {
                lines.push(s);
            }
        }
        lines
    }

    /// `Still waiting after 40s: kube-apiserver (400 attempts, last: connection refused), …`
    /// for the components not healthy yet; `None` when none is waiting.
    pub fn summary(&self, elapsed: Duration) -> Option<String> {
        let waiting: Vec<String> = self
            .components
            .iter()
            .filter(|(_, s)| !s.healthy)
            .map(|(c, s)| format!("{c} ({} attempts, last: {})", s.attempts, s.answer))
            .collect();
        (!waiting.is_empty()).then(|| {
            format!(
                "[control-plane-check] Still waiting after {}: {}",
                secs(elapsed),
                waiting.join(", ")
            )
        })
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// How a probe's TLS is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeTls {
    /// Plain HTTP (kubelet healthz).
    Plain,
    /// HTTPS trusting only these PEM CA certificates (the cluster CA).
    Ca(Vec<u8>),
    /// HTTPS without verification (self-signed serving certificates of KCM and scheduler).
    Insecure,
}

/// One endpoint to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// `kubelet`, `kube-apiserver`, `kube-controller-manager`, `kube-scheduler`.
    pub component: String,
    /// Full URL of the liveness endpoint, e.g. `https://192.168.1.10:6443/livez`.
    pub url: String,
    pub tls: ProbeTls,
    /// After `url` answers 200, also require `<base>/readyz?verbose` to answer 200 and report
    /// its checks (kube-apiserver).
    pub readyz: bool,
}

/// Runs the phase: kubelet healthz within `timeouts.kubeletHealthCheck`, then the three
/// control-plane components in parallel within `timeouts.controlPlaneComponentHealthCheck`.
/// In dry-run it returns at once. Errors: the first component that did not become healthy,
/// with its last answer and where to look.
pub async fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    if !(sub.is_empty() || sub == "all") {
        return Err(PhaseError::new(format!(
            "wait-control-plane has no sub-phase {sub:?}"
        )));
    }
    let phase = "wait-control-plane";
    if ctx.dry_run() {
        ctx.events.log(
            phase,
            "[dryrun] Would wait for the kubelet and the control plane to become healthy",
        );
        return Ok(());
    }
    let t = ctx.cfg.init.timeouts.clone().unwrap_or_default();
    let kubelet_timeout = t
        .kubelet_health_check
        .map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(240));
    let cp_timeout = t
        .control_plane_component_health_check
        .map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(240));
    if let Some(k) = kubelet_target(ctx) {
        ctx.events.log(
            phase,
            format!("[kubelet-check] Waiting for a healthy kubelet at {}", k.url),
        );
        wait_healthy(ctx, &[k], kubelet_timeout, POLL_INTERVAL).await?;
    }
    let targets = control_plane_targets(ctx)?;
    for tg in &targets {
        ctx.events.log(
            phase,
            format!(
                "[control-plane-check] Checking {} at {}",
                tg.component, tg.url
            ),
        );
    }
    wait_healthy(ctx, &targets, cp_timeout, POLL_INTERVAL).await
}

/// The kubelet healthz endpoint from the KubeletConfiguration (`healthzBindAddress`,
/// `healthzPort`; defaults 127.0.0.1 and 10248). `None` when the port is 0 (check skipped).
pub fn kubelet_target(ctx: &PhaseCtx) -> Option<ProbeTarget> {
    let kc = ctx.cfg.kubelet.as_ref();
    let port = kc
        .and_then(|v| v.get("healthzPort"))
        .and_then(|v| v.as_u64())
        .unwrap_or(10248);
    if port == 0 {
        return None;
    }
    let addr = kc
        .and_then(|v| v.get("healthzBindAddress"))
        .and_then(|v| v.as_str())
        .unwrap_or("127.0.0.1")
        .to_string();
    let host = if addr.contains(':') {
        format!("[{addr}]")
    } else {
        addr
    };
    Some(ProbeTarget {
        component: "kubelet".into(),
        url: format!("http://{host}:{port}/healthz"),
        tls: ProbeTls::Plain,
        readyz: false,
    })
}

/// Reads `--<flag>=value` from the command of the static pod manifest at `path`.
fn manifest_flags(host: &dyn Host, path: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(data) = host.read(path) else {
        return out;
    };
    let Ok(pod) = serde_yaml::from_slice::<k8s_openapi::api::core::v1::Pod>(&data) else {
        return out;
    };
    let containers = pod.spec.map(|s| s.containers).unwrap_or_default();
    for c in containers {
        for a in c
            .command
            .unwrap_or_default()
            .into_iter()
            .chain(c.args.unwrap_or_default())
        {
            if let Some((k, v)) = a.strip_prefix("--").and_then(|a| a.split_once('=')) {
                out.insert(k.to_string(), v.to_string());
            }
        }
    }
    out
}

/// The control-plane endpoints to wait for, as kubeadm ≥ 1.34 does
/// (`WaitForAllControlPlaneComponents` is GA there): the three components, addresses and
/// ports read back from the manifests in `/etc/kubernetes/manifests` (defaults: advertise
/// address:bindPort, 127.0.0.1:10257, 127.0.0.1:10259), the apiserver verified against
/// `<pki>/ca.crt`. Errors: the CA cannot be read.
pub fn control_plane_targets(ctx: &PhaseCtx) -> Result<Vec<ProbeTarget>, PhaseError> {
    let m = &ctx.paths.manifests_dir;
    let host = ctx.host.as_ref();
    let api = manifest_flags(host, &m.join("kube-apiserver.yaml"));
    let kcm = manifest_flags(host, &m.join("kube-controller-manager.yaml"));
    let sched = manifest_flags(host, &m.join("kube-scheduler.yaml"));
    let ca_path = ctx.paths.pki_dir.join("ca.crt");
    let ca = ctx.host.read(&ca_path).map_err(|e| {
        PhaseError::new(format!("cannot read the cluster CA {}", ca_path.display())).caused_by(e)
    })?;
    let adv = api
        .get("advertise-address")
        .cloned()
        .unwrap_or_else(|| ctx.cfg.init.local_api_endpoint.advertise_address.clone());
    let port = |flags: &BTreeMap<String, String>, d: u16| -> u16 {
        flags
            .get("secure-port")
            .and_then(|p| p.parse().ok())
            .unwrap_or(d)
    };
    let bind = |flags: &BTreeMap<String, String>| -> String {
        flags
            .get("bind-address")
            .cloned()
            .unwrap_or_else(|| "127.0.0.1".into())
    };
    let bind_port = u16::try_from(ctx.cfg.init.local_api_endpoint.bind_port).unwrap_or(6443);
    Ok(vec![
        ProbeTarget {
            component: "kube-apiserver".into(),
            url: format!("{}/livez", https_url(&adv, port(&api, bind_port))),
            tls: ProbeTls::Ca(ca),
            readyz: true,
        },
        ProbeTarget {
            component: "kube-controller-manager".into(),
            url: format!("{}/healthz", https_url(&bind(&kcm), port(&kcm, 10257))),
            tls: ProbeTls::Insecure,
            readyz: false,
        },
        ProbeTarget {
            component: "kube-scheduler".into(),
            url: format!("{}/livez", https_url(&bind(&sched), port(&sched, 10259))),
            tls: ProbeTls::Insecure,
            readyz: false,
        },
    ])
}

/// An HTTP client for one target: keep-alive, no proxy, rustls.
pub fn probe_client(tls: &ProbeTls) -> Result<reqwest::Client, PhaseError> {
    let b = reqwest::Client::builder()
        .no_proxy()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .tcp_nodelay(true);
    let b = match tls {
        ProbeTls::Plain => b,
        ProbeTls::Insecure => b.tls_danger_accept_invalid_certs(true),
        ProbeTls::Ca(pem) => {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| PhaseError::new("the cluster CA is not valid PEM").caused_by(e))?;
            b.tls_certs_only(certs)
        }
    };
    b.build()
        .map_err(|e| PhaseError::new("cannot build the health-check HTTP client").caused_by(e))
}

/// The innermost, most telling cause of a request error (`connection refused`, a TLS error).
pub(crate) fn describe_error(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return "connection refused".into();
        }
        msg = c.to_string();
        cur = c.source();
    }
    if e.is_timeout() {
        return "timed out".into();
    }
    msg
}

/// Shortens a health body: the failing `[-]` lines of a verbose answer, else the first 200 bytes.
fn short_body(body: &str) -> String {
    let failed: Vec<&str> = body.lines().filter(|l| l.starts_with("[-]")).collect();
    if !failed.is_empty() {
        return failed.join("; ");
    }
    let t = body.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

/// One GET: the outcome (Healthy only for HTTP 200) and the body.
async fn attempt(client: &reqwest::Client, url: &str) -> (ProbeOutcome, String) {
    match client.get(url).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            if status == 200 {
                (ProbeOutcome::Healthy, body)
            } else {
                let short = short_body(&body);
                (
                    ProbeOutcome::Http {
                        status,
                        body: short,
                    },
                    body,
                )
            }
        }
        Err(e) => (
            ProbeOutcome::Error {
                message: describe_error(&e),
            },
            String::new(),
        ),
    }
}

/// `[+]etcd ok` / `[-]etcd failed: reason withheld` lines of `/readyz?verbose`.
pub fn parse_readyz(body: &str) -> Vec<(String, bool)> {
    body.lines()
        .filter_map(|l| {
            let (ok, rest) = if let Some(r) = l.strip_prefix("[+]") {
                (true, r)
            } else if let Some(r) = l.strip_prefix("[-]") {
                (false, r)
            } else {
                return None;
            };
            let name = rest.split_whitespace().next()?.to_string();
            Some((name, ok))
        })
        .collect()
}

fn outcome_text(o: &ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Healthy => "HTTP 200".into(),
        ProbeOutcome::Http { status, body } if body.is_empty() => format!("HTTP {status}"),
        ProbeOutcome::Http { status, body } => format!("HTTP {status}: {body}"),
        ProbeOutcome::Error { message } => message.clone(),
    }
}

/// Why one target's wait failed.
enum WaitFailure {
    /// Still unhealthy at the timeout: the URL and its last answer.
    Timeout(String, String),
    /// Its container keeps exiting (see [`crash_report`]): the whole message.
    Crashed(String),
}

/// Polls one target every `interval` until healthy or `timeout`; every attempt is reported as
/// [`Event::Probe`] (elapsed since `start`). A control-plane component whose container keeps
/// exiting (asked every [`CRASH_CHECK_INTERVAL`] through `crictl`) ends the wait at once.
async fn wait_one(
    ctx: &PhaseCtx,
    log: &std::sync::Mutex<ProbeLog>,
    target: &ProbeTarget,
    start: Instant,
    timeout: Duration,
    interval: Duration,
) -> Result<Duration, WaitFailure> {
    let client = probe_client(&target.tls)
        .map_err(|e| WaitFailure::Timeout(target.url.clone(), e.chain()))?;
    let mut last_crash_check = Instant::now();
    let readyz_url = target
        .readyz
        .then(|| {
            target
                .url
                .rsplit_once('/')
                .map(|(b, _)| format!("{b}/readyz?verbose"))
        })
        .flatten();
    let deadline = start + timeout;
    let mut attempt_no = 0u32;
    let mut last = (target.url.clone(), "no answer yet".to_string());
    let mut reported: BTreeMap<String, bool> = BTreeMap::new();
    loop {
        let mut urls = vec![target.url.as_str()];
        if let Some(r) = &readyz_url {
            urls.push(r.as_str());
        }
        let mut healthy = true;
        let mut decisive = None;
        for url in urls {
            attempt_no += 1;
            let (outcome, body) = attempt(&client, url).await;
            if url.ends_with("/readyz?verbose") {
                for (name, ok) in parse_readyz(&body) {
                    if reported.get(&name) != Some(&ok) {
                        reported.insert(name.clone(), ok);
                        ctx.events.send(Event::ReadyzCheck { name, ok });
                    }
                }
            }
            let ok = outcome == ProbeOutcome::Healthy;
            last = (url.to_string(), outcome_text(&outcome));
            decisive = Some((url, outcome.clone()));
            ctx.events.send(Event::Probe {
                component: target.component.clone(),
                url: url.to_string(),
                attempt: attempt_no,
                outcome,
                elapsed_ms: start.elapsed().as_millis() as u64,
                timeout_ms: timeout.as_millis() as u64,
            });
            if !ok {
                healthy = false;
                break;
            }
        }
        if let Some((url, outcome)) = decisive {
            let lines = log.lock().map(|mut l| {
                l.record(
                    &target.component,
                    url,
                    &outcome,
                    attempt_no,
                    start.elapsed(),
                )
            });
            for line in lines.unwrap_or_default() {
                ctx.events.log("wait-control-plane", line);
            }
        }
        if healthy {
            return Ok(start.elapsed());
        }
        if target.component != "kubelet" && last_crash_check.elapsed() >= CRASH_CHECK_INTERVAL {
            last_crash_check = Instant::now();
            let (host, cfg, component) =
                (ctx.host.clone(), ctx.cfg.clone(), target.component.clone());
            let report =
                tokio::task::spawn_blocking(move || crash_report(host.as_ref(), &cfg, &component))
                    .await
                    .ok()
                    .flatten();
            if let Some(msg) = report {
                return Err(WaitFailure::Crashed(format!(
                    "{msg}\nThe last answer from {} was: {}",
                    last.0, last.1
                )));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitFailure::Timeout(last.0, last.1));
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
    }
}

/// Waits for every target in parallel (each polled every `interval`) until all are healthy,
/// or fails on the first that stays unhealthy for `timeout`; stops at once with
/// [`PhaseError::cancelled`] when `ctx.cancel` fires. The timeout error names the component,
/// its URL and last answer, and hints at `crictl ps -a` / `journalctl -u kubelet`, adding the
/// last log lines of the component's most recent container when `crictl` is installed.
pub async fn wait_healthy(
    ctx: &PhaseCtx,
    targets: &[ProbeTarget],
    timeout: Duration,
    interval: Duration,
) -> Result<(), PhaseError> {
    let start = Instant::now();
    let names: Vec<&str> = targets.iter().map(|t| t.component.as_str()).collect();
    let what = format!("waiting for {} to become healthy", names.join(", "));
    let log = std::sync::Mutex::new(ProbeLog::new(SUMMARY_INTERVAL));
    let log = &log;
    let futs = targets.iter().map(|t| async move {
        match wait_one(ctx, log, t, start, timeout, interval).await {
            Ok(took) => {
                ctx.events.log(
                    "wait-control-plane",
                    format!(
                        "{} is healthy after {:.3}s",
                        t.component,
                        took.as_secs_f64()
                    ),
                );
                Ok(())
            }
            Err(f) => Err((t.component.clone(), f)),
        }
    });
    // Ctrl-C (or the UI) drops the probes at once, mid-attempt or mid-sleep.
    match crate::engine::or_cancelled(&ctx.cancel, &what, futures::future::try_join_all(futs))
        .await?
    {
        Ok(_) => Ok(()),
        Err((component, WaitFailure::Timeout(url, answer))) => {
            Err(timeout_error(ctx, &component, &url, &answer, timeout))
        }
        Err((component, WaitFailure::Crashed(mut msg))) => Err({
            if component == "kube-apiserver"
                && let Some(d) = etcd_diagnosis(ctx, "", &msg)
            {
                msg.push_str(&d);
            }
            PhaseError::new(msg)
        }
        .hint(format!(
            "fix the flag or file the log names (kubeadm.yaml, then run init again), or read the container's whole log with 'crictl --runtime-endpoint {} logs CONTAINERID'",
            ctx.cfg.init.node_registration.cri_socket
        ))),
    }
}

/// The timeout error: which component, its last answer, and what to look at.
fn timeout_error(
    ctx: &PhaseCtx,
    component: &str,
    url: &str,
    answer: &str,
    timeout: Duration,
) -> PhaseError {
    let mut msg = format!(
        "{component} did not become healthy within {}: the last answer from {url} was: {answer}",
        crate::config::GoDuration::from_secs(timeout.as_secs())
    );
    if component == "kubelet" {
        msg.push_str("\nThe kubelet is not running or unhealthy: look at 'systemctl status kubelet' and 'journalctl -xeu kubelet'.");
    } else {
        let logs = container_logs(ctx.host.as_ref(), component);
        if component == "kube-apiserver"
            && let Some(d) = etcd_diagnosis(ctx, answer, logs.as_deref().unwrap_or(""))
        {
            msg.push_str(&d);
        }
        if let Some(logs) = logs {
            msg.push_str(&logs);
        }
    }
    PhaseError::new(msg).hint(format!(
        "list the control-plane containers with 'crictl --runtime-endpoint {} ps -a | grep kube | grep -v pause', \
         read the failing one's log with 'crictl --runtime-endpoint {} logs CONTAINERID', \
         and look at the kubelet with 'journalctl -xeu kubelet'",
        ctx.cfg.init.node_registration.cri_socket, ctx.cfg.init.node_registration.cri_socket
    ))
}

/// With crictl installed: the state and last 20 log lines of the newest container named
/// `component` (`crictl ps -a --name <c> -q`, `crictl logs --tail 20 <id>`).
fn container_logs(host: &dyn Host, component: &str) -> Option<String> {
    host.which("crictl")?;
    let ps = host
        .run("crictl", &["ps", "-a", "--name", component, "-q"])
        .ok()?;
    let id = ps
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())?
        .to_string();
    let logs = host.run("crictl", &["logs", "--tail", "20", &id]).ok()?;
    let text = format!("{}{}", logs.stdout, logs.stderr);
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(20)..];
    Some(format!(
        "\nLast log lines of container {id} ({component}):\n{}",
        tail.join("\n")
    ))
}

/// From `crictl ps -a --name <component> -o json`: how many times `component`'s container
/// exited (the newest container's restart attempt, plus one when it is exited too) and the id
/// of the newest exited container. `None` when it never exited or the JSON is not crictl's.
pub fn container_exits(ps_json: &str, component: &str) -> Option<(u32, String)> {
    let v: serde_json::Value = serde_json::from_str(ps_json).ok()?;
    let mut mine: Vec<(u64, bool, String)> = v["containers"]
        .as_array()?
        .iter()
        .filter(|c| c["metadata"]["name"] == component)
        .map(|c| {
            (
                c["metadata"]["attempt"].as_u64().unwrap_or(0),
                c["state"] == "CONTAINER_EXITED",
                c["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    mine.sort_by_key(|c| c.0);
    let (attempt, newest_exited, _) = mine.last()?.clone();
    let exits = attempt as u32 + u32::from(newest_exited);
    let id = mine.iter().rev().find(|c| c.1)?.2.clone();
    (exits > 0).then_some((exits, id))
}

/// The command-line flag a Go component's log says it rejects at start, and the reason:
/// `Error: unknown flag: --x` (pflag), `invalid argument "v" for "--x" flag: …`, or
/// `flag provided but not defined: -x` (Go's flag package).
pub fn rejected_flag(log: &str) -> Option<(String, String)> {
    for line in log.lines().rev() {
        if let Some(i) = line.find("unknown flag: ") {
            let flag = line[i + 14..].split_whitespace().next()?.to_string();
            return Some((flag, line[i..].trim().to_string()));
        }
        if let Some(i) = line.find("flag provided but not defined: ") {
            let flag = line[i + 31..].split_whitespace().next()?;
            return Some((
                format!("--{}", flag.trim_start_matches('-')),
                line[i..].trim().to_string(),
            ));
        }
        if let Some(i) = line.find("invalid argument \"") {
            let rest = &line[i..];
            let flag = rest
                .split("\" for \"")
                .nth(1)?
                .split('"')
                .next()?
                .to_string();
            return Some((flag, rest.trim().to_string()));
        }
    }
    None
}

/// Where a component's extra flags come from in kubeadm.yaml, and their names.
fn extra_args_of(
    cfg: &crate::config::InitConfig,
    component: &str,
) -> Option<(&'static str, Vec<String>)> {
    let c = &cfg.cluster;
    let (field, args) = match component {
        "kube-apiserver" => ("apiServer.extraArgs", &c.api_server.extra_args),
        "kube-controller-manager" => (
            "controllerManager.extraArgs",
            &c.controller_manager.extra_args,
        ),
        "kube-scheduler" => ("scheduler.extraArgs", &c.scheduler.extra_args),
        "etcd" => ("etcd.local.extraArgs", &c.etcd.local.as_ref()?.extra_args),
        _ => return None,
    };
    Some((field, args.iter().map(|a| a.name.clone()).collect()))
}

/// With `crictl` installed: when `component`'s container exited [`CRASH_EXITS`] times or more,
/// the message naming it, how often it exited, the flag its log rejects (and the kubeadm.yaml
/// field it came from) and its last 20 log lines. `None` otherwise.
pub fn crash_report(
    host: &dyn Host,
    cfg: &crate::config::InitConfig,
    component: &str,
) -> Option<String> {
    host.which("crictl")?;
    let ps = host
        .run("crictl", &["ps", "-a", "--name", component, "-o", "json"])
        .ok()?;
    let (exits, id) = container_exits(&ps.stdout, component)?;
    if exits < CRASH_EXITS {
        return None;
    }
    let logs = host.run("crictl", &["logs", "--tail", "20", &id]).ok()?;
    let text = format!("{}{}", logs.stdout, logs.stderr);
    let mut msg = format!(
        "{component} exits at start: its container exited {exits} times and the kubelet keeps restarting it"
    );
    if let Some((flag, why)) = rejected_flag(&text) {
        msg.push_str(&format!("\n{component} rejects the flag {flag}: {why}"));
        if let Some((field, names)) = extra_args_of(cfg, component)
            && names.iter().any(|n| format!("--{n}") == flag)
        {
            msg.push_str(&format!(" (the flag comes from {field})"));
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    msg.push_str(&format!(
        "\nLast log lines of container {id} ({component}):\n{}",
        lines[lines.len().saturating_sub(20)..].join("\n")
    ));
    Some(msg)
}

/// For kube-apiserver: when its last answer or log shows it cannot reach etcd, a line naming
/// etcd and its `--etcd-servers`, and, with `crictl`, the state of the etcd container.
fn etcd_diagnosis(ctx: &PhaseCtx, answer: &str, logs: &str) -> Option<String> {
    let api = manifest_flags(
        ctx.host.as_ref(),
        &ctx.paths.manifests_dir.join("kube-apiserver.yaml"),
    );
    let servers = api.get("etcd-servers")?.clone();
    let hostports: Vec<String> = servers
        .split(',')
        .map(|u| {
            u.split("://")
                .last()
                .unwrap_or(u)
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    let mentions = answer.contains("[-]etcd")
        || logs
            .lines()
            .any(|l| hostports.iter().any(|h| l.contains(h.as_str())));
    if !mentions {
        return None;
    }
    let reason = logs
        .lines()
        .rev()
        .find(|l| hostports.iter().any(|h| l.contains(h.as_str())))
        .map(|l| {
            if l.contains("connection refused") {
                ": connection refused".to_string()
            } else if l.contains("deadline exceeded") || l.contains("timeout") {
                ": timed out".to_string()
            } else {
                String::new()
            }
        })
        .unwrap_or_default();
    let mut msg =
        format!("\nkube-apiserver cannot reach etcd at {servers} (--etcd-servers){reason}.");
    if ctx.cfg.cluster.etcd.external.is_none() && ctx.host.which("crictl").is_some() {
        let ps = ctx
            .host
            .run("crictl", &["ps", "-a", "--name", "etcd", "-o", "json"])
            .ok();
        let listed = ps
            .as_ref()
            .and_then(|o| serde_json::from_str::<serde_json::Value>(&o.stdout).ok())
            .and_then(|v| {
                v["containers"]
                    .as_array()
                    .map(|a| a.iter().filter(|c| c["metadata"]["name"] == "etcd").count())
            });
        match listed {
            Some(0) => msg.push_str(&format!(
                " There is no etcd container: the kubelet has not started the etcd static pod ({}).",
                ctx.paths.manifests_dir.join("etcd.yaml").display()
            )),
            Some(_) => {
                if let Some(r) = crash_report(ctx.host.as_ref(), &ctx.cfg, "etcd") {
                    msg.push('\n');
                    msg.push_str(&r);
                }
            }
            None => {}
        }
    }
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readyz_lines_and_bodies() {
        let body = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed\n";
        assert_eq!(
            parse_readyz(body),
            vec![
                ("ping".into(), true),
                ("log".into(), true),
                ("etcd".into(), false)
            ]
        );
        assert_eq!(short_body(body), "[-]etcd failed: reason withheld");
        assert_eq!(short_body(" ok \n"), "ok");
    }

    #[test]
    fn exits_and_rejected_flags() {
        let ps = r#"{"containers":[
            {"id":"b","metadata":{"name":"kube-apiserver","attempt":1},"state":"CONTAINER_EXITED"},
            {"id":"a","metadata":{"name":"kube-apiserver","attempt":0},"state":"CONTAINER_EXITED"},
            {"id":"e","metadata":{"name":"etcd","attempt":0},"state":"CONTAINER_RUNNING"}]}"#;
        assert_eq!(container_exits(ps, "kube-apiserver"), Some((2, "b".into())));
        assert_eq!(container_exits(ps, "etcd"), None);
        assert_eq!(container_exits("{}", "etcd"), None);
        let log = "I1207 server.go:151] Version: v1.37.2\nError: invalid argument \"ten\" for \"--audit-log-maxage\" flag: strconv.ParseInt: parsing \"ten\": invalid syntax\n";
        assert_eq!(rejected_flag(log).unwrap().0, "--audit-log-maxage");
        assert_eq!(
            rejected_flag("Error: unknown flag: --bogus-flag\n")
                .unwrap()
                .0,
            "--bogus-flag"
        );
        assert_eq!(
            rejected_flag("flag provided but not defined: -bogus\n")
                .unwrap()
                .0,
            "--bogus"
        );
        assert_eq!(rejected_flag("all fine"), None);
    }

    /// A 4-minute wait on a fake clock: three components probed every 100 ms until the
    /// timeout (the apiserver refused, then its readyz failing with one timed-out attempt,
    /// never healthy; the controller-manager and scheduler healthy late): the text face shows
    /// fewer than 40 lines, and every attempt stays an event for the health pane.
    #[test]
    fn a_four_minute_wait_logs_changes_and_summaries_not_probes() {
        use crate::engine::LogLevel;
        let refused = || ProbeOutcome::Error {
            message: "connection refused".into(),
        };
        let http = |status| ProbeOutcome::Http {
            status,
            body: "[-]etcd failed: reason withheld".into(),
        };
        // What component `c` answers at `ms` milliseconds: (url, outcome).
        let story = |c: &str, ms: u64| -> (String, ProbeOutcome) {
            let livez = format!("https://192.0.2.10:6443/{c}/livez");
            let readyz = format!("https://192.0.2.10:6443/{c}/readyz?verbose");
            match (c, ms) {
                ("kube-apiserver", 0..60_000) => (livez, refused()),
                ("kube-apiserver", 120_000..120_100) => (
                    livez,
                    ProbeOutcome::Error {
                        message: "timed out".into(),
                    },
                ),
                ("kube-apiserver", _) => (readyz, http(500)),
                ("kube-controller-manager", 0..100_000) => (livez, refused()),
                ("kube-scheduler", 0..50_000) => (livez, http(403)),
                _ => (livez, ProbeOutcome::Healthy),
            }
        };
        let mut log = ProbeLog::new(SUMMARY_INTERVAL);
        let mut events = Vec::new();
        let mut attempts: BTreeMap<&str, u32> = BTreeMap::new();
        let components = [
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ];
        let mut done: BTreeMap<&str, bool> = BTreeMap::new();
        for ms in (0..240_000u64).step_by(100) {
            for c in components {
                if done.get(c) == Some(&true) {
                    continue;
                }
                let (url, outcome) = story(c, ms);
                let n = attempts.entry(c).or_default();
                *n += 1;
                events.push(Event::Probe {
                    component: c.into(),
                    url: url.clone(),
                    attempt: *n,
                    outcome: outcome.clone(),
                    elapsed_ms: ms,
                    timeout_ms: 240_000,
                });
                for line in log.record(c, &url, &outcome, *n, Duration::from_millis(ms)) {
                    events.push(Event::Log {
                        level: LogLevel::Info,
                        phase: Some("wait-control-plane".into()),
                        message: line,
                    });
                }
                if outcome == ProbeOutcome::Healthy {
                    done.insert(c, true);
                    events.push(Event::Log {
                        level: LogLevel::Info,
                        phase: Some("wait-control-plane".into()),
                        message: format!("{c} is healthy after {}.000s", ms / 1000),
                    });
                }
            }
        }
        let probes = events
            .iter()
            .filter(|e| matches!(e, Event::Probe { .. }))
            .count();
        assert_eq!(probes, 2_400 + 1_001 + 501, "every attempt is an event");
        let text: Vec<String> = events
            .iter()
            .filter_map(crate::output::text::format)
            .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
            .collect();
        assert!(
            text.len() < 40,
            "{} log lines in a 4-minute wait:\n{}",
            text.len(),
            text.join("\n")
        );
        let joined = text.join("\n");
        assert!(joined.contains("kube-apiserver at https://192.0.2.10:6443/kube-apiserver/livez: connection refused (attempt 1, 0s)"), "{joined}");
        assert!(
            joined.contains(
                "kube-apiserver at https://192.0.2.10:6443/kube-apiserver/readyz?verbose: HTTP 500"
            ),
            "{joined}"
        );
        assert!(joined.contains("Still waiting after 10s: kube-apiserver (101 attempts, last: connection refused), kube-controller-manager (100 attempts, last: connection refused), kube-scheduler (100 attempts, last: HTTP 403"), "{joined}");
        assert!(
            joined.contains("kube-scheduler is healthy after 50.000s"),
            "{joined}"
        );
    }
}
