//! The `control-plane` phase of `kubestrap init`: static Pod manifests for
//! kube-apiserver, kube-controller-manager and kube-scheduler in
//! `/etc/kubernetes/manifests`.
//!
//! Mirrors `cmd/kubeadm/app/cmd/phases/init/controlplane.go` and
//! `cmd/kubeadm/app/phases/controlplane/{manifests,volumes}.go` (`GetStaticPodSpecs`,
//! `getAPIServerCommand`, `getControllerManagerCommand`, `getSchedulerCommand`,
//! `getHostPathVolumesForTheControlPlane`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;

use crate::config::net::join_host_port;
use crate::config::{Arg, InitConfig};
use crate::engine::{Paths, PhaseCtx, PhaseError};
use crate::phases::etcd::ETCD_CLIENT_PORT;
use crate::phases::staticpod::{
    self, CA_CERTS_DIR, Component, HostPathMounts, KUBE_CONTROLLER_MANAGER_PORT,
    KUBE_SCHEDULER_PORT, ManifestError, OPTIONAL_CA_DIRS, PodInputs, VersionFacts, arg, arg_value,
    base_container, check_extra_args, component_pod, liveness_probe, merge_args, merge_env,
    readiness_probe, resources, set_arg, startup_probe,
};

/// Sub-phases of `control-plane`, in order.
pub const SUBPHASES: &[&str] = &["apiserver", "controller-manager", "scheduler"];
/// Annotation carrying the API server's advertise address and port.
pub const ADVERTISE_ADDRESS_ENDPOINT_ANNOTATION: &str =
    "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint";
/// Default flexvolume plugin directory mounted into kube-controller-manager (up to v1.35).
pub const FLEXVOLUME_DIR: &str = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec";
/// Authorization modes kube-apiserver knows.
pub const KNOWN_AUTHORIZATION_MODES: &[&str] = &[
    "Node",
    "RBAC",
    "Webhook",
    "ABAC",
    "AlwaysAllow",
    "AlwaysDeny",
];

const PHASE: &str = "control-plane";

fn component_of(sub: &str) -> Option<Component> {
    match sub {
        "apiserver" => Some(Component::KubeApiServer),
        "controller-manager" => Some(Component::KubeControllerManager),
        "scheduler" => Some(Component::KubeScheduler),
        _ => None,
    }
}

/// Runs `control-plane/<sub>` (`apiserver`, `controller-manager`, `scheduler`, or `all`).
///
/// Logs `[control-plane] Using manifest folder "<dir>"` and, per component,
/// `[control-plane] Creating static Pod manifest for "kube-apiserver"`; writes each
/// manifest (0600, directory 0700) and sends [`crate::engine::Event::FileWritten`].
/// Every requested Pod is built before anything is written, so bad input (the field is
/// named in the error) leaves the disk untouched. Errors: unknown `sub`, bad
/// configuration, io errors naming the path.
pub fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    let components: Vec<Component> = if sub == "all" {
        SUBPHASES.iter().filter_map(|s| component_of(s)).collect()
    } else {
        vec![component_of(sub).ok_or_else(|| {
            PhaseError::new(format!(
                "unknown sub-phase {sub:?} of phase \"control-plane\" (known: {}, all)",
                SUBPHASES.join(", ")
            ))
        })?]
    };
    let inputs = PodInputs::gather(ctx.host.as_ref(), &ctx.paths);
    let pods = components
        .iter()
        .map(|c| Ok((*c, build_pod(*c, &ctx.cfg, &inputs)?)))
        .collect::<Result<Vec<_>, ManifestError>>()?;
    if let Some(dir) = ctx
        .cfg
        .init
        .patches
        .as_ref()
        .map(|p| p.directory.as_str())
        .filter(|d| !d.is_empty())
    {
        ctx.events.warn(
            PHASE,
            format!("[control-plane] patches in {dir:?} are not applied: kubestrap does not support --patches yet"),
        );
    }
    staticpod::warn_unsupported_feature_gates(ctx, PHASE);
    ctx.events.log(
        PHASE,
        format!(
            "[control-plane] Using manifest folder {:?}",
            ctx.paths.manifests_dir.display().to_string()
        ),
    );
    for (c, _) in &pods {
        let sub_phase = format!("{PHASE}/{}", sub_name(*c));
        ctx.events.log(
            &sub_phase,
            format!(
                "[control-plane] Creating static Pod manifest for {:?}",
                c.name()
            ),
        );
    }
    staticpod::write_manifests(ctx, &pods)?;
    Ok(())
}

