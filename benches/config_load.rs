//! Load + default + validate of a 200-line multi-document kubeadm.yaml (target: < 1 ms).
//!
//! Run: `cargo bench --bench config_load`

use criterion::{Criterion, criterion_group, criterion_main};
use kubestrap::config::defaults::apply_static_init_defaults;
use kubestrap::config::load::load_documents;
use kubestrap::config::overlay::{apply_dynamic_defaults, init_from_loaded};
use kubestrap::config::validate::validate_init;
use kubestrap::host::HostFacts;

/// A realistic HA configuration: InitConfiguration, ClusterConfiguration with extraArgs,
/// extraVolumes and certSANs, KubeletConfiguration and KubeProxyConfiguration.
fn kubeadm_yaml() -> String {
    let mut s = String::from(
        r#"# HA control plane, generated for the benchmark
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
  ttl: 24h0m0s
  usages: [signing, authentication]
  groups: [system:bootstrappers:kubeadm:default-node-token]
localAPIEndpoint:
  advertiseAddress: 10.0.0.11
  bindPort: 6443
nodeRegistration:
  name: cp-a
  criSocket: unix:///var/run/containerd/containerd.sock
  imagePullPolicy: IfNotPresent
  kubeletExtraArgs:
  - name: node-ip
    value: 10.0.0.11
timeouts:
  controlPlaneComponentHealthCheck: 4m0s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.34.2
controlPlaneEndpoint: k8s-api.example.com:6443
clusterName: prod
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
  dnsDomain: cluster.local
apiServer:
  certSANs:
"#,
    );
    for i in 0..30 {
        s.push_str(&format!("  - api-{i}.example.com\n"));
    }
    s.push_str("  extraArgs:\n");
    let flags = [
        "audit-log-maxage",
        "audit-log-maxbackup",
        "audit-log-maxsize",
        "audit-log-path",
        "audit-policy-file",
        "authorization-mode",
        "enable-admission-plugins",
        "profiling",
        "service-node-port-range",
        "event-ttl",
        "watch-cache-sizes",
        "max-requests-inflight",
        "max-mutating-requests-inflight",
        "request-timeout",
        "feature-gates",
        "feature-gates",
        "tls-min-version",
        "goaway-chance",
        "v",
        "kubelet-timeout",
    ];
    for f in flags {
        // A value of the flag's type (validation checks them as the component would).
        let value = match kubestrap::config::flags::flag_type("kube-apiserver", f) {
            // Gates and plugins are checked by name against the version's lists.
            _ if f == "feature-gates" => "APIResponseCompression=true",
            _ if f == "enable-admission-plugins" => "NodeRestriction",
            Some("") => "true",
            Some("int") => "30",
            Some("duration") => "60s",
            Some("float32" | "float") => "0.01",
            Some("portRange") => "30000-32767",
            _ => "x",
        };
        s.push_str(&format!("  - name: {f}\n    value: \"{value}\"\n"));
    }
    s.push_str("  extraVolumes:\n");
    for i in 0..14 {
        s.push_str(&format!(
            "  - name: vol-{i}\n    hostPath: /etc/kubernetes/extra-{i}\n    mountPath: /etc/kubernetes/extra-{i}\n    readOnly: true\n    pathType: DirectoryOrCreate\n"
        ));
    }
    s.push_str(
        r#"controllerManager:
  extraArgs:
  - name: node-cidr-mask-size-ipv4
    value: "24"
  - name: bind-address
    value: 0.0.0.0
scheduler:
  extraArgs:
  - name: bind-address
    value: 0.0.0.0
etcd:
  local:
    dataDir: /var/lib/etcd
    extraArgs:
    - name: listen-metrics-urls
      value: http://0.0.0.0:2381
    serverCertSANs: [etcd.example.com]
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
maxPods: 200
failSwapOn: false
evictionHard:
  memory.available: 100Mi
  nodefs.available: 10%
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
ipvs:
  strictARP: true
"#,
    );
    s
}

fn bench(c: &mut Criterion) {
    let text = kubeadm_yaml();
    let lines = text.lines().count();
    assert!(lines >= 200, "benchmark file has {lines} lines");
    let facts = HostFacts {
        hostname: "cp-a".into(),
        default_route_addr: Some("10.0.0.11".parse().unwrap()),
        ..Default::default()
    };
    c.bench_function("config_load_default_validate_200_lines", |b| {
        b.iter(|| {
            let loaded = load_documents(&text, "kubeadm.yaml").expect("valid benchmark file");
            let (mut cfg, mut warnings, _) =
                init_from_loaded(loaded, "kubeadm.yaml").expect("init kinds");
            apply_dynamic_defaults(&mut cfg, &facts, &mut warnings);
            apply_static_init_defaults(&mut cfg);
            let errs = validate_init(&cfg, &facts);
            assert!(errs.is_empty(), "{errs:?}");
            cfg
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
