//! `kubestrap reset`: kubeadm's `reset` (`cmd/kubeadm/app/cmd/reset.go`) with its phases
//! `preflight`, `remove-etcd-member` and `cleanup-node`
//! (`app/cmd/phases/reset/{preflight,removeetcdmember,cleanupnode,unmount_linux}.go`),
//! every file access and command through a [`Host`].

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::config::InitConfig;
use crate::config::defaults::{
    DEFAULT_CERTIFICATES_DIR, DEFAULT_CRI_SOCKET, DEFAULT_ETCD_DATA_DIR,
};
use crate::host::Host;
use crate::host::runtime::{self, Removal};

mod etcd;
pub use etcd::{other_etcd_endpoints, remove_etcd_member};

/// `/etc/kubernetes`.
pub const KUBERNETES_DIR: &str = "/etc/kubernetes";
/// `/var/lib/kubelet` (kubeadm's `KubeletRunDirectory`).
pub const KUBELET_RUN_DIR: &str = "/var/lib/kubelet";
/// The phases, in order, with kubeadm's aliases.
pub const PHASES: &[(&str, &str)] = &[
    ("preflight", "pre-flight"),
    ("remove-etcd-member", "remove-etcd-member"),
    ("cleanup-node", "cleanupnode"),
];

/// kubeadm's `manualCleanupInstructions`, printed at the end of a reset.
pub const MANUAL_CLEANUP: &str = "
The reset process does not perform cleanup of CNI plugin configuration,
network filtering rules and kubeconfig files.

For information on how to perform this cleanup manually, please see:
    https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/

";

/// What kubestrap adds to kubeadm's end message: the leftovers by name.
pub const LEFTOVERS: &str = "Left in place on purpose (as kubeadm does): /etc/cni/net.d (CNI configuration), the iptables/nftables/IPVS rules kube-proxy wrote, $HOME/.kube/config, and this node's objects in the cluster (kubectl delete node). Also left: the host preparation preflight --fix made (/etc/sysctl.d/k8s.conf, /etc/modules-load.d/k8s.conf, containerd's SystemdCgroup) and kubestrap's logs in /var/log/kubestrap.\n";

/// kubeadm's `filesToClean`, under `/etc/kubernetes`.
pub const FILES: &[&str] = &[
    "admin.conf",
    "super-admin.conf",
    "kubelet.conf",
    "bootstrap-kubelet.conf",
    "controller-manager.conf",
    "scheduler.conf",
];

/// Everything reset works from, after flags over `ResetConfiguration` over the cluster's
/// configuration over defaults (kubeadm's `newResetData`).
#[derive(Debug, Clone)]
pub struct ResetData {
    pub certificates_dir: String,
    pub cri_socket: String,
    pub force: bool,
    pub dry_run: bool,
    pub cleanup_tmp_dir: bool,
    /// Lower-cased; `all` ignores every check.
    pub ignore_preflight_errors: Vec<String>,
    /// Phases to skip (kubeadm names or aliases).
    pub skip_phases: Vec<String>,
    pub unmount_flags: Vec<String>,
    /// The cluster's configuration read with `--kubeconfig`, when it could be read.
    pub cluster: Option<InitConfig>,
    /// Client URLs of the cluster's etcd members found through the API (the etcd Pods'
    /// `kubeadm.kubernetes.io/etcd.advertise-client-urls`, as kubeadm's `NewFromCluster`), for
    /// when this node's own etcd does not answer; may be empty.
    pub etcd_endpoints: Vec<String>,
}

/// kubeadm's `DetectCRISocket` under the host's root: the one known runtime socket that
/// exists, the default containerd socket when none does. Errors when several exist.
pub fn detect_cri_socket(host: &dyn Host) -> Result<String, String> {
    let known = [
        "/var/run/containerd/containerd.sock",
        "/var/run/crio/crio.sock",
        "/var/run/cri-dockerd.sock",
    ];
    let found: Vec<String> = known
        .iter()
        .filter(|p| host.exists(Path::new(p)))
        .map(|p| format!("unix://{p}"))
        .collect();
    match found.len() {
        0 => Ok(DEFAULT_CRI_SOCKET.to_string()),
        1 => Ok(found[0].clone()),
        _ => Err(format!(
            "found multiple CRI endpoints on the host. Please define which one do you wish to use by setting the 'criSocket' field in the kubeadm configuration file: {}",
            found.join(", ")
        )),
    }
}

