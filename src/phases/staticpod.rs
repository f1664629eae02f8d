//! Shared builders for kubeadm's static Pod manifests (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler).
//!
//! Mirrors `cmd/kubeadm/app/util/staticpod/utils.go` (`ComponentPod`, probes, probe
//! addresses), `cmd/kubeadm/app/util/arguments.go` (`ArgumentsToCommand`),
//! `cmd/kubeadm/app/util/env.go` (`GetProxyEnvVars`, `MergeKubeadmEnvVars`) and
//! `cmd/kubeadm/app/phases/controlplane/volumes.go` (hostPath mounts).
//!
//! Pods are typed k8s-openapi values, serialised with serde_yaml by [`to_yaml`]; the
//! builders are pure functions of the configuration and a [`PodInputs`] value that holds
//! the few host facts kubeadm consults (proxy variables, which CA directories exist,
//! external-CA mode), so the wizard and tests can call them without touching a host.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, HTTPGetAction, HostPathVolumeSource, Pod, PodSecurityContext,
    PodSpec, Probe, ResourceRequirements, SeccompProfile, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::versions::KubeVersion;
use crate::config::{Arg, HostPathMount, InitConfig};
use crate::engine::{Event, Paths, PhaseCtx, PhaseError};
use crate::host::{FileWrite, Host};

/// Priority of the `system-node-critical` PriorityClass.
pub const SYSTEM_NODE_CRITICAL_PRIORITY: i32 = 2_000_001_000;
/// Name of the container port every probe uses from Kubernetes 1.34 on.
pub const PROBE_PORT_NAME: &str = "probe-port";
/// Mode of a manifest file (kubeadm's `WriteStaticPodToDisk`).
pub const MANIFEST_MODE: u32 = 0o600;
/// Mode of the manifests directory.
pub const MANIFESTS_DIR_MODE: u32 = 0o700;
/// Secure port of kube-controller-manager.
pub const KUBE_CONTROLLER_MANAGER_PORT: i32 = 10257;
/// Secure port of kube-scheduler.
pub const KUBE_SCHEDULER_PORT: i32 = 10259;
/// The `ca-certs` volume: always mounted into apiserver and controller-manager.
pub const CA_CERTS_DIR: &str = "/etc/ssl/certs";

/// CA trust directories mounted into kube-apiserver and kube-controller-manager only when
/// they exist on the host: (volume name, path). kubeadm's `caCertsExtraVolumePaths`.
pub const OPTIONAL_CA_DIRS: &[(&str, &str)] = &[
    ("etc-ca-certificates", "/etc/ca-certificates"),
    ("etc-pki-ca-trust", "/etc/pki/ca-trust"),
    ("etc-pki-tls-certs", "/etc/pki/tls/certs"),
    (
        "usr-local-share-ca-certificates",
        "/usr/local/share/ca-certificates",
    ),
    ("usr-share-ca-certificates", "/usr/share/ca-certificates"),
];

/// The four static Pods kubeadm writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// `etcd` (local etcd only).
    Etcd,
    /// `kube-apiserver`.
    KubeApiServer,
    /// `kube-controller-manager`.
    KubeControllerManager,
    /// `kube-scheduler`.
    KubeScheduler,
}

impl Component {
    /// All four, in the order kubeadm writes them during init.
    pub const ALL: [Component; 4] = [
        Component::Etcd,
        Component::KubeApiServer,
        Component::KubeControllerManager,
        Component::KubeScheduler,
    ];

    /// Pod, container and image name: `etcd`, `kube-apiserver`, ...
    pub fn name(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::KubeApiServer => "kube-apiserver",
            Component::KubeControllerManager => "kube-controller-manager",
            Component::KubeScheduler => "kube-scheduler",
        }
    }

    /// Real path of the manifest, `<manifests dir>/<name>.yaml`.
    pub fn manifest_path(self, paths: &Paths) -> std::path::PathBuf {
        paths.manifests_dir.join(format!("{}.yaml", self.name()))
    }
}

