//! The internal kubeadm configuration model.
//!
//! These types mirror kubeadm's `kubeadm.k8s.io/v1beta4` API (the newest external version,
//! `cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go`), so that serialising them with serde
//! gives a v1beta4 document the real kubeadm accepts. Older versions (v1beta3, v1beta2) are
//! read through their own wire types in sibling modules and converted into these.
//!
//! Field names, optionality and defaults follow the reference; defaults are filled by
//! [`crate::config::defaults`], never by `Default` impls here (an empty value means "unset").

use k8s_openapi::api::core::v1::{EnvVar, Taint};
use serde::{Deserialize, Serialize};

use super::duration::GoDuration;

/// `kubeadm.k8s.io` group name.
pub const GROUP: &str = "kubeadm.k8s.io";

fn is_false(b: &bool) -> bool {
    !*b
}

/// One command-line argument of a component (`--name=value`), v1beta4's `Arg`.
/// In v1beta4 the list keeps order and duplicates; in v1beta3 it is a map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Arg {
    /// Flag name without leading dashes, e.g. `authorization-mode`.
    pub name: String,
    /// Flag value, never split on commas.
    pub value: String,
}

/// A hostPath volume added to a control-plane static pod (`HostPathMount`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostPathMount {
    pub name: String,
    pub host_path: String,
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// `HostPathType`, e.g. `DirectoryOrCreate`; empty means unset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path_type: String,
}

/// `ControlPlaneComponent`: extra args, volumes and env of kube-controller-manager,
/// kube-scheduler (and, through [`ApiServer`], kube-apiserver).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlPlaneComponent {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_args: Vec<Arg>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_volumes: Vec<HostPathMount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_envs: Vec<EnvVar>,
}

/// `APIServer`: the kube-apiserver component plus its certificate SANs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiServer {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_args: Vec<Arg>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_volumes: Vec<HostPathMount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_envs: Vec<EnvVar>,
    /// Extra Subject Alternative Names for apiserver.crt (lower-cased on load).
    #[serde(default, rename = "certSANs", skip_serializing_if = "Vec::is_empty")]
    pub cert_sans: Vec<String>,
}

/// `LocalEtcd`: the stacked etcd member kubeadm runs as a static pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalEtcd {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_repository: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_tag: String,
    /// Absolute data directory, default `/var/lib/etcd`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data_dir: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_args: Vec<Arg>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_envs: Vec<EnvVar>,
    #[serde(
        default,
        rename = "serverCertSANs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub server_cert_sans: Vec<String>,
    #[serde(
        default,
        rename = "peerCertSANs",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub peer_cert_sans: Vec<String>,
}

/// `ExternalEtcd`: an etcd cluster kubeadm does not manage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalEtcd {
    pub endpoints: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_endpoints: Vec<String>,
    #[serde(default, rename = "caFile", skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_file: String,
}

/// `Etcd`: exactly one of `local` or `external` (validation enforces it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Etcd {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalEtcd>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalEtcd>,
}

/// `Networking`: subnets are kept as the user wrote them (one CIDR or a `v4,v6` pair);
/// use [`crate::config::net`] helpers to parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Networking {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_subnet: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod_subnet: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dns_domain: String,
}

/// `DNS` addon settings (CoreDNS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dns {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_repository: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_tag: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

/// `Proxy` addon settings (kube-proxy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Proxy {
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
}

/// `ClusterConfiguration` (v1beta4): cluster-wide settings, uploaded as `kubeadm-config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterConfiguration {
    #[serde(default)]
    pub etcd: Etcd,
    #[serde(default)]
    pub networking: Networking,
    /// `v1.37.2` style; labels such as `stable-1` are resolved offline (see defaults).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kubernetes_version: String,
    /// `host` or `host:port`; IPv6 hosts in brackets when a port follows.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub control_plane_endpoint: String,
    #[serde(default)]
    pub api_server: ApiServer,
    #[serde(default)]
    pub controller_manager: ControlPlaneComponent,
    #[serde(default)]
    pub scheduler: ControlPlaneComponent,
    #[serde(default)]
    pub dns: Dns,
    #[serde(default)]
    pub proxy: Proxy,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificates_dir: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_repository: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub feature_gates: std::collections::BTreeMap<String, bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster_name: String,
    /// `RSA-2048` (default), `RSA-3072`, `RSA-4096`, `ECDSA-P256`, `ECDSA-P384`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub encryption_algorithm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_validity_period: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate_validity_period: Option<GoDuration>,
}

