//! `kubestrap join`: builds the JoinConfiguration from flags / `--config` / a pasted command,
//! runs [`crate::join::run`] on a tokio runtime and prints its events as kubeadm-like text or
//! JSON lines.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::cli::{JoinArgs, OutputFormat};
use crate::engine::{Event, EventSink, LogLevel, ProbeOutcome, Severity};
use crate::host::{Host, RealHost};
use crate::join::{self, JoinJob, Tuning, cmdline};

/// Prints one event in the plain-text face (kubeadm-like `[phase] message` lines).
pub fn print_text(ev: &Event) {
    match ev {
        Event::PhaseStarted { phase } => println!("[{phase}] Running phase {phase}"),
        Event::PhaseSkipped { phase, reason } => println!("[{phase}] Skipped: {reason}"),
        Event::Check {
            name,
            severity,
            message,
            ignored,
            ..
        } => match (severity, ignored) {
            (Severity::Pass, _) => {}
            (Severity::Warning, _) => println!("[preflight] [WARNING {name}]: {message}"),
            (Severity::Error, true) => {
                println!("[preflight] [WARNING {name}] (ignored): {message}")
            }
            (Severity::Error, false) => println!("[preflight] [ERROR {name}]: {message}"),
        },
        Event::Log {
            level,
            phase,
            message,
        } => {
            let p = phase.as_deref().unwrap_or("join");
            // A message that already carries kubeadm's tag (`[etcd] ...`) is printed as is.
            let tagged = message.starts_with('[')
                && message
                    .find("] ")
                    .is_some_and(|i| !message[1..i].contains(' '));
            match level {
                LogLevel::Info if tagged => println!("{message}"),
                LogLevel::Info => println!("[{p}] {message}"),
                LogLevel::Warn => println!("[{p}] WARNING: {message}"),
                LogLevel::Error => println!("[{p}] ERROR: {message}"),
            }
        }
        Event::FileWritten { path, mode } => println!("[files] Wrote {path} ({mode:04o})"),
        Event::Probe {
            component,
            attempt,
            outcome,
            elapsed_ms,
            timeout_ms,
            ..
        } if component != "discovery" => {
            let what = match outcome {
                ProbeOutcome::Healthy => "done".to_string(),
                ProbeOutcome::Http { status, body } => format!("HTTP {status}: {body}"),
                ProbeOutcome::Error { message } => message.clone(),
            };
            println!(
                "[{component}] attempt {attempt}: {what} ({}s of {}s)",
                elapsed_ms / 1000,
                timeout_ms / 1000
            );
        }
        Event::WouldApply {
            verb,
            resource,
            name,
            ..
        } => {
            println!("[dryrun] Would {verb} {resource} {name}")
        }
        _ => {}
    }
    let _ = std::io::stdout().flush();
}

