//! `upgrade node` (kubeadm's `cmd/upgrade/node.go` and `cmd/phases/upgrade/node/`): on a
//! further control-plane node, its static Pods (etcd member first) move to the cluster's
//! `kubernetesVersion` from `kubeadm-config` as `upgrade apply` moves them; on every node the
//! kubelet configuration is rewritten; the kubelet package is the user's step, printed at the
//! end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::apply::{ApplyOptions, addons, client, control_plane, kubelet_config};
use super::checks;
use super::observe::Observer;
use super::state;
use crate::engine::{EventSink, PhaseCtx, PhaseError};
use crate::host::Host;
use crate::phases::staticpod::Component;

/// What `upgrade node` was asked.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// `--kubeconfig`: admin.conf on a control-plane node; on a worker kubelet.conf is used
    /// when this file is absent.
    pub kubeconfig: PathBuf,
    pub certificate_renewal: bool,
    pub etcd_upgrade: bool,
    /// `--ignore-preflight-errors`, lower-case.
    pub ignore: Vec<String>,
    pub timeout: Duration,
}

/// The kubelet-package step kubeadm leaves to the user.
pub const KUBELET_STEP: &str =
    "[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.";

/// Runs `upgrade node` on `host`. Errors: as for `upgrade apply`.
pub async fn run(
    host: Arc<dyn Host>,
    events: EventSink,
    cancel: tokio_util::sync::CancellationToken,
    opts: &NodeOptions,
) -> Result<(), PhaseError> {
    let control_plane_node = host.exists(&Component::KubeApiServer.manifest_path(
        &crate::engine::Paths::from_config(&crate::config::InitConfig::default()),
    ));
    let kubeconfig = if control_plane_node || host.exists(&opts.kubeconfig) {
        opts.kubeconfig.clone()
    } else {
        PathBuf::from("/etc/kubernetes/kubelet.conf")
    };
    let (client, kc_text) = client(host.as_ref(), &kubeconfig).await?;
    events.log(
        "upgrade",
        "[upgrade] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...",
    );
    events.log(
        "upgrade",
        "[upgrade] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.",
    );
    let st = state::load(host.as_ref(), &client)
        .await
        .map_err(PhaseError::new)?;
    events.log(
        "upgrade/preflight",
        "[upgrade/preflight] Running pre-flight checks",
    );
    let mut ctx = PhaseCtx::new(Arc::new(st.cfg.clone()), host.clone(), events.clone());
    ctx.cancel = cancel;
    if control_plane_node {
        let target =
            crate::config::versions::KubeVersion::parse(&st.cfg.cluster.kubernetes_version)
                .map_err(|e| {
                    PhaseError::new(format!("kubernetesVersion of kubeadm-config: {e}"))
                })?;
        let obs = Observer::new(&ctx, &kc_text).map_err(PhaseError::new)?;
        let before = checks::observe_all(
            &obs,
            &checks::components(&ctx),
            checks::COMPONENT_HEALTH_WAIT,
        )
        .await;
        let down: Vec<&str> = before
            .iter()
            .filter(|(_, s)| !s.healthy || s.started.is_none())
            .map(|(c, _)| c.name())
            .collect();
        if !down.is_empty() && !checks::ignored(&opts.ignore, "ControlPlaneComponentsHealthy") {
            return Err(PhaseError::new(format!(
                "[preflight] Some fatal errors occurred:\n\t[ERROR ControlPlaneComponentsHealthy]: not healthy: {}\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`",
                down.join(", ")
            )));
        }
        if ctx.dry_run() {
            events.log(
                "upgrade/preflight",
                "[dryrun] Would pull the required images (like 'kubeadm config images pull')",
            );
        }
        events.log(
            "upgrade/control-plane",
            format!(
                "[upgrade/control-plane] Upgrading your Static Pod-hosted control plane instance to version {:?}...",
                target.to_string()
            ),
        );
        let a = ApplyOptions {
            version: target.to_string(),
            kubeconfig: kubeconfig.clone(),
            certificate_renewal: opts.certificate_renewal,
            etcd_upgrade: opts.etcd_upgrade,
            force: false,
            ignore: opts.ignore.clone(),
            timeout: opts.timeout,
        };
        control_plane(&ctx, &obs, before, &a).await?;
        kubelet_config(&ctx)?;
        addons(&ctx, &st, &target).await?;
    } else {
        events.log(
            "upgrade/preflight",
            "[upgrade/preflight] Skipping prepull. Not a control plane node.",
        );
        events.log(
            "upgrade/control-plane",
            "[upgrade/control-plane] Skipping phase. Not a control plane node.",
        );
        events.log(
            "upgrade/kubeconfig",
            "[upgrade/kubeconfig] Skipping phase. Not a control plane node.",
        );
        kubelet_config(&ctx)?;
        events.log(
            "upgrade/addon",
            "[upgrade/addon] Skipping the addon/coredns phase. Not a control plane node.",
        );
        events.log(
            "upgrade/addon",
            "[upgrade/addon] Skipping the addon/kube-proxy phase. Not a control plane node.",
        );
    }
    if ctx.dry_run() {
        events.log(
            "upgrade",
            "[upgrade/successful] Finished dryrunning successfully!",
        );
    } else {
        events.log(
            "upgrade",
            "[upgrade] The configuration for this node was successfully upgraded!",
        );
        events.log("upgrade", KUBELET_STEP);
    }
    Ok(())
}
