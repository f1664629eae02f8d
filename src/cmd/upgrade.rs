//! `kubestrap upgrade plan | apply | node` (kubeadm's `app/cmd/upgrade/`): resolves the
//! flags over the `--config` UpgradeConfiguration, picks the host (a dry run writes into a
//! private overlay that is removed at the end), prints the events as kubeadm's lines, and
//! asks kubeadm's confirmation before `apply` changes anything.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::{UpgradeApplyArgs, UpgradeCommand, UpgradeFlags, UpgradeNodeArgs};
use crate::engine::{Event, EventSink, LogLevel};
use crate::host::{DryRunDir, Host, RealHost};
use crate::phases::upgrade::{self, UpgradeConfiguration, apply, node, plan};

/// Runs `kubestrap upgrade ...`; returns the exit code.
pub fn run(root: Option<PathBuf>, cmd: UpgradeCommand) -> i32 {
    let r = match cmd {
        UpgradeCommand::Plan {
            version,
            flags,
            output,
        } => run_plan(root, version, &flags, &output),
        UpgradeCommand::Apply(a) => run_apply(root, a),
        UpgradeCommand::Node(n) => run_node(root, n),
    };
    match r {
        Ok(()) => 0,
        Err(e) => super::fail(e),
    }
}

fn upgrade_config(path: &Option<PathBuf>) -> Result<UpgradeConfiguration, String> {
    match path {
        None => Ok(UpgradeConfiguration::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            UpgradeConfiguration::parse(&text, &p.display().to_string())
        }
    }
}

fn ignore_list(cli: &[String], cfg: &[String]) -> Result<Vec<String>, String> {
    crate::config::validate::merge_ignore_preflight_errors(cli, cfg)
        .map_err(|e| format!("--ignore-preflight-errors: {e}"))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Prints the events of a run as kubeadm's lines (warnings to standard error) until the
/// sink's last sender is dropped.
fn printer(mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while let Some(ev) = rx.blocking_recv() {
            let warn = matches!(
                &ev,
                Event::Log {
                    level: LogLevel::Warn,
                    ..
                }
            );
            if let Some(line) = crate::output::text::format(&ev) {
                if warn {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            }
        }
        let _ = std::io::stdout().flush();
    })
}

/// The host of `apply`/`node`: a private dry-run overlay of the root, or the root itself.
fn host(
    root: Option<PathBuf>,
    dry_run: bool,
) -> Result<(Arc<dyn Host>, Option<DryRunDir>), String> {
    let base = root.unwrap_or_else(|| PathBuf::from("/"));
    if dry_run {
        let d = DryRunDir::new("kubestrap-upgrade-dryrun", None)
            .map_err(|e| format!("creating the dry-run directory: {e}"))?;
        let h = RealHost::dry_run_overlay(&base, d.path())
            .map_err(|e| format!("--root: {e}"))?
            .scratch();
        Ok((Arc::new(h), Some(d)))
    } else {
        let h = RealHost::new(&base, false).map_err(|e| format!("--root: {e}"))?;
        for d in ["/etc/kubernetes", "/var/lib/kubelet"] {
            crate::host::fs::sweep_stale_temps(&h.resolve(std::path::Path::new(d)));
        }
        Ok((Arc::new(h), None))
    }
}

