//! The run screen: everything it shows folded from engine events (phases, preflight
//! results, certificates, control-plane health, the log), starting a run, and its keys.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent};

use super::failure::Failure;
use super::{App, Effect, Overlay, Screen};
use crate::engine::{Event, JoinInfo, LogLevel, ProbeOutcome, RunOutcome, Severity};

/// Status of a phase row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseStatus {
    Pending,
    Running { started_ms: u64 },
    Done { elapsed_ms: u64 },
    Skipped { reason: String },
    Failed { elapsed_ms: u64 },
}

/// One top-level phase of init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseRow {
    pub name: String,
    pub status: PhaseStatus,
}

/// kubeadm init's top-level phases, in order.
pub const INIT_PHASES: &[&str] = &[
    "preflight",
    "certs",
    "kubeconfig",
    "etcd",
    "control-plane",
    "kubelet-start",
    "wait-control-plane",
    "upload-config",
    "upload-certs",
    "mark-control-plane",
    "bootstrap-token",
    "kubelet-finalize",
    "addon",
    "show-join-command",
];

/// One preflight result.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub name: String,
    pub severity: Severity,
    pub message: String,
    pub fix: Option<crate::engine::event::Fix>,
    pub ignored: bool,
}

/// One certificate issued or reused.
#[derive(Debug, Clone, PartialEq)]
pub struct CertRow {
    pub name: String,
    pub path: String,
    pub subject: String,
    pub sans: Vec<String>,
    pub not_after: String,
    pub key_algorithm: String,
    pub reused: bool,
}

/// The last probe of one component.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRow {
    pub component: String,
    pub url: String,
    pub attempt: u32,
    pub outcome: ProbeOutcome,
    pub elapsed_ms: u64,
    pub timeout_ms: u64,
}

/// One log line.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub level: LogLevel,
    pub phase: Option<String>,
    pub message: String,
}

/// Panes of the run screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Phases,
    Preflight,
    Certs,
    Health,
    Log,
}

impl Pane {
    const ORDER: [Pane; 5] = [
        Pane::Phases,
        Pane::Preflight,
        Pane::Certs,
        Pane::Health,
        Pane::Log,
    ];
    pub(super) fn next(self, back: bool) -> Pane {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        let n = Self::ORDER.len();
        Self::ORDER[if back { (i + n - 1) % n } else { (i + 1) % n }]
    }
}

/// Everything the run screen shows, folded from engine events.
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    pub phases: Vec<PhaseRow>,
    pub checks: Vec<CheckRow>,
    pub certs: Vec<CertRow>,
    pub probes: Vec<ProbeRow>,
    pub readyz: Vec<(String, bool)>,
    pub log: Vec<LogLine>,
    pub files_written: usize,
    pub running: bool,
    pub cancel_requested: bool,
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    pub failed: Option<Failure>,
    pub outcome: Option<RunOutcome>,
    pub join: Option<JoinInfo>,
    /// The pane with keyboard focus.
    pub focus: Pane,
    /// True once the user chose a pane; the detail pane then stops following the phase.
    pub pinned: bool,
    /// Scroll offsets (rows from the top; for the log, rows up from the bottom).
    pub scroll: BTreeMap<&'static str, usize>,
    /// Selected preflight row (for `f`).
    pub check_sel: usize,
    /// Number of runs started (retries included).
    pub attempt: u32,
}

/// Keep at most this many log lines.
pub const LOG_CAP: usize = 10_000;

impl RunState {
    /// What the preflight phase's row shows once it has finished: `Error` when a check failed
    /// and was not ignored (a dry run goes on past it), `Warning` when one warned or an error
    /// was ignored, `Pass` otherwise; so the phase list never shows ✓ over failed checks.
    pub fn preflight_outcome(&self) -> Severity {
        let failed = |c: &&CheckRow| c.severity == Severity::Error && !c.ignored;
        if self.checks.iter().any(|c| failed(&c)) {
            Severity::Error
        } else if self.checks.iter().any(|c| c.severity != Severity::Pass) {
            Severity::Warning
        } else {
            Severity::Pass
        }
    }
}

impl Default for RunState {
    fn default() -> Self {
        RunState {
            phases: INIT_PHASES
                .iter()
                .map(|n| PhaseRow {
                    name: n.to_string(),
                    status: PhaseStatus::Pending,
                })
                .collect(),
            checks: vec![],
            certs: vec![],
            probes: vec![],
            readyz: vec![],
            log: vec![],
            files_written: 0,
            running: false,
            cancel_requested: false,
            started_ms: 0,
            ended_ms: None,
            failed: None,
            outcome: None,
            join: None,
            focus: Pane::Phases,
            pinned: false,
            scroll: BTreeMap::new(),
            check_sel: 0,
            attempt: 0,
        }
    }
}

