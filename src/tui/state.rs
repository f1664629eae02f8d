//! The wizard's state (one value), the messages that change it and [`update`], a pure
//! function from (state, message) to new state plus the effects the runtime performs.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::args::{self, ArgCol, ArgEdit, ArgsEditor};
use super::form::{self, Answers, CLUSTER_FIELDS, FieldId, NETWORK_FIELDS};
use crate::config::{Arg, InitConfig};
use crate::engine::{Event, JoinInfo, LogLevel, ProbeOutcome, RunOutcome, Severity};
use crate::host::HostFacts;

/// The screens, in wizard order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    Network,
    Cluster,
    Args,
    Review,
    Run,
    Done,
    Failure,
}

impl Screen {
    /// 1-based step number shown in the title (Done and Failure count as step 6).
    pub fn step(self) -> usize {
        match self {
            Screen::Welcome => 1,
            Screen::Network => 2,
            Screen::Cluster => 3,
            Screen::Args => 4,
            Screen::Review => 5,
            Screen::Run | Screen::Done | Screen::Failure => 6,
        }
    }
}

/// Colour handling chosen once at start (NO_COLOR, 16 colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// The 16 basic ANSI colours (safe everywhere).
    #[default]
    Color16,
    /// No colour at all (`NO_COLOR`): bold and reverse video only.
    Mono,
}

/// Modal overlays drawn over the current screen.
#[derive(Debug, Clone, Default)]
pub enum Overlay {
    #[default]
    None,
    Help,
    ConfirmQuit,
    ConfirmCancel,
    /// A path prompt (export kubeadm.yaml or write the join command).
    Prompt {
        kind: FileKind,
        input: Input,
    },
    /// The file exists: overwrite it?
    ConfirmOverwrite {
        kind: FileKind,
        path: String,
    },
    /// Apply the fix of a preflight check?
    ConfirmFix {
        check: String,
    },
}

/// What a path prompt writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Export,
    JoinCommand,
}

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
    fn next(self, back: bool) -> Pane {
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

/// A failed phase as the failure screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub phase: String,
    pub error: String,
    pub hint: Option<String>,
}

/// What the runtime found on the host that the welcome screen shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detected {
    pub facts: HostFacts,
    /// The CRI socket found, if any.
    pub runtime_socket: Option<String>,
    /// Path of the kubelet binary, if found.
    pub kubelet: Option<String>,
    /// Where files go (the dry-run root), when not `/`.
    pub root: Option<String>,
    pub dry_run: bool,
    /// Where the run's full log is written.
    pub log_path: String,
    /// A control plane already on the machine: its certificates' expiry
    /// (`day2::certs::welcome_lines`); empty on a fresh machine.
    pub existing: Vec<String>,
}

/// The whole wizard state.
#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    pub overlay: Overlay,
    pub detected: Detected,
    /// The configuration the form started from (defaults, flags, file).
    pub base: InitConfig,
    pub answers: Answers,
    /// The focused field on the Network / Cluster screens.
    pub focus: FieldId,
    /// The text input of the focused field (cursor position).
    pub input: Input,
    /// Field errors shown under the fields (set when leaving a field or pressing Enter).
    pub errors: BTreeMap<FieldId, String>,
    pub args: ArgsEditor,
    /// The configuration built from the answers (set when entering Review).
    pub config: Option<InitConfig>,
    /// The kubeadm.yaml shown on Review, with the source of each line.
    pub review: Vec<(String, String)>,
    pub review_scroll: usize,
    pub run: RunState,
    /// Extra `--ignore-preflight-errors` names chosen on the failure screen.
    pub ignore_preflight: Vec<String>,
    /// One-line notice (export done, copied, ...).
    pub notice: Option<String>,
    pub theme: Theme,
    pub width: u16,
    pub height: u16,
    /// Milliseconds since the wizard started (set by the runtime before each message).
    pub clock_ms: u64,
    /// Background key generation progress (generated, wanted), when known.
    pub keys: Option<(usize, usize)>,
    pub quit: bool,
    /// True when the wizard ended on SIGTERM/SIGHUP rather than a user's quit.
    pub terminated: bool,
}