/// Bad input for a manifest: names the configuration field, its value and the rule broken.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A configuration value the manifest cannot be built from.
    #[error("{field}: {}", crate::config::validate::value_and_rule(value, rule))]
    Invalid {
        /// Field path as in the kubeadm config, e.g. `localAPIEndpoint.advertiseAddress`.
        field: String,
        /// The offending value as given.
        value: String,
        /// The rule it breaks, e.g. `is not an IP address`.
        rule: String,
    },
    /// serde_yaml failed to serialise the Pod (not expected for typed values).
    #[error("cannot serialise the {component} manifest to YAML")]
    Yaml {
        /// Component name, e.g. `etcd`.
        component: &'static str,
        /// The serde_yaml error.
        #[source]
        source: serde_yaml::Error,
    },
}

impl ManifestError {
    /// An [`ManifestError::Invalid`] for `field` holding `value`, breaking `rule`.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        ManifestError::Invalid {
            field: field.into(),
            value: value.into(),
            rule: rule.into(),
        }
    }
}

impl From<ManifestError> for PhaseError {
    fn from(e: ManifestError) -> Self {
        match e {
            ManifestError::Invalid { .. } => PhaseError::new(e.to_string())
                .hint("fix the value in the configuration file or flag and run the phase again"),
            ManifestError::Yaml { component, source } => {
                PhaseError::new(format!("cannot serialise the {component} manifest"))
                    .caused_by(source)
            }
        }
    }
}

/// The host facts kubeadm consults while building manifests. `Default` is "nothing
/// present": no proxy variables, no optional CA directory, kubeadm owns the CA key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodInputs {
    /// kubeadm's proxy environment variables (`*_proxy`, any case, non-empty), in the
    /// order found; merged under each component's `extraEnvs`.
    pub proxy_env: Vec<EnvVar>,
    /// Paths from [`OPTIONAL_CA_DIRS`] that exist on the host.
    pub existing_ca_dirs: Vec<String>,
    /// External-CA mode (ca.crt present, ca.key absent): kube-controller-manager then
    /// gets empty `cluster-signing-cert-file` / `cluster-signing-key-file`.
    pub external_ca: bool,
}

impl PodInputs {
    /// Collects the facts through `host` (CA directories and ca.crt/ca.key under
    /// `paths.pki_dir`) and the proxy variables of this process's environment.
    pub fn gather(host: &dyn Host, paths: &Paths) -> Self {
        let existing_ca_dirs = OPTIONAL_CA_DIRS
            .iter()
            .filter(|(_, p)| host.exists(Path::new(p)))
            .map(|(_, p)| p.to_string())
            .collect();
        let external_ca = host.exists(&paths.pki_dir.join("ca.crt"))
            && !host.exists(&paths.pki_dir.join("ca.key"));
        PodInputs {
            // vars_os: std::env::vars() panics on a non-UTF-8 variable; such ones are skipped.
            proxy_env: proxy_env_vars(
                std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            ),
            existing_ca_dirs,
            external_ca,
        }
    }
}

/// kubeadm's `GetProxyEnvVars`: every variable whose lower-cased name ends in `_proxy`
/// and whose value is not empty, in input order.
pub fn proxy_env_vars(vars: impl IntoIterator<Item = (String, String)>) -> Vec<EnvVar> {
    vars.into_iter()
        .filter(|(k, v)| k.to_ascii_lowercase().ends_with("_proxy") && !v.is_empty())
        .map(|(name, value)| EnvVar {
            name,
            value: Some(value),
            value_from: None,
        })
        .collect()
}

/// kubeadm's `MergeKubeadmEnvVars`: later lists override earlier ones by name; the
/// result is sorted by name.
pub fn merge_env(lists: &[&[EnvVar]]) -> Vec<EnvVar> {
    let mut m: BTreeMap<String, EnvVar> = BTreeMap::new();
    for list in lists {
        for e in *list {
            m.insert(e.name.clone(), e.clone());
        }
    }
    m.into_values().collect()
}

