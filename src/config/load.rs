//! Loading kubeadm configuration files: one or more `---` documents of InitConfiguration,
//! ClusterConfiguration, JoinConfiguration, ResetConfiguration (`kubeadm.k8s.io/v1beta4`,
//! `v1beta3`, `v1beta2`), plus KubeletConfiguration / KubeProxyConfiguration kept verbatim.
//!
//! Mirrors `cmd/kubeadm/app/util/config/common.go` (`SplitConfigDocuments`,
//! `validateKnownGVKs`) but is stricter: unknown fields, duplicate keys, YAML 1.1 booleans in
//! string fields and extraArgs in the wrong shape are errors naming the field path and line.

use std::collections::BTreeMap;
use std::fmt;

use super::GoDuration;
use super::de::{DeState, from_node};
use super::types::*;
use super::validate::FieldError;
use super::yaml11::{self, Node, NodeKind};
use super::{v1beta2, v1beta3};

/// The kubeadm config API versions kubestrap reads (and, for v1beta3/v1beta4, writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiVersion {
    V1beta2,
    V1beta3,
    V1beta4,
}

impl ApiVersion {
    /// `kubeadm.k8s.io/v1beta4` etc.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1beta2 => "kubeadm.k8s.io/v1beta2",
            ApiVersion::V1beta3 => "kubeadm.k8s.io/v1beta3",
            ApiVersion::V1beta4 => "kubeadm.k8s.io/v1beta4",
        }
    }
}

impl From<crate::cli::ApiVersionArg> for ApiVersion {
    fn from(a: crate::cli::ApiVersionArg) -> Self {
        match a {
            crate::cli::ApiVersionArg::V1beta3 => ApiVersion::V1beta3,
            crate::cli::ApiVersionArg::V1beta4 => ApiVersion::V1beta4,
        }
    }
}

/// KubeletConfiguration's apiVersion.
pub const KUBELET_API: &str = "kubelet.config.k8s.io/v1beta1";
/// KubeProxyConfiguration's apiVersion.
pub const KUBE_PROXY_API: &str = "kubeproxy.config.k8s.io/v1alpha1";

/// The documents of one file, converted to the internal (v1beta4) types, not yet defaulted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Loaded {
    pub init: Option<InitConfiguration>,
    pub cluster: Option<ClusterConfiguration>,
    pub join: Option<JoinConfiguration>,
    pub reset: Option<ResetConfiguration>,
    /// KubeletConfiguration document, verbatim (YAML 1.1 scalar meaning).
    pub kubelet: Option<serde_yaml::Value>,
    /// KubeProxyConfiguration document, verbatim.
    pub kube_proxy: Option<serde_yaml::Value>,
    /// Kind → the apiVersion it was written in.
    pub api_versions: BTreeMap<String, String>,
    /// Kind → line of its document's `kind:` key.
    pub kind_lines: BTreeMap<String, usize>,
    /// Field path (relative to its kind, e.g. `networking.podSubnet`) → 1-based line.
    pub lines: BTreeMap<String, usize>,
    /// Deprecations, conversions and skipped documents, one message each.
    pub warnings: Vec<String>,
}

/// Every problem found in a configuration (errors and, where useful, warnings), with the
/// name of the file they come from. Display prints one problem per line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigErrors {
    /// File name (empty for values from flags and defaults), prefixed to each line when not empty.
    pub source: String,
    pub errors: Vec<FieldError>,
}

impl ConfigErrors {
    /// Wraps a list of problems from `source`.
    pub fn new(source: &str, errors: Vec<FieldError>) -> Self {
        ConfigErrors {
            source: source.to_string(),
            errors,
        }
    }

