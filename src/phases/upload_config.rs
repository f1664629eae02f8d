//! `upload-config`: the `kubeadm-config` and `kubelet-config` ConfigMaps in kube-system with
//! the Roles and RoleBindings that let joining nodes read them (kubeadm
//! `app/phases/uploadconfig/uploadconfig.go`, `app/phases/kubelet/config.go`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use sha2::{Digest, Sha256};

use crate::config::defaults::DEFAULT_TOKEN_GROUP;
use crate::engine::{PhaseCtx, PhaseError};
use crate::kubeapi::{ApiWriter, meta, rbac};

/// Sub-phases in kubeadm's order.
pub const SUBPHASES: &[(&str, &str)] = &[
    (
        "kubeadm",
        "Upload the kubeadm ClusterConfiguration to a ConfigMap",
    ),
    (
        "kubelet",
        "Upload the kubelet component config to a ConfigMap",
    ),
];

/// ConfigMap holding the ClusterConfiguration.
pub const KUBEADM_CONFIG_MAP: &str = "kubeadm-config";
/// ConfigMap holding the cluster-wide KubeletConfiguration.
pub const KUBELET_CONFIG_MAP: &str = "kubelet-config";
/// Annotation with the component-config hash.
pub const HASH_ANNOTATION: &str = "kubeadm.kubernetes.io/component-config.hash";

/// Node annotation holding the CRI socket while the NodeLocalCRISocket gate is off (up to
/// v1.35; kubeadm v1.36 stopped writing it).
pub const CRI_SOCKET_ANNOTATION: &str = "kubeadm.alpha.kubernetes.io/cri-socket";

/// Runs `upload-config/<sub>` (`all` or empty runs both). Errors: the API call that failed.
pub async fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    let subs: Vec<&str> = match sub {
        "" | "all" => vec!["kubeadm", "kubelet"],
        "kubeadm" | "kubelet" => vec![sub],
        other => {
            return Err(PhaseError::new(format!(
                "upload-config has no sub-phase {other:?}"
            )));
        }
    };
    let api = ApiWriter::connect(ctx, "upload-config").await?;
    for s in subs {
        match s {
            "kubeadm" => upload_kubeadm(ctx, &api).await?,
            _ => upload_kubelet(ctx, &api).await?,
        }
    }
    Ok(())
}

/// The ClusterConfiguration as a `kubeadm.k8s.io/v1beta4` YAML document.
/// Errors: serialisation failure.
pub fn cluster_configuration_yaml(ctx: &PhaseCtx) -> Result<String, PhaseError> {
    let v = serde_yaml::to_value(crate::config::defaults::cluster_dynamic_defaults(&ctx.cfg))
        .map_err(|e| PhaseError::new("cannot serialise the ClusterConfiguration").caused_by(e))?;
    let mut m = serde_yaml::Mapping::new();
    m.insert("apiVersion".into(), "kubeadm.k8s.io/v1beta4".into());
    m.insert("kind".into(), "ClusterConfiguration".into());
    if let serde_yaml::Value::Mapping(rest) = v {
        for (k, v) in rest {
            m.insert(k, v);
        }
    }
    serde_yaml::to_string(&m)
        .map_err(|e| PhaseError::new("cannot serialise the ClusterConfiguration").caused_by(e))
}

/// The cluster-wide KubeletConfiguration stored in the `kubelet-config` ConfigMap: the same
/// builder kubelet-start uses ([`super::kubelet::kubelet_cluster_config`]), so the ConfigMap
/// and `/var/lib/kubelet/config.yaml` agree on every cluster-wide field; the instance-specific
/// fields ([`super::kubelet::INSTANCE_SPECIFIC_KEYS`]) stay local as in kubeadm.
/// Errors: an unparsable service subnet.
pub fn kubelet_configuration(ctx: &PhaseCtx) -> Result<serde_yaml::Value, PhaseError> {
    super::kubelet::kubelet_cluster_config(ctx)
}

