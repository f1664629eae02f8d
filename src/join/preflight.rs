//! Join preflight checks (kubeadm `app/preflight/checks.go`, `RunJoinNodeChecks`), a minimal
//! set until the shared init preflight module (branch `engine`) is merged: root, the
//! manifests directory, the kubelet files and the CA file, port 10250, the kubelet binary,
//! swap. Each result is an [`Event::Check`]; errors listed in
//! `nodeRegistration.ignorePreflightErrors` (or `all`) become ignored.

use std::path::Path;

use crate::config::JoinConfiguration;
use crate::engine::{Event, EventSink, PhaseError, Severity};
use crate::host::Host;

/// One check result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// kubeadm's check name, e.g. `FileAvailable--etc-kubernetes-kubelet.conf`.
    pub name: String,
    pub severity: Severity,
    pub message: String,
}

fn file_check_name(kind: &str, path: &str) -> String {
    format!("{kind}-{}", path.replace('/', "-"))
}

/// Runs the checks on `host` and returns every result (passes included).
pub fn checks(host: &dyn Host, cfg: &JoinConfiguration) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let mut push = |name: String, severity: Severity, message: String| {
        out.push(CheckResult {
            name,
            severity,
            message,
        })
    };
    let facts = host.facts();
    if facts.euid == 0 {
        push(
            "IsPrivilegedUser".into(),
            Severity::Pass,
            "running as root".into(),
        );
    } else {
        push(
            "IsPrivilegedUser".into(),
            Severity::Error,
            "user is not running as root; run kubestrap join with sudo".into(),
        );
    }
    let manifests = "/etc/kubernetes/manifests";
    match host.read_dir(Path::new(manifests)) {
        Ok(v) if !v.is_empty() => push(
            file_check_name("DirAvailable", manifests),
            Severity::Error,
            format!(
                "{manifests} is not empty: this machine looks like a control-plane node already (run kubeadm reset first)"
            ),
        ),
        _ => push(
            file_check_name("DirAvailable", manifests),
            Severity::Pass,
            format!("{manifests} is empty or absent"),
        ),
    }
    for p in [
        "/etc/kubernetes/kubelet.conf",
        "/etc/kubernetes/bootstrap-kubelet.conf",
        cfg.ca_cert_path.as_str(),
    ] {
        if host.exists(Path::new(p)) {
            push(
                file_check_name("FileAvailable", p),
                Severity::Error,
                format!(
                    "{p} already exists: this machine has joined a cluster before (run kubeadm reset first)"
                ),
            );
        } else {
            push(
                file_check_name("FileAvailable", p),
                Severity::Pass,
                format!("{p} does not exist"),
            );
        }
    }
    if host.port_free(10250) {
        push(
            "Port-10250".into(),
            Severity::Pass,
            "port 10250 is free".into(),
        );
    } else {
        push(
            "Port-10250".into(),
            Severity::Error,
            "port 10250 is in use (is a kubelet already running?)".into(),
        );
    }
    if host.which("kubelet").is_some() {
        push(
            "FileExisting-kubelet".into(),
            Severity::Pass,
            "kubelet found in PATH".into(),
        );
    } else {
        push(
            "FileExisting-kubelet".into(),
            Severity::Error,
            "kubelet not found in PATH: install the kubelet package first".into(),
        );
    }
    let swaps = host.read(Path::new("/proc/swaps")).unwrap_or_default();
    if String::from_utf8_lossy(&swaps).lines().count() > 1 {
        push(
            "Swap".into(),
            Severity::Warning,
            "swap is on; the kubelet refuses to start unless failSwapOn is false (swapoff -a)"
                .into(),
        );
    } else {
        push("Swap".into(), Severity::Pass, "swap is off".into());
    }
    out
}

/// Runs [`checks`], sends one [`Event::Check`] each and fails when an error is not ignored.
/// Errors: one [`PhaseError`] listing the failing checks, with the `--ignore-preflight-errors` hint.
pub fn run(host: &dyn Host, cfg: &JoinConfiguration, events: &EventSink) -> Result<(), PhaseError> {
    let ignore: Vec<String> = cfg
        .node_registration
        .ignore_preflight_errors
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let all = ignore.iter().any(|s| s == "all");
    let mut fatal = Vec::new();
    for c in checks(host, cfg) {
        let ignored =
            c.severity == Severity::Error && (all || ignore.contains(&c.name.to_lowercase()));
        if c.severity == Severity::Error && !ignored {
            fatal.push(format!("[ERROR {}]: {}", c.name, c.message));
        }
        events.send(Event::Check {
            name: c.name,
            severity: c.severity,
            message: c.message,
            fix: None,
            ignored,
        });
    }
    if fatal.is_empty() {
        Ok(())
    } else {
        Err(PhaseError::new(format!("some fatal errors occurred: {}", fatal.join("; ")))
            .hint("fix them, or turn an error into a warning with --ignore-preflight-errors=NAME (or all)"))
    }
}