    /// Number of problems that are errors (not warnings).
    pub fn error_count(&self) -> usize {
        self.errors.iter().filter(|e| !e.warning).count()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if !self.source.is_empty() {
                write!(f, "{}: ", self.source)?;
            }
            if e.warning {
                write!(f, "warning: ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

fn doc_err(path: &str, value: &str, rule: impl Into<String>, line: usize) -> FieldError {
    FieldError {
        path: path.to_string(),
        value: value.to_string(),
        rule: rule.into(),
        line: Some(line),
        warning: false,
    }
}

const ACCEPTED: &str = "kubeadm.k8s.io/v1beta4 (or v1beta3, v1beta2) InitConfiguration, ClusterConfiguration, JoinConfiguration, ResetConfiguration (v1beta4); kubelet.config.k8s.io/v1beta1 KubeletConfiguration; kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration";

/// Loads every document of `text` (named `source_name` in messages). Collects all problems
/// of all documents; returns them together as [`ConfigErrors`]. Never panics on any input.
pub fn load_documents(text: &str, source_name: &str) -> Result<Loaded, ConfigErrors> {
    let mut later = Vec::new();
    match load_inner(text, source_name, &mut later) {
        Ok(l) if later.is_empty() => Ok(l),
        Ok(_) => Err(ConfigErrors::new(source_name, later)),
        Err(mut e) => {
            e.errors.extend(later);
            Err(e)
        }
    }
}

/// Like [`load_documents`], but the problems of single fields do not stop the load: unknown
/// fields (of kubeadm documents and of KubeletConfiguration / KubeProxyConfiguration), YAML
/// 1.1 booleans and nulls in string fields, and values of the wrong type come back beside the
/// documents (a bad value is left out, a YAML 1.1 look-alike read as the string it spells),
/// so a caller that goes on to validate reports them with every other problem of the file in
/// one run ([`merge_problems`]). Problems of a file's shape (YAML syntax, apiVersion, kind)
/// still fail. The caller must report the returned problems.
pub fn load_documents_and_component_errors(
    text: &str,
    source_name: &str,
) -> Result<(Loaded, Vec<FieldError>), ConfigErrors> {
    let mut later = Vec::new();
    match load_inner(text, source_name, &mut later) {
        Ok(l) => Ok((l, later)),
        Err(mut e) => {
            e.errors.extend(later);
            Err(e)
        }
    }
}

/// Adds the loader's problems of single fields (`loader`, from
/// [`load_documents_and_component_errors`]) to the validation problems of the same file:
/// a validation problem of a field the loader already reported goes (its value was left out
/// or read differently), and the result is in file-line order.
pub fn merge_problems(validation: &mut Vec<FieldError>, loader: Vec<FieldError>) {
    let covered = |p: &str| {
        loader.iter().any(|l| {
            !l.path.is_empty()
                && (p == l.path
                    || p.strip_prefix(l.path.as_str())
                        .is_some_and(|rest| rest.starts_with(['.', '['])))
        })
    };
    validation.retain(|e| !covered(&e.path));
    validation.extend(loader);
    validation.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
}

/// How many bad values of one document the loader steps over before it gives up on it.
const MAX_FIELD_FIXES: usize = 64;

/// Decodes one document, stepping over bad values: a YAML 1.1 look-alike in a plain scalar is
/// read again as the string it spells, any other bad value is left out. Every problem goes to
/// `problems`; the field lines of the last pass go to `lines`. `None` when the document cannot
/// be decoded even so (a problem without a field path, or too many).
fn decode_lenient<T: serde::de::DeserializeOwned>(
    root: &mut Node,
    problems: &mut Vec<FieldError>,
    lines: &mut BTreeMap<String, usize>,
) -> Option<T> {
    let mut requoted: Vec<String> = Vec::new();
    for _ in 0..MAX_FIELD_FIXES {
        let state = DeState::default();
        let res = from_node::<T>(root, "", &state);
        let unknown = state.unknown.into_inner();
        match res {
            Ok(v) => {
                problems.extend(unknown);
                for (k, l) in state.lines.into_inner() {
                    lines.entry(k).or_insert(l);
                }
                return Some(v);
            }
            Err(e) => {
                let mut e = e.0;
                bool_flag_hint(root, &mut e);
                let path = e.path.clone();
                if !problems.contains(&e) {
                    problems.push(e);
                }
                let fixed = !path.is_empty() && step_over(root, &path, &mut requoted);
                if !fixed {
                    problems.extend(unknown);
                    return None;
                }
            }
        }
    }
    None
}

/// The component whose flags the extraArgs list at `list` (a field path) holds.
fn extra_args_component(list: &str) -> Option<&'static str> {
    match list {
        "apiServer.extraArgs" => Some("kube-apiserver"),
        "controllerManager.extraArgs" => Some("kube-controller-manager"),
        "scheduler.extraArgs" => Some("kube-scheduler"),
        _ => None,
    }
}

/// For a YAML 1.1 boolean (`off`, `yes`, …) given as the value of an extraArgs entry whose flag
/// is a boolean (`config::flags::flag_type`), the hint "quote it ("off")" would lead to the
/// next error (the component's flag parser takes true or false only): the hint becomes the
/// value to write, `"false"` or `"true"`.
fn bool_flag_hint(root: &Node, e: &mut FieldError) {
    let Some((entry, "value")) = e.path.rsplit_once('.') else {
        return;
    };
    let Some((list, _)) = entry.rsplit_once('[') else {
        return;
    };
    let Some(component) = extra_args_component(list) else {
        return;
    };
    let (Some(value), Some(name)) = (
        node_at(root, &e.path),
        node_at(root, &format!("{entry}.name")).and_then(|n| n.scalar()),
    ) else {
        return;
    };
    let Some(yaml11::Resolved::Bool(b)) = value.resolved() else {
        return;
    };
    if super::flags::flag_type(component, name) != Some("") {
        return;
    }
    if let Some((before, _)) = e.rule.split_once("quote it (") {
        e.rule = format!(
            "{before}write \"{b}\" (--{name} is a boolean flag of {component}: it takes true or false)"
        );
    }
}

/// The node at field `path` (`a.b[0].c`) of `root`.
fn node_at<'a>(root: &'a Node, path: &str) -> Option<&'a Node> {
    let mut node = root;
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            node = node.get(key)?;
        }
        while let Some(r) = rest.strip_prefix('[') {
            let (n, after) = r.split_once(']')?;
            let n: usize = n.parse().ok()?;
            node = match &node.kind {
                NodeKind::Seq(items) => items.get(n)?,
                _ => return None,
            };
            rest = after;
        }
    }
    Some(node)
}

