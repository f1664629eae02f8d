//! `config images list|pull`: kubeadm's `GetControlPlaneImages`
//! (`cmd/kubeadm/app/images/images.go`) and `PullControlPlaneImages` (`app/cmd/config.go`).

use serde::Serialize;

use crate::config::InitConfig;
use crate::config::defaults::DEFAULT_IMAGE_REPOSITORY;
use crate::config::versions::{KubeVersion, SUPPORTED};

/// The images init needs for `cfg`, in kubeadm's order: kube-apiserver,
/// kube-controller-manager, kube-scheduler, kube-proxy (unless `proxy.disabled`), CoreDNS
/// (unless `dns.disabled`; `<repo>/coredns/coredns` for the default registry), pause, and
/// etcd for a local etcd. The CoreDNS, pause and etcd tags are those the configured
/// version's own kubeadm pins ([`crate::config::versions`]).
pub fn list(cfg: &InitConfig) -> Vec<String> {
    let c = &cfg.cluster;
    let repo = if c.image_repository.is_empty() {
        DEFAULT_IMAGE_REPOSITORY
    } else {
        c.image_repository.trim_end_matches('/')
    };
    let kv = KubeVersion::parse(&c.kubernetes_version).ok();
    let tag = kv
        .as_ref()
        .map(|v| v.image_tag())
        .unwrap_or_else(|| c.kubernetes_version.clone());
    let info = kv.as_ref().and_then(|v| v.info()).or(SUPPORTED.last());
    let mut v = vec![
        format!("{repo}/kube-apiserver:{tag}"),
        format!("{repo}/kube-controller-manager:{tag}"),
        format!("{repo}/kube-scheduler:{tag}"),
    ];
    if !c.proxy.disabled {
        v.push(format!("{repo}/kube-proxy:{tag}"));
    }
    let Some(info) = info else { return v };
    if !c.dns.disabled {
        let dns_repo = if !c.dns.image_repository.is_empty() {
            c.dns.image_repository.clone()
        } else if repo == DEFAULT_IMAGE_REPOSITORY {
            format!("{repo}/coredns")
        } else {
            repo.to_string()
        };
        let dns_tag = if c.dns.image_tag.is_empty() {
            info.coredns
        } else {
            c.dns.image_tag.as_str()
        };
        v.push(format!("{dns_repo}/coredns:{dns_tag}"));
    }
    v.push(format!("{repo}/pause:{}", info.pause));
    if let Some(local) = &c.etcd.local {
        let etcd_repo = if local.image_repository.is_empty() {
            repo
        } else {
            local.image_repository.as_str()
        };
        let etcd_tag = if local.image_tag.is_empty() {
            info.etcd
        } else {
            local.image_tag.as_str()
        };
        v.push(format!("{etcd_repo}/etcd:{etcd_tag}"));
    }
    v
}

/// kubeadm's `output.kubeadm.k8s.io/v1alpha3` `Images` (`config images list -o json|yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Images {
    pub kind: &'static str,
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub images: Vec<String>,
}

impl Images {
    /// Wraps an image list.
    pub fn new(images: Vec<String>) -> Self {
        Images {
            kind: "Images",
            api_version: "output.kubeadm.k8s.io/v1alpha3",
            images,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::defaults::example_init_config;

    #[test]
    fn seven_images_by_default_and_the_rules_of_the_reference() {
        let mut cfg = example_init_config("v1.37.2");
        let l = list(&cfg);
        assert_eq!(l.len(), 7, "{l:?}");
        assert!(l[4].starts_with("registry.k8s.io/coredns/coredns:"));
        assert!(l[5].starts_with("registry.k8s.io/pause:"));
        assert!(l[6].starts_with("registry.k8s.io/etcd:"));
        cfg.cluster.image_repository = "my.reg/k8s".into();
        assert!(list(&cfg)[4].starts_with("my.reg/k8s/coredns:"));
        cfg.cluster.dns.disabled = true;
        assert_eq!(list(&cfg).len(), 6);
    }
}