/// Builds the static Pod of `component` for `cfg` (a fully defaulted configuration):
/// kube-apiserver, kube-controller-manager and kube-scheduler here, etcd with
/// [`crate::phases::etcd::build_etcd_pod`]. Errors name the bad field.
pub fn build_pod(
    component: Component,
    cfg: &InitConfig,
    inputs: &PodInputs,
) -> Result<Pod, ManifestError> {
    match component {
        Component::Etcd => crate::phases::etcd::build_etcd_pod(cfg, inputs),
        Component::KubeApiServer => build_apiserver_pod(cfg, inputs),
        Component::KubeControllerManager => build_controller_manager_pod(cfg, inputs),
        Component::KubeScheduler => build_scheduler_pod(cfg, inputs),
    }
}

fn sub_name(c: Component) -> &'static str {
    match c {
        Component::KubeApiServer => "apiserver",
        Component::KubeControllerManager => "controller-manager",
        Component::KubeScheduler => "scheduler",
        Component::Etcd => "etcd",
    }
}

fn pki(paths: &Paths, file: &str) -> String {
    paths.pki_dir.join(file).display().to_string()
}

/// kube-apiserver's default flags (kubeadm's `defaultArguments` after the etcd and
/// authorization adjustments, before `apiServer.extraArgs` are merged), as sorted
/// `(name, value)` pairs: what the wizard shows as "flags kubestrap already sets".
///
/// Takes a fully defaulted configuration; values are taken as they are (an advertise
/// address that is not an IP is passed through and only refused by the Pod builder).
pub fn default_apiserver_args(cfg: &InitConfig) -> Vec<(String, String)> {
    let mut args = apiserver_defaults(cfg);
    args.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value)));
    args.into_iter().map(|a| (a.name, a.value)).collect()
}

