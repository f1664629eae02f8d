//! The static Pod part of an upgrade (kubeadm's `phases/upgrade/staticpods.go`
//! `StaticPodControlPlane`, `upgradeComponent`, `performEtcdStaticPodUpgrade`,
//! `rollbackOldManifests`, `renewCertsByComponent`): new manifests written to
//! `/etc/kubernetes/tmp/kubeadm-upgraded-manifests*`, the old ones backed up to
//! `/etc/kubernetes/tmp/kubeadm-backup-manifests-<time>`, the etcd data to
//! `/etc/kubernetes/tmp/kubeadm-backup-etcd-<time>`, etcd first, then kube-apiserver,
//! kube-controller-manager and kube-scheduler, each waited for (see [`super::observe`]) and
//! rolled back when it does not come up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::files;
use super::observe::{Observer, Seen, expected_version};
use crate::day2::certs::{self, Files, Renewed};
use crate::engine::{PhaseCtx, PhaseError};
use crate::phases::staticpod::{self, Component, MANIFEST_MODE, PodInputs};

const PHASE: &str = "upgrade/control-plane";

/// Where an upgrade keeps its files (kubeadm's `KubeStaticPodPathManager`).
#[derive(Debug, Clone)]
pub struct PathManager {
    /// `/etc/kubernetes/tmp/kubeadm-upgraded-manifests<N>`: the new manifests.
    pub temp: PathBuf,
    /// `/etc/kubernetes/tmp/kubeadm-backup-manifests-<time>`: the old manifests (kept).
    pub backup_manifests: PathBuf,
    /// `/etc/kubernetes/tmp/kubeadm-backup-etcd-<time>`: the etcd data (kept after an etcd
    /// upgrade).
    pub backup_etcd: PathBuf,
}

/// What the control-plane step needs.
#[derive(Debug)]
pub struct StaticPodUpgrade<'a> {
    /// The context with the **new** configuration.
    pub ctx: &'a PhaseCtx,
    pub obs: &'a Observer,
    /// What each component reported before (process start, version).
    pub before: BTreeMap<Component, Seen>,
    pub paths: PathManager,
    pub renew_certs: bool,
    pub etcd_upgrade: bool,
    /// `timeouts.upgradeManifests`: how long one component may take to come up.
    pub timeout: Duration,
}

/// kubeadm's `renewCertsByComponent`: the certificates a component uses.
pub fn certs_of(c: Component, local_etcd: bool) -> Vec<&'static str> {
    match c {
        Component::Etcd if local_etcd => {
            vec!["etcd-server", "etcd-peer", "etcd-healthcheck-client"]
        }
        Component::Etcd => vec![],
        Component::KubeApiServer => {
            let mut v = vec![
                "apiserver",
                "apiserver-kubelet-client",
                "front-proxy-client",
            ];
            if local_etcd {
                v.push("apiserver-etcd-client");
            }
            v
        }
        Component::KubeControllerManager => vec!["controller-manager.conf"],
        Component::KubeScheduler => vec!["scheduler.conf"],
    }
}

