//! `upgrade plan [version]` (kubeadm's `cmd/upgrade/plan.go` and
//! `phases/upgrade/compute.go`): the available upgrades among the carried versions, as the
//! text tables, or as kubeadm's `output.kubeadm.k8s.io/v1alpha3` `UpgradePlan` in JSON/YAML.

use serde::Serialize;

use super::policy;
use super::state::ClusterState;
use crate::config::versions::KubeVersion;
use crate::day2::godfmt::tabwrite;

/// One row of a plan (`ComponentUpgradePlan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentUpgradePlan {
    pub name: String,
    pub current_version: String,
    pub new_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub node_name: String,
}

/// One target (`AvailableUpgrade`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvailableUpgrade {
    /// `stable version` or `version in the v1.36 series`.
    pub description: String,
    pub components: Vec<ComponentUpgradePlan>,
}

/// The state of one component config (`ComponentConfigVersionState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentConfigVersionState {
    pub group: String,
    pub current_version: String,
    pub preferred_version: String,
    pub manual_upgrade_required: bool,
}

/// kubeadm's `UpgradePlan` (output.kubeadm.k8s.io/v1alpha3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradePlan {
    pub kind: String,
    pub api_version: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub available_upgrades: Vec<AvailableUpgrade>,
    pub config_versions: Vec<ComponentConfigVersionState>,
}

fn row(name: &str, current: &str, new: &str, node: &str) -> ComponentUpgradePlan {
    ComponentUpgradePlan {
        name: name.into(),
        current_version: current.into(),
        new_version: new.into(),
        node_name: node.into(),
    }
}

/// The rows of an upgrade of `state` to `target` (kubeadm's `genAvailableUpgrade`): kubelets,
/// kube-apiserver, kube-controller-manager, kube-scheduler per node, kube-proxy, CoreDNS and,
/// with `etcd_upgrade` and a local etcd, etcd per node.
pub fn available_upgrade(
    state: &ClusterState,
    target: &KubeVersion,
    description: &str,
    etcd_upgrade: bool,
) -> AvailableUpgrade {
    let info = target.info();
    let new = target.to_string();
    let mut comps = Vec::new();
    let mut kubelets: Vec<(&str, &str)> = state
        .nodes
        .iter()
        .filter(|n| !n.kubelet_version.is_empty())
        .map(|n| (n.kubelet_version.as_str(), n.name.as_str()))
        .collect();
    kubelets.sort();
    for (v, n) in kubelets {
        comps.push(row("kubelet", v, &new, n));
    }
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        let mut tags = state.component_tags.get(c).cloned().unwrap_or_default();
        tags.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        for (node, tag) in tags {
            comps.push(row(c, &tag.replace('_', "+"), &new, &node));
        }
    }
    comps.push(row("kube-proxy", &state.cluster_version, &new, ""));
    let dns_after = info.map(|i| i.coredns).unwrap_or("");
    let dns_before = state.coredns_tag.clone().unwrap_or_default();
    if !dns_before.is_empty() || !dns_after.is_empty() {
        comps.push(row("CoreDNS", &dns_before, dns_after, ""));
    }
    if etcd_upgrade && state.cfg.cluster.etcd.local.is_some() {
        let mut tags = state
            .component_tags
            .get("etcd")
            .cloned()
            .unwrap_or_default();
        tags.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        for (node, tag) in tags {
            comps.push(row("etcd", &tag, info.map(|i| i.etcd).unwrap_or(""), &node));
        }
    }
    AvailableUpgrade {
        description: description.into(),
        components: comps,
    }
}

