//! The `preflight` phase of init: every check kubeadm runs, with kubeadm's names, severities
//! and thresholds (`cmd/kubeadm/app/preflight/checks.go`, `checks_linux.go`, `checks_unix.go`,
//! `cmd/kubeadm/app/cmd/phases/init/preflight.go`), plus kubestrap's stricter or extra checks
//! (`Swap` is an error unless the KubeletConfiguration allows swap; `CgroupDriver`;
//! `KernelModules`). Failing checks can carry a [`FixPlan`]; fixes are applied only with
//! `--fix` (or the wizard's confirmation), logged, and the checks are run again after.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use crate::config::versions::{KubeVersion, SUPPORTED};
use crate::engine::{Event, Fix, PhaseCtx, PhaseError, Severity};
use crate::host::Host;

/// `preflight` has no sub-phases.
pub const SUBPHASES: &[(&str, &str)] = &[];

const PHASE: &str = "preflight";

/// One step of a fix, applied through the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixStep {
    /// Run a command (not run in dry-run).
    Run { program: String, args: Vec<String> },
    /// Comment out every swap entry of `/etc/fstab`.
    CommentSwapInFstab,
    /// Set `key = value` in `/etc/sysctl.d/k8s.conf` (created when missing).
    SetSysctl { key: String, value: String },
    /// Write `/etc/modules-load.d/k8s.conf` listing these kernel modules.
    ModulesLoadFile { modules: Vec<String> },
    /// Set containerd's runc option `SystemdCgroup` in `/etc/containerd/config.toml`.
    ContainerdSystemdCgroup { enabled: bool },
    /// Write `failCgroupV1: false` into the KubeletConfiguration this run writes and uploads.
    KubeletAllowCgroupV1,
}

impl FixStep {
    fn run(program: &str, args: &[&str]) -> Self {
        FixStep::Run {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// One line for the user ("will run: swapoff -a").
    pub fn describe(&self) -> String {
        match self {
            FixStep::Run { program, args } => format!("run: {program} {}", args.join(" ")),
            FixStep::CommentSwapInFstab => "edit /etc/fstab: comment out swap entries".into(),
            FixStep::SetSysctl { key, value } => {
                format!("write /etc/sysctl.d/k8s.conf: {key} = {value}")
            }
            FixStep::ModulesLoadFile { modules } => {
                format!("write /etc/modules-load.d/k8s.conf: {}", modules.join(" "))
            }
            FixStep::ContainerdSystemdCgroup { enabled } => {
                format!("edit /etc/containerd/config.toml: SystemdCgroup = {enabled}")
            }
            FixStep::KubeletAllowCgroupV1 => {
                "set failCgroupV1: false in the KubeletConfiguration (config.yaml and the kubelet-config ConfigMap)".to_string()
            }
        }
    }
}

/// A fix for one check: a summary and the steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPlan {
    pub summary: String,
    pub steps: Vec<FixStep>,
}

impl FixPlan {
    /// The event form ([`Fix`]) of this plan.
    pub fn to_event(&self) -> Fix {
        Fix {
            summary: self.summary.clone(),
            steps: self.steps.iter().map(FixStep::describe).collect(),
        }
    }
}

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

/// The parsed `--ignore-preflight-errors` set (lower-cased names, or `all`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreSet {
    all: bool,
    names: BTreeSet<String>,
}

impl IgnoreSet {
    /// True when errors of `check` are ignored.
    pub fn ignores(&self, check: &str) -> bool {
        self.all || self.names.contains(&check.to_lowercase())
    }
}

/// Static check names of init that do not depend on the configuration; validation of the
/// ignore list also accepts every name [`check_names`] produces for the configuration.
pub const STATIC_CHECK_NAMES: &[&str] = &[
    "IsPrivilegedUser",
    "NumCPU",
    "Mem",
    "KubernetesVersion",
    "Firewalld",
    "Port-10259",
    "Port-10257",
    "Port-10250",
    "Port-2379",
    "Port-2380",
    "HTTPProxy",
    "HTTPProxyCIDR",
    "CRI",
    "ContainerRuntimeVersion",
    "Swap",
    "FileExisting-losetup",
    "FileExisting-mount",
    "FileExisting-cp",
    "SystemVerification",
    "Hostname",
    "KubeletVersion",
    "Service-kubelet",
    "FileContent--proc-sys-net-ipv4-ip_forward",
    "FileContent--proc-sys-net-ipv6-conf-default-forwarding",
    "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables",
    "FileContent--proc-sys-net-bridge-bridge-nf-call-ip6tables",
    "ExternalEtcdVersion",
    "ExternalEtcdClientCertificates",
    "ImagePull",
    "CgroupDriver",
    "KernelModules",
];

const MANIFESTS: &[&str] = &[
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
];

/// Every check name valid for `cfg` (static names plus `Port-<bindPort>`, the manifest
/// `FileAvailable-` names and `DirAvailable-<etcd data dir>`).
pub fn check_names(ctx: &PhaseCtx) -> Vec<String> {
    let mut v: Vec<String> = STATIC_CHECK_NAMES.iter().map(|s| s.to_string()).collect();
    v.push(format!("Port-{}", bind_port(ctx)));
    v.push("Port-6443".into());
    for m in MANIFESTS {
        v.push(manifest_check_name(ctx, m));
    }
    v.push(format!(
        "DirAvailable-{}",
        path_check_suffix(&ctx.paths.etcd_data_dir.to_string_lossy())
    ));
    v.sort();
    v.dedup();
    v
}

fn manifest_check_name(ctx: &PhaseCtx, m: &str) -> String {
    format!(
        "FileAvailable-{}",
        path_check_suffix(
            &ctx.paths
                .manifests_dir
                .join(format!("{m}.yaml"))
                .to_string_lossy()
        )
    )
}