/// The value of the last `name` entry of `args` (kubeadm's `GetArgValue(args, name, -1)`).
pub fn arg_value<'a>(args: &'a [Arg], name: &str) -> Option<&'a str> {
    args.iter()
        .rev()
        .find(|a| a.name == name)
        .map(|a| a.value.as_str())
}

/// Sets `name` to `value` in a default list: replaces the last entry of that name or
/// appends one (kubeadm's `SetArgValues(args, name, value, 1)` on single-valued lists).
pub fn set_arg(args: &mut Vec<Arg>, name: &str, value: impl Into<String>) {
    let value = value.into();
    match args.iter_mut().rev().find(|a| a.name == name) {
        Some(a) => a.value = value,
        None => args.push(Arg {
            name: name.to_string(),
            value,
        }),
    }
}

/// Checks every `extraArgs` entry has a name (the rest is the component's business).
/// `field` is the config path of the list, e.g. `apiServer.extraArgs`.
pub fn check_extra_args(field: &str, args: &[Arg]) -> Result<(), ManifestError> {
    for (i, a) in args.iter().enumerate() {
        let n = a.name.trim_start_matches('-');
        if n.is_empty() || n.contains('=') || n.chars().any(char::is_whitespace) {
            return Err(ManifestError::invalid(
                format!("{field}[{i}].name"),
                &a.name,
                "is not a flag name (non-empty, no '=', no spaces, e.g. authorization-mode)",
            ));
        }
    }
    Ok(())
}

/// kubeadm's `ArgumentsToCommand` (cmd/kubeadm/app/util/arguments.go): the defaults sorted
/// by name then value, less every default that an `extra` entry names, then the `extra`
/// entries in the user's order (so of repeated names the later one wins, and v1beta4
/// duplicates are all kept). Returns name/value pairs.
pub fn merge_args(defaults: &[Arg], extra: &[Arg]) -> Vec<Arg> {
    let overridden: std::collections::HashSet<&str> =
        extra.iter().map(|a| a.name.as_str()).collect();
    let mut out: Vec<Arg> = defaults
        .iter()
        .filter(|a| !overridden.contains(a.name.as_str()))
        .cloned()
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value)));
    out.extend(extra.iter().cloned());
    out
}

/// `[binary, --name=value, ...]`: the container command of a component.
pub fn command(binary: &str, args: &[Arg]) -> Vec<String> {
    std::iter::once(binary.to_string())
        .chain(args.iter().map(|a| format!("--{}={}", a.name, a.value)))
        .collect()
}

/// Shorthand for an [`Arg`].
pub fn arg(name: &str, value: impl Into<String>) -> Arg {
    Arg {
        name: name.to_string(),
        value: value.into(),
    }
}

/// Version-dependent facts of the configured `kubernetesVersion`.
#[derive(Debug, Clone)]
pub struct VersionFacts {
    /// The parsed `kubernetesVersion`.
    pub version: KubeVersion,
    /// `≥ 1.34`: probes use the named container port `probe-port`.
    pub named_probe_port: bool,
    /// `≥ 1.32`: kube-scheduler probes `/livez` + `/readyz` (before: `/healthz` only).
    pub scheduler_livez: bool,
}

impl VersionFacts {
    /// Parses `cfg.cluster.kubernetes_version`. Errors name `kubernetesVersion`.
    pub fn of(cfg: &InitConfig) -> Result<Self, ManifestError> {
        let raw = &cfg.cluster.kubernetes_version;
        let version = KubeVersion::parse(raw).map_err(|e| {
            // The parser's message starts with the quoted input; keep only the rule.
            let rule = e
                .strip_prefix(&format!("{raw:?} "))
                .map(str::to_string)
                .unwrap_or(e);
            ManifestError::invalid("kubernetesVersion", raw, rule)
        })?;
        if version.major != 1 {
            return Err(ManifestError::invalid(
                "kubernetesVersion",
                raw,
                "is not a Kubernetes 1.x version",
            ));
        }
        Ok(VersionFacts {
            named_probe_port: version.minor >= 34,
            scheduler_livez: version.minor >= 32,
            version,
        })
    }

