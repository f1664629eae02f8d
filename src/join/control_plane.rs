//! The control-plane side of `kubestrap join --control-plane`: this node's configuration
//! (the cluster's ClusterConfiguration + this node's registration and API endpoint),
//! `control-plane-prepare` (download-certs, certs, kubeconfig, control-plane) and
//! `control-plane-join` (mark-control-plane).
//!
//! Mirrors kubeadm `app/cmd/phases/join/controlplaneprepare.go`,
//! `app/cmd/phases/join/controlplanejoin.go`, `app/phases/copycerts/copycerts.go`
//! (`DownloadCerts`) and `app/util/config/joinconfiguration.go` (`FetchInitConfigurationFromJoinConfiguration`).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::config::{InitConfig, JoinConfiguration};
use crate::engine::{EventSink, PhaseCtx, PhaseError};
use crate::host::Host;
use crate::phases::upload_certs;

use super::kubelet::ClusterSettings;

/// kubeadm's message when the cluster has no controlPlaneEndpoint
/// (`app/cmd/phases/join/preflight.go`).
pub const NO_ENDPOINT: &str = "unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address";

/// kubeadm's join message of a control-plane node (`joinDoneMsgf` in `app/cmd/join.go`).
pub fn success_message(node_name: &str, stacked_etcd: bool) -> String {
    let etcd = if stacked_etcd {
        "* A new etcd member was added to the local/stacked etcd cluster.\n"
    } else {
        ""
    };
    format!(
        "This node has joined the cluster and a new control plane instance was created:\n\n* Certificate signing request was sent to apiserver and approval was received.\n* The Kubelet was informed of the new secure connection details.\n* Control plane label and taint were applied to the new node.\n* The Kubernetes control plane instances scaled up.\n{etcd}\nTo start administering your cluster from this node, you need to run the following as a regular user:\n\n\tmkdir -p $HOME/.kube\n\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n\tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n\nRun 'kubectl get nodes' to see this node ({node_name}) join the cluster."
    )
}

/// This node's InitConfig for a control-plane join: the cluster's ClusterConfiguration
/// (`settings.cluster_configuration`, defaulted), this node's `nodeRegistration`, the
/// `controlPlane.localAPIEndpoint` (an empty advertise address becomes `default_addr`, the
/// default-route address, as kubeadm's dynamic defaults do), the join's timeouts and the
/// cluster's KubeletConfiguration.
///
/// Errors: a ClusterConfiguration that does not load, no advertise address, or a cluster
/// without `controlPlaneEndpoint` ([`NO_ENDPOINT`]).
pub fn init_config(
    cfg: &JoinConfiguration,
    settings: &ClusterSettings,
    default_addr: Option<std::net::IpAddr>,
) -> Result<InitConfig, PhaseError> {
    let cp = cfg.control_plane.clone().ok_or_else(|| {
        PhaseError::new("not a control-plane join (no --control-plane / controlPlane)")
    })?;
    let text = format!(
        "{}\n",
        settings.cluster_configuration.trim_end_matches('\n')
    );
    let loaded = crate::config::load::load_documents(&text, "the kubeadm-config ConfigMap")
        .map_err(|e| {
            PhaseError::new(format!(
                "the ClusterConfiguration in kube-system/kubeadm-config does not load: {e}"
            ))
        })?;
    let cluster = loaded.cluster.ok_or_else(|| {
        PhaseError::new("kube-system/kubeadm-config has no ClusterConfiguration document")
    })?;
    let mut ic = InitConfig {
        cluster,
        ..Default::default()
    };
    crate::config::defaults::apply_static_init_defaults(&mut ic);
    if ic.cluster.control_plane_endpoint.is_empty() {
        return Err(PhaseError::new(format!(
            "{NO_ENDPOINT}: the cluster's ClusterConfiguration has no controlPlaneEndpoint, so every node reaches the API server through the first control-plane node's own address"
        ))
        .hint("init the cluster with --control-plane-endpoint (a load balancer or DNS name) to add control-plane nodes; join this node as a worker instead"));
    }
    ic.init.bootstrap_tokens.clear();
    ic.init.node_registration = cfg.node_registration.clone();
    ic.init.local_api_endpoint = cp.local_api_endpoint.clone();
    if ic.init.local_api_endpoint.bind_port == 0 {
        ic.init.local_api_endpoint.bind_port = 6443;
    }
    if ic.init.local_api_endpoint.advertise_address.is_empty() {
        let ip = default_addr.ok_or_else(|| {
            PhaseError::new(
                "controlPlane.localAPIEndpoint.advertiseAddress: not set and this machine has no default route to take it from",
            )
            .hint("pass --apiserver-advertise-address with this node's address")
        })?;
        ic.init.local_api_endpoint.advertise_address = ip.to_string();
    }
    ic.init.certificate_key = cp.certificate_key.clone();
    ic.init.timeouts = cfg.timeouts.clone();
    ic.init.dry_run = cfg.dry_run;
    ic.kubelet = serde_yaml::from_str(&settings.kubelet_config).ok();
    Ok(ic)
}