fn apiserver_defaults(cfg: &InitConfig) -> Vec<Arg> {
    let paths = Paths::from_config(cfg);
    let c = &cfg.cluster;
    let adv = cfg.init.local_api_endpoint.advertise_address.trim();
    let mut args = vec![
        arg("advertise-address", adv),
        arg("enable-admission-plugins", "NodeRestriction"),
        arg("service-cluster-ip-range", &c.networking.service_subnet),
        arg("service-account-key-file", pki(&paths, "sa.pub")),
        arg("service-account-signing-key-file", pki(&paths, "sa.key")),
        arg(
            "service-account-issuer",
            format!("https://kubernetes.default.svc.{}", c.networking.dns_domain),
        ),
        arg("client-ca-file", pki(&paths, "ca.crt")),
        arg("tls-cert-file", pki(&paths, "apiserver.crt")),
        arg("tls-private-key-file", pki(&paths, "apiserver.key")),
        arg(
            "kubelet-client-certificate",
            pki(&paths, "apiserver-kubelet-client.crt"),
        ),
        arg(
            "kubelet-client-key",
            pki(&paths, "apiserver-kubelet-client.key"),
        ),
        arg("enable-bootstrap-token-auth", "true"),
        arg(
            "secure-port",
            cfg.init.local_api_endpoint.bind_port.to_string(),
        ),
        arg("allow-privileged", "true"),
        arg(
            "kubelet-preferred-address-types",
            "InternalIP,ExternalIP,Hostname",
        ),
        arg("requestheader-username-headers", "X-Remote-User"),
        arg("requestheader-group-headers", "X-Remote-Group"),
        arg("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
        arg(
            "requestheader-client-ca-file",
            pki(&paths, "front-proxy-ca.crt"),
        ),
        arg("requestheader-allowed-names", "front-proxy-client"),
        arg(
            "proxy-client-cert-file",
            pki(&paths, "front-proxy-client.crt"),
        ),
        arg(
            "proxy-client-key-file",
            pki(&paths, "front-proxy-client.key"),
        ),
    ];
    if let Some(ext) = &c.etcd.external {
        set_arg(&mut args, "etcd-servers", ext.endpoints.join(","));
        if !ext.ca_file.is_empty() {
            set_arg(&mut args, "etcd-cafile", &ext.ca_file);
        }
        if !ext.cert_file.is_empty() && !ext.key_file.is_empty() {
            set_arg(&mut args, "etcd-certfile", &ext.cert_file);
            set_arg(&mut args, "etcd-keyfile", &ext.key_file);
        }
    } else {
        let ipv6 = adv
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_ipv6())
            .unwrap_or(false);
        let loopback = if ipv6 { "::1" } else { "127.0.0.1" };
        set_arg(
            &mut args,
            "etcd-servers",
            format!("https://{}", join_host_port(loopback, ETCD_CLIENT_PORT)),
        );
        set_arg(&mut args, "etcd-cafile", pki(&paths, "etcd/ca.crt"));
        set_arg(
            &mut args,
            "etcd-certfile",
            pki(&paths, "apiserver-etcd-client.crt"),
        );
        set_arg(
            &mut args,
            "etcd-keyfile",
            pki(&paths, "apiserver-etcd-client.key"),
        );
        if let Some(v) = c
            .etcd
            .local
            .as_ref()
            .and_then(|l| arg_value(&l.extra_args, "advertise-client-urls"))
        {
            set_arg(&mut args, "etcd-servers", v);
        }
    }
    if arg_value(&c.api_server.extra_args, "authorization-config").is_none() {
        let requested = arg_value(&c.api_server.extra_args, "authorization-mode").unwrap_or("");
        set_arg(
            &mut args,
            "authorization-mode",
            authorization_modes(requested),
        );
    }
    args
}

/// kubeadm's `getAuthzModes`: the known modes of a user's `authorization-mode` value
/// (unknown ones dropped), or `Node,RBAC` when none is given or none is known.
pub fn authorization_modes(requested: &str) -> String {
    let known: Vec<&str> = requested
        .split(',')
        .filter(|m| KNOWN_AUTHORIZATION_MODES.contains(m))
        .collect();
    if known.is_empty() {
        "Node,RBAC".to_string()
    } else {
        known.join(",")
    }
}

/// Directories of the external etcd certificate files that need their own read-only
/// mount (kubeadm's `getEtcdCertVolumes`): not under the certificates dir, `/etc/ssl/certs`
/// or an optional CA dir, and not below another listed directory. Sorted.
pub fn external_etcd_cert_dirs(cfg: &InitConfig) -> Vec<String> {
    let Some(ext) = &cfg.cluster.etcd.external else {
        return Vec::new();
    };
    let paths = Paths::from_config(cfg);
    let pki_dir = paths.pki_dir.display().to_string();
    let mut covered: Vec<String> = vec![CA_CERTS_DIR.to_string(), pki_dir];
    covered.extend(OPTIONAL_CA_DIRS.iter().map(|(_, p)| p.to_string()));
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for file in [&ext.ca_file, &ext.cert_file, &ext.key_file] {
        let Some(dir) = std::path::Path::new(file.as_str())
            .parent()
            .map(|d| d.display().to_string())
            .filter(|d| !d.is_empty() && d != ".")
        else {
            continue;
        };
        if covered.iter().any(|c| dir.starts_with(c.as_str())) {
            continue;
        }
        if dirs.iter().any(|d| dir.starts_with(d.as_str())) {
            continue;
        }
        dirs.retain(|d| !d.starts_with(dir.as_str()));
        dirs.insert(dir);
    }
    dirs.into_iter().collect()
}

