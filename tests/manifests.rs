//! Static Pod manifests (issue 3, part 2): golden files, kubernetes-validate, extraArgs,
//! extraVolumes/extraEnvs, IPv6, dual-stack, external etcd, the phases on a temporary
//! root, and a real etcd started from the generated etcd.yaml.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubestrap::config::defaults::example_init_config;
use kubestrap::config::{Arg, ExternalEtcd, HostPathMount, InitConfig};
use kubestrap::engine::{Event, EventSink, LogLevel, PhaseCtx};
use kubestrap::host::RealHost;
use kubestrap::phases::build_pod;
use kubestrap::phases::staticpod::{Component, PodInputs, to_yaml};
use kubestrap::phases::{control_plane, etcd};

fn arg(name: &str, value: &str) -> Arg {
    Arg {
        name: name.into(),
        value: value.into(),
    }
}

fn pod(c: Component, cfg: &InitConfig) -> Pod {
    build_pod(c, cfg, &PodInputs::default()).expect("manifest builds")
}

fn container(p: &Pod) -> &Container {
    &p.spec.as_ref().unwrap().containers[0]
}

fn cmd(p: &Pod) -> Vec<String> {
    container(p).command.clone().unwrap()
}

/// Values of `--name=` in a command, in order.
fn flag<'a>(cmd: &'a [String], name: &str) -> Vec<&'a str> {
    let prefix = format!("--{name}=");
    cmd.iter()
        .filter_map(|a| a.strip_prefix(prefix.as_str()))
        .collect()
}

fn yaml(c: Component, cfg: &InitConfig) -> String {
    to_yaml(c, &pod(c, cfg)).unwrap()
}

// ---------------------------------------------------------------- golden files

// Reviewed line by line against shared reference kubeadm-init.md §5 (and kubeadm's
// phases/controlplane/manifests.go, phases/etcd/local.go, util/staticpod/utils.go):
// - metadata: name = component, namespace kube-system, labels component/tier, annotations
//   kube-apiserver.advertise-address.endpoint 192.168.1.10:6443 and
//   etcd.advertise-client-urls https://192.168.1.10:2379;
// - spec: hostNetwork, priority 2000001000, priorityClassName system-node-critical,
//   securityContext.seccompProfile RuntimeDefault, one container, IfNotPresent;
// - command: binary then --name=value sorted by name; apiserver has the 27 defaults of
//   the reference table (no --bind-address), controller-manager the 14 (cluster-name,
//   no pod-subnet flags without podSubnet), scheduler the 5, etcd the 19 with the
//   etcd 3.5 `experimental-*` names for v1.33 and the 3.6 names (feature-gates
//   InitialCorruptCheck=true, watch-progress-notify-interval) for v1.34;
// - probes: liveness 10/15/8/10, readiness 0/15/3/1, startup 10/15/24/10; apiserver HTTPS
//   on 192.168.1.10:6443 /livez,/readyz,/livez; controller-manager HTTPS 127.0.0.1:10257
//   /healthz (no readiness); scheduler HTTPS 127.0.0.1:10259 /livez,/readyz,/livez; etcd
//   HTTP 127.0.0.1:2381 /livez,/readyz,/readyz; v1.34 uses `port: probe-port` with the
//   container port declared (6443, 10257, 10259, 2381), v1.33 the numbers;
// - resources: cpu 250m / 200m / 100m, etcd cpu 100m + memory 100Mi;
// - volumes sorted by name, all hostPath: k8s-certs + ca-certs (DirectoryOrCreate, RO),
//   kubeconfig FileOrCreate RO, flexvolume-dir RW; etcd-data + etcd-certs (mounts in
//   kubeadm's literal order etcd-data, etcd-certs); the optional CA dirs are absent
//   because PodInputs::default() says none exists;
// - images registry.k8s.io/<component>:v1.36.3, etcd 3.5.21-0 (v1.33) / 3.6.4-0 (v1.34).

#[test]
fn golden_v1_34() {
    let cfg = example_init_config("v1.34.4");
    for c in Component::ALL {
        insta::assert_snapshot!(format!("v1_34_{}", c.name()), yaml(c, &cfg));
    }
}

#[test]
fn golden_v1_37() {
    let cfg = example_init_config("v1.37.2");
    for c in Component::ALL {
        insta::assert_snapshot!(format!("v1_37_{}", c.name()), yaml(c, &cfg));
    }
}

#[test]
fn images_use_repository_and_underscored_tag() {
    let mut cfg = example_init_config("v1.34.1+abc");
    cfg.cluster.image_repository = "my.reg/k8s".into();
    let p = pod(Component::KubeApiServer, &cfg);
    assert_eq!(
        container(&p).image.as_deref(),
        Some("my.reg/k8s/kube-apiserver:v1.34.1_abc")
    );
    let local = cfg.cluster.etcd.local.as_mut().unwrap();
    local.image_repository = "other.reg".into();
    local.image_tag = "3.5.9-0".into();
    let e = pod(Component::Etcd, &cfg);
    assert_eq!(
        container(&e).image.as_deref(),
        Some("other.reg/etcd:3.5.9-0")
    );
    // The etcd flag names follow the etcd version actually run, not the Kubernetes minor.
    let c = cmd(&e);
    assert_eq!(flag(&c, "experimental-initial-corrupt-check"), ["true"]);
    assert!(flag(&c, "feature-gates").is_empty());
}

// ---------------------------------------------------------------- kubernetes-validate

/// Writes every manifest of `cfgs` into `dir` and runs `kubernetes-validate --strict -k
/// <version>` on them in one call; panics with the tool's output on failure.
fn validate(version: &str, named: &[(String, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, text) in named {
        let p = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&p, text).unwrap();
        files.push(p);
    }
    let out = Command::new("kubernetes-validate")
        .args(["--strict", "-k", version])
        .args(&files)
        .output()
        .expect("kubernetes-validate is installed (scripts/test.sh installs it from PyPI)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kubernetes-validate -k {version} failed:\n{stdout}\n{stderr}"
    );
    let ok = stdout.matches("INFO").count();
    assert_eq!(
        ok,
        files.len(),
        "expected one INFO (validated) line per file:\n{stdout}"
    );
}

fn all_yaml(tag: &str, cfg: &InitConfig, inputs: &PodInputs) -> Vec<(String, String)> {
    Component::ALL
        .iter()
        .filter(|c| !(cfg.cluster.etcd.external.is_some() && **c == Component::Etcd))
        .map(|c| {
            let p = build_pod(*c, cfg, inputs).unwrap();
            (format!("{tag}-{}", c.name()), to_yaml(*c, &p).unwrap())
        })
        .collect()
}

