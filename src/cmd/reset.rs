//! `kubestrap reset` (kubeadm's `app/cmd/reset.go`): resolves flags over the
//! ResetConfiguration over the cluster's configuration, then runs [`crate::day2::reset`].

use std::path::{Path, PathBuf};

use crate::cli::ResetArgs;
use crate::config::defaults::DEFAULT_CERTIFICATES_DIR;
use crate::config::types::ResetConfiguration;
use crate::day2::reset::{self, ResetData, StdOut};
use crate::host::{Host, RealHost};

/// Runs `kubestrap reset`; returns the exit code.
pub fn run(root: Option<PathBuf>, args: ResetArgs) -> i32 {
    match run_inner(root, args) {
        Ok(()) => 0,
        Err(e) => super::fail(e),
    }
}

fn load_reset_config(path: &Path) -> Result<ResetConfiguration, String> {
    let loaded = crate::config::overlay::load_file(path).map_err(|e| e.to_string())?;
    let Some(r) = loaded.reset else {
        return Err(format!(
            "{}: no ResetConfiguration document (kind: ResetConfiguration, apiVersion: kubeadm.k8s.io/v1beta4)",
            path.display()
        ));
    };
    let errs = crate::config::validate::validate_reset(&r);
    if !errs.is_empty() {
        return Err(
            crate::config::load::ConfigErrors::new(&path.display().to_string(), errs).to_string(),
        );
    }
    Ok(r)
}

/// The advertise address of this control-plane node from its kube-apiserver manifest
/// (annotation `kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint`), or
/// `None` on a worker.
fn local_advertise_address(host: &dyn Host) -> Option<String> {
    let b = host
        .read(Path::new("/etc/kubernetes/manifests/kube-apiserver.yaml"))
        .ok()?;
    let pod: k8s_openapi::api::core::v1::Pod = serde_yaml::from_slice(&b).ok()?;
    let ep = pod
        .metadata
        .annotations?
        .get("kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint")?
        .clone();
    let host_part = ep.rsplit_once(':').map(|(h, _)| h).unwrap_or(&ep);
    Some(host_part.trim_matches(['[', ']']).to_string())
}

