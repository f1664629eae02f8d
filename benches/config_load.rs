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
        "# HA control plane, generated for the benchmark\n\
apiVersion: kubeadm.k8s.io/v1beta4\n\
kind: InitConfiguration\n\
bootstrapTokens:\n\
- token: abcdef.0123456789abcdef\n\
  ttl: 24h0m0s\n\
  usages: [signing, authentication]\n\
  groups: [system:bootstrappers:kubeadm:default-node-token]\n\
localAPIEndpoint:\n\
  advertiseAddress: 10.0.0.11\n\
  bindPort: 6443\n\
nodeRegistration:\n\
  name: cp-a\n\
  criSocket: unix:///var/run/containerd/containerd.sock\n\
  imagePullPolicy: IfNotPresent\n\
  kubeletExtraArgs:\n\
  - name: node-ip\n\
    value: 10.0.0.11\n\
timeouts:\n\
  controlPlaneComponentHealthCheck: 4m0s\n\
---\n\
apiVersion: kubeadm.k8s.io/v1beta4\n\
kind: ClusterConfiguration\n\
kubernetesVersion: v1.34.2\n\
controlPlaneEndpoint: k8s-api.example.com:6443\n\
clusterName: prod\n\
networking:\n\
  podSubnet: 10.244.0.0/16\n\
  serviceSubnet: 10.96.0.0/12\n\
  dnsDomain: cluster.local\n\
apiServer:\n\
  certSANs:\n",
    );
    for i in 0..20 {
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
        "default-watch-cache-size",
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
        s.push_str(&format!("  - name: {f}\n    value: \"x\"\n"));
    }
    s.push_str("  extraVolumes:\n");
    for i in 0..6 {
        s.push_str(&format!(
            "  - name: vol-{i}\n    hostPath: /etc/kubernetes/extra-{i}\n    mountPath: /etc/kubernetes/extra-{i}\n    readOnly: true\n    pathType: DirectoryOrCreate\n"
        ));
    }
    s.push_str(
        "controllerManager:\n  extraArgs:\n  - name: node-cidr-mask-size-ipv4\n    value: \"24\"\n  - name: bind-address\n    value: 0.0.0.0\n\
scheduler:\n  extraArgs:\n  - name: bind-address\n    value: 0.0.0.0\n\
etcd:\n  local:\n    dataDir: /var/lib/etcd\n    extraArgs:\n    - name: listen-metrics-urls\n      value: http://0.0.0.0:2381\n    serverCertSANs: [etcd.example.com]\n\
---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nmaxPods: 200\nfailSwapOn: false\n\
evictionHard:\n  memory.available: 100Mi\n  nodefs.available: 10%\n\
---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  strictARP: true\n",
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
