//! The real Kubernetes binaries built by `scripts/k8s-bins.sh`, for tests that use them as the
//! judge.
//!
//! The folder comes from `$KUBESTRAP_K8S_BIN` (set by `scripts/test.sh` from the script's last
//! line) or, when unset, from the script's default cache folder. Without the binaries a test is
//! skipped with a message on a developer's machine and fails under CI (`CI` set), so CI never
//! skips silently.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The carried Kubernetes versions, oldest first; the last is the default.
pub const CARRIED: &[&str] = &["v1.34.4", "v1.35.4", "v1.36.3", "v1.37.2"];

/// The default version (the binaries other than kubeadm are built for it).
pub fn default_version() -> &'static str {
    CARRIED[CARRIED.len() - 1]
}

/// The previous carried minor's version, whose control-plane binaries and etcd
/// `scripts/k8s-bins.sh --with-previous` builds (for the upgrade tests).
pub fn previous_version() -> &'static str {
    CARRIED[CARRIED.len() - 2]
}

/// The folder of `version`'s binaries, a sibling of the default version's folder `bins`
/// (`<cache>/<version>/bin`), or `None` (after saying why) when its kube-apiserver is absent
/// outside CI. Panics under CI when it is absent.
pub fn version_bin_dir(bins: &Path, version: &str) -> Option<PathBuf> {
    let dir = bins
        .parent()
        .and_then(Path::parent)
        .map(|c| c.join(version).join("bin"))
        .unwrap_or_else(|| PathBuf::from("/nonexistent"));
    if dir.join("kube-apiserver").is_file() && dir.join("etcd").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "the {version} control-plane binaries are not in {}: run scripts/k8s-bins.sh --with-previous (scripts/test.sh does)",
        dir.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// The folder of the default version's binaries, or `None` (after saying why) when they are
/// absent outside CI. Panics under CI when they are absent.
pub fn bin_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("KUBESTRAP_K8S_BIN") {
        Some(d) => PathBuf::from(d),
        None => {
            let cache = std::env::var_os("KUBESTRAP_K8S_CACHE")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("XDG_CACHE_HOME")
                        .map(|c| PathBuf::from(c).join("kubestrap/k8s"))
                })
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kubestrap/k8s"))
                })
                .unwrap_or_else(|| PathBuf::from("/nonexistent"));
            cache.join(default_version()).join("bin")
        }
    };
    if dir.join("kubeadm").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "the real Kubernetes binaries are not in {}: run scripts/k8s-bins.sh (scripts/test.sh does) or set KUBESTRAP_K8S_BIN",
        dir.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// The real kubeadm of `version` (one of [`CARRIED`]) in `bins`.
pub fn kubeadm(bins: &Path, version: &str) -> PathBuf {
    if version == default_version() {
        bins.join("kubeadm")
    } else {
        bins.join(format!("kubeadm-{version}"))
    }
}

/// Runs `program args` and returns (exit code, stdout, stderr); panics when it cannot start.
pub fn run(program: &Path, args: &[&str], envs: &[(&str, &Path)]) -> (i32, String, String) {
    let mut c = Command::new(program);
    c.args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The parity corpus (tests/data/parity/*.yaml) as (file name, text), sorted by name. Each
/// file has `__VERSION__` where the carried version goes.
pub fn parity_corpus() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parity");
    let mut v: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/data/parity")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Whether a corpus file applies to `version` (a `# versions: v1.34 v1.35` line limits it).
pub fn applies(text: &str, version: &str) -> bool {
    match text.lines().find_map(|l| l.strip_prefix("# versions:")) {
        None => true,
        Some(list) => list
            .split_whitespace()
            .any(|m| version.starts_with(&format!("{m}."))),
    }
}

/// Points the real kubeadm's dry-run folders (`KUBEADM_INIT_DRYRUN_DIR`,
/// `KUBEADM_JOIN_DRYRUN_DIR`, `KUBEADM_UPGRADE_DRYRUN_DIR`) into `under`, a folder of the test,
/// so a `kubeadm … --dry-run` never makes `/etc/kubernetes/tmp/kubeadm-*-dryrun*` on this
/// machine (kubeadm's default, `constants.GetDryRunDir`).
pub fn kubeadm_dry_run_dirs(cmd: &mut Command, under: &Path) {
    for (var, name) in [
        ("KUBEADM_INIT_DRYRUN_DIR", "kubeadm-init-dryrun"),
        ("KUBEADM_JOIN_DRYRUN_DIR", "kubeadm-join-dryrun"),
        ("KUBEADM_UPGRADE_DRYRUN_DIR", "kubeadm-upgrade-dryrun"),
    ] {
        let d = under.join(name);
        std::fs::create_dir_all(&d).expect("kubeadm dry-run folder");
        cmd.env(var, d);
    }
}