/// Runs `kubestrap join`; returns the exit code. With a terminal on standard input and
/// output (and neither `--non-interactive` nor `--output json`), the join wizard
/// ([`crate::tui::join::run_join`]) runs: it opens on its form when the flags do not make a
/// complete configuration yet (e.g. plain `kubestrap join`, to paste the printed command),
/// else it starts at once and shows the progress.
pub fn run(root: Option<PathBuf>, args: JoinArgs) -> i32 {
    let interactive = !args.non_interactive
        && args.output == OutputFormat::Text
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    let probe = match RealHost::new("/", false) {
        Ok(h) => h,
        Err(e) => return super::fail(e),
    };
    let hostname = probe.facts().hostname;
    if interactive {
        let from_file = args.config.is_some() || args.discovery_file.is_some();
        let start = if from_file || args.endpoint.is_some() {
            match cmdline::join_config_from_args(&args, &hostname) {
                Ok(c) => Some(c),
                Err(e) if from_file => return super::fail(e),
                Err(_) => None,
            }
        } else {
            None
        };
        return crate::tui::join::run_join(root, args, &hostname, start);
    }
    if args.endpoint.is_none() && args.config.is_none() && args.discovery_file.is_none() {
        return super::fail(
            "no API server endpoint: run kubestrap join <host:port> --token <token> --discovery-token-ca-cert-hash sha256:<hex> (the command init printed), or --config / --discovery-file",
        );
    }
    let cfg = match cmdline::join_config_from_args(&args, &hostname) {
        Ok(c) => c,
        Err(e) => return super::fail(e),
    };
    let dry_run = cfg.dry_run;
    let (host, root_dir, dry_dir) =
        match crate::cli::join_host(root, dry_run, args.dry_run_dir.clone()) {
            Ok(x) => x,
            Err(e) => return super::fail(e),
        };
    let output = args.output;
    if dry_run && output == OutputFormat::Text {
        println!(
            "[dryrun] Writing files under {}; nothing is started",
            root_dir.display()
        );
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return super::fail(format!("cannot start the runtime: {e}")),
    };
    let show_secrets = args.show_secrets;
    let (events, mut rx) = EventSink::channel();
    let job = JoinJob {
        cfg,
        host,
        events,
        tuning: Tuning::default(),
        cancel: tokio_util::sync::CancellationToken::new(),
    };
    let cancel = job.cancel.clone();
    let result = rt.block_on(async move {
        let printer = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(ev) = rx.recv().await {
                let shown = crate::output::shown(&ev, show_secrets);
                match output {
                    OutputFormat::Text => print_text(&shown),
                    OutputFormat::Json => {
                        println!("{}", crate::output::json::format(&shown));
                    }
                }
                seen.push(ev);
            }
            seen
        });
        // First Ctrl-C or SIGTERM: cancel at the current wait (a dry run removes its
        // directory); second: exit at once with 130.
        let mut signals = super::Interrupts::new();
        let ctrl_c = tokio::spawn(async move {
            let what = signals.next().await;
            cancel.cancel();
            eprintln!(
                "\n[join] {what}: cancelling; stopping the current phase (press Ctrl-C again to exit at once)"
            );
            signals.next().await;
            eprintln!("[join] Interrupted again: exiting now");
            std::process::exit(crate::cli::EXIT_INTERRUPTED);
        });
        let r = join::run(&job).await;
        ctrl_c.abort();
        drop(job);
        let seen = printer.await.unwrap_or_default();
        (r, seen)
    });
    let (result, seen) = result;
    let preflight_errors = super::init::unresolved_preflight_errors(&seen);
    if dry_run && output == OutputFormat::Text && !preflight_errors.is_empty() {
        let names: Vec<&str> = preflight_errors.iter().map(|(n, _)| n.as_str()).collect();
        println!(
            "[dryrun] A real join would stop in preflight on {} error(s): {}",
            names.len(),
            names.join(", ")
        );
    }
    let code = report(result, output, &root_dir);
    if let Some(d) = dry_dir {
        super::print_dry_run_end(d, output);
    }
    code
}

/// Prints the end of a join (text face) and returns the exit code.
fn report(
    result: Result<join::JoinResult, join::JoinFailure>,
    output: OutputFormat,
    root_dir: &std::path::Path,
) -> i32 {
    match result {
        Ok(r) => {
            if output == OutputFormat::Text {
                if r.joined {
                    let msg = match r.control_plane {
                        Some(stacked) => {
                            join::control_plane::success_message(&r.node_name, stacked)
                        }
                        None => join::success_message(&r.node_name),
                    };
                    println!("\n{msg}");
                } else {
                    println!(
                        "\n[dryrun] Discovery succeeded against {} (CA {} pin {}); the files are under {}. Nothing was started.",
                        r.discovered.server,
                        r.discovered.ca_subject,
                        r.discovered.ca_pins.join(", "),
                        root_dir.display()
                    );
                }
            }
            0
        }
        Err(f) if f.error.is_cancelled() => {
            eprintln!(
                "[join] Cancelled during phase {}; nothing more was done after it",
                f.phase
            );
            1
        }
        Err(f) => {
            if output == OutputFormat::Text {
                eprintln!("error execution phase {}: {}", f.phase, f.error.chain());
                if let Some(h) = &f.error.hint {
                    eprintln!("hint: {h}");
                }
            } else {
                eprintln!("error: {f}");
            }
            1
        }
    }
}
