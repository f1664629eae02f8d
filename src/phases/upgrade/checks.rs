//! The cluster health checks of `upgrade apply` and `upgrade plan` (kubeadm's
//! `phases/upgrade/health.go` `CheckClusterHealth`: CreateJob, ControlPlaneNodesReady,
//! StaticPodManifest) and kubestrap's ControlPlaneComponentsHealthy, with kubeadm's
//! `--ignore-preflight-errors` handling (`preflight.RunChecks`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, Node, PodSecurityContext, PodSpec, PodTemplateSpec, Toleration,
};
use kube::Api;
use kube::api::{ListParams, PostParams};

use super::observe::{Observer, Seen};
use super::state::ClusterState;
use crate::engine::{PhaseCtx, PhaseError};
use crate::phases::staticpod::Component;

/// How long kubestrap's ControlPlaneComponentsHealthy waits for each component.
pub const COMPONENT_HEALTH_WAIT: Duration = Duration::from_secs(15);

/// The checks, in kubeadm's order (ControlPlaneComponentsHealthy is kubestrap's).
pub const CHECKS: &[&str] = &[
    "CreateJob",
    "ControlPlaneNodesReady",
    "StaticPodManifest",
    "ControlPlaneComponentsHealthy",
];

/// True when `check` is in `ignore` (lower-case names, or `all`).
pub fn ignored(ignore: &[String], check: &str) -> bool {
    ignore
        .iter()
        .any(|i| i == "all" || i.eq_ignore_ascii_case(check))
}

/// The components this node runs: etcd (local etcd only) and the three others.
pub fn components(ctx: &PhaseCtx) -> Vec<Component> {
    Component::ALL
        .into_iter()
        .filter(|c| *c != Component::Etcd || ctx.cfg.cluster.etcd.local.is_some())
        .collect()
}

/// kubeadm's `createJob`: a Job with the pause image in kube-system must complete within
/// 60 s, when a schedulable Node exists.
async fn create_job(ctx: &PhaseCtx, client: &kube::Client) -> Result<(), String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes
        .list(
            &ListParams::default()
                .fields("spec.unschedulable=false")
                .limit(1),
        )
        .await
        .map_err(|e| {
            format!(
                "could not check if there is at least one Node that can schedule a test Pod: {e}"
            )
        })?;
    if list.items.is_empty() {
        ctx.events.warn(
            "upgrade/preflight",
            "The preflight check \"CreateJob\" was skipped because there are no schedulable Nodes in the cluster.",
        );
        return Ok(());
    }
    let name = format!(
        "upgrade-health-check-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let info = crate::config::versions::KubeVersion::parse(&ctx.cfg.cluster.kubernetes_version)
        .ok()
        .and_then(|v| v.info());
    let pause = crate::phases::staticpod::image(
        &ctx.cfg.cluster.image_repository,
        "pause",
        info.map(|i| i.pause).unwrap_or("3.10.2"),
    );
    let job = Job {
        metadata: crate::kubeapi::meta(&name, Some("kube-system"), &[]),
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            ttl_seconds_after_finished: Some(65),
            active_deadline_seconds: Some(65),
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    security_context: Some(PodSecurityContext {
                        run_as_user: Some(999),
                        run_as_group: Some(999),
                        run_as_non_root: Some(true),
                        ..Default::default()
                    }),
                    tolerations: Some(vec![Toleration {
                        key: Some("node-role.kubernetes.io/control-plane".into()),
                        effect: Some("NoSchedule".into()),
                        ..Default::default()
                    }]),
                    containers: vec![Container {
                        name: "upgrade-health-check".into(),
                        image: Some(pause),
                        args: Some(vec!["-v".into()]),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let jobs: Api<Job> = Api::namespaced(client.clone(), "kube-system");
    jobs.create(&PostParams::default(), &job)
        .await
        .map_err(|e| {
            format!("could not create Job {name:?} in the namespace \"kube-system\": {e}")
        })?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(j) = jobs.get(&name).await
            && j.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Complete" && c.status == "True")
                })
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "Job {name:?} in the namespace \"kube-system\" did not complete in 1m0s (no condition of type Complete)"
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// kubeadm's `controlPlaneNodesReady`.
fn control_plane_nodes_ready(state: &ClusterState) -> Result<(), String> {
    let bad: Vec<&str> = state
        .nodes
        .iter()
        .filter(|n| n.control_plane && n.not_ready)
        .map(|n| n.name.as_str())
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "there are NotReady control-planes in the cluster: [{}]",
            bad.join(" ")
        ))
    }
}

