//! System and container runtime checks: `IsPrivilegedUser`, `NumCPU`, `Mem`, `CRI`, `Swap`,
//! `SystemVerification` (kernel and cgroups), kubestrap's `KernelModules` and `CgroupDriver`,
//! and the image pull (`ImagePull`).

use std::collections::BTreeSet;
use std::path::Path;

use super::fixes::{FixPlan, FixStep, install_fix};
use super::ignore::IgnoreSet;
use super::runner::NodeChecks;
use super::{CheckResult, PHASE, read_text};
use crate::engine::{PhaseCtx, PhaseError};
use crate::host::{Host, HostFacts};

/// The CRI endpoint URL for a `criSocket` value (it lives with the configuration defaults).
pub use crate::config::defaults::cri_endpoint;

/// `NumCPU` and `Mem`: at least 2 CPUs and 1700 MB of memory (errors otherwise).
pub(super) fn cpu_and_memory_checks(facts: &HostFacts) -> [CheckResult; 2] {
    let cpu = if facts.cpus < 2 {
        CheckResult::error(
            "NumCPU",
            format!(
                "the number of available CPUs {} is less than the required 2",
                facts.cpus
            ),
        )
    } else {
        CheckResult::pass("NumCPU")
    };
    let mem = if facts.memory_mib < 1700 {
        CheckResult::error(
            "Mem",
            format!(
                "the system RAM ({} MB) is less than the minimum 1700 MB",
                facts.memory_mib
            ),
        )
    } else {
        CheckResult::pass("Mem")
    };
    [cpu, mem]
}

pub(super) fn root_check(ctx: &PhaseCtx) -> CheckResult {
    if ctx.host.facts().euid == 0 {
        CheckResult::pass("IsPrivilegedUser")
    } else {
        CheckResult::error("IsPrivilegedUser", "user is not running as root")
    }
}

fn containerd_installed(host: &dyn Host) -> bool {
    host.which("containerd").is_some() || host.exists(Path::new("/etc/containerd/config.toml"))
}

fn kubelet_cgroup_driver(n: &NodeChecks) -> String {
    n.kubelet_value("cgroupDriver")
        .and_then(|v| v.as_str())
        .unwrap_or("systemd")
        .to_string()
}

/// containerd's `SystemdCgroup` setting in a config.toml text: `Some(bool)` when the
/// option is set, `None` when absent or when the text is not valid TOML (containerd then uses
/// cgroupfs). See [`containerd_config_systemd_cgroup`].
pub fn containerd_systemd_cgroup(toml: &str) -> Option<bool> {
    containerd_config_systemd_cgroup(toml).ok().flatten()
}

/// Reads runc's `SystemdCgroup` option from a containerd config.toml text as containerd does:
/// the text is parsed as TOML (so implicit parent tables, dotted keys, inline tables, quoting
/// and comments all count), and the plugin path follows the config `version`: `3` reads
/// `plugins."io.containerd.cri.v1.runtime"`, `2` reads `plugins."io.containerd.grpc.v1.cri"`,
/// a missing version (config version 1) reads `plugins.cri` or `plugins."io.containerd.grpc.v1.cri"`.
/// `Ok(None)` when the option is not set (an empty file reads like a missing one: containerd's
/// default, cgroupfs); `Err` names the TOML error.
pub fn containerd_config_systemd_cgroup(text: &str) -> Result<Option<bool>, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let version = doc
        .get("version")
        .and_then(toml::Value::as_integer)
        .unwrap_or(1);
    let plugin_ids: &[&str] = match version {
        3 => &["io.containerd.cri.v1.runtime"],
        2 => &["io.containerd.grpc.v1.cri"],
        _ => &["cri", "io.containerd.grpc.v1.cri"],
    };
    let plugins = doc.get("plugins").and_then(toml::Value::as_table);
    for id in plugin_ids {
        let value = plugins
            .and_then(|p| p.get(*id))
            .and_then(|v| v.get("containerd"))
            .and_then(|v| v.get("runtimes"))
            .and_then(|v| v.get("runc"))
            .and_then(|v| v.get("options"))
            .and_then(|v| v.get("SystemdCgroup"));
        match value {
            Some(toml::Value::Boolean(b)) => return Ok(Some(*b)),
            Some(other) => {
                return Err(format!(
                    "SystemdCgroup must be a boolean, not {}",
                    other.type_str()
                ));
            }
            None => {}
        }
    }
    Ok(None)
}

