//! What the cluster runs now, read as kubeadm's `upgrade` commands read it
//! (`cmd/upgrade/common.go` `enforceRequirements`, `util/config/cluster.go`
//! `FetchInitConfigurationFromCluster`, `phases/upgrade/versiongetter.go`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use kube::Api;
use kube::api::ListParams;

use crate::config::InitConfig;
use crate::config::load::load_documents;
use crate::config::overlay::init_from_loaded;
use crate::host::Host;
use crate::phases::staticpod::Component;
use crate::phases::upload_config::{
    HASH_ANNOTATION, KUBEADM_CONFIG_MAP, KUBELET_CONFIG_MAP, config_map_hash,
};

/// How long one read of the cluster may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// One Node as `upgrade plan` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    /// `status.nodeInfo.kubeletVersion`; empty when the kubelet did not report one.
    pub kubelet_version: String,
    /// Labelled `node-role.kubernetes.io/control-plane`.
    pub control_plane: bool,
    /// Its Ready condition is present and not True.
    pub not_ready: bool,
}

/// A component config (KubeletConfiguration, KubeProxyConfiguration) as stored in its
/// ConfigMap.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentConfig {
    /// `apiVersion` of the stored document (`kubelet.config.k8s.io/v1beta1`).
    pub api_version: String,
    /// The document; `None` when kubeadm generated it (its hash annotation matches), so the
    /// new version's defaults are written, as kubeadm does.
    pub user: Option<serde_yaml::Value>,
}

/// The cluster as read before an upgrade.
#[derive(Debug, Clone)]
pub struct ClusterState {
    /// The ClusterConfiguration of `kube-system/kubeadm-config`, defaulted, with this node's
    /// identity (name, advertise address and port, CRI socket) and its component configs.
    pub cfg: InitConfig,
    /// `gitVersion` of the API server's `/version`.
    pub cluster_version: String,
    /// Every Node.
    pub nodes: Vec<NodeInfo>,
    /// Image tags of the control-plane components: per component, `(node, tag)` from the
    /// mirror Pods in kube-system, or from this node's manifests when there are none.
    pub component_tags: BTreeMap<&'static str, Vec<(String, String)>>,
    /// CoreDNS Deployment's image tag, if the Deployment exists (and can be read).
    pub coredns_tag: Option<String>,
    /// kube-proxy DaemonSet's image tag, if it exists.
    pub kube_proxy_tag: Option<String>,
    /// The kubelet-config ConfigMap's document.
    pub kubelet: Option<ComponentConfig>,
    /// The kube-proxy ConfigMap's `config.conf`.
    pub kube_proxy: Option<ComponentConfig>,
}

/// The tag of an image reference (`registry.k8s.io/etcd:3.6.8-0` → `3.6.8-0`).
pub fn image_tag(image: &str) -> Option<String> {
    let last = image.rsplit('/').next()?;
    last.split_once(':').map(|(_, t)| t.to_string())
}

/// This node's name from the client certificate of `kubelet.conf` (`system:node:NAME`), as
/// kubeadm's `getNodeNameFromKubeletConfig`; `None` when it cannot be read.
pub fn node_name_from_kubelet_conf(host: &dyn Host) -> Option<String> {
    let text = host.read(Path::new("/etc/kubernetes/kubelet.conf")).ok()?;
    let kc: kube::config::Kubeconfig =
        kube::config::Kubeconfig::from_yaml(&String::from_utf8_lossy(&text)).ok()?;
    let cur = kc.current_context.clone()?;
    let user = kc
        .contexts
        .iter()
        .find(|c| c.name == cur)?
        .context
        .as_ref()?
        .user
        .clone()?;
    let ai = kc
        .auth_infos
        .iter()
        .find(|a| a.name == user)?
        .auth_info
        .as_ref()?;
    let pem = match &ai.client_certificate_data {
        Some(d) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(d).ok()?
        }
        None => host.read(Path::new(ai.client_certificate.as_ref()?)).ok()?,
    };
    let (_, p) = x509_parser::pem::parse_x509_pem(&pem).ok()?;
    let cert = p.parse_x509().ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    cn.strip_prefix("system:node:").map(str::to_string)
}

