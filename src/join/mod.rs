//! `kubestrap join`: discovery, TLS bootstrap and kubelet start of a worker node, as
//! `kubeadm join` does (reference: kubeadm-join-and-config.md §1–§3).
//!
//! The API a face (command line, plain text, JSON, the wizard) drives:
//! - [`cmdline::parse_pasted`] turns a pasted `kubeadm join ...` command into [`crate::cli::JoinArgs`];
//!   [`cmdline::join_config_from_args`] turns those into a checked [`JoinConfiguration`];
//! - [`JoinJob`] + [`run`] run the phases `preflight`, `discovery`, `kubelet-start`,
//!   `kubelet-wait-bootstrap` in kubeadm's order ([`CONTROL_PLANE_PHASES`] with `--control-plane`:
//!   [`control_plane`] and [`etcd`]), sending [`Event`]s; [`discovery::discover_token`]
//!   alone serves a wizard that wants to show the CA's subject and pin before going on.

pub mod cmdline;
pub mod control_plane;
pub mod discovery;
pub mod etcd;
pub mod kubelet;
pub mod preflight;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::JoinConfiguration;
use crate::config::token::BootstrapTokenString;
use crate::engine::{Event, EventSink, PhaseError, RunOutcome};
use crate::host::Host;

pub use discovery::{Discovered, DiscoveryError};

/// Phases of a worker join, in order.
pub const PHASES: &[&str] = &[
    "preflight",
    "discovery",
    "kubelet-start",
    "kubelet-wait-bootstrap",
];

/// Phases of a control-plane join, in kubeadm's order (`app/cmd/join.go`).
pub const CONTROL_PLANE_PHASES: &[&str] = &[
    "preflight",
    "discovery",
    "control-plane-prepare",
    "check-etcd",
    "kubelet-start",
    "etcd-join",
    "kubelet-wait-bootstrap",
    "control-plane-join",
    "wait-control-plane",
];

/// Intervals that tests shorten; the defaults are kubeadm's.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Between discovery attempts (5 s).
    pub discovery_retry_interval: Duration,
    /// One discovery request (10 s).
    pub request_timeout: Duration,
    /// Between TLS bootstrap / Node polls (1 s).
    pub bootstrap_poll_interval: Duration,
    /// The etcd steps of a control-plane join.
    pub etcd: etcd::EtcdTuning,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            discovery_retry_interval: discovery::DEFAULT_RETRY_INTERVAL,
            request_timeout: discovery::DEFAULT_REQUEST_TIMEOUT,
            bootstrap_poll_interval: Duration::from_secs(1),
            etcd: etcd::EtcdTuning::default(),
        }
    }
}

/// One join run: a defaulted, validated configuration, the host (root = `/`, `--root` or the
/// dry-run root; `host.dry_run()` selects dry-run behaviour) and the event sink.
#[derive(Debug, Clone)]
pub struct JoinJob {
    pub cfg: JoinConfiguration,
    pub host: Arc<dyn Host>,
    pub events: EventSink,
    pub tuning: Tuning,
    /// Cancelled by Ctrl-C or the UI: the running phase stops at its current wait (discovery
    /// retries, the TLS bootstrap wait, API reads) and the run ends as
    /// [`RunOutcome::Cancelled`] naming it.
    pub cancel: tokio_util::sync::CancellationToken,
}

/// What a successful run did.
#[derive(Debug, Clone)]
pub struct JoinResult {
    /// The discovery result (server, CA subject and pins, requests made).
    pub discovered: Discovered,
    /// This node's name.
    pub node_name: String,
    /// False in dry-run (nothing started, no bootstrap wait).
    pub joined: bool,
    /// A control-plane join: `Some(true)` with stacked etcd, `Some(false)` with external etcd.
    pub control_plane: Option<bool>,
}

/// A failed run: the phase and the error.
#[derive(Debug)]
pub struct JoinFailure {
    pub phase: String,
    pub error: PhaseError,
}

impl std::fmt::Display for JoinFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.phase, self.error.chain())
    }
}

/// The closing message of a successful join, with the next step.
pub fn success_message(node_name: &str) -> String {
    format!(
        "This node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.\n\nRun 'kubectl get nodes' on the control plane to see this node ({node_name}) join the cluster."
    )
}

fn discovery_error(e: DiscoveryError) -> PhaseError {
    let hint = e.hint();
    let mut p = PhaseError::new(format!(
        "could not validate the identity of the API server: {e}"
    ));
    p.hint = hint;
    p
}

