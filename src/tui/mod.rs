//! The interactive wizard (ratatui + crossterm, tui-input): state, update, view.
//!
//! [`state::App`] holds everything; [`state::update`] turns key presses, engine events and
//! ticks into a new state plus [`state::Effect`]s; [`view::view`] draws a frame from the
//! state without I/O. [`run_init`] owns the terminal and performs the effects.

pub mod args;
pub mod engine_link;
pub mod form;
pub mod join;
pub mod reset;
pub mod review;
pub mod state;
pub mod strings;
pub mod upgrade;
pub mod view;

#[cfg(test)]
mod tests;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio_util::sync::CancellationToken;

use crate::config::{InitConfig, Source};
use crate::engine::{Event, EventSink, RunOutcome};
use crate::host::Host;
use state::{App, Detected, Effect, FileKind, Msg, Screen, Theme};

/// Restores the terminal: mouse reporting off, alternate screen left, raw mode off, cursor
/// shown. Safe to call more than once.
pub fn restore_terminal() {
    let mut out = std::io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        crossterm::event::DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Restores the terminal ([`restore_terminal`]) when dropped, also on an early return.
pub(crate) struct TermGuard;

/// Puts the terminal into the wizard's mode (raw mode, alternate screen, cleared, mouse
/// reporting on, and bracketed paste when `paste`) and returns the guard that undoes it.
/// The init and join wizards share this setup and [`restore_terminal`].
pub(crate) fn enter_terminal(paste: bool) -> std::io::Result<TermGuard> {
    enable_raw_mode()?;
    let guard = TermGuard;
    let mut out = std::io::stdout();
    execute!(
        out,
        EnterAlternateScreen,
        EnableMouseCapture,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    if paste {
        execute!(out, crossterm::event::EnableBracketedPaste)?;
    }
    Ok(guard)
}

/// Runs `f` with a panic hook that restores the terminal before the default message.
pub(crate) fn with_panic_restore<T>(f: impl FnOnce() -> T) -> T {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
    }));
    let r = f();
    let _ = std::panic::take_hook();
    r
}

impl Drop for TermGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// The theme from the environment: `NO_COLOR` (any non-empty value) turns colour off.
pub fn theme_from_env() -> Theme {
    match std::env::var_os("NO_COLOR") {
        Some(v) if !v.is_empty() => Theme::Mono,
        _ => Theme::Color16,
    }
}

fn set_src(cfg: &mut InitConfig, key: &str, src: Source) {
    cfg.sources.entry(key.to_string()).or_insert(src);
}

