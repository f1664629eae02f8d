//! `mark-control-plane`: wait for this node's Node object, then add the control-plane labels
//! and taints (kubeadm `app/phases/markcontrolplane/markcontrolplane.go`).

use k8s_openapi::api::core::v1::{Node, Taint};

use crate::engine::{PhaseCtx, PhaseError};
use crate::kubeapi::ApiWriter;

/// This phase has no sub-phases.
pub const SUBPHASES: &[(&str, &str)] = &[];

/// Label `node-role.kubernetes.io/control-plane`.
pub const LABEL_CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";
/// Label `node.kubernetes.io/exclude-from-external-load-balancers`.
pub const LABEL_EXCLUDE_LB: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// The taints to add: `nodeRegistration.taints`, or the control-plane NoSchedule taint when unset.
pub fn taints(ctx: &PhaseCtx) -> Vec<Taint> {
    match &ctx.cfg.init.node_registration.taints {
        Some(t) => t.clone(),
        None => vec![crate::config::defaults::control_plane_taint()],
    }
}

/// Runs the phase: waits (up to `timeouts.kubernetesAPICall`) for Node
/// `nodeRegistration.name`, then merge-patches its labels and taints, keeping the taints it
/// already has. Errors: the Node never appeared, or the patch failed.
pub async fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    if !(sub.is_empty() || sub == "all") {
        return Err(PhaseError::new(format!(
            "mark-control-plane has no sub-phase {sub:?}"
        )));
    }
    let phase = "mark-control-plane";
    let name = ctx.cfg.init.node_registration.name.clone();
    let api = ApiWriter::connect(ctx, phase).await?;
    ctx.events.log(
        phase,
        format!(
            "[mark-control-plane] Marking the node {name} as control-plane by adding the labels: [{LABEL_CONTROL_PLANE} {LABEL_EXCLUDE_LB}]"
        ),
    );
    let wanted = taints(ctx);
    let current_taints: Vec<Taint> = api
        .wait_for_node(&name)
        .await?
        .and_then(|n| n.spec)
        .and_then(|s| s.taints)
        .unwrap_or_default();
    let mut merged = current_taints.clone();
    for t in wanted {
        if !merged
            .iter()
            .any(|m| m.key == t.key && m.effect == t.effect)
        {
            merged.push(t);
        }
    }
    let mut patch = serde_json::json!({
        "metadata": {"labels": {LABEL_CONTROL_PLANE: "", LABEL_EXCLUDE_LB: ""}},
    });
    if merged != current_taints {
        patch["spec"] = serde_json::json!({ "taints": merged });
    }
    api.merge_patch_cluster::<Node>(&name, &patch).await
}