async fn discover(job: &JoinJob) -> Result<Discovered, PhaseError> {
    let cfg = &job.cfg;
    let timeout = cmdline::discovery_timeout(cfg);
    if let Some(bt) = &cfg.discovery.bootstrap_token {
        let token = BootstrapTokenString::parse(&bt.token)
            .map_err(|e| PhaseError::new(format!("discovery.bootstrapToken.token: {e}")))?;
        if bt.unsafe_skip_ca_verification && bt.ca_cert_hashes.is_empty() {
            job.events.warn(
                discovery::PHASE,
                "--discovery-token-unsafe-skip-ca-verification: the cluster CA will NOT be verified; anyone who can answer on the endpoint with a signed cluster-info can impersonate the control plane",
            );
        }
        let mut opts = discovery::TokenDiscovery::new(
            &bt.api_server_endpoint,
            token,
            bt.ca_cert_hashes.clone(),
            timeout,
        );
        opts.unsafe_skip_ca_verification = bt.unsafe_skip_ca_verification;
        opts.retry_interval = job.tuning.discovery_retry_interval;
        opts.request_timeout = job.tuning.request_timeout;
        let d = discovery::discover_token(&opts, &job.events)
            .await
            .map_err(discovery_error)?;
        let typed = format!("https://{}", bt.api_server_endpoint);
        if d.server.trim_end_matches('/') != typed {
            job.events.warn(
                discovery::PHASE,
                format!(
                    "the API server address in cluster-info ({}) differs from the endpoint you gave ({}); from now on kubestrap uses the one in cluster-info, as kubeadm does",
                    d.server, bt.api_server_endpoint
                ),
            );
        }
        Ok(d)
    } else if let Some(f) = &cfg.discovery.file {
        let opts = discovery::FileDiscoveryOpts {
            location: f.kube_config_path.clone(),
            timeout,
            retry_interval: job.tuning.discovery_retry_interval,
            request_timeout: job.tuning.request_timeout,
        };
        discovery::discover_file(&opts, &job.events)
            .await
            .map_err(discovery_error)
    } else {
        Err(PhaseError::new(
            "discovery: neither bootstrapToken nor file is set",
        ))
    }
}

/// The bootstrap kubeconfig for the discovered cluster: token credentials when
/// `tlsBootstrapToken` is set, else the discovered kubeconfig itself, which must then carry
/// credentials. Errors: no token and no credentials.
fn bootstrap_conf(
    cfg: &JoinConfiguration,
    d: &Discovered,
    cluster_name: &str,
) -> Result<String, PhaseError> {
    if !cfg.discovery.tls_bootstrap_token.is_empty() {
        return kubelet::bootstrap_kubeconfig(
            cluster_name,
            &d.server,
            &d.ca_pem,
            &cfg.discovery.tls_bootstrap_token,
        );
    }
    let has_creds = d
        .kubeconfig
        .auth_infos
        .iter()
        .filter_map(|a| a.auth_info.as_ref())
        .any(|a| {
            a.token.is_some()
                || a.client_certificate_data.is_some()
                || a.client_certificate.is_some()
                || a.exec.is_some()
        });
    if !has_creds {
        return Err(PhaseError::new(
            "the discovered kubeconfig has no credentials and no TLS bootstrap token was given",
        )
        .hint("use token discovery, a --discovery-file with embedded credentials, or add --tls-bootstrap-token"));
    }
    Ok(d.kubeconfig_yaml.clone())
}

struct Runner<'a> {
    job: &'a JoinJob,
    skip: Vec<String>,
    /// Phases completed so far, for the cancelled outcome.
    done: std::sync::Mutex<Vec<String>>,
}