/// The configuration the wizard starts from when `config::resolve_init` refuses the flags
/// (no file given): `file` (or nothing), the init flags on top,
/// the detected values (node name, advertise address, CRI socket) and kubeadm's defaults
/// for what is still unset, with the source of each.
pub fn base_config(
    flags: &crate::cli::InitFlags,
    d: &Detected,
    file: Option<InitConfig>,
) -> InitConfig {
    let mut cfg = file.unwrap_or_default();
    let f = flags;
    let flag = |cfg: &mut InitConfig, key: &str, set: &mut dyn FnMut(&mut InitConfig)| {
        set(cfg);
        cfg.sources.insert(key.into(), Source::Flag);
    };
    if let Some(v) = &f.apiserver_advertise_address {
        flag(&mut cfg, "localAPIEndpoint.advertiseAddress", &mut |c| {
            c.init.local_api_endpoint.advertise_address = v.clone()
        });
    }
    if let Some(v) = f.apiserver_bind_port {
        flag(&mut cfg, "localAPIEndpoint.bindPort", &mut |c| {
            c.init.local_api_endpoint.bind_port = v
        });
    }
    if let Some(v) = &f.control_plane_endpoint {
        flag(&mut cfg, "controlPlaneEndpoint", &mut |c| {
            c.cluster.control_plane_endpoint = v.clone()
        });
    }
    if let Some(v) = &f.pod_network_cidr {
        flag(&mut cfg, "networking.podSubnet", &mut |c| {
            c.cluster.networking.pod_subnet = v.clone()
        });
    }
    if let Some(v) = &f.service_cidr {
        flag(&mut cfg, "networking.serviceSubnet", &mut |c| {
            c.cluster.networking.service_subnet = v.clone()
        });
    }
    if let Some(v) = &f.service_dns_domain {
        flag(&mut cfg, "networking.dnsDomain", &mut |c| {
            c.cluster.networking.dns_domain = v.clone()
        });
    }
    if !f.apiserver_cert_extra_sans.is_empty() {
        flag(&mut cfg, "apiServer.certSANs", &mut |c| {
            c.cluster.api_server.cert_sans = f.apiserver_cert_extra_sans.clone()
        });
    }
    if let Some(v) = &f.kubernetes_version {
        flag(&mut cfg, "kubernetesVersion", &mut |c| {
            c.cluster.kubernetes_version = v.clone()
        });
    }
    if let Some(v) = &f.image_repository {
        flag(&mut cfg, "imageRepository", &mut |c| {
            c.cluster.image_repository = v.clone()
        });
    }
    if let Some(v) = &f.cri_socket {
        flag(&mut cfg, "nodeRegistration.criSocket", &mut |c| {
            c.init.node_registration.cri_socket = v.clone()
        });
    }
    if let Some(v) = &f.node_name {
        flag(&mut cfg, "nodeRegistration.name", &mut |c| {
            c.init.node_registration.name = v.clone()
        });
    }
    if let Some(v) = &f.token {
        flag(&mut cfg, "bootstrapTokens", &mut |c| {
            c.init.bootstrap_tokens = vec![crate::config::BootstrapToken {
                token: v.clone(),
                ..Default::default()
            }]
        });
    }
    if !f.skip_phases.is_empty() {
        cfg.init.skip_phases = f.skip_phases.clone();
    }
    if !f.ignore_preflight_errors.is_empty() {
        cfg.init.node_registration.ignore_preflight_errors = f.ignore_preflight_errors.clone();
    }
    if f.certificate_key.is_some() {
        cfg.init.certificate_key = f.certificate_key.clone().unwrap_or_default();
    }
    let facts = &d.facts;
    if cfg.init.node_registration.name.is_empty() && !facts.hostname.is_empty() {
        cfg.init.node_registration.name = facts.hostname.to_lowercase();
        set_src(&mut cfg, "nodeRegistration.name", Source::Detected);
    }
    if cfg.init.local_api_endpoint.advertise_address.is_empty()
        && let Some(ip) = facts.default_route_addr
    {
        cfg.init.local_api_endpoint.advertise_address = ip.to_string();
        set_src(
            &mut cfg,
            "localAPIEndpoint.advertiseAddress",
            Source::Detected,
        );
    }
    if cfg.init.node_registration.cri_socket.is_empty()
        && let Some(s) = &d.runtime_socket
    {
        cfg.init.node_registration.cri_socket = s.clone();
        set_src(&mut cfg, "nodeRegistration.criSocket", Source::Detected);
    }
    crate::config::defaults::apply_static_init_defaults(&mut cfg);
    for key in [
        "localAPIEndpoint.bindPort",
        "networking.serviceSubnet",
        "networking.dnsDomain",
        "kubernetesVersion",
        "imageRepository",
        "nodeRegistration.criSocket",
        "encryptionAlgorithm",
        "certificatesDir",
        "clusterName",
        "etcd",
        "bootstrapTokens",
        "timeouts",
        "nodeRegistration.imagePullPolicy",
        "nodeRegistration.imagePullSerial",
        "certificateValidityPeriod",
        "caCertificateValidityPeriod",
    ] {
        set_src(&mut cfg, key, Source::Default);
    }
    cfg
}

fn write_user_file(path: &str, contents: &str, overwrite: bool) -> Result<bool, String> {
    let p = Path::new(path);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_err(|e| e.to_string())?.join(p)
    };
    // Refuse rather than create missing directories (a typo must not leave a tree behind).
    if let Some(dir) = abs.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(format!(
            "directory {} does not exist; create it first or pick another path",
            dir.display()
        ));
    }
    if abs.exists() && !overwrite {
        return Ok(false);
    }
    crate::host::fs::write_atomic(&abs, contents.as_bytes(), 0o600).map_err(|e| e.to_string())?;
    Ok(true)
}

