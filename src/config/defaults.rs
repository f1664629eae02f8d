//! kubeadm's defaults for v1beta4 (`cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go`),
//! except `kubernetesVersion`, which defaults to the newest version kubestrap carries.

use super::GoDuration;
use super::types::*;
use super::versions;

/// Default service subnet.
pub const DEFAULT_SERVICE_SUBNET: &str = "10.96.0.0/12";
/// Default DNS domain.
pub const DEFAULT_DNS_DOMAIN: &str = "cluster.local";
/// Default certificates directory.
pub const DEFAULT_CERTIFICATES_DIR: &str = "/etc/kubernetes/pki";
/// Default image repository.
pub const DEFAULT_IMAGE_REPOSITORY: &str = "registry.k8s.io";
/// Default cluster name.
pub const DEFAULT_CLUSTER_NAME: &str = "kubernetes";
/// Default CRI socket on Linux when detection is skipped.
pub const DEFAULT_CRI_SOCKET: &str = "unix:///var/run/containerd/containerd.sock";

/// The CRI endpoint URL for a `criSocket` value (`unix://` added; empty = the default).
pub fn cri_endpoint(socket: &str) -> String {
    if socket.is_empty() {
        DEFAULT_CRI_SOCKET.to_string()
    } else if socket.contains("://") {
        socket.to_string()
    } else {
        format!("unix://{socket}")
    }
}
/// Default API server bind port.
pub const DEFAULT_BIND_PORT: i32 = 6443;
/// Default etcd data directory.
pub const DEFAULT_ETCD_DATA_DIR: &str = "/var/lib/etcd";
/// Default encryption algorithm.
pub const DEFAULT_ENCRYPTION_ALGORITHM: &str = "RSA-2048";
/// Default group of bootstrap tokens.
pub const DEFAULT_TOKEN_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";

/// v1beta4 default timeouts (controlPlaneComponentHealthCheck 4m, kubeletHealthCheck 4m,
/// kubernetesAPICall 1m, etcdAPICall 2m, tlsBootstrap 5m, discovery 5m, upgradeManifests 5m).
pub fn default_timeouts() -> Timeouts {
    Timeouts {
        control_plane_component_health_check: Some(GoDuration::from_secs(240)),
        kubelet_health_check: Some(GoDuration::from_secs(240)),
        kubernetes_api_call: Some(GoDuration::from_secs(60)),
        etcd_api_call: Some(GoDuration::from_secs(120)),
        tls_bootstrap: Some(GoDuration::from_secs(300)),
        discovery: Some(GoDuration::from_secs(300)),
        upgrade_manifests: Some(GoDuration::from_secs(300)),
    }
}

/// Default `certificateValidityPeriod`: 8760h (one year).
pub fn default_cert_validity() -> GoDuration {
    GoDuration::from_secs(8760 * 3600)
}

/// Default `caCertificateValidityPeriod`: 87600h (ten years).
pub fn default_ca_validity() -> GoDuration {
    GoDuration::from_secs(87600 * 3600)
}

/// Fills every unset field of `timeouts` (creating it when absent) from [`default_timeouts`].
fn fill_timeouts(timeouts: &mut Option<Timeouts>) {
    let d = default_timeouts();
    let t = timeouts.get_or_insert_with(Timeouts::default);
    macro_rules! fill_t {
        ($($f:ident),*) => { $( if t.$f.is_none() { t.$f = d.$f; } )* };
    }
    fill_t!(
        control_plane_component_health_check,
        kubelet_health_check,
        kubernetes_api_call,
        etcd_api_call,
        tls_bootstrap,
        discovery,
        upgrade_manifests
    );
}

fn fill(s: &mut String, v: &str) {
    if s.is_empty() {
        *s = v.to_string();
    }
}

/// Fills every unset static default of an init configuration in place (no host facts:
/// node name, advertise address and CRI socket detection are dynamic defaults applied by
/// the loader). An empty `bootstrapTokens` gets one token entry with TTL 24h, usages
/// signing+authentication and the default group; its value stays empty (generated at run).
pub fn apply_static_init_defaults(cfg: &mut InitConfig) {
    let c = &mut cfg.cluster;
    fill(&mut c.networking.service_subnet, DEFAULT_SERVICE_SUBNET);
    fill(&mut c.networking.dns_domain, DEFAULT_DNS_DOMAIN);
    fill(&mut c.certificates_dir, DEFAULT_CERTIFICATES_DIR);
    fill(&mut c.image_repository, DEFAULT_IMAGE_REPOSITORY);
    fill(&mut c.cluster_name, DEFAULT_CLUSTER_NAME);
    fill(&mut c.encryption_algorithm, DEFAULT_ENCRYPTION_ALGORITHM);
    if c.kubernetes_version.is_empty() {
        c.kubernetes_version = versions::default_version();
    }
    if c.etcd.local.is_none() && c.etcd.external.is_none() {
        c.etcd.local = Some(LocalEtcd::default());
    }
    if let Some(local) = c.etcd.local.as_mut() {
        fill(&mut local.data_dir, DEFAULT_ETCD_DATA_DIR);
    }
    c.certificate_validity_period
        .get_or_insert(GoDuration::from_secs(8760 * 3600));
    c.ca_certificate_validity_period
        .get_or_insert(GoDuration::from_secs(87600 * 3600));

    let i = &mut cfg.init;
    if i.local_api_endpoint.bind_port == 0 {
        i.local_api_endpoint.bind_port = DEFAULT_BIND_PORT;
    }
    fill(&mut i.node_registration.cri_socket, DEFAULT_CRI_SOCKET);
    fill(&mut i.node_registration.image_pull_policy, "IfNotPresent");
    i.node_registration.image_pull_serial.get_or_insert(true);
    if i.bootstrap_tokens.is_empty() {
        i.bootstrap_tokens.push(BootstrapToken::default());
    }
    for t in &mut i.bootstrap_tokens {
        if t.ttl.is_none() && t.expires.is_empty() {
            t.ttl = Some(GoDuration::from_secs(24 * 3600));
        }
        if t.usages.is_empty() {
            t.usages = vec!["signing".into(), "authentication".into()];
        }
        if t.groups.is_empty() {
            t.groups = vec![DEFAULT_TOKEN_GROUP.into()];
        }
    }
    fill_timeouts(&mut i.timeouts);
}