impl App {
    /// The process exit code once the wizard has ended: 0 for a succeeded run and for a
    /// user who quit before anything ran (nothing failed, as with kubeadm); 1 for a failed
    /// or cancelled run, and when a signal ended the wizard.
    pub fn exit_code(&self) -> i32 {
        match &self.run.outcome {
            Some(RunOutcome::Succeeded) => 0,
            Some(_) => 1,
            None if self.terminated => 1,
            None => 0,
        }
    }
}

/// Messages [`update`] handles.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The slow tick while something animates.
    Tick,
    Engine(Event),
    /// The file the user chose exists; ask before overwriting.
    FileExists {
        kind: FileKind,
        path: String,
    },
    /// A file was written (`Ok`) or could not be (`Err` with the reason).
    FileWritten {
        kind: FileKind,
        path: String,
        result: Result<(), String>,
    },
    /// The key pool generated `done` of `wanted` key pairs.
    KeysProgress {
        done: usize,
        wanted: usize,
    },
    /// SIGTERM or the terminal went away: leave now.
    Terminate,
}

/// Side effects the runtime performs for [`update`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start (or restart) the engine with the effective configuration.
    Start {
        cfg: Box<InitConfig>,
        from_phase: Option<String>,
        ignore_preflight: Vec<String>,
    },
    /// Ask the engine to stop at the next safe point.
    Cancel,
    /// Apply the fix of a preflight check, then re-run the check.
    ApplyFix {
        check: String,
    },
    /// Write `contents` to `path` (refused when it exists and `overwrite` is false).
    WriteFile {
        kind: FileKind,
        path: String,
        contents: String,
        overwrite: bool,
    },
    /// Copy text to the clipboard through OSC 52.
    Copy(String),
    /// Renew the certificates of the control plane already on the machine (`r` on the
    /// welcome screen; `day2::certs::renew_all_summary`).
    RenewCerts,
    Quit,
}

impl App {
    /// A wizard starting on the welcome screen (or on review when `open_review`).
    pub fn new(base: InitConfig, detected: Detected, theme: Theme, open_review: bool) -> App {
        let answers = Answers::from_config(&base);
        let mut app = App {
            screen: Screen::Welcome,
            overlay: Overlay::None,
            detected,
            base,
            input: Input::new(answers.advertise.clone()),
            answers,
            focus: FieldId::Advertise,
            errors: BTreeMap::new(),
            args: ArgsEditor::default(),
            config: None,
            review: vec![],
            review_scroll: 0,
            run: RunState::default(),
            ignore_preflight: vec![],
            notice: None,
            theme,
            width: 80,
            height: 24,
            clock_ms: 0,
            keys: None,
            quit: false,
            terminated: false,
        };
        if open_review {
            app.goto_review();
        }
        app
    }

    /// True when no overlay is open.
    pub fn overlay_is_none(&self) -> bool {
        matches!(self.overlay, Overlay::None)
    }

    /// True while something on screen changes without input (spinner, elapsed times).
    pub fn animating(&self) -> bool {
        self.screen == Screen::Run && self.run.running
    }

    /// True when the terminal should report mouse events (off on the done screen, so the
    /// join command can be selected with the mouse).
    pub fn wants_mouse(&self) -> bool {
        !matches!(self.screen, Screen::Done)
    }