/// The OSC 52 escape that asks the terminal to put `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// One line of the run log: the event as JSON, always with its secrets redacted.
fn log_line(ev: &Event) -> String {
    crate::output::json::format(&ev.redacted())
}

/// Runs the init wizard on the terminal; returns the process exit code (0 when the run
/// succeeded or the user quit before Start, 1 on failure, cancellation or a signal).
pub fn run_init(root: Option<PathBuf>, args: crate::cli::InitArgs) -> i32 {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return crate::cli::fail(
            "standard input is not a terminal, so the wizard cannot run; pass --non-interactive (with --config or flags) instead",
        );
    }
    let base_root = root.clone().unwrap_or_else(|| PathBuf::from("/"));
    // The dry-run directory (private, removed when the wizard ends unless the user named it).
    let (host, dry_dir) = match crate::cli::init_host(root, &args) {
        Ok(h) => h,
        Err(e) => return crate::cli::fail(e),
    };
    let root = host.root().to_path_buf();
    let facts = host.facts();
    let runtime_socket = form::CRI_SOCKETS
        .iter()
        .find(|s| Path::new(s.trim_start_matches("unix://")).exists())
        .map(|s| s.to_string());
    let kubelet = host.which("kubelet").map(|p| p.display().to_string());
    // The run log is created when the run starts (host::log: a private directory, a new
    // 0600 file, secrets redacted).
    let log_dir = crate::host::log::log_dir(&base_root, args.dry_run, |k| std::env::var(k).ok());
    let detected = Detected {
        facts,
        runtime_socket,
        kubelet,
        root: (root != Path::new("/")).then(|| root.display().to_string()),
        dry_run: args.dry_run,
        log_path: String::new(),
        existing: vec![],
        upload_certs_refused: None,
    };
    // flags over file over defaults, with sources (config::resolve_init). Without a file,
    // a configuration the loader refuses (e.g. no default route to take the advertise
    // address from) still opens the wizard, so the user can type the missing answers.
    let (base, warnings) = match crate::config::resolve_init(&args.flags, &detected.facts) {
        Ok(x) => x,
        Err(e) if args.flags.config.is_some() => return crate::cli::fail(e),
        Err(_) => (base_config(&args.flags, &detected, None), vec![]),
    };
    // External-CA files and --upload-certs: refused before the wizard opens, as init does.
    if let Err(e) =
        crate::phases::external_ca::check_external_ca(host.as_ref(), &base, args.flags.upload_certs)
    {
        return crate::cli::fail(e);
    }
    let from_file = args.flags.config.is_some();
    // ... and the same rule for the review screen's upload-certs toggle.
    let upload_certs_refused =
        crate::phases::external_ca::check_external_ca(host.as_ref(), &base, true).err();
    let mut app = App::new(base, detected, theme_from_env(), from_file);
    app.detected.upload_certs_refused = upload_certs_refused;
    app.upload_certs = args.flags.upload_certs;
    app.detected.existing = crate::day2::certs::welcome_lines(host.as_ref(), &app.base);
    if !from_file && app.answers.pod_subnet.is_empty() {
        app.answers.pod_subnet = form::CNI_PRESETS[0].1.to_string();
    }
    if let Some(w) = warnings.first() {
        app.notice = Some(format!("! {w}"));
    }
    // Key pairs do not depend on any answer: generate them while the user types.
    let key_pool = crate::pki::KeyAlgorithm::parse(&app.base.cluster.encryption_algorithm)
        .ok()
        .map(|alg| crate::pki::KeyPool::start(alg, crate::pki::KeyPool::INIT_KEYS));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return crate::cli::fail(format!("starting the async runtime: {e}")),
    };
    app.upgrade = upgrade::offer(&rt, host.as_ref(), !app.detected.existing.is_empty());
    let link = Link { host, key_pool };
    let show_secrets = crate::output::ShownSecrets::from_flags(
        args.show_secrets,
        args.skip_token_print,
        args.skip_certificate_key_print,
    );
    let result = with_panic_restore(|| rt.block_on(event_loop(&mut app, link, &log_dir)));
    let code = finish(&app, result, show_secrets);
    if let Some(d) = dry_dir {
        println!("[dryrun] {}", d.finish());
    }
    code
}

