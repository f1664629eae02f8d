//! `upgrade apply VERSION` (kubeadm's `cmd/upgrade/apply.go` and its phases in
//! `cmd/phases/upgrade/apply/`): preflight, control-plane, upload-config, kubelet-config,
//! addon. Every line goes to the event sink with kubeadm's `[upgrade/...]` tags.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::checks;
use super::observe::Observer;
use super::policy;
use super::state::{self, ClusterState};
use super::staticpods::{StaticPodUpgrade, path_manager};
use crate::config::versions::KubeVersion;
use crate::engine::{EventSink, PhaseCtx, PhaseError};
use crate::host::Host;
use crate::phases::staticpod::Component;

/// What `upgrade apply` was asked.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The version to upgrade to, e.g. `v1.37.2`.
    pub version: String,
    /// `--kubeconfig` (a real path, read through the host).
    pub kubeconfig: PathBuf,
    /// `--certificate-renewal`.
    pub certificate_renewal: bool,
    /// `--etcd-upgrade`.
    pub etcd_upgrade: bool,
    /// `--force`: skippable version-skew errors become warnings.
    pub force: bool,
    /// `--ignore-preflight-errors`, lower-case (`all` ignores every check).
    pub ignore: Vec<String>,
    /// `timeouts.upgradeManifests`.
    pub timeout: Duration,
}

/// A client for the cluster from the kubeconfig at `path` (read through `host`).
/// Errors name the file.
pub async fn client(host: &dyn Host, path: &Path) -> Result<(kube::Client, String), PhaseError> {
    let text = host
        .read(path)
        .map_err(|e| PhaseError::new(format!("cannot read {}", path.display())).caused_by(e))?;
    let text = String::from_utf8_lossy(&text).into_owned();
    let c = crate::kubeapi::client_from_kubeconfig_str(&text, &path.display().to_string()).await?;
    Ok((c, text))
}

/// The configuration of the upgraded cluster: the cluster's own with `kubernetesVersion`
/// set to `target`.
pub fn target_config(state: &ClusterState, target: &KubeVersion) -> crate::config::InitConfig {
    let mut cfg = state.cfg.clone();
    cfg.cluster.kubernetes_version = target.to_string();
    cfg
}

/// kubeadm's `enforceVersionPolicies` over [`policy::enforce`]: prints the versions, fails
/// on a mandatory error, and on a skippable one unless `force`.
pub fn enforce_policies(
    events: &EventSink,
    state: &ClusterState,
    target: &KubeVersion,
    force: bool,
) -> Result<(), PhaseError> {
    const P: &str = "upgrade/preflight";
    events.log(
        P,
        format!(
            "[upgrade/preflight] You have chosen to upgrade the cluster version to {:?}",
            target.to_string()
        ),
    );
    events.log(
        P,
        format!(
            "[upgrade/versions] Cluster version: {}",
            state.cluster_version
        ),
    );
    events.log(
        P,
        format!(
            "[upgrade/versions] kubestrap carries: {}",
            crate::config::versions::carried_list()
        ),
    );
    let cluster = KubeVersion::parse(&state.cluster_version).map_err(|e| {
        PhaseError::new(format!(
            "the cluster version {:?} does not parse: {e}",
            state.cluster_version
        ))
    })?;
    let kubelets: Vec<String> = state
        .nodes
        .iter()
        .map(|n| n.kubelet_version.clone())
        .collect();
    let e = policy::enforce(&cluster, target, &kubelets);
    if !e.mandatory.is_empty() {
        return Err(PhaseError::new(format!(
            "the version argument is invalid due to these fatal errors:\n\n{}\nPlease fix the misalignments highlighted above and try upgrading again",
            policy::format_errors(&e.mandatory)
        )));
    }
    if !e.skippable.is_empty() {
        if !force {
            return Err(PhaseError::new(format!(
                "the version argument is invalid due to these errors:\n\n{}\nCan be bypassed if you pass the --force flag",
                policy::format_errors(&e.skippable)
            )));
        }
        events.warn(
            P,
            format!(
                "[upgrade/preflight] Found {} potential version compatibility errors but skipping since the --force flag is set: \n\n{}",
                e.skippable.len(),
                policy::format_errors(&e.skippable)
            ),
        );
    }
    Ok(())
}

