//! The wizard's state (one value), the messages that change it and [`update`], a pure
//! function from (state, message) to new state plus the effects the runtime performs.
//!
//! Each screen's own state and keys sit in the file named as its view in `tui/view/`:
//! [`form`] (Network and Cluster), [`args`], [`review`], [`run`], [`done`], [`failure`];
//! this file holds what every screen shares (the app, overlays, messages, effects).

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::args::ArgsEditor;
use super::form::{Answers, FieldId};
use crate::config::InitConfig;
use crate::engine::{Event, LogLevel, RunOutcome};
use crate::host::HostFacts;

mod args;
mod done;
mod failure;
mod form;
mod review;
mod run;
mod upgrade;

pub use failure::Failure;
pub use run::{
    CertRow, CheckRow, INIT_PHASES, LOG_CAP, LogLine, Pane, PhaseRow, PhaseStatus, ProbeRow,
    RunState, fmt_ms,
};
pub use upgrade::{CompRow, CompStatus, UpgradeOffer, UpgradeRun};

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
    /// The upgrade offered on the welcome screen: the plan's tables and the confirmation.
    UpgradePlan,
    /// The upgrade running (or ended): each component old → new and its status, the log.
    UpgradeRun,
}

impl Screen {
    /// 1-based step number shown in the title (Done and Failure count as step 6).
    pub fn step(self) -> usize {
        match self {
            Screen::Welcome | Screen::UpgradePlan => 1,
            Screen::Network => 2,
            Screen::Cluster => 3,
            Screen::Args => 4,
            Screen::Review => 5,
            Screen::Run | Screen::Done | Screen::Failure | Screen::UpgradeRun => 6,
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
    /// Why `--upload-certs` cannot be used on this machine (an external CA: the kubeadm-certs
    /// Secret would need the CA keys; `phases::external_ca::check_external_ca`), so `u` on
    /// the review screen refuses to turn it on; `None` when it can.
    pub upload_certs_refused: Option<String>,
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
    /// "Upload certificates for more control-plane nodes" (kubeadm's `--upload-certs`; no
    /// field of kubeadm's configuration carries it): starts as the flag says, `u` on the
    /// review screen toggles it.
    pub upload_certs: bool,
    /// The upgrade the welcome screen offers (`u`), when this machine runs a control plane
    /// that `upgrade plan` can move to a newer carried version.
    pub upgrade: Option<UpgradeOffer>,
    /// The upgrade's run, once the plan screen started it.
    pub upgrade_run: Option<UpgradeRun>,
}

impl App {
    /// The process exit code once the wizard has ended: 0 for a succeeded run and for a
    /// user who quit before anything ran (nothing failed, as with kubeadm); 1 for a failed
    /// or cancelled run, and when a signal ended the wizard.
    pub fn exit_code(&self) -> i32 {
        let outcome = match &self.upgrade_run {
            Some(u) => &u.outcome,
            None => &self.run.outcome,
        };
        match outcome {
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
        /// Run the upload-certs phase (`--upload-certs`).
        upload_certs: bool,
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
    /// Run `upgrade apply VERSION` on this machine (confirmed on the plan screen;
    /// `engine_link::start_upgrade`); its events come back as [`Msg::Engine`].
    Upgrade {
        version: String,
    },
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
            upload_certs: false,
            upgrade: None,
            upgrade_run: None,
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
        (self.screen == Screen::Run && self.run.running) || self.upgrade_running()
    }

    /// True when the terminal should report mouse events (off on the done screen, so the
    /// join command can be selected with the mouse).
    pub fn wants_mouse(&self) -> bool {
        !matches!(self.screen, Screen::Done)
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
            Screen::UpgradeRun => {
                if let Some(r) = self.upgrade_run.as_mut() {
                    // The log scrolls up from the bottom.
                    r.scroll = if up {
                        (r.scroll + n).min(r.log.len().saturating_sub(1))
                    } else {
                        r.scroll.saturating_sub(n)
                    };
                }
            }
            _ => {}
        }
    }
}

impl App {
    /// True while the terminal is below 80x24 and the wizard shows only the "too small"
    /// message ([`crate::tui::view::draw_too_small`]).
    pub fn too_small(&self) -> bool {
        self.width < crate::tui::view::MIN_W || self.height < crate::tui::view::MIN_H
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
            if app.run.running || app.upgrade_running() {
                fx.push(Effect::Cancel);
            }
            fx.push(Effect::Quit);
            fx
        }
        Msg::Engine(ev) if app.upgrade_run.is_some() => {
            app.fold_upgrade_event(ev);
            vec![]
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
        Msg::Key(k) if app.too_small() => on_too_small_key(app, k),
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
                if let Some(u) = app.upgrade_run.as_mut().filter(|u| u.running) {
                    u.cancel_requested = true;
                    u.log.push(LogLine {
                        level: LogLevel::Warn,
                        phase: None,
                        message: "cancel requested: stopping at the next safe point".into(),
                    });
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

/// Keys while the "terminal too small" message hides the wizard: Ctrl-C and `q` quit (a
/// running run is cancelled first, as on SIGTERM); every other key is ignored, so nothing
/// the user cannot see is edited.
fn on_too_small_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    if !(ctrl(&k, 'c') || (k.code == KeyCode::Char('q') && k.modifiers.is_empty())) {
        return vec![];
    }
    app.quit = true;
    let mut fx = vec![];
    if app.run.running || app.upgrade_running() {
        fx.push(Effect::Cancel);
    }
    fx.push(Effect::Quit);
    fx
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
        if (app.screen == Screen::Run && app.run.running) || app.upgrade_running() {
            app.overlay = Overlay::ConfirmCancel;
            return vec![];
        }
        if matches!(
            app.screen,
            Screen::Done | Screen::Failure | Screen::UpgradeRun
        ) {
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
            KeyCode::Char('u') if app.upgrade.is_some() => app.screen = Screen::UpgradePlan,
            KeyCode::Char('q') | KeyCode::Esc => app.overlay = Overlay::ConfirmQuit,
            _ => {}
        },
        Screen::Network | Screen::Cluster => form::on_form_key(app, k),
        Screen::Args => args::on_args_key(app, k),
        Screen::Review => return review::on_review_key(app, k),
        Screen::Run => run::on_run_key(app, k),
        Screen::Done => return done::on_done_key(app, k),
        Screen::Failure => return failure::on_failure_key(app, k),
        Screen::UpgradePlan => return upgrade::on_plan_key(app, k),
        Screen::UpgradeRun => return upgrade::on_run_key(app, k),
    }
    vec![]
}