/// Parses the ignore list (flag merged with `nodeRegistration.ignorePreflightErrors`):
/// names compare case-insensitively; `all` alone ignores everything. Errors: `all` mixed
/// with names, or a name that is not a check of init (with the closest name).
pub fn parse_ignore_list(ctx: &PhaseCtx, list: &[String]) -> Result<IgnoreSet, String> {
    parse_ignore_names(&check_names(ctx), list, "init", "Swap, NumCPU or Port-6443")
}

/// Parses an ignore list against `known` check names of `command` (`init`, `join`):
/// names compare case-insensitively; `all` alone ignores everything. Errors: `all` mixed
/// with names, or a name not in `known` (with the closest name); `examples` is shown then.
pub fn parse_ignore_names(
    known: &[String],
    list: &[String],
    command: &str,
    examples: &str,
) -> Result<IgnoreSet, String> {
    let mut set = IgnoreSet::default();
    for raw in list {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        if name.eq_ignore_ascii_case("all") {
            set.all = true;
            continue;
        }
        if !known.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            let best = known
                .iter()
                .map(|k| {
                    (
                        strsim::jaro_winkler(&name.to_lowercase(), &k.to_lowercase()),
                        k,
                    )
                })
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .filter(|(s, _)| *s > 0.8)
                .map(|(_, k)| format!(" (did you mean {k:?}?)"))
                .unwrap_or_default();
            return Err(format!(
                "--ignore-preflight-errors: {name:?} is not a preflight check of {command}{best}; use a check name such as {examples}, or all"
            ));
        }
        set.names.insert(name.to_lowercase());
    }
    if set.all && !set.names.is_empty() {
        return Err(format!(
            "--ignore-preflight-errors: don't specify individual checks if 'all' is used: {:?}",
            set.names
        ));
    }
    Ok(set)
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

/// What the checks shared by init and join (kubeadm's `addCommonChecks`, plus kubestrap's
/// `CgroupDriver`) need to know about the node.
#[derive(Clone, Copy)]
pub struct NodeChecks<'a> {
    pub host: &'a dyn Host,
    /// `nodeRegistration.criSocket` (empty = kubestrap's default containerd socket).
    pub cri_socket: &'a str,
    /// `nodeRegistration.name` (empty = the host name, lower-cased).
    pub node_name: &'a str,
    /// The user's KubeletConfiguration document, if any (`failSwapOn`, `cgroupDriver`).
    pub kubelet: Option<&'a serde_yaml::Value>,
    /// Target Kubernetes minor (selects the version-dependent binaries and the kubelet skew).
    pub minor: u32,
    /// The control-plane version for the KubeletVersion upper bound; `None` skips it (join
    /// knows no version before discovery, like kubeadm's join which passes `""`).
    pub control_plane_version: Option<&'a str>,
    /// The user consented (`--fix`) to `failCgroupV1: false` in this run.
    pub kubelet_allow_cgroup_v1: bool,
}

impl<'a> NodeChecks<'a> {
    /// The inputs of init's common checks.
    pub fn for_init(ctx: &'a PhaseCtx) -> Self {
        NodeChecks {
            host: ctx.host.as_ref(),
            cri_socket: &ctx.cfg.init.node_registration.cri_socket,
            node_name: &ctx.cfg.init.node_registration.name,
            kubelet: ctx.cfg.kubelet.as_ref(),
            minor: target_minor(ctx),
            control_plane_version: Some(&ctx.cfg.cluster.kubernetes_version),
            kubelet_allow_cgroup_v1: ctx
                .state
                .lock()
                .map(|s| s.kubelet_allow_cgroup_v1)
                .unwrap_or(false),
        }
    }

    /// The KubeletConfiguration value of `key` from the user's document, if any.
    fn kubelet_value(&self, key: &str) -> Option<&'a serde_yaml::Value> {
        self.kubelet?.get(key)
    }
}

/// The CRI endpoint URL for a `criSocket` value (`unix://` added; empty = default).
pub fn cri_endpoint(socket: &str) -> String {
    let s = socket;
    if s.is_empty() {
        crate::config::defaults::DEFAULT_CRI_SOCKET.to_string()
    } else if s.contains("://") {
        s.to_string()
    } else {
        format!("unix://{s}")
    }
}

fn install_fix(host: &dyn Host, packages: &[&str], summary: String) -> Option<FixPlan> {
    let mgr = ["apt-get", "dnf", "yum"]
        .into_iter()
        .find(|m| host.which(m).is_some())?;
    let mut args = vec!["install", "-y"];
    args.extend_from_slice(packages);
    Some(FixPlan {
        summary,
        steps: vec![FixStep::run(mgr, &args)],
    })
}

/// The IP addresses the configuration uses: advertise address and the first IP of each
/// service and pod subnet (for the IPv4/IPv6 forwarding checks).
fn config_ips(ctx: &PhaseCtx) -> Vec<IpAddr> {
    let mut v = Vec::new();
    if let Ok(ip) = ctx
        .cfg
        .init
        .local_api_endpoint
        .advertise_address
        .parse::<IpAddr>()
    {
        v.push(ip);
    }
    let nets = [
        &ctx.cfg.cluster.networking.service_subnet,
        &ctx.cfg.cluster.networking.pod_subnet,
    ];
    for s in nets {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Ok(n) = part.parse::<ipnet::IpNet>() {
                v.push(n.network());
            }
        }
    }
    v
}

fn swap_allowed(n: &NodeChecks) -> bool {
    n.kubelet_value("failSwapOn").and_then(|v| v.as_bool()) == Some(false)
}

fn kubelet_cgroup_driver(n: &NodeChecks) -> String {
    n.kubelet_value("cgroupDriver")
        .and_then(|v| v.as_str())
        .unwrap_or("systemd")
        .to_string()
}