/// The whole `upgrade apply`: reads the cluster, runs preflight (health checks, version
/// policy), asks `confirm` (when given; `Ok(false)` stops before anything changed), then the
/// control-plane, upload-config, kubelet-config and addon phases, on `host` (a dry-run host
/// changes nothing and the API writes are only printed). Errors: the first failure, after a
/// rollback of the manifests when a component did not come up.
pub async fn run(
    host: Arc<dyn Host>,
    events: EventSink,
    cancel: tokio_util::sync::CancellationToken,
    opts: &ApplyOptions,
    confirm: Option<Box<dyn FnOnce() -> Result<bool, String> + Send>>,
) -> Result<(), PhaseError> {
    let target = KubeVersion::parse(&opts.version)
        .map_err(|e| PhaseError::new(format!("invalid version {:?}: {e}", opts.version)))?;
    const P: &str = "upgrade/preflight";
    if policy::carried(target.minor).is_none() || target.major != 1 {
        // Known without the cluster: refused before its (slower) checks.
        let e = policy::enforce(&target, &target, &[]);
        return Err(PhaseError::new(format!(
            "the version argument is invalid due to these fatal errors:\n\n{}\nPlease fix the misalignments highlighted above and try upgrading again",
            policy::format_errors(&e.mandatory)
        )));
    }
    let (client, kubeconfig) = client(host.as_ref(), &opts.kubeconfig).await?;
    events.log(
        "upgrade",
        "[upgrade] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...",
    );
    events.log(
        "upgrade",
        "[upgrade] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.",
    );
    let state = state::load(host.as_ref(), &client)
        .await
        .map_err(PhaseError::new)?;
    events.log(P, "[upgrade/preflight] Running preflight checks");
    let mut ctx = PhaseCtx::new(
        Arc::new(target_config(&state, &target)),
        host.clone(),
        events.clone(),
    );
    ctx.cancel = cancel;
    let old_ctx = {
        let mut c = ctx.clone();
        c.cfg = Arc::new(state.cfg.clone());
        c
    };
    let obs = Observer::new(&old_ctx, &kubeconfig).map_err(PhaseError::new)?;
    let before = checks::cluster_health(&old_ctx, &client, &state, &obs, &opts.ignore).await?;
    enforce_policies(&events, &state, &target, opts.force)?;
    if let Some(ask) = confirm
        && !ask().map_err(PhaseError::new)?
    {
        return Err(PhaseError::new(
            "won't proceed; the user didn't answer (Y|y) in order to continue",
        ));
    }
    if ctx.dry_run() {
        events.log(
            P,
            "[dryrun] Would pull the required images (like 'kubeadm config images pull')",
        );
    } else {
        events.log(
            P,
            "[upgrade/preflight] Not pulling images: the kubelet pulls each new image as it restarts the static Pod ('kubestrap config images pull' pulls them beforehand)",
        );
    }
    control_plane(&ctx, &obs, before, opts).await?;
    upload_config(&ctx).await?;
    kubelet_config(&ctx)?;
    addons(&ctx, &state, &target).await?;
    if ctx.dry_run() {
        events.log(
            "upgrade",
            "[upgrade/successful] Finished dryrunning successfully!",
        );
    } else {
        events.log(
            "upgrade",
            format!(
                "[upgrade] SUCCESS! A control plane node of your cluster was upgraded to {:?}.\n\n[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.",
                target.to_string()
            ),
        );
    }
    Ok(())
}

/// The control-plane phase (kubeadm's `cmd/phases/upgrade/apply/controlplane.go` and
/// `StaticPodControlPlane`).
pub async fn control_plane(
    ctx: &PhaseCtx,
    obs: &Observer,
    before: std::collections::BTreeMap<Component, super::observe::Seen>,
    opts: &ApplyOptions,
) -> Result<(), PhaseError> {
    const P: &str = "upgrade/control-plane";
    let v = &ctx.cfg.cluster.kubernetes_version;
    if ctx.dry_run() {
        ctx.events.log(
            P,
            format!("[dryrun] Would upgrade your static Pod-hosted control plane to version {v:?}"),
        );
    }
    ctx.events.log(
        P,
        format!(
            "[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version {v:?} (timeout: {})...",
            super::go_duration(opts.timeout)
        ),
    );
    let local_etcd = ctx.cfg.cluster.etcd.local.is_some();
    let u = StaticPodUpgrade {
        ctx,
        obs,
        before,
        paths: path_manager(ctx)?,
        renew_certs: opts.certificate_renewal,
        etcd_upgrade: opts.etcd_upgrade,
        timeout: opts.timeout,
    };
    let comps = checks::components(ctx);
    u.write_new_manifests(&comps)?;
    let mut recover = Vec::new();
    if local_etcd && u.etcd_upgrade {
        u.upgrade_etcd(&mut recover).await?;
    }
    for c in [
        Component::KubeApiServer,
        Component::KubeControllerManager,
        Component::KubeScheduler,
    ] {
        u.upgrade_component(c, &mut recover).await?;
    }
    if u.renew_certs {
        let files = crate::day2::certs::Files {
            host: ctx.host.as_ref(),
            cert_dir: &ctx.paths.pki_dir,
            kube_dir: &ctx.paths.kubernetes_dir,
        };
        for name in ["admin.conf", "super-admin.conf"] {
            let Some(h) = crate::day2::certs::handler(name) else {
                continue;
            };
            if !files.host.exists(&files.path_of(h)) {
                continue;
            }
            if ctx.dry_run() {
                ctx.events
                    .log(P, format!("[dryrun] Would renew the {name} certificate"));
                continue;
            }
            match crate::day2::certs::renew(&files, &ctx.cfg, h).map_err(|e| {
                PhaseError::new(format!("failed to upgrade the {name} certificates: {e}"))
            })? {
                crate::day2::certs::Renewed::ExternalCa { .. } => ctx.events.log(
                    P,
                    format!("[upgrade/staticpods] External CA detected, {name} certificate can't be renewed"),
                ),
                _ => ctx.events.log(P, format!("[upgrade/staticpods] Renewing {name} certificate")),
            }
        }
    }
    // kubeadm's CleanupDirs: the new manifests' folder goes, the backups stay.
    let _ = ctx.host.remove_all(&u.paths.temp);
    if !(local_etcd && u.etcd_upgrade) {
        let _ = ctx.host.remove_all(&u.paths.backup_etcd);
    }
    ctx.events.log(
        P,
        "[upgrade/control-plane] The control plane instance for this node was successfully upgraded!",
    );
    Ok(())
}