/// This node's API endpoint from its kube-apiserver manifest: the
/// `kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint` annotation
/// (`ip:port`), as kubeadm's `getAPIEndpointFromPodAnnotation`; `None` on a worker.
pub fn local_api_endpoint(host: &dyn Host) -> Option<(String, i32)> {
    let pod = read_manifest(host, Component::KubeApiServer)?;
    let ep = pod
        .metadata
        .annotations?
        .get(crate::phases::control_plane::ADVERTISE_ADDRESS_ENDPOINT_ANNOTATION)?
        .clone();
    let (h, p) = ep.rsplit_once(':')?;
    Some((h.trim_matches(['[', ']']).to_string(), p.parse().ok()?))
}

/// The static Pod in `/etc/kubernetes/manifests/<component>.yaml`, if it reads.
pub fn read_manifest(host: &dyn Host, c: Component) -> Option<Pod> {
    let b = host
        .read(&Path::new("/etc/kubernetes/manifests").join(format!("{}.yaml", c.name())))
        .ok()?;
    serde_yaml::from_slice(&b).ok()
}

/// The first container's image of this node's manifest of `c`.
pub fn manifest_image(host: &dyn Host, c: Component) -> Option<String> {
    read_manifest(host, c)?
        .spec?
        .containers
        .first()?
        .image
        .clone()
}

fn component_config(cm: Option<ConfigMap>, key: &str) -> Option<ComponentConfig> {
    let cm = cm?;
    let data = cm.data.clone().unwrap_or_default();
    let text = data.get(key)?.clone();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    let api_version = doc
        .get("apiVersion")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let generated = cm
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(HASH_ANNOTATION))
        .is_some_and(|h| *h == config_map_hash(&data));
    Some(ComponentConfig {
        api_version,
        user: (!generated).then_some(doc),
    })
}

