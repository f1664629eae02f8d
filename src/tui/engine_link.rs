//! How the wizard starts a run: the one place that connects the TUI to the phase engine.
//!
//! [`start`] runs [`crate::phases::init_workflow`] with the engine's runner (resuming an
//! unfinished earlier run, so a retry continues at the failed phase). `KUBESTRAP_TUI_REPLAY` (a comma-separated
//! list of JSON-lines files of [`Event`]s, as `--output json` writes them) replays recorded
//! runs instead: run N uses file N (the last file for later runs). Lines of the form
//! `{"sleep_ms": N}` pause. Used by the pseudo-terminal tests and for demos.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::InitConfig;
use crate::engine::{Event, EventSink, RunOutcome};
use crate::host::Host;

/// Environment variable naming recorded runs to replay instead of running the engine.
pub const REPLAY_ENV: &str = "KUBESTRAP_TUI_REPLAY";

/// What a run needs.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub cfg: Arc<InitConfig>,
    pub host: Arc<dyn Host>,
    /// Resume from this top-level phase (retry), or run everything.
    pub from_phase: Option<String>,
    /// Extra `--ignore-preflight-errors` names.
    pub ignore_preflight: Vec<String>,
    /// 1-based run number (retries count up).
    pub attempt: u32,
    /// Key pairs generated while the user answered.
    pub key_pool: Option<Arc<crate::pki::KeyPool>>,
    /// `--upload-certs`.
    pub upload_certs: bool,
}

impl StartRequest {
    fn ctx(&self, sink: EventSink, cancel: CancellationToken) -> crate::engine::PhaseCtx {
        let mut cfg = (*self.cfg).clone();
        let ign = &mut cfg.init.node_registration.ignore_preflight_errors;
        for i in &self.ignore_preflight {
            if !ign.contains(i) {
                ign.push(i.clone());
            }
        }
        let mut ctx = crate::engine::PhaseCtx::new(Arc::new(cfg), self.host.clone(), sink);
        ctx.cancel = cancel;
        ctx.options.upload_certs = self.upload_certs;
        // The phase itself reads the run state (as `kubestrap init` sets it), not the options.
        if let Ok(mut st) = ctx.state.lock() {
            st.upload_certs = self.upload_certs;
        }
        if let Some(pool) = &self.key_pool
            && crate::pki::KeyAlgorithm::parse(&self.cfg.cluster.encryption_algorithm)
                .is_ok_and(|a| a == pool.algorithm())
        {
            ctx.key_pool = Some(pool.clone());
        }
        ctx
    }
}

/// Applies the fix of one preflight check (found by running the checks again), then runs
/// the checks once more and reports every result; errors go to the log.
pub fn apply_fix(req: StartRequest, check: String, sink: EventSink) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        use crate::phases::preflight;
        let ctx = req.ctx(sink.clone(), CancellationToken::new());
        let ignore = match preflight::parse_ignore_list(
            &ctx,
            &ctx.cfg.init.node_registration.ignore_preflight_errors,
        ) {
            Ok(i) => i,
            Err(e) => return sink.warn("preflight", e),
        };
        let results = preflight::run_checks(&ctx, &ignore);
        match results
            .iter()
            .find(|r| r.name == check)
            .and_then(|r| r.fix.clone())
        {
            Some(plan) => {
                if let Err(e) = preflight::apply_fix(&ctx, &check, &plan) {
                    sink.warn("preflight", e.chain());
                }
            }
            None => sink.warn("preflight", format!("{check} has no fix to apply now")),
        }
        for r in preflight::run_checks(&ctx, &ignore) {
            sink.send(r.to_event());
        }
    })
}

/// Starts a run on the current tokio runtime; events go to `sink`, and the run stops at the
/// next safe point once `cancel` is cancelled. Always ends with [`Event::Finished`].
pub fn start(
    req: StartRequest,
    sink: EventSink,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let replay = std::env::var(REPLAY_ENV).ok().filter(|s| !s.is_empty());
    tokio::spawn(async move {
        match replay {
            Some(list) => replay_run(&list, req.attempt, &sink, &cancel).await,
            None => {
                let wf = crate::phases::init_workflow();
                let ctx = req.ctx(sink.clone(), cancel);
                sink.send(Event::Log {
                    level: crate::engine::LogLevel::Info,
                    phase: Some("init".into()),
                    message: format!(
                        "Using Kubernetes version: {}",
                        ctx.cfg.cluster.kubernetes_version
                    ),
                });
                let plan = crate::engine::Plan {
                    skip: ctx.cfg.init.skip_phases.clone(),
                    only: None,
                    resume: true,
                };
                drop(sink);
                crate::engine::run_workflow(&wf, &ctx, &plan).await;
            }
        }
    })
}