/// The upload-config phase: the new ClusterConfiguration and KubeletConfiguration
/// (kubeadm's `cmd/phases/upgrade/apply/uploadconfig.go`), through the init phase's code.
pub async fn upload_config(ctx: &PhaseCtx) -> Result<(), PhaseError> {
    crate::phases::upload_config::run(ctx, "all").await?;
    ctx.events.log(
        "upgrade/upload-config",
        "[upgrade/upload-config] The kubeadm ClusterConfiguration and the kubelet configuration were uploaded",
    );
    Ok(())
}

/// The kubelet-config phase (kubeadm's `WriteKubeletConfigFiles`): backs up
/// `/var/lib/kubelet/config.yaml` to `/etc/kubernetes/tmp/kubeadm-kubelet-config-<time>/` and
/// writes the new version's configuration, keeping this node's instance-specific fields.
pub fn kubelet_config(ctx: &PhaseCtx) -> Result<(), PhaseError> {
    const P: &str = "upgrade/kubelet-config";
    let path = Path::new(crate::phases::kubelet::CONFIG_YAML);
    let old = ctx.host.read(path).ok();
    let mut cfg = crate::phases::kubelet::kubelet_config(ctx, false)?;
    if let (Some(old), serde_yaml::Value::Mapping(m)) = (
        old.as_ref()
            .and_then(|b| serde_yaml::from_slice::<serde_yaml::Value>(b).ok()),
        &mut cfg,
    ) {
        for k in crate::phases::kubelet::INSTANCE_SPECIFIC_KEYS {
            if let Some(v) = old.get(*k) {
                m.insert((*k).into(), v.clone());
            }
        }
    }
    let yaml = serde_yaml::to_string(&cfg)
        .map_err(|e| PhaseError::new("encoding the KubeletConfiguration").caused_by(e))?;
    if ctx.dry_run() {
        let mut msg = format!(
            "[dryrun] Would write file {:?} with content:",
            path.display().to_string()
        );
        for l in yaml.lines() {
            msg.push_str("\n\t");
            msg.push_str(l);
        }
        ctx.events.log(P, msg);
        return Ok(());
    }
    if let Some(old) = old {
        let dir = super::files::timestamp_dir(ctx.host.as_ref(), "kubeadm-kubelet-config")
            .map_err(|e| {
                PhaseError::new("cannot create the kubelet config backup folder").caused_by(e)
            })?;
        let dest = dir.join("config.yaml");
        ctx.events.log(
            P,
            format!(
                "[upgrade] Backing up kubelet config file to {}",
                dest.display()
            ),
        );
        ctx.host.write_atomic(&dest, &old, 0o644).map_err(|e| {
            PhaseError::new("error backing up the kubelet config file").caused_by(e)
        })?;
    }
    if !ctx.host.exists(&ctx.paths.kubelet_dir) {
        ctx.host
            .create_dir_all(&ctx.paths.kubelet_dir, 0o700)
            .map_err(|e| {
                PhaseError::new(format!("creating {}", ctx.paths.kubelet_dir.display()))
                    .caused_by(e)
            })?;
    }
    ctx.events.log(
        P,
        format!(
            "[kubelet-start] Writing kubelet configuration to file {:?}",
            path.display().to_string()
        ),
    );
    ctx.host
        .write_atomic(path, yaml.as_bytes(), 0o644)
        .map_err(|e| PhaseError::new(format!("writing {}", path.display())).caused_by(e))?;
    ctx.events.log(
        P,
        "[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!",
    );
    Ok(())
}

/// The addon phase: CoreDNS and kube-proxy at the new version (kubeadm's
/// `cmd/phases/upgrade/addons.go`), skipped while another control-plane node still runs an
/// older kube-apiserver (kubeadm's `UnupgradedControlPlaneInstances`).
pub async fn addons(
    ctx: &PhaseCtx,
    state: &ClusterState,
    target: &KubeVersion,
) -> Result<(), PhaseError> {
    let me = &ctx.cfg.init.node_registration.name;
    let behind: Vec<String> = state
        .component_tags
        .get("kube-apiserver")
        .into_iter()
        .flatten()
        .filter(|(node, tag)| node != me && *tag != target.image_tag())
        .map(|(node, _)| node.clone())
        .collect();
    if !behind.is_empty() {
        ctx.events.log(
            "upgrade/addon",
            format!(
                "[upgrade/addon] Skipping upgrade of addons because control plane instances [{}] have not been upgraded",
                behind.join(" ")
            ),
        );
        return Ok(());
    }
    crate::phases::addons::run(ctx, "all").await
}