/// The taint of a control-plane node when `nodeRegistration.taints` is unset:
/// `node-role.kubernetes.io/control-plane:NoSchedule` (kubeadm's
/// `SetNodeRegistrationDynamicDefaults`).
pub fn control_plane_taint() -> k8s_openapi::api::core::v1::Taint {
    k8s_openapi::api::core::v1::Taint {
        key: "node-role.kubernetes.io/control-plane".into(),
        effect: "NoSchedule".into(),
        ..Default::default()
    }
}

/// The ClusterConfiguration kubeadm uploads and works with, after its dynamic defaults
/// (`SetClusterDynamicDefaults` in cmd/kubeadm/app/util/config/initconfiguration.go and
/// `manageSkippedAddons` in cmd/kubeadm/app/cmd/init.go): a `controlPlaneEndpoint` without a
/// port gets the local bind port; from v1.35 an external etcd's `httpEndpoints` default to its
/// `endpoints`; a skipped `addon`, `addon/coredns` or `addon/kube-proxy` phase sets
/// `dns.disabled` / `proxy.disabled`. Takes the whole init configuration; returns a copy.
pub fn cluster_dynamic_defaults(cfg: &InitConfig) -> ClusterConfiguration {
    let mut c = cfg.cluster.clone();
    if !c.control_plane_endpoint.is_empty()
        && let Ok((host, None)) = super::net::split_host_port(&c.control_plane_endpoint)
        && let Ok(port) = u16::try_from(cfg.init.local_api_endpoint.bind_port)
    {
        c.control_plane_endpoint = super::net::join_host_port(&host, port);
    }
    if versions::minor_of(&c.kubernetes_version) >= 35
        && let Some(ext) = c.etcd.external.as_mut()
        && ext.http_endpoints.is_empty()
    {
        ext.http_endpoints = ext.endpoints.clone();
    }
    let skipped = |p: &str| cfg.init.skip_phases.iter().any(|s| s == p);
    if skipped("addon") || skipped("addon/coredns") {
        c.dns.disabled = true;
    }
    if skipped("addon") || skipped("addon/kube-proxy") {
        c.proxy.disabled = true;
    }
    c
}

/// A fully defaulted example configuration for tests and benchmarks: node `cp1`, advertise
/// address `192.168.1.10`, the given Kubernetes version, everything else kubeadm's defaults.
pub fn example_init_config(kubernetes_version: &str) -> InitConfig {
    let mut cfg = InitConfig::default();
    cfg.cluster.kubernetes_version = kubernetes_version.to_string();
    cfg.init.node_registration.name = "cp1".into();
    cfg.init.local_api_endpoint.advertise_address = "192.168.1.10".into();
    apply_static_init_defaults(&mut cfg);
    cfg
}

/// Fills the static defaults of a JoinConfiguration (`SetDefaults_JoinConfiguration`):
/// caCertPath, CRI socket, image pull policy/serial, timeouts, `tlsBootstrapToken` = the
/// discovery token when empty, and a control-plane bind port of 6443.
pub fn apply_static_join_defaults(j: &mut JoinConfiguration) {
    fill(&mut j.ca_cert_path, "/etc/kubernetes/pki/ca.crt");
    fill(&mut j.node_registration.cri_socket, DEFAULT_CRI_SOCKET);
    fill(&mut j.node_registration.image_pull_policy, "IfNotPresent");
    j.node_registration.image_pull_serial.get_or_insert(true);
    if j.discovery.tls_bootstrap_token.is_empty()
        && let Some(bt) = &j.discovery.bootstrap_token
    {
        j.discovery.tls_bootstrap_token = bt.token.clone();
    }
    if let Some(cp) = j.control_plane.as_mut()
        && cp.local_api_endpoint.bind_port == 0
    {
        cp.local_api_endpoint.bind_port = DEFAULT_BIND_PORT;
    }
    fill_timeouts(&mut j.timeouts);
}

/// Fills the static defaults of a ResetConfiguration (certificatesDir, CRI socket).
pub fn apply_static_reset_defaults(r: &mut ResetConfiguration) {
    fill(&mut r.certificates_dir, DEFAULT_CERTIFICATES_DIR);
    fill(&mut r.cri_socket, DEFAULT_CRI_SOCKET);
}
