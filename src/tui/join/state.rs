//! State and update function of the join wizard. Pure: no I/O; the runner in
//! [`super::run_join`] performs the [`JoinEffect`]s.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::cli::JoinArgs;
use crate::config::JoinConfiguration;
use crate::engine::{Event, LogLevel, ProbeOutcome, RunOutcome};
use crate::join::cmdline;
use crate::tui::state::Theme;

/// The four join screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinScreen {
    Form,
    Progress,
    Done,
    Failure,
}

/// Fields of the form, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Paste,
    Endpoint,
    Token,
    Hashes,
    NodeName,
    CriSocket,
    UnsafeSkip,
}

impl Field {
    /// Every field in Tab order.
    pub const ALL: [Field; 7] = [
        Field::Paste,
        Field::Endpoint,
        Field::Token,
        Field::Hashes,
        Field::NodeName,
        Field::CriSocket,
        Field::UnsafeSkip,
    ];

    fn index(self) -> usize {
        Field::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// State of one discovery step shown on the progress screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Step {
    #[default]
    Pending,
    Active,
    Done,
    /// Not done on purpose (the CA pin with --discovery-token-unsafe-skip-ca-verification).
    Skipped,
    Failed,
}

/// Status of one join phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhaseState {
    Pending,
    Running { since_ms: u64 },
    Done { elapsed_ms: u64 },
    Skipped { reason: String },
    Failed,
}

/// The last probe of a wait (discovery attempts, TLS bootstrap, Node registration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeView {
    pub component: String,
    pub attempt: u32,
    /// `None` when the probe succeeded.
    pub error: Option<String>,
    pub elapsed_ms: u64,
    pub timeout_ms: u64,
}

/// What the progress, done and failure screens show, built from engine events.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub phases: Vec<(String, PhaseState)>,
    pub reach: Step,
    pub signature: Step,
    pub pin: Step,
    pub recheck: Step,
    /// Last discovery probe (a failed attempt) and the retry note ("retrying in 5s (4m50s left ...)").
    pub discovery_probe: Option<ProbeView>,
    pub retry_note: Option<String>,
    /// The CA as cluster-info carries it.
    pub ca_subject: Option<String>,
    pub ca_pins: Vec<String>,
    /// Warnings (unsafe skip, server address differs, no systemd).
    pub warnings: Vec<String>,
    /// kubelet-start messages and files written.
    pub kubelet: Vec<String>,
    /// Preflight checks that failed and were not ignored (`[Name] message`): what the
    /// "N error(s) above would stop a real join" line refers to.
    pub preflight_errors: Vec<String>,
    pub files: Vec<String>,
    /// Last probe of the TLS bootstrap / Node registration wait.
    pub bootstrap_probe: Option<ProbeView>,
    /// A control-plane join: this node added as an etcd learner, its start and catch-up
    /// (with the last [`crate::join::etcd::LEARNER_PROBE`] probe), its promotion.
    pub etcd_add: Step,
    pub etcd_catch_up: Step,
    pub etcd_promote: Step,
    pub etcd_probe: Option<ProbeView>,
    /// The learner's peer URL and ID, from the `etcd-join` log.
    pub etcd_learner: Option<String>,
    /// The cluster uses external etcd: `etcd-join` added no member
    /// ([`crate::join::etcd::EXTERNAL_ETCD`]).
    pub external_etcd: bool,
    pub outcome: Option<RunOutcome>,
    /// Failed phase, error chain, hint.
    pub failed: Option<(String, String, Option<String>)>,
    /// The failed phase's error causes, outermost first (the event's `causes`).
    pub failed_causes: Vec<String>,
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
}

impl Progress {
    fn new(now: u64, control_plane: bool) -> Self {
        let phases = if control_plane {
            crate::join::CONTROL_PLANE_PHASES
        } else {
            crate::join::PHASES
        };
        Progress {
            phases: phases
                .iter()
                .map(|p| (p.to_string(), PhaseState::Pending))
                .collect(),
            started_ms: now,
            ..Default::default()
        }
    }
}

