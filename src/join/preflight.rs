//! Join preflight checks (kubeadm `app/preflight/checks.go`, `RunJoinNodeChecks`; reference
//! kubeadm-join-and-config.md §1.2). The checks themselves are init's
//! ([`crate::phases::preflight`]): the root check alone first, then
//! `DirAvailable--etc-kubernetes-manifests` (absent or empty),
//! `FileAvailable--etc-kubernetes-kubelet.conf` and `…-bootstrap-kubelet.conf` (absent), the
//! common checks (`CRI`, `Swap`, `FileExisting-*`, `SystemVerification`, `Hostname`,
//! `KubeletVersion`, `Service-kubelet`, `Port-10250`), `FileAvailable-<caCertPath>` for workers,
//! `HTTPProxy` for the discovery endpoint, IPv4/IPv6 forwarding, and kubestrap's
//! `KernelModules` (`CgroupDriver` runs in kubelet-start, once the cluster names the kubelet's driver). Each result is an [`Event::Check`]; the ignore list
//! (`--ignore-preflight-errors` merged with `nodeRegistration.ignorePreflightErrors`) follows
//! init's rules: case-insensitive names, `all` alone, unknown names rejected.

use std::net::IpAddr;
use std::path::Path;

use crate::config::JoinConfiguration;
use crate::config::versions::SUPPORTED;
use crate::engine::{EventSink, PhaseError};
use crate::host::Host;
use crate::phases::preflight::{self as checks, CheckResult, IgnoreSet, NodeChecks};

const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";
const BOOTSTRAP_KUBELET_CONF: &str = "/etc/kubernetes/bootstrap-kubelet.conf";
const DEFAULT_CA_CERT_PATH: &str = "/etc/kubernetes/pki/ca.crt";

fn ca_cert_path(cfg: &JoinConfiguration) -> &str {
    if cfg.ca_cert_path.is_empty() {
        DEFAULT_CA_CERT_PATH
    } else {
        &cfg.ca_cert_path
    }
}

fn file_available_name(path: &str) -> String {
    format!("FileAvailable-{}", checks::path_check_suffix(path))
}

/// The host part of the token discovery endpoint (`host:port`, `[v6]:port`), if any.
fn endpoint_host(cfg: &JoinConfiguration) -> Option<String> {
    let ep = &cfg.discovery.bootstrap_token.as_ref()?.api_server_endpoint;
    if let Ok(sa) = ep.parse::<std::net::SocketAddr>() {
        return Some(sa.ip().to_string());
    }
    let (h, _) = ep.rsplit_once(':')?;
    let h = h.trim_start_matches('[').trim_end_matches(']');
    (!h.is_empty()).then(|| h.to_string())
}

/// Which forwarding sysctls join checks: IPv4 and/or IPv6 after the discovery endpoint's
/// address family, as kubeadm; a host name or file discovery checks IPv4 (kubestrap: pods
/// need forwarding either way; kubeadm checks neither then).
fn forwarding_families(cfg: &JoinConfiguration) -> (bool, bool) {
    match endpoint_host(cfg).and_then(|h| h.parse::<IpAddr>().ok()) {
        Some(IpAddr::V6(_)) => (false, true),
        _ => (true, false),
    }
}

