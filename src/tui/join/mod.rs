//! The join wizard: a form where the user pastes the join command `init` printed (or fills
//! its fields), then discovery progress, the cluster CA's subject and pin, the kubelet start
//! and the TLS bootstrap wait, ending on a done or failure screen.
//!
//! [`state::JoinApp`] holds everything; [`state::update`] turns key presses, pasted text,
//! engine events and ticks into a new state plus [`state::JoinEffect`]s; [`view::view`]
//! draws it without I/O. [`run_join`] owns the terminal (the init wizard's setup and
//! restore code) and runs [`crate::join::run`] on a tokio task.

pub mod state;
pub mod view;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::cli::JoinArgs;
use crate::config::JoinConfiguration;
use crate::engine::{EventSink, RunOutcome};
use crate::host::Host;
use crate::join::{JoinJob, Tuning};
use state::{JoinApp, JoinEffect, JoinMsg, JoinScreen};

/// Runs the join wizard on the terminal with the command-line flags `args` (fields the
/// user still has to fill may be missing) and `start`, a configuration already complete
/// from the flags (then the wizard starts at once on the progress screen). `hostname` is
/// the default node name. Returns the exit code: 0 when the node joined (or the dry run
/// ended well), 1 on failure or quit.
pub fn run_join(
    root: Option<std::path::PathBuf>,
    args: JoinArgs,
    hostname: &str,
    start: Option<JoinConfiguration>,
) -> i32 {
    let dry_run = args.dry_run;
    let (host, root, dry_dir) = match crate::cli::join_host(root, dry_run, args.dry_run_dir.clone())
    {
        Ok(x) => x,
        Err(e) => return crate::cli::fail(e),
    };
    let shown_root = dry_run.then(|| root.display().to_string());
    let mut app = JoinApp::new(args, hostname, shown_root, crate::tui::theme_from_env());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return crate::cli::fail(format!("cannot start the runtime: {e}")),
    };
    let result = crate::tui::with_panic_restore(|| rt.block_on(event_loop(&mut app, host, start)));
    let code = finish(&app, result, dry_run, &root);
    if let Some(d) = dry_dir {
        println!("[dryrun] {}", d.finish());
    }
    code
}

/// Prints the end of the join wizard on the normal screen and returns the exit code.
fn finish(
    app: &JoinApp,
    result: std::io::Result<()>,
    dry_run: bool,
    root: &std::path::Path,
) -> i32 {
    if let Err(e) = result {
        return crate::cli::fail(format!("terminal: {e}"));
    }
    // Say it again on the normal screen, so it stays in the scrollback as kubeadm's output.
    match &app.progress.outcome {
        Some(RunOutcome::Succeeded) if dry_run => {
            println!(
                "[dryrun] Discovery succeeded (CA {} pin {}); the files are under {}. Nothing was started.",
                app.progress.ca_subject.clone().unwrap_or_default(),
                app.progress.ca_pins.join(", "),
                root.display()
            );
            0
        }
        Some(RunOutcome::Succeeded) => {
            println!("{}", crate::join::success_message(&app.node()));
            0
        }
        Some(_) => {
            if let Some((phase, err, hint)) = &app.progress.failed {
                eprintln!("error execution phase {phase}: {err}");
                if let Some(h) = hint {
                    eprintln!("hint: {h}");
                }
            }
            1
        }
        None if app.screen == JoinScreen::Progress => {
            eprintln!("join was interrupted; files already written stay in place");
            1
        }
        None => {
            eprintln!("join was not started; nothing was changed");
            1
        }
    }
}

async fn event_loop(
    app: &mut JoinApp,
    host: Arc<dyn Host>,
    start: Option<JoinConfiguration>,
) -> std::io::Result<()> {
    let _guard = crate::tui::enter_terminal(true)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let size = terminal.size()?;
    app.width = size.width;
    app.height = size.height;
    let t0 = Instant::now();
    let mut events = crossterm::event::EventStream::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut engine_rx: Option<tokio::sync::mpsc::UnboundedReceiver<crate::engine::Event>> = None;
    let mut run_task: Option<tokio::task::JoinHandle<()>> = None;
    let mut run_cancel: Option<tokio_util::sync::CancellationToken> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut pending: Vec<JoinMsg> = vec![];
    let mut effects: Vec<JoinEffect> = match start {
        Some(cfg) => app.start(cfg),
        None => vec![],
    };
    loop {
        for fx in std::mem::take(&mut effects) {
            match fx {
                JoinEffect::Quit => {
                    // Stop the run at its current wait (a safe point), then give it a moment
                    // to report (longer in etcd-join, which removes the learner it added);
                    // only a run that does not stop in time is dropped.
                    if let Some(c) = run_cancel.take() {
                        c.cancel();
                    }
                    let wait = Duration::from_millis(app.cancel_wait_ms());
                    if let Some(mut t) = run_task.take()
                        && tokio::time::timeout(wait, &mut t).await.is_err()
                    {
                        t.abort();
                    }
                    return Ok(());
                }
                JoinEffect::Start(cfg) => {
                    let (sink, rx) = EventSink::channel();
                    engine_rx = Some(rx);
                    let cancel = tokio_util::sync::CancellationToken::new();
                    run_cancel = Some(cancel.clone());
                    let job = JoinJob {
                        cfg: *cfg,
                        host: host.clone(),
                        events: sink,
                        tuning: Tuning::default(),
                        cancel,
                    };
                    run_task = Some(tokio::spawn(async move {
                        let _ = crate::join::run(&job).await;
                    }));
                }
            }
        }
        if app.quit {
            return Ok(());
        }
        terminal.draw(|f| view::view(app, f))?;
        let animating = app.animating();
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(crossterm::event::Event::Key(k))) => pending.push(JoinMsg::Key(k)),
                Some(Ok(crossterm::event::Event::Paste(t))) => pending.push(JoinMsg::Paste(t)),
                Some(Ok(crossterm::event::Event::Resize(w, h))) => pending.push(JoinMsg::Resize(w, h)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => pending.push(JoinMsg::Terminate),
            },
            Some(ev) = async { match engine_rx.as_mut() { Some(rx) => rx.recv().await, None => None } } => {
                pending.push(JoinMsg::Engine(ev));
            }
            _ = sigterm.recv() => pending.push(JoinMsg::Terminate),
            _ = sighup.recv() => pending.push(JoinMsg::Terminate),
            _ = tick.tick(), if animating => pending.push(JoinMsg::Tick),
        }
        if let Some(rx) = engine_rx.as_mut() {
            while let Ok(ev) = rx.try_recv() {
                pending.push(JoinMsg::Engine(ev));
            }
        }
        for msg in std::mem::take(&mut pending) {
            app.clock_ms = t0.elapsed().as_millis() as u64;
            effects.extend(state::update(app, msg));
        }
    }
}
