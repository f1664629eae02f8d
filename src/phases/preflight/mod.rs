//! The `preflight` phase of init: every check kubeadm runs, with kubeadm's names, severities
//! and thresholds (`cmd/kubeadm/app/preflight/checks.go`, `checks_linux.go`, `checks_unix.go`,
//! `cmd/kubeadm/app/cmd/phases/init/preflight.go`), plus kubestrap's stricter or extra checks
//! (`Swap` is an error unless the KubeletConfiguration allows swap; `CgroupDriver`;
//! `KernelModules`). Failing checks can carry a [`FixPlan`]; fixes are applied only with
//! `--fix` (or the wizard's confirmation), logged, and the checks are run again after.
//!
//! One file per family of checks, named as kubeadm's checks are: [`system`] (system and
//! container runtime: `IsPrivilegedUser`, `NumCPU`, `Mem`, `CRI`, `Swap`,
//! `SystemVerification`, `KernelModules`, `CgroupDriver`, `ImagePull`), [`files`] (files and
//! ports: `Port-*`, `FileAvailable-*`, `FileExisting-*`, `Firewalld`), [`network`]
//! (networking and proxy: `HTTPProxy`, `HTTPProxyCIDR`, `FileContent--proc-sys-*`,
//! `Hostname`), [`kubelet`] (kubelet and versions: `KubernetesVersion`, `KubeletVersion`,
//! `Service-kubelet`), [`etcd`] (`DirAvailable-*` of the data dir, the etcd ports,
//! `ExternalEtcdVersion`, `ExternalEtcdClientCertificates`). [`runner`] runs them in
//! kubeadm's order and is the phase; [`ignore`] parses `--ignore-preflight-errors`; [`fixes`]
//! holds the fix plans and applies them.

use std::path::Path;

use crate::config::versions::{KubeVersion, SUPPORTED};
use crate::engine::{Event, PhaseCtx, Severity};
use crate::host::Host;

pub mod etcd;
pub mod files;
pub mod fixes;
pub mod ignore;
pub mod kubelet;
pub mod network;
pub mod runner;
pub mod system;

pub use etcd::{
    EtcdVersionProbe, external_etcd_version_check, min_external_etcd_version, parse_etcd_version,
};
pub use files::port_check;
pub use fixes::{
    FixPlan, FixStep, apply_fix, comment_swap_in_fstab, drop_refused_fixes, refused_step,
    set_containerd_systemd_cgroup,
};
pub use ignore::{
    IgnoreSet, STATIC_CHECK_NAMES, check_names, parse_ignore_list, parse_ignore_names,
};
pub use network::{http_proxy_check, sysctl_check};
pub use runner::{NodeChecks, common_checks, fatal_error, fatal_error_with, run, run_checks};
pub use system::{
    CGROUP_V1_MESSAGE, cgroup_driver_check, containerd_systemd_cgroup, cri_endpoint,
    kernel_major_minor, kernel_modules_check, required_images,
};

/// `preflight` has no sub-phases.
pub const SUBPHASES: &[(&str, &str)] = &[];

const PHASE: &str = "preflight";

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// kubeadm's check name (`Port-6443`, `Swap`).
    pub name: String,
    pub severity: Severity,
    pub message: String,
    pub fix: Option<FixPlan>,
    /// An error turned into a warning by `--ignore-preflight-errors`.
    pub ignored: bool,
}

impl CheckResult {
    /// A passing result named `name`.
    pub fn pass(name: &str) -> Self {
        CheckResult {
            name: name.into(),
            severity: Severity::Pass,
            message: String::new(),
            fix: None,
            ignored: false,
        }
    }
    /// A warning named `name` with `msg`.
    pub fn warn(name: &str, msg: impl Into<String>) -> Self {
        CheckResult {
            severity: Severity::Warning,
            message: msg.into(),
            ..Self::pass(name)
        }
    }
    /// An error named `name` with `msg` (not ignored).
    pub fn error(name: &str, msg: impl Into<String>) -> Self {
        CheckResult {
            severity: Severity::Error,
            message: msg.into(),
            ..Self::pass(name)
        }
    }
    fn with_fix(mut self, fix: Option<FixPlan>) -> Self {
        if self.severity != Severity::Pass {
            self.fix = fix;
        }
        self
    }
    /// True when this result stops init (an error that is not ignored).
    pub fn is_fatal(&self) -> bool {
        self.severity == Severity::Error && !self.ignored
    }
    /// The event for this result.
    pub fn to_event(&self) -> Event {
        Event::Check {
            name: self.name.clone(),
            severity: self.severity,
            message: self.message.clone(),
            fix: self.fix.as_ref().map(FixPlan::to_event),
            ignored: self.ignored,
        }
    }
}

/// kubeadm's name for a file/dir check: the path with `/` replaced by `-`
/// (`/var/lib/etcd` → `-var-lib-etcd`).
pub fn path_check_suffix(path: &str) -> String {
    path.replace('/', "-")
}

fn bind_port(ctx: &PhaseCtx) -> i32 {
    match ctx.cfg.init.local_api_endpoint.bind_port {
        0 => 6443,
        p => p,
    }
}

fn target_minor(ctx: &PhaseCtx) -> u32 {
    KubeVersion::parse(&ctx.cfg.cluster.kubernetes_version)
        .map(|v| v.minor)
        .unwrap_or_else(|_| SUPPORTED.last().map(|v| v.minor).unwrap_or(34))
}

fn read_text(host: &dyn Host, path: &str) -> Option<String> {
    host.read(Path::new(path))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}
