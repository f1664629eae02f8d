//! Reading `kubeadm.k8s.io/v1beta2` documents (kubeadm v1.15–v1.21 wrote them; many real
//! files still use them). kubeadm itself no longer reads them; kubestrap converts them to
//! v1beta3 on the tree (then [`super::v1beta3`] takes them to v1beta4), with a warning per
//! dropped field. Mirrors the v1beta2 → v1beta3 changes listed in kubeadm's v1beta3 `doc.go`:
//! `ClusterConfiguration.useHyperKubeImage` and `dns.type` removed; `skipPhases`, `patches`
//! and `nodeRegistration.imagePullPolicy` added in v1beta3.

use super::v1beta3::{lookup, remove_path};
use super::validate::FieldError;
use super::yaml11::Node;

/// Fields new in v1beta3 (refused in a v1beta2 document), per kind.
pub fn v1beta3_only(kind: &str) -> &'static [&'static str] {
    match kind {
        "InitConfiguration" | "JoinConfiguration" => {
            &["skipPhases", "patches", "nodeRegistration.imagePullPolicy"]
        }
        _ => &[],
    }
}

/// Drops the v1beta2 fields v1beta3 removed, returning one warning per dropped field and an
/// error for a `dns.type` other than CoreDNS (kube-dns is no longer deployed by kubeadm).
pub fn to_v1beta3(root: &mut Node, kind: &str) -> (Vec<String>, Vec<FieldError>) {
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    if kind != "ClusterConfiguration" {
        return (warnings, errors);
    }
    if let Some(e) = remove_path(root, "useHyperKubeImage") {
        warnings.push(format!(
            "line {}: useHyperKubeImage ({}) was removed in v1beta3 and is ignored",
            e.line,
            e.value.display_value()
        ));
    }
    if let Some(t) = lookup(root, "dns.type").map(|n| (n.display_value(), n.line)) {
        if t.0 != "CoreDNS" && !t.0.is_empty() {
            errors.push(FieldError {
                path: "dns.type".into(),
                value: t.0.clone(),
                rule: "only CoreDNS is deployed since kubeadm v1.18; remove dns.type".into(),
                line: Some(t.1),
                warning: false,
            });
        }
        remove_path(root, "dns.type");
        warnings.push(format!(
            "line {}: dns.type ({}) was removed in v1beta3 and is ignored (CoreDNS is always used)",
            t.1, t.0
        ));
    }
    (warnings, errors)
}