    /// The fields of the current form screen.
    pub fn form_fields(&self) -> &'static [FieldId] {
        match self.screen {
            Screen::Network => NETWORK_FIELDS,
            Screen::Cluster => CLUSTER_FIELDS,
            _ => &[],
        }
    }

    fn focus_field(&mut self, f: FieldId) {
        self.commit_input();
        self.focus = f;
        let v = self.answers.get(f).to_string();
        self.input = Input::new(v);
    }

    fn commit_input(&mut self) {
        if self.form_fields().contains(&self.focus) {
            self.answers.set(self.focus, self.input.value().to_string());
        }
    }

    fn check_field(&mut self, f: FieldId) {
        match form::validate_field(&self.answers, f) {
            Ok(()) => {
                self.errors.remove(&f);
            }
            Err(e) => {
                self.errors.insert(f, e);
            }
        }
    }

    fn move_focus(&mut self, back: bool) {
        let fields = self.form_fields();
        if fields.is_empty() {
            return;
        }
        self.commit_input();
        self.check_field(self.focus);
        let i = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = fields.len();
        let next = fields[if back { (i + n - 1) % n } else { (i + 1) % n }];
        self.focus_field(next);
    }

    fn enter_form(&mut self, screen: Screen) {
        self.commit_input();
        self.screen = screen;
        let first = self.form_fields()[0];
        self.focus = first;
        self.input = Input::new(self.answers.get(first).to_string());
    }

    /// Validates the current form screen; on errors focuses the first bad field.
    fn leave_form(&mut self) -> bool {
        self.commit_input();
        let fields = self.form_fields();
        let errs = form::validate_fields(&self.answers, fields);
        for f in fields {
            self.errors.remove(f);
        }
        if let Some((first, _)) = errs.first() {
            let first = *first;
            for (f, e) in errs {
                self.errors.insert(f, e);
            }
            self.focus_field(first);
            return false;
        }
        true
    }

    fn goto_review(&mut self) {
        self.commit_input();
        match form::to_config(&self.answers, &self.base, &self.detected.facts) {
            Ok(cfg) => {
                self.review = super::review::annotated_yaml(&cfg);
                self.config = Some(cfg);
                self.review_scroll = 0;
                self.screen = Screen::Review;
            }
            Err(e) => {
                // Send the user to the screen of the first bad field.
                let all: Vec<FieldId> = NETWORK_FIELDS
                    .iter()
                    .chain(CLUSTER_FIELDS)
                    .copied()
                    .collect();
                if let Some((f, _)) = form::validate_fields(&self.answers, &all).first() {
                    let target = if NETWORK_FIELDS.contains(f) {
                        Screen::Network
                    } else {
                        Screen::Cluster
                    };
                    self.enter_form(target);
                    self.leave_form();
                }
                self.notice = Some(e);
            }
        }
    }

    fn start(&mut self, from_phase: Option<String>) -> Vec<Effect> {
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
        }]
    }

    /// The exported kubeadm.yaml text (the review screen's left column).
    pub fn export_text(&self) -> String {
        let mut s = String::new();
        for (l, _) in &self.review {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    fn scroll_key(&self) -> &'static str {
        match self.run.focus {
            Pane::Phases => "phases",
            Pane::Preflight => "preflight",
            Pane::Certs => "certs",
            Pane::Health => "health",
            Pane::Log => "log",
        }
    }

    fn scroll(&mut self, up: bool, n: usize) {
        match self.screen {
            Screen::Review => {
                self.review_scroll = if up {
                    self.review_scroll.saturating_sub(n)
                } else {
                    (self.review_scroll + n).min(self.review.len().saturating_sub(1))
                };
            }
            Screen::Run | Screen::Failure | Screen::Done => {
                let key = self.scroll_key();
                let log = key == "log";
                let cur = self.run.scroll.get(key).copied().unwrap_or(0);
                let max = match self.run.focus {
                    Pane::Log => self.run.log.len(),
                    Pane::Certs => self.run.certs.len(),
                    Pane::Preflight => self.run.checks.len(),
                    Pane::Phases => self.run.phases.len(),
                    Pane::Health => self.run.probes.len() + self.run.readyz.len(),
                };
                // The log scrolls up from the bottom.
                let new = if up != log {
                    cur.saturating_sub(n)
                } else {
                    (cur + n).min(max.saturating_sub(1))
                };
                self.run.scroll.insert(key, new);
                if self.run.focus == Pane::Preflight {
                    self.run.check_sel = new.min(self.run.checks.len().saturating_sub(1));
                }
            }
            _ => {}
        }
    }

    fn fold_event(&mut self, ev: Event) {
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
                hint,
            } => {
                let t = top(&phase);
                if let Some(r) = self.run.phases.iter_mut().find(|r| r.name == t) {
                    r.status = PhaseStatus::Failed { elapsed_ms };
                }
                self.push_log(
                    LogLevel::Error,
                    Some(&phase),
                    format!("{phase} failed: {error}"),
                );
                if let Some(h) = &hint {
                    self.push_log(LogLevel::Error, Some(&phase), format!("hint: {h}"));
                }
                self.run.failed = Some(Failure { phase, error, hint });
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
                for p in &mut self.run.phases {
                    if let PhaseStatus::Running { started_ms } = p.status {
                        p.status = PhaseStatus::Done {
                            elapsed_ms: now.saturating_sub(started_ms),
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
                        hint: None,
                    });
                }
                self.overlay = Overlay::None;
                self.run.outcome = Some(outcome);
            }
        }
    }

    fn push_log(&mut self, level: LogLevel, phase: Option<&str>, message: String) {
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

fn is_press(k: &KeyEvent) -> bool {
    matches!(k.kind, KeyEventKind::Press | KeyEventKind::Repeat)
}

fn ctrl(k: &KeyEvent, c: char) -> bool {
    k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char(c)
}

/// Turns a message into a new state and the effects to perform. Pure: no I/O, no clock
/// (the runtime sets [`App::clock_ms`]).
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Resize(w, h) => {
            app.width = w;
            app.height = h;
            vec![]
        }
        Msg::Tick => vec![],
        Msg::Terminate => {
            app.quit = true;
            app.terminated = true;
            let mut fx = vec![];
            if app.run.running {
                fx.push(Effect::Cancel);
            }
            fx.push(Effect::Quit);
            fx
        }
        Msg::Engine(ev) => {
            app.fold_event(ev);
            vec![]
        }
        Msg::KeysProgress { done, wanted } => {
            app.keys = Some((done, wanted));
            vec![]
        }
        Msg::FileExists { kind, path } => {
            app.overlay = Overlay::ConfirmOverwrite { kind, path };
            vec![]
        }
        Msg::FileWritten { kind, path, result } => {
            app.overlay = Overlay::None;
            app.notice = Some(match (kind, result) {
                (FileKind::Export, Ok(())) => format!("✓ kubeadm.yaml exported to {path}"),
                (FileKind::JoinCommand, Ok(())) => format!("✓ join command written to {path}"),
                (_, Err(e)) => format!("✗ could not write {path}: {e}"),
            });
            vec![]
        }
        Msg::Mouse(m) => {
            match m.kind {
                MouseEventKind::ScrollUp => app.scroll(true, 3),
                MouseEventKind::ScrollDown => app.scroll(false, 3),
                _ => {}
            }
            vec![]
        }
        Msg::Key(k) if !is_press(&k) => vec![],
        Msg::Key(k) => on_key(app, k),
    }
}

