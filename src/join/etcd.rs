//! Stacked etcd of a control-plane join: `check-etcd` and `etcd-join` (add this node as a
//! learner, write etcd.yaml with the whole initial cluster, wait for the learner to start and
//! catch up, promote it, wait for the cluster).
//!
//! Mirrors kubeadm `app/cmd/phases/join/checketcd.go`, `app/cmd/phases/join/controlplanejoin.go`
//! (`runEtcdPhase`), `app/phases/etcd/local.go` (`CreateStackedEtcdStaticPodManifestFile`)
//! and `app/util/etcd/etcd.go` (`NewFromCluster`, `AddMemberAsLearner`, `MemberPromote`,
//! `WaitForClusterAvailable`), over [`crate::kubeapi::etcd`].

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Endpoints, Pod};
use kube::api::ListParams;
use kube::{Api, Client};

use crate::engine::{Event, PhaseCtx, PhaseError, ProbeOutcome};
use crate::kubeapi::etcd::{EtcdClient, Member, url_host};
use crate::phases::etcd::{ADVERTISE_CLIENT_URLS_ANNOTATION, ETCD_CLIENT_PORT, ETCD_PEER_PORT};
use crate::phases::staticpod::{self, Component, PodInputs};

/// Progress component of the learner steps in [`Event::Probe`]s.
pub const LEARNER_PROBE: &str = "etcd-learner";

/// Intervals and limits of the etcd steps (kubeadm's defaults).
#[derive(Debug, Clone)]
pub struct EtcdTuning {
    /// Between retries (kubeadm's `EtcdAPICallRetryInterval`, 500 ms).
    pub retry_interval: Duration,
    /// One etcd request (kubeadm's `etcdTimeout`, 2 s; more under load).
    pub request_timeout: Duration,
    /// The final wait for the cluster (kubeadm: 8 × 5 s).
    pub cluster_wait: Duration,
}

impl Default for EtcdTuning {
    fn default() -> Self {
        EtcdTuning {
            retry_interval: Duration::from_millis(500),
            request_timeout: Duration::from_secs(10),
            cluster_wait: Duration::from_secs(40),
        }
    }
}

/// This node's etcd peer URL (`GetPeerURL`): `https://<advertise>:2380`.
pub fn peer_url(ctx: &PhaseCtx) -> String {
    format!(
        "https://{}:{ETCD_PEER_PORT}",
        url_host(&ctx.cfg.init.local_api_endpoint.advertise_address)
    )
}

/// `timeouts.etcdAPICall` (2 minutes by default).
pub fn etcd_api_timeout(ctx: &PhaseCtx) -> Duration {
    ctx.cfg
        .init
        .timeouts
        .as_ref()
        .and_then(|t| t.etcd_api_call.as_ref())
        .map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(120))
}

