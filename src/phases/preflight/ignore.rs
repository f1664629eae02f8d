//! `--ignore-preflight-errors`: the check names init knows and the parsed ignore set.

use std::collections::BTreeSet;

use super::{bind_port, path_check_suffix};
use crate::engine::PhaseCtx;

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

pub(super) const MANIFESTS: &[&str] = &[
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

pub(super) fn manifest_check_name(ctx: &PhaseCtx, m: &str) -> String {
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
