//! `addon/coredns` and `addon/kube-proxy`: kubeadm's essential addons as typed objects
//! (kubeadm `app/phases/addons/dns/{dns,manifests}.go`, `app/phases/addons/proxy/{proxy,manifests}.go`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec,
    DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EnvVar,
    EnvVarSource, HTTPGetAction, HostPathVolumeSource, KeyToPath, ObjectFieldSelector,
    PodAffinityTerm, PodAntiAffinity, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, Toleration, Volume,
    VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::defaults::{DEFAULT_IMAGE_REPOSITORY, DEFAULT_TOKEN_GROUP};
use crate::config::net::dns_service_ip;
use crate::config::versions::KubeVersion;
use crate::engine::{PhaseCtx, PhaseError};
use crate::kubeapi::endpoint::control_plane_url;
use crate::kubeapi::{ApiWriter, meta, rbac};

use super::upload_config::{HASH_ANNOTATION, config_map_hash};

/// Sub-phases in kubeadm's order.
pub const SUBPHASES: &[(&str, &str)] = &[
    (
        "coredns",
        "Install the CoreDNS addon to a Kubernetes cluster",
    ),
    (
        "kube-proxy",
        "Install the kube-proxy addon to a Kubernetes cluster",
    ),
];

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn version(ctx: &PhaseCtx) -> Result<KubeVersion, PhaseError> {
    KubeVersion::parse(&ctx.cfg.cluster.kubernetes_version)
        .map_err(|e| PhaseError::new(format!("kubernetesVersion: {e}")))
}

/// CoreDNS image: `dns.imageRepository` or `imageRepository` (+ `/coredns` for the default
/// registry), tag `dns.imageTag` or the version table's CoreDNS version.
pub fn coredns_image(ctx: &PhaseCtx) -> Result<String, PhaseError> {
    let c = &ctx.cfg.cluster;
    let repo = if c.dns.image_repository.is_empty() {
        if c.image_repository == DEFAULT_IMAGE_REPOSITORY || c.image_repository.is_empty() {
            format!("{DEFAULT_IMAGE_REPOSITORY}/coredns")
        } else {
            c.image_repository.clone()
        }
    } else {
        c.dns.image_repository.clone()
    };
    let tag = if c.dns.image_tag.is_empty() {
        let v = version(ctx)?;
        v.info().map(|i| i.coredns.to_string()).ok_or_else(|| {
            PhaseError::new(format!(
                "kubernetesVersion {}: no known CoreDNS version",
                c.kubernetes_version
            ))
        })?
    } else {
        c.dns.image_tag.clone()
    };
    Ok(format!("{repo}/coredns:{tag}"))
}

/// The Corefile for `dns_domain`; from Kubernetes 1.32 the cache skips the cluster zone.
pub fn corefile(dns_domain: &str, minor: u32) -> String {
    let cache = if minor >= 32 {
        format!(
            "cache 30 {{\n       disable success {dns_domain}\n       disable denial {dns_domain}\n    }}"
        )
    } else {
        "cache 30".to_string()
    };
    format!(
        ".:53 {{\n    errors\n    health {{\n       lameduck 5s\n    }}\n    ready\n    kubernetes {dns_domain} in-addr.arpa ip6.arpa {{\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }}\n    prometheus :9153\n    forward . /etc/resolv.conf {{\n       max_concurrent 1000\n    }}\n    {cache}\n    loop\n    reload\n    loadbalance\n}}\n"
    )
}

fn port(name: &str, p: i32, proto: &str) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: p,
        protocol: Some(proto.into()),
        ..Default::default()
    }
}

fn http_probe(path: &str, p: &str, port_num: i32, named: bool) -> HTTPGetAction {
    HTTPGetAction {
        path: Some(path.into()),
        port: if named {
            IntOrString::String(p.into())
        } else {
            IntOrString::Int(port_num)
        },
        scheme: Some("HTTP".into()),
        ..Default::default()
    }
}