#[test]
fn kubernetes_validate_strict_every_version_and_variant() {
    let rich_inputs = PodInputs {
        proxy_env: vec![
            env("HTTPS_PROXY", "http://proxy:3128"),
            env("NO_PROXY", "10.0.0.0/8"),
        ],
        existing_ca_dirs: vec!["/etc/ca-certificates".into(), "/etc/pki/tls/certs".into()],
        external_ca: true,
    };
    for version in ["v1.34.4", "v1.35.4", "v1.36.3", "v1.37.2"] {
        let mut files = all_yaml(
            "default",
            &example_init_config(version),
            &PodInputs::default(),
        );
        files.extend(all_yaml(
            "ipv6",
            &ipv6_config(version),
            &PodInputs::default(),
        ));
        files.extend(all_yaml("dual", &dual_stack_config(version), &rich_inputs));
        files.extend(all_yaml(
            "external",
            &external_etcd_config(version),
            &rich_inputs,
        ));
        files.extend(all_yaml("extras", &extras_config(version), &rich_inputs));
        let k = version.trim_start_matches('v');
        assert_eq!(files.len(), 19);
        validate(k, &files);
    }
}

// ---------------------------------------------------------------- variants

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn ipv6_config(version: &str) -> InitConfig {
    let mut cfg = example_init_config(version);
    cfg.init.local_api_endpoint.advertise_address = "2001:db8::10".into();
    cfg.cluster.networking.service_subnet = "fd00:10:96::/112".into();
    cfg.cluster.networking.pod_subnet = "fd00:10:244::/56".into();
    cfg
}

fn dual_stack_config(version: &str) -> InitConfig {
    let mut cfg = example_init_config(version);
    cfg.cluster.networking.service_subnet = "10.96.0.0/12,fd00:10:96::/112".into();
    cfg.cluster.networking.pod_subnet = "10.244.0.0/16,fd00:10:244::/56".into();
    cfg
}

fn external_etcd_config(version: &str) -> InitConfig {
    let mut cfg = example_init_config(version);
    cfg.cluster.etcd.local = None;
    cfg.cluster.etcd.external = Some(ExternalEtcd {
        endpoints: vec![
            "https://10.0.0.5:2379".into(),
            "https://10.0.0.6:2379".into(),
        ],
        http_endpoints: vec![],
        ca_file: "/etc/etcd/pki/ca.crt".into(),
        cert_file: "/etc/etcd/pki/client/apiserver-etcd-client.crt".into(),
        key_file: "/etc/kubernetes/pki/apiserver-etcd-client.key".into(),
    });
    cfg
}

fn extras_config(version: &str) -> InitConfig {
    let mut cfg = example_init_config(version);
    let api = &mut cfg.cluster.api_server;
    api.extra_args = vec![
        arg("authorization-mode", "RBAC"),
        arg("feature-gates", "B=true"),
        arg("feature-gates", "A=true"),
        arg("audit-log-path", "/var/log/kubernetes/audit.log"),
    ];
    api.extra_volumes = vec![
        HostPathMount {
            name: "audit-log".into(),
            host_path: "/var/log/kubernetes".into(),
            mount_path: "/var/log/kubernetes".into(),
            read_only: false,
            path_type: "DirectoryOrCreate".into(),
        },
        HostPathMount {
            name: "k8s-certs".into(),
            host_path: "/srv/pki".into(),
            mount_path: "/etc/kubernetes/pki".into(),
            read_only: true,
            path_type: String::new(),
        },
    ];
    api.extra_envs = vec![
        env("GOMAXPROCS", "2"),
        env("HTTPS_PROXY", "http://other:8080"),
    ];
    let cm = &mut cfg.cluster.controller_manager;
    cm.extra_args = vec![
        arg("bind-address", "0.0.0.0"),
        arg("flex-volume-plugin-dir", "/opt/flex"),
    ];
    cm.extra_volumes = vec![HostPathMount {
        name: "cloud-config".into(),
        host_path: "/etc/kubernetes/cloud.conf".into(),
        mount_path: "/etc/kubernetes/cloud.conf".into(),
        read_only: true,
        path_type: "FileOrCreate".into(),
    }];
    cfg.cluster.scheduler.extra_args = vec![arg("bind-address", "::1"), arg("v", "2")];
    cfg.cluster.scheduler.extra_envs = vec![env("GODEBUG", "x509ignoreCN=0")];
    let local = cfg.cluster.etcd.local.as_mut().unwrap();
    local.extra_args = vec![
        arg(
            "listen-metrics-urls",
            "http://127.0.0.1:12381,http://192.168.1.10:12381",
        ),
        arg("quota-backend-bytes", "8589934592"),
    ];
    local.extra_envs = vec![env("ETCD_UNSUPPORTED_ARCH", "arm64")];
    cfg
}

#[test]
fn extra_args_override_and_duplicates() {
    let cfg = extras_config("v1.36.3");
    let inputs = PodInputs::default();
    let api = cmd(&build_pod(Component::KubeApiServer, &cfg, &inputs).unwrap());
    // An extraArg replaces the default: exactly one --authorization-mode.
    assert_eq!(flag(&api, "authorization-mode"), ["RBAC"]);
    // v1beta4 duplicates are all kept in the user's order, as kubeadm's ArgumentsToCommand
    // does (so of two values the later one wins for flags that take one).
    assert_eq!(flag(&api, "feature-gates"), ["B=true", "A=true"]);
    assert_eq!(
        flag(&api, "audit-log-path"),
        ["/var/log/kubernetes/audit.log"]
    );
    // The defaults come first, sorted by name; the extra args follow in the user's order.
    let names: Vec<&str> = api[1..]
        .iter()
        .map(|a| a.trim_start_matches("--").split('=').next().unwrap())
        .collect();
    let n = names.len();
    assert_eq!(
        names[n - 4..],
        [
            "authorization-mode",
            "feature-gates",
            "feature-gates",
            "audit-log-path"
        ]
    );
    let mut sorted = names[..n - 4].to_vec();
    sorted.sort();
    assert_eq!(names[..n - 4], sorted[..]);
    assert_eq!(api[0], "kube-apiserver");

    let cm = build_pod(Component::KubeControllerManager, &cfg, &inputs).unwrap();
    let cmc = cmd(&cm);
    assert_eq!(flag(&cmc, "bind-address"), ["0.0.0.0"]);
    // An unspecified bind address leaves the probe host empty (the kubelet uses the pod IP).
    let live = container(&cm)
        .liveness_probe
        .clone()
        .unwrap()
        .http_get
        .unwrap();
    assert_eq!(live.host, None);
    // From v1.34 the probes name the container port.
    assert_eq!(live.port, IntOrString::String("probe-port".into()));

    let sch = build_pod(Component::KubeScheduler, &cfg, &inputs).unwrap();
    assert_eq!(flag(&cmd(&sch), "v"), ["2"]);
    let live = container(&sch)
        .liveness_probe
        .clone()
        .unwrap()
        .http_get
        .unwrap();
    assert_eq!(live.host.as_deref(), Some("::1"));

    // etcd: an added flag appears, and the probe follows listen-metrics-urls' first URL.
    let e = build_pod(Component::Etcd, &cfg, &inputs).unwrap();
    let ec = cmd(&e);
    assert_eq!(flag(&ec, "quota-backend-bytes"), ["8589934592"]);
    assert_eq!(
        flag(&ec, "listen-metrics-urls"),
        ["http://127.0.0.1:12381,http://192.168.1.10:12381"]
    );
    let live = container(&e)
        .liveness_probe
        .clone()
        .unwrap()
        .http_get
        .unwrap();
    // The probe uses the first metrics URL's host and port through the named container port.
    assert_eq!(
        (live.host.as_deref(), live.port),
        (Some("127.0.0.1"), IntOrString::String("probe-port".into()))
    );
    assert_eq!(
        container(&e).ports.as_ref().unwrap()[0].container_port,
        12381
    );

    // authorization-config suppresses the default authorization-mode entirely.
    let mut cfg2 = example_init_config("v1.36.3");
    cfg2.cluster.api_server.extra_args =
        vec![arg("authorization-config", "/etc/kubernetes/authz.yaml")];
    let api2 = cmd(&pod(Component::KubeApiServer, &cfg2));
    assert!(flag(&api2, "authorization-mode").is_empty());
    assert_eq!(
        flag(&api2, "authorization-config"),
        ["/etc/kubernetes/authz.yaml"]
    );

    // A local-etcd advertise-client-urls extraArg becomes the apiserver's etcd-servers.
    let mut cfg3 = example_init_config("v1.36.3");
    cfg3.cluster.etcd.local.as_mut().unwrap().extra_args =
        vec![arg("advertise-client-urls", "https://127.0.0.1:32379")];
    let api3 = cmd(&pod(Component::KubeApiServer, &cfg3));
    assert_eq!(flag(&api3, "etcd-servers"), ["https://127.0.0.1:32379"]);
    let defaults = control_plane::default_apiserver_args(&cfg3);
    assert!(defaults.contains(&("etcd-servers".into(), "https://127.0.0.1:32379".into())));
}

