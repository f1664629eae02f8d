//! What every command and both wizards share below the command handlers: the exit codes,
//! the failure printer, and the host a run works on as the flags ask (`--root`,
//! `--dry-run`, `--dry-run-dir`). It sits beside the CLI types so that the faces (the
//! wizards) and the commands both reach it without importing each other.

use std::path::PathBuf;
use std::sync::Arc;

use super::InitArgs;
use crate::host::{DryRunDir, Host, RealHost};

/// Exit code after a second Ctrl-C (128 + SIGINT), as shells report an interrupted program.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Environment variable naming the dry-run directory (instead of a new temporary one).
pub const DRYRUN_DIR_ENV: &str = "KUBESTRAP_INIT_DRYRUN_DIR";

/// Prints `error: <msg>` to standard error and returns exit code 1.
pub fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {msg}");
    1
}

/// The dry-run directory `init` was asked for: `--dry-run-dir`, else `$KUBESTRAP_INIT_DRYRUN_DIR`.
pub fn requested_dry_run_dir(args: &InitArgs) -> Option<PathBuf> {
    args.dry_run_dir.clone().or_else(|| {
        std::env::var_os(DRYRUN_DIR_ENV)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    })
}

/// The host an init runs on and the dry-run directory to finish at the end. A dry run reads
/// the machine (under `--root`) through a private temporary directory (or the requested
/// one, kept) that receives every write (not synced to disk when the directory is private,
/// as it is removed at the end); a real init works under `--root` or `/`. What a
/// run killed mid-write left in `/etc/kubernetes` and `/var/lib/kubelet` is recovered first
/// ([`crate::host::fs::sweep_stale_temps`]), for the wizard as for `init`.
/// Errors, ready for [`fail`]: `--dry-run-dir` without `--dry-run`, or a directory that
/// cannot be used.
pub fn init_host(
    root: Option<PathBuf>,
    args: &InitArgs,
) -> Result<(Arc<dyn Host>, Option<DryRunDir>), String> {
    let base = root.unwrap_or_else(|| PathBuf::from("/"));
    let (host, dir): (Arc<dyn Host>, _) = if args.dry_run {
        let requested = requested_dry_run_dir(args);
        let private = requested.is_none();
        let d = DryRunDir::new("kubestrap-init-dryrun", requested)
            .map_err(|e| format!("creating the dry-run directory: {e}"))?;
        let mut host =
            RealHost::dry_run_overlay(&base, d.path()).map_err(|e| format!("--root: {e}"))?;
        if private {
            // Removed at the end: nothing there outlives the run (no syncs, no records).
            host = host.scratch();
        }
        (Arc::new(host), Some(d))
    } else {
        if args.dry_run_dir.is_some() {
            return Err("--dry-run-dir is only used with --dry-run".into());
        }
        let host = RealHost::new(&base, false).map_err(|e| format!("--root: {e}"))?;
        (Arc::new(host), None)
    };
    for d in ["/etc/kubernetes", "/var/lib/kubelet"] {
        crate::host::fs::sweep_stale_temps(&host.resolve(std::path::Path::new(d)));
    }
    Ok((host, dir))
}

/// The host a join runs on, the directory its files go to, and the dry-run directory to
/// finish at the end. A dry run writes into `--dry-run-dir DIR` (kept; read through to
/// `--root` when both are given), else into `--root DIR` (the user's, kept), else into a new
/// private temporary directory (removed at the end). A real join works under `--root` or `/`.
/// Errors: `--dry-run-dir` without `--dry-run`, or a directory that cannot be used.
#[allow(clippy::type_complexity)]
pub fn join_host(
    root: Option<PathBuf>,
    dry_run: bool,
    dry_run_dir: Option<PathBuf>,
) -> Result<(Arc<dyn Host>, PathBuf, Option<DryRunDir>), String> {
    if !dry_run {
        if dry_run_dir.is_some() {
            return Err("--dry-run-dir is only used with --dry-run".into());
        }
        let r = root.unwrap_or_else(|| PathBuf::from("/"));
        let host = RealHost::new(&r, false).map_err(|e| format!("--root: {e}"))?;
        return Ok((Arc::new(host), r, None));
    }
    match (root, dry_run_dir) {
        (Some(r), None) => {
            let host = RealHost::new(&r, true).map_err(|e| format!("--root: {e}"))?;
            Ok((Arc::new(host), r, None))
        }
        (root, requested) => {
            let private = requested.is_none();
            let d = DryRunDir::new("kubestrap-join-dryrun-", requested)
                .map_err(|e| format!("cannot create the dry-run directory: {e}"))?;
            let path = d.path().to_path_buf();
            // Reads go through to the machine (`/` or `--root`): preflight reads the real
            // /proc and /sys, not the empty dry-run directory.
            let base = root.unwrap_or_else(|| PathBuf::from("/"));
            let mut host =
                RealHost::dry_run_overlay(&base, &path).map_err(|e| format!("--root: {e}"))?;
            if private {
                // Removed at the end: nothing there outlives the run.
                host = host.scratch();
            }
            Ok((Arc::new(host), path, Some(d)))
        }
    }
}
