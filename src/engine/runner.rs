//! The runner: walks a [`Workflow`] on a tokio task, sends [`Event`]s, honours
//! `--skip-phases`, `init phase` selections and cancellation, and records progress so a re-run after a failure or a kill continues where the
//! last run stopped.
//!
//! Progress lives in `/etc/kubernetes/tmp/kubestrap-init-progress.json` (under the host's
//! root, written atomically): a fingerprint of the configuration, the leaf phases completed
//! and whether the run finished. A new full run with the same fingerprint whose previous run
//! did not finish skips the completed phases (reported as skipped, "completed by an earlier
//! run"); every other phase is idempotent and simply runs again. A finished run is never
//! resumed: a second init then fails in preflight, as kubeadm's does.
//!
//! Cancellation: the runner checks `ctx.cancel` between phases, and every wait or retry loop
//! inside a phase watches it too and returns [`PhaseError::cancelled`]. A phase that ends
//! with an error after the token fired is reported as interrupted (an info log and
//! [`RunOutcome::Cancelled`] naming it), never as [`Event::PhaseFailed`].

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::workflow::{Workflow, is_skipped};
use super::{Event, PhaseCtx, PhaseError, RunOutcome};

/// Where the progress record lives (real path; the host maps it under its root).
pub const PROGRESS_PATH: &str = "/etc/kubernetes/tmp/kubestrap-init-progress.json";

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// `--skip-phases` plus `skipPhases` from the configuration (ids, parents, `parent/all`).
    pub skip: Vec<String>,
    /// `init phase`: only these leaf ids run (`None` = the whole workflow).
    pub only: Option<Vec<String>>,
    /// Record progress and resume an unfinished earlier run (full init runs only).
    pub resume: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Progress {
    fingerprint: String,
    completed: Vec<String>,
    finished: bool,
}