/// Every check name join may report for `cfg` (the names `--ignore-preflight-errors` accepts).
pub fn check_names(cfg: &JoinConfiguration) -> Vec<String> {
    let mut v: Vec<String> = [
        "IsPrivilegedUser",
        "CRI",
        "Swap",
        "SystemVerification",
        "Hostname",
        "KubeletVersion",
        "Service-kubelet",
        "Port-10250",
        "HTTPProxy",
        "FileContent--proc-sys-net-ipv4-ip_forward",
        "FileContent--proc-sys-net-ipv6-conf-default-forwarding",
        "KernelModules",
        "CgroupDriver",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(
        checks::STATIC_CHECK_NAMES
            .iter()
            .filter(|n| n.starts_with("FileExisting-"))
            .map(|s| s.to_string()),
    );
    v.push(format!(
        "DirAvailable-{}",
        checks::path_check_suffix(MANIFESTS_DIR)
    ));
    v.push(file_available_name(KUBELET_CONF));
    v.push(file_available_name(BOOTSTRAP_KUBELET_CONF));
    v.push(file_available_name(ca_cert_path(cfg)));
    if cfg.control_plane.is_some() {
        for p in control_plane_ports(cfg) {
            v.push(format!("Port-{p}"));
        }
        v.push(etcd_dir_check_name());
    }
    v.sort();
    v.dedup();
    v
}

/// The ports a control-plane node's components listen on (kubeadm's control-plane join
/// checks): the API server's bind port, kube-scheduler's 10259, kube-controller-manager's
/// 10257, etcd's 2379 and 2380.
fn control_plane_ports(cfg: &JoinConfiguration) -> Vec<u16> {
    let api = cfg
        .control_plane
        .as_ref()
        .and_then(|c| u16::try_from(c.local_api_endpoint.bind_port).ok())
        .filter(|p| *p != 0)
        .unwrap_or(6443);
    vec![api, 10259, 10257, 2379, 2380]
}

fn etcd_dir_check_name() -> String {
    format!(
        "DirAvailable-{}",
        checks::path_check_suffix(crate::config::defaults::DEFAULT_ETCD_DATA_DIR)
    )
}

/// Parses the join ignore list with init's rules ([`checks::parse_ignore_names`]).
/// Errors: `all` mixed with names, or a name that is not a join check (closest name shown).
pub fn parse_ignore_list(cfg: &JoinConfiguration) -> Result<IgnoreSet, String> {
    checks::parse_ignore_names(
        &check_names(cfg),
        &cfg.node_registration.ignore_preflight_errors,
        "join",
        "Swap, CRI or FileAvailable--etc-kubernetes-kubelet.conf",
    )
}

/// The root check (`IsPrivilegedUser`), which kubeadm runs alone before the others.
pub fn root_check(host: &dyn Host) -> CheckResult {
    if host.facts().euid == 0 {
        CheckResult::pass("IsPrivilegedUser")
    } else {
        CheckResult::error(
            "IsPrivilegedUser",
            "user is not running as root; run kubestrap join with sudo",
        )
    }
}

/// An error named `name` when `error` is set, else a pass.
fn simple(name: String, error: Option<String>) -> CheckResult {
    match error {
        Some(e) => CheckResult::error(&name, e),
        None => CheckResult::pass(&name),
    }
}

/// Runs join's checks after the root check, in kubeadm's order, and marks the errors that
/// `ignore` covers. The Kubernetes version is unknown before discovery, so the
/// version-dependent parts use kubestrap's newest supported minor and `KubeletVersion` checks
/// only the minimum (as kubeadm's join, which passes an empty version). No KubeletConfiguration
/// is known yet either (it comes from the cluster), so `Swap` uses the kubelet default
/// (`failSwapOn: true`) and `CgroupDriver` waits for kubelet-start.
pub fn run_checks(
    host: &dyn Host,
    cfg: &JoinConfiguration,
    ignore: &IgnoreSet,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let manifests_name = format!("DirAvailable-{}", checks::path_check_suffix(MANIFESTS_DIR));
    let entries = host.read_dir(Path::new(MANIFESTS_DIR)).unwrap_or_default();
    out.push(simple(
        manifests_name,
        (!entries.is_empty()).then(|| format!("{MANIFESTS_DIR} is not empty")),
    ));
    let file_available = |p: &str| {
        simple(
            file_available_name(p),
            host.exists(Path::new(p))
                .then(|| format!("{p} already exists")),
        )
    };
    out.push(file_available(KUBELET_CONF));
    out.push(file_available(BOOTSTRAP_KUBELET_CONF));

    let node = NodeChecks {
        host,
        cri_socket: &cfg.node_registration.cri_socket,
        node_name: &cfg.node_registration.name,
        kubelet: None,
        minor: SUPPORTED.last().map(|v| v.minor).unwrap_or(37),
        control_plane_version: None,
        // The kubelet's configuration comes from the cluster (kubelet-config) after discovery.
        kubelet_allow_cgroup_v1: false,
        worker: cfg.control_plane.is_none(),
    };
    let facts = host.facts();
    out.extend(checks::common_checks(&node, &facts));

    if cfg.control_plane.is_none() {
        out.push(file_available(ca_cert_path(cfg)));
    } else {
        // kubeadm's control-plane join checks (the etcd ones assume stacked etcd at its
        // default data directory: the cluster's configuration is read after discovery).
        for p in control_plane_ports(cfg) {
            out.push(checks::port_check(host, p));
        }
        let dir = crate::config::defaults::DEFAULT_ETCD_DATA_DIR;
        let used = host
            .read_dir(Path::new(dir))
            .map(|e| !e.is_empty())
            .unwrap_or(false);
        out.push(simple(
            etcd_dir_check_name(),
            used.then(|| format!("{dir} is not empty")),
        ));
    }
    if let Some(h) = endpoint_host(cfg) {
        out.push(checks::http_proxy_check(host, &h));
    }
    let (v4, v6) = forwarding_families(cfg);
    if v4 {
        out.push(checks::sysctl_check(host, "net.ipv4.ip_forward"));
    }
    if v6 {
        out.push(checks::sysctl_check(
            host,
            "net.ipv6.conf.default.forwarding",
        ));
    }
    out.push(checks::kernel_modules_check(host));
    // CgroupDriver needs the kubelet's cgroupDriver, which comes from the cluster: checked in
    // kubelet-start, after discovery (join::kubelet::kubelet_start).

    for r in &mut out {
        if r.severity == crate::engine::Severity::Error && ignore.ignores(&r.name) {
            r.ignored = true;
        }
    }
    out
}

/// The join `preflight` phase: validates the ignore list, runs the root check alone, then
/// [`run_checks`], sending one [`crate::engine::Event::Check`] per result.
///
/// In dry-run (`host.dry_run()`) the check errors are reported (the events, then a warning
/// counting them) and the phase goes on, as init's dry run does; the root check stays fatal.
///
/// Errors: a bad ignore list; any error that is not ignored (kubeadm's "Some fatal errors
/// occurred" list, with the `--ignore-preflight-errors` hint), outside dry-run.
pub fn run(host: &dyn Host, cfg: &JoinConfiguration, events: &EventSink) -> Result<(), PhaseError> {
    let ignore = parse_ignore_list(cfg)
        .map_err(|e| PhaseError::new(e).hint("fix the --ignore-preflight-errors list"))?;
    events.log("preflight", "Running pre-flight checks");
    let mut root = root_check(host);
    root.ignored = root.is_fatal() && ignore.ignores(&root.name);
    events.send(root.to_event());
    if root.is_fatal() {
        return Err(
            checks::fatal_error_with(&[root], false).hint("run kubestrap join as root (sudo)")
        );
    }
    let results = run_checks(host, cfg, &ignore);
    for r in &results {
        events.send(r.to_event());
    }
    if results.iter().any(CheckResult::is_fatal) {
        if !host.dry_run() {
            return Err(checks::fatal_error_with(&results, false));
        }
        let n = results.iter().filter(|r| r.is_fatal()).count();
        events.warn(
            "preflight",
            format!("{n} error(s) above would stop a real join here; the dry run continues"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_plane_join_checks_the_control_plane_ports() {
        let mut cfg = JoinConfiguration::default();
        let worker = check_names(&cfg);
        assert!(!worker.iter().any(|n| n == "Port-2379"));
        cfg.control_plane = Some(crate::config::JoinControlPlane {
            local_api_endpoint: crate::config::ApiEndpoint {
                advertise_address: String::new(),
                bind_port: 8443,
            },
            certificate_key: String::new(),
        });
        let names = check_names(&cfg);
        for n in [
            "Port-8443",
            "Port-10259",
            "Port-10257",
            "Port-2379",
            "Port-2380",
            "DirAvailable--var-lib-etcd",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} in {names:?}");
        }
    }
}