pub(super) fn cri_check(n: &NodeChecks) -> CheckResult {
    let host = n.host;
    let ep = cri_endpoint(n.cri_socket);
    let path = ep.strip_prefix("unix://").unwrap_or(&ep).to_string();
    let containerd_sock = path.contains("containerd");
    let fix = if !containerd_sock {
        None
    } else if !containerd_installed(host) {
        install_fix(host, &["containerd"], "install containerd from the distribution's packages, with SystemdCgroup = true, and start it".into()).map(|mut f| {
            f.steps.push(FixStep::ContainerdSystemdCgroup {
                enabled: kubelet_cgroup_driver(n) == "systemd",
            });
            f.steps.push(FixStep::run("systemctl", &["enable", "--now", "containerd"]));
            f
        })
    } else if host.has_systemd() {
        Some(FixPlan {
            summary: "start containerd".into(),
            steps: vec![FixStep::run("systemctl", &["restart", "containerd"])],
        })
    } else {
        None
    };
    if !host.exists(Path::new(&path)) {
        return CheckResult::error(
            "CRI",
            format!("container runtime is not running: socket {path} does not exist ({ep})"),
        )
        .with_fix(fix);
    }
    if let Err(msg) = crate::phases::container_runtime::runtime_running(host, &ep) {
        return CheckResult::error("CRI", msg).with_fix(fix);
    }
    CheckResult::pass("CRI")
}

/// `ContainerRuntimeVersion`: the runtime's configuration as kubeadm checks it (asked only
/// of a runtime that answered the `CRI` check).
pub(super) fn runtime_version_check(n: &NodeChecks) -> CheckResult {
    match crate::phases::container_runtime::runtime_config_warning(
        n.host,
        &cri_endpoint(n.cri_socket),
    ) {
        Ok(None) => CheckResult::pass("ContainerRuntimeVersion"),
        Ok(Some(w)) => CheckResult::warn("ContainerRuntimeVersion", w),
        Err(e) => CheckResult::error("ContainerRuntimeVersion", e),
    }
}

fn swap_allowed(n: &NodeChecks) -> bool {
    n.kubelet_value("failSwapOn").and_then(|v| v.as_bool()) == Some(false)
}

pub(super) fn swap_check(n: &NodeChecks) -> CheckResult {
    let host = n.host;
    let swaps = read_text(host, "/proc/swaps").unwrap_or_default();
    let devices = swaps
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    if devices == 0 {
        return CheckResult::pass("Swap");
    }
    let fix = Some(FixPlan {
        summary: "turn swap off now and comment out swap in /etc/fstab".into(),
        steps: vec![
            FixStep::run("swapoff", &["-a"]),
            FixStep::CommentSwapInFstab,
        ],
    });
    if swap_allowed(n) {
        CheckResult::warn(
            "Swap",
            format!(
                "swap is on ({devices} device(s) in /proc/swaps); the KubeletConfiguration sets failSwapOn: false, so the kubelet will start. Swap is supported for cgroup v2 only"
            ),
        )
    } else {
        CheckResult::error(
            "Swap",
            format!(
                "swap is on ({devices} device(s) in /proc/swaps) and the KubeletConfiguration does not set failSwapOn: false, so the kubelet would refuse to start and init would hang in wait-control-plane"
            ),
        )
        .with_fix(fix)
    }
}

/// `KernelModules` (kubestrap): `overlay` and `br_netfilter` are loaded (warning with a fix).
pub fn kernel_modules_check(host: &dyn Host) -> CheckResult {
    let missing: Vec<&str> = ["overlay", "br_netfilter"]
        .into_iter()
        .filter(|m| !host.exists(&Path::new("/sys/module").join(m)))
        .collect();
    if missing.is_empty() {
        return CheckResult::pass("KernelModules");
    }
    let mut steps = vec![FixStep::ModulesLoadFile {
        modules: vec!["overlay".into(), "br_netfilter".into()],
    }];
    for m in &missing {
        steps.push(FixStep::run("modprobe", &[m]));
    }
    CheckResult::warn(
        "KernelModules",
        format!(
            "kernel module(s) {} not loaded; container runtimes need overlay and most pod networks need br_netfilter",
            missing.join(", ")
        ),
    )
    .with_fix(Some(FixPlan {
        summary: "load overlay and br_netfilter now and at boot (modules-load.d)".into(),
        steps,
    }))
}