#[test]
fn extra_volumes_and_envs() {
    // v1.35 is the last minor whose controller-manager mounts the flexvolume dir.
    let cfg = extras_config("v1.35.4");
    let inputs = PodInputs {
        proxy_env: vec![
            env("HTTPS_PROXY", "http://proxy:3128"),
            env("NO_PROXY", "10.0.0.0/8"),
        ],
        ..PodInputs::default()
    };
    let api = build_pod(Component::KubeApiServer, &cfg, &inputs).unwrap();
    let spec = api.spec.as_ref().unwrap();
    let vols: Vec<(String, String, Option<String>)> = spec
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .map(|v| {
            let hp = v.host_path.as_ref().unwrap();
            (v.name.clone(), hp.path.clone(), hp.type_.clone())
        })
        .collect();
    assert_eq!(
        vols,
        vec![
            (
                "audit-log".into(),
                "/var/log/kubernetes".into(),
                Some("DirectoryOrCreate".into())
            ),
            (
                "ca-certs".into(),
                "/etc/ssl/certs".into(),
                Some("DirectoryOrCreate".into())
            ),
            // The extra volume of the same name replaced the default.
            ("k8s-certs".into(), "/srv/pki".into(), None),
        ]
    );
    let mounts: Vec<(String, String, Option<bool>)> = container(&api)
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| (m.name.clone(), m.mount_path.clone(), m.read_only))
        .collect();
    assert_eq!(
        mounts,
        vec![
            ("audit-log".into(), "/var/log/kubernetes".into(), None),
            ("ca-certs".into(), "/etc/ssl/certs".into(), Some(true)),
            ("k8s-certs".into(), "/etc/kubernetes/pki".into(), Some(true)),
        ]
    );
    // Proxy variables merged under extraEnvs (the user's value wins), sorted by name.
    let envs: Vec<(String, String)> = container(&api)
        .env
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| (e.name.clone(), e.value.clone().unwrap()))
        .collect();
    assert_eq!(
        envs,
        vec![
            ("GOMAXPROCS".into(), "2".into()),
            ("HTTPS_PROXY".into(), "http://other:8080".into()),
            ("NO_PROXY".into(), "10.0.0.0/8".into()),
        ]
    );
    // controller-manager: flexvolume dir from the extraArg, RW; the extra volume added.
    let cm = build_pod(Component::KubeControllerManager, &cfg, &inputs).unwrap();
    let cm_vols: Vec<String> = cm
        .spec
        .as_ref()
        .unwrap()
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .map(|v| format!("{}={}", v.name, v.host_path.as_ref().unwrap().path))
        .collect();
    assert_eq!(
        cm_vols,
        [
            "ca-certs=/etc/ssl/certs",
            "cloud-config=/etc/kubernetes/cloud.conf",
            "flexvolume-dir=/opt/flex",
            "k8s-certs=/etc/kubernetes/pki",
            "kubeconfig=/etc/kubernetes/controller-manager.conf",
        ]
    );
    let flex = container(&cm)
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.name == "flexvolume-dir")
        .unwrap()
        .clone();
    assert_eq!(flex.read_only, None);
    // From v1.36 there is no flexvolume mount, whatever flex-volume-plugin-dir says.
    let mut cfg36 = cfg.clone();
    cfg36.cluster.kubernetes_version = "v1.36.3".into();
    let cm36 = build_pod(Component::KubeControllerManager, &cfg36, &inputs).unwrap();
    assert!(
        !cm36
            .spec
            .as_ref()
            .unwrap()
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .any(|v| v.name == "flexvolume-dir")
    );
    // Scheduler gets the proxy variables plus its own; etcd only its extraEnvs.
    let sch = build_pod(Component::KubeScheduler, &cfg, &inputs).unwrap();
    let names: Vec<String> = container(&sch)
        .env
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(names, ["GODEBUG", "HTTPS_PROXY", "NO_PROXY"]);
    let e = build_pod(Component::Etcd, &cfg, &inputs).unwrap();
    let names: Vec<String> = container(&e)
        .env
        .as_ref()
        .unwrap()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(names, ["ETCD_UNSUPPORTED_ARCH"]);
    // Optional CA dirs appear only when present on the host, in apiserver and controller-manager.
    let with_ca = PodInputs {
        existing_ca_dirs: vec!["/usr/share/ca-certificates".into()],
        ..PodInputs::default()
    };
    let api = build_pod(
        Component::KubeApiServer,
        &example_init_config("v1.36.3"),
        &with_ca,
    )
    .unwrap();
    assert!(
        api.spec
            .unwrap()
            .volumes
            .unwrap()
            .iter()
            .any(|v| v.name == "usr-share-ca-certificates")
    );
    let sch = build_pod(
        Component::KubeScheduler,
        &example_init_config("v1.36.3"),
        &with_ca,
    )
    .unwrap();
    assert_eq!(sch.spec.unwrap().volumes.unwrap().len(), 1);
}

/// Every `scheme://authority` in `text` whose host is IPv6 is bracketed.
fn assert_urls_bracketed(text: &str) -> usize {
    let mut n = 0;
    for (i, _) in text.match_indices("://") {
        let rest = &text[i + 3..];
        let authority: String = rest
            .chars()
            .take_while(|c| !matches!(c, '/' | ',' | ' ' | '\n' | '"'))
            .collect();
        if authority.matches(':').count() > 1 {
            assert!(
                authority.starts_with('['),
                "unbracketed IPv6 URL authority {authority:?} in {text}"
            );
            n += 1;
        }
    }
    n
}