/// The component configs' states (kubeadm's `componentconfigs.GetVersionStates`): the
/// stored `apiVersion`'s version, the one kubestrap writes, and whether a user-supplied
/// config must be upgraded by hand (its version is not the preferred one).
pub fn config_versions(state: &ClusterState) -> Vec<ComponentConfigVersionState> {
    let one = |group: &str, preferred: &str, c: &Option<super::state::ComponentConfig>| {
        let (current, manual) = match c {
            Some(c) => {
                let v = c
                    .api_version
                    .rsplit_once('/')
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default();
                let manual = c.user.is_some() && !v.is_empty() && v != preferred;
                (v, manual)
            }
            None => (String::new(), false),
        };
        ComponentConfigVersionState {
            group: group.into(),
            current_version: current,
            preferred_version: preferred.into(),
            manual_upgrade_required: manual,
        }
    };
    vec![
        one("kubeproxy.config.k8s.io", "v1alpha1", &state.kube_proxy),
        one("kubelet.config.k8s.io", "v1beta1", &state.kubelet),
    ]
}

/// The plan for `state`: `version` when given (refused by the skew policy's mandatory
/// errors), else every target [`policy::targets`] offers. Returns the plan and the log lines
/// kubeadm prints before it (`[upgrade/versions] ...`).
pub fn compute(
    state: &ClusterState,
    version: Option<&KubeVersion>,
    etcd_upgrade: bool,
) -> Result<(UpgradePlan, Vec<String>), String> {
    let cluster = KubeVersion::parse(&state.cluster_version)
        .map_err(|e| format!("the cluster version: {e}"))?;
    let mut lines = vec![
        "[upgrade] Fetching available versions to upgrade to".to_string(),
        format!("[upgrade/versions] Cluster version: {cluster}"),
        format!(
            "[upgrade/versions] kubestrap carries: {}",
            crate::config::versions::carried_list()
        ),
    ];
    let mut ups = Vec::new();
    match version {
        Some(t) => {
            let kubelets: Vec<String> = state
                .nodes
                .iter()
                .map(|n| n.kubelet_version.clone())
                .collect();
            let e = policy::enforce(&cluster, t, &kubelets);
            if !e.mandatory.is_empty() {
                return Err(format!(
                    "the version argument is invalid due to these fatal errors:\n\n{}",
                    policy::format_errors(&e.mandatory)
                ));
            }
            lines.push(format!("[upgrade/versions] Target version: {t}"));
            if *t != cluster {
                ups.push(available_upgrade(state, t, "version", etcd_upgrade));
            }
        }
        None => {
            for t in policy::targets(&cluster) {
                let description = if t.minor == cluster.minor {
                    format!("version in the v1.{} series", t.minor)
                } else {
                    "stable version".to_string()
                };
                lines.push(format!("[upgrade/versions] Latest {description}: {t}"));
                ups.push(available_upgrade(state, &t, &description, etcd_upgrade));
            }
        }
    }
    if ups.is_empty() {
        lines.push("[upgrade/plan] Awesome, you're up-to-date! Enjoy!".into());
    }
    Ok((
        UpgradePlan {
            kind: "UpgradePlan".into(),
            api_version: "output.kubeadm.k8s.io/v1alpha3".into(),
            available_upgrades: ups,
            config_versions: config_versions(state),
        },
        lines,
    ))
}

/// The Kubernetes version `au` upgrades to (its kube-apiserver rows' target); empty when it
/// has none.
pub fn target_version(au: &AvailableUpgrade) -> String {
    au.components
        .iter()
        .find(|c| c.name == "kube-apiserver")
        .map(|c| c.new_version.clone())
        .unwrap_or_default()
}

/// One of kubeadm's `upgrade plan` tables of `au` (`COMPONENT NODE CURRENT TARGET`, aligned
/// as Go's tabwriter does): the kubelets' when `kubelets`, else the control plane's and the
/// addons'. Shared by `kubestrap upgrade plan` and the wizard's plan screen.
pub fn component_table(au: &AvailableUpgrade, kubelets: bool) -> String {
    let mut t = "COMPONENT\tNODE\tCURRENT\tTARGET\n".to_string();
    for c in au
        .components
        .iter()
        .filter(|c| (c.name == "kubelet") == kubelets)
    {
        t.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            c.name, c.node_name, c.current_version, c.new_version
        ));
    }
    tabwrite(&t, 10, 3)
}

