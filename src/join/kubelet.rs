//! The join side of the kubelet: reading the cluster's configuration with the bootstrap
//! token, `kubelet-start` (bootstrap-kubelet.conf, ca.crt, config.yaml, kubeadm-flags.env,
//! kubelet restart) and the TLS bootstrap wait (kubelet.conf, the Node).
//!
//! Mirrors kubeadm `app/cmd/phases/join/kubelet.go`, `app/phases/kubelet/{flags,config,kubelet}.go`
//! and the waits of reference §3.4.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};

use crate::config::{GoDuration, JoinConfiguration};
use crate::engine::{Event, EventSink, PhaseError, ProbeOutcome};
use crate::host::Host;

/// User name of the TLS bootstrap credentials in bootstrap-kubelet.conf.
pub const TLS_BOOTSTRAP_USER: &str = "tls-bootstrap-token-user";
/// `/etc/kubernetes/bootstrap-kubelet.conf`.
pub const BOOTSTRAP_KUBELET_CONF: &str = "/etc/kubernetes/bootstrap-kubelet.conf";
/// `/etc/kubernetes/kubelet.conf`.
pub const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";
/// `/var/lib/kubelet/config.yaml`.
pub const KUBELET_CONFIG_YAML: &str = "/var/lib/kubelet/config.yaml";
/// `/var/lib/kubelet/kubeadm-flags.env`.
pub const KUBEADM_FLAGS_ENV: &str = "/var/lib/kubelet/kubeadm-flags.env";

/// What the joining node reads from the cluster with the bootstrap token.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSettings {
    /// `clusterName` of the ClusterConfiguration in `kube-system/kubeadm-config` (default `kubernetes`).
    pub cluster_name: String,
    /// `kubernetesVersion` (may be empty).
    pub kubernetes_version: String,
    /// `imageRepository` (default `registry.k8s.io`).
    pub image_repository: String,
    /// The `kubelet` key of `kube-system/kubelet-config`: the KubeletConfiguration YAML.
    pub kubelet_config: String,
    /// `featureGates.NodeLocalCRISocket` of the ClusterConfiguration (`None` when unset).
    pub node_local_cri_socket_gate: Option<bool>,
    /// The ClusterConfiguration document of `kube-system/kubeadm-config`, verbatim (a
    /// control-plane join builds this node's configuration from it).
    pub cluster_configuration: String,
}

impl ClusterSettings {
    /// The cluster's minor version (the newest carried minor when unknown).
    pub fn minor(&self) -> u32 {
        crate::config::versions::minor_of(&self.kubernetes_version)
    }

    /// Whether the node's CRI socket goes into `/var/lib/kubelet/instance-config.yaml` and the
    /// kubelet's config.yaml instead of a `--container-runtime-endpoint` flag: always from
    /// v1.37, else the `NodeLocalCRISocket` gate, on by default
    /// (cmd/kubeadm/app/phases/kubelet/flags.go, config.go).
    pub fn node_local_cri_socket(&self) -> bool {
        self.minor() >= 37 || self.node_local_cri_socket_gate.unwrap_or(true)
    }
}