/// Parses `major.minor` from a kernel release such as `6.1.0-18-amd64`.
pub fn kernel_major_minor(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// kubeadm's message for a cgroup v1 host with a kubelet v1.35 or newer (system-validators
/// v1.12.1, which kubeadm v1.35 to v1.37 use).
pub const CGROUP_V1_MESSAGE: &str = "cgroups v1 support is deprecated and will be removed in a future release. Please migrate to cgroups v2. To explicitly enable cgroups v1 support for kubelet v1.35 or newer, you must set the kubelet configuration option 'FailCgroupV1' to 'false'. You must also explicitly skip this validation. For more information, see https://git.k8s.io/enhancements/keps/sig-node/5573-remove-cgroup-v1";

/// `SystemVerification`: kernel release, required cgroup controllers, and cgroup v1. On a
/// cgroup v1 host a v1.34 node gets kubeadm's maintenance-mode warning; from v1.35, where the
/// kubelet refuses cgroup v1 unless `failCgroupV1: false`, it is an error with a fix that sets
/// that option, and a warning once it is set (`cgroup_v1_allowed`). kubeadm keeps it an error
/// even then, so that the user must also skip the check; kubestrap does not ask for both.
pub(super) fn system_verification(
    host: &dyn Host,
    kernel: &str,
    minor: u32,
    cgroup_v1_allowed: bool,
) -> CheckResult {
    let mut warnings = Vec::new();
    // system-validators' KernelSpec (v1.10.2 and v1.12.1, the versions kubeadm v1.34 to
    // v1.37 use): 5.4, 5.10, 5.15 or any 6.x and newer.
    let supported = kernel.starts_with("5.4")
        || kernel.starts_with("5.10")
        || kernel.starts_with("5.15")
        || kernel_major_minor(kernel).is_some_and(|(maj, _)| maj >= 6);
    if !supported {
        warnings.push(format!(
            "kernel release {kernel} is unsupported. Supported LTS versions from the 5.x series are 5.4, 5.10 and 5.15. Any 6.x version is also supported. For cgroups v2 support, the recommended version is 5.10 or newer"
        ));
    }
    let (missing, v1) = if let Some(ctrl) = read_text(host, "/sys/fs/cgroup/cgroup.controllers") {
        let have: BTreeSet<&str> = ctrl.split_whitespace().collect();
        let missing: Vec<&str> = ["cpu", "cpuset", "memory", "pids"]
            .into_iter()
            .filter(|c| !have.contains(c))
            .collect();
        (missing, false)
    } else if let Some(cg) = read_text(host, "/proc/cgroups") {
        let enabled: BTreeSet<&str> = cg
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 4 && f[3] == "1").then(|| f[0])
            })
            .collect();
        let missing: Vec<&str> = [
            "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids",
        ]
        .into_iter()
        .filter(|c| !enabled.contains(c))
        .collect();
        (missing, true)
    } else {
        return CheckResult::error(
            "SystemVerification",
            "failed to get cgroups: neither /sys/fs/cgroup/cgroup.controllers nor /proc/cgroups is readable",
        );
    };
    if !missing.is_empty() {
        return CheckResult::error(
            "SystemVerification",
            format!("missing required cgroups: {}", missing.join(" ")),
        );
    }
    if v1 && minor <= 34 {
        warnings
            .push("cgroups v1 support is in maintenance mode, please migrate to cgroups v2".into());
    } else if v1 && !cgroup_v1_allowed {
        return CheckResult::error("SystemVerification", CGROUP_V1_MESSAGE).with_fix(Some(
            FixPlan {
                summary: "let the kubelet start on cgroup v1 (failCgroupV1: false)".into(),
                steps: vec![FixStep::KubeletAllowCgroupV1],
            },
        ));
    } else if v1 {
        warnings.push(CGROUP_V1_MESSAGE.to_string());
    }
    if warnings.is_empty() {
        CheckResult::pass("SystemVerification")
    } else {
        CheckResult::warn("SystemVerification", warnings.join("; "))
    }
}

