//! The kube-apiserver extra-args editor: known flag names (assets/flags/kube-apiserver.txt),
//! completion, "did you mean" suggestions and the values kubestrap already sets.

use tui_input::Input;

use super::form::Answers;

const COMPONENT: &str = "kube-apiserver";

/// Known kube-apiserver flag names (no leading dashes), sorted; the list in
/// `assets/flags/kube-apiserver.txt` ([`crate::config::flags::known_flags`]).
pub fn known_flags() -> Vec<&'static str> {
    let mut v = crate::config::flags::known_flags(COMPONENT).to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// True when `name` is a known kube-apiserver flag.
pub fn is_known(name: &str) -> bool {
    crate::config::flags::known_flags(COMPONENT).contains(&name)
}

/// Known flags starting with `prefix`, in order.
pub fn completions(prefix: &str) -> Vec<&'static str> {
    known_flags()
        .into_iter()
        .filter(|f| f.starts_with(prefix))
        .collect()
}

/// The closest known flag to an unknown `name` ("did you mean", e.g. `featureGates` →
/// `feature-gates`), from [`crate::config::flags::suggest`].
pub fn suggest(name: &str) -> Option<&'static str> {
    crate::config::flags::suggest(COMPONENT, name)
}

/// The value kubestrap itself passes for `name` to kube-apiserver given the answers
/// (kubeadm's `getAPIServerCommand`), or `None` when kubestrap does not set that flag.
pub fn managed_value(name: &str, a: &Answers) -> Option<String> {
    let pki = "/etc/kubernetes/pki";
    let ipv6 = a
        .advertise
        .trim()
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_ipv6())
        .unwrap_or(false);
    Some(match name {
        "advertise-address" => a.advertise.trim().to_string(),
        "allow-privileged" => "true".into(),
        "authorization-mode" => "Node,RBAC".into(),
        "client-ca-file" => format!("{pki}/ca.crt"),
        "enable-admission-plugins" => "NodeRestriction".into(),
        "enable-bootstrap-token-auth" => "true".into(),
        "etcd-cafile" => format!("{pki}/etcd/ca.crt"),
        "etcd-certfile" => format!("{pki}/apiserver-etcd-client.crt"),
        "etcd-keyfile" => format!("{pki}/apiserver-etcd-client.key"),
        "etcd-servers" => {
            if ipv6 {
                "https://[::1]:2379".into()
            } else {
                "https://127.0.0.1:2379".into()
            }
        }
        "kubelet-client-certificate" => format!("{pki}/apiserver-kubelet-client.crt"),
        "kubelet-client-key" => format!("{pki}/apiserver-kubelet-client.key"),
        "kubelet-preferred-address-types" => "InternalIP,ExternalIP,Hostname".into(),
        "proxy-client-cert-file" => format!("{pki}/front-proxy-client.crt"),
        "proxy-client-key-file" => format!("{pki}/front-proxy-client.key"),
        "requestheader-allowed-names" => "front-proxy-client".into(),
        "requestheader-client-ca-file" => format!("{pki}/front-proxy-ca.crt"),
        "requestheader-extra-headers-prefix" => "X-Remote-Extra-".into(),
        "requestheader-group-headers" => "X-Remote-Group".into(),
        "requestheader-username-headers" => "X-Remote-User".into(),
        "secure-port" => a.bind_port.trim().to_string(),
        "service-account-issuer" => {
            format!("https://kubernetes.default.svc.{}", a.dns_domain.trim())
        }
        "service-account-key-file" => format!("{pki}/sa.pub"),
        "service-account-signing-key-file" => format!("{pki}/sa.key"),
        "service-cluster-ip-range" => a.service_subnet.trim().to_string(),
        "tls-cert-file" => format!("{pki}/apiserver.crt"),
        "tls-private-key-file" => format!("{pki}/apiserver.key"),
        _ => return None,
    })
}

/// Checks a flag name typed in the editor. `Err` names the value and the rule and, for an
/// unknown flag, the closest known one.
pub fn check_name(name: &str) -> Result<(), String> {
    let n = name.trim();
    if n.is_empty() {
        return Err("Flag name is empty; type a kube-apiserver flag such as audit-log-path".into());
    }
    if n.starts_with('-') {
        return Err(format!(
            "Flag name {n:?}: write it without the leading dashes ({})",
            n.trim_start_matches('-')
        ));
    }
    if n.contains('=') || n.contains(char::is_whitespace) {
        return Err(format!(
            "Flag name {n:?} must not contain '=' or spaces; the value goes in its own column"
        ));
    }
    if !is_known(n) {
        return Err(match suggest(n) {
            Some(s) => format!("{n:?} is not a kube-apiserver flag; did you mean {s}?"),
            None => format!("{n:?} is not a kube-apiserver flag"),
        });
    }
    Ok(())
}

/// Checks a value typed for flag `name` with the rule of the config files and flags
/// ([`crate::config::validate::validate_extra_arg_value`]) for Kubernetes `version`. `Err`
/// names the flag, the value and the rule.
pub fn check_value(name: &str, value: &str, version: &str) -> Result<(), String> {
    crate::config::validate::validate_extra_arg_value(COMPONENT, name.trim(), value, version)
        .map_err(|e| {
            format!(
                "{} {}",
                name.trim(),
                crate::config::validate::value_and_rule(value, &e)
            )
        })
}

/// Refuses an override of a flag kubestrap derives from another answer where kubeadm would
/// break on it ([`crate::config::validate::check_derived_override`]), naming the field to
/// change; overrides that are only warned pass (the list shows them).
pub fn check_derived(name: &str, value: &str, a: &Answers) -> Result<(), String> {
    let Some(derived) = managed_value(name.trim(), a) else {
        return Ok(());
    };
    match crate::config::validate::check_derived_override(name.trim(), value, &derived) {
        Some((true, rule)) => Err(format!(
            "{} {}",
            name.trim(),
            crate::config::validate::value_and_rule(value, &rule)
        )),
        _ => Ok(()),
    }
}

/// Which column of an entry is being edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgCol {
    Name,
    Value,
}

/// An entry being added or edited.
#[derive(Debug, Clone, Default)]
pub struct ArgEdit {
    /// Index of the edited entry; `None` for a new one (appended).
    pub index: Option<usize>,
    pub name: Input,
    pub value: Input,
    pub col: Option<ArgCol>,
    /// The message of the last failed save.
    pub error: Option<String>,
}

impl ArgEdit {
    /// The column being edited (name first).
    pub fn column(&self) -> ArgCol {
        self.col.unwrap_or(ArgCol::Name)
    }
}

/// The editor's state: the selected row and the entry being edited, if any.
#[derive(Debug, Clone, Default)]
pub struct ArgsEditor {
    pub selected: usize,
    pub edit: Option<ArgEdit>,
}

/// Completes a partly typed flag name: the only match, or the longest common prefix of
/// the matches; unchanged when nothing matches.
pub fn complete(prefix: &str) -> String {
    let m = completions(prefix);
    match m.len() {
        0 => prefix.to_string(),
        1 => m[0].to_string(),
        _ => {
            let first = m[0];
            let mut end = first.len();
            for other in &m[1..] {
                end = end.min(
                    first
                        .bytes()
                        .zip(other.bytes())
                        .take_while(|(a, b)| a == b)
                        .count(),
                );
            }
            first[..end].to_string()
        }
    }
}