fn file_effect(app: &App, kind: FileKind, path: String, overwrite: bool) -> Vec<Effect> {
    let contents = match kind {
        FileKind::Export => app.export_text(),
        FileKind::JoinCommand => match &app.run.join {
            Some(j) => {
                let mut s = j.worker_command("kubestrap");
                s.push('\n');
                if let Some(cp) =
                    j.control_plane_command(crate::engine::JoinInfo::CONTROL_PLANE_JOIN_PROGRAM)
                {
                    s.push_str(&cp);
                    s.push('\n');
                }
                s
            }
            None => return vec![],
        },
    };
    vec![Effect::WriteFile {
        kind,
        path,
        contents,
        overwrite,
    }]
}

fn on_overlay_key(app: &mut App, k: KeyEvent) -> Option<Vec<Effect>> {
    let yes = matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y'));
    let no = matches!(
        k.code,
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc
    );
    match std::mem::take(&mut app.overlay) {
        Overlay::None => return None,
        Overlay::Help => {
            if !matches!(
                k.code,
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter
            ) {
                app.overlay = Overlay::Help;
            }
        }
        Overlay::ConfirmQuit => {
            if yes {
                app.quit = true;
                return Some(vec![Effect::Quit]);
            } else if !no {
                app.overlay = Overlay::ConfirmQuit;
            }
        }
        Overlay::ConfirmCancel => {
            if yes {
                if app.run.running {
                    app.run.cancel_requested = true;
                    app.push_log(
                        LogLevel::Warn,
                        None,
                        "cancel requested: stopping after the current phase".into(),
                    );
                    return Some(vec![Effect::Cancel]);
                }
            } else if !no {
                app.overlay = Overlay::ConfirmCancel;
            }
        }
        Overlay::ConfirmFix { check } => {
            if yes {
                return Some(vec![Effect::ApplyFix { check }]);
            } else if !no {
                app.overlay = Overlay::ConfirmFix { check };
            }
        }
        Overlay::ConfirmOverwrite { kind, path } => {
            if yes {
                return Some(file_effect(app, kind, path, true));
            } else if !no {
                app.overlay = Overlay::ConfirmOverwrite { kind, path };
            }
        }
        Overlay::Prompt { kind, mut input } => match k.code {
            KeyCode::Esc => {}
            KeyCode::Enter => {
                let path = input.value().trim().to_string();
                if path.is_empty() {
                    app.notice = Some("✗ the path is empty".into());
                    app.overlay = Overlay::Prompt { kind, input };
                } else {
                    return Some(file_effect(app, kind, path, false));
                }
            }
            _ => {
                if let Some(req) = to_input_request(&crossterm::event::Event::Key(k)) {
                    input.handle(req);
                }
                app.overlay = Overlay::Prompt { kind, input };
            }
        },
    }
    Some(vec![])
}