/// containerd's `SystemdCgroup` setting in a config.toml text: `Some(bool)` when the
/// option is set, `None` when absent (containerd then uses cgroupfs).
pub fn containerd_systemd_cgroup(toml: &str) -> Option<bool> {
    toml.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "SystemdCgroup").then(|| v.trim() == "true")
        })
}

/// Sets `SystemdCgroup` in a containerd config.toml text, adding the runc options section
/// when missing (config `version = 3` uses containerd 2's plugin id). Returns the new text.
pub fn set_containerd_systemd_cgroup(toml: &str, enabled: bool) -> String {
    let mut found = false;
    let mut out: Vec<String> = toml
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if !t.starts_with('#')
                && t.split_once('=')
                    .is_some_and(|(k, _)| k.trim() == "SystemdCgroup")
            {
                found = true;
                let indent = &l[..l.len() - t.len()];
                format!("{indent}SystemdCgroup = {enabled}")
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        let v3 = toml.lines().any(|l| {
            l.split_once('=')
                .is_some_and(|(k, v)| k.trim() == "version" && v.trim() == "3")
        });
        let section = if v3 {
            "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"
        } else {
            "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]"
        };
        if let Some(i) = out.iter().position(|l| l.trim() == section) {
            out.insert(i + 1, format!("  SystemdCgroup = {enabled}"));
        } else {
            if toml.trim().is_empty() {
                out = vec!["version = 2".into()];
            }
            out.push(String::new());
            out.push(section.into());
            out.push(format!("  SystemdCgroup = {enabled}"));
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// Comments out the swap entries (fs type `swap`) of an fstab text.
pub fn comment_swap_in_fstab(fstab: &str) -> String {
    let mut s: String = fstab
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if !l.trim_start().starts_with('#') && f.len() >= 3 && f[2] == "swap" {
                format!("# {l}  # disabled by kubestrap (the kubelet needs swap off)")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    s.push('\n');
    s
}

fn containerd_installed(host: &dyn Host) -> bool {
    host.which("containerd").is_some() || host.exists(Path::new("/etc/containerd/config.toml"))
}

/// Runs every init check for the configuration (without the root check and the image
/// pull), in kubeadm's order, and marks ignored errors. Takes the facts once.
pub fn run_checks(ctx: &PhaseCtx, ignore: &IgnoreSet) -> Vec<CheckResult> {
    let host = ctx.host.as_ref();
    let facts = host.facts();
    let node = NodeChecks::for_init(ctx);
    let minor = node.minor;
    let mut out: Vec<CheckResult> = Vec::new();

    // NumCPU, Mem
    out.push(if facts.cpus < 2 {
        CheckResult::error(
            "NumCPU",
            format!(
                "the number of available CPUs {} is less than the required 2",
                facts.cpus
            ),
        )
    } else {
        CheckResult::pass("NumCPU")
    });
    out.push(if facts.memory_mib < 1700 {
        CheckResult::error(
            "Mem",
            format!(
                "the system RAM ({} MB) is less than the minimum 1700 MB",
                facts.memory_mib
            ),
        )
    } else {
        CheckResult::pass("Mem")
    });

    // KubernetesVersion: not newer than what kubestrap carries.
    let newest = SUPPORTED.last().map(|v| v.minor).unwrap_or(34);
    out.push(if minor > newest {
        CheckResult::warn(
            "KubernetesVersion",
            format!(
                "Kubernetes version is greater than kubestrap's newest supported version. Kubernetes version: {}. Newest supported: v1.{newest}",
                ctx.cfg.cluster.kubernetes_version
            ),
        )
    } else {
        CheckResult::pass("KubernetesVersion")
    });

    // Firewalld
    let systemd = host.has_systemd();
    let firewalld_active = systemd
        && host
            .run("systemctl", &["is-active", "firewalld"])
            .map(|o| o.success())
            .unwrap_or(false);
    out.push(if firewalld_active {
        CheckResult::warn(
            "Firewalld",
            format!(
                "firewalld is active, please ensure ports [{} 10250] are open or your cluster may not function correctly",
                bind_port(ctx)
            ),
        )
    } else {
        CheckResult::pass("Firewalld")
    });

    // Ports of the control plane.
    let port_check = |port: u16| port_check(host, port);
    out.push(port_check(bind_port(ctx).clamp(0, 65535) as u16));
    out.push(port_check(10259));
    out.push(port_check(10257));

    // Existing manifests.
    for m in MANIFESTS {
        let path = ctx.paths.manifests_dir.join(format!("{m}.yaml"));
        let name = manifest_check_name(ctx, m);
        out.push(if host.exists(&path) {
            CheckResult::error(&name, format!("{} already exists", path.display()))
        } else {
            CheckResult::pass(&name)
        });
    }

    // HTTPProxy / HTTPProxyCIDR
    out.extend(proxy_checks(ctx));

    // CRI, Swap, FileExisting-*, SystemVerification, Hostname, KubeletVersion,
    // Service-kubelet, Port-10250 (kubeadm's addCommonChecks, shared with join).
    out.extend(common_checks(&node, &facts));

    // Forwarding and (old releases only) bridge-nf-call checks.
    let ips = config_ips(ctx);
    if ips.iter().any(IpAddr::is_ipv4) {
        out.push(sysctl_check(host, "net.ipv4.ip_forward"));
    }
    if ips.iter().any(IpAddr::is_ipv6) {
        out.push(sysctl_check(host, "net.ipv6.conf.default.forwarding"));
    }
    if minor < 30 {
        if ips.iter().any(IpAddr::is_ipv4) {
            out.push(sysctl_check(host, "net.bridge.bridge-nf-call-iptables"));
        }
        if ips.iter().any(IpAddr::is_ipv6) {
            out.push(sysctl_check(host, "net.bridge.bridge-nf-call-ip6tables"));
        }
    }

    // Kernel modules the container runtime and pod networks need (kubestrap).
    out.push(kernel_modules_check(host));

    // Local etcd: ports and data dir; external etcd: client certificates.
    if let Some(ext) = &ctx.cfg.cluster.etcd.external {
        let missing: Vec<&str> = [&ext.ca_file, &ext.cert_file, &ext.key_file]
            .into_iter()
            .filter(|f| !f.is_empty() && !host.exists(Path::new(f.as_str())))
            .map(String::as_str)
            .collect();
        out.push(if missing.is_empty() {
            CheckResult::pass("ExternalEtcdClientCertificates")
        } else {
            CheckResult::error(
                "ExternalEtcdClientCertificates",
                format!("{} doesn't exist", missing.join(", ")),
            )
        });
        out.push(external_etcd_version_check(
            host,
            ext,
            minor,
            &EtcdVersionProbe::default(),
        ));
    } else {
        out.push(port_check(2379));
        out.push(port_check(2380));
        let dir = &ctx.paths.etcd_data_dir;
        let name = format!("DirAvailable-{}", path_check_suffix(&dir.to_string_lossy()));
        let entries = host.read_dir(dir).unwrap_or_default();
        out.push(if entries.is_empty() {
            CheckResult::pass(&name)
        } else {
            CheckResult::error(&name, format!("{} is not empty", dir.display()))
        });
    }

    // Cgroup driver of the kubelet vs containerd (kubestrap).
    out.push(cgroup_driver_check(&node));

    for r in &mut out {
        if r.severity == Severity::Error && ignore.ignores(&r.name) {
            r.ignored = true;
        }
    }
    drop_refused_fixes(host, &mut out);
    out
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

/// The checks init and join share, in kubeadm's order (`addCommonChecks`): `CRI`, `Swap`,
/// the `FileExisting-*` binaries for the target minor, `SystemVerification`, `Hostname`,
/// `KubeletVersion`, `Service-kubelet`, `Port-10250`. `facts` are the host's facts, taken once.
pub fn common_checks(n: &NodeChecks, facts: &crate::host::HostFacts) -> Vec<CheckResult> {
    let host = n.host;
    let minor = n.minor;
    let systemd = host.has_systemd();
    let mut out: Vec<CheckResult> = Vec::new();
    // CRI, then ContainerRuntimeVersion (asked only of a runtime that answered)
    let cri = cri_check(n);
    let cri_ok = cri.severity == Severity::Pass;
    out.push(cri);
    if cri_ok {
        out.push(
            match super::container_runtime::runtime_config_warning(
                host,
                &cri_endpoint(n.cri_socket),
            ) {
                Ok(None) => CheckResult::pass("ContainerRuntimeVersion"),
                Ok(Some(w)) => CheckResult::warn("ContainerRuntimeVersion", w),
                Err(e) => CheckResult::error("ContainerRuntimeVersion", e),
            },
        );
    }

    // Swap
    out.push(swap_check(n));

    // Required commands: the same for every carried minor (kubeadm v1.34 to v1.37 check
    // exactly these; cmd/kubeadm/app/preflight/checks_linux.go), each with its Debian package.
    let required = [
        ("losetup", "mount", Severity::Error),
        ("mount", "mount", Severity::Error),
        ("cp", "coreutils", Severity::Error),
    ];
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

    // SystemVerification
    let cgroup_v1_allowed = n
        .kubelet_value("failCgroupV1")
        .and_then(serde_yaml::Value::as_bool)
        == Some(false)
        || n.kubelet_allow_cgroup_v1;
    out.push(system_verification(
        host,
        &facts.kernel_release,
        minor,
        cgroup_v1_allowed,
    ));

    // Hostname
    out.push(hostname_check(n, &facts.hostname));

    // KubeletVersion, Service-kubelet (Service-Kubelet up to v1.34, whose kubeadm title-cased
    // it; cmd/kubeadm/app/preflight/checks.go), Port-10250
    out.push(kubelet_version_check(n));
    let service = if minor >= 35 {
        "Service-kubelet"
    } else {
        "Service-Kubelet"
    };
    out.push(if !systemd {
        CheckResult::warn(
            service,
            "no supported init system detected, skipping checking for services",
        )
    } else {
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
    });
    out.push(port_check(host, 10250));
    out
}

/// kubeadm's `MinExternalEtcdVersion` for a target Kubernetes minor: `(major, minor, patch)`.
/// kubeadm v1.34.4, v1.35.4, v1.36.3 and v1.37.2 all require 3.5.24
/// (`MinExternalEtcdVersion` in cmd/kubeadm/app/constants/constants.go of each).
pub fn min_external_etcd_version(_minor: u32) -> (u64, u64, u64) {
    (3, 5, 24)
}

/// How the `ExternalEtcdVersion` check asks each endpoint: per-request timeout, attempts and
/// the pause between them. The default is kubeadm's (10 s, 3 attempts, 5 s).
#[derive(Debug, Clone)]
pub struct EtcdVersionProbe {
    pub timeout: std::time::Duration,
    pub attempts: u32,
    pub interval: std::time::Duration,
}

impl Default for EtcdVersionProbe {
    fn default() -> Self {
        EtcdVersionProbe {
            timeout: std::time::Duration::from_secs(10),
            attempts: 3,
            interval: std::time::Duration::from_secs(5),
        }
    }
}

/// Parses an etcd version such as `3.5.16` (or `v3.5.16-0`) into `(major, minor, patch)`.
pub fn parse_etcd_version(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.trim().trim_start_matches('v');
    let core = v.split(['-', '+']).next()?;
    let mut it = core.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    let patch = it.next().unwrap_or("0").parse().ok()?;
    Some((major, minor, patch))
}

/// The HTTP client for the external etcd endpoints: no proxy, `probe.timeout` per request,
/// TLS trusting only `caFile` when set and presenting `certFile`/`keyFile` when set (files
/// read through the host). Errors name the file that could not be read or parsed.
fn etcd_client(
    host: &dyn Host,
    ext: &crate::config::ExternalEtcd,
    probe: &EtcdVersionProbe,
) -> Result<reqwest::Client, String> {
    let read = |field: &str, f: &str| {
        host.read(Path::new(f))
            .map_err(|e| format!("etcd.external.{field} {f}: {e}"))
    };
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .timeout(probe.timeout)
        .connect_timeout(probe.timeout);
    if !ext.ca_file.is_empty() {
        let pem = read("caFile", &ext.ca_file)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            format!(
                "etcd.external.caFile {}: not a PEM certificate: {e}",
                ext.ca_file
            )
        })?;
        b = b.tls_certs_only(certs);
    }
    if !ext.cert_file.is_empty() && !ext.key_file.is_empty() {
        let mut pem = read("certFile", &ext.cert_file)?;
        pem.push(b'\n');
        pem.extend(read("keyFile", &ext.key_file)?);
        let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
            format!(
                "etcd.external.certFile {} / keyFile {}: not a PEM certificate and key: {e}",
                ext.cert_file, ext.key_file
            )
        })?;
        b = b.identity(id);
    }
    b.build()
        .map_err(|e| format!("cannot build the etcd HTTP client: {e}"))
}

/// GET `<endpoint>/version` once; `Ok(etcdserver version string)`.
async fn etcd_server_version(client: &reqwest::Client, endpoint: &str) -> Result<String, String> {
    let url = format!("{}/version", endpoint.trim_end_matches('/'));
    let resp = client.get(&url).send().await.map_err(|e| {
        format!(
            "failed to get {url}: {}",
            super::wait_control_plane::describe_error(&e)
        )
    })?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| format!("failed to read the answer of {url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url} answered HTTP {}", status.as_u16()));
    }
    let v: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| format!("{url} did not answer etcd's version JSON: {e}"))?;
    v.get("etcdserver")
        .and_then(|s| s.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "{url} answered without an \"etcdserver\" version: {}",
                body.trim()
            )
        })
}

