//! High availability from kubestrap's files: three control-plane nodes, each in its own
//! network namespace on a bridge (in a fourth namespace the test makes), each with the static
//! pod runner (tests/support/staticpods.rs) playing its kubelet and running the real etcd,
//! kube-apiserver, kube-controller-manager and kube-scheduler from the manifests kubestrap
//! wrote. Node 1 by `kubestrap init --upload-certs` with `controlPlaneEndpoint` = node 1's
//! address (no load balancer or DNS name can be made without touching this machine), nodes 2
//! and 3 by `kubestrap join --control-plane --certificate-key`; the test plays each joining
//! kubelet's TLS bootstrap (its CSR is approved and signed by the real controller-manager).
//!
//! Checked with the real etcdctl and kubectl: three voting etcd members, every API server
//! ready, the cluster writable with node 1 stopped and node 1 back as a healthy member; the
//! failures a user meets (bad key, another cluster's key, expired Secret, a second node with
//! the same name, a learner that never starts, Ctrl-C after the learner was added) named,
//! with etcd's members unchanged; the real `kubeadm join --control-plane --dry-run` reads our
//! kubeadm-certs Secret; `kubestrap reset` on node 3, its own etcd stopped, removes its member.
//!
//! Needs root, iproute2 and the binaries of scripts/k8s-bins.sh (skipped without them outside
//! CI). Everything runs in the test's namespaces and folder, torn down by guards.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::netns::{self, NetnsGuard};
use support::staticpods::{RunnerOptions, StaticPodRunner};

const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");
/// Node addresses; the fourth is a spare machine for the failure cases and kubeadm.
const IPS: [&str; 4] = ["10.201.0.1", "10.201.0.2", "10.201.0.3", "10.201.0.4"];
const NAMES: [&str; 3] = ["cp1", "cp2", "cp3"];

/// Kills and reaps a child on drop (also when an assertion fails).
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A `kubestrap` run in a namespace: its stdout lines as they come.
struct Run {
    child: ChildGuard,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: PathBuf,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Run {
    fn start(ns: &str, path_dirs: &[PathBuf], args: &[&str], stderr: PathBuf) -> Run {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let mut all: Vec<PathBuf> = path_dirs.to_vec();
        if let Some(p) = std::env::var_os("PATH") {
            all.extend(std::env::split_paths(&p));
        }
        cmd.env("PATH", std::env::join_paths(all).unwrap())
            .env_remove("KUBECONFIG");
        netns::command_in(&mut cmd, ns);
        let mut child = cmd.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let l2 = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l2.lock().unwrap().push(line);
            }
        });
        Run {
            child: ChildGuard(Some(child)),
            lines,
            stderr,
            reader: Some(reader),
        }
    }

    /// Waits for the exit (bounded); `None` on timeout.
    fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        let c = self.child.0.as_mut().unwrap();
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return Some(st.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn running(&mut self) -> bool {
        matches!(self.child.0.as_mut().unwrap().try_wait(), Ok(None))
    }

    fn events(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    fn output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.lines.lock().unwrap().join("\n"),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }
}

/// The test's world: folder, namespaces (one bridge namespace, four nodes), runners.
/// Fields drop in this order (also when a check fails): every process the runners started,
/// then the namespaces, then the folder.
struct Ha {
    runners: Vec<Option<StaticPodRunner>>,
    nets: NetnsGuard,
    dir: tempfile::TempDir,
    bins: PathBuf,
    ns: Vec<String>,
}