/// Steps over the bad value at field `path` (`a.b[0].c`) of `root`: a plain scalar not yet
/// re-read becomes a quoted one (the string it spells); otherwise the entry or item goes.
/// False when the path is not found.
fn step_over(root: &mut Node, path: &str, requoted: &mut Vec<String>) -> bool {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let Some((n, after)) = r.split_once(']') else {
                return false;
            };
            let Ok(n) = n.parse::<usize>() else {
                return false;
            };
            steps.push(Step::Index(n));
            rest = after;
        }
    }
    let Some(last) = steps.pop() else {
        return false;
    };
    let mut node = root;
    for s in &steps {
        match child_mut(node, s) {
            Some(n) => node = n,
            None => return false,
        }
    }
    let target = child_mut(node, &last);
    let Some(target) = target else {
        return false;
    };
    if let NodeKind::Scalar { value, plain: true } = &target.kind
        && !requoted.iter().any(|p| p == path)
    {
        *target = Node::quoted(&value.clone(), target.line);
        requoted.push(path.to_string());
        return true;
    }
    match (&last, &mut node.kind) {
        (Step::Key(k), _) => node.remove(k).is_some(),
        (Step::Index(i), NodeKind::Seq(items)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

/// One step of a field path: a mapping key or a sequence index.
enum Step {
    Key(String),
    Index(usize),
}

fn child_mut<'a>(node: &'a mut Node, s: &Step) -> Option<&'a mut Node> {
    match s {
        Step::Key(k) => node.get_mut(k),
        Step::Index(i) => match &mut node.kind {
            NodeKind::Seq(items) => items.get_mut(*i),
            _ => None,
        },
    }
}