#[test]
fn ipv6_brackets_in_every_url() {
    let cfg = ipv6_config("v1.37.2");
    let api = pod(Component::KubeApiServer, &cfg);
    let a = cmd(&api);
    assert_eq!(flag(&a, "etcd-servers"), ["https://[::1]:2379"]);
    assert_eq!(flag(&a, "advertise-address"), ["2001:db8::10"]);
    assert_eq!(flag(&a, "service-cluster-ip-range"), ["fd00:10:96::/112"]);
    assert_eq!(
        api.metadata.annotations.as_ref().unwrap()["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"],
        "[2001:db8::10]:6443"
    );
    let live = container(&api)
        .liveness_probe
        .clone()
        .unwrap()
        .http_get
        .unwrap();
    assert_eq!(live.host.as_deref(), Some("2001:db8::10"));

    let e = pod(Component::Etcd, &cfg);
    let ec = cmd(&e);
    assert_eq!(
        flag(&ec, "listen-client-urls"),
        ["https://[::1]:2379,https://[2001:db8::10]:2379"]
    );
    assert_eq!(
        flag(&ec, "advertise-client-urls"),
        ["https://[2001:db8::10]:2379"]
    );
    assert_eq!(
        flag(&ec, "listen-peer-urls"),
        ["https://[2001:db8::10]:2380"]
    );
    assert_eq!(
        flag(&ec, "initial-advertise-peer-urls"),
        ["https://[2001:db8::10]:2380"]
    );
    assert_eq!(
        flag(&ec, "initial-cluster"),
        ["cp1=https://[2001:db8::10]:2380"]
    );
    assert_eq!(flag(&ec, "listen-metrics-urls"), ["http://[::1]:2381"]);
    assert_eq!(
        e.metadata.annotations.as_ref().unwrap()["kubeadm.kubernetes.io/etcd.advertise-client-urls"],
        "https://[2001:db8::10]:2379"
    );
    let probe = container(&e)
        .startup_probe
        .clone()
        .unwrap()
        .http_get
        .unwrap();
    assert_eq!(probe.host.as_deref(), Some("::1"));

    // The generic check over every manifest: 9 IPv6 URLs, all bracketed.
    let mut total = 0;
    for c in Component::ALL {
        total += assert_urls_bracketed(&yaml(c, &cfg));
    }
    assert_eq!(total, 9);
}

#[test]
fn dual_stack_subnets_passed_through() {
    let cfg = dual_stack_config("v1.36.3");
    let a = cmd(&pod(Component::KubeApiServer, &cfg));
    assert_eq!(
        flag(&a, "service-cluster-ip-range"),
        ["10.96.0.0/12,fd00:10:96::/112"]
    );
    assert_eq!(flag(&a, "etcd-servers"), ["https://127.0.0.1:2379"]);
    let cm = cmd(&pod(Component::KubeControllerManager, &cfg));
    assert_eq!(flag(&cm, "allocate-node-cidrs"), ["true"]);
    assert_eq!(
        flag(&cm, "cluster-cidr"),
        ["10.244.0.0/16,fd00:10:244::/56"]
    );
    assert_eq!(
        flag(&cm, "service-cluster-ip-range"),
        ["10.96.0.0/12,fd00:10:96::/112"]
    );
    // Without a pod subnet none of the three is set.
    let plain = cmd(&pod(
        Component::KubeControllerManager,
        &example_init_config("v1.36.3"),
    ));
    assert!(flag(&plain, "cluster-cidr").is_empty());
    assert!(flag(&plain, "allocate-node-cidrs").is_empty());
    assert!(flag(&plain, "service-cluster-ip-range").is_empty());
}

#[test]
fn external_etcd() {
    let cfg = external_etcd_config("v1.36.3");
    let api = pod(Component::KubeApiServer, &cfg);
    let a = cmd(&api);
    assert_eq!(
        flag(&a, "etcd-servers"),
        ["https://10.0.0.5:2379,https://10.0.0.6:2379"]
    );
    assert_eq!(flag(&a, "etcd-cafile"), ["/etc/etcd/pki/ca.crt"]);
    assert_eq!(
        flag(&a, "etcd-certfile"),
        ["/etc/etcd/pki/client/apiserver-etcd-client.crt"]
    );
    assert_eq!(
        flag(&a, "etcd-keyfile"),
        ["/etc/kubernetes/pki/apiserver-etcd-client.key"]
    );
    // /etc/etcd/pki covers its client/ sub-directory; the key's dir is the pki dir (mounted).
    let vols: Vec<String> = api
        .spec
        .unwrap()
        .volumes
        .unwrap()
        .iter()
        .map(|v| format!("{}={}", v.name, v.host_path.as_ref().unwrap().path))
        .collect();
    assert_eq!(
        vols,
        [
            "ca-certs=/etc/ssl/certs",
            "etcd-certs-0=/etc/etcd/pki",
            "k8s-certs=/etc/kubernetes/pki"
        ]
    );
    // No etcd manifest for external etcd.
    let err = build_pod(Component::Etcd, &cfg, &PodInputs::default()).unwrap_err();
    assert!(err.to_string().contains("etcd.external"), "{err}");
    // Without cert+key only the CA flag is set; plain-HTTP endpoints are passed as given.
    let mut cfg2 = cfg.clone();
    let ext = cfg2.cluster.etcd.external.as_mut().unwrap();
    ext.cert_file.clear();
    ext.ca_file.clear();
    ext.endpoints = vec!["http://10.0.0.5:2379".into()];
    let a2 = cmd(&pod(Component::KubeApiServer, &cfg2));
    assert!(flag(&a2, "etcd-certfile").is_empty());
    assert!(flag(&a2, "etcd-keyfile").is_empty());
    assert!(flag(&a2, "etcd-cafile").is_empty());
    assert_eq!(flag(&a2, "etcd-servers"), ["http://10.0.0.5:2379"]);
}

