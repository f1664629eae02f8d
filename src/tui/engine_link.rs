//! How the wizard starts a run: the one place that connects the TUI to the phase engine.
//!
//! The engine itself lives in [`crate::engine`]; until its runner is part of the build,
//! [`start`] reports that plainly as a failed run. `KUBESTRAP_TUI_REPLAY` (a comma-separated
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
                let _ = (&req.cfg, &req.host, &req.from_phase, &req.ignore_preflight);
                sink.send(Event::PhaseFailed {
                    phase: "preflight".into(),
                    elapsed_ms: 0,
                    error: "the phase engine is not part of this build".into(),
                    hint: Some("build kubestrap with the engine branch merged".into()),
                });
                sink.send(Event::Finished {
                    outcome: RunOutcome::Failed {
                        phase: "preflight".into(),
                    },
                });
            }
        }
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