fn run_inner(root: Option<PathBuf>, args: ResetArgs) -> Result<(), String> {
    let root_dir = root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let rc = match &args.config {
        Some(p) => load_reset_config(p)?,
        None => ResetConfiguration::default(),
    };
    let dry_run = args.dry_run || rc.dry_run;
    let host = RealHost::new(&root_dir, dry_run).map_err(|e| format!("--root: {e}"))?;
    let ignore = crate::config::validate::merge_ignore_preflight_errors(
        &args.ignore_preflight_errors,
        &rc.ignore_preflight_errors,
    )
    .map_err(|e| format!("--ignore-preflight-errors: {e}"))?;
    let skip = if args.skip_phases.is_empty() {
        rc.skip_phases.clone()
    } else {
        args.skip_phases.clone()
    };
    reset::check_skip_phases(&skip)?;
    let mut cluster = None;
    if !dry_run && host.exists(&args.kubeconfig) {
        match crate::day2::fetch_cluster_config(&host, &args.kubeconfig) {
            Ok(mut c) => {
                match local_advertise_address(&host) {
                    Some(a) => c.init.local_api_endpoint.advertise_address = a,
                    // A worker: no local etcd member to remove.
                    None => c.cluster.etcd.local = None,
                }
                cluster = Some(c);
            }
            Err(e) => {
                eprintln!("[reset] Unable to fetch the kubeadm-config ConfigMap from cluster: {e}")
            }
        }
    }
    // ResetConfiguration.timeouts.etcdAPICall bounds the member removal (kubeadm's active
    // timeouts come from the reset configuration).
    if let (Some(c), Some(t)) = (
        cluster.as_mut(),
        rc.timeouts.as_ref().and_then(|t| t.etcd_api_call),
    ) {
        c.init
            .timeouts
            .get_or_insert_with(Default::default)
            .etcd_api_call = Some(t);
    }
    // Stacked etcd: where the other members are, in case this node's etcd does not answer.
    let etcd_endpoints = match &cluster {
        Some(c) if c.cluster.etcd.local.is_some() => {
            cluster_etcd_endpoints(&host, &args.kubeconfig)
        }
        _ => vec![],
    };
    let cri_socket = match args.cri_socket.clone().filter(|s| !s.is_empty()) {
        Some(s) => s,
        None if !rc.cri_socket.is_empty() => rc.cri_socket.clone(),
        None => reset::detect_cri_socket(&host)?,
    };
    let certificates_dir = match args.cert_dir.clone() {
        Some(d) => d,
        None if !rc.certificates_dir.is_empty() => rc.certificates_dir.clone(),
        None => cluster
            .as_ref()
            .map(|c| c.cluster.certificates_dir.clone())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| DEFAULT_CERTIFICATES_DIR.to_string()),
    };
    if !certificates_dir.starts_with('/') {
        return Err(format!(
            "--cert-dir: {certificates_dir:?} must be an absolute path"
        ));
    }
    let d = ResetData {
        certificates_dir,
        cri_socket,
        force: args.force || rc.force,
        dry_run,
        cleanup_tmp_dir: args.cleanup_tmp_dir || rc.cleanup_tmp_dir,
        ignore_preflight_errors: ignore,
        skip_phases: skip,
        unmount_flags: rc.unmount_flags.clone(),
        etcd_endpoints,
        cluster,
    };
    let present = reset::present(&host, &d);
    if present.is_empty() {
        println!(
            "[reset] Nothing to reset: none of the files and directories that 'kubeadm init' and 'kubeadm join' (or kubestrap) create exist on this node; nothing was changed."
        );
        return Ok(());
    }
    let asks = !d.force && !d.dry_run && !reset::is_skipped(&d, "preflight");
    let mut d = d;
    use std::io::IsTerminal;
    if asks
        && !args.non_interactive
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
    {
        // The wizard's confirmation screen stands in for kubeadm's [y/N] question.
        eprintln!(
            "[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted."
        );
        let yes = crate::tui::reset::confirm(&present)
            .map_err(|e| format!("the confirmation screen failed: {e}"))?;
        if !yes {
            return Err("won't proceed; the user didn't answer (Y|y) in order to continue".into());
        }
        d.force = true;
    } else if asks {
        println!("[reset] These will be deleted (directories are emptied, not removed):");
        for p in &present {
            println!("[reset]   {p}");
        }
    }
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    reset::run(&host, &d, &mut StdOut, &mut input)?;
    print!("{}", reset::MANUAL_CLEANUP);
    print!("{}", reset::LEFTOVERS);
    Ok(())
}

/// The etcd client URLs of the cluster as kubeadm's `NewFromCluster` finds them
/// ([`crate::join::etcd::cluster_endpoints`]: etcd Pod annotations, else the API servers'
/// addresses on 2379), read with `kubeconfig` within 5 s; empty when they cannot be read
/// (reset then knows only etcd.yaml's `--initial-cluster`).
fn cluster_etcd_endpoints(host: &dyn Host, kubeconfig: &Path) -> Vec<String> {
    let Ok(bytes) = host.read(kubeconfig) else {
        return vec![];
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return vec![];
    };
    let what = kubeconfig.display().to_string();
    rt.block_on(async {
        let fut = async {
            let c = crate::kubeapi::client_from_kubeconfig_str(&text, &what).await?;
            crate::join::etcd::cluster_endpoints(&c).await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(5), fut).await {
            Ok(Ok(eps)) => eps,
            Ok(Err(e)) => {
                tracing::debug!("etcd endpoints from the cluster: {}", e.chain());
                vec![]
            }
            Err(_) => vec![],
        }
    })
}