    /// The probe port: the name `probe-port` (≥ 1.34) or the number.
    pub fn probe_port(&self, number: i32) -> IntOrString {
        if self.named_probe_port {
            IntOrString::String(PROBE_PORT_NAME.to_string())
        } else {
            IntOrString::Int(number)
        }
    }

    /// The `ports` list of a container: `[{name: probe-port, containerPort, TCP}]` from
    /// 1.34 on, else none.
    pub fn container_ports(&self, number: i32) -> Option<Vec<ContainerPort>> {
        self.named_probe_port.then(|| {
            vec![ContainerPort {
                name: Some(PROBE_PORT_NAME.to_string()),
                container_port: number,
                protocol: Some("TCP".to_string()),
                ..Default::default()
            }]
        })
    }
}

/// `<repository>/<name>:<tag>` (kubeadm's `GetGenericImage`).
pub fn image(repository: &str, name: &str, tag: &str) -> String {
    format!("{}/{name}:{tag}", repository.trim_end_matches('/'))
}

/// The control-plane image of `component` for the configured version and repository,
/// with `+` in the version replaced by `_`.
pub fn kubernetes_image(cfg: &InitConfig, v: &VersionFacts, component: Component) -> String {
    image(
        &cfg.cluster.image_repository,
        component.name(),
        &v.version.image_tag(),
    )
}

/// The advertise address as an IP. Errors name `localAPIEndpoint.advertiseAddress` when it
/// is empty, unspecified (`0.0.0.0`, `::`, not yet resolved) or not an IP address.
pub fn advertise_ip(cfg: &InitConfig) -> Result<IpAddr, ManifestError> {
    let raw = cfg.init.local_api_endpoint.advertise_address.trim();
    let ip: IpAddr = raw.parse().map_err(|_| {
        ManifestError::invalid(
            "localAPIEndpoint.advertiseAddress",
            raw,
            "is not an IP address (e.g. 192.168.1.10 or 2001:db8::10)",
        )
    })?;
    if ip.is_unspecified() {
        return Err(ManifestError::invalid(
            "localAPIEndpoint.advertiseAddress",
            raw,
            "must be a concrete address of this node, not the unspecified address",
        ));
    }
    Ok(ip)
}

/// `localAPIEndpoint.bindPort` as a port number (1–65535).
pub fn bind_port(cfg: &InitConfig) -> Result<u16, ManifestError> {
    let p = cfg.init.local_api_endpoint.bind_port;
    u16::try_from(p).ok().filter(|p| *p != 0).ok_or_else(|| {
        ManifestError::invalid(
            "localAPIEndpoint.bindPort",
            p.to_string(),
            "is not a port number from 1 to 65535",
        )
    })
}

/// The loopback address of the advertise address's family (`127.0.0.1` or `::1`).
pub fn loopback_for(ip: &IpAddr) -> &'static str {
    if ip.is_ipv6() { "::1" } else { "127.0.0.1" }
}

/// kubeadm's `getProbeAddress`: an unspecified bind address (`0.0.0.0`, `::`) becomes an
/// empty host (the kubelet then probes the pod IP); anything else is kept.
pub fn probe_host(addr: &str) -> Option<String> {
    match addr {
        "0.0.0.0" | "::" | "" => None,
        a => Some(a.to_string()),
    }
}

fn http_probe(
    host: Option<String>,
    path: &str,
    port: IntOrString,
    scheme: &str,
    (initial_delay, timeout, failure, period): (i32, i32, i32, i32),
) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            host,
            path: Some(path.to_string()),
            port,
            scheme: Some(scheme.to_string()),
            http_headers: None,
        }),
        // Go's omitempty drops a zero delay; so do we.
        initial_delay_seconds: (initial_delay != 0).then_some(initial_delay),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(failure),
        period_seconds: Some(period),
        ..Default::default()
    }
}