/// The whole join wizard.
#[derive(Debug, Clone)]
pub struct JoinApp {
    pub screen: JoinScreen,
    pub focus: Field,
    pub paste: Input,
    pub endpoint: Input,
    pub token: Input,
    pub hashes: Input,
    pub node_name: Input,
    pub cri_socket: Input,
    pub unsafe_skip: bool,
    /// A message under the form (✗ error, or a note after a paste).
    pub notice: Option<String>,
    /// Flags given on the command line that the form does not show (dry run, ignored
    /// preflight errors, skipped phases, `--config`, `--discovery-file`, ...).
    pub base_args: JoinArgs,
    /// This machine's hostname (the default node name).
    pub hostname: String,
    /// Dry run: where the files go.
    pub dry_run_root: Option<String>,
    /// The configuration of the current run (set by Start).
    pub config: Option<JoinConfiguration>,
    pub progress: Progress,
    pub theme: Theme,
    pub width: u16,
    pub height: u16,
    /// Milliseconds since the wizard started (set by the runner before each update).
    pub clock_ms: u64,
    pub quit: bool,
}

/// Inputs of the update function.
#[derive(Debug, Clone)]
pub enum JoinMsg {
    Key(KeyEvent),
    /// Text pasted with bracketed paste.
    Paste(String),
    Engine(Event),
    Tick,
    Resize(u16, u16),
    /// SIGTERM / SIGHUP / the terminal went away.
    Terminate,
}

/// What the runner must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinEffect {
    /// Run `join::run` with this configuration.
    Start(Box<JoinConfiguration>),
    Quit,
}

fn input(v: Option<&str>) -> Input {
    Input::new(v.unwrap_or_default().to_string())
}

impl JoinApp {
    /// A form filled from the command-line flags (`args`), with `hostname` as the default
    /// node name and `dry_run_root` shown when files go to a dry-run directory.
    pub fn new(args: JoinArgs, hostname: &str, dry_run_root: Option<String>, theme: Theme) -> Self {
        let mut a = JoinApp {
            screen: JoinScreen::Form,
            focus: Field::Paste,
            paste: Input::default(),
            endpoint: Input::default(),
            token: Input::default(),
            hashes: Input::default(),
            node_name: Input::default(),
            cri_socket: Input::default(),
            unsafe_skip: false,
            notice: None,
            base_args: JoinArgs::default(),
            hostname: hostname.to_string(),
            dry_run_root,
            config: None,
            progress: Progress::default(),
            theme,
            width: 80,
            height: 24,
            clock_ms: 0,
            quit: false,
        };
        a.fill_from(&args);
        a.base_args = args;
        a
    }

    /// Copies the form's fields from `args` (a pasted command or the command line).
    fn fill_from(&mut self, a: &JoinArgs) {
        self.endpoint = input(a.endpoint.as_deref());
        self.token = input(a.token.as_deref().or(a.discovery_token.as_deref()));
        self.hashes = Input::new(a.discovery_token_ca_cert_hash.join(","));
        if a.node_name.is_some() {
            self.node_name = input(a.node_name.as_deref());
        }
        if a.cri_socket.is_some() {
            self.cri_socket = input(a.cri_socket.as_deref());
        }
        self.unsafe_skip = a.discovery_token_unsafe_skip_ca_verification;
    }

    fn input_mut(&mut self, f: Field) -> Option<&mut Input> {
        match f {
            Field::Paste => Some(&mut self.paste),
            Field::Endpoint => Some(&mut self.endpoint),
            Field::Token => Some(&mut self.token),
            Field::Hashes => Some(&mut self.hashes),
            Field::NodeName => Some(&mut self.node_name),
            Field::CriSocket => Some(&mut self.cri_socket),
            Field::UnsafeSkip => None,
        }
    }

    /// The value of a text field (`""` for the toggle).
    pub fn value(&self, f: Field) -> &str {
        match f {
            Field::Paste => self.paste.value(),
            Field::Endpoint => self.endpoint.value(),
            Field::Token => self.token.value(),
            Field::Hashes => self.hashes.value(),
            Field::NodeName => self.node_name.value(),
            Field::CriSocket => self.cri_socket.value(),
            Field::UnsafeSkip => "",
        }
    }

