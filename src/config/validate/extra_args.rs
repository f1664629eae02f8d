//! One extraArgs entry of a control-plane component, the rule shared by the file loader
//! (`check_extra_args`), `--non-interactive` flags and the wizard's extra-arguments editor:
//! the name must be a flag the component knows, and the value one the component's own flag
//! parser takes (by the flag's type, see [`flags::check_flag_value`]; `feature-gates` against
//! the component's gates and admission plugin names against kube-apiserver's, see
//! [`crate::config::gates`]).

use super::*;

/// Checks the name of one extraArgs entry of `component` (`kube-apiserver`,
/// `kube-controller-manager`, `kube-scheduler`, `etcd`; other components pass). `Err` is the
/// rule in words with the closest known flag (mirrors nothing in kubeadm, which passes any
/// name through and lets the component exit at start).
pub fn validate_extra_arg_name(component: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("argument has no name".into());
    }
    flags::check_flag(component, name)
}

/// Checks the value of one extraArgs entry `name` of `component` for Kubernetes `version`
/// (e.g. `v1.37.2`; an unparsable version checks against the default one). `Err` says what
/// the value should look like. Unknown names pass (their name is reported).
pub fn validate_extra_arg_value(
    component: &str,
    name: &str,
    value: &str,
    version: &str,
) -> Result<(), String> {
    flags::check_flag_value(component, name, value)?;
    let minor = versions::minor_of(version);
    let what = |e: String| {
        format!(
            "is not a valid value of {component} --{name}: {e}, and {component} would exit at start"
        )
    };
    match name {
        "feature-gates" => {
            crate::config::gates::check_feature_gates(component, value, minor).map_err(what)
        }
        "enable-admission-plugins" | "disable-admission-plugins" | "admission-control"
            if component == "kube-apiserver" =>
        {
            crate::config::gates::check_admission_plugins(value, minor).map_err(what)
        }
        _ => Ok(()),
    }
}

/// kube-apiserver flags kubestrap (as kubeadm's `getAPIServerCommand`) derives from another
/// answer: the flag, the field that sets it, and whether an override that differs is refused.
///
/// Refused where kubeadm v1.37.2 breaks: the probes and the health check use
/// `localAPIEndpoint.bindPort` whatever `secure-port` says
/// (`phases/controlplane/manifests.go`: the `probe-port` is `endpoint.BindPort`); the
/// certificates' SANs, the kube-dns Service IP and the kubelet's clusterDNS come from
/// `networking.serviceSubnet`, not from `service-cluster-ip-range`; `etcd-servers` other than
/// the local etcd the etcd phase starts (or `etcd.external.endpoints`) is an etcd whose CA did
/// not sign the apiserver-etcd-client certificate. Warned where kubeadm goes on: an
/// `advertise-address` other than `localAPIEndpoint.advertiseAddress` (the Service endpoint
/// then differs from etcd's, the certificates' and the join command's address), and
/// certificate files other than those of `certificatesDir` (they must be mounted into the pod
/// and signed by the cluster CA, which kubestrap cannot check).
pub const DERIVED_APISERVER_FLAGS: &[(&str, &str, bool)] = &[
    ("secure-port", "localAPIEndpoint.bindPort", true),
    ("service-cluster-ip-range", "networking.serviceSubnet", true),
    ("etcd-servers", "etcd.external.endpoints", true),
    (
        "advertise-address",
        "localAPIEndpoint.advertiseAddress",
        false,
    ),
    ("client-ca-file", "certificatesDir", false),
    ("tls-cert-file", "certificatesDir", false),
    ("tls-private-key-file", "certificatesDir", false),
];

/// An extraArgs override `value` of kube-apiserver flag `name` against the value kubestrap
/// derives (`derived`, from another answer): `None` when the flag is not derived or the
/// values are the same; else `(refused, rule)`, the rule naming the field to change instead.
/// Shared by the file rules ([`derived_override_problems`]) and the wizard's editor.
pub fn check_derived_override(name: &str, value: &str, derived: &str) -> Option<(bool, String)> {
    let (_, field, refused) = DERIVED_APISERVER_FLAGS
        .iter()
        .find(|(n, _, _)| *n == name)?;
    if value.trim() == derived.trim() {
        return None;
    }
    Some(if *refused {
        (
            true,
            format!(
                "overrides --{name} {derived:?}, which kubestrap derives from {field}: kubeadm's probes, certificates and add-ons keep using {field}, so the cluster would not come up; set {field} instead and remove this entry"
            ),
        )
    } else {
        (
            false,
            format!(
                "overrides --{name} {derived:?}, which kubestrap derives from {field}; kubestrap passes it on as kubeadm does, but the other files still use {field}"
            ),
        )
    })
}

/// The values kubestrap passes for the derived kube-apiserver flags of `cfg`
/// ([`DERIVED_APISERVER_FLAGS`]), as kubeadm's `getAPIServerCommand` computes them.
pub fn derived_apiserver_values(cfg: &InitConfig) -> Vec<(&'static str, String)> {
    let c = &cfg.cluster;
    let adv = &cfg.init.local_api_endpoint.advertise_address;
    let pki = if c.certificates_dir.is_empty() {
        "/etc/kubernetes/pki"
    } else {
        c.certificates_dir.as_str()
    };
    let etcd = match &c.etcd.external {
        Some(x) => x.endpoints.join(","),
        None => {
            let local = c.etcd.local.as_ref().and_then(|l| {
                l.extra_args
                    .iter()
                    .rev()
                    .find(|a| a.name == "advertise-client-urls")
                    .map(|a| a.value.clone())
            });
            local.unwrap_or_else(|| {
                if adv.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv6()) {
                    "https://[::1]:2379".into()
                } else {
                    "https://127.0.0.1:2379".into()
                }
            })
        }
    };
    vec![
        (
            "secure-port",
            cfg.init.local_api_endpoint.bind_port.to_string(),
        ),
        (
            "service-cluster-ip-range",
            c.networking.service_subnet.clone(),
        ),
        ("etcd-servers", etcd),
        ("advertise-address", adv.clone()),
        ("client-ca-file", format!("{pki}/ca.crt")),
        ("tls-cert-file", format!("{pki}/apiserver.crt")),
        ("tls-private-key-file", format!("{pki}/apiserver.key")),
    ]
}

/// The problems of `apiServer.extraArgs` entries that override a derived flag: for each such
/// flag the entry that wins (the last), refused or warned as [`check_derived_override`] says.
pub fn derived_override_problems(cfg: &InitConfig) -> Vec<FieldError> {
    let args = &cfg.cluster.api_server.extra_args;
    let mut out = Vec::new();
    for (name, derived) in derived_apiserver_values(cfg) {
        let Some(i) = args.iter().rposition(|a| a.name == name) else {
            continue;
        };
        if let Some((refused, rule)) = check_derived_override(name, &args[i].value, &derived) {
            out.push(FieldError {
                path: format!("apiServer.extraArgs[{i}].value"),
                value: args[i].value.clone(),
                rule,
                line: None,
                warning: !refused,
            });
        }
    }
    out
}