impl App {
    pub(super) fn start(&mut self, from_phase: Option<String>) -> Vec<Effect> {
        let Some(cfg) = self.config.clone() else {
            return vec![];
        };
        let attempt = self.run.attempt + 1;
        let keep_done = from_phase.is_some();
        let mut run = RunState {
            attempt,
            running: true,
            started_ms: self.clock_ms,
            ..RunState::default()
        };
        if keep_done {
            // Keep what earlier attempts did: finished phases, certificates, log.
            run.phases = self.run.phases.clone();
            for p in &mut run.phases {
                if matches!(
                    p.status,
                    PhaseStatus::Failed { .. } | PhaseStatus::Running { .. }
                ) {
                    p.status = PhaseStatus::Pending;
                }
            }
            run.certs = self.run.certs.clone();
            run.log = self.run.log.clone();
            run.checks = self.run.checks.clone();
        }
        run.log.push(LogLine {
            level: LogLevel::Info,
            phase: None,
            message: match &from_phase {
                Some(p) => format!("attempt {attempt}: running again from phase {p}"),
                None => format!("attempt {attempt}: starting kubeadm init phases"),
            },
        });
        self.run = run;
        self.screen = Screen::Run;
        self.overlay = Overlay::None;
        vec![Effect::Start {
            cfg: Box::new(cfg),
            from_phase,
            ignore_preflight: self.ignore_preflight.clone(),
            upload_certs: self.upload_certs,
        }]
    }

    pub(super) fn fold_event(&mut self, ev: Event) {
        let now = self.clock_ms;
        let top = |p: &str| p.split('/').next().unwrap_or(p).to_string();
        match ev {
            Event::PhaseStarted { phase } => {
                let t = top(&phase);
                if let Some(r) = self.run.phases.iter_mut().find(|r| r.name == t)
                    && !matches!(r.status, PhaseStatus::Running { .. })
                {
                    r.status = PhaseStatus::Running { started_ms: now };
                }
                if !self.run.pinned {
                    self.run.focus = match t.as_str() {
                        "preflight" => Pane::Preflight,
                        "certs" => Pane::Certs,
                        "wait-control-plane" => Pane::Health,
                        _ => self.run.focus,
                    };
                }
                self.push_log(LogLevel::Info, Some(&phase), format!("started {phase}"));
            }
            Event::PhaseFinished { phase, elapsed_ms } => {
                if !phase.contains('/')
                    && let Some(r) = self.run.phases.iter_mut().find(|r| r.name == phase)
                {
                    r.status = PhaseStatus::Done { elapsed_ms };
                }
                self.push_log(
                    LogLevel::Info,
                    Some(&phase),
                    format!("finished {phase} in {}", fmt_ms(elapsed_ms)),
                );
            }
            Event::PhaseSkipped { phase, reason } => {
                if !phase.contains('/')
                    && let Some(r) = self.run.phases.iter_mut().find(|r| r.name == phase)
                {
                    r.status = PhaseStatus::Skipped {
                        reason: reason.clone(),
                    };
                }
                self.push_log(
                    LogLevel::Info,
                    Some(&phase),
                    format!("skipped {phase}: {reason}"),
                );
            }
            Event::PhaseFailed {
                phase,
                elapsed_ms,
                error,
                causes,
                hint,
            } => {
                let t = top(&phase);
                if let Some(r) = self.run.phases.iter_mut().find(|r| r.name == t) {
                    r.status = PhaseStatus::Failed { elapsed_ms };
                }
                self.push_log(
                    LogLevel::Error,
                    Some(&phase),
                    // The preflight list's "\n\t" as one line of the log pane.
                    format!(
                        "{phase} failed: {}",
                        error.replace("\n\t", " ").replace('\n', " ")
                    ),
                );
                if let Some(h) = &hint {
                    self.push_log(LogLevel::Error, Some(&phase), format!("hint: {h}"));
                }
                self.run.failed = Some(Failure {
                    phase,
                    error,
                    causes,
                    hint,
                });
            }
            Event::Check {
                name,
                severity,
                message,
                fix,
                ignored,
            } => {
                let row = CheckRow {
                    name,
                    severity,
                    message,
                    fix,
                    ignored,
                };
                if let Some(r) = self.run.checks.iter_mut().find(|r| r.name == row.name) {
                    *r = row;
                } else {
                    self.run.checks.push(row);
                }
                // Errors first, then warnings (and ignored errors), then passes; in the order
                // they came within each (issue 12: the preflight results, errors first).
                let rank = |c: &CheckRow| match (c.severity, c.ignored) {
                    (Severity::Error, false) => 0,
                    (Severity::Pass, _) => 2,
                    _ => 1,
                };
                self.run.checks.sort_by_key(rank);
            }
            Event::Cert {
                name,
                path,
                subject,
                sans,
                not_after,
                key_algorithm,
                reused,
            } => {
                let row = CertRow {
                    name,
                    path,
                    subject,
                    sans,
                    not_after,
                    key_algorithm,
                    reused,
                };
                self.push_log(
                    LogLevel::Info,
                    Some("certs"),
                    format!(
                        "{} {} certificate and key",
                        if row.reused {
                            "Using existing"
                        } else {
                            "Generated"
                        },
                        row.name
                    ),
                );
                if let Some(r) = self.run.certs.iter_mut().find(|r| r.name == row.name) {
                    *r = row;
                } else {
                    self.run.certs.push(row);
                }
            }
            Event::FileWritten { path, mode } => {
                self.run.files_written += 1;
                self.push_log(LogLevel::Info, None, format!("wrote {path} ({mode:04o})"));
            }
            Event::Probe {
                component,
                url,
                attempt,
                outcome,
                elapsed_ms,
                timeout_ms,
            } => {
                let row = ProbeRow {
                    component,
                    url,
                    attempt,
                    outcome,
                    elapsed_ms,
                    timeout_ms,
                };
                if let Some(r) = self
                    .run
                    .probes
                    .iter_mut()
                    .find(|r| r.component == row.component)
                {
                    *r = row;
                } else {
                    self.run.probes.push(row);
                }
            }
            Event::ReadyzCheck { name, ok } => {
                if let Some(r) = self.run.readyz.iter_mut().find(|r| r.0 == name) {
                    r.1 = ok;
                } else {
                    self.run.readyz.push((name, ok));
                }
            }
            Event::WouldApply {
                verb,
                resource,
                namespace,
                name,
                ..
            } => {
                let ns = namespace.map(|n| format!("{n}/")).unwrap_or_default();
                self.push_log(
                    LogLevel::Info,
                    None,
                    format!("[dryrun] would {verb} {resource} {ns}{name}"),
                );
            }
            Event::Log {
                level,
                phase,
                message,
            } => self.push_log(level, phase.as_deref(), message),
            Event::JoinReady(info) => self.run.join = Some(info),
            Event::Finished { outcome } => {
                self.run.running = false;
                self.run.ended_ms = Some(now);
                // A phase still running when the run ends finished only if the run succeeded;
                // one a cancel or failure interrupted is not done (its files may be partial),
                // so "Done before it stopped" does not list it.
                let succeeded = matches!(outcome, RunOutcome::Succeeded);
                for p in &mut self.run.phases {
                    if let PhaseStatus::Running { started_ms } = p.status {
                        p.status = if succeeded {
                            PhaseStatus::Done {
                                elapsed_ms: now.saturating_sub(started_ms),
                            }
                        } else {
                            PhaseStatus::Pending
                        };
                    }
                }
                self.screen = match &outcome {
                    RunOutcome::Succeeded => Screen::Done,
                    RunOutcome::Failed { .. } | RunOutcome::Cancelled { .. } => Screen::Failure,
                };
                if let RunOutcome::Failed { phase } = &outcome
                    && self.run.failed.is_none()
                {
                    self.run.failed = Some(Failure {
                        phase: phase.clone(),
                        error: "the phase failed".into(),
                        causes: vec![],
                        hint: None,
                    });
                }
                self.overlay = Overlay::None;
                self.run.outcome = Some(outcome);
            }
        }
    }

