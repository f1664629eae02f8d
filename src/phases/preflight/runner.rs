//! The runner: every check of init in kubeadm's order, the checks init and join share,
//! kubeadm's "Some fatal errors occurred" error, and the `preflight` phase itself.

use super::files::port_check;
use super::fixes::{apply_fix, drop_refused_fixes};
use super::ignore::{IgnoreSet, parse_ignore_list};
use super::system::{image_pull, root_check};
use super::{CheckResult, PHASE, bind_port, etcd, files, kubelet, network, system, target_minor};
use crate::engine::{PhaseCtx, PhaseError, Severity};
use crate::host::Host;

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
    /// A worker node (join without `--control-plane`): it runs pods, not control-plane pods.
    pub worker: bool,
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
            worker: false,
        }
    }

    /// The KubeletConfiguration value of `key` from the user's document, if any.
    pub(super) fn kubelet_value(&self, key: &str) -> Option<&'a serde_yaml::Value> {
        self.kubelet?.get(key)
    }
}

/// Runs every init check for the configuration (without the root check and the image
/// pull), in kubeadm's order, and marks ignored errors. Takes the facts once.
pub fn run_checks(ctx: &PhaseCtx, ignore: &IgnoreSet) -> Vec<CheckResult> {
    let host = ctx.host.as_ref();
    let facts = host.facts();
    let node = NodeChecks::for_init(ctx);
    let minor = node.minor;
    let mut out: Vec<CheckResult> = Vec::new();

    out.extend(system::cpu_and_memory_checks(&facts));
    out.push(kubelet::kubernetes_version_check(ctx, minor));
    out.push(files::firewalld_check(ctx));

    // Ports of the control plane.
    out.push(port_check(host, bind_port(ctx).clamp(0, 65535) as u16));
    out.push(port_check(host, 10259));
    out.push(port_check(host, 10257));

    // Existing manifests.
    out.extend(files::manifest_checks(ctx));

    // HTTPProxy / HTTPProxyCIDR
    out.extend(network::proxy_checks(ctx));

    // CRI, Swap, FileExisting-*, SystemVerification, Hostname, KubeletVersion,
    // Service-kubelet, Port-10250 (kubeadm's addCommonChecks, shared with join).
    out.extend(common_checks(&node, &facts));

    // Forwarding and (old releases only) bridge-nf-call checks.
    out.extend(network::forwarding_checks(ctx, minor));

    // Kernel modules the container runtime and pod networks need (kubestrap).
    out.push(system::kernel_modules_check(host));

    // Local etcd: ports and data dir; external etcd: client certificates.
    out.extend(etcd::etcd_checks(ctx, minor));

    // Cgroup driver of the kubelet vs containerd (kubestrap).
    out.push(system::cgroup_driver_check(&node));

    for r in &mut out {
        if r.severity == Severity::Error && ignore.ignores(&r.name) {
            r.ignored = true;
        }
    }
    drop_refused_fixes(host, &mut out);
    out
}

/// The checks init and join share, in kubeadm's order (`addCommonChecks`): `CRI`, `Swap`,
/// the `FileExisting-*` binaries for the target minor, `SystemVerification`, `Hostname`,
/// `KubeletVersion`, `Service-kubelet`, `Port-10250`. `facts` are the host's facts, taken once.
pub fn common_checks(n: &NodeChecks, facts: &crate::host::HostFacts) -> Vec<CheckResult> {
    // CRI, then ContainerRuntimeVersion (asked only of a runtime that answered)
    let cri = system::cri_check(n);
    let cri_ok = cri.severity == Severity::Pass;
    let mut out: Vec<CheckResult> = vec![cri];
    if cri_ok {
        out.push(system::runtime_version_check(n));
    }
    out.push(system::swap_check(n));
    out.extend(files::required_binaries(n.host));
    let cgroup_v1_allowed = n
        .kubelet_value("failCgroupV1")
        .and_then(serde_yaml::Value::as_bool)
        == Some(false)
        || n.kubelet_allow_cgroup_v1;
    out.push(system::system_verification(
        n.host,
        &facts.kernel_release,
        n.minor,
        cgroup_v1_allowed,
    ));
    out.push(network::hostname_check(n, &facts.hostname));
    out.push(kubelet::kubelet_version_check(n));
    out.push(kubelet::kubelet_service_check(n));
    out.push(port_check(n.host, 10250));
    out
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