/// Reads the cluster through `client` and this node through `host`: the `kubeadm-config`
/// ConfigMap (its ClusterConfiguration, defaulted), this node's identity, the component
/// configs, the API server's version, the Nodes, the control-plane images and the addons.
/// Errors say what could not be read (kubeadm's "In order to upgrade, a ConfigMap called
/// kubeadm-config ... must exist" when it is absent).
pub async fn load(host: &dyn Host, client: &kube::Client) -> Result<ClusterState, String> {
    let fut = async {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
        let cm = cms
            .get_opt(KUBEADM_CONFIG_MAP)
            .await
            .map_err(|e| format!("reading kube-system/{KUBEADM_CONFIG_MAP}: {e}"))?
            .ok_or_else(|| {
                "the ConfigMap \"kubeadm-config\" in the \"kube-system\" namespace was not found: in order to upgrade, it must exist; use 'kubestrap init phase upload-config kubeadm --config your-config-file' to re-upload it".to_string()
            })?;
        let text = cm
            .data
            .as_ref()
            .and_then(|d| d.get("ClusterConfiguration"))
            .cloned()
            .ok_or("the kubeadm-config ConfigMap has no ClusterConfiguration")?;
        let loaded =
            load_documents(&text, "kubeadm-config ConfigMap").map_err(|e| e.to_string())?;
        let (mut cfg, _, _) =
            init_from_loaded(loaded, "kubeadm-config ConfigMap").map_err(|e| e.to_string())?;
        let facts = host.facts();
        cfg.init.node_registration.name =
            node_name_from_kubelet_conf(host).unwrap_or_else(|| facts.hostname.to_lowercase());
        if let Some((addr, port)) = local_api_endpoint(host) {
            cfg.init.local_api_endpoint.advertise_address = addr;
            cfg.init.local_api_endpoint.bind_port = port;
        }
        if let Ok(b) = host.read(Path::new(crate::phases::kubelet::INSTANCE_CONFIG))
            && let Ok(v) = serde_yaml::from_slice::<serde_yaml::Value>(&b)
            && let Some(s) = v.get("containerRuntimeEndpoint").and_then(|s| s.as_str())
        {
            cfg.init.node_registration.cri_socket = s.to_string();
        }
        crate::config::defaults::apply_static_init_defaults(&mut cfg);
        let kubelet = component_config(
            cms.get_opt(KUBELET_CONFIG_MAP)
                .await
                .map_err(|e| format!("reading kube-system/{KUBELET_CONFIG_MAP}: {e}"))?,
            "kubelet",
        );
        let kube_proxy = component_config(
            cms.get_opt("kube-proxy").await.ok().flatten(),
            "config.conf",
        );
        cfg.kubelet = kubelet.as_ref().and_then(|k| k.user.clone());
        cfg.kube_proxy = kube_proxy.as_ref().and_then(|k| k.user.clone());
        let info = client
            .apiserver_version()
            .await
            .map_err(|e| format!("unable to fetch the cluster version: {e}"))?;
        let nodes: Api<Node> = Api::all(client.clone());
        // A node's own credentials (a worker's kubelet.conf) may read only its own Node.
        let nodes = match nodes.list(&ListParams::default()).await {
            Ok(l) => l.items,
            Err(e) if crate::kubeapi::api_code(&e) == Some(403) => Vec::new(),
            Err(e) => return Err(format!("listing Nodes: {e}")),
        };
        let nodes = nodes
            .into_iter()
            .map(|n| NodeInfo {
                name: n.metadata.name.clone().unwrap_or_default(),
                control_plane: n
                    .metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key("node-role.kubernetes.io/control-plane")),
                kubelet_version: n
                    .status
                    .as_ref()
                    .and_then(|s| s.node_info.as_ref())
                    .map(|i| i.kubelet_version.clone())
                    .unwrap_or_default(),
                not_ready: n
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status != "True")),
            })
            .collect();
        let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
        let mut component_tags = BTreeMap::new();
        for c in Component::ALL {
            // A worker's credentials may not list them: then this node's manifests count.
            let list = pods
                .list(&ListParams::default().labels(&format!("component={}", c.name())))
                .await
                .map(|l| l.items)
                .unwrap_or_default();
            let mut tags: Vec<(String, String)> = list
                .iter()
                .filter_map(|p| {
                    let node = p.spec.as_ref()?.node_name.clone().unwrap_or_default();
                    let img = p.spec.as_ref()?.containers.first()?.image.clone()?;
                    Some((node, image_tag(&img)?))
                })
                .collect();
            if tags.is_empty()
                && let Some(t) = manifest_image(host, c).as_deref().and_then(image_tag)
            {
                tags.push((cfg.init.node_registration.name.clone(), t));
            }
            component_tags.insert(c.name(), tags);
        }
        let deploys: Api<Deployment> = Api::namespaced(client.clone(), "kube-system");
        let coredns_tag = deploys
            .get_opt("coredns")
            .await
            .ok()
            .flatten()
            .and_then(|d| d.spec?.template.spec?.containers.first()?.image.clone())
            .and_then(|i| image_tag(&i));
        let dss: Api<DaemonSet> = Api::namespaced(client.clone(), "kube-system");
        let kube_proxy_tag = dss
            .get_opt("kube-proxy")
            .await
            .ok()
            .flatten()
            .and_then(|d| d.spec?.template.spec?.containers.first()?.image.clone())
            .and_then(|i| image_tag(&i));
        Ok(ClusterState {
            cfg,
            cluster_version: info.git_version,
            nodes,
            component_tags,
            coredns_tag,
            kube_proxy_tag,
            kubelet,
            kube_proxy,
        })
    };
    tokio::time::timeout(READ_TIMEOUT, fut)
        .await
        .map_err(|_| format!("reading the cluster timed out after {READ_TIMEOUT:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(
            image_tag("registry.k8s.io/etcd:3.6.8-0").as_deref(),
            Some("3.6.8-0")
        );
        assert_eq!(
            image_tag("localhost:5000/kube-apiserver:v1.36.3").as_deref(),
            Some("v1.36.3")
        );
        assert_eq!(image_tag("localhost:5000/kube-apiserver"), None);
    }
}