/// `BootstrapToken` (bootstraptoken/v1): a token created by init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BootstrapToken {
    /// `<6 chars>.<16 chars>` of `[a-z0-9]`; empty means "generate one".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<GoDuration>,
    /// RFC 3339 expiry; mutually exclusive with `ttl`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expires: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usages: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// `NodeRegistrationOptions`: how this node registers with the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeRegistrationOptions {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cri_socket: String,
    /// `None` means "default taints" (control-plane taint on control-plane nodes);
    /// `Some(vec![])` means no taints and must survive export as `taints: []`.
    #[serde(default)]
    pub taints: Option<Vec<Taint>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubelet_extra_args: Vec<Arg>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_preflight_errors: Vec<String>,
    /// `Always`, `IfNotPresent` (default) or `Never`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_pull_policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_serial: Option<bool>,
}

/// `APIEndpoint`: address and port of one kube-apiserver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiEndpoint {
    /// An IP address; empty or `0.0.0.0` means "detect from the default route".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub advertise_address: String,
    /// TCP port, default 6443; 0 means unset.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bind_port: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

/// `Patches`: a directory of strategic-merge / JSON patches applied to generated manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Patches {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub directory: String,
}

/// `Timeouts` (v1beta4): every field is a Go duration string such as `4m0s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timeouts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane_component_health_check: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet_health_check: Option<GoDuration>,
    #[serde(
        default,
        rename = "kubernetesAPICall",
        skip_serializing_if = "Option::is_none"
    )]
    pub kubernetes_api_call: Option<GoDuration>,
    #[serde(
        default,
        rename = "etcdAPICall",
        skip_serializing_if = "Option::is_none"
    )]
    pub etcd_api_call: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_bootstrap: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<GoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_manifests: Option<GoDuration>,
}

/// `InitConfiguration` (v1beta4): runtime settings of `kubeadm init` on this node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitConfiguration {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bootstrap_tokens: Vec<BootstrapToken>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    #[serde(default)]
    pub node_registration: NodeRegistrationOptions,
    #[serde(default, rename = "localAPIEndpoint")]
    pub local_api_endpoint: ApiEndpoint,
    /// 64 hex characters (a 32-byte AES key) for `--upload-certs`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate_key: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_phases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

/// `BootstrapTokenDiscovery`: token discovery settings for join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BootstrapTokenDiscovery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// `host:port` of the API server used for discovery.
    #[serde(
        default,
        rename = "apiServerEndpoint",
        skip_serializing_if = "String::is_empty"
    )]
    pub api_server_endpoint: String,
    /// `sha256:<64 hex>` pins of the cluster CA's SubjectPublicKeyInfo.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_cert_hashes: Vec<String>,
    #[serde(
        default,
        rename = "unsafeSkipCAVerification",
        skip_serializing_if = "is_false"
    )]
    pub unsafe_skip_ca_verification: bool,
}

/// `FileDiscovery`: a kubeconfig file path, `file://` URL or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileDiscovery {
    pub kube_config_path: String,
}

/// `Discovery`: exactly one of `bootstrapToken` or `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Discovery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_token: Option<BootstrapTokenDiscovery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileDiscovery>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tls_bootstrap_token: String,
}

/// `JoinControlPlane`: present when joining as a control-plane node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JoinControlPlane {
    #[serde(default, rename = "localAPIEndpoint")]
    pub local_api_endpoint: ApiEndpoint,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate_key: String,
}

/// `JoinConfiguration` (v1beta4): settings of `kubeadm join` on this node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JoinConfiguration {
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    #[serde(default)]
    pub node_registration: NodeRegistrationOptions,
    /// Absolute path ending in `.crt`, default `/etc/kubernetes/pki/ca.crt`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_cert_path: String,
    #[serde(default)]
    pub discovery: Discovery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<JoinControlPlane>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_phases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patches: Option<Patches>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

/// `ResetConfiguration` (v1beta4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetConfiguration {
    #[serde(default, skip_serializing_if = "is_false")]
    pub cleanup_tmp_dir: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificates_dir: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cri_socket: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub force: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_preflight_errors: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_phases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmount_flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

/// Where an effective value came from, shown on the wizard's review screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// kubeadm's (or kubestrap's) default.
    Default,
    /// Detected on this host (hostname, default-route address, CRI socket).
    Detected,
    /// Read from `--config`; `line` is 1-based.
    File { line: usize },
    /// Given as a command-line flag.
    Flag,
    /// Typed in the wizard.
    Typed,
}

/// Everything `kubestrap init` works from after load + flags + defaults + validation.
///
/// `kubelet` and `kube_proxy` are the KubeletConfiguration / KubeProxyConfiguration
/// documents from the file, kept verbatim (`None` when the file had none).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InitConfig {
    pub init: InitConfiguration,
    pub cluster: ClusterConfiguration,
    pub kubelet: Option<serde_yaml::Value>,
    pub kube_proxy: Option<serde_yaml::Value>,
    /// Field path (e.g. `networking.podSubnet`) → where its value came from.
    pub sources: std::collections::BTreeMap<String, Source>,
}