fn common_cert_mounts(m: &mut HostPathMounts, paths: &Paths, inputs: &PodInputs) {
    let pki_dir = paths.pki_dir.display().to_string();
    m.add("k8s-certs", &pki_dir, &pki_dir, true, "DirectoryOrCreate");
    m.add(
        "ca-certs",
        CA_CERTS_DIR,
        CA_CERTS_DIR,
        true,
        "DirectoryOrCreate",
    );
    for (name, path) in OPTIONAL_CA_DIRS {
        if inputs.existing_ca_dirs.iter().any(|d| d == path) {
            m.add(name, path, path, true, "DirectoryOrCreate");
        }
    }
}

/// Builds the kube-apiserver static Pod. Errors name the bad field (advertise address,
/// bind port, extraArgs, extraVolumes, kubernetesVersion).
pub fn build_apiserver_pod(cfg: &InitConfig, inputs: &PodInputs) -> Result<Pod, ManifestError> {
    let v = VersionFacts::of(cfg)?;
    let adv = staticpod::advertise_ip(cfg)?;
    let port = staticpod::bind_port(cfg)?;
    let api = &cfg.cluster.api_server;
    check_extra_args("apiServer.extraArgs", &api.extra_args)?;
    if let Some(ext) = &cfg.cluster.etcd.external
        && ext.endpoints.is_empty()
    {
        return Err(ManifestError::invalid(
            "etcd.external.endpoints",
            "",
            "must list at least one etcd endpoint",
        ));
    }
    let paths = Paths::from_config(cfg);
    let args = merge_args(&apiserver_defaults(cfg), &api.extra_args);

    let mut m = HostPathMounts::default();
    common_cert_mounts(&mut m, &paths, inputs);
    for (i, dir) in external_etcd_cert_dirs(cfg).iter().enumerate() {
        m.add(
            &format!("etcd-certs-{i}"),
            dir,
            dir,
            true,
            "DirectoryOrCreate",
        );
    }
    m.add_extra("apiServer.extraVolumes", &api.extra_volumes)?;

    let env = merge_env(&[&inputs.proxy_env, &api.extra_envs]);
    let name = Component::KubeApiServer.name();
    let mut c = base_container(
        name,
        staticpod::kubernetes_image(cfg, &v, Component::KubeApiServer),
        staticpod::command(name, &args),
        env,
    );
    let host = staticpod::probe_host(&adv.to_string());
    let p = v.probe_port(i32::from(port));
    c.volume_mounts = Some(m.mounts());
    c.liveness_probe = Some(liveness_probe(host.clone(), "/livez", p.clone(), "HTTPS"));
    c.readiness_probe = Some(readiness_probe(host.clone(), "/readyz", p.clone(), "HTTPS"));
    c.startup_probe = Some(startup_probe(host, "/livez", p, "HTTPS", cfg));
    c.resources = Some(resources("250m", None));
    c.ports = v.container_ports(i32::from(port));

    let mut annotations = BTreeMap::new();
    annotations.insert(
        ADVERTISE_ADDRESS_ENDPOINT_ANNOTATION.to_string(),
        join_host_port(&adv.to_string(), port),
    );
    Ok(component_pod(c, m.volumes(), annotations))
}