/// Liveness probe: initialDelay 10 s, timeout 15 s, failureThreshold 8, period 10 s.
/// `scheme` is `HTTP` or `HTTPS`.
pub fn liveness_probe(host: Option<String>, path: &str, port: IntOrString, scheme: &str) -> Probe {
    http_probe(host, path, port, scheme, (10, 15, 8, 10))
}

/// Readiness probe: initialDelay 0, timeout 15 s, failureThreshold 3, period 1 s.
pub fn readiness_probe(host: Option<String>, path: &str, port: IntOrString, scheme: &str) -> Probe {
    http_probe(host, path, port, scheme, (0, 15, 3, 1))
}

/// Startup probe: initialDelay 10 s, timeout 15 s, period 10 s, failureThreshold
/// `ceil(controlPlaneComponentHealthCheck / 10 s)` (24 for the default 4 m).
pub fn startup_probe(
    host: Option<String>,
    path: &str,
    port: IntOrString,
    scheme: &str,
    cfg: &InitConfig,
) -> Probe {
    http_probe(
        host,
        path,
        port,
        scheme,
        (10, 15, startup_failure_threshold(cfg), 10),
    )
}

/// `ceil(timeouts.controlPlaneComponentHealthCheck / 10 s)`, default timeout 4 m → 24
/// (kubeadm's `StartupProbe`); at least 1.
pub fn startup_failure_threshold(cfg: &InitConfig) -> i32 {
    let timeout = cfg
        .init
        .timeouts
        .as_ref()
        .and_then(|t| t.control_plane_component_health_check.as_ref())
        .map(|d| d.as_std())
        .unwrap_or(std::time::Duration::from_secs(240));
    let periods = timeout.as_secs_f64() / 10.0;
    (periods.ceil() as i64).clamp(1, i32::MAX as i64) as i32
}

/// CPU (and optionally memory) requests, e.g. `250m`.
pub fn resources(cpu: &str, memory: Option<&str>) -> ResourceRequirements {
    let mut requests = BTreeMap::new();
    requests.insert("cpu".to_string(), Quantity(cpu.to_string()));
    if let Some(m) = memory {
        requests.insert("memory".to_string(), Quantity(m.to_string()));
    }
    ResourceRequirements {
        requests: Some(requests),
        ..Default::default()
    }
}

/// The hostPath volumes and mounts of one component, keyed by name so that a later entry
/// (an `extraVolumes` item) replaces a default of the same name. Both come out sorted by
/// name (kubeadm's `VolumeMapToSlice` / `VolumeMountMapToSlice`).
#[derive(Debug, Clone, Default)]
pub struct HostPathMounts {
    volumes: BTreeMap<String, Volume>,
    mounts: BTreeMap<String, VolumeMount>,
}

impl HostPathMounts {
    /// Adds (or replaces) volume `name` for `host_path`, mounted at `mount_path`.
    /// `path_type` is a HostPathType such as `DirectoryOrCreate`; empty means unset.
    pub fn add(
        &mut self,
        name: &str,
        host_path: &str,
        mount_path: &str,
        read_only: bool,
        path_type: &str,
    ) {
        self.volumes.insert(
            name.to_string(),
            host_path_volume(name, host_path, path_type),
        );
        self.mounts
            .insert(name.to_string(), volume_mount(name, mount_path, read_only));
    }