fn on_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    if let Some(fx) = on_overlay_key(app, k) {
        return fx;
    }
    let editing_args = app.screen == Screen::Args && app.args.edit.is_some();
    if k.code == KeyCode::Char('?') && !editing_args {
        app.overlay = Overlay::Help;
        return vec![];
    }
    if ctrl(&k, 'c') {
        if app.screen == Screen::Run && app.run.running {
            app.overlay = Overlay::ConfirmCancel;
            return vec![];
        }
        if matches!(app.screen, Screen::Done | Screen::Failure) {
            app.quit = true;
            return vec![Effect::Quit];
        }
        app.overlay = Overlay::ConfirmQuit;
        return vec![];
    }
    app.notice = None;
    match app.screen {
        Screen::Welcome => match k.code {
            KeyCode::Enter | KeyCode::Tab | KeyCode::Right => app.enter_form(Screen::Network),
            KeyCode::Char('r') if !app.detected.existing.is_empty() => {
                return vec![Effect::RenewCerts];
            }
            KeyCode::Char('q') | KeyCode::Esc => app.overlay = Overlay::ConfirmQuit,
            _ => {}
        },
        Screen::Network | Screen::Cluster => on_form_key(app, k),
        Screen::Args => on_args_key(app, k),
        Screen::Review => match k.code {
            KeyCode::Enter => return app.start(None),
            KeyCode::Esc | KeyCode::Left => {
                app.screen = Screen::Args;
            }
            KeyCode::Char('x') => {
                app.overlay = Overlay::Prompt {
                    kind: FileKind::Export,
                    input: Input::new("kubeadm.yaml".into()),
                };
            }
            KeyCode::Up | KeyCode::Char('k') => app.scroll(true, 1),
            KeyCode::Down | KeyCode::Char('j') => app.scroll(false, 1),
            KeyCode::PageUp => app.scroll(true, 10),
            KeyCode::PageDown | KeyCode::Char(' ') => app.scroll(false, 10),
            KeyCode::Char('q') => app.overlay = Overlay::ConfirmQuit,
            _ => {}
        },
        Screen::Run => on_run_key(app, k),
        Screen::Done => match k.code {
            KeyCode::Char('c') => {
                if let Some(j) = &app.run.join {
                    let cmd = j.worker_command("kubestrap");
                    app.notice = Some("✓ join command copied to the clipboard (OSC 52)".into());
                    return vec![Effect::Copy(cmd)];
                }
            }
            KeyCode::Char('w') => {
                app.overlay = Overlay::Prompt {
                    kind: FileKind::JoinCommand,
                    input: Input::new("join-command.txt".into()),
                }
            }
            KeyCode::Char('x') => {
                app.overlay = Overlay::Prompt {
                    kind: FileKind::Export,
                    input: Input::new("kubeadm.yaml".into()),
                }
            }
            KeyCode::Char('q') | KeyCode::Esc | KeyCode::Enter => {
                app.quit = true;
                return vec![Effect::Quit];
            }
            KeyCode::Up => {
                app.run.focus = Pane::Log;
                app.scroll(true, 1)
            }
            _ => {}
        },
        Screen::Failure => match k.code {
            KeyCode::Char('r') => {
                let from = match &app.run.outcome {
                    Some(RunOutcome::Failed { phase }) => {
                        Some(phase.split('/').next().unwrap_or(phase).to_string())
                    }
                    _ => None,
                };
                return app.start(from);
            }
            KeyCode::Char('i') => {
                let failing = app.failing_checks();
                let preflight_failed = app
                    .run
                    .failed
                    .as_ref()
                    .is_some_and(|f| f.phase.starts_with("preflight"));
                if preflight_failed && !failing.is_empty() {
                    for c in failing {
                        if !app.ignore_preflight.contains(&c) {
                            app.ignore_preflight.push(c);
                        }
                    }
                    return app.start(Some("preflight".into()));
                }
                app.notice =
                    Some("✗ only preflight errors can be ignored; this failure is not one".into());
            }
            KeyCode::Char('x') => {
                app.overlay = Overlay::Prompt {
                    kind: FileKind::Export,
                    input: Input::new("kubeadm.yaml".into()),
                }
            }
            KeyCode::Char('q') | KeyCode::Esc => {
                app.quit = true;
                return vec![Effect::Quit];
            }
            KeyCode::Tab => app.run.focus = app.run.focus.next(false),
            KeyCode::Up => app.scroll(true, 1),
            KeyCode::Down => app.scroll(false, 1),
            _ => {}
        },
    }
    vec![]
}