impl Ha {
    fn new(bins: PathBuf) -> Ha {
        let dir = tempfile::Builder::new().prefix("ks-ha-").tempdir().unwrap();
        let id = std::process::id() % 100000;
        let mut nets = NetnsGuard::default();
        let sw = format!("ks-hasw-{id}");
        nets.add(&sw);
        netns::ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"]);
        netns::ip(&["-n", &sw, "link", "set", "br0", "up"]);
        let mut ns = Vec::new();
        for (i, ip) in IPS.iter().enumerate() {
            let n = format!("ks-ha{}-{id}", i + 1);
            nets.add(&n);
            // Made inside the namespaces: this machine's own namespace never sees the pair.
            let port = format!("p{}", i + 1);
            netns::ip(&[
                "-n", &n, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns",
                &sw,
            ]);
            netns::ip(&["-n", &n, "addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
            netns::ip(&["-n", &n, "link", "set", "eth0", "up"]);
            netns::ip(&["-n", &sw, "link", "set", &port, "master", "br0"]);
            netns::ip(&["-n", &sw, "link", "set", &port, "up"]);
            ns.push(n);
        }
        Ha {
            runners: (0..3).map(|_| None).collect(),
            nets,
            dir,
            bins,
            ns,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn root(&self, i: usize) -> PathBuf {
        self.path(&format!("node{}", i + 1))
    }

    fn start_runner(&mut self, i: usize) {
        std::fs::create_dir_all(self.root(i)).unwrap();
        let r = StaticPodRunner::start(RunnerOptions {
            root: self.root(i),
            bins: self.bins.clone(),
            netns: Some(self.ns[i].clone()),
            work: self.path(&format!("runner{}", i + 1)),
            skip: vec![],
            // Node 1's kubelet.conf (from init) registers its Node; the joining nodes' are
            // registered by play_kubelet.
            register_node: (i == 0).then(|| NAMES[i].to_string()),
            kubelet_healthz: true,
        });
        self.runners[i] = Some(r);
    }

    fn path_dirs(&self, i: usize) -> Vec<PathBuf> {
        let mut v = Vec::new();
        if let Some(r) = self.runners.get(i).and_then(|r| r.as_ref()) {
            v.push(r.bin_dir());
        }
        v.push(self.bins.clone());
        v
    }

    fn run_in(&self, i: usize, program: &Path, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).env_remove("KUBECONFIG");
        netns::command_in(&mut cmd, &self.ns[i]);
        support::k8s::kubeadm_dry_run_dirs(&mut cmd, self.dir.path());
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// kubectl from node `i`'s namespace with a copy of node 1's admin.conf, against `server`
    /// (an API server's own address) when given.
    fn kubectl(&self, i: usize, server: Option<&str>, args: &[&str]) -> (i32, String, String) {
        let admin = self.path("admin.conf");
        let mut all = vec![
            "--kubeconfig".to_string(),
            admin.display().to_string(),
            "--request-timeout=20s".to_string(),
        ];
        if let Some(s) = server {
            all.push(format!("--server=https://{s}:6443"));
        }
        all.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        self.run_in(i, &self.bins.join("kubectl"), &refs)
    }

    /// etcdctl from node `i`'s namespace with copies of node 1's etcd CA and health-check
    /// client certificate (reset empties the PKI folders).
    fn etcdctl(&self, i: usize, endpoints: &[&str], args: &[&str]) -> (i32, String, String) {
        let eps: Vec<String> = endpoints
            .iter()
            .map(|ip| format!("https://{ip}:2379"))
            .collect();
        let d = self.path("etcd-client");
        let mut all = vec![
            format!("--endpoints={}", eps.join(",")),
            format!("--cacert={}", d.join("ca.crt").display()),
            format!("--cert={}", d.join("hc.crt").display()),
            format!("--key={}", d.join("hc.key").display()),
            "--command-timeout=15s".to_string(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        self.run_in(i, &self.bins.join("etcdctl"), &refs)
    }

    /// `member list -w json` through `via`: (name, peer URL, is learner) sorted by name.
    fn members(&self, via: &str) -> Vec<(String, String, bool)> {
        let idx = IPS.iter().position(|i| *i == via).unwrap();
        let (rc, out, err) = self.etcdctl(idx, &[via], &["member", "list", "-w", "json"]);
        assert_eq!(rc, 0, "etcdctl member list via {via}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let mut m: Vec<(String, String, bool)> = v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["name"].as_str().unwrap_or("").to_string(),
                    m["peerURLs"][0].as_str().unwrap_or("").to_string(),
                    m["isLearner"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        m.sort();
        m
    }

    fn logs(&self) -> String {
        self.runners
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                r.as_ref()
                    .map(|r| format!("=== node {} ===\n{}", i + 1, r.log_tails(25)))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn expected(n: usize) -> Vec<(String, String, bool)> {
    let mut v: Vec<(String, String, bool)> = (0..n)
        .map(|i| {
            (
                NAMES[i].to_string(),
                format!("https://{}:2380", IPS[i]),
                false,
            )
        })
        .collect();
    v.sort();
    v
}

/// Plays the kubelet of a joining node: waits for bootstrap-kubelet.conf, sends a CSR with the
/// bootstrap token, waits for the real controller-manager to approve and sign it, writes
/// kubelet-client-current.pem and kubelet.conf (the runner then registers the Node with it).
fn play_kubelet(h: &Ha, i: usize, run: &mut Run) {
    let root = h.root(i);
    let boot = root.join("etc/kubernetes/bootstrap-kubelet.conf");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !boot.exists() {
        assert!(
            Instant::now() < deadline && run.running(),
            "node {}: no bootstrap-kubelet.conf\n{}\n{}",
            i + 1,
            run.output(),
            h.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let boot_copy = h.path(&format!("bootstrap-{}.conf", i + 1));
    std::fs::copy(&boot, &boot_copy).unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, "system:nodes");
    dn.push(
        rcgen::DnType::CommonName,
        format!("system:node:{}", NAMES[i]),
    );
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let obj = serde_json::json!({
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "csr-"},
        "spec": {
            "request": b64.encode(csr.as_bytes()),
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"],
        }
    });
    let csr_file = h.path(&format!("csr-{}.json", i + 1));
    std::fs::write(&csr_file, serde_json::to_vec(&obj).unwrap()).unwrap();
    let kubectl = h.bins.join("kubectl");
    let bk = boot_copy.to_str().unwrap();
    let (rc, out, err) = h.run_in(
        i,
        &kubectl,
        &[
            "--kubeconfig",
            bk,
            "create",
            "-o",
            "name",
            "-f",
            csr_file.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 0, "node {}: create CSR: {err}", i + 1);
    let name = out
        .trim()
        .trim_start_matches("certificatesigningrequest.certificates.k8s.io/")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    let cert = loop {
        let (rc, out, err) = h.run_in(
            i,
            &kubectl,
            &["--kubeconfig", bk, "get", "csr", &name, "-o", "json"],
        );
        assert_eq!(rc, 0, "get CSR: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        if let Some(c) = v["status"]["certificate"]
            .as_str()
            .filter(|c| !c.is_empty())
        {
            break b64.decode(c).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "CSR not signed: {v}\n{}",
            h.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let pem_real = "/var/lib/kubelet/pki/kubelet-client-current.pem";
    let pem_path = root.join(pem_real.trim_start_matches('/'));
    std::fs::create_dir_all(pem_path.parent().unwrap()).unwrap();
    let mut pem = cert;
    pem.extend_from_slice(key.serialize_pem().as_bytes());
    std::fs::write(&pem_path, &pem).unwrap();
    let bv: serde_yaml::Value =
        serde_yaml::from_slice(&std::fs::read(&boot_copy).unwrap()).unwrap();
    let server = bv["clusters"][0]["cluster"]["server"].as_str().unwrap();
    let ca = bv["clusters"][0]["cluster"]["certificate-authority-data"]
        .as_str()
        .unwrap();
    // kubelet.conf names the pem by its real path (kubestrap reads it under the root); the
    // test's own copy names the folder it is really in.
    let conf = |p: &str| {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: default-cluster\ncontexts:\n- context:\n    cluster: default-cluster\n    namespace: default\n    user: default-auth\n  name: default-context\ncurrent-context: default-context\nusers:\n- name: default-auth\n  user:\n    client-certificate: {p}\n    client-key: {p}\n"
        )
    };
    let local = h.path(&format!("kubelet-{}.conf", i + 1));
    std::fs::write(&local, conf(pem_path.to_str().unwrap())).unwrap();
    std::fs::write(root.join("etc/kubernetes/kubelet.conf"), conf(pem_real)).unwrap();
    // It registers its Node with that identity.
    let node = serde_json::json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NAMES[i], "labels": {"kubernetes.io/hostname": NAMES[i], "kubernetes.io/os": "linux"}}});
    let node_file = h.path(&format!("node-{}.json", i + 1));
    std::fs::write(&node_file, serde_json::to_vec(&node).unwrap()).unwrap();
    let (rc, _, err) = h.run_in(
        i,
        &kubectl,
        &[
            "--kubeconfig",
            local.to_str().unwrap(),
            "create",
            "-f",
            node_file.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 0, "node {}: register the Node: {err}", i + 1);
}

/// The join_ready event of init: (endpoint, token, pin, certificate key).
fn join_info(run: &Run) -> (String, String, String, String) {
    let ev = run
        .events()
        .into_iter()
        .find(|v| v["event"] == "join_ready")
        .unwrap_or_else(|| panic!("no join_ready event\n{}", run.output()));
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        s(&ev["endpoint"]),
        s(&ev["token"]),
        s(&ev["ca_cert_hashes"][0]),
        s(&ev["certificate_key"]),
    )
}

/// `kubestrap join --control-plane` of node `i` (index into IPS), text output.
fn join_cp(
    h: &Ha,
    i: usize,
    name: &str,
    info: &(String, String, String, String),
    key: &str,
    root: &Path,
    tag: &str,
) -> Run {
    join_cp_with(h, i, name, info, key, root, tag, &[])
}

/// [`join_cp`] with more flags.
#[allow(clippy::too_many_arguments)]
fn join_cp_with(
    h: &Ha,
    i: usize,
    name: &str,
    info: &(String, String, String, String),
    key: &str,
    root: &Path,
    tag: &str,
    more: &[&str],
) -> Run {
    std::fs::create_dir_all(root).unwrap();
    let mut args: Vec<&str> = vec![
        "--root",
        root.to_str().unwrap(),
        "join",
        &info.0,
        "--token",
        &info.1,
        "--discovery-token-ca-cert-hash",
        &info.2,
        "--control-plane",
        "--certificate-key",
        key,
        "--apiserver-advertise-address",
        IPS[i],
        "--node-name",
        name,
        "--non-interactive",
        "--ignore-preflight-errors=all",
    ];
    args.extend_from_slice(more);
    Run::start(
        &h.ns[i],
        &h.path_dirs(i),
        &args,
        h.path(&format!("join-{tag}.stderr")),
    )
}

/// Waits (bounded) until `f` holds; panics with `what` and the logs otherwise.
fn eventually(h: &Ha, limit: Duration, what: &str, mut f: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + limit;
    loop {
        match f() {
            Ok(()) => return,
            Err(e) if Instant::now() >= deadline => {
                panic!("{what} within {limit:?}: {e}\n{}", h.logs())
            }
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}

fn readyz(h: &Ha, i: usize) -> Result<(), String> {
    let (rc, out, err) = h.kubectl(i, Some(IPS[i]), &["get", "--raw", "/readyz"]);
    if rc == 0 && out.trim() == "ok" {
        Ok(())
    } else {
        Err(format!("{out}{err}"))
    }
}

/// Three control-plane nodes: init + two control-plane joins, the etcd members, readiness,
/// losing and regaining node 1, the failure cases, kubeadm's cross-check and reset.
#[test]
fn three_control_plane_nodes() {
    let Some(bins) = support::k8s::bin_dir() else {
        return;
    };
    assert!(
        netns::is_root(),
        "this test needs root (network namespaces)"
    );
    let before = support::node::HostSnapshot::take();
    let t0 = Instant::now();
    let mut h = Ha::new(bins.clone());
    let dir_path = h.dir.path().to_path_buf();
    let names = h.nets.names.clone();
    scenario(&mut h, t0);
    for r in h.runners.iter_mut().flatten() {
        r.stop();
        assert!(r.pids().is_empty());
    }
    drop(h);
    assert_nothing_left(&dir_path, &names);
    let after = support::node::HostSnapshot::take();
    let diff = before.diff(&after);
    assert!(diff.is_empty(), "this machine changed:\n{diff}");
    eprintln!("== whole test: {:.1}s ==", t0.elapsed().as_secs_f64());
}

fn scenario(h: &mut Ha, t0: Instant) {
    let lap = |what: &str| eprintln!("== {what} at {:.1}s ==", t0.elapsed().as_secs_f64());
    // Node 1: init with the control-plane endpoint and --upload-certs.
    let cfg = h.path("kubeadm.yaml");
    std::fs::write(
        &cfg,
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: {}\n  bindPort: 6443\nnodeRegistration:\n  name: {}\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {}\ncontrolPlaneEndpoint: {}:6443\nnetworking:\n  podSubnet: 10.244.0.0/16\n",
            IPS[0],
            NAMES[0],
            support::k8s::default_version(),
            IPS[0]
        ),
    )
    .unwrap();
    h.start_runner(0);
    let r1 = h.root(0);
    let mut init = Run::start(
        &h.ns[0],
        &h.path_dirs(0),
        &[
            "--root",
            r1.to_str().unwrap(),
            "init",
            "--non-interactive",
            "--output",
            "json",
            "--show-secrets",
            "--config",
            cfg.to_str().unwrap(),
            "--upload-certs",
            "--ignore-preflight-errors=all",
        ],
        h.path("init.stderr"),
    );
    let rc = init.wait(Duration::from_secs(400));
    assert_eq!(rc, Some(0), "init\n{}\n{}", init.output(), h.logs());
    lap("node 1 initialised");
    let info = join_info(&init);
    assert_eq!(info.0, format!("{}:6443", IPS[0]));
    assert_eq!(info.3.len(), 64, "certificate key");
    std::fs::copy(r1.join("etc/kubernetes/admin.conf"), h.path("admin.conf")).unwrap();
    let d = h.path("etcd-client");
    std::fs::create_dir_all(&d).unwrap();
    let pki = r1.join("etc/kubernetes/pki/etcd");
    for (from, to) in [
        ("ca.crt", "ca.crt"),
        ("healthcheck-client.crt", "hc.crt"),
        ("healthcheck-client.key", "hc.key"),
    ] {
        std::fs::copy(pki.join(from), d.join(to)).unwrap();
    }
    assert_eq!(h.members(IPS[0]), expected(1));

    // Nodes 2 and 3 join as control-plane nodes.
    for i in 1..3 {
        h.start_runner(i);
        let root = h.root(i);
        let mut run = join_cp(h, i, NAMES[i], &info, &info.3, &root, NAMES[i]);
        play_kubelet(h, i, &mut run);
        let rc = run.wait(Duration::from_secs(600));
        let out = run.output();
        assert_eq!(rc, Some(0), "join of node {}\n{out}\n{}", i + 1, h.logs());
        lap(&format!("node {} joined", i + 1));
        for want in [
            "[download-certs] Downloading the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace",
            "[check-etcd] Checking that the etcd cluster is healthy",
            "[etcd] Announced new etcd member joining to the existing etcd cluster",
            "was promoted to a voting member",
            "[mark-control-plane] Marking the node",
            "This node has joined the cluster and a new control plane instance was created:",
        ] {
            assert!(out.contains(want), "node {}: no {want:?} in\n{out}", i + 1);
        }
        // The learner's catch-up was reported as progress.
        assert!(out.contains("[etcd-learner] attempt"), "{out}");
        assert!(
            !out.contains(&info.3),
            "the certificate key was printed:\n{out}"
        );
        if i == 1 {
            eprintln!("== node 2's join, the control-plane lines ==");
            for l in out.lines().filter(|l| {
                [
                    "[download-certs]",
                    "[check-etcd]",
                    "[etcd]",
                    "[etcd-learner]",
                    "[mark-control-plane]",
                    "This node has joined",
                ]
                .iter()
                .any(|p| l.contains(p))
            }) {
                eprintln!("{l}");
            }
        }
        // The shared CA came from node 1; this node's own apiserver certificate names its
        // address and the control-plane endpoint.
        assert_eq!(
            std::fs::read(root.join("etc/kubernetes/pki/ca.crt")).unwrap(),
            std::fs::read(r1.join("etc/kubernetes/pki/ca.crt")).unwrap()
        );
        let (_, text, _) = support::k8s::run(
            Path::new("openssl"),
            &[
                "x509",
                "-noout",
                "-ext",
                "subjectAltName",
                "-in",
                root.join("etc/kubernetes/pki/apiserver.crt")
                    .to_str()
                    .unwrap(),
            ],
            &[],
        );
        assert!(text.contains(&format!("IP Address:{}", IPS[i])), "{text}");
        let etcd_yaml =
            std::fs::read_to_string(root.join("etc/kubernetes/manifests/etcd.yaml")).unwrap();
        assert!(
            etcd_yaml.contains("--initial-cluster-state=existing"),
            "{etcd_yaml}"
        );
        for j in 0..=i {
            assert!(
                etcd_yaml.contains(&format!("{}=https://{}:2380", NAMES[j], IPS[j])),
                "{etcd_yaml}"
            );
        }
        assert_eq!(h.members(IPS[0]), expected(i + 1));
        let (rc, node, err) = h.kubectl(0, None, &["get", "node", NAMES[i], "-o", "json"]);
        assert_eq!(rc, 0, "{err}");
        let node: Value = serde_json::from_str(&node).unwrap();
        assert!(
            node["metadata"]["labels"]
                .get("node-role.kubernetes.io/control-plane")
                .is_some(),
            "{node}"
        );
        assert!(
            node["spec"]["taints"]
                .to_string()
                .contains("node-role.kubernetes.io/control-plane"),
            "{node}"
        );
    }
    // Three voting members, every API server ready.
    let m = h.members(IPS[2]);
    assert_eq!(m, expected(3));
    eprintln!("== etcd members: {m:?} ==");
    for i in 0..3 {
        eventually(
            h,
            Duration::from_secs(120),
            &format!("apiserver {} ready", i + 1),
            || readyz(h, i),
        );
    }
    lap("three members, three ready API servers");

    let renewed = failures(h, &info);
    lap("failure cases");
    kubeadm_cross_check(h, &renewed);
    lap("kubeadm cross-check");

    // Node 1 (the init node, behind the control-plane endpoint) stops: nodes 2 and 3 keep
    // the cluster writable.
    let r = h.runners[0].take().unwrap();
    let mut r = r;
    r.stop();
    assert!(r.pids().is_empty());
    drop(r);
    let cm = "ha-check";
    eventually(
        h,
        Duration::from_secs(120),
        "a ConfigMap written through node 2",
        || {
            let (rc, out, err) = h.kubectl(
                1,
                Some(IPS[1]),
                &[
                    "create",
                    "configmap",
                    cm,
                    "-n",
                    "default",
                    "--from-literal=written=through-cp2",
                ],
            );
            if rc == 0 || err.contains("AlreadyExists") {
                Ok(())
            } else {
                Err(format!("{out}{err}"))
            }
        },
    );
    let (rc, out, err) = h.kubectl(
        2,
        Some(IPS[2]),
        &[
            "get",
            "configmap",
            cm,
            "-n",
            "default",
            "-o",
            "jsonpath={.data.written}",
        ],
    );
    assert_eq!((rc, out.as_str()), (0, "through-cp2"), "{err}");
    lap("written and read back with node 1 down");
    // Node 1 comes back: its etcd rejoins as a healthy member.
    h.start_runner(0);
    eventually(
        h,
        Duration::from_secs(180),
        "node 1's etcd healthy again",
        || {
            let (rc, out, err) = h.etcdctl(0, &IPS[..3], &["endpoint", "health"]);
            if rc == 0 {
                Ok(())
            } else {
                Err(format!("{out}{err}"))
            }
        },
    );
    assert_eq!(h.members(IPS[0]), expected(3));
    eventually(
        h,
        Duration::from_secs(180),
        "apiserver 1 ready again",
        || readyz(h, 0),
    );
    let (rc, out, err) = h.kubectl(
        0,
        Some(IPS[0]),
        &[
            "get",
            "configmap",
            cm,
            "-n",
            "default",
            "-o",
            "jsonpath={.data.written}",
        ],
    );
    assert_eq!((rc, out.as_str()), (0, "through-cp2"), "{err}");
    lap("node 1 back");

    // kubestrap reset on node 3 removes its etcd member, with node 3's own etcd (and every
    // other process of node 3) stopped: the members are listed and the member removed
    // through the other nodes (etcd.yaml's --initial-cluster, the etcd Pods' annotations).
    let r3 = h.root(2);
    let mut cmd = Command::new(BIN);
    let mut path = h.path_dirs(2);
    if let Some(mut r) = h.runners[2].take() {
        r.stop();
        assert!(r.pids().is_empty());
    }
    assert_ne!(
        h.etcdctl(0, &IPS[2..3], &["endpoint", "health"]).0,
        0,
        "node 3's etcd still answers"
    );
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    cmd.args(["reset", "-f", "--root", r3.to_str().unwrap()])
        .stdin(Stdio::null())
        .env("PATH", std::env::join_paths(path).unwrap());
    netns::command_in(&mut cmd, &h.ns[2]);
    let o = cmd.output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert_eq!(o.status.code(), Some(0), "reset\n{out}{err}");
    assert!(!err.contains("Failed to remove etcd member"), "{out}{err}");
    let said = format!("{out}{err}");
    let line = said
        .lines()
        .find(|l| l.contains("This node's etcd (https://10.201.0.3:2379) does not answer"))
        .unwrap_or_else(|| panic!("reset did not say node 3's etcd is down:\n{said}"));
    // the other two members, from etcd.yaml's --initial-cluster
    for ip in &IPS[..2] {
        assert!(line.contains(&format!("https://{ip}:2379")), "{line}");
    }
    assert_eq!(h.members(IPS[0]), expected(2));
    eprintln!("== reset of node 3: members {:?} ==", h.members(IPS[1]));
    lap("node 3 reset");
}

/// Each failing control-plane join (from the spare namespace) is named and leaves etcd's
/// members as they were.
/// Returns the join information of the renewed certificates: the token and pin of
/// `token create --print-join-command --certificate-key`, and the new key.
fn failures(h: &Ha, info: &(String, String, String, String)) -> (String, String, String, String) {
    let before = h.members(IPS[0]);
    let other_key = "0123456789abcdef".repeat(4);
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "malformed key",
            "not-a-key".to_string(),
            "cp4",
            "controlPlane.certificateKey",
        ),
        (
            "another cluster's key",
            other_key.clone(),
            "cp4",
            "the certificate key is wrong or belongs to another cluster",
        ),
        (
            "same name as node 2",
            info.3.clone(),
            NAMES[1],
            "a node named \"cp2\" is already an etcd member",
        ),
    ];
    for (what, key, name, want) in cases {
        let root = h.path(&format!("spare-{}", what.replace(' ', "-")));
        let mut run = join_cp(h, 3, name, info, &key, &root, &what.replace(' ', "-"));
        let rc = run.wait(Duration::from_secs(240));
        let out = run.output();
        assert_eq!(rc, Some(1), "{what}: {out}");
        assert!(out.contains(want), "{what}: no {want:?} in\n{out}");
        assert!(
            !out.contains(&key) || key.len() != 64,
            "{what}: the certificate key was printed"
        );
        assert_eq!(h.members(IPS[0]), before, "{what}: etcd members changed");
        eprintln!(
            "== {what}: {} ==",
            out.lines().find(|l| l.contains(want)).unwrap_or("")
        );
    }
    // A learner that never starts (no kubelet runs this node's etcd.yaml): with
    // timeouts.etcdAPICall at 15 s the join ends naming it, and the learner is removed again.
    let root = h.path("spare-learner");
    std::fs::create_dir_all(&root).unwrap();
    let jc = h.path("join-learner.yaml");
    std::fs::write(
        &jc,
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: {}\n    token: {}\n    caCertHashes: [\"{}\"]\nnodeRegistration:\n  name: cp4\ncontrolPlane:\n  localAPIEndpoint:\n    advertiseAddress: {}\n    bindPort: 6443\n  certificateKey: {}\ntimeouts:\n  etcdAPICall: 15s\n",
            info.0, info.1, info.2, IPS[3], info.3
        ),
    )
    .unwrap();
    let mut run = Run::start(
        &h.ns[3],
        &h.path_dirs(3),
        &[
            "--root",
            root.to_str().unwrap(),
            "join",
            "--config",
            jc.to_str().unwrap(),
            "--non-interactive",
            "--ignore-preflight-errors=all",
        ],
        h.path("join-learner.stderr"),
    );
    assert_eq!(
        run.wait(Duration::from_secs(240)),
        Some(1),
        "{}",
        run.output()
    );
    let out = run.output();
    for want in [
        "[etcd] Announced new etcd member joining to the existing etcd cluster",
        "did not start within 15s",
        "removed the learner",
    ] {
        assert!(out.contains(want), "learner: no {want:?} in\n{out}");
    }
    assert!(!root.join("etc/kubernetes/manifests/etcd.yaml").exists());
    assert_eq!(h.members(IPS[0]), before, "learner: etcd members changed");
    eprintln!(
        "== a learner that never starts: {} ==",
        out.lines()
            .find(|l| l.contains("did not start"))
            .unwrap_or("")
    );
    // Ctrl-C during etcd-join, after the learner was added and before its promotion (the
    // same learner that never starts, with a long timeouts.etcdAPICall so only the cancel
    // ends it): the learner is removed again and etcd keeps its previous members.
    let root = h.path("spare-cancel");
    std::fs::create_dir_all(&root).unwrap();
    let jc = h.path("join-cancel.yaml");
    std::fs::write(
        &jc,
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: {}\n    token: {}\n    caCertHashes: [\"{}\"]\nnodeRegistration:\n  name: cp4\ncontrolPlane:\n  localAPIEndpoint:\n    advertiseAddress: {}\n    bindPort: 6443\n  certificateKey: {}\ntimeouts:\n  etcdAPICall: 3m0s\n",
            info.0, info.1, info.2, IPS[3], info.3
        ),
    )
    .unwrap();
    let mut run = Run::start(
        &h.ns[3],
        &h.path_dirs(3),
        &[
            "--root",
            root.to_str().unwrap(),
            "join",
            "--config",
            jc.to_str().unwrap(),
            "--non-interactive",
            "--ignore-preflight-errors=all",
        ],
        h.path("join-cancel.stderr"),
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    let announced = "[etcd] Announced new etcd member joining to the existing etcd cluster";
    while !run
        .lines
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains(announced))
    {
        assert!(
            Instant::now() < deadline && run.running(),
            "cancel: the learner was never added\n{}",
            run.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // the learner is in etcd now
    assert_eq!(
        h.members(IPS[0]).len(),
        before.len() + 1,
        "cancel: no learner to remove"
    );
    let pid = run.child.0.as_ref().unwrap().id() as libc::pid_t;
    let cancelled_at = Instant::now();
    // SAFETY: a signal to the child this test started (still running: checked above).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    assert_eq!(
        run.wait(Duration::from_secs(60)),
        Some(1),
        "{}",
        run.output()
    );
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(60),
        "cancel: the run did not stop at the cancel"
    );
    let out = run.output();
    for want in ["Cancelled during phase etcd-join", "removed the learner"] {
        assert!(out.contains(want), "cancel: no {want:?} in\n{out}");
    }
    assert!(!out.contains("did not start within"), "cancel: {out}");
    assert!(!root.join("etc/kubernetes/manifests/etcd.yaml").exists());
    assert_eq!(h.members(IPS[0]), before, "cancel: etcd members changed");
    eprintln!(
        "== Ctrl-C during etcd-join: {} ==",
        out.lines()
            .find(|l| l.contains("removed the learner"))
            .unwrap_or("")
    );
    // kubestrap's own dry run of a control-plane join reads the cluster and changes nothing.
    let root = h.path("spare-dry");
    let mut run = join_cp_with(h, 3, "cp4", info, &info.3, &root, "dry", &["--dry-run"]);
    assert_eq!(
        run.wait(Duration::from_secs(240)),
        Some(0),
        "{}",
        run.output()
    );
    let out = run.output();
    for want in [
        "[etcd] Would add etcd member: https://10.201.0.4:2380",
        "[download-certs] Saving the certificates",
    ] {
        assert!(out.contains(want), "dry run: no {want:?} in\n{out}");
    }
    assert_eq!(h.members(IPS[0]), before, "dry run: etcd members changed");
    // An expired key: the Secret went with its token. Renew it afterwards.
    let (rc, _, err) = h.kubectl(
        0,
        None,
        &["delete", "secret", "-n", "kube-system", "kubeadm-certs"],
    );
    assert_eq!(rc, 0, "{err}");
    let root = h.path("spare-expired");
    let mut run = join_cp(h, 3, "cp4", info, &info.3, &root, "expired");
    assert_eq!(run.wait(Duration::from_secs(240)), Some(1));
    let out = run.output();
    assert!(out.contains("This Secret might have expired"), "{out}");
    assert_eq!(h.members(IPS[0]), before, "expired: etcd members changed");
    // `init phase upload-certs --upload-certs` uploads them again under a new key.
    let r1 = h.root(0);
    let mut up = Run::start(
        &h.ns[0],
        &h.path_dirs(0),
        &[
            "--root",
            r1.to_str().unwrap(),
            "init",
            "phase",
            "upload-certs",
            "--non-interactive",
            "--upload-certs",
            "--show-secrets",
            "--config",
            h.path("kubeadm.yaml").to_str().unwrap(),
        ],
        h.path("upload-certs.stderr"),
    );
    assert_eq!(
        up.wait(Duration::from_secs(120)),
        Some(0),
        "{}",
        up.output()
    );
    let (rc, _, err) = h.kubectl(
        0,
        None,
        &["get", "secret", "-n", "kube-system", "kubeadm-certs"],
    );
    assert_eq!(rc, 0, "kubeadm-certs not uploaded again: {err}");
    let out = up.output();
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("[upload-certs] Using certificate key:"))
        .unwrap_or_else(|| panic!("no new key printed:\n{out}"));
    let new_key = lines[at + 1].trim().to_string();
    assert_eq!(new_key.len(), 64, "{out}");
    assert_ne!(new_key, info.3, "the key was not renewed");
    // The old key no longer opens the renewed Secret.
    let root = h.path("spare-old-key");
    let mut run = join_cp(h, 3, "cp4", info, &info.3, &root, "old-key");
    assert_eq!(run.wait(Duration::from_secs(240)), Some(1));
    assert!(
        run.output().contains("the certificate key is wrong"),
        "{}",
        run.output()
    );
    // `token create --print-join-command --certificate-key` prints the control-plane command.
    let mut tc = Run::start(
        &h.ns[0],
        &h.path_dirs(0),
        &[
            "--root",
            r1.to_str().unwrap(),
            "token",
            "create",
            "--print-join-command",
            "--certificate-key",
            &new_key,
        ],
        h.path("token-create.stderr"),
    );
    assert_eq!(tc.wait(Duration::from_secs(60)), Some(0), "{}", tc.output());
    let cmd = tc.lines.lock().unwrap().join(" ");
    eprintln!(
        "== token create --print-join-command --certificate-key: {} ==",
        cmd.replace(&new_key, "<key>")
    );
    let w: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(&w[..3], ["kubestrap", "join", info.0.as_str()], "{cmd}");
    let flag = |f: &str| w.iter().position(|x| *x == f).map(|i| w[i + 1].to_string());
    assert!(w.contains(&"--control-plane"), "{cmd}");
    assert_eq!(
        flag("--certificate-key").as_deref(),
        Some(new_key.as_str()),
        "{cmd}"
    );
    assert_eq!(
        flag("--discovery-token-ca-cert-hash").as_deref(),
        Some(info.2.as_str())
    );
    (
        info.0.clone(),
        flag("--token").unwrap(),
        info.2.clone(),
        new_key,
    )
}

/// The real kubeadm's control-plane join (dry run), with the token and key of the renewed
/// join command, reads and decrypts our kubeadm-certs.
fn kubeadm_cross_check(h: &Ha, info: &(String, String, String, String)) {
    let (rc, out, err) = h.run_in(
        3,
        &h.bins.join("kubeadm"),
        &[
            "join",
            &info.0,
            "--token",
            &info.1,
            "--discovery-token-ca-cert-hash",
            &info.2,
            "--control-plane",
            "--certificate-key",
            &info.3,
            "--apiserver-advertise-address",
            IPS[3],
            "--dry-run",
            "--ignore-preflight-errors=all",
            "--node-name",
            "kubeadm-cp",
            "--cri-socket",
            "unix:///var/run/containerd/containerd.sock",
            "-v=1",
        ],
    );
    let all = format!("{out}\n{err}");
    for want in [
        "[download-certs] Downloading the certificates in Secret \"kubeadm-certs\"",
        "[download-certs] Saving the certificates to the folder",
    ] {
        assert!(
            all.contains(want),
            "kubeadm join --control-plane --dry-run (rc {rc}): no {want:?}\n{all}"
        );
    }
    assert!(!all.contains("error decoding secret data"), "{all}");
    eprintln!("== kubeadm join --control-plane --dry-run exit {rc}: download-certs passed ==");
}

/// After the test: no process whose command line names the test's folder, no namespace, no mount.
fn assert_nothing_left(dir: &Path, names: &[String]) {
    let needle = dir.display().to_string();
    let mut left = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if pid.parse::<u32>().is_err() || pid == std::process::id().to_string() {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if c.contains(&needle) {
                left.push(format!("{pid}: {c}"));
            }
        }
    }
    assert!(left.is_empty(), "processes left: {left:#?}");
    for n in names {
        assert!(!netns::exists(n), "namespace {n} left");
    }
}

/// init's side of HA, without a cluster (dry runs): `--upload-certs` without a
/// controlPlaneEndpoint warns why no control-plane node can join; with one, the end of init
/// shows both join commands, the control-plane one for kubestrap with the certificate key and
/// kubeadm's note on its two-hour lifetime.
#[test]
fn init_prints_the_control_plane_join_command() {
    let dir = tempfile::Builder::new()
        .prefix("ks-ha-init-")
        .tempdir()
        .unwrap();
    let run = |extra: &[&str]| -> String {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "init",
            "--dry-run",
            "--non-interactive",
            "--upload-certs",
            "--apiserver-advertise-address",
            "192.0.2.10",
            "--node-name",
            "cp1",
            "--ignore-preflight-errors",
            "all",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .env("HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .env_remove("KUBECONFIG");
        let o = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.status.code(), Some(0), "{text}");
        text
    };
    let out = run(&[]);
    assert!(
        out.contains("--upload-certs without a controlPlaneEndpoint: this cluster cannot take more control-plane nodes")
            && out.contains("192.0.2.10:6443"),
        "{out}"
    );
    assert!(!out.contains("--control-plane --certificate-key"), "{out}");
    let out = run(&["--control-plane-endpoint", "cp.example:6443"]);
    assert!(!out.contains("without a controlPlaneEndpoint"), "{out}");
    let cp = out
        .lines()
        .find(|l| l.contains("--control-plane --certificate-key"))
        .unwrap_or_else(|| panic!("no control-plane join command:\n{out}"));
    assert!(
        cp.trim_start()
            .starts_with("kubestrap join cp.example:6443 --token "),
        "{cp}"
    );
    assert!(cp.contains("--certificate-key <redacted>"), "{cp}");
    assert!(
        out.contains("uploaded-certs will be deleted in two hours")
            && out.contains("kubestrap init phase upload-certs --upload-certs"),
        "{out}"
    );
    assert!(
        out.lines().any(
            |l| l.trim_start().starts_with("kubestrap join cp.example:6443")
                && !l.contains("--control-plane")
        ),
        "no worker command:\n{out}"
    );
}