/// The etcd client URLs of the cluster, as kubeadm's `NewFromCluster` finds them: the
/// `kubeadm.kubernetes.io/etcd.advertise-client-urls` annotation of the etcd Pods
/// (`component=etcd,tier=control-plane` in kube-system); when there is none (no mirror
/// Pods yet), the addresses of the API servers in `default/kubernetes` on port 2379 (each
/// stacked member sits beside an API server). Errors: neither could be read or both are empty.
pub async fn cluster_endpoints(client: &Client) -> Result<Vec<String>, PhaseError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let mut out: Vec<String> = Vec::new();
    if let Ok(list) = pods
        .list(&ListParams::default().labels("component=etcd,tier=control-plane"))
        .await
    {
        for p in list.items {
            if let Some(u) = p
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(ADVERTISE_CLIENT_URLS_ANNOTATION))
                && !out.contains(u)
            {
                out.push(u.clone());
            }
        }
    }
    if out.is_empty() {
        let eps: Api<Endpoints> = Api::namespaced(client.clone(), "default");
        let e = eps.get("kubernetes").await.map_err(|e| {
            PhaseError::new(
                "cannot find the etcd members: no etcd Pods and default/kubernetes cannot be read",
            )
            .caused_by(e)
        })?;
        for s in e.subsets.unwrap_or_default() {
            for a in s.addresses.unwrap_or_default() {
                let u = format!("https://{}:{ETCD_CLIENT_PORT}", url_host(&a.ip));
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(PhaseError::new(
            "cannot find the etcd members: no etcd Pod annotations and no API server addresses in default/kubernetes",
        ));
    }
    Ok(out)
}

fn admin_client_error(e: PhaseError) -> PhaseError {
    PhaseError {
        message: format!("couldn't create Kubernetes client: {}", e.message),
        ..e
    }
}

/// An etcd client for the cluster, from admin.conf and this node's etcd client certificate.
pub async fn cluster_client(ctx: &PhaseCtx, t: &EtcdTuning) -> Result<EtcdClient, PhaseError> {
    let admin = ctx.paths.kubernetes_dir.join("admin.conf");
    let client = crate::kubeapi::client_from_kubeconfig(ctx, &admin)
        .await
        .map_err(admin_client_error)?;
    let eps = cluster_endpoints(&client).await?;
    EtcdClient::from_pki(
        ctx.host.as_ref(),
        &ctx.paths.pki_dir,
        eps,
        t.request_timeout,
    )
    .map_err(PhaseError::new)
}

fn list_text(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| {
            format!(
                "{}={}{}",
                if m.name.is_empty() {
                    "(not started)"
                } else {
                    &m.name
                },
                m.peer_url(),
                if m.is_learner { " (learner)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `check-etcd`: the cluster answers a member list, every member has started, and no
/// member other than this node's peer URL carries this node's name (a second node with the
/// same name would make two etcd members of one name). Dry-run: only says what it would
/// check. Errors name the problem and the members.
pub async fn check_etcd(ctx: &PhaseCtx, t: &EtcdTuning) -> Result<(), PhaseError> {
    const PHASE: &str = "check-etcd";
    if ctx.cfg.cluster.etcd.external.is_some() {
        ctx.events
            .log(PHASE, "[check-etcd] Skipping etcd check in external mode");
        return Ok(());
    }
    if ctx.dry_run() {
        ctx.events.log(
            PHASE,
            "[dryrun] Would check that the etcd cluster is healthy",
        );
        return Ok(());
    }
    ctx.events.log(
        PHASE,
        "[check-etcd] Checking that the etcd cluster is healthy",
    );
    let etcd = cluster_client(ctx, t).await?;
    let members = etcd
        .member_list()
        .await
        .map_err(|e| PhaseError::new("the etcd cluster is not healthy").caused_by(e))?;
    let name = &ctx.cfg.init.node_registration.name;
    let peer = peer_url(ctx);
    if let Some(m) = members
        .iter()
        .find(|m| &m.name == name && m.peer_url() != peer)
    {
        return Err(PhaseError::new(format!(
            "a node named {name:?} is already an etcd member of this cluster (peer {}); a second control-plane node with the same name cannot join",
            m.peer_url()
        ))
        .hint("give this node another name with --node-name (or nodeRegistration.name), or remove the old node first (kubestrap reset on it)"));
    }
    if let Some(m) = members
        .iter()
        .find(|m| !m.started() && m.peer_url() != peer)
    {
        return Err(PhaseError::new(format!(
            "the etcd cluster has a member that never started (peer {}): adding another member could cost the cluster its quorum",
            m.peer_url()
        ))
        .hint("remove it with etcdctl member remove, or finish that node's join first"));
    }
    ctx.events.log(
        PHASE,
        format!("[check-etcd] etcd members: {}", list_text(&members)),
    );
    Ok(())
}

fn progress(
    ctx: &PhaseCtx,
    peer: &str,
    attempt: u32,
    start: Instant,
    limit: Duration,
    o: ProbeOutcome,
) {
    ctx.events.send(Event::Probe {
        component: LEARNER_PROBE.into(),
        url: peer.into(),
        attempt,
        outcome: o,
        elapsed_ms: start.elapsed().as_millis() as u64,
        timeout_ms: limit.as_millis() as u64,
    });
}

/// `AddMemberAsLearner` with kubeadm's retries: a member with this peer URL already there is
/// taken as it is. Returns the learner's ID and the (name, peer URL) list for
/// `--initial-cluster` (members without a name are named by their hex ID).
async fn add_learner(
    ctx: &PhaseCtx,
    etcd: &EtcdClient,
    peer: &str,
    t: &EtcdTuning,
) -> Result<(u64, Vec<(String, String)>, bool), PhaseError> {
    let limit = etcd_api_timeout(ctx);
    let start = Instant::now();
    let name = ctx.cfg.init.node_registration.name.clone();
    loop {
        let r = match etcd.member_list().await {
            Ok(list) => match list.iter().find(|m| m.peer_url() == peer) {
                Some(m) => Ok((m.id, list.clone(), false)),
                None => etcd
                    .member_add_learner(peer)
                    .await
                    .map(|(m, l)| (m.id, l, true)),
            },
            Err(e) => Err(e),
        };
        match r {
            Ok((id, list, added)) => {
                let members = list
                    .iter()
                    .map(|m| {
                        let n = if m.id == id {
                            name.clone()
                        } else if m.name.is_empty() {
                            format!("{:x}", m.id)
                        } else {
                            m.name.clone()
                        };
                        (n, m.peer_url().to_string())
                    })
                    .collect();
                return Ok((id, members, added));
            }
            Err(e) if start.elapsed() + t.retry_interval < limit => {
                tracing::debug!("etcd member add: {e}");
                // Nothing was added yet: a cancel stops the retries here.
                crate::engine::or_cancelled(
                    &ctx.cancel,
                    "etcd-join",
                    tokio::time::sleep(t.retry_interval),
                )
                .await?;
            }
            Err(e) => {
                return Err(PhaseError::new(format!(
                    "cannot add etcd member {peer} as a learner within {}s",
                    limit.as_secs()
                ))
                .caused_by(e));
            }
        }
    }
}

/// Waits for the learner `id` to start, then promotes it, retrying while etcd says it is not
/// in sync with the leader (the catch-up), each attempt reported as an [`Event::Probe`] of
/// [`LEARNER_PROBE`]. Bounded by `timeouts.etcdAPICall` per step.
async fn start_and_promote(
    ctx: &PhaseCtx,
    etcd: &EtcdClient,
    id: u64,
    peer: &str,
    t: &EtcdTuning,
) -> Result<(), PhaseError> {
    const PHASE: &str = "etcd-join";
    let limit = etcd_api_timeout(ctx);
    let hex = format!("{id:x}");
    ctx.events.log(
        PHASE,
        format!("[etcd] Waiting for the learner {hex} ({peer}) to start"),
    );
    let start = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let why = match etcd.member_list().await {
            Ok(l) => match l.iter().find(|m| m.id == id) {
                Some(m) if !m.is_learner => {
                    progress(ctx, peer, attempt, start, limit, ProbeOutcome::Healthy);
                    return Ok(());
                }
                Some(m) if m.started() => break,
                Some(_) => format!("the etcd member {hex} is not started"),
                None => format!("member {hex} not found"),
            },
            Err(e) => e.to_string(),
        };
        progress(
            ctx,
            peer,
            attempt,
            start,
            limit,
            ProbeOutcome::Error {
                message: why.clone(),
            },
        );
        if start.elapsed() + t.retry_interval >= limit {
            return Err(PhaseError::new(format!(
                "the etcd learner {hex} ({peer}) did not start within {}s: {why}",
                limit.as_secs()
            ))
            .hint("check this node's etcd log (crictl logs) and that port 2380 is reachable between the control-plane nodes"));
        }
        tokio::time::sleep(t.retry_interval).await;
    }
    ctx.events.log(
        PHASE,
        format!("[etcd] The learner {hex} started; promoting it to a voting member once it has caught up with the leader"),
    );
    let start = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let why = match etcd.member_promote(id).await {
            Ok(_) => {
                progress(ctx, peer, attempt, start, limit, ProbeOutcome::Healthy);
                ctx.events.log(
                    PHASE,
                    format!("[etcd] The learner {hex} was promoted to a voting member"),
                );
                return Ok(());
            }
            Err(e) => {
                // Promotion may have gone through while the answer was lost.
                if let Ok(l) = etcd.member_list().await
                    && l.iter().any(|m| m.id == id && !m.is_learner)
                {
                    progress(ctx, peer, attempt, start, limit, ProbeOutcome::Healthy);
                    return Ok(());
                }
                e.message
            }
        };
        progress(
            ctx,
            peer,
            attempt,
            start,
            limit,
            ProbeOutcome::Error {
                message: why.clone(),
            },
        );
        if start.elapsed() + t.retry_interval >= limit {
            return Err(PhaseError::new(format!(
                "the etcd learner {hex} ({peer}) did not catch up with the leader within {}s: {why}",
                limit.as_secs()
            ))
            .hint("the new member could not copy the cluster's data in time: check its etcd log, the network between the nodes, and disk speed; raise timeouts.etcdAPICall for a large cluster"));
        }
        tokio::time::sleep(t.retry_interval).await;
    }
}

/// `WaitForClusterAvailable`: every member started and voting, and this node's own etcd
/// answering, within `t.cluster_wait`.
async fn wait_cluster(ctx: &PhaseCtx, t: &EtcdTuning) -> Result<(), PhaseError> {
    let own = format!(
        "https://{}:{ETCD_CLIENT_PORT}",
        url_host(&ctx.cfg.init.local_api_endpoint.advertise_address)
    );
    let local = EtcdClient::from_pki(
        ctx.host.as_ref(),
        &ctx.paths.pki_dir,
        vec![own.clone()],
        t.request_timeout,
    )
    .map_err(PhaseError::new)?;
    let start = Instant::now();
    loop {
        let why = match local.member_list().await {
            Ok(l) if l.iter().all(|m| m.started() && !m.is_learner) => return Ok(()),
            Ok(l) => format!("members: {}", list_text(&l)),
            Err(e) => e.to_string(),
        };
        if start.elapsed() + t.retry_interval >= t.cluster_wait {
            return Err(PhaseError::new(format!(
                "the etcd cluster did not become available through {own} within {}s: {why}",
                t.cluster_wait.as_secs()
            )));
        }
        tokio::time::sleep(t.retry_interval).await;
    }
}

/// Undoes a failed join of this member: removes the learner this run added (so etcd keeps
/// its previous members) and this node's etcd.yaml. Best effort; says what it did.
async fn roll_back(ctx: &PhaseCtx, etcd: &EtcdClient, id: u64) {
    const PHASE: &str = "etcd-join";
    let path = ctx.paths.manifests_dir.join("etcd.yaml");
    let _ = ctx.host.remove_file(&path);
    match etcd.member_remove(id).await {
        Ok(l) => ctx.events.warn(
            PHASE,
            format!(
                "removed the learner {id:x} this join added and {}; etcd members: {}",
                path.display(),
                list_text(&l)
            ),
        ),
        Err(e) => ctx.events.warn(
            PHASE,
            format!("could not remove the learner {id:x} this join added: {e}; remove it with etcdctl member remove {id:x}"),
        ),
    }
}

/// What the etcd-join step says with external etcd (kubeadm's words, `app/cmd/phases/join/controlplanejoin.go`
/// `runEtcdPhase`); the join wizard reads it to leave out the etcd member steps and, as
/// kubeadm's done message, the "new etcd member" line.
pub const EXTERNAL_ETCD: &str =
    "[control-plane-join] Using external etcd - no local stacked instance added";

/// `etcd-join` (kubeadm's `runEtcdPhase` + `CreateStackedEtcdStaticPodManifestFile`): with
/// external etcd only says so; else creates the data directory (0700), adds this node as a
/// learner, writes etcd.yaml with `--initial-cluster` of every member and
/// `--initial-cluster-state=existing`, waits for the learner to start and catch up, promotes
/// it and waits for the cluster. When a step after the learner was added fails or is cancelled
/// (Ctrl-C, `ctx.cancel`), the learner and etcd.yaml are removed again (kubeadm leaves them),
/// so etcd keeps its previous members; the caller must not drop this future at a cancel.
/// Dry-run: writes the manifest with this member only and says what it would do.
///
/// Errors: the data directory, the manifest, or an etcd step (named, with etcd's message).
pub async fn etcd_join(ctx: &PhaseCtx, t: &EtcdTuning) -> Result<(), PhaseError> {
    const PHASE: &str = "etcd-join";
    if ctx.cfg.cluster.etcd.external.is_some() {
        ctx.events.log(PHASE, EXTERNAL_ETCD);
        return Ok(());
    }
    let data_dir = ctx.paths.etcd_data_dir.clone();
    if ctx.dry_run() {
        ctx.events.log(
            PHASE,
            format!(
                "[control-plane-join] Would ensure that {:?} directory is present",
                data_dir.display().to_string()
            ),
        );
    } else {
        ctx.host
            .create_dir_all(&data_dir, crate::phases::etcd::DATA_DIR_MODE)
            .map_err(|e| {
                PhaseError::new(format!(
                    "failed to create the etcd data directory {:?}",
                    data_dir.display().to_string()
                ))
                .caused_by(e)
            })?;
    }
    let peer = peer_url(ctx);
    let inputs = PodInputs::gather(ctx.host.as_ref(), &ctx.paths);
    if ctx.dry_run() {
        ctx.events
            .log(PHASE, format!("[etcd] Would add etcd member: {peer}"));
        ctx.events
            .log(PHASE, "[etcd] Creating static Pod manifest for \"etcd\"");
        let name = ctx.cfg.init.node_registration.name.clone();
        let pod = crate::phases::etcd::build_etcd_pod_with_cluster(
            &ctx.cfg,
            &inputs,
            Some(&[(name, peer.clone())]),
        )?;
        staticpod::write_manifests(ctx, &[(Component::Etcd, pod)])?;
        ctx.events.log(
            PHASE,
            "[etcd] Would wait for the new etcd member to join the cluster",
        );
        return Ok(());
    }
    // Nothing is added before the learner: a cancel here simply stops.
    let etcd = crate::engine::or_cancelled(&ctx.cancel, PHASE, cluster_client(ctx, t)).await??;
    // The add itself is not dropped half-way (its answer names the learner to remove);
    // its retries stop at a cancel.
    let (id, members, added) = add_learner(ctx, &etcd, &peer, t).await?;
    ctx.events.log(
        PHASE,
        format!(
            "[etcd] Announced new etcd member joining to the existing etcd cluster (learner {id:x}, {peer})"
        ),
    );
    let rest = async {
        ctx.events
            .log(PHASE, "[etcd] Creating static Pod manifest for \"etcd\"");
        let pod =
            crate::phases::etcd::build_etcd_pod_with_cluster(&ctx.cfg, &inputs, Some(&members))?;
        staticpod::write_manifests(ctx, &[(Component::Etcd, pod)]).map_err(|e| PhaseError {
            message: format!(
                "error creating local etcd static pod manifest file: {}",
                e.message
            ),
            ..e
        })?;
        start_and_promote(ctx, &etcd, id, &peer, t).await?;
        ctx.events.log(
            PHASE,
            format!(
                "[etcd] Waiting for the new etcd member to join the cluster. This can take up to {}s",
                t.cluster_wait.as_secs()
            ),
        );
        wait_cluster(ctx, t).await
    };
    // A failure or a cancel (Ctrl-C) from here on removes the learner this run added, so
    // etcd keeps its previous members; the runner waits for this (`phase_cleaning_up`).
    let r = crate::engine::or_cancelled(&ctx.cancel, PHASE, rest)
        .await
        .and_then(|r| r);
    if let Err(e) = r {
        if added {
            roll_back(ctx, &etcd, id).await;
        }
        return Err(e);
    }
    Ok(())
}