/// The kubeconfig the wizard's upgrade talks to the cluster with (the default of
/// `upgrade apply --kubeconfig`, kubeadm's `constants.GetAdminKubeConfigPath`).
pub const UPGRADE_KUBECONFIG: &str = "/etc/kubernetes/admin.conf";

/// Starts `upgrade apply VERSION` on `host` on the current tokio runtime, with the options
/// `kubestrap upgrade apply VERSION --yes` has (certificate renewal and etcd upgrade on, no
/// `--force`, no ignored checks, the default timeout) and no question (the wizard's plan
/// screen asked). Events go to `sink`; `cancel` stops the run at its next safe point. Always
/// ends with [`Event::Finished`]: a failure first sends [`Event::PhaseFailed`] of phase
/// `upgrade` with the error's cause chain and hint (kubeadm's `cmd/upgrade/apply.go`).
pub fn start_upgrade(
    host: Arc<dyn Host>,
    version: String,
    sink: EventSink,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let opts = crate::phases::upgrade::apply::ApplyOptions {
            version,
            kubeconfig: std::path::PathBuf::from(UPGRADE_KUBECONFIG),
            certificate_renewal: true,
            etcd_upgrade: true,
            force: false,
            ignore: vec![],
            timeout: crate::phases::upgrade::DEFAULT_UPGRADE_MANIFESTS_TIMEOUT,
        };
        let r = crate::phases::upgrade::apply::run(host, sink.clone(), cancel, &opts, None).await;
        let outcome = match r {
            Ok(()) => RunOutcome::Succeeded,
            Err(e) if e.is_cancelled() => RunOutcome::Cancelled {
                after_phase: None,
                interrupted: Some("upgrade".into()),
                completed: Vec::new(),
            },
            Err(e) => {
                sink.send(Event::PhaseFailed {
                    phase: "upgrade".into(),
                    elapsed_ms: 0,
                    error: e.chain(),
                    causes: e.causes(),
                    hint: e.hint.clone(),
                });
                RunOutcome::Failed {
                    phase: "upgrade".into(),
                }
            }
        };
        sink.send(Event::Finished { outcome });
    })
}

async fn replay_run(list: &str, attempt: u32, sink: &EventSink, cancel: &CancellationToken) {
    let files: Vec<&str> = list.split(',').collect();
    let idx = (attempt.max(1) as usize - 1).min(files.len() - 1);
    let path = files[idx];
    let text = match tokio::fs::read_to_string(path).await {
        Ok(t) => t,
        Err(e) => {
            sink.send(Event::PhaseFailed {
                phase: "replay".into(),
                elapsed_ms: 0,
                error: format!("reading {path}: {e}"),
                causes: vec![],
                hint: None,
            });
            sink.send(Event::Finished {
                outcome: RunOutcome::Failed {
                    phase: "replay".into(),
                },
            });
            return;
        }
    };
    let mut last_done: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if cancel.is_cancelled() {
            sink.send(Event::Finished {
                outcome: RunOutcome::Cancelled {
                    after_phase: last_done,
                    interrupted: None,
                    completed: Vec::new(),
                },
            });
            return;
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
            && let Some(ms) = v.get("sleep_ms").and_then(|x| x.as_u64())
        {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                _ = cancel.cancelled() => {}
            }
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(ev) => {
                if let Event::PhaseFinished { phase, .. } = &ev
                    && !phase.contains('/')
                {
                    last_done = Some(phase.clone());
                }
                let end = matches!(ev, Event::Finished { .. });
                sink.send(ev);
                if end {
                    return;
                }
            }
            Err(e) => sink.warn("replay", format!("{path} line {}: {e}", n + 1)),
        }
    }
    sink.send(Event::Finished {
        outcome: RunOutcome::Succeeded,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wizard's run gets `--upload-certs` where the upload-certs phase reads it (the run
    /// state, as `kubestrap init` sets it) and where the workflow's skip test reads it.
    #[test]
    fn the_run_gets_upload_certs_in_its_options_and_state() {
        for on in [false, true] {
            let req = StartRequest {
                cfg: Arc::new(InitConfig::default()),
                host: Arc::new(crate::host::fake::FakeHost::new().unwrap()),
                from_phase: None,
                ignore_preflight: vec![],
                attempt: 1,
                key_pool: None,
                upload_certs: on,
            };
            let ctx = req.ctx(EventSink::discard(), CancellationToken::new());
            assert_eq!(ctx.options.upload_certs, on);
            assert_eq!(ctx.state.lock().unwrap().upload_certs, on);
        }
    }
}