/// A phase context for this node's InitConfig on `host`, sending to `events`.
pub fn phase_ctx(
    ic: InitConfig,
    host: Arc<dyn Host>,
    events: &EventSink,
    cancel: &tokio_util::sync::CancellationToken,
) -> PhaseCtx {
    let mut ctx = PhaseCtx::new(Arc::new(ic), host, events.clone());
    ctx.cancel = cancel.clone();
    ctx
}

fn is_key(name: &str) -> bool {
    name.ends_with(".key")
}

/// `download-certs`: reads Secret `kube-system/kubeadm-certs` with `client` (the bootstrap
/// token), decrypts each entry with the certificate key (AES-256-GCM, kubeadm's
/// `DecryptBytes`) and writes the shared CA, service-account and front-proxy files (keys
/// 0600, the rest 0644) where [`upload_certs::shared_files`] puts them. Nothing is written
/// unless every entry decrypts.
///
/// Errors: no certificate key, a malformed key, the Secret missing (expired with its
/// token) or unreadable, an entry missing from it, a key that does not decrypt it (wrong
/// key or another cluster's), a file that cannot be written.
pub async fn download_certs(
    ctx: &PhaseCtx,
    client: &Client,
    timeout: Duration,
) -> Result<(), PhaseError> {
    const PHASE: &str = "control-plane-prepare/download-certs";
    let key_hex = ctx.cfg.init.certificate_key.clone();
    if key_hex.is_empty() {
        return Err(PhaseError::new(
            "--certificate-key: not set; a control-plane join needs the key init printed with --upload-certs",
        )
        .hint("on a control-plane node: kubestrap init phase upload-certs --upload-certs prints a new key"));
    }
    let key = upload_certs::parse_certificate_key(&key_hex)
        .map_err(|e| PhaseError::new(format!("--certificate-key (not shown): {}", e.message)))?;
    ctx.events.log(
        PHASE,
        format!(
            "[download-certs] Downloading the certificates in Secret \"{}\" in the \"kube-system\" Namespace",
            upload_certs::SECRET_NAME
        ),
    );
    let api: Api<Secret> = Api::namespaced(client.clone(), "kube-system");
    let secret = match tokio::time::timeout(timeout, api.get_opt(upload_certs::SECRET_NAME)).await {
        Err(_) => {
            return Err(PhaseError::new(format!(
                "error downloading the secret: no answer within {}s",
                timeout.as_secs()
            )));
        }
        Ok(Ok(Some(s))) => s,
        Ok(Ok(None)) => {
            return Err(PhaseError::new(format!(
                "error downloading the secret: Secret \"{}\" was not found in the \"kube-system\" Namespace. This Secret might have expired",
                upload_certs::SECRET_NAME
            ))
            .hint("the uploaded certificates live 2 hours; on a control-plane node run kubestrap init phase upload-certs --upload-certs and join with the new --certificate-key"));
        }
        Ok(Err(e)) => {
            return Err(
                PhaseError::new("error downloading the secret kube-system/kubeadm-certs")
                    .caused_by(e)
                    .hint("the bootstrap token may have expired, or the cluster was not initialised with --upload-certs"),
            );
        }
    };
    let data = secret.data.unwrap_or_default();
    let mut files = Vec::new();
    for (name, path) in upload_certs::shared_files(ctx) {
        let enc = data.get(&name).ok_or_else(|| {
            PhaseError::new(format!(
                "the Secret does not include the required certificate or key - name: {name}, path: {}",
                path.display()
            ))
        })?;
        if enc.0.is_empty() {
            continue;
        }
        let plain = upload_certs::decrypt(&key, &enc.0).map_err(|_| {
            PhaseError::new(format!(
                "error decoding secret data with provided key: cannot decrypt {name}: the certificate key is wrong or belongs to another cluster"
            ))
            .hint("use the key printed by kubestrap init --upload-certs (or kubestrap init phase upload-certs --upload-certs) on this cluster's control plane")
        })?;
        files.push((name, path, plain));
    }
    ctx.events.log(
        PHASE,
        format!(
            "[download-certs] Saving the certificates to the folder: {:?}",
            ctx.paths.pki_dir.display().to_string()
        ),
    );
    for (name, path, plain) in files {
        let mode = if is_key(&name) { 0o600 } else { 0o644 };
        if let Some(dir) = path.parent() {
            ctx.host.create_dir_all(dir, 0o755).map_err(|e| {
                PhaseError::new(format!("cannot create {}", dir.display())).caused_by(e)
            })?;
        }
        ctx.host.write_atomic(&path, &plain, mode).map_err(|e| {
            PhaseError::new(format!("cannot write {}", path.display())).caused_by(e)
        })?;
        ctx.events.send(crate::engine::Event::FileWritten {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

/// The rest of `control-plane-prepare` after download-certs: `certs` (this node's serving and
/// client certificates from the downloaded CAs; existing files are reused), `kubeconfig`
/// (admin, controller-manager, scheduler) and `control-plane` (the three manifests), each
/// as init's phase of the same name does it. Errors: those phases' errors.
pub fn prepare_files(ctx: &PhaseCtx) -> Result<(), PhaseError> {
    ctx.events.log(
        "control-plane-prepare/certs",
        format!(
            "[certs] Using certificateDir folder {:?}",
            ctx.paths.pki_dir.display().to_string()
        ),
    );
    crate::phases::certs::run(ctx, "all")?;
    for sub in ["admin", "controller-manager", "scheduler"] {
        crate::phases::kubeconfig::run(ctx, sub)?;
    }
    crate::phases::control_plane::run(ctx, "all")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(cc: &str) -> ClusterSettings {
        ClusterSettings {
            cluster_name: "kubernetes".into(),
            kubernetes_version: "v1.37.2".into(),
            image_repository: "registry.k8s.io".into(),
            kubelet_config:
                "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n".into(),
            node_local_cri_socket_gate: None,
            cluster_configuration: cc.into(),
        }
    }

    #[test]
    fn init_config_from_the_cluster_and_this_node() {
        let mut j = JoinConfiguration::default();
        j.node_registration.name = "cp2".into();
        j.control_plane = Some(crate::config::JoinControlPlane {
            local_api_endpoint: crate::config::ApiEndpoint {
                advertise_address: "10.0.0.2".into(),
                bind_port: 0,
            },
            certificate_key: "00".repeat(32),
        });
        let cc = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.37.2\ncontrolPlaneEndpoint: cp.example:6443\n";
        let ic = init_config(&j, &settings(cc), None).unwrap();
        assert_eq!(ic.init.local_api_endpoint.advertise_address, "10.0.0.2");
        assert_eq!(ic.init.local_api_endpoint.bind_port, 6443);
        assert_eq!(ic.init.node_registration.name, "cp2");
        assert_eq!(ic.cluster.control_plane_endpoint, "cp.example:6443");
        assert!(ic.cluster.etcd.local.is_some());
        let no_ep = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.37.2\n";
        let e = init_config(&j, &settings(no_ep), None).unwrap_err();
        assert!(e.message.contains("stable controlPlaneEndpoint"), "{e:?}");
    }

    #[test]
    fn message_like_kubeadm() {
        let m = success_message("cp2", true);
        assert!(m.starts_with(
            "This node has joined the cluster and a new control plane instance was created:"
        ));
        assert!(m.contains("A new etcd member was added"));
        assert!(m.contains("(cp2)"));
    }
}