fn on_form_key(app: &mut App, k: KeyEvent) {
    let shift_tab = k.code == KeyCode::BackTab;
    match k.code {
        KeyCode::Tab | KeyCode::Down => app.move_focus(false),
        KeyCode::BackTab | KeyCode::Up => app.move_focus(true),
        _ if shift_tab => {}
        KeyCode::F(2) => cycle_choice(app),
        KeyCode::Char('n') if k.modifiers.contains(KeyModifiers::CONTROL) => cycle_choice(app),
        KeyCode::Enter => {
            if app.leave_form() {
                match app.screen {
                    Screen::Network => app.enter_form(Screen::Cluster),
                    _ => {
                        app.screen = Screen::Args;
                        app.args.selected = app.args.selected.min(app.answers.extra_args.len());
                    }
                }
            }
        }
        KeyCode::Esc => {
            app.commit_input();
            match app.screen {
                Screen::Network => app.screen = Screen::Welcome,
                _ => app.enter_form(Screen::Network),
            }
        }
        _ => {
            if let Some(req) = to_input_request(&crossterm::event::Event::Key(k)) {
                app.input.handle(req);
                app.commit_input();
                // Every field validates as typed: the message appears and clears with the text.
                app.check_field(app.focus);
            }
        }
    }
}

fn cycle_choice(app: &mut App) {
    app.commit_input();
    if let Some(v) = form::next_choice(app.focus, app.input.value(), &app.detected.facts) {
        app.answers.set(app.focus, v.clone());
        app.input = Input::new(v);
        app.check_field(app.focus);
    }
}