/// kube-controller-manager's default flags (before `controllerManager.extraArgs`), in
/// kubeadm's order. `external_ca` empties the cluster-signing files as kubeadm does.
pub fn default_controller_manager_args(cfg: &InitConfig, external_ca: bool) -> Vec<Arg> {
    let paths = Paths::from_config(cfg);
    let kubeconfig = paths
        .kubernetes_dir
        .join("controller-manager.conf")
        .display()
        .to_string();
    let ca = pki(&paths, "ca.crt");
    let mut args = vec![
        arg("bind-address", "127.0.0.1"),
        arg("leader-elect", "true"),
        arg("kubeconfig", &kubeconfig),
        arg("authentication-kubeconfig", &kubeconfig),
        arg("authorization-kubeconfig", &kubeconfig),
        arg("client-ca-file", &ca),
        arg(
            "requestheader-client-ca-file",
            pki(&paths, "front-proxy-ca.crt"),
        ),
        arg("root-ca-file", &ca),
        arg("service-account-private-key-file", pki(&paths, "sa.key")),
        arg("cluster-signing-cert-file", &ca),
        arg("cluster-signing-key-file", pki(&paths, "ca.key")),
        arg("use-service-account-credentials", "true"),
        arg("controllers", "*,bootstrapsigner,tokencleaner"),
    ];
    if external_ca {
        set_arg(&mut args, "cluster-signing-key-file", "");
        set_arg(&mut args, "cluster-signing-cert-file", "");
    }
    let net = &cfg.cluster.networking;
    if !net.pod_subnet.is_empty() {
        set_arg(&mut args, "allocate-node-cidrs", "true");
        set_arg(&mut args, "cluster-cidr", &net.pod_subnet);
        if !net.service_subnet.is_empty() {
            set_arg(&mut args, "service-cluster-ip-range", &net.service_subnet);
        }
    }
    if !cfg.cluster.cluster_name.is_empty() {
        set_arg(&mut args, "cluster-name", &cfg.cluster.cluster_name);
    }
    args
}

/// Builds the kube-controller-manager static Pod. Errors name the bad field.
pub fn build_controller_manager_pod(
    cfg: &InitConfig,
    inputs: &PodInputs,
) -> Result<Pod, ManifestError> {
    let v = VersionFacts::of(cfg)?;
    let cm = &cfg.cluster.controller_manager;
    check_extra_args("controllerManager.extraArgs", &cm.extra_args)?;
    let paths = Paths::from_config(cfg);
    let args = merge_args(
        &default_controller_manager_args(cfg, inputs.external_ca),
        &cm.extra_args,
    );

    let mut m = HostPathMounts::default();
    common_cert_mounts(&mut m, &paths, inputs);
    let kubeconfig = paths
        .kubernetes_dir
        .join("controller-manager.conf")
        .display()
        .to_string();
    m.add("kubeconfig", &kubeconfig, &kubeconfig, true, "FileOrCreate");
    // The flexvolume mount went away in v1.36 (cmd/kubeadm/app/phases/controlplane/volumes.go).
    if crate::config::versions::minor_of(&cfg.cluster.kubernetes_version) <= 35 {
        let flex = arg_value(&cm.extra_args, "flex-volume-plugin-dir").unwrap_or(FLEXVOLUME_DIR);
        m.add("flexvolume-dir", flex, flex, false, "DirectoryOrCreate");
    }
    m.add_extra("controllerManager.extraVolumes", &cm.extra_volumes)?;

    let env = merge_env(&[&inputs.proxy_env, &cm.extra_envs]);
    let name = Component::KubeControllerManager.name();
    let mut c = base_container(
        name,
        staticpod::kubernetes_image(cfg, &v, Component::KubeControllerManager),
        staticpod::command(name, &args),
        env,
    );
    let host =
        staticpod::probe_host(arg_value(&cm.extra_args, "bind-address").unwrap_or("127.0.0.1"));
    let p = v.probe_port(KUBE_CONTROLLER_MANAGER_PORT);
    c.volume_mounts = Some(m.mounts());
    c.liveness_probe = Some(liveness_probe(host.clone(), "/healthz", p.clone(), "HTTPS"));
    c.startup_probe = Some(startup_probe(host, "/healthz", p, "HTTPS", cfg));
    c.resources = Some(resources("200m", None));
    c.ports = v.container_ports(KUBE_CONTROLLER_MANAGER_PORT);
    Ok(component_pod(c, m.volumes(), BTreeMap::new()))
}