/// `ExternalEtcdVersion` (kubeadm's `ExternalEtcdVersionCheck`): every endpoint of
/// `etcd.external` answers `GET /version` with an `etcdserver` version ≥
/// [`min_external_etcd_version`] for `minor`. Each endpoint is tried `probe.attempts` times
/// (`probe.timeout` each, `probe.interval` apart); runs on its own thread and runtime, so it
/// may be called from synchronous code inside or outside tokio. Error message: one entry
/// per failing endpoint (`connection refused`, TLS errors, a too old version).
pub fn external_etcd_version_check(
    host: &dyn Host,
    ext: &crate::config::ExternalEtcd,
    minor: u32,
    probe: &EtcdVersionProbe,
) -> CheckResult {
    const NAME: &str = "ExternalEtcdVersion";
    let client = match etcd_client(host, ext, probe) {
        Ok(c) => c,
        Err(e) => return CheckResult::error(NAME, e),
    };
    let (ma, mi, pa) = min_external_etcd_version(minor);
    let min = format!("{ma}.{mi}.{pa}");
    let endpoints = ext.endpoints.clone();
    let outcome = std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime for the etcd requests: {e}"))?;
            Ok::<Vec<String>, String>(rt.block_on(async {
                let mut problems = Vec::new();
                for ep in &endpoints {
                    let mut last = String::new();
                    let mut got = None;
                    for i in 0..probe.attempts.max(1) {
                        if i > 0 {
                            tokio::time::sleep(probe.interval).await;
                        }
                        match etcd_server_version(&client, ep).await {
                            Ok(v) => {
                                got = Some(v);
                                break;
                            }
                            Err(e) => last = e,
                        }
                    }
                    let Some(v) = got else {
                        problems.push(last);
                        continue;
                    };
                    match parse_etcd_version(&v) {
                        None => problems.push(format!("{ep}: couldn't parse the etcd version {v:?}")),
                        Some(have) if have < (ma, mi, pa) => problems.push(format!(
                            "{ep}: this version of kubestrap (like kubeadm for Kubernetes v1.{minor}) only supports external etcd version >= {min}. Current version: {v}"
                        )),
                        Some(_) => {}
                    }
                }
                problems
            }))
        })
        .join()
        .unwrap_or_else(|_| Err("the etcd version request thread panicked".into()))
    });
    match outcome {
        Ok(p) if p.is_empty() => CheckResult::pass(NAME),
        Ok(p) => CheckResult::error(NAME, p.join("; ")),
        Err(e) => CheckResult::error(NAME, e),
    }
}