async fn get_cm(client: &Client, name: &str, timeout: Duration) -> Result<ConfigMap, PhaseError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    let deadline = Instant::now() + timeout;
    loop {
        match api.get(name).await {
            Ok(cm) => return Ok(cm),
            Err(e) => {
                let code = crate::kubeapi::api_code(&e);
                let transient = code.is_none_or(|c| c == 429 || c >= 500);
                if !transient || Instant::now() + Duration::from_millis(500) >= deadline {
                    let hint = match code {
                        Some(403) | Some(401) => {
                            "the bootstrap token may lack the RBAC kubeadm init creates (roles kubeadm:nodes-kubeadm-config and kubeadm:kubelet-config), or it expired"
                        }
                        Some(404) => {
                            "the control plane was not set up by kubeadm/kubestrap init (upload-config phase)"
                        }
                        _ => "check that the API server is reachable from this node",
                    };
                    return Err(PhaseError::new(format!(
                        "cannot read the ConfigMap kube-system/{name} with the bootstrap token"
                    ))
                    .caused_by(e)
                    .hint(hint));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Reads `kubeadm-config` (ClusterConfiguration) and `kubelet-config` (KubeletConfiguration)
/// from kube-system with `client` (the bootstrap-token client), as kubeadm's join preflight does.
/// Errors: a ConfigMap that cannot be read (with a hint) or lacks its key.
pub async fn read_cluster_settings(
    client: &Client,
    timeout: Duration,
) -> Result<ClusterSettings, PhaseError> {
    let kc = get_cm(client, "kubeadm-config", timeout).await?;
    let cc = kc
        .data
        .as_ref()
        .and_then(|d| d.get("ClusterConfiguration"))
        .ok_or_else(|| {
            PhaseError::new("kube-system/kubeadm-config has no ClusterConfiguration key")
        })?;
    let v: serde_yaml::Value = serde_yaml::from_str(cc).map_err(|e| {
        PhaseError::new("the ClusterConfiguration in kube-system/kubeadm-config is not YAML")
            .caused_by(e)
    })?;
    let s = |k: &str, d: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .filter(|x| !x.is_empty())
            .unwrap_or(d)
            .to_string()
    };
    let kl = get_cm(client, "kubelet-config", timeout).await?;
    let kubelet_config = kl
        .data
        .as_ref()
        .and_then(|d| d.get("kubelet"))
        .cloned()
        .ok_or_else(|| PhaseError::new("kube-system/kubelet-config has no kubelet key"))?;
    let node_local_cri_socket_gate = v
        .get("featureGates")
        .and_then(|g| g.get("NodeLocalCRISocket"))
        .and_then(serde_yaml::Value::as_bool);
    Ok(ClusterSettings {
        cluster_name: s("clusterName", "kubernetes"),
        kubernetes_version: s("kubernetesVersion", ""),
        image_repository: s("imageRepository", "registry.k8s.io"),
        kubelet_config,
        node_local_cri_socket_gate,
        cluster_configuration: cc.clone(),
    })
}

/// The TLS bootstrap kubeconfig (reference §2.7/§3.1): cluster `cluster_name` with `server`
/// and the CA, user `tls-bootstrap-token-user` with the bootstrap token, context
/// `tls-bootstrap-token-user@kubernetes` as current context. Returns YAML.
pub fn bootstrap_kubeconfig(
    cluster_name: &str,
    server: &str,
    ca_pem: &[u8],
    token: &str,
) -> Result<String, PhaseError> {
    let ca = String::from_utf8_lossy(ca_pem);
    let mut kc =
        crate::pki::kubeconfig::with_token("kubernetes", server, &ca, TLS_BOOTSTRAP_USER, token);
    if cluster_name != "kubernetes" {
        for c in &mut kc.clusters {
            c.name = cluster_name.to_string();
        }
        for c in kc.contexts.iter_mut().filter_map(|c| c.context.as_mut()) {
            c.cluster = cluster_name.to_string();
        }
    }
    crate::pki::kubeconfig::to_yaml(&kc)
        .map_err(|e| PhaseError::new("cannot render bootstrap-kubelet.conf").caused_by(e))
}

/// A kube client for kubeconfig text (current context).
pub async fn client_for(yaml: &str, what: &str) -> Result<Client, PhaseError> {
    crate::kubeapi::client_from_kubeconfig_str(yaml, what).await
}

/// `kubeadm-flags.env` as kubeadm's join writes it (cmd/kubeadm/app/phases/kubelet/flags.go):
/// `KUBELET_KUBEADM_ARGS="..."` with `--container-runtime-endpoint` (only when the cluster's
/// NodeLocalCRISocket is off), `--hostname-override` (when the node name differs from
/// `hostname`), `--pod-infra-container-image` (v1.34 only), `--register-with-taints` (when
/// taints are set), sorted by name; then `kubeletExtraArgs` in the user's order, each replacing
/// the base args of its name (`ArgumentsToCommand`).
pub fn kubeadm_flags_env(
    cfg: &JoinConfiguration,
    settings: &ClusterSettings,
    hostname: &str,
) -> String {
    let nr = &cfg.node_registration;
    let mut args: Vec<(String, String)> = Vec::new();
    if !settings.node_local_cri_socket() {
        args.push(("container-runtime-endpoint".into(), nr.cri_socket.clone()));
    }
    if settings.minor() <= 34 {
        let pause = crate::config::versions::KubeVersion::parse(&settings.kubernetes_version)
            .ok()
            .and_then(|v| v.info())
            .map(|i| i.pause)
            .unwrap_or("3.10.1");
        args.push((
            "pod-infra-container-image".into(),
            format!("{}/pause:{pause}", settings.image_repository),
        ));
    }
    if nr.name != hostname.trim().to_lowercase() {
        args.push(("hostname-override".into(), nr.name.clone()));
    }
    if let Some(taints) = &nr.taints
        && !taints.is_empty()
    {
        let t: Vec<String> = taints
            .iter()
            .map(|t| match &t.value {
                Some(v) if !v.is_empty() => format!("{}={}:{}", t.key, v, t.effect),
                _ => format!("{}:{}", t.key, t.effect),
            })
            .collect();
        args.push(("register-with-taints".into(), t.join(",")));
    }
    let base: Vec<crate::config::Arg> = args
        .into_iter()
        .map(|(name, value)| crate::config::Arg { name, value })
        .collect();
    let line: Vec<String> = crate::phases::staticpod::merge_args(&base, &nr.kubelet_extra_args)
        .iter()
        .map(|a| format!("--{}={}", a.name, a.value))
        .collect();
    format!("KUBELET_KUBEADM_ARGS=\"{}\"\n", line.join(" "))
}

/// The kubelet's config.yaml on a joining node: the cluster's KubeletConfiguration with the
/// node's `containerRuntimeEndpoint` patched in when NodeLocalCRISocket is on, keys sorted as
/// kubeadm re-marshals them (cmd/kubeadm/app/phases/kubelet/config.go). Errors: the
/// kubelet-config ConfigMap does not hold a YAML mapping.
pub fn kubelet_config_yaml(
    cfg: &JoinConfiguration,
    settings: &ClusterSettings,
) -> Result<String, PhaseError> {
    if !settings.node_local_cri_socket() {
        return Ok(settings.kubelet_config.clone());
    }
    let v: serde_yaml::Value = serde_yaml::from_str(&settings.kubelet_config).map_err(|e| {
        PhaseError::new("the KubeletConfiguration in kube-system/kubelet-config is not YAML")
            .caused_by(e)
    })?;
    let serde_yaml::Value::Mapping(mut m) = v else {
        return Err(PhaseError::new(
            "the KubeletConfiguration in kube-system/kubelet-config is not a YAML mapping",
        ));
    };
    m.insert(
        "containerRuntimeEndpoint".into(),
        cfg.node_registration.cri_socket.clone().into(),
    );
    let mut entries: Vec<(serde_yaml::Value, serde_yaml::Value)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
    serde_yaml::to_string(&serde_yaml::Mapping::from_iter(entries))
        .map_err(|e| PhaseError::new("cannot render the kubelet's config.yaml").caused_by(e))
}

fn write(
    host: &dyn Host,
    events: &EventSink,
    path: &str,
    data: &[u8],
    mode: u32,
) -> Result<(), PhaseError> {
    host.write_atomic(Path::new(path), data, mode)
        .map_err(|e| PhaseError::new(format!("cannot write {path}")).caused_by(e))?;
    events.send(Event::FileWritten {
        path: path.to_string(),
        mode,
    });
    Ok(())
}

/// Fails when a Node named `name` exists and is Ready (kubeadm's kubelet-start check);
/// a Forbidden/NotFound answer passes.
pub async fn check_no_ready_node(client: &Client, name: &str) -> Result<(), PhaseError> {
    let api: Api<Node> = Api::all(client.clone());
    if let Ok(Some(node)) = api.get_opt(name).await {
        let ready = node
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        if ready {
            return Err(PhaseError::new(format!(
                "a Node with name {name:?} and status \"Ready\" already exists in the cluster"
            ))
            .hint("give this machine another name with --node-name, or delete the old Node on the control plane (kubectl delete node NAME) first"));
        }
    }
    Ok(())
}

/// `kubelet-start`: writes bootstrap-kubelet.conf (0600) and `caCertPath` (0644, when missing),
/// stops the kubelet, writes `/var/lib/kubelet/config.yaml` (0644) and kubeadm-flags.env (0644),
/// then (not in dry-run) runs `systemctl daemon-reload` and `systemctl restart kubelet`
/// through the host. Errors: a file that cannot be written, a failing `systemctl restart`.
pub fn kubelet_start(
    host: &dyn Host,
    events: &EventSink,
    cfg: &JoinConfiguration,
    settings: &ClusterSettings,
    bootstrap_conf: &str,
    ca_pem: &[u8],
) -> Result<(), PhaseError> {
    const PHASE: &str = "kubelet-start";
    write(
        host,
        events,
        BOOTSTRAP_KUBELET_CONF,
        bootstrap_conf.as_bytes(),
        0o600,
    )?;
    if !host.exists(Path::new(&cfg.ca_cert_path)) {
        write(host, events, &cfg.ca_cert_path, ca_pem, 0o644)?;
    }
    // CgroupDriver (kubestrap's check): only now is the kubelet's cgroupDriver known, from the
    // cluster's KubeletConfiguration; a mismatch with containerd is a warning with the fix.
    if let Ok(kubelet) = serde_yaml::from_str::<serde_yaml::Value>(&settings.kubelet_config) {
        let node = crate::phases::preflight::NodeChecks {
            host,
            cri_socket: &cfg.node_registration.cri_socket,
            node_name: &cfg.node_registration.name,
            kubelet: Some(&kubelet),
            minor: settings.minor(),
            control_plane_version: None,
            kubelet_allow_cgroup_v1: false,
            worker: cfg.control_plane.is_none(),
        };
        let r = crate::phases::preflight::cgroup_driver_check(&node);
        if r.severity != crate::engine::Severity::Pass {
            let fix = r
                .fix
                .as_ref()
                .map(|f| format!("; fix: {}", f.summary))
                .unwrap_or_default();
            events.warn(PHASE, format!("[CgroupDriver] {}{fix}", r.message));
        }
    }
    // kubeadm's initsystem.GetInitSystem: systemd is the init system when it runs, not when
    // systemctl happens to be installed.
    let systemd = host.has_systemd();
    // Under --root the host refuses to restart this machine's kubelet (host::command_policy).
    let refused = host.command_refusal("systemctl", &["restart", "kubelet"]);
    if host.dry_run() {
        events.log(
            PHASE,
            "[dry-run] Would stop the kubelet (systemctl stop kubelet)",
        );
    } else if systemd && refused.is_none() {
        events.log(PHASE, "Stopping the kubelet");
        let _ = host.run("systemctl", &["stop", "kubelet"]);
    }
    if settings.node_local_cri_socket() {
        let instance = crate::phases::kubelet::INSTANCE_CONFIG;
        events.log(
            PHASE,
            format!("Writing kubelet configuration to file \"{instance}\""),
        );
        let body = format!(
            "containerRuntimeEndpoint: \"{}\"\n",
            cfg.node_registration.cri_socket
        );
        write(host, events, instance, body.as_bytes(), 0o644)?;
    }
    events.log(
        PHASE,
        format!("Writing kubelet configuration to file \"{KUBELET_CONFIG_YAML}\""),
    );
    write(
        host,
        events,
        KUBELET_CONFIG_YAML,
        kubelet_config_yaml(cfg, settings)?.as_bytes(),
        0o644,
    )?;
    let hostname = host.facts().hostname;
    events.log(
        PHASE,
        format!("Writing kubelet environment file with flags to file \"{KUBEADM_FLAGS_ENV}\""),
    );
    write(
        host,
        events,
        KUBEADM_FLAGS_ENV,
        kubeadm_flags_env(cfg, settings, &hostname).as_bytes(),
        0o644,
    )?;
    if host.dry_run() {
        events.log(PHASE, "[dry-run] Would restart the kubelet (systemctl daemon-reload && systemctl restart kubelet)");
        return Ok(());
    }
    if let Some(why) = refused {
        events.warn(
            PHASE,
            format!("the kubelet was not started: {why}; start it yourself inside that root, with the flags in /var/lib/kubelet/kubeadm-flags.env"),
        );
        return Ok(());
    }
    if !systemd {
        events.warn(PHASE, "no supported init system detected (systemd is not running); the kubelet was not started: start it yourself, with the flags in /var/lib/kubelet/kubeadm-flags.env");
        return Ok(());
    }
    events.log(PHASE, "Starting the kubelet");
    let _ = host.run("systemctl", &["daemon-reload"]);
    let out = host
        .run("systemctl", &["restart", "kubelet"])
        .map_err(|e| PhaseError::new("cannot run systemctl restart kubelet").caused_by(e))?;
    if !out.success() {
        return Err(PhaseError::new(format!(
            "systemctl restart kubelet failed: {}",
            out.stderr.trim()
        ))
        .hint("check: systemctl status kubelet; journalctl -xeu kubelet"));
    }
    Ok(())
}

/// Loads a kubeconfig from the host, embedding referenced certificate/key/CA files (read
/// through the host, so under its root) as data. Errors name the file.
pub fn load_kubeconfig_embedded(host: &dyn Host, path: &Path) -> Result<Kubeconfig, String> {
    let data = host
        .read(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8(data).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    let mut kc = Kubeconfig::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let read_b64 = |p: &str| -> Result<String, String> {
        host.read(Path::new(p))
            .map(|d| B64.encode(d))
            .map_err(|e| format!("{p}: {e}"))
    };
    for c in kc.clusters.iter_mut().filter_map(|c| c.cluster.as_mut()) {
        if let Some(p) = c.certificate_authority.take() {
            c.certificate_authority_data = Some(read_b64(&p)?);
        }
    }
    for a in kc
        .auth_infos
        .iter_mut()
        .filter_map(|a| a.auth_info.as_mut())
    {
        if let Some(p) = a.client_certificate.take() {
            a.client_certificate_data = Some(read_b64(&p)?);
        }
        if let Some(p) = a.client_key.take() {
            a.client_key_data = Some(read_b64(&p)?.into());
        }
    }
    Ok(kc)
}

async fn client_from_kc(kc: Kubeconfig) -> Result<Client, String> {
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    Client::try_from(config).map_err(|e| e.to_string())
}

/// Settings of the TLS bootstrap wait.
#[derive(Debug, Clone)]
pub struct BootstrapWait {
    /// `timeouts.tlsBootstrap` (5 m).
    pub tls_bootstrap_timeout: Duration,
    /// `timeouts.kubernetesAPICall` (1 m), for the Node to appear.
    pub node_timeout: Duration,
    /// Poll interval (kubeadm: 1 s).
    pub interval: Duration,
}

/// Waits until `/etc/kubernetes/kubelet.conf` loads into a working client (referenced
/// certificate files included), then until the Node `node_name` exists, reporting each
/// attempt as an [`Event::Probe`] (`kubelet-tls-bootstrap`, `node-registration`). Always
/// removes bootstrap-kubelet.conf afterwards, as kubeadm does.
///
/// Errors: a timeout, with the last problem seen and a hint to look at the kubelet's logs.
pub async fn wait_bootstrap(
    host: &dyn Host,
    events: &EventSink,
    node_name: &str,
    w: &BootstrapWait,
) -> Result<(), PhaseError> {
    let r = wait_inner(host, events, node_name, w).await;
    let _ = host.remove_file(Path::new(BOOTSTRAP_KUBELET_CONF));
    if r.is_ok() {
        events.log(
            "kubelet-wait-bootstrap",
            format!("Removed {BOOTSTRAP_KUBELET_CONF}"),
        );
    }
    r
}

async fn wait_inner(
    host: &dyn Host,
    events: &EventSink,
    node_name: &str,
    w: &BootstrapWait,
) -> Result<(), PhaseError> {
    const PHASE: &str = "kubelet-wait-bootstrap";
    let hint = "the kubelet may be unhealthy or misconfigured; check: systemctl status kubelet; journalctl -xeu kubelet";
    events.log(
        PHASE,
        format!(
            "Waiting for the kubelet to perform the TLS Bootstrap (up to {})",
            GoDuration(w.tls_bootstrap_timeout)
        ),
    );
    let start = Instant::now();
    let mut attempt = 0;
    // The API server the kubelet's kubeconfig names: a failure after discovery says where it
    // tried (issue 12).
    let mut server = String::from("the API server");
    let client = loop {
        attempt += 1;
        let err = match load_kubeconfig_embedded(host, Path::new(KUBELET_CONF)) {
            Ok(kc) => {
                if let Some(s) = kc
                    .clusters
                    .iter()
                    .find_map(|c| c.cluster.as_ref().and_then(|c| c.server.clone()))
                {
                    server = s;
                }
                match client_from_kc(kc).await {
                    Ok(c) => break c,
                    Err(e) => format!("{KUBELET_CONF} is not usable yet: {e}"),
                }
            }
            Err(e) if !host.exists(Path::new(KUBELET_CONF)) => {
                let _ = e;
                format!("{KUBELET_CONF} does not exist yet")
            }
            Err(e) => e,
        };
        events.send(Event::Probe {
            component: "kubelet-tls-bootstrap".into(),
            url: KUBELET_CONF.into(),
            attempt,
            outcome: ProbeOutcome::Error {
                message: err.clone(),
            },
            elapsed_ms: start.elapsed().as_millis() as u64,
            timeout_ms: w.tls_bootstrap_timeout.as_millis() as u64,
        });
        if start.elapsed() + w.interval > w.tls_bootstrap_timeout {
            return Err(PhaseError::new(format!(
                "the TLS bootstrap did not finish within {}: {err}",
                GoDuration(w.tls_bootstrap_timeout)
            ))
            .hint(hint));
        }
        tokio::time::sleep(w.interval).await;
    };
    events.send(Event::Probe {
        component: "kubelet-tls-bootstrap".into(),
        url: KUBELET_CONF.into(),
        attempt,
        outcome: ProbeOutcome::Healthy,
        elapsed_ms: start.elapsed().as_millis() as u64,
        timeout_ms: w.tls_bootstrap_timeout.as_millis() as u64,
    });
    events.log(
        PHASE,
        format!("The kubelet wrote {KUBELET_CONF}; waiting for Node {node_name:?} to register"),
    );
    let api: Api<Node> = Api::all(client);
    let start = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let err = match api.get_opt(node_name).await {
            Ok(Some(_)) => {
                events.send(Event::Probe {
                    component: "node-registration".into(),
                    url: format!("/api/v1/nodes/{node_name}"),
                    attempt,
                    outcome: ProbeOutcome::Healthy,
                    elapsed_ms: start.elapsed().as_millis() as u64,
                    timeout_ms: w.node_timeout.as_millis() as u64,
                });
                return Ok(());
            }
            Ok(None) => format!("Node {node_name:?} is not registered yet"),
            Err(e) => {
                let mut why = e.to_string();
                let mut cur = std::error::Error::source(&e);
                while let Some(c) = cur {
                    let t = c.to_string();
                    if !why.contains(&t) {
                        why = format!("{why}: {t}");
                    }
                    cur = c.source();
                }
                format!("cannot read Node {node_name:?} from {server}: {why}")
            }
        };
        events.send(Event::Probe {
            component: "node-registration".into(),
            url: format!("/api/v1/nodes/{node_name}"),
            attempt,
            outcome: ProbeOutcome::Error {
                message: err.clone(),
            },
            elapsed_ms: start.elapsed().as_millis() as u64,
            timeout_ms: w.node_timeout.as_millis() as u64,
        });
        if start.elapsed() + w.interval > w.node_timeout {
            return Err(PhaseError::new(format!(
                "the Node did not register within {}: {err}",
                GoDuration(w.node_timeout)
            ))
            .hint(hint));
        }
        tokio::time::sleep(w.interval).await;
    }
}

/// Real paths the join writes, for reports.
pub fn written_paths(cfg: &JoinConfiguration) -> Vec<PathBuf> {
    vec![
        PathBuf::from(BOOTSTRAP_KUBELET_CONF),
        PathBuf::from(&cfg.ca_cert_path),
        PathBuf::from(KUBELET_CONFIG_YAML),
        PathBuf::from(KUBEADM_FLAGS_ENV),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Arg;

    /// Issue 12 item 10: after discovery, a refused connection names the address it tried
    /// (the server of the kubelet's kubeconfig) and the cause.
    #[tokio::test]
    async fn a_refused_connection_after_discovery_names_the_address_tried() {
        let host = crate::host::FakeHost::new().unwrap();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        host.put(
            KUBELET_CONF,
            &format!("apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: k\n  context: {{cluster: k, user: u}}\ncurrent-context: k\nusers:\n- name: u\n  user: {{token: abc}}\n"),
        )
        .unwrap();
        let w = BootstrapWait {
            tls_bootstrap_timeout: Duration::from_secs(5),
            node_timeout: Duration::from_millis(300),
            interval: Duration::from_millis(100),
        };
        let e = wait_inner(&host, &EventSink::discard(), "worker-1", &w)
            .await
            .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains(&format!(
                "cannot read Node \"worker-1\" from https://127.0.0.1:{port}: "
            )) && m.contains("Connection refused"),
            "{m}"
        );
    }

    #[test]
    fn flags_env_like_kubeadm() {
        let mut cfg = JoinConfiguration::default();
        crate::join::cmdline::apply_join_defaults(&mut cfg, "node-a");
        let mut s = ClusterSettings {
            cluster_name: "kubernetes".into(),
            kubernetes_version: "v1.37.2".into(),
            image_repository: "registry.k8s.io".into(),
            kubelet_config:
                "kind: KubeletConfiguration\napiVersion: kubelet.config.k8s.io/v1beta1\n".into(),
            node_local_cri_socket_gate: None,
            cluster_configuration: String::new(),
        };
        // v1.37: the CRI socket lives in instance-config.yaml and config.yaml, never a flag.
        assert_eq!(
            kubeadm_flags_env(&cfg, &s, "node-a"),
            "KUBELET_KUBEADM_ARGS=\"\"\n"
        );
        assert_eq!(
            kubelet_config_yaml(&cfg, &s).unwrap(),
            "apiVersion: kubelet.config.k8s.io/v1beta1\ncontainerRuntimeEndpoint: unix:///var/run/containerd/containerd.sock\nkind: KubeletConfiguration\n"
        );
        // v1.34 with NodeLocalCRISocket off: the flag and the pause image, as kubeadm v1.34.
        s.kubernetes_version = "v1.34.4".into();
        s.node_local_cri_socket_gate = Some(false);
        assert_eq!(
            kubeadm_flags_env(&cfg, &s, "node-a"),
            "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10.1\"\n"
        );
        assert_eq!(kubelet_config_yaml(&cfg, &s).unwrap(), s.kubelet_config);
        // extra args follow the sorted defaults in the user's order and replace them by name.
        cfg.node_registration.name = "worker-9".into();
        cfg.node_registration.kubelet_extra_args = vec![
            Arg {
                name: "v".into(),
                value: "4".into(),
            },
            Arg {
                name: "container-runtime-endpoint".into(),
                value: "unix:///run/crio/crio.sock".into(),
            },
        ];
        let env = kubeadm_flags_env(&cfg, &s, "node-a");
        assert_eq!(
            env,
            "KUBELET_KUBEADM_ARGS=\"--hostname-override=worker-9 --pod-infra-container-image=registry.k8s.io/pause:3.10.1 --v=4 --container-runtime-endpoint=unix:///run/crio/crio.sock\"\n"
        );
    }

    #[test]
    fn bootstrap_kubeconfig_shape() {
        let y = bootstrap_kubeconfig(
            "prod",
            "https://10.0.0.1:6443",
            b"PEM",
            "abcdef.0123456789abcdef",
        )
        .unwrap();
        let kc = Kubeconfig::from_yaml(&y).unwrap();
        assert_eq!(kc.clusters[0].name, "prod");
        assert_eq!(
            kc.current_context.as_deref(),
            Some("tls-bootstrap-token-user@kubernetes")
        );
        assert_eq!(kc.contexts[0].context.as_ref().unwrap().cluster, "prod");
        assert_eq!(kc.auth_infos[0].name, TLS_BOOTSTRAP_USER);
    }
}