/// `CgroupDriver` (kubestrap): the kubelet's cgroup driver matches containerd's
/// `SystemdCgroup` (error with a fix otherwise); passes when the runtime is not containerd.
pub fn cgroup_driver_check(n: &NodeChecks) -> CheckResult {
    let host = n.host;
    let ep = cri_endpoint(n.cri_socket);
    if !ep.contains("containerd") || !containerd_installed(host) {
        return CheckResult::pass("CgroupDriver");
    }
    let kubelet = kubelet_cgroup_driver(n);
    let toml = read_text(host, "/etc/containerd/config.toml").unwrap_or_default();
    let read = match containerd_config_systemd_cgroup(&toml) {
        Ok(read) => read,
        Err(e) => {
            return CheckResult::error(
                "CgroupDriver",
                format!(
                    "cannot read containerd's cgroup driver: /etc/containerd/config.toml is not a valid containerd config: {e}"
                ),
            );
        }
    };
    let systemd_cgroup = read.unwrap_or(false);
    let runtime = if systemd_cgroup {
        "systemd"
    } else {
        "cgroupfs"
    };
    if runtime == kubelet {
        return CheckResult::pass("CgroupDriver");
    }
    let mut steps = vec![FixStep::ContainerdSystemdCgroup {
        enabled: kubelet == "systemd",
    }];
    if host.has_systemd() {
        steps.push(FixStep::run("systemctl", &["restart", "containerd"]));
    }
    CheckResult::error(
        "CgroupDriver",
        format!(
            "the kubelet's cgroupDriver is {kubelet:?} but containerd uses {runtime:?} ({}); {} would restart in a loop",
            match read {
                Some(v) => format!("SystemdCgroup = {v} in /etc/containerd/config.toml"),
                None => "/etc/containerd/config.toml does not set SystemdCgroup; containerd's default is false".into(),
            },
            if n.worker { "pods" } else { "control-plane pods" }
        ),
    )
    .with_fix(Some(FixPlan {
        summary: format!("set containerd's SystemdCgroup = {} and restart containerd", kubelet == "systemd"),
        steps,
    }))
}

/// The images init needs for the configuration (`kubeadm config images list`): the three
/// control-plane images, kube-proxy and CoreDNS unless disabled, pause, and etcd for local
/// etcd. Tags follow the version tables in [`crate::config::versions`].
pub fn required_images(ctx: &PhaseCtx) -> Vec<String> {
    crate::day2::images::list(&ctx.cfg)
}