/// Checks a `--skip-phases` list against reset's phases; errors name the unknown phase.
pub fn check_skip_phases(list: &[String]) -> Result<(), String> {
    for s in list {
        let s = s.trim().trim_end_matches("/all");
        if !PHASES.iter().any(|(n, a)| s == *n || s == *a) {
            return Err(format!(
                "--skip-phases: {s:?} is not a phase of reset (preflight, remove-etcd-member, cleanup-node)"
            ));
        }
    }
    Ok(())
}

/// True when `phase` is in `--skip-phases` (by name or alias, `/all` allowed).
pub fn is_skipped(d: &ResetData, phase: &str) -> bool {
    let alias = PHASES
        .iter()
        .find(|(n, _)| *n == phase)
        .map(|(_, a)| *a)
        .unwrap_or(phase);
    d.skip_phases.iter().any(|s| {
        let s = s.trim().trim_end_matches("/all");
        s == phase || s == alias
    })
}

/// Go's `%v` of a `[]string`: `[a b c]`.
fn go_list<T: AsRef<str>>(v: &[T]) -> String {
    format!(
        "[{}]",
        v.iter().map(|s| s.as_ref()).collect::<Vec<_>>().join(" ")
    )
}

fn dir_is_empty(host: &dyn Host, dir: &Path) -> bool {
    host.read_dir(dir).map(|v| v.is_empty()).unwrap_or(true)
}

/// kubeadm's `CleanDir`: removes the contents of `dir`, not `dir` itself; a missing
/// directory is fine.
pub fn clean_dir(host: &dyn Host, dir: &Path) -> std::io::Result<()> {
    if !host.exists(dir) {
        return Ok(());
    }
    for name in host.read_dir(dir)? {
        host.remove_all(&dir.join(name))?;
    }
    Ok(())
}

/// The etcd data directory as kubeadm's `getEtcdDataDir` finds it: the cluster
/// configuration's `etcd.local.dataDir`; else the hostPath of the `etcd-data` volume of
/// `/etc/kubernetes/manifests/etcd.yaml`; else (no manifest) `/var/lib/etcd`. `Err` when the
/// manifest has no such volume or does not parse (kubeadm then assumes external etcd).
pub fn etcd_data_dir(host: &dyn Host, cluster: Option<&InitConfig>) -> Result<String, String> {
    if let Some(l) = cluster.and_then(|c| c.cluster.etcd.local.as_ref()) {
        return Ok(if l.data_dir.is_empty() {
            DEFAULT_ETCD_DATA_DIR.to_string()
        } else {
            l.data_dir.clone()
        });
    }
    let manifest = Path::new(KUBERNETES_DIR).join("manifests/etcd.yaml");
    let bytes = match host.read(&manifest) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(DEFAULT_ETCD_DATA_DIR.to_string());
        }
        Err(e) => return Err(format!("{}: {e}", manifest.display())),
    };
    let pod: k8s_openapi::api::core::v1::Pod = serde_yaml::from_slice(&bytes)
        .map_err(|e| format!("{}: not a Pod manifest: {e}", manifest.display()))?;
    pod.spec
        .and_then(|s| s.volumes)
        .unwrap_or_default()
        .into_iter()
        .find(|v| v.name == "etcd-data")
        .and_then(|v| v.host_path.map(|h| h.path))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| "invalid etcd pod manifest".to_string())
}

/// The directories and files a reset with `d` would empty or delete that exist and have
/// content now. Empty means there is nothing to reset.
pub fn present(host: &dyn Host, d: &ResetData) -> Vec<String> {
    let mut dirs = vec![
        format!("{KUBERNETES_DIR}/manifests"),
        KUBELET_RUN_DIR.to_string(),
        d.certificates_dir.clone(),
    ];
    if d.cleanup_tmp_dir {
        dirs.push(format!("{KUBERNETES_DIR}/tmp"));
    }
    if let Ok(e) = etcd_data_dir(host, d.cluster.as_ref()) {
        dirs.push(e);
    }
    let mut out: Vec<String> = dirs
        .into_iter()
        .filter(|p| !dir_is_empty(host, Path::new(p)))
        .collect();
    out.extend(
        FILES
            .iter()
            .map(|f| format!("{KUBERNETES_DIR}/{f}"))
            .chain(std::iter::once(
                crate::engine::runner::PROGRESS_PATH.to_string(),
            ))
            .filter(|p| host.exists(Path::new(p))),
    );
    out
}

/// Where reset writes: standard output for kubeadm's lines, standard error for its warnings.
pub trait Out {
    /// One line of kubeadm's standard output (`[reset] …`, `[dryrun] …`).
    fn line(&mut self, s: &str);
    /// One warning (kubeadm logs them through klog on standard error).
    fn warn(&mut self, s: &str);
}

