//! Differences between `kubeadm.k8s.io/v1beta3` and v1beta4, applied on the positioned tree
//! when loading (v1beta3 → v1beta4) and on JSON values when exporting (v1beta4 → v1beta3).
//!
//! Mirrors kubeadm's `cmd/kubeadm/app/apis/kubeadm/v1beta3/conversion.go` and the reference's
//! section 6.10: extraArgs maps become lists of `{name, value}` sorted by name then value
//! (lists become maps, later duplicate wins); `discovery.timeout` ↔ `timeouts.discovery`;
//! `apiServer.timeoutForControlPlane` ↔ `timeouts.controlPlaneComponentHealthCheck`.

use serde_json::Value as J;

use super::validate::FieldError;
use super::yaml11::{Entry, Node, NodeKind};

/// extraArgs paths of ClusterConfiguration.
pub const CLUSTER_EXTRA_ARGS: &[&str] = &[
    "apiServer.extraArgs",
    "controllerManager.extraArgs",
    "scheduler.extraArgs",
    "etcd.local.extraArgs",
];
/// extraArgs path of InitConfiguration / JoinConfiguration.
pub const NODE_EXTRA_ARGS: &str = "nodeRegistration.kubeletExtraArgs";

/// Fields that exist only in v1beta4, per kind.
pub fn v1beta4_only(kind: &str) -> &'static [&'static str] {
    match kind {
        "InitConfiguration" | "JoinConfiguration" => {
            &["dryRun", "timeouts", "nodeRegistration.imagePullSerial"]
        }
        "ClusterConfiguration" => &[
            "encryptionAlgorithm",
            "certificateValidityPeriod",
            "caCertificateValidityPeriod",
            "proxy",
            "dns.disabled",
            "apiServer.extraEnvs",
            "controllerManager.extraEnvs",
            "scheduler.extraEnvs",
            "etcd.local.extraEnvs",
            "etcd.external.httpEndpoints",
        ],
        _ => &[],
    }
}

/// Looks up a dotted path in the tree.
pub fn lookup<'a>(root: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(root, |n, k| n.get(k))
}

/// Mutable lookup of a dotted path.
pub fn lookup_mut<'a>(root: &'a mut Node, path: &str) -> Option<&'a mut Node> {
    let mut cur = root;
    for k in path.split('.') {
        cur = cur.get_mut(k)?;
    }
    Some(cur)
}

/// Removes a dotted path, returning its entry.
pub fn remove_path(root: &mut Node, path: &str) -> Option<Entry> {
    match path.rsplit_once('.') {
        Some((parent, key)) => lookup_mut(root, parent)?.remove(key),
        None => root.remove(path),
    }
}

/// Errors for every v1beta4-only field present in an older document.
pub fn reject_newer_fields(root: &Node, kind: &str, api: &str, fields: &[&str]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in fields {
        let (parent, key) = f.rsplit_once('.').unwrap_or(("", f));
        let p = if parent.is_empty() {
            Some(root)
        } else {
            lookup(root, parent)
        };
        if let Some(e) = p
            .and_then(|p| p.as_map())
            .and_then(|m| m.iter().find(|e| e.key == key))
        {
            errs.push(FieldError {
                path: f.to_string(),
                value: e.value.display_value(),
                rule: format!(
                    "is not a field of {kind} in {api} (it exists from kubeadm.k8s.io/v1beta4 on; change the apiVersion or remove it)"
                ),
                line: Some(e.line),
                warning: false,
            });
        }
    }
    errs
}