    /// The check of one field as typed: `None` when fine, else the message naming the
    /// flag, the value and the rule.
    pub fn field_error(&self, f: Field) -> Option<String> {
        let v = self.value(f).trim();
        match f {
            Field::Paste | Field::UnsafeSkip => None,
            Field::Endpoint => {
                if v.is_empty() {
                    return Some("required: the API server as host:port, e.g. 192.0.2.10:6443".into());
                }
                match crate::config::net::split_host_port(v) {
                    Ok((_, Some(_))) => None,
                    Ok((_, None)) => Some(format!("{v:?} has no port: expected host:port, e.g. {v}:6443")),
                    Err(e) => Some(e),
                }
            }
            Field::Token => {
                if v.is_empty() {
                    return Some("required: <6 chars>.<16 chars> of [a-z0-9], as init printed it".into());
                }
                crate::config::token::BootstrapTokenString::parse(v).err()
            }
            Field::Hashes => {
                let pins = split_pins(v);
                if pins.is_empty() {
                    return (!self.unsafe_skip).then(|| {
                        "required unless the CA check is skipped: sha256:<64 hex characters>, as init printed it".into()
                    });
                }
                pins.iter().find_map(|p| {
                    crate::pki::parse_pin(p)
                        .err()
                        .map(|e| format!("{p:?}: {}", cmdline::pin_error(e)))
                })
            }
            Field::NodeName => (!v.is_empty() && !cmdline::is_rfc1123_subdomain(v)).then(|| {
                format!("{v:?} is not a lower-case RFC 1123 subdomain (a-z, 0-9, '-', '.', starting and ending alphanumeric)")
            }),
            Field::CriSocket => (!v.is_empty() && !v.starts_with("unix:///") && !v.starts_with('/'))
                .then(|| format!("{v:?}: expected a unix socket, e.g. unix:///var/run/containerd/containerd.sock")),
        }
    }

    /// The join flags the form stands for: the command-line flags with the typed fields on top.
    pub fn args(&self) -> JoinArgs {
        let mut a = self.base_args.clone();
        let t = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        a.endpoint = t(self.endpoint.value());
        a.token = t(self.token.value());
        a.discovery_token = None;
        a.tls_bootstrap_token = self.base_args.tls_bootstrap_token.clone();
        a.discovery_token_ca_cert_hash = split_pins(self.hashes.value());
        a.discovery_token_unsafe_skip_ca_verification = self.unsafe_skip;
        a.node_name = t(self.node_name.value()).or(self.base_args.node_name.clone());
        a.cri_socket = t(self.cri_socket.value()).or(self.base_args.cri_socket.clone());
        a
    }

    /// Parses a pasted join command into the fields. Errors go to the notice.
    fn take_paste(&mut self, text: &str) {
        match cmdline::parse_pasted(text) {
            Ok(p) => {
                if p.config.is_some() || p.discovery_file.is_some() {
                    self.notice = Some(
                        "✗ the pasted command uses --config or --discovery-file; run it as a command instead".into(),
                    );
                    return;
                }
                self.fill_from(&p);
                if p.tls_bootstrap_token.is_some() {
                    self.base_args.tls_bootstrap_token = p.tls_bootstrap_token.clone();
                }
                // A control-plane join command keeps its flags (the form has no fields for
                // them); a worker command pasted after it clears them.
                self.base_args.control_plane = p.control_plane;
                self.base_args.certificate_key = p.certificate_key.clone();
                self.base_args.apiserver_advertise_address = p.apiserver_advertise_address.clone();
                self.base_args.apiserver_bind_port = p.apiserver_bind_port;
                self.paste = Input::default();
                self.notice = Some(if p.control_plane {
                    "✓ read the pasted control-plane join command (--control-plane, certificate key kept, not shown); check the fields, then press Enter to join this node as a control-plane node".into()
                } else {
                    "✓ read the pasted command into the fields below; check them, then press Enter to join".into()
                });
                self.focus = Field::Paste;
            }
            Err(e) => self.notice = Some(format!("✗ {e}")),
        }
    }

    /// Builds the configuration and starts, or puts the first problem into the notice.
    fn try_start(&mut self) -> Vec<JoinEffect> {
        for f in Field::ALL {
            if let Some(e) = self.field_error(f) {
                self.focus = f;
                self.notice = Some(format!("✗ {}: {e}", label(f)));
                return vec![];
            }
        }
        match cmdline::join_config_from_args(&self.args(), &self.hostname) {
            Ok(cfg) => self.start(cfg),
            Err(e) => {
                self.notice = Some(format!("✗ {e}"));
                vec![]
            }
        }
    }