/// [`Out`] on the process's standard output and error.
#[derive(Debug, Default)]
pub struct StdOut;

impl Out for StdOut {
    fn line(&mut self, s: &str) {
        println!("{s}");
    }
    fn warn(&mut self, s: &str) {
        eprintln!("{s}");
    }
}

/// kubeadm's `InteractivelyConfirmAction("reset", "Are you sure you want to proceed?")`:
/// prints the question, reads one line; `y`/`yes` (any case) proceed.
pub fn confirm(out: &mut dyn Out, input: &mut dyn BufRead) -> Result<(), String> {
    use std::io::Write;
    print!("[reset] Are you sure you want to proceed? [y/N]: ");
    let _ = std::io::stdout().flush();
    let _ = out;
    let mut answer = String::new();
    input
        .read_line(&mut answer)
        .map_err(|e| format!("couldn't read from standard input: {e}"))?;
    let a = answer.trim_end_matches(['\n', '\r']);
    if a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes") {
        Ok(())
    } else {
        Err("won't proceed; the user didn't answer (Y|y) in order to continue".into())
    }
}

/// The `preflight` phase: the confirmation (unless forced or dry-run), then the root check
/// (`IsPrivilegedUser`, ignorable).
pub fn preflight(
    host: &dyn Host,
    d: &ResetData,
    out: &mut dyn Out,
    input: &mut dyn BufRead,
) -> Result<(), String> {
    if !d.force && !d.dry_run {
        out.warn("[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.");
        confirm(out, input)?;
    }
    out.line("[preflight] Running pre-flight checks");
    if host.facts().euid != 0 {
        let ignored = d
            .ignore_preflight_errors
            .iter()
            .any(|i| i == "all" || i == "isprivilegeduser");
        if ignored {
            out.warn("\t[WARNING IsPrivilegedUser]: user is not running as root");
        } else {
            return Err("[preflight] Some fatal errors occurred:\n\t[ERROR IsPrivilegedUser]: user is not running as root\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`".into());
        }
    }
    Ok(())
}

/// The `remove-etcd-member` phase (kubeadm's `runRemoveETCDMemberPhase`).
pub fn remove_etcd_member_phase(host: &dyn Host, d: &ResetData, out: &mut dyn Out) {
    if d.cluster.is_none() {
        out.warn("[reset] No kubeadm config, using etcd pod spec to get data directory");
    }
    let dir = match etcd_data_dir(host, d.cluster.as_ref()) {
        Ok(dir) => dir,
        Err(_) => {
            out.line("[reset] No etcd config found. Assuming external etcd");
            out.line("[reset] Please, manually reset etcd to prevent further issues");
            return;
        }
    };
    let dir_p = PathBuf::from(&dir);
    if let Some(cfg) = d
        .cluster
        .as_ref()
        .filter(|c| c.cluster.etcd.local.is_some())
    {
        if !d.dry_run {
            match remove_etcd_member(host, cfg, &d.etcd_endpoints, out) {
                Err(e) => out.warn(&format!("[reset] Failed to remove etcd member: {e}, please manually remove this etcd member using etcdctl")),
                Ok(what) => {
                    tracing::info!("[etcd] {what}");
                    match clean_dir(host, &dir_p) {
                        Err(e) => out.warn(&format!("[reset] Failed to delete contents of the etcd directory: {dir:?}, error: {e}")),
                        Ok(()) => out.line(&format!("[reset] Deleted contents of the etcd data directory: {dir}")),
                    }
                }
            }
        } else {
            out.line("[dryrun] Would remove the etcd member on this node from the etcd cluster");
            out.line(&format!(
                "[dryrun] Would delete contents of the etcd data directory: {dir}"
            ));
        }
    }
    if !dir_is_empty(host, &dir_p) && !d.dry_run {
        match clean_dir(host, &dir_p) {
            Err(e) => out.warn(&format!(
                "[reset] Failed to delete contents of the etcd directory: {dir:?}, error: {e}"
            )),
            Ok(()) => out.line(&format!(
                "[reset] Deleted contents of the etcd data directory: {dir}"
            )),
        }
    }
}

/// `umount2` flag values of `unmountFlags` (Linux).
pub fn unmount_flags(flags: &[String]) -> i32 {
    flags
        .iter()
        .map(|f| match f.as_str() {
            "MNT_FORCE" => libc::MNT_FORCE,
            "MNT_DETACH" => libc::MNT_DETACH,
            "MNT_EXPIRE" => libc::MNT_EXPIRE,
            "UMOUNT_NOFOLLOW" => libc::UMOUNT_NOFOLLOW,
            _ => 0,
        })
        .fold(0, |a, b| a | b)
}