    /// Adds the user's `extraVolumes` (their own readOnly and pathType), replacing defaults
    /// of the same name. Errors name the field when name, hostPath or mountPath is empty.
    pub fn add_extra(&mut self, field: &str, extra: &[HostPathMount]) -> Result<(), ManifestError> {
        for (i, v) in extra.iter().enumerate() {
            for (sub, val) in [
                ("name", &v.name),
                ("hostPath", &v.host_path),
                ("mountPath", &v.mount_path),
            ] {
                if val.trim().is_empty() {
                    return Err(ManifestError::invalid(
                        format!("{field}[{i}].{sub}"),
                        val.as_str(),
                        "must not be empty",
                    ));
                }
            }
            self.add(
                &v.name,
                &v.host_path,
                &v.mount_path,
                v.read_only,
                &v.path_type,
            );
        }
        Ok(())
    }

    /// Volumes sorted by name.
    pub fn volumes(&self) -> Vec<Volume> {
        self.volumes.values().cloned().collect()
    }

    /// Mounts sorted by name.
    pub fn mounts(&self) -> Vec<VolumeMount> {
        self.mounts.values().cloned().collect()
    }
}

/// A hostPath volume; `path_type` empty means unset.
pub fn host_path_volume(name: &str, path: &str, path_type: &str) -> Volume {
    Volume {
        name: name.to_string(),
        host_path: Some(HostPathVolumeSource {
            path: path.to_string(),
            type_: (!path_type.is_empty()).then(|| path_type.to_string()),
        }),
        ..Default::default()
    }
}

/// A volume mount; `readOnly` is written only when true (as Go's omitempty does).
pub fn volume_mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_string(),
        mount_path: path.to_string(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// kubeadm's `ComponentPod`: a Pod named like its single container in `kube-system`,
/// labels `component`/`tier: control-plane`, `hostNetwork`, `system-node-critical`,
/// priority 2000001000, seccomp `RuntimeDefault`, with `volumes` and `annotations`.
pub fn component_pod(
    container: Container,
    volumes: Vec<Volume>,
    annotations: BTreeMap<String, String>,
) -> Pod {
    let name = container.name.clone();
    let mut labels = BTreeMap::new();
    labels.insert("component".to_string(), name.clone());
    labels.insert("tier".to_string(), "control-plane".to_string());
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some("kube-system".to_string()),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![container],
            host_network: Some(true),
            priority: Some(SYSTEM_NODE_CRITICAL_PRIORITY),
            priority_class_name: Some("system-node-critical".to_string()),
            security_context: Some(PodSecurityContext {
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".to_string(),
                    localhost_profile: None,
                }),
                ..Default::default()
            }),
            volumes: (!volumes.is_empty()).then_some(volumes),
            ..Default::default()
        }),
        status: None,
    }
}

/// A container with kubeadm's common fields (`imagePullPolicy: IfNotPresent`); the
/// `env` list is left out when empty.
pub fn base_container(
    name: &str,
    image: String,
    command: Vec<String>,
    env: Vec<EnvVar>,
) -> Container {
    Container {
        name: name.to_string(),
        image: Some(image),
        image_pull_policy: Some("IfNotPresent".to_string()),
        command: Some(command),
        env: (!env.is_empty()).then_some(env),
        ..Default::default()
    }
}

/// The manifest text of `pod` (YAML, `apiVersion: v1`, `kind: Pod` first).
pub fn to_yaml(component: Component, pod: &Pod) -> Result<String, ManifestError> {
    serde_yaml::to_string(pod).map_err(|source| ManifestError::Yaml {
        component: component.name(),
        source,
    })
}

/// Sends a warning for kubeadm feature gates that change the static Pods but that
/// kubestrap does not implement (`RootlessControlPlane`), so the user is not surprised.
pub fn warn_unsupported_feature_gates(ctx: &PhaseCtx, phase: &str) {
    if ctx
        .cfg
        .cluster
        .feature_gates
        .get("RootlessControlPlane")
        .copied()
        .unwrap_or(false)
    {
        ctx.events.warn(
            phase,
            "feature gate RootlessControlPlane is not supported by kubestrap: the static Pods run as root",
        );
    }
}