/// Prints the outcome of the init wizard on the normal screen (join commands with their
/// secrets withheld unless `show_secrets` shows them) and returns the exit code.
fn finish(
    app: &App,
    result: std::io::Result<()>,
    show_secrets: crate::output::ShownSecrets,
) -> i32 {
    if let Err(e) = result {
        return crate::cli::fail(format!("terminal: {e}"));
    }
    if let Some(code) = upgrade::finish(app) {
        return code;
    }
    // Print the outcome again on the normal screen, as kubeadm does, so it stays in the
    // scrollback.
    match &app.run.outcome {
        Some(RunOutcome::Succeeded) => {
            match app.run.join.as_ref().and_then(|j| j.root.as_ref()) {
                Some(root) => {
                    // A dry run a real run would not get through is not called a success.
                    match strings::dry_run_preflight_errors(&app.failing_checks()) {
                        Some(t) => {
                            println!("[dryrun] Dry run finished in {root}; {}\n", lower_first(&t))
                        }
                        None => println!("[dryrun] Finished dry-running successfully in {root}\n"),
                    }
                }
                None => println!("Your Kubernetes control-plane has initialized successfully!\n"),
            }
            println!("{}\n", strings::ADMIN_CONF_HINT);
            if let Some(j) = &app.run.join {
                let shown = j.with_secrets(show_secrets.token, show_secrets.certificate_key);
                let j = &shown;
                if let Some(cp) =
                    j.control_plane_command(crate::engine::JoinInfo::CONTROL_PLANE_JOIN_PROGRAM)
                {
                    println!(
                        "You can now join any number of control-plane nodes by running the following command on each as root:\n\n{cp}\n"
                    );
                    if j.certificate_key.is_some() {
                        println!("{}\n", crate::engine::JoinInfo::CERTIFICATE_KEY_NOTE);
                    }
                }
                println!(
                    "Then you can join any number of worker nodes by running the following on each as root:\n\n{}\n",
                    j.worker_command("kubestrap")
                );
                if j.redacted {
                    println!("{}", crate::output::text::REDACTED_NOTE.trim());
                }
            }
            0
        }
        Some(RunOutcome::Failed { phase }) => {
            let msg = app
                .run
                .failed
                .as_ref()
                .map(|f| f.error.clone())
                .unwrap_or_default();
            eprintln!("error: phase {phase} failed: {msg}");
            eprintln!("The full log is in {}", app.detected.log_path);
            1
        }
        Some(RunOutcome::Cancelled {
            after_phase,
            interrupted,
            ..
        }) => {
            eprintln!(
                "init was cancelled{}{}; the full log is in {}",
                interrupted
                    .as_ref()
                    .map(|p| format!(" during phase {p}"))
                    .unwrap_or_default(),
                after_phase
                    .as_ref()
                    .map(|p| format!(" after phase {p}"))
                    .unwrap_or_default(),
                app.detected.log_path
            );
            1
        }
        None => {
            eprintln!("init was not started; nothing was changed");
            app.exit_code()
        }
    }
}

/// What the event loop needs to start runs.
struct Link {
    host: Arc<dyn Host>,
    key_pool: Option<Arc<crate::pki::KeyPool>>,
}

impl Link {
    fn request(
        &self,
        cfg: InitConfig,
        from_phase: Option<String>,
        ignore_preflight: Vec<String>,
        attempt: u32,
        upload_certs: bool,
    ) -> engine_link::StartRequest {
        engine_link::StartRequest {
            cfg: Arc::new(cfg),
            host: self.host.clone(),
            from_phase,
            ignore_preflight,
            attempt,
            key_pool: self.key_pool.clone(),
            upload_certs,
        }
    }
}