/// Checks the shape of the extraArgs at `path` for `api` and, for a map (v1beta2/v1beta3),
/// converts it in place to a v1beta4 list sorted by name then value. Returns whether a
/// conversion happened; errors name the field and the shape the apiVersion expects. A map in
/// a v1beta4 file is converted too before the error comes back, so the caller can report it
/// beside the problems of its values.
pub fn convert_extra_args(
    root: &mut Node,
    path: &str,
    api: &str,
    v1beta4: bool,
) -> Result<bool, FieldError> {
    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
    let key_line = if parent.is_empty() {
        Some(&*root)
    } else {
        lookup(root, parent)
    }
    .and_then(|p| p.as_map())
    .and_then(|m| m.iter().find(|e| e.key == key))
    .map(|e| e.line);
    let Some(node) = lookup_mut(root, path) else {
        return Ok(false);
    };
    if node.is_null() {
        return Ok(false);
    }
    let line = key_line.unwrap_or(node.line);
    match (&node.kind, v1beta4) {
        (NodeKind::Seq(_), true) => Ok(false),
        (NodeKind::Map(entries), _) => {
            let shown = node.display_value();
            let mut items: Vec<(String, String, Node)> = Vec::new();
            for e in entries {
                let item = Node {
                    kind: NodeKind::Map(vec![
                        Entry {
                            key: "name".into(),
                            line: e.line,
                            value: Node::quoted(&e.key, e.line),
                        },
                        Entry {
                            key: "value".into(),
                            line: e.line,
                            value: e.value.clone(),
                        },
                    ]),
                    line: e.line,
                };
                items.push((e.key.clone(), e.value.display_value(), item));
            }
            items.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            node.kind = NodeKind::Seq(items.into_iter().map(|i| i.2).collect());
            if !v1beta4 {
                return Ok(true);
            }
            // The v1beta3 shape in a v1beta4 file: converted all the same, so the values are
            // checked in this run, and reported.
            Err(FieldError {
                path: path.to_string(),
                value: shown,
                rule: format!(
                    "{api} expects extraArgs as a list of name/value entries, e.g. \"- name: profiling\\n  value: \\\"false\\\"\" (a map is the v1beta3 shape)"
                ),
                line: Some(line),
                warning: false,
            })
        }
        (_, true) => Err(FieldError {
            path: path.to_string(),
            value: node.display_value(),
            rule: format!(
                "{api} expects extraArgs as a list of name/value entries, e.g. \"- name: profiling\\n  value: \\\"false\\\"\" (a map is the v1beta3 shape)"
            ),
            line: Some(line),
            warning: false,
        }),
        (_, false) => Err(FieldError {
            path: path.to_string(),
            value: node.display_value(),
            rule: format!(
                "{api} expects extraArgs as a map of name: value, e.g. \"profiling: \\\"false\\\"\" (a list of name/value entries is the v1beta4 shape)"
            ),
            line: Some(line),
            warning: false,
        }),
    }
}

/// Moves JoinConfiguration `discovery.timeout` to `timeouts.discovery`. Returns true when moved.
pub fn move_discovery_timeout(root: &mut Node) -> bool {
    let Some(e) = remove_path(root, "discovery.timeout") else {
        return false;
    };
    let line = e.line;
    let timeouts = Node {
        kind: NodeKind::Map(vec![Entry {
            key: "discovery".into(),
            line,
            value: e.value,
        }]),
        line,
    };
    if let Some(m) = root.as_map_mut() {
        m.push(Entry {
            key: "timeouts".into(),
            line,
            value: timeouts,
        });
    }
    true
}

/// Takes ClusterConfiguration `apiServer.timeoutForControlPlane` out of the tree (it becomes
/// `timeouts.controlPlaneComponentHealthCheck` of Init/JoinConfiguration).
pub fn take_control_plane_timeout(root: &mut Node) -> Option<Entry> {
    remove_path(root, "apiServer.timeoutForControlPlane")
}

fn obj_at<'a>(v: &'a mut J, path: &str) -> Option<&'a mut serde_json::Map<String, J>> {
    let mut cur = v;
    for k in path.split('.') {
        cur = cur.as_object_mut()?.get_mut(k)?;
    }
    cur.as_object_mut()
}

fn remove_at(v: &mut J, path: &str) -> Option<J> {
    match path.rsplit_once('.') {
        Some((parent, key)) => obj_at(v, parent)?.remove(key),
        None => v.as_object_mut()?.remove(path),
    }
}