fn proxy_env(host: &dyn Host, k: &str) -> Option<String> {
    host.env(k)
        .or_else(|| host.env(&k.to_uppercase()))
        .filter(|v| !v.is_empty())
}

/// True when a `no_proxy` list exempts `target` (an IP or a host name): `*`, the exact
/// value, a CIDR holding the IP, or a domain suffix (`example.com`, `.example.com`).
fn no_proxy_exempts(no_proxy: &str, target: &str) -> bool {
    let ip = target.parse::<IpAddr>().ok();
    no_proxy.split(',').map(str::trim).any(|e| {
        if e.is_empty() {
            return false;
        }
        if e == "*" || e.eq_ignore_ascii_case(target) {
            return true;
        }
        match ip {
            Some(ip) => e.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&ip)),
            None => {
                let suffix = e.trim_start_matches('.').to_lowercase();
                target.to_lowercase().ends_with(&format!(".{suffix}"))
            }
        }
    })
}

/// `HTTPProxy`: warns when an https proxy from the host's environment (`https_proxy`,
/// `HTTPS_PROXY`, minus `no_proxy`) would be used to reach `https://<target>`; `target` is an
/// IP or a host name without port (empty = pass). Mirrors kubeadm's `HTTPProxyCheck`.
pub fn http_proxy_check(host: &dyn Host, target: &str) -> CheckResult {
    let no_proxy = proxy_env(host, "no_proxy").unwrap_or_default();
    match proxy_env(host, "https_proxy") {
        Some(p) if !target.is_empty() && !no_proxy_exempts(&no_proxy, target) => {
            let shown = if target.contains(':') {
                format!("[{target}]")
            } else {
                target.to_string()
            };
            CheckResult::warn(
                "HTTPProxy",
                format!(
                    "Connection to \"https://{shown}\" uses proxy \"{p}\". If that is not intended, adjust your proxy settings"
                ),
            )
        }
        _ => CheckResult::pass("HTTPProxy"),
    }
}

