//! Kubelet and versions: `KubernetesVersion` (not newer than kubestrap carries),
//! `KubeletVersion` (the version skew kubeadm allows) and `Service-kubelet`.

use super::CheckResult;
use super::fixes::{FixPlan, FixStep};
use super::runner::NodeChecks;
use crate::config::versions::{KubeVersion, SUPPORTED};
use crate::engine::PhaseCtx;

/// `KubernetesVersion`: a warning when the target minor is newer than kubestrap's newest.
pub(super) fn kubernetes_version_check(ctx: &PhaseCtx, minor: u32) -> CheckResult {
    let newest = SUPPORTED.last().map(|v| v.minor).unwrap_or(34);
    if minor > newest {
        CheckResult::warn(
            "KubernetesVersion",
            format!(
                "Kubernetes version is greater than kubestrap's newest supported version. Kubernetes version: {}. Newest supported: v1.{newest}",
                ctx.cfg.cluster.kubernetes_version
            ),
        )
    } else {
        CheckResult::pass("KubernetesVersion")
    }
}

pub(super) fn kubelet_version_check(n: &NodeChecks) -> CheckResult {
    let host = n.host;
    let minor = n.minor;
    let out = match host.run("kubelet", &["--version"]) {
        Ok(o) if o.success() => o.stdout,
        Ok(o) => {
            return CheckResult::error(
                "KubeletVersion",
                format!("couldn't get kubelet version: {}", o.stderr.trim()),
            );
        }
        Err(e) => {
            return CheckResult::error(
                "KubeletVersion",
                format!("couldn't get kubelet version: cannot execute 'kubelet --version': {e}"),
            );
        }
    };
    let ver = out.split_whitespace().last().unwrap_or("");
    let Ok(kv) = KubeVersion::parse(ver) else {
        return CheckResult::error(
            "KubeletVersion",
            format!("couldn't parse kubelet version {:?}", out.trim()),
        );
    };
    let min_minor = minor.saturating_sub(3);
    if kv.major != 1 || kv.minor < min_minor {
        CheckResult::error(
            "KubeletVersion",
            format!(
                "Kubelet version \"{kv}\" is lower than kubestrap can support for control plane v1.{minor}. Please upgrade kubelet (minimum v1.{min_minor})"
            ),
        )
    } else if let Some(cp) = n.control_plane_version
        && kv.minor > minor
    {
        CheckResult::error(
            "KubeletVersion",
            format!(
                "the kubelet version is higher than the control plane version. This is not a supported version skew and may lead to a malfunctional cluster. Kubelet version: \"{kv}\" Control plane version: \"{cp}\""
            ),
        )
    } else {
        CheckResult::pass("KubeletVersion")
    }
}

/// `Service-kubelet` (`Service-Kubelet` up to v1.34, whose kubeadm title-cased it;
/// cmd/kubeadm/app/preflight/checks.go): the kubelet unit is enabled (a warning with a fix
/// otherwise, or without systemd).
pub(super) fn kubelet_service_check(n: &NodeChecks) -> CheckResult {
    let host = n.host;
    let service = if n.minor >= 35 {
        "Service-kubelet"
    } else {
        "Service-Kubelet"
    };
    if !host.has_systemd() {
        return CheckResult::warn(
            service,
            "no supported init system detected, skipping checking for services",
        );
    }
    let enabled = host
        .run("systemctl", &["is-enabled", "kubelet.service"])
        .map(|o| o.success())
        .unwrap_or(false);
    if enabled {
        CheckResult::pass(service)
    } else {
        CheckResult::warn(
            service,
            "kubelet service is not enabled, please run 'systemctl enable kubelet.service'",
        )
        .with_fix(Some(FixPlan {
            summary: "enable the kubelet service".into(),
            steps: vec![FixStep::run("systemctl", &["enable", "kubelet.service"])],
        }))
    }
}