#[test]
fn bad_input_names_field_value_and_rule() {
    type Edit = Box<dyn Fn(&mut InitConfig)>;
    let cases: Vec<(Edit, Component, &str)> = vec![
        (
            Box::new(|c| c.init.local_api_endpoint.advertise_address = "not-an-ip".into()),
            Component::KubeApiServer,
            "localAPIEndpoint.advertiseAddress: \"not-an-ip\" is not an IP address",
        ),
        (
            Box::new(|c| c.init.local_api_endpoint.advertise_address = "0.0.0.0".into()),
            Component::Etcd,
            "localAPIEndpoint.advertiseAddress: \"0.0.0.0\" must be a concrete address",
        ),
        (
            Box::new(|c| c.init.local_api_endpoint.bind_port = 70000),
            Component::KubeApiServer,
            "localAPIEndpoint.bindPort: \"70000\" is not a port number",
        ),
        (
            Box::new(|c| c.cluster.kubernetes_version = "v1.33".into()),
            Component::KubeScheduler,
            "kubernetesVersion: \"v1.33\" is not a semantic version such as v1.37.2",
        ),
        (
            Box::new(|c| c.cluster.kubernetes_version = "v1.40.0".into()),
            Component::Etcd,
            "kubernetesVersion: \"v1.40.0\" is not a version kubestrap carries",
        ),
        (
            Box::new(|c| c.init.node_registration.name.clear()),
            Component::Etcd,
            "nodeRegistration.name: \"\" must not be empty",
        ),
        (
            Box::new(|c| c.cluster.api_server.extra_args = vec![arg("", "x")]),
            Component::KubeApiServer,
            "apiServer.extraArgs[0].name: \"\" is not a flag name",
        ),
        (
            Box::new(|c| {
                c.cluster.scheduler.extra_volumes = vec![HostPathMount {
                    name: "x".into(),
                    ..Default::default()
                }]
            }),
            Component::KubeScheduler,
            "scheduler.extraVolumes[0].hostPath: \"\" must not be empty",
        ),
        (
            Box::new(|c| c.cluster.etcd.local.as_mut().unwrap().data_dir = "var/lib/etcd".into()),
            Component::Etcd,
            "etcd.local.dataDir: \"var/lib/etcd\" must be an absolute path",
        ),
    ];
    for (edit, component, want) in cases {
        let mut cfg = example_init_config("v1.36.3");
        edit(&mut cfg);
        let err = build_pod(component, &cfg, &PodInputs::default()).unwrap_err();
        assert!(
            err.to_string().starts_with(want),
            "got {err:?}, want prefix {want:?}"
        );
    }
}

// ---------------------------------------------------------------- the phases on a root

struct Run {
    root: tempfile::TempDir,
    ctx: PhaseCtx,
    rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
}

fn run_ctx(cfg: InitConfig, dry_run: bool) -> Run {
    let root = tempfile::tempdir().unwrap();
    let host = RealHost::new(root.path(), dry_run).unwrap();
    let (sink, rx) = EventSink::channel();
    let ctx = PhaseCtx::new(Arc::new(cfg), Arc::new(host), sink);
    Run { root, ctx, rx }
}