fn proxy_checks(ctx: &PhaseCtx) -> Vec<CheckResult> {
    let host = ctx.host.as_ref();
    let https = proxy_env(host, "https_proxy");
    let no_proxy = proxy_env(host, "no_proxy").unwrap_or_default();
    let exempt = |ip: &IpAddr| no_proxy_exempts(&no_proxy, &ip.to_string());
    let mut out = Vec::new();
    let adv = &ctx.cfg.init.local_api_endpoint.advertise_address;
    out.push(if adv.parse::<IpAddr>().is_ok() {
        http_proxy_check(host, adv)
    } else {
        CheckResult::pass("HTTPProxy")
    });
    let nets = [
        &ctx.cfg.cluster.networking.service_subnet,
        &ctx.cfg.cluster.networking.pod_subnet,
    ];
    for s in nets {
        for cidr in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let r = match cidr.parse::<ipnet::IpNet>() {
                Err(e) => CheckResult::error("HTTPProxyCIDR", format!("{cidr}: {e}")),
                Ok(n) => match &https {
                    Some(p) if !exempt(&n.network()) => CheckResult::warn(
                        "HTTPProxyCIDR",
                        format!(
                            "connection to \"{cidr}\" uses proxy \"{p}\". This may lead to malfunctional cluster setup. Make sure that Pod and Services IP ranges specified correctly as exceptions in proxy configuration"
                        ),
                    ),
                    _ => CheckResult::pass("HTTPProxyCIDR"),
                },
            };
            out.push(r);
        }
    }
    out
}

fn cri_check(n: &NodeChecks) -> CheckResult {
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
    if let Err(msg) = super::container_runtime::runtime_running(host, &ep) {
        return CheckResult::error("CRI", msg).with_fix(fix);
    }
    CheckResult::pass("CRI")
}

