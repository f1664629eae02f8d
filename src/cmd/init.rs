//! `kubestrap init` and `kubestrap init phase NAME [SUB]`.
//!
//! Non-interactive runs pick the plain-text or JSON face (`--output`); the engine runs on a
//! tokio task. The first Ctrl-C cancels it: waits inside phases stop at once and the run
//! ends as cancelled, naming the interrupted phase and the phases done; a second Ctrl-C
//! exits at once with code 130. `--dry-run` writes everything
//! under a new private temporary directory, removed at the end (or into `--dry-run-dir DIR`
//! / `$KUBESTRAP_INIT_DRYRUN_DIR`, like kubeadm's `KUBEADM_INIT_DRYRUN_DIR`, kept), reading
//! the machine through it, and starts nothing. Secrets are redacted in the output unless
//! `--show-secrets`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::{InitArgs, InitSub, OutputFormat};
use crate::engine::{Event, LogLevel, PhaseCtx, Plan, RunOutcome, Severity};

pub use crate::cli::{DRYRUN_DIR_ENV, EXIT_INTERRUPTED, requested_dry_run_dir};

/// Runs `kubestrap init`; returns the exit code.
pub fn run(root: Option<PathBuf>, args: InitArgs) -> i32 {
    let is_phase = args.phase.is_some();
    if !args.non_interactive && !is_phase {
        if std::io::stdin().is_terminal() {
            return crate::tui::run_init(root, args);
        }
        return super::fail(
            "standard input is not a terminal, so the wizard cannot run: pass --non-interactive (with --output text or json)",
        );
    }
    let workflow = crate::phases::init_workflow();
    // An unknown phase is reported before anything else is looked at.
    let only = match &args.phase {
        Some(InitSub::Phase { name, sub }) => match workflow.select(name, sub.as_deref()) {
            Ok(ids) => Some(ids),
            Err(e) => return super::fail(format!("init phase: {e}")),
        },
        None => None,
    };
    // A run that changes this machine (not a dry run, not under --root, not one phase).
    let real_run = !args.dry_run
        && only.is_none()
        && root
            .as_deref()
            .is_none_or(|r| r == std::path::Path::new("/"));
    // The dry-run directory (private, removed at the end unless the user named it).
    let (host, dry_dir) = match crate::cli::init_host(root, &args) {
        Ok(h) => h,
        Err(e) => return super::fail(e),
    };
    let facts = host.facts();
    let (cfg, warnings) = match crate::config::resolve_init(&args.flags, &facts) {
        Ok((cfg, warnings)) => (
            cfg,
            warnings
                .into_iter()
                .map(|message| Event::Log {
                    level: LogLevel::Warn,
                    phase: Some("config".into()),
                    message,
                })
                .collect::<Vec<_>>(),
        ),
        Err(e) => return super::fail(e),
    };
    // An advertise address of another machine: a warning above, an error for a real run.
    if real_run
        && let Some(mut e) = crate::config::validate::advertise_on_host_problem(&cfg, &facts, true)
    {
        if let Some(crate::config::Source::File { line }) = cfg.sources.get(&e.path) {
            e.line = Some(*line);
        }
        let source = args
            .flags
            .config
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        return super::fail(crate::config::load::ConfigErrors::new(&source, vec![e]));
    }
    if let Err(e) =
        crate::phases::external_ca::check_external_ca(host.as_ref(), &cfg, args.flags.upload_certs)
    {
        return super::fail(e);
    }
    let mut skip = cfg.init.skip_phases.clone();
    skip.extend(args.flags.skip_phases.iter().cloned());
    skip.sort();
    skip.dedup();
    if let Err(e) = workflow.validate_phase_ids(&skip) {
        return super::fail(e);
    }
    let mut ctx = PhaseCtx::new(
        Arc::new(cfg),
        host.clone(),
        crate::engine::EventSink::discard(),
    );
    ctx.options.fix = args.fix;
    ctx.options.upload_certs = args.flags.upload_certs;
    if let Ok(mut st) = ctx.state.lock() {
        st.upload_certs = args.flags.upload_certs;
    }
    if let Err(e) = crate::phases::preflight::parse_ignore_list(
        &ctx,
        &ctx.cfg.init.node_registration.ignore_preflight_errors,
    ) {
        return super::fail(e);
    }
    // A fresh PKI's key pairs are generated on every core while preflight runs.
    let pki_planned = only.as_ref().is_none_or(|ids| {
        ids.iter()
            .any(|id| id.starts_with("certs") || id.starts_with("kubeconfig"))
    });
    let skipped = |p: &str| skip.iter().any(|s| s == p || *s == format!("{p}/all"));
    if pki_planned && !(skipped("certs") && skipped("kubeconfig")) {
        ctx.key_pool = crate::phases::certs::fresh_pki_key_pool(&ctx);
    }
    let plan = Plan {
        skip,
        resume: only.is_none(),
        only,
    };
    let format = args.output;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return super::fail(format!("starting the tokio runtime: {e}")),
    };
    let show_secrets = crate::output::ShownSecrets::from_flags(
        args.show_secrets,
        args.skip_token_print,
        args.skip_certificate_key_print,
    );
    let verbose = args.verbosity >= 5;
    let dry_path = args.dry_run.then(|| host.root().display().to_string());
    let code = rt.block_on(async move {
        let (sink, rx) = crate::engine::EventSink::channel();
        ctx.events = sink.clone();
        if let Some(d) = &dry_path {
            sink.send(Event::Log {
                level: LogLevel::Info,
                phase: Some("dryrun".into()),
                message: format!("Writing every file under {d}; nothing is started"),
            });
        }
        sink.send(Event::Log {
            level: LogLevel::Info,
            phase: Some("init".into()),
            message: format!(
                "Using Kubernetes version: {}",
                ctx.cfg.cluster.kubernetes_version
            ),
        });
        for w in warnings {
            sink.send(w);
        }
        drop(sink);
        let cancel = ctx.cancel.clone();
        let handle = crate::engine::spawn_workflow(workflow, ctx, plan);
        // First Ctrl-C or SIGTERM: cancel (waits stop at once, the run ends at the next safe
        // point and reports what was done, a dry run removes its directory). Second: exit at
        // once with 130 (128 + SIGINT).
        let mut signals = super::Interrupts::new();
        let ctrl_c = tokio::spawn(async move {
            let what = signals.next().await;
            cancel.cancel();
            eprintln!(
                "\n[init] {what}: cancelling; stopping at the next safe point (press Ctrl-C again to exit at once)"
            );
            signals.next().await;
            eprintln!("[init] Interrupted again: exiting now");
            std::process::exit(EXIT_INTERRUPTED);
        });
        let events = consume(format, rx, show_secrets, verbose, dry_path.is_some()).await;
        ctrl_c.abort();
        let outcome = handle.await.unwrap_or(RunOutcome::Failed {
            phase: "engine".into(),
        });
        summary(format, &outcome, &events, dry_path.as_deref())
    });
    if let Some(d) = dry_dir {
        super::print_dry_run_end(d, format);
    }
    code
}

