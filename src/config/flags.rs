//! Known command-line flag names of kube-apiserver, kube-controller-manager, kube-scheduler
//! and etcd for the supported Kubernetes versions (union over v1.31–v1.34 and the etcd
//! releases kubeadm pins for them), kept in `assets/flags/*.txt`.
//!
//! A misspelt extraArgs name (`featureGates` for `feature-gates`) makes the component exit at
//! start, which kubeadm only notices after its 4-minute health-check wait; kubestrap stops
//! before writing anything and suggests the closest known flag.

use std::sync::OnceLock;

const RAW: &[(&str, &str)] = &[
    (
        "kube-apiserver",
        include_str!("../../assets/flags/kube-apiserver.txt"),
    ),
    (
        "kube-controller-manager",
        include_str!("../../assets/flags/kube-controller-manager.txt"),
    ),
    (
        "kube-scheduler",
        include_str!("../../assets/flags/kube-scheduler.txt"),
    ),
    ("etcd", include_str!("../../assets/flags/etcd.txt")),
];

/// The components with a flag list.
pub const COMPONENTS: &[&str] = &[
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
];

fn table() -> &'static Vec<(&'static str, Vec<&'static str>)> {
    static T: OnceLock<Vec<(&'static str, Vec<&'static str>)>> = OnceLock::new();
    T.get_or_init(|| {
        RAW.iter()
            .map(|(c, text)| {
                let mut v: Vec<&'static str> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .collect();
                v.sort_unstable();
                v.dedup();
                (*c, v)
            })
            .collect()
    })
}

/// Sorted flag names (without dashes) of `component` (`kube-apiserver`,
/// `kube-controller-manager`, `kube-scheduler`, `etcd`); empty for any other name.
pub fn known_flags(component: &str) -> &'static [&'static str] {
    table()
        .iter()
        .find(|(c, _)| *c == component)
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[])
}

/// The known flag of `component` closest to `name` (after normalising `featureGates` to
/// `feature-gates` style), when one is reasonably close; `None` otherwise.
pub fn suggest(component: &str, name: &str) -> Option<&'static str> {
    let norm = normalize(name);
    let flags = known_flags(component);
    if let Some(f) = flags.iter().find(|f| **f == norm) {
        return Some(f);
    }
    flags
        .iter()
        .map(|f| (strsim::jaro_winkler(f, &norm), *f))
        .filter(|(s, _)| *s >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, f)| f)
}

/// `featureGates` → `feature-gates`, `--v` → `v`, `Feature_Gates` → `feature-gates`.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.trim_start_matches('-').chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            out.push('-');
        } else {
            out.push(c);
        }
    }
    out
}

/// Ok when `name` is a known flag of `component` (or the component has no list); otherwise
/// the rule in words with a suggestion, e.g. `is not a kube-apiserver flag (did you mean feature-gates?)`.
pub fn check_flag(component: &str, name: &str) -> Result<(), String> {
    let flags = known_flags(component);
    if flags.is_empty() || flags.binary_search(&name).is_ok() {
        return Ok(());
    }
    let a = if component.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    if name.starts_with('-') {
        return Err(format!(
            "is not {a} {component} flag: write the name without leading dashes ({})",
            name.trim_start_matches('-')
        ));
    }
    Err(match suggest(component, name) {
        Some(s) => format!("is not {a} {component} flag (did you mean {s}?)"),
        None => format!(
            "is not {a} {component} flag known to kubestrap for Kubernetes {}",
            super::versions::supported_range()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_suggestions() {
        for c in COMPONENTS {
            assert!(known_flags(c).len() > 40, "{c}");
            assert!(known_flags(c).contains(&"feature-gates") || *c == "etcd");
        }
        assert!(known_flags("kubelet").is_empty());
        assert_eq!(
            suggest("kube-apiserver", "featureGates"),
            Some("feature-gates")
        );
        assert_eq!(
            suggest("kube-apiserver", "authorization-mod"),
            Some("authorization-mode")
        );
        assert_eq!(
            suggest("kube-controller-manager", "node-cidr-mask-size-ip4"),
            Some("node-cidr-mask-size-ipv4")
        );
        assert_eq!(suggest("kube-apiserver", "zzzzzz"), None);
        assert!(check_flag("kube-apiserver", "audit-log-path").is_ok());
        assert_eq!(
            check_flag("kube-apiserver", "featureGates").unwrap_err(),
            "is not a kube-apiserver flag (did you mean feature-gates?)"
        );
        assert!(
            check_flag("etcd", "--data-dir")
                .unwrap_err()
                .contains("without leading dashes")
        );
    }
}