impl Runner<'_> {
    fn skipped(&self, phase: &str) -> bool {
        self.skip.iter().any(|s| s == phase || s == "all")
    }

    fn completed(&self) -> Vec<String> {
        self.done.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// Ends the run as cancelled: a warning, `Finished { Cancelled }` and the failure value.
    fn cancelled(&self, interrupted: Option<&str>, error: PhaseError) -> JoinFailure {
        let ev = &self.job.events;
        let completed = self.completed();
        if let Some(p) = interrupted {
            ev.warn(p, format!("phase {p} was interrupted: {}", error.chain()));
        }
        ev.send(Event::Finished {
            outcome: RunOutcome::Cancelled {
                after_phase: completed.last().cloned(),
                interrupted: interrupted.map(str::to_string),
                completed,
            },
        });
        JoinFailure {
            phase: interrupted.unwrap_or("join").to_string(),
            error,
        }
    }

    /// Runs one phase unless skipped; the phase future is dropped at its current await point
    /// when the job's cancel token fires (every join wait is an await: discovery requests
    /// and pauses, API reads, TLS bootstrap polls).
    async fn phase<T, F, Fut>(&self, phase: &str, f: F) -> Result<Option<T>, JoinFailure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, PhaseError>>,
    {
        self.phase_with(phase, f, true).await
    }

    /// Like [`Runner::phase`], but the phase is not dropped when the cancel token fires: it
    /// watches `ctx.cancel` itself and undoes what it did before it returns its cancelled
    /// error (`etcd-join` removes the learner it added).
    async fn phase_cleaning_up<T, F, Fut>(
        &self,
        phase: &str,
        f: F,
    ) -> Result<Option<T>, JoinFailure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, PhaseError>>,
    {
        self.phase_with(phase, f, false).await
    }

    async fn phase_with<T, F, Fut>(
        &self,
        phase: &str,
        f: F,
        drop_on_cancel: bool,
    ) -> Result<Option<T>, JoinFailure>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, PhaseError>>,
    {
        let ev = &self.job.events;
        if self.job.cancel.is_cancelled() {
            return Err(self.cancelled(None, PhaseError::cancelled(format!("before {phase}"))));
        }
        if self.skipped(phase) {
            ev.send(Event::PhaseSkipped {
                phase: phase.into(),
                reason: "--skip-phases".into(),
            });
            return Ok(None);
        }
        ev.send(Event::PhaseStarted {
            phase: phase.into(),
        });
        let start = Instant::now();
        let what = format!("running phase {phase}");
        let res = if drop_on_cancel {
            crate::engine::or_cancelled(&self.job.cancel, &what, f())
                .await
                .and_then(|r| r)
        } else {
            f().await
        };
        match res {
            Ok(v) => {
                ev.send(Event::PhaseFinished {
                    phase: phase.into(),
                    elapsed_ms: start.elapsed().as_millis() as u64,
                });
                if let Ok(mut d) = self.done.lock() {
                    d.push(phase.to_string());
                }
                Ok(Some(v))
            }
            Err(error) if error.is_cancelled() || self.job.cancel.is_cancelled() => {
                Err(self.cancelled(Some(phase), error))
            }
            Err(error) => {
                ev.send(Event::PhaseFailed {
                    phase: phase.into(),
                    elapsed_ms: start.elapsed().as_millis() as u64,
                    error: error.chain(),
                    causes: error.causes(),
                    hint: error.hint.clone(),
                });
                ev.send(Event::Finished {
                    outcome: RunOutcome::Failed {
                        phase: phase.into(),
                    },
                });
                Err(JoinFailure {
                    phase: phase.into(),
                    error,
                })
            }
        }
    }
}