/// kubeadm's `unmountKubeletDirectory`: unmounts every `/proc/mounts` entry below `dir`
/// (not `dir` itself). EINVAL is a warning; other failures are collected into the error.
pub fn unmount_kubelet_dir(
    host: &dyn Host,
    dir: &Path,
    flags: &[String],
    out: &mut dyn Out,
) -> Result<(), String> {
    let raw = match host.read(Path::new("/proc/mounts")) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && host.root() != Path::new("/") => {
            String::new()
        }
        Err(e) => return Err(format!("/proc/mounts: {e}")),
    };
    let mut prefix = dir.display().to_string();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    let f = unmount_flags(flags);
    let mut errs = Vec::new();
    for m in raw.lines() {
        let fields: Vec<&str> = m.split(' ').collect();
        if fields.len() < 2 || !fields[1].starts_with(&prefix) {
            continue;
        }
        if let Err(e) = host.unmount(Path::new(fields[1]), f) {
            if e.raw_os_error() == Some(libc::EINVAL) {
                out.warn(&format!(
                    "[reset] Ignoring EINVAL error while unmounting {:?}",
                    fields[1]
                ));
                continue;
            }
            errs.push(format!("failed to unmount {:?}: {e}", fields[1]));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "encountered the following errors while unmounting directories in {prefix:?}: [{}]",
            errs.join(", ")
        ))
    }
}