/// Writes the built Pods to `<manifests dir>/<name>.yaml` (mode 0600, directory 0700)
/// through `ctx.host` as one group (synced together, [`crate::host::Host::write_atomic_all`]),
/// sending [`Event::FileWritten`] with the real path of each; returns the paths. The
/// builders are in `etcd.rs` and `control_plane.rs` (`phases::build_pod` picks one); this
/// toolkit never calls them. Errors: the YAML, or the io error with the file path.
pub fn write_manifests(
    ctx: &PhaseCtx,
    pods: &[(Component, Pod)],
) -> Result<Vec<std::path::PathBuf>, PhaseError> {
    let mut files = Vec::with_capacity(pods.len());
    for (component, pod) in pods {
        files.push((
            *component,
            component.manifest_path(&ctx.paths),
            to_yaml(*component, pod)?,
        ));
    }
    let dir = &ctx.paths.manifests_dir;
    ctx.host
        .create_dir_all(dir, MANIFESTS_DIR_MODE)
        .map_err(|e| {
            PhaseError::new(format!("failed to create directory {}", dir.display())).caused_by(e)
        })?;
    let writes: Vec<FileWrite<'_>> = files
        .iter()
        .map(|(_, path, yaml)| FileWrite {
            path,
            data: yaml.as_bytes(),
            mode: MANIFEST_MODE,
        })
        .collect();
    let result = ctx.host.write_atomic_all(&writes);
    let in_place = result.as_ref().map_or_else(|e| e.written, |()| files.len());
    for (_, path, _) in &files[..in_place] {
        ctx.events.send(Event::FileWritten {
            path: path.display().to_string(),
            mode: MANIFEST_MODE,
        });
    }
    if let Err(e) = result {
        let (component, path, _) = &files[e.failed];
        return Err(PhaseError::new(format!(
            "failed to write static Pod manifest file for {:?} ({})",
            component.name(),
            path.display()
        ))
        .caused_by(e.source));
    }
    Ok(files.into_iter().map(|(_, path, _)| path).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_args_replace_all_defaults_and_follow_in_the_users_order() {
        let defaults = vec![arg("b", "1"), arg("a", "x"), arg("a", "y"), arg("c", "3")];
        let extra = vec![arg("a", "z"), arg("d", "30"), arg("d", "10")];
        let got = merge_args(&defaults, &extra);
        let cmd = command("bin", &got);
        assert_eq!(
            cmd,
            ["bin", "--b=1", "--c=3", "--a=z", "--d=30", "--d=10"].map(String::from)
        );
    }

    #[test]
    fn proxy_env_filter_and_merge() {
        let vars = vec![
            ("HTTP_PROXY".to_string(), "http://p:3128".to_string()),
            ("no_proxy".to_string(), "localhost".to_string()),
            ("HTTPS_PROXY".to_string(), String::new()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let proxy = proxy_env_vars(vars);
        assert_eq!(
            proxy.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["HTTP_PROXY", "no_proxy"]
        );
        let user = vec![EnvVar {
            name: "HTTP_PROXY".into(),
            value: Some("http://other:8080".into()),
            value_from: None,
        }];
        let merged = merge_env(&[&proxy, &user]);
        assert_eq!(merged[0].value.as_deref(), Some("http://other:8080"));
        assert_eq!(merged[1].name, "no_proxy");
    }

    #[test]
    fn startup_threshold_rounds_up() {
        let mut cfg = crate::config::defaults::example_init_config("v1.36.3");
        assert_eq!(startup_failure_threshold(&cfg), 24);
        cfg.init
            .timeouts
            .as_mut()
            .unwrap()
            .control_plane_component_health_check = Some(crate::config::GoDuration::from_secs(95));
        assert_eq!(startup_failure_threshold(&cfg), 10);
    }

    #[test]
    fn probe_hosts() {
        assert_eq!(probe_host("0.0.0.0"), None);
        assert_eq!(probe_host("::"), None);
        assert_eq!(probe_host("::1").as_deref(), Some("::1"));
    }
}
