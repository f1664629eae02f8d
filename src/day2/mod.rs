//! Day-two commands: `certs` (check-expiration, renew, certificate-key), `reset`,
//! `kubeconfig user` and `config images`, mirroring kubeadm's `app/cmd/certs.go`,
//! `app/cmd/reset.go`, `app/cmd/kubeconfig.go` and `app/cmd/config.go`.

pub mod certs;
pub mod godfmt;
pub mod images;
pub mod kubeconfig_user;
pub mod reset;

use std::path::Path;
use std::time::Duration;

use crate::cli::InitFlags;
use crate::config::load::load_documents;
use crate::config::overlay::{apply_dynamic_defaults, apply_flags, init_from_loaded, load_file};
use crate::config::{InitConfig, defaults, validate};
use crate::host::{Host, HostFacts};

/// kubeadm's `LoadOrDefaultInitConfiguration` with CRI detection skipped: the `--config`
/// file (InitConfiguration/ClusterConfiguration) or defaults, the flags in `flags` over it,
/// dynamic defaults from `facts`, static defaults, then validation. With `need_address`
/// false, a missing advertise address is not an error (`certs`, `config images` do not use
/// it). Returns the configuration and the warnings, or every problem, one per line.
pub fn load_init_config(
    flags: &InitFlags,
    facts: &HostFacts,
    need_address: bool,
) -> Result<(InitConfig, Vec<String>), String> {
    let (mut cfg, mut warnings, source) = match &flags.config {
        Some(p) => {
            let loaded = load_file(p).map_err(|e| e.to_string())?;
            let name = p.display().to_string();
            let (c, w, _) = init_from_loaded(loaded, &name).map_err(|e| e.to_string())?;
            (c, w, name)
        }
        None => (InitConfig::default(), Vec::new(), String::new()),
    };
    let mut errs = apply_flags(&mut cfg, flags);
    apply_dynamic_defaults(&mut cfg, facts, &mut warnings);
    defaults::apply_static_init_defaults(&mut cfg);
    if need_address && cfg.init.local_api_endpoint.advertise_address.is_empty() {
        return Err(format!(
            "{}localAPIEndpoint.advertiseAddress: {}; give a --config that sets localAPIEndpoint.advertiseAddress",
            if source.is_empty() {
                String::new()
            } else {
                format!("{source}: ")
            },
            crate::config::overlay::NO_DEFAULT_ROUTE
        ));
    }
    errs.extend(validate::validate_init(&cfg, facts));
    let errs: Vec<_> = errs
        .into_iter()
        .filter(|e| need_address || !e.path.starts_with("localAPIEndpoint.advertiseAddress"))
        .collect();
    let (warn, errors): (Vec<_>, Vec<_>) = errs.into_iter().partition(|e| e.warning);
    warnings.extend(warn.iter().map(|w| w.to_string()));
    if !errors.is_empty() {
        return Err(crate::config::load::ConfigErrors::new(&source, errors).to_string());
    }
    Ok((cfg, warnings))
}

/// kubeadm's `getInternalCfg` for `certs`: without `--config`, the ClusterConfiguration of
/// the `kube-system/kubeadm-config` ConfigMap read with `kubeconfig` (when that file exists),
/// printing kubeadm's two `[<prefix>]` lines; when that fails, kubeadm's fallback line and
/// the defaults. A set `cert_dir` overrides `certificatesDir`. Returns the configuration
/// and the lines to print before the command's own output.
pub fn certs_config(
    host: &dyn Host,
    config: Option<&Path>,
    kubeconfig: &Path,
    cert_dir: Option<&str>,
    prefix: &str,
    facts: &HostFacts,
) -> Result<(InitConfig, Vec<String>), String> {
    let mut lines = Vec::new();
    let mut fetched = None;
    if config.is_none() && host.exists(kubeconfig) {
        match fetch_cluster_config(host, kubeconfig) {
            Ok(cfg) => {
                lines.push(format!("[{prefix}] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"..."));
                lines.push(format!("[{prefix}] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it."));
                lines.push(String::new());
                fetched = Some(cfg);
            }
            Err(why) => {
                tracing::debug!("reading kubeadm-config: {why}");
                lines.push(format!(
                    "[{prefix}] Error reading configuration from the Cluster. Falling back to default configuration"
                ));
                lines.push(String::new());
            }
        }
    }
    let mut cfg = match fetched {
        Some(c) => c,
        None => {
            let flags = InitFlags {
                config: config.map(Path::to_path_buf),
                ..InitFlags::default()
            };
            load_init_config(&flags, facts, false)?.0
        }
    };
    if let Some(d) = cert_dir.filter(|d| !d.is_empty()) {
        if !d.starts_with('/') {
            return Err(format!(
                "--cert-dir: {d:?} must be an absolute path, e.g. /etc/kubernetes/pki"
            ));
        }
        cfg.cluster.certificates_dir = d.to_string();
    }
    Ok((cfg, lines))
}

/// Reads the ClusterConfiguration from `kube-system/kubeadm-config` through `kubeconfig`
/// (5 s timeout) and defaults it. Errors say what failed.
pub fn fetch_cluster_config(host: &dyn Host, kubeconfig: &Path) -> Result<InitConfig, String> {
    let text = host
        .read(kubeconfig)
        .map_err(|e| format!("cannot read {}: {e}", kubeconfig.display()))?;
    let text = String::from_utf8_lossy(&text).into_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let what = kubeconfig.display().to_string();
    let data = rt.block_on(async {
        let fut = async {
            let c = crate::kubeapi::client_from_kubeconfig_str(&text, &what)
                .await
                .map_err(|e| e.chain())?;
            let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
                kube::Api::namespaced(c, "kube-system");
            let cm = api.get("kubeadm-config").await.map_err(|e| {
                format!(
                    "reading kube-system/kubeadm-config: {}",
                    crate::kubeapi::error_text(&e)
                )
            })?;
            cm.data
                .and_then(|d| d.get("ClusterConfiguration").cloned())
                .ok_or_else(|| "kubeadm-config has no ClusterConfiguration".to_string())
        };
        tokio::time::timeout(Duration::from_secs(5), fut)
            .await
            .map_err(|_| "timed out after 5s".to_string())?
    })?;
    let loaded = load_documents(&data, "kubeadm-config ConfigMap").map_err(|e| e.to_string())?;
    let (mut cfg, _, _) =
        init_from_loaded(loaded, "kubeadm-config ConfigMap").map_err(|e| e.to_string())?;
    defaults::apply_static_init_defaults(&mut cfg);
    Ok(cfg)
}
