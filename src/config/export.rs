//! Writing configurations as kubeadm.yaml: multi-document YAML in `kubeadm.k8s.io/v1beta4`
//! (default) or `v1beta3`, keys sorted like kubeadm's own output (`kubeadm config print`),
//! every string that YAML 1.1 or 1.2 would read as something else quoted.
//!
//! Invariant (tested with proptest): `load_documents(export_init(c, v, true))` gives back `c`.

use serde::Serialize;
use serde_json::Value as J;

use super::load::ApiVersion;
use super::types::*;
use super::v1beta3;
use super::yaml11::needs_quotes;

fn to_json<T: Serialize>(v: &T) -> J {
    // Serialising plain data structs to JSON values cannot fail (no maps with non-string keys).
    serde_json::to_value(v).unwrap_or(J::Null)
}

fn with_header(mut v: J, api: ApiVersion, kind: &str) -> J {
    if let Some(o) = v.as_object_mut() {
        o.insert("apiVersion".into(), J::String(api.as_str().into()));
        o.insert("kind".into(), J::String(kind.into()));
    }
    v
}

fn strip_tokens(v: &mut J) {
    if let Some(J::Array(ts)) = v.get_mut("bootstrapTokens") {
        for t in ts {
            if let Some(o) = t.as_object_mut() {
                o.remove("token");
            }
        }
    }
}

/// The documents of an init configuration and the warnings about values `api` cannot hold
/// (v1beta3 has no timeouts other than the control-plane one, no duplicate extraArgs, ...).
pub fn export_init_with_warnings(
    cfg: &InitConfig,
    api: ApiVersion,
    with_token: bool,
) -> (String, Vec<String>) {
    let api = if api == ApiVersion::V1beta2 {
        ApiVersion::V1beta3
    } else {
        api
    };
    let mut init = to_json(&cfg.init);
    let mut cluster = to_json(&cfg.cluster);
    if !with_token {
        strip_tokens(&mut init);
    }
    let mut warnings = Vec::new();
    if api == ApiVersion::V1beta3
        && crate::config::versions::minor_of(&cfg.cluster.kubernetes_version) >= 37
    {
        warnings.push(format!(
            "kubeadm v1.37 and newer refuse kubeadm.k8s.io/v1beta3 (\"your configuration file uses an old API spec\"); this file is for kubestrap and kubeadm v1.36 or older, export kubeadm.k8s.io/v1beta4 for kubeadm {}",
            cfg.cluster.kubernetes_version
        ));
    }
    if api == ApiVersion::V1beta3 {
        let cp = init
            .pointer("/timeouts/controlPlaneComponentHealthCheck")
            .cloned();
        warnings.extend(v1beta3::downgrade(&mut init, "InitConfiguration", None));
        warnings.extend(v1beta3::downgrade(
            &mut cluster,
            "ClusterConfiguration",
            cp.as_ref(),
        ));
    }
    let mut docs = vec![
        with_header(init, api, "InitConfiguration"),
        with_header(cluster, api, "ClusterConfiguration"),
    ];
    for v in [&cfg.kubelet, &cfg.kube_proxy].into_iter().flatten() {
        docs.push(to_json(v));
    }
    (emit_documents(&docs), warnings)
}

/// Exports an init configuration (InitConfiguration, ClusterConfiguration, then the
/// KubeletConfiguration / KubeProxyConfiguration kept from the file) as kubeadm.yaml text in
/// `api` (v1beta2 is written as v1beta3). Bootstrap token values are left out unless
/// `with_token`.
pub fn export_init(cfg: &InitConfig, api: ApiVersion, with_token: bool) -> String {
    export_init_with_warnings(cfg, api, with_token).0
}

/// Exports a JoinConfiguration as one YAML document in `api`. Token values (discovery token
/// and TLS bootstrap token) are left out unless `with_token`.
pub fn export_join(cfg: &JoinConfiguration, api: ApiVersion, with_token: bool) -> String {
    let api = if api == ApiVersion::V1beta2 {
        ApiVersion::V1beta3
    } else {
        api
    };
    let mut v = to_json(cfg);
    if !with_token && let Some(d) = v.get_mut("discovery").and_then(J::as_object_mut) {
        d.remove("tlsBootstrapToken");
        if let Some(bt) = d.get_mut("bootstrapToken").and_then(J::as_object_mut) {
            bt.remove("token");
        }
    }
    if api == ApiVersion::V1beta3 {
        v1beta3::downgrade(&mut v, "JoinConfiguration", None);
    }
    emit_documents(&[with_header(v, api, "JoinConfiguration")])
}

/// Exports a ResetConfiguration (v1beta4 only: the kind does not exist in v1beta3).
pub fn export_reset(cfg: &ResetConfiguration) -> String {
    emit_documents(&[with_header(
        to_json(cfg),
        ApiVersion::V1beta4,
        "ResetConfiguration",
    )])
}

/// Joins documents with `---` lines.
pub fn emit_documents(docs: &[J]) -> String {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit_value(d, 0, &mut out);
    }
    out
}

fn scalar(v: &J) -> String {
    match v {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => quote(s),
        J::Array(a) if a.is_empty() => "[]".into(),
        J::Object(o) if o.is_empty() => "{}".into(),
        _ => String::new(),
    }
}

/// A string as a YAML scalar: plain when that reads back as the same string, else
/// double-quoted (JSON escapes are valid YAML).
pub fn quote(s: &str) -> String {
    if needs_quotes(s) {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    } else {
        s.to_string()
    }
}

fn is_block(v: &J) -> bool {
    matches!(v, J::Array(a) if !a.is_empty()) || matches!(v, J::Object(o) if !o.is_empty())
}

/// Block-style YAML of `v` at `indent` spaces (keys sorted; sequences at the key's indent, as
/// go-yaml writes them).
fn emit_value(v: &J, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        J::Object(o) if !o.is_empty() => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            for k in keys {
                let val = &o[k];
                out.push_str(&pad);
                out.push_str(&quote(k));
                out.push(':');
                match val {
                    J::Object(_) if is_block(val) => {
                        out.push('\n');
                        emit_value(val, indent + 2, out);
                    }
                    J::Array(_) if is_block(val) => {
                        out.push('\n');
                        emit_value(val, indent, out);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&scalar(val));
                        out.push('\n');
                    }
                }
            }
        }
        J::Array(a) if !a.is_empty() => {
            for item in a {
                out.push_str(&pad);
                out.push('-');
                if is_block(item) {
                    let mut sub = String::new();
                    emit_value(item, indent + 2, &mut sub);
                    // First line goes after "- ".
                    let trimmed = sub.trim_start_matches(' ');
                    out.push(' ');
                    out.push_str(trimmed);
                } else {
                    out.push(' ');
                    out.push_str(&scalar(item));
                    out.push('\n');
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_sorted_block_yaml_with_quotes() {
        let v: J = serde_json::json!({
            "b": [{"name": "profiling", "value": "false"}, {"name": "v", "value": "2"}],
            "a": {"x": "off", "y": "10.96.0.0/12", "z": []},
            "c": [["n1"], "s"],
            "d": null,
        });
        let s = emit_documents(&[v]);
        assert_eq!(
            s,
            "a:\n  x: \"off\"\n  \"y\": 10.96.0.0/12\n  z: []\nb:\n- name: profiling\n  value: \"false\"\n- name: v\n  value: \"2\"\nc:\n- - n1\n- s\nd: null\n"
        );
        let back: serde_yaml::Value = serde_yaml::from_str(&s).unwrap();
        assert_eq!(back["c"][0][0], serde_yaml::Value::from("n1"));
    }
}
