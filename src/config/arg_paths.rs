//! Paths of extraArgs entries that a file wrote in the v1beta3 (or v1beta2) map form: the
//! loader converts the map to the v1beta4 list, so a rule on an entry would name an index the
//! user never wrote (`apiServer.extraArgs[3].value`); these paths name the key instead
//! (`apiServer.extraArgs["profiling"]`).

use std::collections::BTreeMap;

use super::types::{Arg, InitConfig};
use super::validate::FieldError;

/// Rewrites the paths of `errs` that point into an extraArgs list written as a map (the
/// apiVersion of its kind in `api_versions` is not v1beta4) to name the map key.
pub fn name_map_keys(
    errs: &mut [FieldError],
    cfg: &InitConfig,
    api_versions: &BTreeMap<String, String>,
) {
    let map_form = |kind: &str| {
        api_versions
            .get(kind)
            .is_some_and(|v| v != "kubeadm.k8s.io/v1beta4")
    };
    let c = &cfg.cluster;
    let mut lists: Vec<(&str, &[Arg])> = Vec::new();
    if map_form("ClusterConfiguration") {
        lists.push(("apiServer.extraArgs", &c.api_server.extra_args));
        lists.push((
            "controllerManager.extraArgs",
            &c.controller_manager.extra_args,
        ));
        lists.push(("scheduler.extraArgs", &c.scheduler.extra_args));
        if let Some(l) = &c.etcd.local {
            lists.push(("etcd.local.extraArgs", &l.extra_args));
        }
    }
    if map_form("InitConfiguration") {
        lists.push((
            "nodeRegistration.kubeletExtraArgs",
            &cfg.init.node_registration.kubelet_extra_args,
        ));
    }
    for e in errs.iter_mut() {
        for (prefix, args) in &lists {
            let Some(rest) = e
                .path
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('['))
            else {
                continue;
            };
            let Some((idx, _)) = rest.split_once(']') else {
                continue;
            };
            if let Some(a) = idx.parse::<usize>().ok().and_then(|i| args.get(i)) {
                e.path = format!("{prefix}[{:?}]", a.name);
            }
        }
    }
}