impl Run {
    fn path(&self, real: &str) -> PathBuf {
        self.root.path().join(real.trim_start_matches('/'))
    }
    fn events(&mut self) -> Vec<Event> {
        let mut v = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            v.push(e);
        }
        v
    }
    fn logs(evs: &[Event]) -> Vec<String> {
        evs.iter()
            .filter_map(|e| match e {
                Event::Log { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn phases_write_manifests_with_kubeadm_modes_and_events() {
    let mut r = run_ctx(example_init_config("v1.36.3"), false);
    etcd::run(&r.ctx, "local").unwrap();
    control_plane::run(&r.ctx, "all").unwrap();
    let evs = r.events();
    let written: Vec<(String, u32)> = evs
        .iter()
        .filter_map(|e| match e {
            Event::FileWritten { path, mode } => Some((path.clone(), *mode)),
            _ => None,
        })
        .collect();
    assert_eq!(
        written,
        [
            ("/etc/kubernetes/manifests/etcd.yaml".to_string(), 0o600),
            (
                "/etc/kubernetes/manifests/kube-apiserver.yaml".to_string(),
                0o600
            ),
            (
                "/etc/kubernetes/manifests/kube-controller-manager.yaml".to_string(),
                0o600
            ),
            (
                "/etc/kubernetes/manifests/kube-scheduler.yaml".to_string(),
                0o600
            ),
        ]
    );
    let logs = Run::logs(&evs);
    assert!(
        logs.contains(
            &"[etcd] Creating static Pod manifest for local etcd in \"/etc/kubernetes/manifests\""
                .to_string()
        ),
        "{logs:?}"
    );
    assert!(logs.contains(
        &"[control-plane] Using manifest folder \"/etc/kubernetes/manifests\"".to_string()
    ));
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        assert!(logs.contains(&format!(
            "[control-plane] Creating static Pod manifest for \"{c}\""
        )));
    }
    assert_eq!(mode(&r.path("/etc/kubernetes/manifests")), 0o700);
    assert_eq!(mode(&r.path("/var/lib/etcd")), 0o700);
    let inputs = PodInputs::gather(r.ctx.host.as_ref(), &r.ctx.paths);
    for c in Component::ALL {
        let p = r.path(&format!("/etc/kubernetes/manifests/{}.yaml", c.name()));
        assert_eq!(mode(&p), 0o600);
        let on_disk = std::fs::read_to_string(&p).unwrap();
        let built = to_yaml(c, &build_pod(c, &r.ctx.cfg, &inputs).unwrap()).unwrap();
        assert_eq!(on_disk, built);
        // What the kubelet would read back is the same typed Pod.
        let back: Pod = serde_yaml::from_str(&on_disk).unwrap();
        assert_eq!(back, build_pod(c, &r.ctx.cfg, &inputs).unwrap());
    }
    // No temporary files left behind by the atomic writes.
    let names: Vec<String> = std::fs::read_dir(r.path("/etc/kubernetes/manifests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");

    // Single sub-phases and re-runs (idempotent overwrite).
    control_plane::run(&r.ctx, "scheduler").unwrap();
    let logs = Run::logs(&r.events());
    assert_eq!(
        logs,
        [
            "[control-plane] Using manifest folder \"/etc/kubernetes/manifests\"",
            "[control-plane] Creating static Pod manifest for \"kube-scheduler\""
        ]
    );
    let err = control_plane::run(&r.ctx, "bogus").unwrap_err();
    assert!(
        err.message.contains("\"bogus\"")
            && err
                .message
                .contains("apiserver, controller-manager, scheduler"),
        "{}",
        err.message
    );
    assert!(etcd::run(&r.ctx, "remote").is_err());
    assert_eq!(etcd::SUBPHASES, ["local"]);
    assert_eq!(
        control_plane::SUBPHASES,
        ["apiserver", "controller-manager", "scheduler"]
    );
}

#[test]
fn phases_consult_the_host() {
    let mut r = run_ctx(example_init_config("v1.36.3"), false);
    // Two optional CA dirs exist on this "host"; ca.crt without ca.key is external-CA mode.
    for d in [
        "/etc/ca-certificates",
        "/usr/local/share/ca-certificates",
        "/etc/kubernetes/pki",
    ] {
        std::fs::create_dir_all(r.path(d)).unwrap();
    }
    std::fs::write(r.path("/etc/kubernetes/pki/ca.crt"), "x").unwrap();
    control_plane::run(&r.ctx, "all").unwrap();
    r.events();
    let read = |c: &str| -> Pod {
        serde_yaml::from_str(
            &std::fs::read_to_string(r.path(&format!("/etc/kubernetes/manifests/{c}.yaml")))
                .unwrap(),
        )
        .unwrap()
    };
    for c in ["kube-apiserver", "kube-controller-manager"] {
        let p = read(c);
        let names: Vec<String> = p
            .spec
            .unwrap()
            .volumes
            .unwrap()
            .iter()
            .map(|v| v.name.clone())
            .collect();
        assert!(
            names.contains(&"etc-ca-certificates".to_string()),
            "{names:?}"
        );
        assert!(names.contains(&"usr-local-share-ca-certificates".to_string()));
        assert!(!names.contains(&"usr-share-ca-certificates".to_string()));
        assert!(!names.contains(&"etc-pki-ca-trust".to_string()));
    }
    let cm = read("kube-controller-manager");
    let c = cmd(&cm);
    assert_eq!(flag(&c, "cluster-signing-cert-file"), [""]);
    assert_eq!(flag(&c, "cluster-signing-key-file"), [""]);
}

#[test]
fn dry_run_does_not_create_the_data_dir() {
    let mut cfg = example_init_config("v1.36.3");
    cfg.cluster
        .feature_gates
        .insert("RootlessControlPlane".into(), true);
    let mut r = run_ctx(cfg, true);
    etcd::run(&r.ctx, "all").unwrap();
    let evs = r.events();
    assert!(evs.iter().any(|e| matches!(e, Event::Log { level: LogLevel::Warn, message, .. } if message.contains("RootlessControlPlane"))));
    let logs = Run::logs(&evs);
    assert!(
        logs.contains(
            &"[etcd] Would ensure that \"/var/lib/etcd\" directory is present".to_string()
        ),
        "{logs:?}"
    );
    assert!(!r.path("/var/lib/etcd").exists());
    let shown = logs
        .iter()
        .find(|l| {
            l.starts_with(
                "[dryrun] Would write file \"/etc/kubernetes/manifests/etcd.yaml\" with content:",
            )
        })
        .expect("dry-run prints the etcd manifest");
    assert!(
        shown.contains("\n\tapiVersion: v1\n\tkind: Pod\n"),
        "{shown}"
    );
    // The manifest goes to the dry-run root (paths inside stay the real ones).
    let text = std::fs::read_to_string(r.path("/etc/kubernetes/manifests/etcd.yaml")).unwrap();
    assert!(text.contains("--data-dir=/var/lib/etcd"));
}

#[test]
fn external_etcd_phase_skips_and_writes_nothing() {
    let mut r = run_ctx(external_etcd_config("v1.36.3"), false);
    etcd::run(&r.ctx, "local").unwrap();
    let evs = r.events();
    assert!(
        Run::logs(&evs)
            .iter()
            .any(|l| l.contains("External etcd mode"))
    );
    assert!(!evs.iter().any(|e| matches!(e, Event::FileWritten { .. })));
    assert!(!r.path("/etc/kubernetes/manifests").exists());
    assert!(!r.path("/var/lib/etcd").exists());
}

#[test]
fn bad_input_and_faults_leave_disk_unchanged() {
    let mut cfg = example_init_config("v1.36.3");
    cfg.init.local_api_endpoint.advertise_address = "10.0.0.300".into();
    let mut r = run_ctx(cfg, false);
    let e1 = etcd::run(&r.ctx, "local").unwrap_err();
    let e2 = control_plane::run(&r.ctx, "all").unwrap_err();
    for e in [&e1, &e2] {
        assert!(
            e.chain()
                .contains("localAPIEndpoint.advertiseAddress: \"10.0.0.300\" is not an IP address"),
            "{}",
            e.chain()
        );
        assert!(e.hint.is_some());
    }
    assert!(!r.path("/etc/kubernetes").exists());
    assert!(!r.path("/var/lib/etcd").exists());
    assert!(
        !r.events()
            .iter()
            .any(|e| matches!(e, Event::FileWritten { .. }))
    );

    // A manifests "directory" that is a file: the error names the path, nothing else changes.
    let r = run_ctx(example_init_config("v1.36.3"), false);
    std::fs::create_dir_all(r.path("/etc/kubernetes")).unwrap();
    std::fs::write(r.path("/etc/kubernetes/manifests"), "not a dir").unwrap();
    let err = control_plane::run(&r.ctx, "apiserver").unwrap_err();
    assert!(
        err.chain().contains("/etc/kubernetes/manifests"),
        "{}",
        err.chain()
    );
    assert_eq!(
        std::fs::read_to_string(r.path("/etc/kubernetes/manifests")).unwrap(),
        "not a dir"
    );
}

// ---------------------------------------------------------------- a real etcd

/// Kills and reaps the etcd process when the test ends, failed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Three distinct free loopback ports (held open together while picking, then released).
fn free_ports() -> [u16; 3] {
    let ls: Vec<std::net::TcpListener> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    [0, 1, 2].map(|i| ls[i].local_addr().unwrap().port())
}

/// Maps the real paths inside a manifest argument to where they live under `root`:
/// every `/etc/kubernetes/pki` and `/var/lib/etcd` (the certificates dir and the etcd
/// data dir of the default configuration) gets the temporary root prefixed. Nothing else
/// in the argument changes.
fn map_to_root(arg: &str, root: &Path) -> String {
    let r = root.display().to_string();
    arg.replace("/etc/kubernetes/pki", &format!("{r}/etc/kubernetes/pki"))
        .replace("/var/lib/etcd", &format!("{r}/var/lib/etcd"))
}

/// `etcdctl` against `endpoint` with the given TLS files; bounded by its own dial and
/// command timeouts and by coreutils `timeout 15`.
fn etcdctl(endpoint: &str, ca: &str, cert: &str, key: &str, args: &[&str]) -> std::process::Output {
    Command::new("timeout")
        .arg("15")
        .arg("etcdctl")
        .env("ETCDCTL_API", "3")
        .args([
            &format!("--endpoints={endpoint}"),
            &format!("--cacert={ca}"),
            &format!("--cert={cert}"),
            &format!("--key={key}"),
            "--dial-timeout=3s",
            "--command-timeout=5s",
        ])
        .args(args)
        .output()
        .expect("etcdctl is installed (Debian etcd-client; scripts/test.sh installs it)")
}

fn out_text(o: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A client certificate for `kube-etcd-healthcheck-client` signed by a CA that is *not*
/// the cluster's etcd CA; returns (cert path, key path).
fn foreign_client_cert(dir: &Path) -> (String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(vec!["etcd-ca".to_string()]).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "etcd-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-etcd-healthcheck-client");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let c = dir.join("foreign-client.crt");
    let k = dir.join("foreign-client.key");
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c.display().to_string(), k.display().to_string())
}

#[test]
fn real_etcd_runs_from_the_generated_manifest() {
    let [client, peer, metrics] = free_ports();
    // The default version: etcd 3.6+ flag names, run by the real etcd kubeadm pins for it.
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.local_api_endpoint.advertise_address = "127.0.0.1".into();
    cfg.cluster.encryption_algorithm = "ECDSA-P256".into();
    let client_url = format!("https://127.0.0.1:{client}");
    let peer_url = format!("https://127.0.0.1:{peer}");
    cfg.cluster.etcd.local.as_mut().unwrap().extra_args = vec![
        arg("listen-client-urls", &client_url),
        arg("advertise-client-urls", &client_url),
        arg("listen-peer-urls", &peer_url),
        arg("initial-advertise-peer-urls", &peer_url),
        arg("initial-cluster", &format!("cp1={peer_url}")),
        arg(
            "listen-metrics-urls",
            &format!("http://127.0.0.1:{metrics}"),
        ),
    ];
    let r = run_ctx(cfg, false);
    let root = r.root.path().to_path_buf();
    kubestrap::phases::certs::run(&r.ctx, "all").expect("certs phase");
    etcd::run(&r.ctx, "local").expect("etcd phase");
    control_plane::run(&r.ctx, "apiserver").expect("control-plane phase");

    let read_pod = |name: &str| -> Pod {
        let p = r.path(&format!("/etc/kubernetes/manifests/{name}.yaml"));
        serde_yaml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let etcd_cmd = cmd(&read_pod("etcd"));
    assert_eq!(etcd_cmd[0], "etcd");
    let api_cmd = cmd(&read_pod("kube-apiserver"));
    // The API server is pointed at the member the manifest starts.
    assert_eq!(flag(&api_cmd, "etcd-servers"), [client_url.as_str()]);

    // Start etcd with exactly the manifest's arguments, paths mapped under the root.
    let args: Vec<String> = etcd_cmd[1..]
        .iter()
        .map(|a| map_to_root(a, &root))
        .collect();
    assert!(args.contains(&format!("--data-dir={}/var/lib/etcd", root.display())));
    let log = std::fs::File::create(root.join("etcd.log")).unwrap();
    let child = Command::new("etcd")
        .args(&args)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("etcd is installed (Debian etcd-server; scripts/test.sh installs it)");
    let mut etcd_proc = KillOnDrop(child);
    let etcd_log = || std::fs::read_to_string(root.join("etcd.log")).unwrap_or_default();

    let pki = |f: &str| {
        root.join("etc/kubernetes/pki")
            .join(f)
            .display()
            .to_string()
    };
    let (ca, hc_cert, hc_key) = (
        pki("etcd/ca.crt"),
        pki("etcd/healthcheck-client.crt"),
        pki("etcd/healthcheck-client.key"),
    );

    // Wait (at most 20 s) for `endpoint health` with the healthcheck-client certificate.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut last = String::new();
    let mut healthy = false;
    for _ in 0..100 {
        if std::time::Instant::now() > deadline {
            break;
        }
        if let Some(status) = etcd_proc.0.try_wait().unwrap() {
            panic!("etcd exited early ({status}):\n{}", etcd_log());
        }
        let o = etcdctl(&client_url, &ca, &hc_cert, &hc_key, &["endpoint", "health"]);
        last = out_text(&o);
        if o.status.success() {
            healthy = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        healthy,
        "etcd never became healthy: {last}\netcd log:\n{}",
        etcd_log()
    );
    assert!(last.contains("is healthy"), "{last}");

    // put/get with the API server's own etcd client flags from kube-apiserver.yaml.
    let api_flag = |n: &str| map_to_root(flag(&api_cmd, n)[0], &root);
    let (a_ca, a_cert, a_key) = (
        api_flag("etcd-cafile"),
        api_flag("etcd-certfile"),
        api_flag("etcd-keyfile"),
    );
    assert!(a_cert.ends_with("apiserver-etcd-client.crt"));
    let put = etcdctl(
        &client_url,
        &a_ca,
        &a_cert,
        &a_key,
        &["put", "/kubestrap/probe", "hello"],
    );
    assert!(put.status.success(), "put failed: {}", out_text(&put));
    assert_eq!(String::from_utf8_lossy(&put.stdout).trim(), "OK");
    let get = etcdctl(
        &client_url,
        &a_ca,
        &a_cert,
        &a_key,
        &["get", "/kubestrap/probe", "--print-value-only"],
    );
    assert!(get.status.success(), "get failed: {}", out_text(&get));
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "hello");

    // A client certificate from another CA is refused (TLS client-cert-auth).
    let (f_cert, f_key) = foreign_client_cert(&root);
    let bad = etcdctl(
        &client_url,
        &ca,
        &f_cert,
        &f_key,
        &["put", "/kubestrap/probe", "evil", "--command-timeout=2s"],
    );
    assert!(
        !bad.status.success(),
        "foreign client cert was accepted: {}",
        out_text(&bad)
    );
    // The value is unchanged and etcd is still up.
    let get = etcdctl(
        &client_url,
        &a_ca,
        &a_cert,
        &a_key,
        &["get", "/kubestrap/probe", "--print-value-only"],
    );
    assert_eq!(
        String::from_utf8_lossy(&get.stdout).trim(),
        "hello",
        "{}",
        out_text(&get)
    );
    assert!(etcd_proc.0.try_wait().unwrap().is_none());
    let log = etcd_log();
    let rejected: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("rejected connection"))
        .collect();
    eprintln!("etcd log: {}", rejected.join("\n"));
    assert!(
        !rejected.is_empty(),
        "no TLS rejection in the etcd log:\n{log}"
    );
}

// ---------------------------------------------------------------- ExternalEtcdVersion

/// A one-request-at-a-time HTTPS stub on a loopback port answering every request with
/// `body` (etcd's `/version` JSON), using the given server certificate. Serves at most
/// `max_conns` connections, each accept bounded by 10 s; the thread ends after that.
fn version_stub(
    cert_pem: &[u8],
    key_pem: &[u8],
    body: &'static str,
    max_conns: usize,
) -> (u16, std::thread::JoinHandle<usize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let certs: Vec<_> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .unwrap()
        .unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let port = std_listener.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let mut served = 0;
            for _ in 0..max_conns {
                let Ok(Ok((tcp, _))) =
                    tokio::time::timeout(std::time::Duration::from_secs(10), l.accept()).await
                else {
                    break;
                };
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let mut buf = vec![0u8; 4096];
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), tls.read(&mut buf))
                    .await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
                served += 1;
            }
            served
        })
    });
    (port, h)
}