fn swap_check(n: &NodeChecks) -> CheckResult {
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

/// `FileContent--proc-sys-...`: the sysctl `key` (e.g. `net.ipv4.ip_forward`) is `1`; error
/// with a fix (sysctl.d file + `sysctl -w`) otherwise.
pub fn sysctl_check(host: &dyn Host, key: &str) -> CheckResult {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let name = format!("FileContent-{}", path_check_suffix(&path));
    let content = read_text(host, &path);
    let ok = content
        .as_deref()
        .is_some_and(|c| c.trim_start().starts_with('1'));
    if ok {
        return CheckResult::pass(&name);
    }
    let msg = match content {
        None => format!("{path} does not exist"),
        Some(_) => format!("{path} contents are not set to 1"),
    };
    let mut steps = Vec::new();
    if key.starts_with("net.bridge.") {
        steps.push(FixStep::ModulesLoadFile {
            modules: vec!["overlay".into(), "br_netfilter".into()],
        });
        steps.push(FixStep::run("modprobe", &["br_netfilter"]));
    }
    steps.push(FixStep::SetSysctl {
        key: key.into(),
        value: "1".into(),
    });
    steps.push(FixStep::run("sysctl", &["-w", &format!("{key}=1")]));
    CheckResult::error(&name, msg).with_fix(Some(FixPlan {
        summary: format!("set {key} = 1 now and in /etc/sysctl.d/k8s.conf"),
        steps,
    }))
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
fn system_verification(
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

fn hostname_check(n: &NodeChecks, hostname: &str) -> CheckResult {
    let name = if n.node_name.is_empty() {
        hostname.to_lowercase()
    } else {
        n.node_name.to_string()
    };
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !valid {
        return CheckResult::warn(
            "Hostname",
            format!(
                "invalid node name format {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
            ),
        );
    }
    match n.host.run("getent", &["hosts", &name]) {
        Ok(o) if o.success() && !o.stdout.trim().is_empty() => CheckResult::pass("Hostname"),
        Ok(_) => CheckResult::warn(
            "Hostname",
            format!("hostname \"{name}\" could not be reached: lookup {name}: no such host"),
        ),
        Err(e) => CheckResult::warn(
            "Hostname",
            format!("hostname \"{name}\" could not be resolved: {e}"),
        ),
    }
}

fn kubelet_version_check(n: &NodeChecks) -> CheckResult {
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
    let systemd_cgroup = containerd_systemd_cgroup(&toml).unwrap_or(false);
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
            "the kubelet's cgroupDriver is {kubelet:?} but containerd uses {runtime:?} (SystemdCgroup = {systemd_cgroup} in /etc/containerd/config.toml); control-plane pods would restart in a loop"
        ),
    )
    .with_fix(Some(FixPlan {
        summary: format!("set containerd's SystemdCgroup = {} and restart containerd", kubelet == "systemd"),
        steps,
    }))
}

/// Why `host` would refuse a command of `plan` (see [`crate::host::command_policy`]), or
/// `None` when every step may run.
pub fn refused_step(host: &dyn Host, plan: &FixPlan) -> Option<String> {
    plan.steps.iter().find_map(|step| match step {
        FixStep::Run { program, args } => {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            host.command_refusal(program, &a)
        }
        _ => None,
    })
}

/// Drops the fixes `host` could not apply (their commands are refused under `--root`), so
/// no hint offers `--fix` for them; the check's message says why there is no fix.
pub fn drop_refused_fixes(host: &dyn Host, results: &mut [CheckResult]) {
    for r in results.iter_mut() {
        if let Some(why) = r.fix.as_ref().and_then(|plan| refused_step(host, plan)) {
            r.fix = None;
            r.message.push_str(&format!(" (no fix offered: {why})"));
        }
    }
}

/// Applies one fix plan through the host, sending a log line per step. Errors name the
/// step that failed.
pub fn apply_fix(ctx: &PhaseCtx, check: &str, plan: &FixPlan) -> Result<(), PhaseError> {
    let host = ctx.host.as_ref();
    // Refuse the whole plan before its first step when the host would refuse one of its
    // commands (under --root), so nothing is half-applied.
    if let Some(why) = refused_step(host, plan) {
        return Err(PhaseError::new(format!("fix for {check}: {why}")));
    }
    ctx.events
        .log(PHASE, format!("Fixing {check}: {}", plan.summary));
    for step in &plan.steps {
        ctx.events.log(PHASE, format!("  {}", step.describe()));
        let fail =
            |e: String| PhaseError::new(format!("fix for {check}: {}: {e}", step.describe()));
        match step {
            FixStep::Run { program, args } => {
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                let o = host.run(program, &a).map_err(|e| fail(e.to_string()))?;
                if !o.success() {
                    return Err(fail(format!(
                        "exit status {}: {}",
                        o.status.unwrap_or(-1),
                        o.stderr.trim()
                    )));
                }
            }
            FixStep::CommentSwapInFstab => {
                if let Some(t) = read_text(host, "/etc/fstab") {
                    let new = comment_swap_in_fstab(&t);
                    if new != t {
                        write(ctx, "/etc/fstab", new.as_bytes(), 0o644)
                            .map_err(|e| fail(e.to_string()))?;
                    }
                }
            }
            FixStep::SetSysctl { key, value } => {
                let path = "/etc/sysctl.d/k8s.conf";
                let old = read_text(host, path).unwrap_or_default();
                let mut lines: Vec<String> = old
                    .lines()
                    .filter(|l| l.split_once('=').is_none_or(|(k, _)| k.trim() != key))
                    .map(String::from)
                    .collect();
                lines.push(format!("{key} = {value}"));
                let text = lines.join("\n") + "\n";
                write(ctx, path, text.as_bytes(), 0o644).map_err(|e| fail(e.to_string()))?;
            }
            FixStep::ModulesLoadFile { modules } => {
                let text = modules.join("\n") + "\n";
                write(ctx, "/etc/modules-load.d/k8s.conf", text.as_bytes(), 0o644)
                    .map_err(|e| fail(e.to_string()))?;
            }
            FixStep::ContainerdSystemdCgroup { enabled } => {
                let path = "/etc/containerd/config.toml";
                let old = read_text(host, path).unwrap_or_default();
                let new = set_containerd_systemd_cgroup(&old, *enabled);
                write(ctx, path, new.as_bytes(), 0o644).map_err(|e| fail(e.to_string()))?;
            }
            FixStep::KubeletAllowCgroupV1 => {
                ctx.state
                    .lock()
                    .map_err(|_| fail("run state is poisoned".into()))?
                    .kubelet_allow_cgroup_v1 = true;
            }
        }
    }
    Ok(())
}

fn write(ctx: &PhaseCtx, path: &str, data: &[u8], mode: u32) -> std::io::Result<()> {
    ctx.host.write_atomic(Path::new(path), data, mode)?;
    ctx.events.send(Event::FileWritten {
        path: path.into(),
        mode,
    });
    Ok(())
}

fn root_check(ctx: &PhaseCtx) -> CheckResult {
    if ctx.host.facts().euid == 0 {
        CheckResult::pass("IsPrivilegedUser")
    } else {
        CheckResult::error("IsPrivilegedUser", "user is not running as root")
    }
}

/// The images init needs for the configuration (`kubeadm config images list`): the three
/// control-plane images, kube-proxy and CoreDNS unless disabled, pause, and etcd for local
/// etcd. Tags follow the version tables in [`crate::config::versions`].
pub fn required_images(ctx: &PhaseCtx) -> Vec<String> {
    crate::day2::images::list(&ctx.cfg)
}

fn image_pull(ctx: &PhaseCtx, ignore: &IgnoreSet) -> Result<(), PhaseError> {
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
            super::container_runtime::sandbox_image_warning(ctx.host.as_ref(), &ep, pause)
    {
        ctx.events.warn(PHASE, w);
    }
    let progress = |image: &str, outcome: &super::container_runtime::PullOutcome| {
        use super::container_runtime::PullOutcome;
        match outcome {
            PullOutcome::Present => ctx.events.log(PHASE, format!("Image {image} is present")),
            PullOutcome::Pulled => ctx.events.log(PHASE, format!("Pulled image {image}")),
            PullOutcome::Failed(_) => {}
        }
    };
    let failures: Vec<String> = super::container_runtime::pull_images(
        ctx.host.as_ref(),
        &ep,
        &images,
        policy != "Always",
        &progress,
    )
    .into_iter()
    .filter_map(|(_, o)| match o {
        super::container_runtime::PullOutcome::Failed(m) => Some(m),
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

/// kubeadm's "Some fatal errors occurred" error for the fatal results, with a hint naming
/// the fixable checks, `kubestrap reset` for leftovers, and `--ignore-preflight-errors`.
pub fn fatal_error(results: &[CheckResult]) -> PhaseError {
    fatal_error_with(results, true)
}

/// [`fatal_error`]; `can_fix` false (join has no `--fix`) makes the hint list the suggested
/// fixes as steps to apply by hand.
pub fn fatal_error_with(results: &[CheckResult], can_fix: bool) -> PhaseError {
    let fatal: Vec<&CheckResult> = results.iter().filter(|r| r.is_fatal()).collect();
    let mut msg = String::from("[preflight] Some fatal errors occurred:");
    for r in &fatal {
        msg.push_str(&format!("\n\t[ERROR {}]: {}", r.name, r.message));
    }
    let names: Vec<&str> = fatal.iter().map(|r| r.name.as_str()).collect();
    let fixable: Vec<&str> = fatal
        .iter()
        .filter(|r| r.fix.is_some())
        .map(|r| r.name.as_str())
        .collect();
    let mut hint = String::new();
    if !fixable.is_empty() && can_fix {
        hint.push_str(&format!(
            "kubestrap can fix {} for you: run again with --fix. ",
            fixable.join(", ")
        ));
    } else if !fixable.is_empty() {
        hint.push_str(&format!(
            "The checks above suggest fixes for {} (apply them by hand, then run again). ",
            fixable.join(", ")
        ));
    }
    if names.iter().any(|n| {
        n.starts_with("FileAvailable-") || n.starts_with("Port-") || n.starts_with("DirAvailable-")
    }) {
        hint.push_str("If this node already ran init or join, run 'kubestrap reset' first. ");
    }
    hint.push_str(&format!(
        "If you know what you are doing, you can make a check non-fatal with --ignore-preflight-errors={}",
        names.join(",")
    ));
    PhaseError::new(msg).hint(hint)
}

/// The `preflight` phase: root check first (alone), then every check; with `--fix` the
/// offered fixes are applied and the checks run again; any remaining error fails the phase
/// with kubeadm's summary. Then the image pull (announced only, in dry-run).
pub fn run(ctx: &PhaseCtx, _sub: &str) -> Result<(), PhaseError> {
    let ignore = parse_ignore_list(ctx, &ctx.cfg.init.node_registration.ignore_preflight_errors)
        .map_err(|e| PhaseError::new(e).hint("fix the --ignore-preflight-errors list"))?;
    ctx.events.log(PHASE, "Running pre-flight checks");
    let mut root = root_check(ctx);
    root.ignored = root.is_fatal() && ignore.ignores(&root.name);
    ctx.events.send(root.to_event());
    if root.is_fatal() {
        return Err(fatal_error(&[root]).hint("run kubestrap as root (sudo)"));
    }
    let mut results = run_checks(ctx, &ignore);
    for r in &results {
        ctx.events.send(r.to_event());
    }
    for w in crate::day2::certs::expiring_soon(ctx.host.as_ref(), &ctx.cfg) {
        ctx.events.warn(PHASE, w);
    }
    let to_fix: Vec<&CheckResult> = results
        .iter()
        .filter(|r| r.severity != Severity::Pass && r.fix.is_some())
        .collect();
    if ctx.options.fix && !to_fix.is_empty() {
        for r in to_fix {
            if let Some(plan) = &r.fix
                && let Err(e) = apply_fix(ctx, &r.name, plan)
            {
                ctx.events.warn(PHASE, e.chain());
            }
        }
        ctx.events
            .log(PHASE, "Running the pre-flight checks again after the fixes");
        results = run_checks(ctx, &ignore);
        for r in &results {
            ctx.events.send(r.to_event());
        }
    }
    if results.iter().any(CheckResult::is_fatal) {
        if !ctx.dry_run() {
            return Err(fatal_error(&results));
        }
        let n = results.iter().filter(|r| r.is_fatal()).count();
        ctx.events.warn(
            PHASE,
            format!("{n} error(s) above would stop a real init here; the dry run continues"),
        );
    }
    image_pull(ctx, &ignore)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containerd_toml_edits() {
        let v2 = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n";
        assert_eq!(containerd_systemd_cgroup(v2), Some(false));
        let new = set_containerd_systemd_cgroup(v2, true);
        assert_eq!(containerd_systemd_cgroup(&new), Some(true));
        assert_eq!(new.matches("SystemdCgroup").count(), 1);
        let empty = set_containerd_systemd_cgroup("", true);
        assert!(empty.starts_with("version = 2\n"));
        assert_eq!(containerd_systemd_cgroup(&empty), Some(true));
        let v3 = set_containerd_systemd_cgroup("version = 3\n", true);
        assert!(v3.contains("io.containerd.cri.v1.runtime"));
    }

    #[test]
    fn fstab_swap_commented() {
        let f = "UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n# /old none swap sw 0 0\n";
        let n = comment_swap_in_fstab(f);
        assert!(n.contains("# /swapfile none swap sw 0 0"));
        assert!(n.contains("UUID=1 / ext4 defaults 0 1\n"));
        assert_eq!(n.matches("# /old").count(), 1);
    }

    #[test]
    fn etcd_versions_and_no_proxy() {
        assert_eq!(parse_etcd_version("3.4.23"), Some((3, 4, 23)));
        assert_eq!(parse_etcd_version("v3.5.24-0"), Some((3, 5, 24)));
        assert_eq!(parse_etcd_version("3.6"), Some((3, 6, 0)));
        assert_eq!(parse_etcd_version("three"), None);
        assert!(parse_etcd_version("3.4.23").unwrap() < min_external_etcd_version(33));
        assert!(parse_etcd_version("3.5.24").unwrap() >= min_external_etcd_version(34));
        assert!(no_proxy_exempts("10.0.0.0/8", "10.1.2.3"));
        assert!(!no_proxy_exempts("10.0.0.0/8", "192.168.1.2"));
        assert!(no_proxy_exempts(".example.com", "cp.example.com"));
        assert!(no_proxy_exempts("example.com", "cp.example.com"));
        assert!(!no_proxy_exempts("example.com", "cpexample.com"));
        assert!(no_proxy_exempts("*", "anything"));
        assert!(no_proxy_exempts("fd00::/64", "fd00::2"));
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_major_minor("6.1.0-18-amd64"), Some((6, 1)));
        assert_eq!(kernel_major_minor("4.19.2"), Some((4, 19)));
        assert_eq!(path_check_suffix("/var/lib/etcd"), "-var-lib-etcd");
    }
}
