//! Networking and proxy: `HTTPProxy` and `HTTPProxyCIDR` (the API server and the subnets are
//! not reached through a proxy), the `FileContent--proc-sys-*` forwarding and bridge sysctls,
//! and `Hostname` (the node name is valid and resolves).

use std::net::IpAddr;

use super::fixes::{FixPlan, FixStep};
use super::runner::NodeChecks;
use super::{CheckResult, path_check_suffix, read_text};
use crate::engine::PhaseCtx;
use crate::host::Host;

/// The forwarding sysctls for the address families the configuration uses, and, for
/// releases before v1.30 only, the bridge-nf-call ones.
pub(super) fn forwarding_checks(ctx: &PhaseCtx, minor: u32) -> Vec<CheckResult> {
    let host = ctx.host.as_ref();
    let mut out = Vec::new();
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
    out
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

pub(super) fn proxy_checks(ctx: &PhaseCtx) -> Vec<CheckResult> {
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

pub(super) fn hostname_check(n: &NodeChecks, hostname: &str) -> CheckResult {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_lists() {
        assert!(no_proxy_exempts("10.0.0.0/8", "10.1.2.3"));
        assert!(!no_proxy_exempts("10.0.0.0/8", "192.168.1.2"));
        assert!(no_proxy_exempts(".example.com", "cp.example.com"));
        assert!(no_proxy_exempts("example.com", "cp.example.com"));
        assert!(!no_proxy_exempts("example.com", "cpexample.com"));
        assert!(no_proxy_exempts("*", "anything"));
        assert!(no_proxy_exempts("fd00::/64", "fd00::2"));
    }
}