/// Loads the documents; problems of single fields (unknown fields, type errors, YAML 1.1
/// look-alikes, component-config fields) go to `later`, problems of the file's shape fail.
fn load_inner(
    text: &str,
    source_name: &str,
    later: &mut Vec<FieldError>,
) -> Result<Loaded, ConfigErrors> {
    let fail = |errs: Vec<FieldError>| ConfigErrors::new(source_name, errs);
    let docs = yaml11::split_documents(text)
        .map_err(|e| fail(vec![doc_err("(yaml)", "", e.message, e.line)]))?;
    let mut out = Loaded::default();
    let mut errors: Vec<FieldError> = Vec::new();
    let mut cp_timeout: Option<(Node, usize)> = None;
    let mut components: Vec<(String, Node)> = Vec::new();
    for d in docs {
        let mut root = match yaml11::parse_document(&d.text, d.first_line) {
            Ok(Some(n)) => n,
            Ok(None) => continue,
            Err(e) => {
                errors.push(doc_err("(yaml)", "", e.message, e.line));
                continue;
            }
        };
        if root.is_null() {
            continue;
        }
        if root.as_map().is_none() {
            errors.push(doc_err(
                "(document)",
                &root.display_value(),
                "a document must be a mapping with apiVersion and kind",
                root.line,
            ));
            continue;
        }
        let api = root.remove("apiVersion");
        let kind = root.remove("kind");
        let (api, kind) = match (api, kind) {
            (Some(a), Some(k)) => (a, k),
            (a, k) => {
                let missing = match (a.is_some(), k.is_some()) {
                    (false, false) => "apiVersion and kind",
                    (false, true) => "apiVersion",
                    _ => "kind",
                };
                errors.push(doc_err(
                    if a.is_none() { "apiVersion" } else { "kind" },
                    "",
                    format!("the document starting at line {} has no {missing}; every document needs both", d.first_line),
                    root.line,
                ));
                continue;
            }
        };
        let (Some(api_s), Some(kind_s)) = (api.value.scalar(), kind.value.scalar()) else {
            errors.push(doc_err(
                "kind",
                "",
                "apiVersion and kind must be strings",
                kind.line,
            ));
            continue;
        };
        let (api_s, kind_s, kind_line) = (api_s.to_string(), kind_s.to_string(), kind.line);
        // Component configs are kept verbatim.
        match (api_s.as_str(), kind_s.as_str()) {
            (KUBELET_API, "KubeletConfiguration") | (KUBE_PROXY_API, "KubeProxyConfiguration") => {
                if let Some(prev) = out.kind_lines.get(&kind_s) {
                    errors.push(doc_err(
                        "kind",
                        &kind_s,
                        format!(
                            "{kind_s} appears twice (first at line {prev}); give each kind once"
                        ),
                        kind_line,
                    ));
                    continue;
                }
                components.push((kind_s.clone(), root.clone()));
                let mut v = root.to_value();
                if let serde_yaml::Value::Mapping(m) = &mut v {
                    m.insert("apiVersion".into(), api_s.clone().into());
                    m.insert("kind".into(), kind_s.clone().into());
                }
                if kind_s == "KubeletConfiguration" {
                    out.kubelet = Some(v);
                } else {
                    out.kube_proxy = Some(v);
                }
                out.kind_lines.insert(kind_s.clone(), kind_line);
                out.api_versions.insert(kind_s, api_s);
                continue;
            }
            (_, "KubeletConfiguration") | (_, "KubeProxyConfiguration") => {
                let want = if kind_s == "KubeletConfiguration" {
                    KUBELET_API
                } else {
                    KUBE_PROXY_API
                };
                errors.push(doc_err(
                    "apiVersion",
                    &api_s,
                    format!("{kind_s} must use apiVersion {want}"),
                    api.line,
                ));
                continue;
            }
            _ => {}
        }
        let version = match api_s.as_str() {
            "kubeadm.k8s.io/v1beta4" => ApiVersion::V1beta4,
            "kubeadm.k8s.io/v1beta3" => ApiVersion::V1beta3,
            "kubeadm.k8s.io/v1beta2" => ApiVersion::V1beta2,
            old @ ("kubeadm.k8s.io/v1beta1"
            | "kubeadm.k8s.io/v1alpha3"
            | "kubeadm.k8s.io/v1alpha2"
            | "kubeadm.k8s.io/v1alpha1") => {
                let release = match old {
                    "kubeadm.k8s.io/v1beta1" => "v1.15 to v1.16",
                    "kubeadm.k8s.io/v1alpha3" => "v1.13 to v1.14",
                    "kubeadm.k8s.io/v1alpha2" => "v1.12",
                    _ => "v1.11",
                };
                errors.push(doc_err("apiVersion", old, format!(
                    "{kind_s} in {old} is no longer supported; convert it with kubeadm {release} (`kubeadm config migrate --old-config old.yaml --new-config new.yaml`), then with `kubestrap config migrate`"
                ), api.line));
                continue;
            }
            "kubeadm.k8s.io/v1" => {
                // kubeadm v1.37's experimental API (v1beta4 plus Arg.mergeMethod), which its
                // init and join refuse (cmd/kubeadm/app/util/config/common.go).
                errors.push(doc_err(
                    "apiVersion",
                    "kubeadm.k8s.io/v1",
                    format!("{kind_s} in kubeadm.k8s.io/v1 is an experimental API that kubeadm init and join refuse; use kubeadm.k8s.io/v1beta4"),
                    api.line,
                ));
                continue;
            }
            other => {
                errors.push(doc_err(
                    "apiVersion",
                    other,
                    format!("unknown apiVersion/kind {other} {kind_s}; accepted: {ACCEPTED}"),
                    api.line,
                ));
                continue;
            }
        };
        let known_kinds: &[&str] = match version {
            ApiVersion::V1beta4 => &[
                "InitConfiguration",
                "ClusterConfiguration",
                "JoinConfiguration",
                "ResetConfiguration",
            ],
            _ => &[
                "InitConfiguration",
                "ClusterConfiguration",
                "JoinConfiguration",
            ],
        };
        if !known_kinds.contains(&kind_s.as_str()) {
            if (version == ApiVersion::V1beta4 && kind_s == "UpgradeConfiguration")
                || (version == ApiVersion::V1beta2 && kind_s == "ClusterStatus")
            {
                out.warnings.push(format!(
                    "line {kind_line}: {kind_s} is not used by kubestrap; the document is skipped"
                ));
                continue;
            }
            errors.push(doc_err(
                "kind",
                &kind_s,
                format!(
                    "unknown kind for {api_s}; accepted kinds: {}",
                    known_kinds.join(", ")
                ),
                kind_line,
            ));
            continue;
        }
        if let Some(prev) = out.kind_lines.get(&kind_s) {
            errors.push(doc_err(
                "kind",
                &kind_s,
                format!("{kind_s} appears twice (first at line {prev}); give each kind once"),
                kind_line,
            ));
            continue;
        }
        out.kind_lines.insert(kind_s.clone(), kind_line);
        out.api_versions.insert(kind_s.clone(), api_s.clone());

        // Version conversions on the tree.
        let mut doc_errors = Vec::new();
        if version == ApiVersion::V1beta2 {
            let (w, e) = v1beta2::to_v1beta3(&mut root, &kind_s);
            out.warnings.extend(w);
            doc_errors.extend(e);
            doc_errors.extend(
                v1beta3::reject_newer_fields(
                    &root,
                    &kind_s,
                    &api_s,
                    v1beta2::v1beta3_only(&kind_s),
                )
                .into_iter()
                .map(|mut e| {
                    e.rule = e
                        .rule
                        .replace("kubeadm.k8s.io/v1beta4", "kubeadm.k8s.io/v1beta3");
                    e
                }),
            );
        }
        if version != ApiVersion::V1beta4 {
            out.warnings.push(format!(
                "line {}: {api_s} is deprecated; `kubestrap config migrate --old-config FILE` writes kubeadm.k8s.io/v1beta4",
                api.line
            ));
            doc_errors.extend(v1beta3::reject_newer_fields(
                &root,
                &kind_s,
                &api_s,
                v1beta3::v1beta4_only(&kind_s),
            ));
        }
        let mut shape_errors = Vec::new();
        let arg_paths: Vec<&str> = if kind_s == "ClusterConfiguration" {
            v1beta3::CLUSTER_EXTRA_ARGS.to_vec()
        } else {
            vec![v1beta3::NODE_EXTRA_ARGS]
        };
        for p in arg_paths {
            match v1beta3::convert_extra_args(&mut root, p, &api_s, version == ApiVersion::V1beta4)
            {
                Ok(true) if version == ApiVersion::V1beta2 => out.warnings.push(format!(
                    "{p}: converted from a {} map to a v1beta4 list (sorted by name)",
                    api_s
                )),
                Ok(_) => {}
                // A problem of this field only: the document is still decoded (a map in a
                // v1beta4 file was converted, another shape is stepped over by the decoder)
                // and its other problems reported in the same run.
                Err(e) => shape_errors.push(e),
            }
        }
        if version != ApiVersion::V1beta4 {
            if kind_s == "JoinConfiguration"
                && v1beta3::move_discovery_timeout(&mut root)
                && version == ApiVersion::V1beta2
            {
                out.warnings
                    .push("discovery.timeout: moved to timeouts.discovery (v1beta4)".into());
            }
            if kind_s == "ClusterConfiguration"
                && let Some(e) = v1beta3::take_control_plane_timeout(&mut root)
            {
                if version == ApiVersion::V1beta2 {
                    out.warnings.push("apiServer.timeoutForControlPlane: moved to timeouts.controlPlaneComponentHealthCheck (v1beta4)".into());
                }
                cp_timeout = Some((e.value, e.line));
            }
        }
        if !doc_errors.is_empty() {
            errors.extend(doc_errors);
            errors.extend(shape_errors);
            continue;
        }
        later.extend(shape_errors);
        // Bad values of single fields are stepped over (and reported) so that the rest of
        // the document is still decoded and validated in the same run.
        let mut problems = Vec::new();
        let decoded = match kind_s.as_str() {
            "InitConfiguration" => {
                out.init = decode_lenient(&mut root, &mut problems, &mut out.lines);
                out.init.is_some()
            }
            "ClusterConfiguration" => {
                out.cluster = decode_lenient(&mut root, &mut problems, &mut out.lines);
                out.cluster.is_some()
            }
            "JoinConfiguration" => {
                out.join = decode_lenient(&mut root, &mut problems, &mut out.lines);
                out.join.is_some()
            }
            _ => {
                out.reset = decode_lenient(&mut root, &mut problems, &mut out.lines);
                out.reset.is_some()
            }
        };
        if decoded {
            later.extend(problems);
        } else {
            errors.extend(problems);
        }
    }
    if let Some((node, line)) = cp_timeout {
        let state = DeState::default();
        match from_node::<Option<GoDuration>>(&node, "apiServer.timeoutForControlPlane", &state) {
            Ok(Some(d)) => {
                out.lines
                    .insert("timeouts.controlPlaneComponentHealthCheck".into(), line);
                for t in [
                    out.init.as_mut().map(|i| &mut i.timeouts),
                    out.join.as_mut().map(|j| &mut j.timeouts),
                ]
                .into_iter()
                .flatten()
                {
                    t.get_or_insert_with(Timeouts::default)
                        .control_plane_component_health_check = Some(d);
                }
                if out.init.is_none() && out.join.is_none() {
                    out.init = Some(InitConfiguration {
                        timeouts: Some(Timeouts {
                            control_plane_component_health_check: Some(d),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
            }
            Ok(None) => {}
            Err(e) => errors.push(e.0),
        }
    }
    if let Some(c) = out.cluster.as_mut() {
        for s in c
            .api_server
            .cert_sans
            .iter_mut()
            .chain(c.etcd.local.iter_mut().flat_map(|l| {
                l.server_cert_sans
                    .iter_mut()
                    .chain(l.peer_cert_sans.iter_mut())
            }))
        {
            *s = s.to_lowercase();
        }
    }
    later.extend(super::component_fields::check_loaded(
        &components,
        out.cluster.as_ref().map(|c| c.kubernetes_version.as_str()),
    ));
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(fail(errors))
    }
}

/// Loads `text` and returns the single node tree of its first document (used by tests and
/// the fuzz target to reach the YAML layer alone).
pub fn parse_tree(text: &str) -> Result<Option<Node>, String> {
    let docs =
        yaml11::split_documents(text).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    for d in docs {
        if let Some(n) = yaml11::parse_document(&d.text, d.first_line)
            .map_err(|e| format!("line {}: {}", e.line, e.message))?
            && (!matches!(n.kind, NodeKind::Scalar { .. }) || !n.is_null())
        {
            return Ok(Some(n));
        }
    }
    Ok(None)
}