/// The CoreDNS objects in kubeadm's order: ConfigMap, ClusterRole, ClusterRoleBinding,
/// ServiceAccount, Deployment, Service. Errors: bad version or service subnet.
pub fn coredns_objects(
    ctx: &PhaseCtx,
) -> Result<
    (
        ConfigMap,
        k8s_openapi::api::rbac::v1::ClusterRole,
        k8s_openapi::api::rbac::v1::ClusterRoleBinding,
        ServiceAccount,
        Deployment,
        Service,
    ),
    PhaseError,
> {
    let c = &ctx.cfg.cluster;
    let minor = version(ctx)?.minor;
    let named = minor >= 34;
    let dns_ip = dns_service_ip(&c.networking.service_subnet)
        .map_err(|e| PhaseError::new(format!("networking.serviceSubnet: {e}")))?;
    let ns = Some("kube-system");
    let cm = ConfigMap {
        metadata: meta("coredns", ns, &[]),
        data: Some(labels(&[(
            "Corefile",
            &corefile(&c.networking.dns_domain, minor),
        )])),
        ..Default::default()
    };
    let cr = rbac::cluster_role(
        "system:coredns",
        vec![
            rbac::rule(
                &[""],
                &["endpoints", "services", "pods", "namespaces"],
                &["list", "watch"],
                &[],
            ),
            rbac::rule(
                &["discovery.k8s.io"],
                &["endpointslices"],
                &["list", "watch"],
                &[],
            ),
        ],
    );
    let crb = rbac::cluster_role_binding(
        "system:coredns",
        "system:coredns",
        vec![rbac::service_account("kube-system", "coredns")],
    );
    let sa = ServiceAccount {
        metadata: meta("coredns", ns, &[]),
        ..Default::default()
    };
    let sel = labels(&[("k8s-app", "kube-dns")]);
    let mut ports = vec![
        port("dns", 53, "UDP"),
        port("dns-tcp", 53, "TCP"),
        port("metrics", 9153, "TCP"),
    ];
    if named {
        ports.push(port("liveness-probe", 8080, "TCP"));
        ports.push(port("readiness-probe", 8181, "TCP"));
    }
    let container = Container {
        name: "coredns".into(),
        image: Some(coredns_image(ctx)?),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(vec!["-conf".into(), "/etc/coredns/Corefile".into()]),
        resources: Some(ResourceRequirements {
            limits: Some(BTreeMap::from([(
                "memory".into(),
                Quantity("170Mi".into()),
            )])),
            requests: Some(BTreeMap::from([
                ("cpu".into(), Quantity("100m".into())),
                ("memory".into(), Quantity("70Mi".into())),
            ])),
            ..Default::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "config-volume".into(),
            mount_path: "/etc/coredns".into(),
            read_only: Some(true),
            ..Default::default()
        }]),
        ports: Some(ports),
        liveness_probe: Some(Probe {
            http_get: Some(http_probe("/health", "liveness-probe", 8080, named)),
            initial_delay_seconds: Some(60),
            timeout_seconds: Some(5),
            success_threshold: Some(1),
            failure_threshold: Some(5),
            ..Default::default()
        }),
        readiness_probe: Some(Probe {
            http_get: Some(http_probe("/ready", "readiness-probe", 8181, named)),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                add: Some(vec!["NET_BIND_SERVICE".into()]),
                drop: Some(vec!["ALL".into()]),
            }),
            read_only_root_filesystem: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let deploy = Deployment {
        metadata: meta("coredns", ns, &[("k8s-app", "kube-dns")]),
        spec: Some(DeploymentSpec {
            replicas: Some(2),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(1)),
                    ..Default::default()
                }),
            }),
            selector: LabelSelector {
                match_labels: Some(sel.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(meta("", None, &[("k8s-app", "kube-dns")])).map(|mut m| {
                    m.name = None;
                    m
                }),
                spec: Some(PodSpec {
                    priority_class_name: Some("system-cluster-critical".into()),
                    service_account_name: Some("coredns".into()),
                    affinity: Some(Affinity {
                        pod_anti_affinity: Some(PodAntiAffinity {
                            preferred_during_scheduling_ignored_during_execution: Some(vec![
                                WeightedPodAffinityTerm {
                                    weight: 100,
                                    pod_affinity_term: PodAffinityTerm {
                                        label_selector: Some(LabelSelector {
                                            match_expressions: Some(vec![
                                                LabelSelectorRequirement {
                                                    key: "k8s-app".into(),
                                                    operator: "In".into(),
                                                    values: Some(vec!["kube-dns".into()]),
                                                },
                                            ]),
                                            ..Default::default()
                                        }),
                                        topology_key: "kubernetes.io/hostname".into(),
                                        ..Default::default()
                                    },
                                },
                            ]),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    tolerations: Some(vec![
                        Toleration {
                            key: Some("CriticalAddonsOnly".into()),
                            operator: Some("Exists".into()),
                            ..Default::default()
                        },
                        Toleration {
                            key: Some("node-role.kubernetes.io/control-plane".into()),
                            effect: Some("NoSchedule".into()),
                            ..Default::default()
                        },
                    ]),
                    node_selector: Some(labels(&[("kubernetes.io/os", "linux")])),
                    containers: vec![container],
                    dns_policy: Some("Default".into()),
                    volumes: Some(vec![Volume {
                        name: "config-volume".into(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: "coredns".into(),
                            items: Some(vec![KeyToPath {
                                key: "Corefile".into(),
                                path: "Corefile".into(),
                                mode: None,
                            }]),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut svc_meta = meta(
        "kube-dns",
        ns,
        &[
            ("k8s-app", "kube-dns"),
            ("kubernetes.io/cluster-service", "true"),
            ("kubernetes.io/name", "CoreDNS"),
        ],
    );
    svc_meta.annotations = Some(labels(&[
        ("prometheus.io/port", "9153"),
        ("prometheus.io/scrape", "true"),
    ]));
    let sport = |name: &str, p: i32, proto: &str| ServicePort {
        name: Some(name.into()),
        port: p,
        protocol: Some(proto.into()),
        target_port: Some(IntOrString::Int(p)),
        ..Default::default()
    };
    let svc = Service {
        metadata: svc_meta,
        spec: Some(ServiceSpec {
            cluster_ip: Some(dns_ip.to_string()),
            ports: Some(vec![
                sport("dns", 53, "UDP"),
                sport("dns-tcp", 53, "TCP"),
                sport("metrics", 9153, "TCP"),
            ]),
            selector: Some(sel),
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok((cm, cr, crb, sa, deploy, svc))
}

/// kube-proxy's `config.conf`: a `kubeproxy.config.k8s.io/v1alpha1` KubeProxyConfiguration
/// with kubeadm's settings (bindAddress, clientConnection.kubeconfig, clusterCIDR), overlaid
/// with the user's document when given.
pub fn kube_proxy_config(ctx: &PhaseCtx) -> Result<String, PhaseError> {
    let ipv6 = ctx
        .cfg
        .init
        .local_api_endpoint
        .advertise_address
        .contains(':');
    let mut m = serde_yaml::Mapping::new();
    m.insert(
        "apiVersion".into(),
        "kubeproxy.config.k8s.io/v1alpha1".into(),
    );
    m.insert("kind".into(), "KubeProxyConfiguration".into());
    m.insert(
        "bindAddress".into(),
        (if ipv6 { "::" } else { "0.0.0.0" }).into(),
    );
    let mut cc = serde_yaml::Mapping::new();
    cc.insert(
        "kubeconfig".into(),
        "/var/lib/kube-proxy/kubeconfig.conf".into(),
    );
    m.insert("clientConnection".into(), serde_yaml::Value::Mapping(cc));
    let pod = &ctx.cfg.cluster.networking.pod_subnet;
    if !pod.is_empty() {
        m.insert("clusterCIDR".into(), pod.as_str().into());
    }
    if let Some(serde_yaml::Value::Mapping(user)) = &ctx.cfg.kube_proxy {
        for (k, v) in user {
            m.insert(k.clone(), v.clone());
        }
    }
    // From v1.37 kubeadm writes kube-proxy's default mode instead of leaving it empty
    // (cmd/kubeadm/app/componentconfigs/kubeproxy.go).
    let mode = m
        .get("mode")
        .and_then(serde_yaml::Value::as_str)
        .unwrap_or("");
    if mode.is_empty()
        && crate::config::versions::minor_of(&ctx.cfg.cluster.kubernetes_version) >= 37
    {
        m.insert("mode".into(), "iptables".into());
    }
    serde_yaml::to_string(&m)
        .map_err(|e| PhaseError::new("cannot serialise KubeProxyConfiguration").caused_by(e))
}

/// kube-proxy's `kubeconfig.conf`: in-cluster service-account credentials against the
/// control-plane endpoint.
pub fn kube_proxy_kubeconfig(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n    server: {server}\n  name: default\ncontexts:\n- context:\n    cluster: default\n    namespace: default\n    user: default\n  name: default\ncurrent-context: default\nusers:\n- name: default\n  user:\n    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token\n"
    )
}

fn host_path_volume(name: &str, path: &str, type_: Option<&str>) -> Volume {
    Volume {
        name: name.into(),
        host_path: Some(HostPathVolumeSource {
            path: path.into(),
            type_: type_.map(str::to_string),
        }),
        ..Default::default()
    }
}

/// The kube-proxy ConfigMap (with the component-config hash annotation unless the user
/// supplied a KubeProxyConfiguration) and DaemonSet. Errors: bad version or endpoint.
pub fn kube_proxy_objects(ctx: &PhaseCtx) -> Result<(ConfigMap, DaemonSet), PhaseError> {
    let server = control_plane_url(&ctx.cfg).map_err(PhaseError::new)?;
    let ns = Some("kube-system");
    let data = labels(&[
        ("config.conf", &kube_proxy_config(ctx)?),
        ("kubeconfig.conf", &kube_proxy_kubeconfig(&server)),
    ]);
    let mut cm_meta = meta("kube-proxy", ns, &[("app", "kube-proxy")]);
    if ctx.cfg.kube_proxy.is_none() {
        cm_meta.annotations = Some(labels(&[(HASH_ANNOTATION, &config_map_hash(&data))]));
    }
    let cm = ConfigMap {
        metadata: cm_meta,
        data: Some(data),
        ..Default::default()
    };
    let v = version(ctx)?;
    let image = format!(
        "{}/kube-proxy:{}",
        ctx.cfg.cluster.image_repository,
        v.image_tag()
    );
    let sel = labels(&[("k8s-app", "kube-proxy")]);
    let container = Container {
        name: "kube-proxy".into(),
        image: Some(image),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec![
            "/usr/local/bin/kube-proxy".into(),
            "--config=/var/lib/kube-proxy/config.conf".into(),
            "--hostname-override=$(NODE_NAME)".into(),
        ]),
        security_context: Some(SecurityContext {
            privileged: Some(true),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "kube-proxy".into(),
                mount_path: "/var/lib/kube-proxy".into(),
                ..Default::default()
            },
            VolumeMount {
                name: "xtables-lock".into(),
                mount_path: "/run/xtables.lock".into(),
                read_only: None,
                ..Default::default()
            },
            VolumeMount {
                name: "lib-modules".into(),
                mount_path: "/lib/modules".into(),
                read_only: Some(true),
                ..Default::default()
            },
        ]),
        env: Some(vec![EnvVar {
            name: "NODE_NAME".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "spec.nodeName".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let ds = DaemonSet {
        metadata: meta("kube-proxy", ns, &[("k8s-app", "kube-proxy")]),
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(sel.clone()),
                ..Default::default()
            },
            update_strategy: Some(DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    labels: Some(sel),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    priority_class_name: Some("system-node-critical".into()),
                    host_network: Some(true),
                    service_account_name: Some("kube-proxy".into()),
                    tolerations: Some(vec![Toleration {
                        operator: Some("Exists".into()),
                        ..Default::default()
                    }]),
                    node_selector: Some(labels(&[("kubernetes.io/os", "linux")])),
                    containers: vec![container],
                    volumes: Some(vec![
                        Volume {
                            name: "kube-proxy".into(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: "kube-proxy".into(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        host_path_volume("xtables-lock", "/run/xtables.lock", Some("FileOrCreate")),
                        host_path_volume("lib-modules", "/lib/modules", None),
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok((cm, ds))
}

/// Runs `addon/<sub>` (`all`/empty runs both, skipping a disabled addon with a log line).
/// Errors: a failing API call.
pub async fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    let subs: Vec<&str> = match sub {
        "" | "all" => vec!["coredns", "kube-proxy"],
        "coredns" | "kube-proxy" => vec![sub],
        other => return Err(PhaseError::new(format!("addon has no sub-phase {other:?}"))),
    };
    let api = ApiWriter::connect(ctx, "addon").await?;
    for s in subs {
        if s == "coredns" {
            if ctx.cfg.cluster.dns.disabled {
                ctx.events.log(
                    "addon/coredns",
                    "[addons] CoreDNS is disabled (dns.disabled); skipped",
                );
                continue;
            }
            let (cm, cr, crb, sa, deploy, svc) = coredns_objects(ctx)?;
            api.apply_ns(cm, |_, _| {}).await?;
            api.apply_cluster(cr).await?;
            api.apply_cluster(crb).await?;
            api.apply_ns(sa, |_, _| {}).await?;
            // An existing Deployment keeps its replica count, as kubeadm does.
            api.apply_ns(deploy, |cur: &Deployment, want: &mut Deployment| {
                if let (Some(c), Some(w)) = (cur.spec.as_ref(), want.spec.as_mut())
                    && c.replicas.is_some()
                {
                    w.replicas = c.replicas;
                }
            })
            .await?;
            api.apply_ns(svc, |_, _| {}).await?;
            ctx.events
                .log("addon/coredns", "[addons] Applied essential addon: CoreDNS");
        } else {
            if ctx.cfg.cluster.proxy.disabled {
                ctx.events.log(
                    "addon/kube-proxy",
                    "[addons] kube-proxy is disabled (proxy.disabled); skipped",
                );
                continue;
            }
            let (cm, ds) = kube_proxy_objects(ctx)?;
            api.apply_ns(cm, |_, _| {}).await?;
            api.apply_ns(ds, |_, _| {}).await?;
            api.apply_ns(
                ServiceAccount {
                    metadata: meta("kube-proxy", Some("kube-system"), &[]),
                    ..Default::default()
                },
                |_, _| {},
            )
            .await?;
            api.apply_cluster(rbac::cluster_role_binding(
                "kubeadm:node-proxier",
                "system:node-proxier",
                vec![rbac::service_account("kube-system", "kube-proxy")],
            ))
            .await?;
            api.apply_ns(
                rbac::role(
                    "kube-system",
                    "kube-proxy",
                    vec![rbac::rule(
                        &[""],
                        &["configmaps"],
                        &["get"],
                        &["kube-proxy"],
                    )],
                ),
                |_, _| {},
            )
            .await?;
            api.apply_ns(
                rbac::role_binding(
                    "kube-system",
                    "kube-proxy",
                    "kube-proxy",
                    vec![rbac::group(DEFAULT_TOKEN_GROUP)],
                ),
                |_, _| {},
            )
            .await?;
            ctx.events.log(
                "addon/kube-proxy",
                "[addons] Applied essential addon: kube-proxy",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corefile_cache_by_version() {
        assert!(corefile("cluster.local", 31).contains("    cache 30\n"));
        let f = corefile("cluster.local", 33);
        assert!(f.contains("disable success cluster.local"));
        assert!(f.contains("kubernetes cluster.local in-addr.arpa ip6.arpa {"));
    }
}