    pub(super) fn push_log(&mut self, level: LogLevel, phase: Option<&str>, message: String) {
        if self.run.log.len() >= LOG_CAP {
            self.run.log.drain(..LOG_CAP / 10);
        }
        self.run.log.push(LogLine {
            level,
            phase: phase.map(str::to_string),
            message,
        });
    }

    /// The failed preflight checks that are errors (what "ignore and go on" ignores).
    pub fn failing_checks(&self) -> Vec<String> {
        self.run
            .checks
            .iter()
            .filter(|c| c.severity == Severity::Error && !c.ignored)
            .map(|c| c.name.clone())
            .collect()
    }
}

/// Formats milliseconds as `0.3s`, `41s` or `1:52`.
pub fn fmt_ms(ms: u64) -> String {
    if ms < 10_000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else if ms < 60_000 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}:{:02}", ms / 60_000, (ms / 1000) % 60)
    }
}

pub(super) fn on_run_key(app: &mut App, k: KeyEvent) {
    match k.code {
        KeyCode::Tab => {
            app.run.focus = app.run.focus.next(false);
            app.run.pinned = true;
        }
        KeyCode::BackTab => {
            app.run.focus = app.run.focus.next(true);
            app.run.pinned = true;
        }
        KeyCode::Up | KeyCode::Char('k') => app.scroll(true, 1),
        KeyCode::Down | KeyCode::Char('j') => app.scroll(false, 1),
        KeyCode::PageUp => app.scroll(true, 10),
        KeyCode::PageDown => app.scroll(false, 10),
        KeyCode::Char('l') => {
            app.run.focus = Pane::Log;
            app.run.pinned = true;
        }
        KeyCode::Char('f') => {
            if let Some(c) = app.run.checks.get(app.run.check_sel)
                && c.fix.is_some()
                && c.severity != Severity::Pass
            {
                app.overlay = Overlay::ConfirmFix {
                    check: c.name.clone(),
                };
            } else {
                app.notice = Some("the selected preflight check has no fix".into());
            }
        }
        KeyCode::Char('q') | KeyCode::Esc if app.run.running => {
            app.overlay = Overlay::ConfirmCancel;
        }
        // Reopened after a successful run (`p` on the done screen): back to it.
        KeyCode::Char('q') | KeyCode::Esc
            if matches!(app.run.outcome, Some(RunOutcome::Succeeded)) =>
        {
            app.screen = Screen::Done;
        }
        _ => {}
    }
}