async fn event_loop(app: &mut App, mut link: Link, log_dir: &Path) -> std::io::Result<()> {
    let _guard = enter_terminal(false)?;
    let mut out = std::io::stdout();
    let mut mouse_on = true;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let size = terminal.size()?;
    app.width = size.width;
    app.height = size.height;
    let t0 = Instant::now();
    let mut events = EventStream::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut engine_rx: Option<tokio::sync::mpsc::UnboundedReceiver<Event>> = None;
    let mut fix_rx: Option<tokio::sync::mpsc::UnboundedReceiver<Event>> = None;
    let mut pool_poll = tokio::time::interval(Duration::from_millis(250));
    let mut cancel = CancellationToken::new();
    let mut log_file: Option<std::fs::File> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut pending: Vec<Msg> = vec![];
    loop {
        if dirty {
            terminal.draw(|f| view::view(app, f))?;
            dirty = false;
        }
        let animating = app.animating();
        let pool_filling = !app.run.running
            && app.run.attempt == 0
            && link
                .key_pool
                .as_ref()
                .is_some_and(|p| app.keys.is_none_or(|(d, w)| d < w) && p.served() == 0);
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(crossterm::event::Event::Key(k))) => pending.push(Msg::Key(k)),
                Some(Ok(crossterm::event::Event::Mouse(m))) => pending.push(Msg::Mouse(m)),
                Some(Ok(crossterm::event::Event::Resize(w, h))) => pending.push(Msg::Resize(w, h)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => pending.push(Msg::Terminate),
            },
            Some(ev) = async { match engine_rx.as_mut() { Some(rx) => rx.recv().await, None => None } } => {
                pending.push(Msg::Engine(ev));
            }
            ev = async { match fix_rx.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => {
                match ev {
                    Some(ev) => pending.push(Msg::Engine(ev)),
                    None => fix_rx = None,
                }
            }
            _ = pool_poll.tick(), if pool_filling => {
                if let Some(p) = &link.key_pool {
                    pending.push(Msg::KeysProgress { done: p.ready().min(crate::pki::KeyPool::INIT_KEYS), wanted: crate::pki::KeyPool::INIT_KEYS });
                }
            }
            _ = sigterm.recv() => pending.push(Msg::Terminate),
            _ = sighup.recv() => pending.push(Msg::Terminate),
            _ = tick.tick(), if animating => pending.push(Msg::Tick),
        }
        if let Some(rx) = engine_rx.as_mut() {
            while let Ok(ev) = rx.try_recv() {
                pending.push(Msg::Engine(ev));
            }
        }
        while !pending.is_empty() {
            let batch = std::mem::take(&mut pending);
            for msg in batch {
                // Probes feed the health pane; the log has wait-control-plane's change
                // and summary lines instead.
                if let (Msg::Engine(ev), Some(f)) = (&msg, log_file.as_mut())
                    && !matches!(ev, Event::Probe { .. })
                {
                    let _ = writeln!(f, "{}", log_line(ev));
                }
                if matches!(msg, Msg::Tick) && !app.animating() {
                    continue;
                }
                app.clock_ms = t0.elapsed().as_millis() as u64;
                let effects = state::update(app, msg);
                dirty = true;
                for fx in effects {
                    match fx {
                        Effect::Quit => {
                            cancel.cancel();
                            return Ok(());
                        }
                        Effect::Cancel => cancel.cancel(),
                        Effect::Start {
                            cfg,
                            from_phase,
                            ignore_preflight,
                            upload_certs,
                        } => {
                            if log_file.is_none() {
                                match crate::host::log::create_run_log(log_dir, "init") {
                                    Ok((path, f)) => {
                                        app.detected.log_path = path.display().to_string();
                                        log_file = Some(f);
                                    }
                                    Err(e) => {
                                        app.detected.log_path = format!("(no log: {e})");
                                    }
                                }
                            }
                            cancel = CancellationToken::new();
                            let (sink, rx) = EventSink::channel();
                            engine_rx = Some(rx);
                            let req = link.request(
                                *cfg,
                                from_phase,
                                ignore_preflight,
                                app.run.attempt,
                                upload_certs,
                            );
                            engine_link::start(req, sink, cancel.clone());
                        }
                        Effect::Upgrade { version } => {
                            if log_file.is_none() {
                                match crate::host::log::create_run_log(log_dir, "upgrade") {
                                    Ok((path, f)) => {
                                        app.detected.log_path = path.display().to_string();
                                        log_file = Some(f);
                                    }
                                    Err(e) => app.detected.log_path = format!("(no log: {e})"),
                                }
                            }
                            cancel = CancellationToken::new();
                            let (sink, rx) = EventSink::channel();
                            engine_rx = Some(rx);
                            engine_link::start_upgrade(
                                link.host.clone(),
                                version,
                                sink,
                                cancel.clone(),
                            );
                        }
                        Effect::ApplyFix { check } => {
                            if let Some(cfg) = app.config.clone() {
                                let (sink, rx) = EventSink::channel();
                                fix_rx = Some(rx);
                                let req = link.request(
                                    cfg,
                                    None,
                                    app.ignore_preflight.clone(),
                                    app.run.attempt,
                                    app.upload_certs,
                                );
                                engine_link::apply_fix(req, check, sink);
                            }
                        }
                        Effect::WriteFile {
                            kind,
                            path,
                            contents,
                            overwrite,
                        } => {
                            pending.push(match write_user_file(&path, &contents, overwrite) {
                                Ok(false) => Msg::FileExists { kind, path },
                                Ok(true) => Msg::FileWritten {
                                    kind,
                                    path,
                                    result: Ok(()),
                                },
                                Err(e) => Msg::FileWritten {
                                    kind,
                                    path,
                                    result: Err(e),
                                },
                            });
                        }
                        Effect::RenewCerts => {
                            let host = link.host.as_ref();
                            app.notice = Some(
                                match crate::day2::certs::renew_all_summary(host, &app.base) {
                                    Ok(s) => s,
                                    Err(e) => format!("renewal failed: {e}"),
                                },
                            );
                            app.detected.existing =
                                crate::day2::certs::welcome_lines(host, &app.base);
                        }
                        Effect::Copy(text) => {
                            let mut o = std::io::stdout();
                            let _ = o.write_all(osc52(&text).as_bytes());
                            let _ = o.flush();
                        }
                    }
                }
            }
        }
        // A new key type: its key pairs are made in the background from now on.
        restart_key_pool(app, &mut link);
        if app.wants_mouse() != mouse_on {
            mouse_on = app.wants_mouse();
            if mouse_on {
                execute!(out, EnableMouseCapture)?;
            } else {
                execute!(out, DisableMouseCapture)?;
            }
        }
        if app.quit {
            return Ok(());
        }
        let _ = FileKind::Export;
        let _ = Screen::Done;
    }
}

/// `A real init …` → `a real init …` (a sentence continued after a semicolon).
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Before the first run: when the key type answered differs from the pre-made keys', starts
/// generating key pairs of the new type in the background (the old pool is dropped) and says
/// so; the welcome screen's count starts again.
fn restart_key_pool(app: &mut App, link: &mut Link) {
    if app.run.running || app.run.attempt > 0 {
        return;
    }
    let Ok(alg) = crate::pki::KeyAlgorithm::parse(app.answers.key_algo.trim()) else {
        return;
    };
    if link.key_pool.as_ref().is_some_and(|p| p.algorithm() == alg) {
        return;
    }
    link.key_pool = Some(crate::pki::KeyPool::start(
        alg,
        crate::pki::KeyPool::INIT_KEYS,
    ));
    app.keys = Some((0, crate::pki::KeyPool::INIT_KEYS));
    app.notice = Some(format!(
        "Key type {}: generating its key pairs in the background",
        app.answers.key_algo.trim()
    ));
}