    /// Switches to the progress screen and asks the runner to run `cfg`.
    pub fn start(&mut self, cfg: JoinConfiguration) -> Vec<JoinEffect> {
        self.notice = None;
        self.screen = JoinScreen::Progress;
        self.progress = Progress::new(self.clock_ms, cfg.control_plane.is_some());
        self.config = Some(cfg.clone());
        vec![JoinEffect::Start(Box::new(cfg))]
    }

    /// True while a spinner or a clock moves (the runner ticks only then).
    pub fn animating(&self) -> bool {
        self.screen == JoinScreen::Progress
    }

    /// The node name of the current run.
    pub fn node(&self) -> String {
        self.config
            .as_ref()
            .map(|c| c.node_registration.name.clone())
            .unwrap_or_else(|| self.hostname.clone())
    }
}

/// The label of a field as the form shows it.
pub fn label(f: Field) -> &'static str {
    match f {
        Field::Paste => "Paste the join command",
        Field::Endpoint => "API server endpoint",
        Field::Token => "Token",
        Field::Hashes => "CA cert hash(es)",
        Field::NodeName => "Node name",
        Field::CriSocket => "CRI socket",
        Field::UnsafeSkip => "Skip CA verification",
    }
}

/// Pins typed comma- or space-separated.
pub fn split_pins(v: &str) -> Vec<String> {
    v.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Turns a key press, pasted text, engine event, tick or resize into the new state and
/// the effects to perform.
pub fn update(app: &mut JoinApp, msg: JoinMsg) -> Vec<JoinEffect> {
    match msg {
        JoinMsg::Resize(w, h) => {
            app.width = w;
            app.height = h;
            vec![]
        }
        JoinMsg::Tick => vec![],
        JoinMsg::Terminate => {
            app.quit = true;
            vec![JoinEffect::Quit]
        }
        JoinMsg::Engine(ev) => {
            on_event(app, ev);
            vec![]
        }
        JoinMsg::Paste(text) => {
            if app.screen != JoinScreen::Form || app.too_small() {
                return vec![];
            }
            if app.focus == Field::Paste || text.contains(" join ") {
                app.take_paste(&text);
            } else if let Some(i) = app.input_mut(app.focus) {
                let v = format!("{}{}", i.value(), text.trim());
                *i = Input::new(v);
            }
            vec![]
        }
        JoinMsg::Key(k) => on_key(app, k),
    }
}

impl JoinApp {
    /// How long quitting waits for a cancelled run to end before dropping it (ms): 2 s, but
    /// 60 s while `etcd-join` runs, so a learner the run added is removed again
    /// (`crate::join::etcd::etcd_join` undoes it at a cancel) instead of left in etcd.
    pub fn cancel_wait_ms(&self) -> u64 {
        let etcd_join_running = self
            .progress
            .phases
            .iter()
            .any(|(n, st)| n == "etcd-join" && matches!(st, PhaseState::Running { .. }));
        if etcd_join_running { 60_000 } else { 2_000 }
    }

    /// True while the terminal is below 80x24 and the wizard shows only the "too small"
    /// message ([`crate::tui::view::draw_too_small`]).
    pub fn too_small(&self) -> bool {
        self.width < crate::tui::view::MIN_W || self.height < crate::tui::view::MIN_H
    }
}

fn quit(app: &mut JoinApp) -> Vec<JoinEffect> {
    app.quit = true;
    vec![JoinEffect::Quit]
}

fn on_key(app: &mut JoinApp, k: KeyEvent) -> Vec<JoinEffect> {
    if k.kind == crossterm::event::KeyEventKind::Release {
        return vec![];
    }
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(k.code, KeyCode::Char('c') | KeyCode::Char('q')) {
        return quit(app);
    }
    // The "terminal too small" message hides the wizard: `q` quits, other keys are
    // ignored so nothing the user cannot see is edited.
    if app.too_small() {
        if k.code == KeyCode::Char('q') && k.modifiers.is_empty() {
            return quit(app);
        }
        return vec![];
    }
    match app.screen {
        JoinScreen::Form => on_form_key(app, k),
        // The engine cannot be stopped at a safe point half-way through a join; quitting
        // drops the run (files already written stay, as with kubeadm).
        JoinScreen::Progress => vec![],
        JoinScreen::Done => match k.code {
            KeyCode::Char('q') | KeyCode::Enter | KeyCode::Esc => quit(app),
            _ => vec![],
        },
        JoinScreen::Failure => match k.code {
            KeyCode::Char('q') => quit(app),
            KeyCode::Char('r') => match app.config.clone() {
                Some(cfg) => app.start(cfg),
                None => vec![],
            },
            KeyCode::Char('e') | KeyCode::Esc => {
                app.screen = JoinScreen::Form;
                app.notice = None;
                vec![]
            }
            _ => vec![],
        },
    }
}

fn on_form_key(app: &mut JoinApp, k: KeyEvent) -> Vec<JoinEffect> {
    let n = Field::ALL.len();
    let i = app.focus.index();
    match k.code {
        KeyCode::Tab | KeyCode::Down => {
            app.focus = Field::ALL[(i + 1) % n];
            vec![]
        }
        KeyCode::BackTab | KeyCode::Up => {
            app.focus = Field::ALL[(i + n - 1) % n];
            vec![]
        }
        KeyCode::Esc => quit(app),
        KeyCode::Char(' ') if app.focus == Field::UnsafeSkip => {
            app.unsafe_skip = !app.unsafe_skip;
            vec![]
        }
        KeyCode::Enter => {
            if app.focus == Field::Paste && !app.paste.value().trim().is_empty() {
                let v = app.paste.value().trim_end().to_string();
                // Without bracketed paste a multi-line command arrives line by line: a
                // trailing backslash continues it.
                if let Some(head) = v.strip_suffix('\\') {
                    app.paste = Input::new(format!("{} ", head.trim_end()));
                    return vec![];
                }
                app.take_paste(&v);
                return vec![];
            }
            app.try_start()
        }
        _ => {
            if let Some(i) = app.input_mut(app.focus) {
                i.handle_event(&crossterm::event::Event::Key(k));
            }
            if app.notice.as_deref().is_some_and(|n| n.starts_with('✗')) {
                app.notice = None;
            }
            vec![]
        }
    }
}

fn probe_view(component: &str, attempt: u32, outcome: &ProbeOutcome, e: u64, t: u64) -> ProbeView {
    ProbeView {
        component: component.to_string(),
        attempt,
        error: match outcome {
            ProbeOutcome::Healthy => None,
            ProbeOutcome::Http { status, body } => Some(format!("HTTP {status}: {body}")),
            ProbeOutcome::Error { message } => Some(message.clone()),
        },
        elapsed_ms: e,
        timeout_ms: t,
    }
}

/// The CA subject and pins out of the discovery log lines
/// `Cluster CA <subject> matches the pinned hash <pins>` and
/// `INSECURE: ... trusting CA <subject> with pin <pins> only ...` (src/join/discovery.rs).
fn ca_of(msg: &str) -> Option<(String, Vec<String>)> {
    let (subject, pins) = if let Some(rest) = msg.strip_prefix("Cluster CA ") {
        rest.split_once(" matches the pinned hash ")?
    } else {
        let rest = msg.split_once("trusting CA ")?.1;
        let (s, r) = rest.split_once(" with pin ")?;
        (s, r.split_once(" only")?.0)
    };
    Some((
        subject.to_string(),
        pins.split(", ").map(String::from).collect(),
    ))
}

/// The etcd steps of a control-plane join from the `etcd-join` log lines
/// (`crate::join::etcd::etcd_join`).
fn etcd_step(p: &mut Progress, level: LogLevel, message: String) {
    if level == LogLevel::Warn {
        p.warnings.push(message);
    } else if message == crate::join::etcd::EXTERNAL_ETCD {
        p.external_etcd = true;
    } else if message.starts_with("[etcd] Would add etcd member") {
        p.etcd_add = Step::Done;
    } else if message.starts_with("[etcd] Announced new etcd member") {
        p.etcd_add = Step::Done;
        p.etcd_catch_up = Step::Active;
        p.etcd_learner = message
            .split_once('(')
            .map(|(_, r)| r.trim_end_matches(')').to_string());
    } else if message.contains("started; promoting it") {
        p.etcd_catch_up = Step::Active;
    } else if message.contains("was promoted to a voting member") {
        p.etcd_catch_up = Step::Done;
        p.etcd_promote = Step::Done;
    }
}

fn set_phase(pr: &mut Progress, phase: &str, st: PhaseState) {
    if let Some(p) = pr.phases.iter_mut().find(|(n, _)| n == phase) {
        p.1 = st;
    } else {
        pr.phases.push((phase.to_string(), st));
    }
}

fn on_event(app: &mut JoinApp, ev: Event) {
    let now = app.clock_ms;
    let p = &mut app.progress;
    match ev {
        Event::PhaseStarted { phase } => {
            if phase == "discovery" {
                p.reach = Step::Active;
            }
            set_phase(p, &phase, PhaseState::Running { since_ms: now });
        }
        Event::PhaseFinished { phase, elapsed_ms } => {
            set_phase(p, &phase, PhaseState::Done { elapsed_ms })
        }
        Event::PhaseSkipped { phase, reason } => {
            set_phase(p, &phase, PhaseState::Skipped { reason })
        }
        Event::PhaseFailed {
            phase,
            error,
            causes,
            hint,
            ..
        } => {
            for s in [&mut p.reach, &mut p.signature, &mut p.pin, &mut p.recheck] {
                if *s == Step::Active {
                    *s = Step::Failed;
                }
            }
            if phase == "etcd-join" {
                for s in [&mut p.etcd_add, &mut p.etcd_catch_up, &mut p.etcd_promote] {
                    if *s == Step::Active {
                        *s = Step::Failed;
                    }
                }
            }
            p.failed = Some((phase.clone(), error, hint));
            p.failed_causes = causes;
            set_phase(p, &phase, PhaseState::Failed);
        }
        Event::Probe {
            component,
            attempt,
            outcome,
            elapsed_ms,
            timeout_ms,
            ..
        } => {
            let v = probe_view(&component, attempt, &outcome, elapsed_ms, timeout_ms);
            if component == "discovery" {
                p.discovery_probe = Some(v);
            } else if component == crate::join::etcd::LEARNER_PROBE {
                p.etcd_probe = Some(v);
            } else {
                p.bootstrap_probe = Some(v);
            }
        }
        Event::Log {
            level,
            phase,
            message,
        } => {
            let phase = phase.unwrap_or_default();
            if phase == "discovery" {
                if message.starts_with("Reached ") {
                    p.reach = Step::Done;
                    p.signature = Step::Active;
                    p.retry_note = None;
                } else if message.starts_with("Signature of cluster-info checked") {
                    p.signature = Step::Done;
                    p.pin = Step::Active;
                } else if let Some((subject, pins)) = ca_of(&message) {
                    p.ca_subject = Some(subject);
                    p.ca_pins = pins;
                    if message.starts_with("INSECURE") {
                        p.pin = Step::Skipped;
                        p.warnings.push(message.clone());
                    } else {
                        p.pin = Step::Done;
                        p.recheck = Step::Active;
                    }
                } else if message.starts_with("Fetched cluster-info again") {
                    p.recheck = Step::Done;
                } else if level == LogLevel::Warn && message.contains("retrying in") {
                    p.retry_note = Some(message);
                } else if level == LogLevel::Warn {
                    p.warnings.push(message);
                }
            } else if phase == "etcd-join" {
                etcd_step(p, level, message);
            } else if phase == "kubelet-start" || phase == "kubelet-wait-bootstrap" {
                if level == LogLevel::Warn {
                    p.warnings.push(message);
                } else {
                    p.kubelet.push(message);
                }
            } else if level == LogLevel::Warn {
                p.warnings.push(message);
            }
        }
        Event::Check {
            name,
            severity: crate::engine::Severity::Error,
            message,
            ignored: false,
            ..
        } => p.preflight_errors.push(format!("[{name}] {message}")),
        Event::FileWritten { path, .. } => p.files.push(path),
        Event::Finished { outcome } => {
            p.ended_ms = Some(now);
            let screen = match outcome {
                RunOutcome::Succeeded => JoinScreen::Done,
                _ => JoinScreen::Failure,
            };
            p.outcome = Some(outcome);
            app.screen = screen;
        }
        _ => {}
    }
}