/// kube-scheduler's default flags (before `scheduler.extraArgs`), in kubeadm's order.
pub fn default_scheduler_args(cfg: &InitConfig) -> Vec<Arg> {
    let paths = Paths::from_config(cfg);
    let kubeconfig = paths
        .kubernetes_dir
        .join("scheduler.conf")
        .display()
        .to_string();
    vec![
        arg("bind-address", "127.0.0.1"),
        arg("leader-elect", "true"),
        arg("kubeconfig", &kubeconfig),
        arg("authentication-kubeconfig", &kubeconfig),
        arg("authorization-kubeconfig", &kubeconfig),
    ]
}

/// Builds the kube-scheduler static Pod (probes `/livez` + `/readyz` from 1.32, before
/// that `/healthz` without a readiness probe). Errors name the bad field.
pub fn build_scheduler_pod(cfg: &InitConfig, inputs: &PodInputs) -> Result<Pod, ManifestError> {
    let v = VersionFacts::of(cfg)?;
    let s = &cfg.cluster.scheduler;
    check_extra_args("scheduler.extraArgs", &s.extra_args)?;
    let paths = Paths::from_config(cfg);
    let args = merge_args(&default_scheduler_args(cfg), &s.extra_args);

    let mut m = HostPathMounts::default();
    let kubeconfig = paths
        .kubernetes_dir
        .join("scheduler.conf")
        .display()
        .to_string();
    m.add("kubeconfig", &kubeconfig, &kubeconfig, true, "FileOrCreate");
    m.add_extra("scheduler.extraVolumes", &s.extra_volumes)?;

    let env = merge_env(&[&inputs.proxy_env, &s.extra_envs]);
    let name = Component::KubeScheduler.name();
    let mut c = base_container(
        name,
        staticpod::kubernetes_image(cfg, &v, Component::KubeScheduler),
        staticpod::command(name, &args),
        env,
    );
    let host =
        staticpod::probe_host(arg_value(&s.extra_args, "bind-address").unwrap_or("127.0.0.1"));
    let p = v.probe_port(KUBE_SCHEDULER_PORT);
    c.volume_mounts = Some(m.mounts());
    if v.scheduler_livez {
        c.liveness_probe = Some(liveness_probe(host.clone(), "/livez", p.clone(), "HTTPS"));
        c.readiness_probe = Some(readiness_probe(host.clone(), "/readyz", p.clone(), "HTTPS"));
        c.startup_probe = Some(startup_probe(host, "/livez", p, "HTTPS", cfg));
    } else {
        c.liveness_probe = Some(liveness_probe(host.clone(), "/healthz", p.clone(), "HTTPS"));
        c.startup_probe = Some(startup_probe(host, "/healthz", p, "HTTPS", cfg));
    }
    c.resources = Some(resources("100m", None));
    c.ports = v.container_ports(KUBE_SCHEDULER_PORT);
    Ok(component_pod(c, m.volumes(), BTreeMap::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authz_modes_filtered() {
        assert_eq!(authorization_modes(""), "Node,RBAC");
        assert_eq!(authorization_modes("RBAC,Bogus"), "RBAC");
        assert_eq!(authorization_modes("Bogus"), "Node,RBAC");
    }

    #[test]
    fn default_args_for_the_wizard() {
        let cfg = crate::config::defaults::example_init_config("v1.36.3");
        let args = default_apiserver_args(&cfg);
        let names: Vec<&str> = args.iter().map(|(n, _)| n.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(args.contains(&("authorization-mode".into(), "Node,RBAC".into())));
        assert!(args.contains(&("etcd-servers".into(), "https://127.0.0.1:2379".into())));
        assert!(args.contains(&("advertise-address".into(), "192.168.1.10".into())));
        assert_eq!(args.len(), 27);
    }
}
