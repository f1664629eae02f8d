//! `kubestrap upgrade plan | apply | node`: move a kubestrap- (or kubeadm-) made control plane
//! to a newer carried Kubernetes version, as kubeadm's `app/cmd/upgrade/` and
//! `app/phases/upgrade/` do.
//!
//! - [`state`]: what the cluster runs now (the `kubeadm-config`, `kubelet-config` and
//!   `kube-proxy` ConfigMaps, this node's identity, the versions the components report).
//! - [`policy`]: kubeadm's version skew policy (`phases/upgrade/policy.go`) over the carried
//!   versions instead of kubeadm's own version.
//! - [`observe`]: what kubestrap can see of a running component (its build version, the start
//!   time of its process and its health), standing in for the mirror Pod's
//!   `kubernetes.io/config.hash` annotation that kubeadm watches.
//! - [`apply`]: `upgrade apply` (`phases/upgrade/staticpods.go`: backups under
//!   `/etc/kubernetes/tmp`, etcd first, one component at a time, rollback).
//! - [`plan`]: `upgrade plan` (`phases/upgrade/compute.go`, `cmd/upgrade/plan.go`).
//! - [`node`]: `upgrade node` (`cmd/upgrade/node.go`).

pub mod apply;
pub mod checks;
pub mod files;
pub mod node;
pub mod observe;
pub mod plan;
pub mod policy;
pub mod state;
pub mod staticpods;

use std::time::Duration;

use serde::Deserialize;

/// The `kubernetes.io/config.hash`-free timeout kubeadm waits for one component after its
/// manifest changed (`timeouts.upgradeManifests`, default 5m).
pub const DEFAULT_UPGRADE_MANIFESTS_TIMEOUT: Duration = Duration::from_secs(300);

/// The fields of kubeadm's v1beta4 `UpgradeConfiguration` that kubestrap uses
/// (`cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go`). Every field is optional; flags win.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeConfiguration {
    /// `apply`: `kubernetesVersion`, `certificateRenewal`, `etcdUpgrade`, `forceUpgrade`,
    /// `ignorePreflightErrors`, `dryRun`.
    #[serde(default)]
    pub apply: UpgradeApplyConfiguration,
    /// `node`: `certificateRenewal`, `etcdUpgrade`, `ignorePreflightErrors`, `dryRun`.
    #[serde(default)]
    pub node: UpgradeApplyConfiguration,
    /// `plan`: `kubernetesVersion`, `ignorePreflightErrors`.
    #[serde(default)]
    pub plan: UpgradeApplyConfiguration,
    /// `timeouts.upgradeManifests` (the other timeouts are not used by upgrade).
    #[serde(default)]
    pub timeouts: Option<UpgradeTimeouts>,
}

/// One of `apply`, `node`, `plan` of an [`UpgradeConfiguration`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeApplyConfiguration {
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    #[serde(default)]
    pub certificate_renewal: Option<bool>,
    #[serde(default)]
    pub etcd_upgrade: Option<bool>,
    #[serde(default)]
    pub force_upgrade: Option<bool>,
    #[serde(default)]
    pub dry_run: Option<bool>,
    #[serde(default)]
    pub ignore_preflight_errors: Vec<String>,
}

/// `timeouts` of an [`UpgradeConfiguration`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeTimeouts {
    #[serde(default)]
    pub upgrade_manifests: Option<crate::config::GoDuration>,
}

impl UpgradeConfiguration {
    /// Reads the `UpgradeConfiguration` document (`apiVersion: kubeadm.k8s.io/v1beta4`) of a
    /// multi-document YAML `text`; other documents are skipped, as kubeadm does. Errors name
    /// `source`, the document and the field serde refused; a file without one is an error.
    pub fn parse(text: &str, source: &str) -> Result<Self, String> {
        for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let v = serde_yaml::Value::deserialize(doc)
                .map_err(|e| format!("{source}: document {}: {e}", i + 1))?;
            if v.get("kind").and_then(|k| k.as_str()) != Some("UpgradeConfiguration") {
                continue;
            }
            let api = v.get("apiVersion").and_then(|k| k.as_str()).unwrap_or("");
            if api != "kubeadm.k8s.io/v1beta4" {
                return Err(format!(
                    "{source}: UpgradeConfiguration: apiVersion {api:?} is not supported; use kubeadm.k8s.io/v1beta4"
                ));
            }
            return serde_yaml::from_value(v)
                .map_err(|e| format!("{source}: UpgradeConfiguration: {e}"));
        }
        Err(format!(
            "{source}: no UpgradeConfiguration document (kind: UpgradeConfiguration, apiVersion: kubeadm.k8s.io/v1beta4)"
        ))
    }

    /// `timeouts.upgradeManifests`, default 5m.
    pub fn upgrade_manifests_timeout(&self) -> Duration {
        self.timeouts
            .as_ref()
            .and_then(|t| t.upgrade_manifests.as_ref())
            .map(|d| d.as_std())
            .unwrap_or(DEFAULT_UPGRADE_MANIFESTS_TIMEOUT)
    }
}

/// A Go-style duration for messages (`5m0s`).
pub fn go_duration(d: Duration) -> String {
    crate::config::GoDuration(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_configuration_is_read_from_its_document() {
        let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply:\n  certificateRenewal: false\ntimeouts:\n  upgradeManifests: 1m30s\n";
        let c = UpgradeConfiguration::parse(text, "u.yaml").unwrap();
        assert_eq!(c.apply.certificate_renewal, Some(false));
        assert_eq!(c.upgrade_manifests_timeout(), Duration::from_secs(90));
        assert!(UpgradeConfiguration::parse("kind: ClusterConfiguration\n", "u.yaml").is_err());
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
    }
}
