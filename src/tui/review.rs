//! The review screen's kubeadm.yaml: the v1beta4 documents of a configuration, one line
//! each, next to where the value on that line came from.

use crate::config::load::ApiVersion;
use crate::config::{InitConfig, Source};

/// The kubeadm.yaml text of `cfg`: InitConfiguration, ClusterConfiguration and the
/// KubeletConfiguration / KubeProxyConfiguration documents it carries, separated by `---`,
/// written by the one writer of every export ([`crate::config::export::export_init`], v1beta4:
/// keys sorted as `kubeadm config print` writes them, YAML 1.1 look-alikes such as `off`
/// quoted). Bootstrap token secrets are left out (kubestrap generates them at run time).
pub fn kubeadm_yaml(cfg: &InitConfig) -> String {
    crate::config::export::export_init(cfg, ApiVersion::V1beta4, false)
}

/// Words for a [`Source`].
pub fn source_word(s: &Source) -> String {
    match s {
        Source::Default => "default".into(),
        Source::Detected => "detected".into(),
        Source::File { line } => format!("file line {line}"),
        Source::Flag => "flag".into(),
        Source::Typed => "typed".into(),
    }
}

/// The lines of [`kubeadm_yaml`] with the source of the value on each line (empty when the
/// line holds no value or the source is unknown). Keys are looked up as `a.b.c` paths
/// without the document, like [`InitConfig::sources`] holds them; a list item gets its
/// parent's source.
pub fn annotated_yaml(cfg: &InitConfig) -> Vec<(String, String)> {
    let text = kubeadm_yaml(cfg);
    let mut stack: Vec<(usize, String)> = vec![];
    let mut out = vec![];
    for line in text.lines() {
        if line == "---" {
            stack.clear();
            out.push((line.to_string(), String::new()));
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start().trim_start_matches("- ");
        let mut src = String::new();
        // the writer puts a list's items at its key's indentation (as go-yaml)
        let item = line.trim_start().starts_with("- ");
        while stack
            .last()
            .is_some_and(|(i, _)| *i > indent || (*i == indent && !item))
        {
            stack.pop();
        }
        if let Some((key, rest)) = body.split_once(':').filter(|(k, _)| !k.contains(' ')) {
            let mut path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
            path.push(key);
            let full = path.join(".");
            if !rest.trim().is_empty() {
                src = lookup(cfg, &full);
            } else {
                stack.push((indent, key.to_string()));
                if line.trim_start().starts_with("- ") {
                    // a list of mappings: keep the list key, not the item
                    stack.pop();
                }
            }
            if src.is_empty() && rest.trim().is_empty() {
                src = lookup(cfg, &full);
            }
        } else if line.trim_start().starts_with("- ") {
            let path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
            src = lookup(cfg, &path.join("."));
        }
        out.push((line.to_string(), src));
    }
    out
}

fn lookup(cfg: &InitConfig, path: &str) -> String {
    let mut p = path;
    loop {
        if let Some(s) = cfg.sources.get(p) {
            return source_word(s);
        }
        match p.rsplit_once('.') {
            Some((parent, _)) => p = parent,
            None => return String::new(),
        }
    }
}