pub(super) fn image_pull(ctx: &PhaseCtx, ignore: &IgnoreSet) -> Result<(), PhaseError> {
    let policy = ctx.cfg.init.node_registration.image_pull_policy.as_str();
    if policy == "Never" {
        ctx.events
            .log(PHASE, "Skipping the image pull (imagePullPolicy: Never)");
        return Ok(());
    }
    ctx.events.log(
        PHASE,
        "Pulling images required for setting up a Kubernetes cluster",
    );
    if ctx.dry_run() {
        ctx.events.log(
            PHASE,
            "Would pull the required images (like running 'kubeadm config images pull')",
        );
        return Ok(());
    }
    let ep = cri_endpoint(&ctx.cfg.init.node_registration.cri_socket);
    if let Some(why) = ctx.host.command_refusal("cri", &["PullImage", "IMAGE"]) {
        ctx.events
            .warn(PHASE, format!("the images were not pulled: {why}"));
        return Ok(());
    }
    let images = required_images(ctx);
    if let Some(pause) = images.iter().find(|i| i.contains("/pause:"))
        && let Some(w) =
            crate::phases::container_runtime::sandbox_image_warning(ctx.host.as_ref(), &ep, pause)
    {
        ctx.events.warn(PHASE, w);
    }
    let progress = |image: &str, outcome: &crate::phases::container_runtime::PullOutcome| {
        use crate::phases::container_runtime::PullOutcome;
        match outcome {
            PullOutcome::Present => ctx.events.log(PHASE, format!("Image {image} is present")),
            PullOutcome::Pulled => ctx.events.log(PHASE, format!("Pulled image {image}")),
            PullOutcome::Failed(_) => {}
        }
    };
    let failures: Vec<String> = crate::phases::container_runtime::pull_images(
        ctx.host.as_ref(),
        &ep,
        &images,
        policy != "Always",
        &progress,
    )
    .into_iter()
    .filter_map(|(_, o)| match o {
        crate::phases::container_runtime::PullOutcome::Failed(m) => Some(m),
        _ => None,
    })
    .collect();
    if failures.is_empty() {
        return Ok(());
    }
    let mut r = CheckResult::error("ImagePull", failures.join("; "));
    r.ignored = ignore.ignores("ImagePull");
    ctx.events.send(r.to_event());
    if r.is_fatal() {
        return Err(PhaseError::new(format!(
            "[preflight] Some fatal errors occurred:\n\t[ERROR ImagePull]: {}",
            r.message
        ))
        .hint("check the registry can be reached, or pull the images yourself; make the check non-fatal with --ignore-preflight-errors=ImagePull"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_major_minor("6.1.0-18-amd64"), Some((6, 1)));
        assert_eq!(kernel_major_minor("4.19.2"), Some((4, 19)));
        assert_eq!(
            super::super::path_check_suffix("/var/lib/etcd"),
            "-var-lib-etcd"
        );
    }

    #[test]
    fn containerd_config_forms() {
        let read = containerd_config_systemd_cgroup;
        // v2, the parent tables created implicitly by the one header.
        let v2 = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n";
        assert_eq!(read(v2), Ok(Some(true)));
        // v2, every parent table written out, another runtime set first.
        let v2_full = "version = 2\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata.options]\n        SystemdCgroup = false\n      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n        SystemdCgroup = true # the kubelet's driver\n";
        assert_eq!(read(v2_full), Ok(Some(true)));
        // v2, dotted keys and an inline table.
        let dotted = "version = 2\n[plugins.'io.containerd.grpc.v1.cri']\ncontainerd.runtimes.runc.options = { SystemdCgroup = false }\n";
        assert_eq!(read(dotted), Ok(Some(false)));
        // v3 (containerd 2) uses the runtime plugin's id.
        let v3 = "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\nSystemdCgroup = true\n";
        assert_eq!(read(v3), Ok(Some(true)));
        // The v2 path in a v3 file is not read by containerd 2.
        let v3_old_path = v2.replace("version = 2", "version = 3");
        assert_eq!(read(&v3_old_path), Ok(None));
        // Config version 1 (no version): plugins.cri.
        let v1 = "[plugins.cri.containerd.runtimes.runc.options]\nSystemdCgroup = true\n";
        assert_eq!(read(v1), Ok(Some(true)));
        // A commented-out line is not a setting.
        let commented = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  # SystemdCgroup = true\n";
        assert_eq!(read(commented), Ok(None));
        // An empty file reads like a missing one: containerd's default.
        assert_eq!(read(""), Ok(None));
        assert_eq!(containerd_systemd_cgroup(""), None);
        assert!(read("version = [").is_err());
        assert!(read("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\nSystemdCgroup = \"yes\"\n").is_err());
    }

    /// The check itself: the tester's v2 file (parent tables implicit) and a v3 file pass
    /// against the kubelet's default systemd driver; an empty file and no file give the same
    /// error (containerd's default, cgroupfs).
    #[test]
    fn cgroup_driver_check_reads_every_form() {
        use crate::host::fake::FakeHost;
        let h = FakeHost::new().unwrap();
        h.add_programs(&["containerd"]);
        let run = |h: &FakeHost| {
            cgroup_driver_check(&NodeChecks {
                host: h,
                cri_socket: "",
                node_name: "",
                kubelet: None,
                minor: 37,
                control_plane_version: None,
                kubelet_allow_cgroup_v1: false,
                worker: false,
            })
        };
        let missing = run(&h);
        assert_eq!(missing.severity, crate::engine::Severity::Error);
        assert!(
            missing.message.contains("\"cgroupfs\""),
            "{}",
            missing.message
        );
        h.put("/etc/containerd/config.toml", "").unwrap();
        let empty = run(&h);
        assert_eq!(empty.severity, missing.severity);
        assert_eq!(empty.message, missing.message);
        for text in [
            "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n",
            "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n  SystemdCgroup = true\n",
        ] {
            h.put("/etc/containerd/config.toml", text).unwrap();
            let r = run(&h);
            assert_eq!(
                r.severity,
                crate::engine::Severity::Pass,
                "{text}: {}",
                r.message
            );
        }
        h.put("/etc/containerd/config.toml", "version = [").unwrap();
        let bad = run(&h);
        assert!(
            bad.message.contains("not a valid containerd config"),
            "{}",
            bad.message
        );
    }
}