/// kubeadm's component-config hash: `sha256:` + hex of SHA-256 over the `data` values
/// concatenated in key order (`app/componentconfigs/checksums.go`).
pub fn config_map_hash(data: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for v in data.values() {
        h.update(v.as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

fn get_configmap_role(name: &str, role: &str) -> k8s_openapi::api::rbac::v1::Role {
    rbac::role(
        "kube-system",
        role,
        vec![rbac::rule(&[""], &["configmaps"], &["get"], &[name])],
    )
}

async fn upload_kubeadm(ctx: &PhaseCtx, api: &ApiWriter) -> Result<(), PhaseError> {
    ctx.events.log(
        "upload-config",
        "[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace",
    );
    let data = BTreeMap::from([(
        "ClusterConfiguration".to_string(),
        cluster_configuration_yaml(ctx)?,
    )]);
    let cm = ConfigMap {
        metadata: meta(KUBEADM_CONFIG_MAP, Some("kube-system"), &[]),
        data: Some(data),
        ..Default::default()
    };
    api.apply_ns(cm, |_, _| {}).await?;
    let role = "kubeadm:nodes-kubeadm-config";
    api.apply_ns(get_configmap_role(KUBEADM_CONFIG_MAP, role), |_, _| {})
        .await?;
    api.apply_ns(
        rbac::role_binding(
            "kube-system",
            role,
            role,
            vec![
                rbac::group(DEFAULT_TOKEN_GROUP),
                rbac::group("system:nodes"),
            ],
        ),
        |_, _| {},
    )
    .await?;
    Ok(())
}

async fn upload_kubelet(ctx: &PhaseCtx, api: &ApiWriter) -> Result<(), PhaseError> {
    ctx.events.log(
        "upload-config",
        "[kubelet] Creating a ConfigMap \"kubelet-config\" in namespace kube-system with the configuration for the kubelets in the cluster",
    );
    let kc = serde_yaml::to_string(&kubelet_configuration(ctx)?)
        .map_err(|e| PhaseError::new("cannot serialise the KubeletConfiguration").caused_by(e))?;
    let data = BTreeMap::from([("kubelet".to_string(), kc)]);
    let mut metadata = meta(KUBELET_CONFIG_MAP, Some("kube-system"), &[]);
    if ctx.cfg.kubelet.is_none() {
        metadata.annotations = Some(BTreeMap::from([(
            HASH_ANNOTATION.to_string(),
            config_map_hash(&data),
        )]));
    }
    let cm = ConfigMap {
        metadata,
        data: Some(data),
        ..Default::default()
    };
    api.apply_ns(cm, |_, _| {}).await?;
    if !super::kubelet::node_local_cri_socket(ctx)
        && crate::config::versions::minor_of(&ctx.cfg.cluster.kubernetes_version) <= 35
    {
        // Without NodeLocalCRISocket the CRI socket lives in a Node annotation
        // (kubeadm `patchnode.AnnotateCRISocket`, up to v1.35).
        let name = ctx.cfg.init.node_registration.name.clone();
        api.wait_for_node(&name).await?;
        let patch = serde_json::json!({"metadata": {"annotations": {
            CRI_SOCKET_ANNOTATION: ctx.cfg.init.node_registration.cri_socket
        }}});
        api.merge_patch_cluster::<k8s_openapi::api::core::v1::Node>(&name, &patch)
            .await?;
    }
    let role = "kubeadm:kubelet-config";
    api.apply_ns(get_configmap_role(KUBELET_CONFIG_MAP, role), |_, _| {})
        .await?;
    api.apply_ns(
        rbac::role_binding(
            "kube-system",
            role,
            role,
            vec![
                rbac::group("system:nodes"),
                rbac::group(DEFAULT_TOKEN_GROUP),
            ],
        ),
        |_, _| {},
    )
    .await?;
    Ok(())
}