/// kubeadm's `staticPodManifestHealth`.
fn static_pod_manifest(ctx: &PhaseCtx) -> Result<(), String> {
    let missing: Vec<String> = [
        Component::KubeApiServer,
        Component::KubeControllerManager,
        Component::KubeScheduler,
    ]
    .iter()
    .map(|c| c.manifest_path(&ctx.paths))
    .filter(|p| !ctx.host.exists(p))
    .map(|p| p.display().to_string())
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("manifest files not found: [{}]", missing.join(" ")))
    }
}

/// Looks at every component until each is healthy with its version and process start
/// known, for at most `wait`; returns what was seen last.
pub async fn observe_all(
    obs: &Observer,
    comps: &[Component],
    wait: Duration,
) -> BTreeMap<Component, Seen> {
    let deadline = Instant::now() + wait;
    let mut seen = BTreeMap::new();
    loop {
        for c in comps {
            if seen
                .get(c)
                .is_some_and(|s: &Seen| s.healthy && s.started.is_some() && s.version.is_some())
            {
                continue;
            }
            seen.insert(*c, obs.observe(*c).await);
        }
        let all = seen
            .values()
            .all(|s| s.healthy && s.started.is_some() && s.version.is_some());
        if all || Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// kubestrap's ControlPlaneComponentsHealthy: every component of this node answers its
/// health endpoint and its metrics (the state an upgrade starts from).
fn components_healthy(obs: &Observer, seen: &BTreeMap<Component, Seen>) -> Result<(), String> {
    let bad: Vec<String> = seen
        .iter()
        .filter(|(_, s)| !(s.healthy && s.started.is_some() && s.version.is_some()))
        .map(|(c, s)| {
            format!(
                "{} is not healthy ({}: {})",
                c.name(),
                obs.health_url(*c),
                if s.answer.is_empty() {
                    "its metrics did not say its version and start"
                } else {
                    &s.answer
                }
            )
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

/// kubeadm's `CheckClusterHealth` plus ControlPlaneComponentsHealthy, run as
/// `preflight.RunChecks` runs checks: an ignored failure is a `[WARNING <check>]` line, the
/// others end in one error listing each `[ERROR <check>]`. An ignored CreateJob is not run
/// at all (kubeadm runs it and discards its error after up to a minute). Returns what the
/// components reported (the state before the upgrade).
pub async fn cluster_health(
    ctx: &PhaseCtx,
    client: &kube::Client,
    state: &ClusterState,
    obs: &Observer,
    ignore: &[String],
) -> Result<BTreeMap<Component, Seen>, PhaseError> {
    const PHASE: &str = "upgrade/preflight";
    ctx.events
        .log(PHASE, "[upgrade] Running cluster health checks");
    let mut errors = Vec::new();
    let mut report = |name: &str, r: Result<(), String>| {
        if let Err(e) = r {
            if ignored(ignore, name) {
                ctx.events.warn(PHASE, format!("\t[WARNING {name}]: {e}"));
            } else {
                errors.push(format!("\t[ERROR {name}]: {e}"));
            }
        }
    };
    if ctx.dry_run() {
        ctx.events.log(
            PHASE,
            "[dryrun] Would create a Job in kube-system with the pause image and wait for it to complete (CreateJob)",
        );
    } else if ignored(ignore, "CreateJob") {
        ctx.events.log(
            PHASE,
            "[upgrade] Not running the CreateJob check: --ignore-preflight-errors names it",
        );
    } else {
        report("CreateJob", create_job(ctx, client).await);
    }
    report("ControlPlaneNodesReady", control_plane_nodes_ready(state));
    report("StaticPodManifest", static_pod_manifest(ctx));
    let seen = observe_all(obs, &components(ctx), COMPONENT_HEALTH_WAIT).await;
    report(
        "ControlPlaneComponentsHealthy",
        components_healthy(obs, &seen),
    );
    if errors.is_empty() {
        return Ok(seen);
    }
    Err(PhaseError::new(format!(
        "[preflight] Some fatal errors occurred:\n{}\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`",
        errors.join("\n")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_names_are_case_blind_and_all_ignores_everything() {
        assert!(ignored(&["createjob".into()], "CreateJob"));
        assert!(ignored(&["all".into()], "StaticPodManifest"));
        assert!(!ignored(&["createjob".into()], "StaticPodManifest"));
    }
}