/// SHA-256 over the effective configuration (InitConfiguration, ClusterConfiguration and the
/// KubeletConfiguration document), hex; identifies "the same init" across runs.
pub fn config_fingerprint(ctx: &PhaseCtx) -> String {
    let mut h = sha2::Sha256::new();
    let parts = [
        serde_yaml::to_string(&ctx.cfg.init).unwrap_or_default(),
        serde_yaml::to_string(&ctx.cfg.cluster).unwrap_or_default(),
        serde_yaml::to_string(&ctx.cfg.kubelet).unwrap_or_default(),
    ];
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

fn load_progress(ctx: &PhaseCtx) -> Option<Progress> {
    let bytes = ctx.host.read(Path::new(PROGRESS_PATH)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn save_progress(ctx: &PhaseCtx, p: &Progress) -> Result<(), PhaseError> {
    if ctx.host.is_scratch() {
        // Removed when the run ends: no later run could resume from it.
        return Ok(());
    }
    let data = serde_json::to_vec_pretty(p)
        .map_err(|e| PhaseError::new("encoding progress").caused_by(e))?;
    // Not synced: the phases' own files are durable before this record names them, and a
    // lost or older record only makes a re-run repeat (idempotent) phases.
    ctx.host
        .write_atomic_unsynced(Path::new(PROGRESS_PATH), &data, 0o600)
        .map_err(|e| {
            PhaseError::new(format!("writing the progress record {PROGRESS_PATH}")).caused_by(e)
        })
}

fn ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

/// Runs `wf` with `ctx` according to `plan`, sending events to `ctx.events`, and returns the
/// outcome (also sent as the final [`Event::Finished`]). Never panics on phase errors: a
/// failed phase stops the run with [`RunOutcome::Failed`].
pub async fn run_workflow(wf: &Workflow, ctx: &PhaseCtx, plan: &Plan) -> RunOutcome {
    let outcome = run_inner(wf, ctx, plan).await;
    ctx.events.send(Event::Finished {
        outcome: outcome.clone(),
    });
    outcome
}

/// Spawns [`run_workflow`] on the current tokio runtime; the handle yields the outcome.
pub fn spawn_workflow(
    wf: Workflow,
    ctx: PhaseCtx,
    plan: Plan,
) -> tokio::task::JoinHandle<RunOutcome> {
    tokio::spawn(async move { run_workflow(&wf, &ctx, &plan).await })
}

async fn run_inner(wf: &Workflow, ctx: &PhaseCtx, plan: &Plan) -> RunOutcome {
    let mut progress = Progress {
        fingerprint: config_fingerprint(ctx),
        ..Progress::default()
    };
    if plan.resume
        && let Some(prev) = load_progress(ctx)
        && prev.fingerprint == progress.fingerprint
        && !prev.finished
        && !prev.completed.is_empty()
    {
        ctx.events.log(
            "init",
            format!(
                "Resuming an unfinished run: {} phase(s) completed earlier ({})",
                prev.completed.len(),
                PROGRESS_PATH
            ),
        );
        progress.completed = prev.completed;
    }
    let mut last_done: Option<String> = None;
    let mut done: Vec<String> = Vec::new();
    let cancelled = |last: &Option<String>, done: &Vec<String>, interrupted: Option<String>| {
        RunOutcome::Cancelled {
            after_phase: last.clone(),
            interrupted,
            completed: done.clone(),
        }
    };
    let selected = |id: &str| plan.only.as_ref().is_none_or(|o| o.iter().any(|x| x == id));

    for top in &wf.phases {
        let leaves: Vec<(String, &super::Phase)> = if top.children.is_empty() {
            vec![(top.name.clone(), top)]
        } else {
            top.children
                .iter()
                .map(|c| (format!("{}/{}", top.name, c.name), c))
                .collect()
        };
        if !leaves.iter().any(|(id, _)| selected(id)) {
            continue;
        }
        if ctx.cancel.is_cancelled() {
            return cancelled(&last_done, &done, None);
        }
        if is_skipped(&top.name, &plan.skip) {
            ctx.events.send(Event::PhaseSkipped {
                phase: top.name.clone(),
                reason: "--skip-phases".into(),
            });
            if !top.children.is_empty() {
                for (id, _) in leaves.iter().filter(|(id, _)| selected(id)) {
                    ctx.events.send(Event::PhaseSkipped {
                        phase: id.clone(),
                        reason: "--skip-phases".into(),
                    });
                }
            }
            continue;
        }
        if let Some(reason) = top.run_if.and_then(|f| f(ctx)) {
            ctx.events.send(Event::PhaseSkipped {
                phase: top.name.clone(),
                reason,
            });
            continue;
        }
        let top_start = Instant::now();
        let is_parent = !top.children.is_empty();
        if is_parent {
            ctx.events.send(Event::PhaseStarted {
                phase: top.name.clone(),
            });
        }
        for (id, leaf) in leaves.iter().filter(|(id, _)| selected(id)) {
            if ctx.cancel.is_cancelled() {
                return cancelled(&last_done, &done, None);
            }
            let skip_reason = if is_parent && is_skipped(id, &plan.skip) {
                Some("--skip-phases".to_string())
            } else if let Some(r) = leaf.run_if.and_then(|f| f(ctx)) {
                Some(r)
            } else if progress.completed.iter().any(|c| c == id) {
                Some("completed by an earlier run".to_string())
            } else {
                None
            };
            if let Some(reason) = skip_reason {
                ctx.events.send(Event::PhaseSkipped {
                    phase: id.clone(),
                    reason,
                });
                continue;
            }
            let sub = if is_parent { leaf.name.as_str() } else { "" };
            let start = Instant::now();
            ctx.events.send(Event::PhaseStarted { phase: id.clone() });
            let result = match &leaf.run {
                Some(run) => run(ctx, sub).await,
                None => Err(PhaseError::new(format!("phase {id} has nothing to run"))),
            };
            match result {
                Ok(()) => {
                    ctx.events.send(Event::PhaseFinished {
                        phase: id.clone(),
                        elapsed_ms: ms(start),
                    });
                    last_done = Some(id.clone());
                    done.push(id.clone());
                    if plan.resume {
                        progress.completed.push(id.clone());
                        if let Err(e) = save_progress(ctx, &progress) {
                            ctx.events.warn(id, e.chain());
                        }
                    }
                }
                Err(e) if e.is_cancelled() || ctx.cancel.is_cancelled() => {
                    ctx.events.send(Event::Log {
                        level: super::LogLevel::Warn,
                        phase: Some(id.clone()),
                        message: format!(
                            "phase {id} was interrupted after {:.1}s: {}",
                            start.elapsed().as_secs_f64(),
                            e.chain()
                        ),
                    });
                    return cancelled(&last_done, &done, Some(id.clone()));
                }
                Err(e) => {
                    let error = format!("error execution phase {id}: {}", e.chain());
                    ctx.events.send(Event::PhaseFailed {
                        phase: id.clone(),
                        elapsed_ms: ms(start),
                        error,
                        causes: e.causes(),
                        hint: e.hint.clone(),
                    });
                    return RunOutcome::Failed { phase: id.clone() };
                }
            }
        }
        if is_parent {
            ctx.events.send(Event::PhaseFinished {
                phase: top.name.clone(),
                elapsed_ms: ms(top_start),
            });
        }
    }
    if plan.resume {
        progress.finished = true;
        if let Err(e) = save_progress(ctx, &progress) {
            ctx.events.warn("init", e.chain());
        }
    }
    RunOutcome::Succeeded
}