/// What the init wizard offers on a machine that already runs a control plane: the newest
/// upgrade `upgrade plan` would list for the cluster the kubeconfig at `kubeconfig` (read
/// through `host`) reaches, with etcd upgraded as by default. Returns `Ok(None)` when the
/// cluster is up to date. Errors: the kubeconfig cannot be read, the cluster cannot be
/// read, or its version does not parse (kubeadm's `cmd/upgrade/plan.go` over `compute.go`).
pub async fn offer(
    host: &dyn crate::host::Host,
    kubeconfig: &std::path::Path,
) -> Result<Option<AvailableUpgrade>, String> {
    let (client, _) = super::apply::client(host, kubeconfig)
        .await
        .map_err(|e| e.chain())?;
    let state = super::state::load(host, &client).await?;
    let (p, _) = compute(&state, None, true)?;
    Ok(p.available_upgrades.into_iter().last())
}

const SEPARATOR: &str = "_____________________________________________________________________\n\n";

/// kubeadm's `upgradePlanTextPrinter`: per target, the kubelet table, the control-plane table
/// and the command to run; then the component configs' table.
pub fn format_text(plan: &UpgradePlan) -> String {
    let mut out = String::new();
    for au in &plan.available_upgrades {
        let kube = target_version(au);
        out.push_str("Components that must be upgraded manually after you have upgraded the control plane with 'kubestrap upgrade apply':\n");
        out.push_str(&component_table(au, true));
        out.push_str(&format!("\nUpgrade to the latest {}:\n\n", au.description));
        out.push_str(&component_table(au, false));
        out.push_str("\nYou can now apply the upgrade by executing the following command:\n\n");
        out.push_str(&format!("\tkubestrap upgrade apply {kube}\n\n"));
        out.push_str(SEPARATOR);
    }
    if plan.config_versions.is_empty() {
        out.push_str("No information available on component configs.\n");
        return out;
    }
    out.push_str("\nThe table below shows the current state of component configs as understood by this version of kubeadm.\nConfigs that have a \"yes\" mark in the \"MANUAL UPGRADE REQUIRED\" column require manual config upgrade or\nresetting to kubeadm defaults before a successful upgrade can be performed. The version to manually\nupgrade to is denoted in the \"PREFERRED VERSION\" column.\n\n");
    let mut t =
        "API GROUP\tCURRENT VERSION\tPREFERRED VERSION\tMANUAL UPGRADE REQUIRED\n".to_string();
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    for s in &plan.config_versions {
        t.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            s.group,
            dash(&s.current_version),
            dash(&s.preferred_version),
            if s.manual_upgrade_required {
                "yes"
            } else {
                "no"
            }
        ));
    }
    out.push_str(&tabwrite(&t, 10, 3));
    out.push_str(SEPARATOR);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_split_the_kubelets_from_the_control_plane() {
        let au = AvailableUpgrade {
            description: "stable version".into(),
            components: vec![
                row("kubelet", "v1.36.3", "v1.37.2", "node-a"),
                row("kube-apiserver", "v1.36.3", "v1.37.2", "node-a"),
                row("kube-proxy", "v1.36.3", "v1.37.2", ""),
            ],
        };
        assert_eq!(target_version(&au), "v1.37.2");
        assert_eq!(
            component_table(&au, true),
            "COMPONENT   NODE      CURRENT   TARGET\nkubelet     node-a    v1.36.3   v1.37.2\n"
        );
        let cp = component_table(&au, false);
        assert!(
            cp.contains("kube-apiserver   node-a    v1.36.3   v1.37.2\n"),
            "{cp}"
        );
        assert!(!cp.contains("kubelet"), "{cp}");
        // `upgrade plan`'s text is made of the same tables.
        let plan = UpgradePlan {
            kind: "UpgradePlan".into(),
            api_version: "output.kubeadm.k8s.io/v1alpha3".into(),
            available_upgrades: vec![au.clone()],
            config_versions: vec![],
        };
        let text = format_text(&plan);
        assert!(text.contains(&component_table(&au, true)));
        assert!(text.contains(&cp));
        assert!(text.contains("\tkubestrap upgrade apply v1.37.2\n"));
    }
}