impl StaticPodUpgrade<'_> {
    fn log(&self, msg: impl Into<String>) {
        self.ctx.events.log(PHASE, msg);
    }

    fn real(&self, c: Component) -> PathBuf {
        c.manifest_path(&self.ctx.paths)
    }

    fn temp(&self, c: Component) -> PathBuf {
        self.paths.temp.join(format!("{}.yaml", c.name()))
    }

    fn backup(&self, c: Component) -> PathBuf {
        self.paths
            .backup_manifests
            .join(format!("{}.yaml", c.name()))
    }

    fn read(&self, p: &Path) -> Result<Vec<u8>, PhaseError> {
        self.ctx
            .host
            .read(p)
            .map_err(|e| PhaseError::new(format!("cannot read {}", p.display())).caused_by(e))
    }

    fn write(&self, p: &Path, data: &[u8]) -> Result<(), PhaseError> {
        self.ctx
            .host
            .write_atomic(p, data, MANIFEST_MODE)
            .map_err(|e| PhaseError::new(format!("cannot write {}", p.display())).caused_by(e))
    }

    /// `renewCertsByComponent` through kubestrap's `certs renew`.
    fn renew(&self, names: &[&str]) -> Result<(), String> {
        let files = Files {
            host: self.ctx.host.as_ref(),
            cert_dir: &self.ctx.paths.pki_dir,
            kube_dir: &self.ctx.paths.kubernetes_dir,
        };
        for n in names {
            let Some(h) = certs::handler(n) else { continue };
            if self.ctx.dry_run() {
                self.log(format!("[dryrun] Would renew the {n} certificate"));
                continue;
            }
            self.log(format!("[upgrade/staticpods] Renewing {n} certificate"));
            match certs::renew(&files, &self.ctx.cfg, h)? {
                Renewed::ExternalCa { .. } => self.log(format!(
                    "[upgrade/staticpods] External CA detected, {n} certificate can't be renewed"
                )),
                Renewed::Missing | Renewed::Done => {}
            }
        }
        Ok(())
    }

    /// Writes every new manifest to the temporary folder (kubeadm's
    /// `CreateInitStaticPodManifestFiles` into `TempManifestDir`).
    pub fn write_new_manifests(&self, comps: &[Component]) -> Result<(), PhaseError> {
        self.log(format!(
            "[upgrade/staticpods] Writing new Static Pod manifests to {:?}",
            self.paths.temp.display().to_string()
        ));
        let inputs = PodInputs::gather(self.ctx.host.as_ref(), &self.ctx.paths);
        for c in comps {
            let pod = crate::phases::build_pod(*c, &self.ctx.cfg, &inputs)?;
            let yaml = staticpod::to_yaml(*c, &pod)?;
            self.write(&self.temp(*c), yaml.as_bytes())?;
        }
        Ok(())
    }

    fn expected(&self, c: Component) -> String {
        let tag = crate::phases::etcd::etcd_image_tag(&self.ctx.cfg).unwrap_or_default();
        expected_version(c, &self.ctx.cfg.cluster.kubernetes_version, &tag)
    }

    /// Waits until `c` runs a new process (its start differs from `before`) of `version` and
    /// is healthy, within the timeout. Errors name the component, the version and the last
    /// answer.
    async fn wait_restarted(
        &self,
        c: Component,
        before: Option<&str>,
        version: &str,
    ) -> Result<(), String> {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let mut restarted = false;
        let last = loop {
            let s = self.obs.observe(c).await;
            let new_process = s.started.is_some() && s.started.as_deref() != before;
            if new_process && !restarted && s.version.as_deref() == Some(version) {
                restarted = true;
                self.log(format!(
                    "[upgrade/staticpods] {} restarted: a new process reports version {version} after {:.1}s",
                    c.name(),
                    start.elapsed().as_secs_f64()
                ));
            }
            if restarted && s.healthy {
                self.log(format!(
                    "[upgrade/staticpods] {} is healthy ({}) after {:.1}s",
                    c.name(),
                    self.obs.health_url(c),
                    start.elapsed().as_secs_f64()
                ));
                return Ok(());
            }
            if Instant::now() >= deadline {
                break s;
            }
            tokio::select! {
                _ = self.ctx.cancel.cancelled() => return Err(format!("cancelled while waiting for {}", c.name())),
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        };
        let what = if restarted {
            format!("it restarted at {version} but did not become healthy")
        } else if last.version.is_some() && last.version.as_deref() != Some(version) {
            format!(
                "it still reports version {} (the kubelet did not restart it with the new manifest)",
                last.version.as_deref().unwrap_or("")
            )
        } else {
            "no new process answered".to_string()
        };
        Err(format!(
            "component {:?} did not come up at {version} within {}: {what}; last answer from {}: {}",
            c.name(),
            super::go_duration(self.timeout),
            self.obs.health_url(c),
            if last.answer.is_empty() {
                "none"
            } else {
                &last.answer
            }
        ))
    }

    /// kubeadm's `rollbackOldManifests`: puts back every backed-up manifest in `recover`
    /// (etcd only when `restore_etcd`), then waits for each of them to be healthy at its old
    /// version again. Always returns an error, naming `cause`.
    async fn rollback(
        &self,
        recover: &[(Component, Vec<u8>)],
        cause: String,
        restore_etcd: bool,
    ) -> PhaseError {
        let mut errs = vec![cause];
        let mut restored = Vec::new();
        for (c, old) in recover.iter().rev() {
            if *c == Component::Etcd && !restore_etcd {
                continue;
            }
            // The process running the new manifest now (if any): the one to see replaced.
            let failed = self.obs.observe(*c).await.started;
            self.log(format!(
                "[upgrade/staticpods] Rolling back the manifest of {:?} from {:?}",
                c.name(),
                self.backup(*c).display().to_string()
            ));
            match self.write(&self.real(*c), old) {
                Ok(()) => restored.push((*c, failed)),
                Err(e) => errs.push(e.chain()),
            }
        }
        for (c, failed) in restored {
            let b = self.before.get(&c).cloned().unwrap_or_default();
            let old_version = b.version.clone().unwrap_or_default();
            match self
                .wait_restarted(c, failed.as_deref(), &old_version)
                .await
            {
                Ok(()) => self.log(format!(
                    "[upgrade/staticpods] {} is back at {old_version}",
                    c.name()
                )),
                Err(e) => errs.push(format!("rollback: {e}")),
            }
        }
        PhaseError::new(format!(
            "couldn't upgrade control plane. kubestrap has tried to recover everything into the earlier state. Errors faced: [{}]",
            errs.join(", ")
        ))
        .hint(format!(
            "the manifests before the upgrade are in {}; the component's log: 'crictl logs' of its newest container",
            self.paths.backup_manifests.display()
        ))
    }

    /// kubeadm's `upgradeComponent` for `c`: skip when the manifests are equal, renew its
    /// certificates, back up the old manifest and move the new one in, wait for the restart
    /// and health; on failure roll back (see [`Self::rollback`]).
    pub async fn upgrade_component(
        &self,
        c: Component,
        recover: &mut Vec<(Component, Vec<u8>)>,
    ) -> Result<(), PhaseError> {
        self.log(format!(
            "[upgrade/staticpods] Preparing for {:?} upgrade",
            c.name()
        ));
        let (real, temp, backup) = (self.real(c), self.temp(c), self.backup(c));
        let old = self.read(&real)?;
        let new = self.read(&temp)?;
        let parse = |b: &[u8]| serde_yaml::from_slice::<serde_yaml::Value>(b).ok();
        if old == new || (parse(&old).is_some() && parse(&old) == parse(&new)) {
            self.log(format!(
                "[upgrade/staticpods] Current and new manifests of {} are equal, skipping upgrade",
                c.name()
            ));
            return Ok(());
        }
        if self.renew_certs
            && let Err(e) = self.renew(&certs_of(c, self.ctx.cfg.cluster.etcd.local.is_some()))
        {
            let cause = format!(
                "failed to renew certificates for component {:?}: {e}",
                c.name()
            );
            return Err(self.rollback(recover, cause, c == Component::Etcd).await);
        }
        if self.ctx.dry_run() {
            let mut msg = format!(
                "[dryrun] Would back up {:?} to {:?} and write file {:?} with content:",
                real.display().to_string(),
                backup.display().to_string(),
                real.display().to_string()
            );
            for line in String::from_utf8_lossy(&new).lines() {
                msg.push_str("\n\t");
                msg.push_str(line);
            }
            self.log(msg);
            return Ok(());
        }
        self.log(format!(
            "[upgrade/staticpods] Moving new manifest to {:?} and backing up old manifest to {:?}",
            real.display().to_string(),
            backup.display().to_string()
        ));
        self.write(&backup, &old)?;
        recover.push((c, old));
        if let Err(e) = self.write(&real, &new) {
            return Err(self
                .rollback(recover, e.chain(), c == Component::Etcd)
                .await);
        }
        let _ = self.ctx.host.remove_file(&temp);
        self.log("[upgrade/staticpods] Waiting for the kubelet to restart the component");
        self.log(format!(
            "[upgrade/staticpods] This can take up to {}",
            super::go_duration(self.timeout)
        ));
        let before = self.before.get(&c).and_then(|s| s.started.clone());
        let version = self.expected(c);
        if let Err(e) = self.wait_restarted(c, before.as_deref(), &version).await {
            return Err(self.rollback(recover, e, c == Component::Etcd).await);
        }
        self.log(format!(
            "[upgrade/staticpods] Component {:?} upgraded successfully!",
            c.name()
        ));
        Ok(())
    }

    /// kubeadm's `performEtcdStaticPodUpgrade`: health, data backup, version comparison, then
    /// [`Self::upgrade_component`]. A desired etcd older than the running one is a non-fatal
    /// skip, as in kubeadm. When etcd fails, its data is restored from the backup if the old
    /// etcd does not come back by itself.
    pub async fn upgrade_etcd(
        &self,
        recover: &mut Vec<(Component, Vec<u8>)>,
    ) -> Result<(), PhaseError> {
        let data = self.ctx.paths.etcd_data_dir.clone();
        let backup = self.paths.backup_etcd.join("etcd");
        if self.ctx.dry_run() {
            self.log(format!(
                "[dryrun] Would back up the etcd data directory {:?} to {:?}",
                data.display().to_string(),
                backup.display().to_string()
            ));
        } else {
            let n = files::copy_dir(self.ctx.host.as_ref(), &data, &backup)
                .map_err(|e| PhaseError::new(format!("failed to back up etcd data: {e}")))?;
            self.log(format!(
                "[upgrade/etcd] Backed up the etcd data directory {:?} to {:?} ({n} files)",
                data.display().to_string(),
                backup.display().to_string()
            ));
        }
        let desired = self.expected(Component::Etcd);
        let current = super::state::manifest_image(self.ctx.host.as_ref(), Component::Etcd)
            .as_deref()
            .and_then(super::state::image_tag)
            .map(|t| expected_version(Component::Etcd, "", &t))
            .unwrap_or_default();
        let older = |a: &str, b: &str| {
            let p = |s: &str| -> Vec<u32> { s.split('.').filter_map(|x| x.parse().ok()).collect() };
            p(a) < p(b)
        };
        if older(&desired, &current) {
            self.log(format!(
                "[upgrade/etcd] Non fatal issue encountered during upgrade: the desired etcd version {desired:?} is older than the currently installed {current:?}. Skipping etcd upgrade"
            ));
            return Ok(());
        }
        let result = self.upgrade_component(Component::Etcd, recover).await;
        if let Err(e) = result {
            self.log(format!(
                "[upgrade/etcd] Failed to upgrade etcd: {}",
                e.chain()
            ));
            self.log("[upgrade/etcd] Waiting for previous etcd to become available");
            let seen = super::checks::observe_all(self.obs, &[Component::Etcd], self.timeout).await;
            if !seen.get(&Component::Etcd).is_some_and(|s| s.healthy) && !self.ctx.dry_run() {
                self.log("[upgrade/etcd] Rolling back etcd data");
                files::copy_dir(self.ctx.host.as_ref(), &backup, &data).map_err(|err| {
                    PhaseError::new(format!(
                        "fatal error rolling back local etcd cluster datadir: {err}, the backup of etcd database is stored here:({})",
                        self.paths.backup_etcd.display()
                    ))
                })?;
                self.log("[upgrade/etcd] Etcd data rollback successful");
            }
            return Err(PhaseError::new(format!(
                "fatal error when trying to upgrade the etcd cluster, rolled the state back to pre-upgrade state: {}",
                e.chain()
            )));
        }
        Ok(())
    }
}

/// Creates kubeadm's three folders under `/etc/kubernetes/tmp`.
pub fn path_manager(ctx: &PhaseCtx) -> Result<PathManager, PhaseError> {
    let h = ctx.host.as_ref();
    let err = |e: std::io::Error| {
        PhaseError::new(format!("cannot create a folder in {}", files::TMP_DIR)).caused_by(e)
    };
    Ok(PathManager {
        temp: files::temp_dir(h, "kubeadm-upgraded-manifests").map_err(err)?,
        backup_manifests: files::timestamp_dir(h, "kubeadm-backup-manifests").map_err(err)?,
        backup_etcd: files::timestamp_dir(h, "kubeadm-backup-etcd").map_err(err)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_by_component_as_kubeadm() {
        assert_eq!(
            certs_of(Component::KubeApiServer, true),
            [
                "apiserver",
                "apiserver-kubelet-client",
                "front-proxy-client",
                "apiserver-etcd-client"
            ]
        );
        assert!(certs_of(Component::Etcd, false).is_empty());
        assert_eq!(certs_of(Component::KubeScheduler, true), ["scheduler.conf"]);
    }
}