/// Runs the join phases (module docs). In dry-run (`job.host.dry_run()`) discovery and the
/// cluster reads are real, files land under the host's root, nothing is started and the
/// TLS bootstrap is not awaited. Sends `PhaseStarted`/`PhaseFinished`/`PhaseFailed` per
/// phase and one final `Finished`.
///
/// Errors: the first failing phase with its [`PhaseError`] (message, hint); after
/// `job.cancel` fired, the interrupted phase with a [`PhaseError::cancelled`] error (the
/// final event is then `Finished { Cancelled }`).
pub async fn run(job: &JoinJob) -> Result<JoinResult, JoinFailure> {
    let cfg = &job.cfg;
    let host = job.host.as_ref();
    let r = Runner {
        job,
        skip: cfg.skip_phases.clone(),
        done: std::sync::Mutex::new(Vec::new()),
    };
    let node = cfg.node_registration.name.clone();
    r.phase("preflight", || async {
        preflight::run(host, cfg, &job.events)
    })
    .await?;
    let found = r
        .phase("discovery", || async {
            let d = discover(job).await?;
            job.events.log(
                discovery::PHASE,
                "Reading the cluster configuration (kube-system/kubeadm-config, kube-system/kubelet-config) with the bootstrap token",
            );
            let api_timeout = cmdline::api_call_timeout(cfg);
            let first = bootstrap_conf(cfg, &d, "kubernetes")?;
            let client = kubelet::client_for(&first, "the bootstrap kubeconfig").await?;
            let settings = kubelet::read_cluster_settings(&client, api_timeout).await?;
            Ok((d, settings, client))
        })
        .await?;
    let Some((discovered, settings, client)) = found else {
        return Err(JoinFailure {
            phase: "discovery".into(),
            error: PhaseError::new("discovery cannot be skipped: the later phases need its result"),
        });
    };
    let cp_ctx = match &cfg.control_plane {
        None => None,
        Some(_) => {
            let ctx = r
                .phase("control-plane-prepare", || async {
                    let ic = control_plane::init_config(
                        cfg,
                        &settings,
                        host.facts().default_route_addr,
                    )?;
                    let ctx =
                        control_plane::phase_ctx(ic, job.host.clone(), &job.events, &job.cancel);
                    control_plane::download_certs(&ctx, &client, cmdline::api_call_timeout(cfg))
                        .await?;
                    control_plane::prepare_files(&ctx)?;
                    Ok(ctx)
                })
                .await?;
            let Some(ctx) = ctx else {
                return Err(JoinFailure {
                    phase: "control-plane-prepare".into(),
                    error: PhaseError::new(
                        "control-plane-prepare cannot be skipped in a control-plane join: the later phases need its files",
                    ),
                });
            };
            r.phase("check-etcd", || etcd::check_etcd(&ctx, &job.tuning.etcd))
                .await?;
            Some(ctx)
        }
    };
    r.phase("kubelet-start", || async {
        kubelet::check_no_ready_node(&client, &node).await?;
        let conf = bootstrap_conf(cfg, &discovered, &settings.cluster_name)?;
        kubelet::kubelet_start(host, &job.events, cfg, &settings, &conf, &discovered.ca_pem)
    })
    .await?;
    if let Some(ctx) = &cp_ctx {
        // Not dropped at a cancel: a learner it added is removed again first.
        r.phase_cleaning_up("etcd-join", || etcd::etcd_join(ctx, &job.tuning.etcd))
            .await?;
    }
    let joined = if host.dry_run() {
        job.events.send(Event::PhaseSkipped {
            phase: "kubelet-wait-bootstrap".into(),
            reason: "dry run: the kubelet is not started, so there is no TLS bootstrap to wait for"
                .into(),
        });
        false
    } else {
        let w = kubelet::BootstrapWait {
            tls_bootstrap_timeout: cmdline::tls_bootstrap_timeout(cfg),
            node_timeout: cmdline::api_call_timeout(cfg),
            interval: job.tuning.bootstrap_poll_interval,
        };
        r.phase("kubelet-wait-bootstrap", || {
            kubelet::wait_bootstrap(host, &job.events, &node, &w)
        })
        .await?
        .is_some()
    };
    if let Some(ctx) = &cp_ctx {
        r.phase("control-plane-join", || async {
            if ctx.dry_run() {
                ctx.events.log(
                    "control-plane-join",
                    format!("[control-plane-join] Would mark node {node} as a control-plane"),
                );
                return Ok(());
            }
            crate::phases::mark_control_plane::run(ctx, "all").await
        })
        .await?;
        r.phase("wait-control-plane", || {
            crate::phases::wait_control_plane::run(ctx, "all")
        })
        .await?;
    }
    job.events.send(Event::Finished {
        outcome: RunOutcome::Succeeded,
    });
    Ok(JoinResult {
        discovered,
        node_name: node,
        joined,
        control_plane: cp_ctx
            .as_ref()
            .map(|c| c.cfg.cluster.etcd.external.is_none()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JoinJob {
        JoinJob {
            cfg: JoinConfiguration::default(),
            host: Arc::new(crate::host::fake::FakeHost::new().unwrap()),
            events: EventSink::discard(),
            tuning: Tuning::default(),
            cancel: Default::default(),
        }
    }

    /// A phase that, once cancelled, needs one more await to undo its work (as etcd-join
    /// removing its learner); returns whether the undo ran.
    async fn undoing_phase(
        cancel: tokio_util::sync::CancellationToken,
        undone: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<(), PhaseError> {
        cancel.cancel();
        tokio::time::sleep(Duration::from_millis(20)).await;
        undone.store(true, std::sync::atomic::Ordering::SeqCst);
        Err(PhaseError::cancelled("test phase"))
    }

    #[tokio::test]
    async fn a_cleaning_up_phase_is_not_dropped_at_a_cancel_and_ends_cancelled() {
        let job = job();
        let r = Runner {
            job: &job,
            skip: vec![],
            done: Default::default(),
        };
        let undone = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let res = tokio::time::timeout(
            Duration::from_secs(10),
            r.phase_cleaning_up("etcd-join", || {
                undoing_phase(job.cancel.clone(), undone.clone())
            }),
        )
        .await
        .expect("bounded");
        assert!(
            undone.load(std::sync::atomic::Ordering::SeqCst),
            "the undo ran"
        );
        let f = res.expect_err("cancelled");
        assert_eq!(f.phase, "etcd-join");
        assert!(f.error.is_cancelled(), "{}", f.error.chain());
        // the plain phase drops its future at the cancel: the undo never runs
        let job = super::tests::job();
        let r = Runner {
            job: &job,
            skip: vec![],
            done: Default::default(),
        };
        let undone = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let res = r
            .phase("kubelet-start", || {
                undoing_phase(job.cancel.clone(), undone.clone())
            })
            .await;
        assert!(res.is_err());
        assert!(!undone.load(std::sync::atomic::Ordering::SeqCst));
    }
}