/// Prints events as they arrive (text face: failures to standard error; with `verbose`
/// (`--v 5` and above) also the phases' starts and ends and the files written) and returns
/// them.
async fn consume(
    format: OutputFormat,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
    show_secrets: crate::output::ShownSecrets,
    verbose: bool,
    dry_run: bool,
) -> Vec<Event> {
    let mut seen = Vec::new();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    while let Some(ev) = rx.recv().await {
        // A dry run that a real run would not get through does not end as "succeeded".
        if dry_run
            && format == OutputFormat::Json
            && matches!(
                ev,
                Event::Finished {
                    outcome: RunOutcome::Succeeded
                }
            )
        {
            let errors: Vec<String> = unresolved_preflight_errors(&seen)
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            if !errors.is_empty() {
                let mut o = stdout.lock();
                let _ = writeln!(
                    o,
                    "{}",
                    crate::output::json::dry_run_would_stop("preflight", &errors)
                );
                let _ = o.flush();
                seen.push(ev);
                continue;
            }
        }
        let shown = crate::output::shown_parts(&ev, show_secrets);
        let line = match crate::output::format_event(format, &shown) {
            None if verbose && format == OutputFormat::Text => crate::output::text::detail(&ev),
            line => line,
        };
        if let Some(line) = line {
            let to_err = format == OutputFormat::Text && matches!(ev, Event::PhaseFailed { .. });
            if to_err {
                let _ = writeln!(stderr.lock(), "{line}");
            } else {
                let mut o = stdout.lock();
                let _ = writeln!(o, "{line}");
                let _ = o.flush();
            }
        }
        seen.push(ev);
    }
    seen
}

/// The preflight errors that were not ignored, by check name (the last result per check
/// counts, so a check fixed by `--fix` and passed on the re-check is not listed).
pub fn unresolved_preflight_errors(events: &[Event]) -> Vec<(String, String)> {
    let mut last: std::collections::BTreeMap<String, (Severity, bool, String)> = Default::default();
    for ev in events {
        if let Event::Check {
            name,
            severity,
            message,
            ignored,
            ..
        } = ev
        {
            last.insert(name.clone(), (*severity, *ignored, message.clone()));
        }
    }
    last.into_iter()
        .filter(|(_, (s, ig, _))| *s == Severity::Error && !ig)
        .map(|(n, (_, _, m))| (n, m))
        .collect()
}

fn summary(
    format: OutputFormat,
    outcome: &RunOutcome,
    events: &[Event],
    dry_dir: Option<&str>,
) -> i32 {
    let errors = unresolved_preflight_errors(events);
    if format == OutputFormat::Text {
        if let Some(d) = dry_dir {
            if !errors.is_empty() && *outcome == RunOutcome::Succeeded {
                let names: Vec<&str> = errors.iter().map(|(n, _)| n.as_str()).collect();
                println!(
                    "[dryrun] Dry run finished in {d}; a real run would stop in preflight on {} error(s): {}",
                    names.len(),
                    names.join(", ")
                );
            } else if *outcome == RunOutcome::Succeeded {
                println!("[dryrun] Finished dry-running successfully in {d}");
            } else {
                println!("[dryrun] The dry run stopped; it wrote its files in {d}");
            }
        } else if let RunOutcome::Failed { phase } = outcome
            && phase == "preflight"
            && !errors.is_empty()
        {
            eprintln!("\nTo fix before running init again:");
            for (n, m) in &errors {
                eprintln!("  - {n}: {m}");
            }
        }
    }
    match outcome {
        RunOutcome::Succeeded => 0,
        _ => 1,
    }
}