/// Converts a v1beta4 list of `{name, value}` at `path` into a v1beta3 map (later duplicate
/// wins). Returns the names that were dropped as duplicates.
pub fn list_to_map(v: &mut J, path: &str) -> Vec<String> {
    let mut dropped = Vec::new();
    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
    let obj = if parent.is_empty() {
        v.as_object_mut()
    } else {
        obj_at(v, parent)
    };
    let Some(obj) = obj else { return dropped };
    let Some(J::Array(items)) = obj.get(key).cloned() else {
        return dropped;
    };
    let mut m = serde_json::Map::new();
    for it in items {
        let name = it
            .get("name")
            .and_then(J::as_str)
            .unwrap_or_default()
            .to_string();
        let value = it.get("value").cloned().unwrap_or(J::String(String::new()));
        if m.insert(name.clone(), value).is_some() {
            dropped.push(format!(
                "{path}: duplicate {name:?} (v1beta3 keeps the last value)"
            ));
        }
    }
    obj.insert(key.to_string(), J::Object(m));
    dropped
}

/// True when a v1beta4-only value equals what a v1beta3 reader would default it to, so
/// leaving it out of a v1beta3 file loses nothing.
fn is_default_v1beta4_only(field: &str, v: &J) -> bool {
    let defaults = super::defaults::default_timeouts();
    match (field, v) {
        (_, J::Null) | (_, J::Bool(false)) => true,
        (_, J::Array(a)) => a.is_empty(),
        ("nodeRegistration.imagePullSerial", J::Bool(true)) => true,
        ("encryptionAlgorithm", J::String(s)) => s == super::defaults::DEFAULT_ENCRYPTION_ALGORITHM,
        ("certificateValidityPeriod", J::String(s)) => {
            *s == super::defaults::default_cert_validity().to_string()
        }
        ("caCertificateValidityPeriod", J::String(s)) => {
            *s == super::defaults::default_ca_validity().to_string()
        }
        ("timeouts", J::Object(o)) => {
            let want = serde_json::to_value(&defaults).unwrap_or(J::Null);
            o.iter().all(|(k, val)| {
                // These two travel as v1beta3 fields of their own.
                k == "controlPlaneComponentHealthCheck"
                    || k == "discovery"
                    || want.get(k) == Some(val)
            })
        }
        (_, J::Object(o)) => o.values().all(|x| matches!(x, J::Null | J::Bool(false))),
        _ => false,
    }
}

/// Rewrites a v1beta4 JSON document of `kind` into v1beta3 in place. `cp_timeout` receives the
/// InitConfiguration's `timeouts.controlPlaneComponentHealthCheck` for the ClusterConfiguration.
/// Returns warnings for values v1beta3 cannot carry.
pub fn downgrade(v: &mut J, kind: &str, cp_timeout: Option<&J>) -> Vec<String> {
    let mut warnings = Vec::new();
    match kind {
        "ClusterConfiguration" => {
            for p in CLUSTER_EXTRA_ARGS {
                warnings.extend(list_to_map(v, p));
            }
            if let Some(t) = cp_timeout {
                if let Some(api) = obj_at(v, "apiServer") {
                    api.insert("timeoutForControlPlane".into(), t.clone());
                } else if let Some(o) = v.as_object_mut() {
                    let mut api = serde_json::Map::new();
                    api.insert("timeoutForControlPlane".into(), t.clone());
                    o.insert("apiServer".into(), J::Object(api));
                }
            }
        }
        "InitConfiguration" | "JoinConfiguration" => {
            warnings.extend(list_to_map(v, NODE_EXTRA_ARGS));
            if kind == "JoinConfiguration"
                && let Some(t) = v.pointer("/timeouts/discovery").cloned()
                && let Some(d) = obj_at(v, "discovery")
            {
                d.insert("timeout".into(), t);
            }
        }
        _ => {}
    }
    for f in v1beta4_only(kind) {
        let Some(old) = remove_at(v, f) else { continue };
        if !is_default_v1beta4_only(f, &old) {
            warnings.push(format!(
                "{kind}.{f} ({old}) has no v1beta3 equivalent and was left out"
            ));
        }
    }
    warnings
}