/// kubeadm's `InteractivelyConfirmAction`: `[upgrade] Are you sure you want to proceed?
/// [y/N]: ` on standard output, an answer starting with y or Y on standard input.
fn ask() -> Result<bool, String> {
    print!("[upgrade] Are you sure you want to proceed? [y/N]: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

fn run_apply(root: Option<PathBuf>, a: UpgradeApplyArgs) -> Result<(), String> {
    let cfg = upgrade_config(&a.flags.config)?;
    let version = a
        .version
        .clone()
        .or(cfg.apply.kubernetes_version.clone())
        .ok_or("missing one or more required arguments. Required arguments: [version]")?;
    let dry_run = a.dry_run || cfg.apply.dry_run.unwrap_or(false);
    let force = a.force || cfg.apply.force_upgrade.unwrap_or(false);
    let opts = apply::ApplyOptions {
        version,
        kubeconfig: a.flags.kubeconfig.clone(),
        certificate_renewal: a.certificate_renewal && cfg.apply.certificate_renewal.unwrap_or(true),
        etcd_upgrade: a.etcd_upgrade && cfg.apply.etcd_upgrade.unwrap_or(true),
        force,
        ignore: ignore_list(
            &a.flags.ignore_preflight_errors,
            &cfg.apply.ignore_preflight_errors,
        )?,
        timeout: cfg.upgrade_manifests_timeout(),
    };
    let (host, dir) = host(root, dry_run)?;
    let confirm: Option<Box<dyn FnOnce() -> Result<bool, String> + Send>> =
        (!a.yes && !force && !dry_run).then(|| Box::new(ask) as _);
    let (events, rx) = EventSink::channel();
    let out = printer(rx);
    let rt = runtime()?;
    let cancel = tokio_util::sync::CancellationToken::new();
    let r = rt.block_on(apply::run(host, events, cancel, &opts, confirm));
    drop(rt);
    let _ = out.join();
    if let Some(d) = dir {
        // The private overlay goes; nothing of it is kept (kubeadm prints nothing here).
        let _ = d.finish();
    }
    r.map_err(|e| match &e.hint {
        Some(h) => format!("{}\n(hint: {h})", e.chain()),
        None => e.chain(),
    })
}

fn run_node(root: Option<PathBuf>, n: UpgradeNodeArgs) -> Result<(), String> {
    let cfg = upgrade_config(&n.config)?;
    let dry_run = n.dry_run || cfg.node.dry_run.unwrap_or(false);
    let opts = node::NodeOptions {
        kubeconfig: n.kubeconfig.clone(),
        certificate_renewal: n.certificate_renewal && cfg.node.certificate_renewal.unwrap_or(true),
        etcd_upgrade: n.etcd_upgrade && cfg.node.etcd_upgrade.unwrap_or(true),
        ignore: ignore_list(
            &n.ignore_preflight_errors,
            &cfg.node.ignore_preflight_errors,
        )?,
        timeout: cfg.upgrade_manifests_timeout(),
    };
    let (host, dir) = host(root, dry_run)?;
    let (events, rx) = EventSink::channel();
    let out = printer(rx);
    let rt = runtime()?;
    let r = rt.block_on(node::run(
        host,
        events,
        tokio_util::sync::CancellationToken::new(),
        &opts,
    ));
    drop(rt);
    let _ = out.join();
    if let Some(d) = dir {
        let _ = d.finish();
    }
    r.map_err(|e| e.chain())
}

fn run_plan(
    root: Option<PathBuf>,
    version: Option<String>,
    flags: &UpgradeFlags,
    output: &str,
) -> Result<(), String> {
    let cfg = upgrade_config(&flags.config)?;
    let version = version.or(cfg.plan.kubernetes_version.clone());
    let target = version
        .as_deref()
        .map(crate::config::versions::KubeVersion::parse)
        .transpose()
        .map_err(|e| format!("invalid version: {e}"))?;
    let h = RealHost::new(root.unwrap_or_else(|| PathBuf::from("/")), true)
        .map_err(|e| format!("--root: {e}"))?;
    let rt = runtime()?;
    let (p, lines) = rt.block_on(async {
        let (client, _) = apply::client(&h, &flags.kubeconfig)
            .await
            .map_err(|e| e.chain())?;
        let state = upgrade::state::load(&h, &client).await?;
        plan::compute(
            &state,
            target.as_ref(),
            cfg.plan.etcd_upgrade.unwrap_or(true),
        )
    })?;
    let say = |l: &str| {
        if output == "text" {
            println!("{l}");
        } else {
            eprintln!("{l}");
        }
    };
    say(
        "[upgrade/config] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...",
    );
    say(
        "[upgrade/config] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.",
    );
    for l in &lines {
        say(l);
    }
    match output {
        "json" => {
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(&p, &mut ser).map_err(|e| e.to_string())?;
            println!("{}", String::from_utf8_lossy(&buf));
        }
        "yaml" => print!("{}", serde_yaml::to_string(&p).map_err(|e| e.to_string())?),
        _ => {
            println!();
            print!("{}", plan::format_text(&p));
        }
    }
    Ok(())
}