fn on_args_key(app: &mut App, k: KeyEvent) {
    let n = app.answers.extra_args.len();
    if let Some(mut ed) = app.args.edit.take() {
        match k.code {
            KeyCode::Esc => return,
            KeyCode::Tab | KeyCode::BackTab => {
                if ed.column() == ArgCol::Name {
                    let done = args::complete(ed.name.value().trim());
                    ed.name = Input::new(done);
                    ed.col = Some(ArgCol::Value);
                } else {
                    ed.col = Some(ArgCol::Name);
                }
            }
            KeyCode::Enter => {
                let name = ed.name.value().trim().to_string();
                match args::check_name(&name) {
                    Ok(()) => {
                        let arg = Arg {
                            name,
                            value: ed.value.value().to_string(),
                        };
                        match ed.index {
                            Some(i) if i < n => app.answers.extra_args[i] = arg,
                            _ => {
                                app.answers.extra_args.push(arg);
                                app.args.selected = app.answers.extra_args.len() - 1;
                            }
                        }
                        return;
                    }
                    Err(e) => ed.error = Some(e),
                }
            }
            _ => {
                if let Some(req) = to_input_request(&crossterm::event::Event::Key(k)) {
                    match ed.column() {
                        ArgCol::Name => {
                            ed.name.handle(req);
                            ed.error = None;
                        }
                        ArgCol::Value => {
                            ed.value.handle(req);
                        }
                    }
                }
            }
        }
        app.args.edit = Some(ed);
        return;
    }
    let sel = app.args.selected.min(n.saturating_sub(1));
    match k.code {
        KeyCode::Char('a') | KeyCode::Insert => {
            app.args.edit = Some(ArgEdit::default());
        }
        KeyCode::Char('e') if n > 0 => {
            let a = &app.answers.extra_args[sel];
            app.args.edit = Some(ArgEdit {
                index: Some(sel),
                name: Input::new(a.name.clone()),
                value: Input::new(a.value.clone()),
                col: Some(ArgCol::Value),
                error: None,
            });
        }
        KeyCode::Char('d') | KeyCode::Delete if n > 0 => {
            app.answers.extra_args.remove(sel);
            app.args.selected = sel.min(app.answers.extra_args.len().saturating_sub(1));
        }
        KeyCode::Char('K') if sel > 0 && n > 1 => {
            app.answers.extra_args.swap(sel, sel - 1);
            app.args.selected = sel - 1;
        }
        KeyCode::Up if k.modifiers.contains(KeyModifiers::SHIFT) && sel > 0 => {
            app.answers.extra_args.swap(sel, sel - 1);
            app.args.selected = sel - 1;
        }
        KeyCode::Char('J') if sel + 1 < n => {
            app.answers.extra_args.swap(sel, sel + 1);
            app.args.selected = sel + 1;
        }
        KeyCode::Down if k.modifiers.contains(KeyModifiers::SHIFT) && sel + 1 < n => {
            app.answers.extra_args.swap(sel, sel + 1);
            app.args.selected = sel + 1;
        }
        KeyCode::Up | KeyCode::BackTab => app.args.selected = sel.saturating_sub(1),
        KeyCode::Down | KeyCode::Tab => app.args.selected = (sel + 1).min(n.saturating_sub(1)),
        KeyCode::Enter => app.goto_review(),
        KeyCode::Esc => app.enter_form(Screen::Cluster),
        _ => {}
    }
}

fn on_run_key(app: &mut App, k: KeyEvent) {
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
        _ => {}
    }
}