#[test]
fn external_etcd_version_check_against_real_etcd_a_stub_and_nothing() {
    use kubestrap::phases::preflight::{
        EtcdVersionProbe, IgnoreSet, external_etcd_version_check, run_checks,
    };
    let [client, peer, metrics] = free_ports();
    let mut cfg = example_init_config("v1.36.3");
    cfg.init.local_api_endpoint.advertise_address = "127.0.0.1".into();
    cfg.cluster.encryption_algorithm = "ECDSA-P256".into();
    let client_url = format!("https://127.0.0.1:{client}");
    let peer_url = format!("https://127.0.0.1:{peer}");
    cfg.cluster.etcd.local.as_mut().unwrap().extra_args = vec![
        arg("listen-client-urls", &client_url),
        arg("advertise-client-urls", &client_url),
        arg("listen-peer-urls", &peer_url),
        arg("initial-advertise-peer-urls", &peer_url),
        arg("initial-cluster", &format!("cp1={peer_url}")),
        arg(
            "listen-metrics-urls",
            &format!("http://127.0.0.1:{metrics}"),
        ),
    ];
    let r = run_ctx(cfg.clone(), false);
    let root = r.root.path().to_path_buf();
    kubestrap::phases::certs::run(&r.ctx, "all").expect("certs phase");
    etcd::run(&r.ctx, "local").expect("etcd phase");
    let pod: Pod = serde_yaml::from_str(
        &std::fs::read_to_string(r.path("/etc/kubernetes/manifests/etcd.yaml")).unwrap(),
    )
    .unwrap();
    let etcd_cmd = cmd(&pod);
    let args: Vec<String> = etcd_cmd[1..]
        .iter()
        .map(|a| map_to_root(a, &root))
        .collect();
    let log = std::fs::File::create(root.join("etcd.log")).unwrap();
    let child = Command::new("etcd")
        .args(&args)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("etcd is installed (Debian etcd-server)");
    let mut etcd_proc = KillOnDrop(child);
    let etcd_log = || std::fs::read_to_string(root.join("etcd.log")).unwrap_or_default();
    let pki = |f: &str| {
        root.join("etc/kubernetes/pki")
            .join(f)
            .display()
            .to_string()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut healthy = false;
    for _ in 0..100 {
        if std::time::Instant::now() > deadline {
            break;
        }
        if let Some(status) = etcd_proc.0.try_wait().unwrap() {
            panic!("etcd exited early ({status}):\n{}", etcd_log());
        }
        let o = etcdctl(
            &client_url,
            &pki("etcd/ca.crt"),
            &pki("etcd/healthcheck-client.crt"),
            &pki("etcd/healthcheck-client.key"),
            &["endpoint", "health"],
        );
        if o.status.success() {
            healthy = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(healthy, "etcd never became healthy:\n{}", etcd_log());

    // The API server's etcd client files, read through the host (root-prefixed paths).
    let ext = ExternalEtcd {
        endpoints: vec![client_url.clone()],
        ca_file: "/etc/kubernetes/pki/etcd/ca.crt".into(),
        cert_file: "/etc/kubernetes/pki/apiserver-etcd-client.crt".into(),
        key_file: "/etc/kubernetes/pki/apiserver-etcd-client.key".into(),
        ..Default::default()
    };
    let probe = EtcdVersionProbe {
        timeout: std::time::Duration::from_secs(5),
        attempts: 1,
        interval: std::time::Duration::from_millis(100),
    };
    let host = r.ctx.host.as_ref();

    // The real etcd (the version kubeadm pins) answers over mutual TLS and is new enough.
    let res = external_etcd_version_check(host, &ext, 37, &probe);
    assert_eq!(res.name, "ExternalEtcdVersion");
    assert_eq!(res.severity, kubestrap::engine::Severity::Pass, "{res:?}");

    // Through init's run_checks with external etcd: the certificate files and the version
    // pass (one request: etcd answers at once, so no retries).
    let mut ext_cfg = cfg.clone();
    ext_cfg.cluster.etcd.local = None;
    ext_cfg.cluster.etcd.external = Some(ext.clone());
    let (sink, _rx) = EventSink::channel();
    let ext_ctx = PhaseCtx::new(Arc::new(ext_cfg.clone()), r.ctx.host.clone(), sink);
    let results = run_checks(&ext_ctx, &IgnoreSet::default());
    let by = |n: &str| results.iter().find(|c| c.name == n).cloned();
    let certs = by("ExternalEtcdClientCertificates").expect("cert check runs");
    assert_eq!(
        certs.severity,
        kubestrap::engine::Severity::Pass,
        "{certs:?}"
    );
    let ver = by("ExternalEtcdVersion").expect("version check runs");
    assert_eq!(ver.severity, kubestrap::engine::Severity::Pass, "{ver:?}");
    assert!(by("Port-2379").is_none() && by("DirAvailable--var-lib-etcd").is_none());

    // A missing key file: the certificate check names it.
    let mut missing_cfg = ext_cfg.clone();
    missing_cfg.cluster.etcd.external.as_mut().unwrap().key_file =
        "/etc/kubernetes/pki/missing-etcd-client.key".into();
    let (sink, _rx) = EventSink::channel();
    let miss_ctx = PhaseCtx::new(Arc::new(missing_cfg), r.ctx.host.clone(), sink);
    let results = run_checks(&miss_ctx, &IgnoreSet::default());
    let certs = results
        .iter()
        .find(|c| c.name == "ExternalEtcdClientCertificates")
        .unwrap();
    assert_eq!(certs.severity, kubestrap::engine::Severity::Error);
    assert_eq!(
        certs.message,
        "/etc/kubernetes/pki/missing-etcd-client.key doesn't exist"
    );
    drop(etcd_proc);

    // A stub etcd 3.5.24 (served with the etcd server certificate, trusted through caFile).
    let cert = std::fs::read(pki("etcd/server.crt")).unwrap();
    let key = std::fs::read(pki("etcd/server.key")).unwrap();
    let (port, stub) = version_stub(
        &cert,
        &key,
        r#"{"etcdserver":"3.5.24","etcdcluster":"3.5.0"}"#,
        1,
    );
    let mut ok_ext = ext.clone();
    ok_ext.endpoints = vec![format!("https://127.0.0.1:{port}/")];
    let res = external_etcd_version_check(host, &ok_ext, 33, &probe);
    assert_eq!(
        res.severity,
        kubestrap::engine::Severity::Pass,
        "{}",
        res.message
    );
    assert_eq!(stub.join().unwrap(), 1, "the stub served the request");

    // A stub 3.5.16 is below kubeadm's minimum for the v1.34–v1.37 releases (3.5.24).
    let (port, stub) = version_stub(
        &cert,
        &key,
        r#"{"etcdserver":"3.5.16","etcdcluster":"3.5.0"}"#,
        1,
    );
    ok_ext.endpoints = vec![format!("https://127.0.0.1:{port}")];
    let res = external_etcd_version_check(host, &ok_ext, 34, &probe);
    assert_eq!(res.severity, kubestrap::engine::Severity::Error, "{res:?}");
    assert!(
        res.message.contains(">= 3.5.24") && res.message.contains("Current version: 3.5.16"),
        "{}",
        res.message
    );
    stub.join().unwrap();

    // Nothing listening: connection refused, every attempt, within a bounded time.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let mut none_ext = ext.clone();
    none_ext.endpoints = vec![format!("https://127.0.0.1:{dead_port}")];
    let two = EtcdVersionProbe {
        attempts: 2,
        ..probe.clone()
    };
    let start = std::time::Instant::now();
    let res = external_etcd_version_check(host, &none_ext, 33, &two);
    assert_eq!(res.severity, kubestrap::engine::Severity::Error);
    assert!(
        res.message.contains("connection refused")
            && res
                .message
                .contains(&format!("127.0.0.1:{dead_port}/version")),
        "{}",
        res.message
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
