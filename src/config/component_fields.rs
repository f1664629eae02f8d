//! The fields of the component configs kubestrap carries verbatim (KubeletConfiguration
//! `kubelet.config.k8s.io/v1beta1`, KubeProxyConfiguration `kubeproxy.config.k8s.io/v1alpha1`)
//! for each carried Kubernetes version, and the unknown-field rule on those documents (issue
//! 12, item 5): a misspelt field (`cgroupdriver`) would otherwise be dropped by the component
//! and the user's value lost.
//!
//! The lists in `assets/component-fields/` are generated from the Go types by
//! `scripts/gen-component-fields.sh` (one dotted json path per line; a field with fields
//! below it is a struct, any other is a leaf whose value is not looked into: maps, lists of
//! scalars, durations, quantities).

use std::collections::BTreeSet;

use super::validate::FieldError;
use super::yaml11::{Node, NodeKind};

/// `(component, minor, list)` for every carried version.
const LISTS: &[(&str, u32, &str)] = &[
    (
        "KubeletConfiguration",
        34,
        include_str!("../../assets/component-fields/kubelet-v1.34.txt"),
    ),
    (
        "KubeletConfiguration",
        35,
        include_str!("../../assets/component-fields/kubelet-v1.35.txt"),
    ),
    (
        "KubeletConfiguration",
        36,
        include_str!("../../assets/component-fields/kubelet-v1.36.txt"),
    ),
    (
        "KubeletConfiguration",
        37,
        include_str!("../../assets/component-fields/kubelet-v1.37.txt"),
    ),
    (
        "KubeProxyConfiguration",
        34,
        include_str!("../../assets/component-fields/kube-proxy-v1.34.txt"),
    ),
    (
        "KubeProxyConfiguration",
        35,
        include_str!("../../assets/component-fields/kube-proxy-v1.35.txt"),
    ),
    (
        "KubeProxyConfiguration",
        36,
        include_str!("../../assets/component-fields/kube-proxy-v1.36.txt"),
    ),
    (
        "KubeProxyConfiguration",
        37,
        include_str!("../../assets/component-fields/kube-proxy-v1.37.txt"),
    ),
];

/// The dotted field paths of `kind` (`KubeletConfiguration` or `KubeProxyConfiguration`) in
/// Kubernetes v1.`minor`; the newest carried list when `minor` is not carried; `None` for
/// another kind.
pub fn fields(kind: &str, minor: u32) -> Option<BTreeSet<&'static str>> {
    let of_kind: Vec<&(&str, u32, &str)> = LISTS.iter().filter(|(k, _, _)| *k == kind).collect();
    let (_, _, text) = of_kind
        .iter()
        .find(|(_, m, _)| *m == minor)
        .or_else(|| of_kind.last())?;
    Some(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect(),
    )
}

/// The unknown fields of a component config document (the whole mapping, `apiVersion` and
/// `kind` included) for Kubernetes v1.`minor`, each an error naming the kind and the field
/// path, the value, the closest known field and the line.
pub fn check_document(kind: &str, root: &Node, minor: u32) -> Vec<FieldError> {
    let Some(known) = fields(kind, minor) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(kind, &known, root, "", minor, &mut out);
    out
}

fn walk(
    kind: &str,
    known: &BTreeSet<&'static str>,
    node: &Node,
    prefix: &str,
    minor: u32,
    out: &mut Vec<FieldError>,
) {
    match &node.kind {
        NodeKind::Seq(items) => {
            for i in items {
                walk(kind, known, i, prefix, minor, out);
            }
        }
        NodeKind::Map(entries) => {
            for e in entries {
                let path = format!("{prefix}{}", e.key);
                if known.contains(path.as_str()) {
                    let below = format!("{path}.");
                    if known.iter().any(|k| k.starts_with(&below)) {
                        walk(kind, known, &e.value, &below, minor, out);
                    }
                    continue;
                }
                let siblings: Vec<&str> = known
                    .iter()
                    .filter_map(|k| k.strip_prefix(prefix))
                    .filter(|k| !k.contains('.'))
                    .collect();
                let best = siblings
                    .iter()
                    .find(|s| s.eq_ignore_ascii_case(&e.key))
                    .copied()
                    .or_else(|| {
                        siblings
                            .iter()
                            .map(|f| (strsim::jaro_winkler(f, &e.key), *f))
                            .filter(|(s, _)| *s > 0.8)
                            .max_by(|a, b| a.0.total_cmp(&b.0))
                            .map(|(_, f)| f)
                    });
                let rule = match best {
                    Some(f) => format!(
                        "unknown field of {kind} in Kubernetes v1.{minor} (did you mean {f}?); the component would drop it"
                    ),
                    None if siblings.len() <= 12 => format!(
                        "unknown field of {kind} in Kubernetes v1.{minor}; the component would drop it (known here: {})",
                        siblings.join(", ")
                    ),
                    None => format!(
                        "unknown field of {kind} in Kubernetes v1.{minor}; the component would drop it (see the {kind} reference for its fields)"
                    ),
                };
                out.push(FieldError {
                    path: format!("{kind}.{path}"),
                    value: e.value.display_value(),
                    rule,
                    line: Some(e.line),
                    warning: false,
                });
            }
        }
        NodeKind::Scalar { .. } => {}
    }
}

/// The unknown-field errors of the component configs `docs` (kind, document root) of one
/// file, for the Kubernetes version of its ClusterConfiguration (`kubernetes_version`, the
/// default version when empty or not a version).
pub fn check_loaded(docs: &[(String, Node)], kubernetes_version: Option<&str>) -> Vec<FieldError> {
    let v = kubernetes_version
        .filter(|v| !v.is_empty())
        .map(super::validate::normalize_kubernetes_version)
        .unwrap_or_else(super::versions::default_version);
    let minor = super::versions::minor_of(&v);
    docs.iter()
        .flat_map(|(kind, root)| check_document(kind, root, minor))
        .collect()
}
