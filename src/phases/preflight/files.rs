//! Files and ports: `Port-*` (the TCP ports the control plane listens on are free),
//! `FileAvailable-*` (no static Pod manifest is there yet), `FileExisting-*` (the commands
//! the kubelet needs), and `Firewalld` (a warning naming the ports to open).

use super::fixes::install_fix;
use super::ignore::{MANIFESTS, manifest_check_name};
use super::{CheckResult, bind_port};
use crate::engine::{PhaseCtx, Severity};
use crate::host::Host;

/// `Firewalld`: a warning naming the API server's port and 10250 when firewalld is active.
pub(super) fn firewalld_check(ctx: &PhaseCtx) -> CheckResult {
    let host = ctx.host.as_ref();
    let systemd = host.has_systemd();
    let firewalld_active = systemd
        && host
            .run("systemctl", &["is-active", "firewalld"])
            .map(|o| o.success())
            .unwrap_or(false);
    if firewalld_active {
        CheckResult::warn(
            "Firewalld",
            format!(
                "firewalld is active, please ensure ports [{} 10250] are open or your cluster may not function correctly",
                bind_port(ctx)
            ),
        )
    } else {
        CheckResult::pass("Firewalld")
    }
}

/// `Port-<port>`: the TCP port is free on the host (error when in use).
pub fn port_check(host: &dyn Host, port: u16) -> CheckResult {
    let name = format!("Port-{port}");
    if host.port_free(port) {
        CheckResult::pass(&name)
    } else {
        CheckResult::error(&name, format!("Port {port} is in use"))
    }
}

/// `FileAvailable-<manifests dir>-<component>.yaml`: no static Pod manifest of the control
/// plane exists yet (error when one does).
pub(super) fn manifest_checks(ctx: &PhaseCtx) -> Vec<CheckResult> {
    let host = ctx.host.as_ref();
    MANIFESTS
        .iter()
        .map(|m| {
            let path = ctx.paths.manifests_dir.join(format!("{m}.yaml"));
            let name = manifest_check_name(ctx, m);
            if host.exists(&path) {
                CheckResult::error(&name, format!("{} already exists", path.display()))
            } else {
                CheckResult::pass(&name)
            }
        })
        .collect()
}

/// `FileExisting-*`: the commands the kubelet needs, the same for every carried minor
/// (kubeadm v1.34 to v1.37 check exactly these; cmd/kubeadm/app/preflight/checks_linux.go),
/// each with its Debian package for the fix.
pub(super) fn required_binaries(host: &dyn Host) -> Vec<CheckResult> {
    let required = [
        ("losetup", "mount", Severity::Error),
        ("mount", "mount", Severity::Error),
        ("cp", "coreutils", Severity::Error),
    ];
    let mut out = Vec::new();
    for (bin, pkg, sev) in required {
        let name = format!("FileExisting-{bin}");
        if host.which(bin).is_some() {
            out.push(CheckResult::pass(&name));
            continue;
        }
        let msg = format!("{bin} not found in system path");
        let r = if sev == Severity::Error {
            CheckResult::error(&name, msg)
        } else {
            CheckResult::warn(&name, msg)
        };
        out.push(r.with_fix(install_fix(
            host,
            &[pkg],
            format!("install the {pkg} package"),
        )));
    }
    out
}