/// The `cleanup-node` phase (kubeadm's `runCleanupNode`): stop the kubelet, unmount under
/// `/var/lib/kubelet`, remove the node's containers, empty the directories and delete the
/// kubeconfig files kubeadm lists (and kubestrap's init progress record).
pub fn cleanup_node(host: &dyn Host, d: &ResetData, out: &mut dyn Out) -> Result<(), String> {
    let mut dirs: Vec<String> = vec![format!("{KUBERNETES_DIR}/manifests")];
    if host.has_systemd() {
        if !d.dry_run {
            out.line("[reset] Stopping the kubelet service");
            let r = host.run("systemctl", &["stop", "kubelet"]);
            let err = match r {
                Ok(o) if o.success() => None,
                Ok(o) => Some(o.stderr.trim().to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(e) = err {
                out.warn(&format!(
                    "[reset] The kubelet service could not be stopped by kubeadm: [{e}]"
                ));
                out.warn("[reset] Please ensure kubelet is stopped manually");
            }
        } else {
            out.line("[dryrun] Would stop the kubelet service");
        }
    } else {
        out.warn("[reset] The kubelet service could not be stopped by kubeadm. Unable to detect a supported init system!");
        out.warn("[reset] Please ensure kubelet is stopped manually");
    }
    if !d.dry_run {
        match host.eval_symlinks(Path::new(KUBELET_RUN_DIR)) {
            Err(e) => out.warn(&format!(
                "[reset] Skipping unmount of directories in {KUBELET_RUN_DIR:?}: {e}"
            )),
            Ok(dir) => {
                out.line(&format!(
                    "[reset] Unmounting mounted directories in {KUBELET_RUN_DIR:?}"
                ));
                unmount_kubelet_dir(host, &dir, &d.unmount_flags, out)?;
                dirs.push(dir.display().to_string());
            }
        }
    } else {
        out.line(&format!(
            "[dryrun] Would unmount mounted directories in {KUBELET_RUN_DIR:?}"
        ));
    }
    if !d.dry_run {
        match runtime::remove_kube_containers(host, &d.cri_socket) {
            Ok(Removal::Removed(_)) => {}
            Ok(Removal::Skipped(why)) => out.warn(&format!(
                "[reset] Skipped removing Kubernetes-managed containers: {why}"
            )),
            Err(e) => out.warn(&format!("[reset] Failed to remove containers: {e}")),
        }
    } else {
        out.line("[dryrun] Would remove Kubernetes-managed containers");
    }
    if d.certificates_dir != DEFAULT_CERTIFICATES_DIR {
        out.warn(&format!(
            "[reset] WARNING: Cleaning a non-default certificates directory: {:?}",
            d.certificates_dir
        ));
    }
    dirs.push(d.certificates_dir.clone());
    if d.cleanup_tmp_dir {
        dirs.push(format!("{KUBERNETES_DIR}/tmp"));
    }
    if !d.dry_run {
        out.line(&format!(
            "[reset] Deleting contents of directories: {}",
            go_list(&dirs)
        ));
        for dir in &dirs {
            if let Err(e) = clean_dir(host, Path::new(dir)) {
                out.warn(&format!(
                    "[reset] Failed to delete contents of {dir:?} directory: {e}"
                ));
            }
        }
    } else {
        out.line(&format!(
            "[dryrun] Would delete contents of directories: {}",
            go_list(&dirs)
        ));
    }
    let files: Vec<String> = FILES
        .iter()
        .map(|f| format!("{KUBERNETES_DIR}/{f}"))
        .collect();
    if !d.dry_run {
        out.line(&format!("[reset] Deleting files: {}", go_list(&files)));
        for f in &files {
            if let Err(e) = host.remove_all(Path::new(f)) {
                out.warn(&format!("[reset] Failed to remove file: {f:?} [{e}]"));
            }
        }
    } else {
        out.line(&format!("[dryrun] Would delete files: {}", go_list(&files)));
    }
    let progress = Path::new(crate::engine::runner::PROGRESS_PATH);
    if host.exists(progress) {
        if !d.dry_run {
            out.line(&format!(
                "[reset] Deleting kubestrap's init progress record: {}",
                progress.display()
            ));
            if let Err(e) = host.remove_all(progress) {
                out.warn(&format!(
                    "[reset] Failed to remove file: {:?} [{e}]",
                    progress.display()
                ));
            }
        } else {
            out.line(&format!(
                "[dryrun] Would delete kubestrap's init progress record: {}",
                progress.display()
            ));
        }
    }
    Ok(())
}

/// Runs reset's phases in order, skipping those in `skip_phases`. Errors: the preflight
/// refusal or root check, or an unmount failure (kubeadm ≥ 1.30 stops there).
pub fn run(
    host: &dyn Host,
    d: &ResetData,
    out: &mut dyn Out,
    input: &mut dyn BufRead,
) -> Result<(), String> {
    if !is_skipped(d, "preflight") {
        preflight(host, d, out, input)?;
    }
    if !is_skipped(d, "remove-etcd-member") {
        remove_etcd_member_phase(host, d, out);
    }
    if !is_skipped(d, "cleanup-node") {
        cleanup_node(host, d, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;

    #[test]
    fn unmount_flags_are_linux_values() {
        let f = |v: &[&str]| unmount_flags(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(f(&["MNT_FORCE", "MNT_DETACH"]), 3);
        assert_eq!(f(&["MNT_EXPIRE"]), 4);
        assert_eq!(f(&["UMOUNT_NOFOLLOW"]), 8);
        assert_eq!(f(&[]), 0);
    }

    #[test]
    fn etcd_data_dir_from_the_manifest_default_or_external() {
        let h = FakeHost::new().unwrap();
        assert_eq!(etcd_data_dir(&h, None).unwrap(), "/var/lib/etcd");
        h.put(
            "/etc/kubernetes/manifests/etcd.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\nspec:\n  containers: []\n  volumes:\n  - name: etcd-data\n    hostPath:\n      path: /data/etcd\n",
        )
        .unwrap();
        assert_eq!(etcd_data_dir(&h, None).unwrap(), "/data/etcd");
        h.put(
            "/etc/kubernetes/manifests/etcd.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\nspec:\n  containers: []\n",
        )
        .unwrap();
        assert!(etcd_data_dir(&h, None).is_err());
    }

    #[derive(Default)]
    struct Rec(Vec<String>, Vec<String>);
    impl Out for Rec {
        fn line(&mut self, s: &str) {
            self.0.push(s.into());
        }
        fn warn(&mut self, s: &str) {
            self.1.push(s.into());
        }
    }

    #[test]
    fn only_mounts_below_the_kubelet_dir_are_unmounted() {
        let h = FakeHost::new().unwrap().with_dry_run(true);
        h.put(
            "/proc/mounts",
            "tmpfs /var/lib/kubelet tmpfs rw 0 0\ntmpfs /var/lib/kubelet/pods/x/volumes/y tmpfs rw 0 0\ntmpfs /var/lib/kubeletx tmpfs rw 0 0\n",
        )
        .unwrap();
        // a dry-run host does not unmount: the walk itself must not fail
        let mut out = Rec::default();
        unmount_kubelet_dir(&h, Path::new("/var/lib/kubelet"), &[], &mut out).unwrap();
        assert!(out.1.is_empty());
    }

    #[test]
    fn skip_phases_accept_names_and_aliases() {
        assert!(check_skip_phases(&["pre-flight".into(), "cleanupnode".into()]).is_ok());
        assert!(check_skip_phases(&["cleanup-node/all".into()]).is_ok());
        let e = check_skip_phases(&["etcd".into()]).unwrap_err();
        assert!(e.contains("\"etcd\" is not a phase of reset"), "{e}");
    }
}
