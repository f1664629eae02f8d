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

mod diagnosis;
mod http;
mod log;

use diagnosis::*;
pub use diagnosis::{container_exits, crash_report, rejected_flag};
pub(crate) use http::describe_error;
use http::*;
pub use http::{parse_readyz, probe_client};
pub use log::{ProbeLog, SUMMARY_INTERVAL};

/// This phase has no sub-phases.
pub const SUBPHASES: &[(&str, &str)] = &[];

/// Time between two attempts on one endpoint.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How long one HTTP attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// How often, while a control-plane component is unhealthy, the container runtime is asked
/// (over CRI) whether its container keeps exiting.
pub const CRASH_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// Exits after which a component counts as failing at start: the kubelet restarted it and it
/// exited again. The wait then ends at once instead of at its timeout.
pub const CRASH_EXITS: u32 = 2;

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

/// Why one target's wait failed.
enum WaitFailure {
    /// Still unhealthy at the timeout: the URL and its last answer.
    Timeout(String, String),
    /// Its container keeps exiting (see [`crash_report`]): the whole message.
    Crashed(String),
}

/// Polls one target every `interval` until healthy or `timeout`; every attempt is reported as
/// [`Event::Probe`] (elapsed since `start`). A control-plane component whose container keeps
/// exiting (asked every [`CRASH_CHECK_INTERVAL`] over CRI) ends the wait at once.
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
/// last log lines of the component's most recent container (over CRI).
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
