//! A real control plane from kubestrap's files: `kubestrap init` runs as a child process in a
//! network namespace while the static pod runner (tests/support/staticpods.rs) plays the
//! kubelet and runs the real etcd, kube-apiserver, kube-controller-manager and kube-scheduler
//! from the manifests kubestrap wrote. Every API phase runs against them; the real kubectl
//! checks the result; a worker in a second namespace joins over a veth pair, its TLS bootstrap
//! CSR approved and signed by the real controller-manager; the real kubeadm's join discovery
//! accepts our cluster-info and CA pin; and the failures a user meets are named. The other
//! direction too: on a control plane made by the real `kubeadm init phase ...` commands,
//! `kubestrap join` accepts kubeadm's cluster-info and joins.
//!
//! Needs root, iproute2 and the binaries of scripts/k8s-bins.sh (skipped without them outside
//! CI). The tests take a lock so only one control plane runs at a time.

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
const CP_IP: &str = "10.200.0.1";
const WORKER_IP: &str = "10.200.0.2";
const NODE: &str = "cp1";
const WORKER: &str = "worker1";

/// One control plane at a time: the machine has few cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// The binaries, or `None` (skip) outside CI; also checks root and iproute2.
fn bins() -> Option<PathBuf> {
    let b = support::k8s::bin_dir()?;
    assert!(
        support::netns::is_root(),
        "this test needs root (network namespaces)"
    );
    assert!(
        Command::new("ip").arg("-V").output().is_ok(),
        "this test needs iproute2"
    );
    Some(b)
}

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

/// Lines of a child's stdout, with the time each arrived.
type Lines = Arc<Mutex<Vec<(Instant, String)>>>;

/// A `kubestrap` run in a namespace: its stdout lines (JSON events) as they come.
struct Run {
    child: ChildGuard,
    lines: Lines,
    stderr: PathBuf,
    started: Instant,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Run {
    fn start(ns: &str, path_dirs: &[PathBuf], args: &[&str], stderr: PathBuf) -> Run {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let mut path = std::env::join_paths(path_dirs).unwrap();
        if let Some(p) = std::env::var_os("PATH") {
            let mut all: Vec<PathBuf> = path_dirs.to_vec();
            all.extend(std::env::split_paths(&p));
            path = std::env::join_paths(all).unwrap();
        }
        cmd.env("PATH", path).env_remove("KUBECONFIG");
        netns::command_in(&mut cmd, ns);
        let started = Instant::now();
        let mut child = cmd.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let lines: Lines = Arc::default();
        let l2 = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l2.lock().unwrap().push((Instant::now(), line));
            }
        });
        Run {
            child: ChildGuard(Some(child)),
            lines,
            stderr,
            started,
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
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The JSON events so far.
    fn events(&self) -> Vec<(Duration, Value)> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(t, l)| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .map(|v| (t.duration_since(self.started), v))
            })
            .collect()
    }

    /// Waits (bounded) until an event satisfies `f`.
    fn wait_event(&self, limit: Duration, f: impl Fn(&Value) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.events().iter().any(|(_, v)| f(v)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn pid(&self) -> i32 {
        self.child.0.as_ref().unwrap().id() as i32
    }

    fn output(&self) -> String {
        let out: Vec<String> = self
            .lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect();
        format!(
            "stdout:\n{}\nstderr:\n{}",
            out.join("\n"),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }
}

/// A test's world: its temp folder, namespaces, the kubestrap root of the control plane.
struct World {
    dir: tempfile::TempDir,
    bins: PathBuf,
    cp_ns: String,
    worker_ns: String,
    nets: NetnsGuard,
}

impl World {
    fn new(bins: PathBuf, tag: &str) -> World {
        let dir = tempfile::Builder::new()
            .prefix("ks-realcp-")
            .tempdir()
            .unwrap();
        let id = format!("{}{tag}", std::process::id() % 100000);
        let (cp_ns, worker_ns) = (format!("ks-cp-{id}"), format!("ks-wk-{id}"));
        let mut nets = NetnsGuard::default();
        nets.add(&cp_ns);
        nets.add(&worker_ns);
        netns::veth(
            &format!("kscp{id}"),
            &cp_ns,
            &format!("{CP_IP}/24"),
            &format!("kswk{id}"),
            &worker_ns,
            &format!("{WORKER_IP}/24"),
        );
        World {
            dir,
            bins,
            cp_ns,
            worker_ns,
            nets,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn cp_root(&self) -> PathBuf {
        self.path("cp")
    }

    /// Writes the kubeadm.yaml of the control plane (extra InitConfiguration/ClusterConfiguration
    /// lines appended to each document).
    fn config(&self, init_extra: &str, cluster_extra: &str) -> PathBuf {
        let text = format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: {CP_IP}\n  bindPort: 6443\nnodeRegistration:\n  name: {NODE}\n{init_extra}---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {}\nnetworking:\n  podSubnet: 10.244.0.0/16\n{cluster_extra}",
            support::k8s::default_version()
        );
        let p = self.path("kubeadm.yaml");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn runner(&self, skip: &[&str]) -> StaticPodRunner {
        std::fs::create_dir_all(self.cp_root()).unwrap();
        StaticPodRunner::start(RunnerOptions {
            root: self.cp_root(),
            bins: self.bins.clone(),
            netns: Some(self.cp_ns.clone()),
            work: self.path("runner"),
            skip: skip.iter().map(|s| s.to_string()).collect(),
            register_node: Some(NODE.into()),
            kubelet_healthz: true,
        })
    }

    /// `kubestrap --root <cp> init --non-interactive --output json --show-secrets --config K`.
    fn init(&self, runner: &StaticPodRunner, config: &Path) -> Run {
        let root = self.cp_root();
        Run::start(
            &self.cp_ns,
            &[runner.bin_dir(), self.bins.clone()],
            &[
                "--root",
                root.to_str().unwrap(),
                "init",
                "--non-interactive",
                "--output",
                "json",
                "--show-secrets",
                "--config",
                config.to_str().unwrap(),
                "--ignore-preflight-errors=all",
            ],
            self.path("init.stderr"),
        )
    }

    /// Runs `program args` in namespace `ns` (bounded by its own timeouts); (code, out, err).
    fn run_in(&self, ns: &str, program: &Path, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).env_remove("KUBECONFIG");
        netns::command_in(&mut cmd, ns);
        support::k8s::kubeadm_dry_run_dirs(&mut cmd, self.dir.path());
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// kubectl in the control plane's namespace with `kubeconfig`.
    fn kubectl_with(&self, kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
        let mut all = vec![
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--request-timeout=20s",
        ];
        all.extend_from_slice(args);
        self.run_in(&self.cp_ns, &self.bins.join("kubectl"), &all)
    }

    /// kubectl with admin.conf; panics on failure.
    fn kubectl(&self, args: &[&str]) -> String {
        let admin = self.cp_root().join("etc/kubernetes/admin.conf");
        let (rc, out, err) = self.kubectl_with(&admin, args);
        assert_eq!(rc, 0, "kubectl {}: {err}{out}", args.join(" "));
        out
    }

    /// `kubectl get -o json` of one object.
    fn get(&self, kind: &str, ns: Option<&str>, name: &str) -> Value {
        let mut args = vec!["get", kind, name, "-o", "json"];
        if let Some(n) = ns {
            args.extend(["-n", n]);
        }
        serde_json::from_str(&self.kubectl(&args)).unwrap()
    }
}

/// After a test: no process whose command line names the test's folder, no namespace, no mount.
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
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for n in names {
        assert!(!netns::exists(n), "namespace {n} left");
        assert!(!mounts.contains(n.as_str()), "mount of {n} left");
    }
    assert!(!mounts.contains(&needle), "mount under {needle} left");
}

/// Phase timings from the JSON events: (phase, finished at since start, its own duration).
fn timings(events: &[(Duration, Value)]) -> Vec<(String, Duration, u64)> {
    events
        .iter()
        .filter(|(_, v)| v["event"] == "phase_finished")
        .map(|(t, v)| {
            (
                v["phase"].as_str().unwrap_or("").to_string(),
                *t,
                v["elapsed_ms"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn check_failed_with(what: &str, run: &Run, runner: &StaticPodRunner) -> String {
    format!("{what}\n{}\n{}", run.output(), runner.log_tails(30))
}

/// The whole init against the real control plane, every object checked with the real kubectl,
/// then a worker joins for real and the real kubeadm's discovery accepts our cluster-info.
#[test]
fn real_control_plane_init_join_and_kubeadm_discovery() {
    let Some(bins) = bins() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new(bins.clone(), "a");
    let dir_path = w.dir.path().to_path_buf();
    let names = w.nets.names.clone();
    {
        let cfg = w.config("", "");
        let mut runner = w.runner(&[]);
        let mut run = w.init(&runner, &cfg);
        let rc = run.wait(Duration::from_secs(400));
        let ctx = || check_failed_with("init", &run, &runner);
        assert_eq!(rc, Some(0), "{}", ctx());
        let events = run.events();
        eprintln!("== timings (since kubestrap started) ==");
        for (phase, at, took) in timings(&events) {
            eprintln!(
                "{phase:<22} done at {:7.3}s, took {took} ms",
                at.as_secs_f64()
            );
        }
        eprintln!("== runner ==\n{}", runner.events().join("\n"));
        check_control_plane(&w, &runner);
        let join = events
            .iter()
            .find(|(_, v)| v["event"] == "join_ready")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no join_ready event\n{}", ctx()));
        check_cluster_objects(&w, &join);
        check_access(&w, &join);
        join_worker(&w, &join);
        kubeadm_discovery(&w, &join);
        runner.stop();
        assert!(runner.pids().is_empty());
    }
    drop(w);
    assert_nothing_left(&dir_path, &names);
}

/// The runner ran exactly the manifests' command lines, paths mapped, and the apiserver is ready.
fn check_control_plane(w: &World, runner: &StaticPodRunner) {
    let mut pods = runner.pods();
    pods.sort();
    assert_eq!(
        pods,
        [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler"
        ]
    );
    let api = runner.argv("kube-apiserver").unwrap();
    let root = w.cp_root().display().to_string();
    assert!(
        api.contains(&format!("--advertise-address={CP_IP}")),
        "{api:?}"
    );
    assert!(
        api.contains(&format!(
            "--client-ca-file={root}/etc/kubernetes/pki/ca.crt"
        )),
        "{api:?}"
    );
    for p in &pods {
        assert_eq!(runner.exits(p), 0, "{p} exited\n{}", runner.log_tails(30));
    }
    let readyz = w.kubectl(&["get", "--raw=/readyz?verbose"]);
    assert!(readyz.contains("readyz check passed"), "{readyz}");
    let bad: Vec<&str> = readyz.lines().filter(|l| l.starts_with("[-]")).collect();
    assert!(bad.is_empty(), "{readyz}");
    assert!(readyz.contains("[+]etcd ok"), "{readyz}");
}

fn names_of(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// Every object kubeadm init creates, with kubeadm's names and contents.
fn check_cluster_objects(w: &World, join: &Value) {
    let token = join["token"].as_str().unwrap();
    let (id, _) = token.split_once('.').unwrap();
    // Config uploaded.
    let kc = w.get("configmap", Some("kube-system"), "kubeadm-config");
    let cc = kc["data"]["ClusterConfiguration"].as_str().unwrap();
    assert!(cc.contains("kind: ClusterConfiguration"), "{cc}");
    assert!(cc.contains("podSubnet: 10.244.0.0/16"), "{cc}");
    let kl = w.get("configmap", Some("kube-system"), "kubelet-config");
    assert!(
        kl["data"]["kubelet"]
            .as_str()
            .unwrap()
            .contains("kind: KubeletConfiguration")
    );
    for (kind, name) in [
        ("role", "kubeadm:nodes-kubeadm-config"),
        ("rolebinding", "kubeadm:nodes-kubeadm-config"),
        ("role", "kubeadm:kubelet-config"),
        ("rolebinding", "kubeadm:kubelet-config"),
        ("role", "kube-proxy"),
        ("rolebinding", "kube-proxy"),
        ("configmap", "coredns"),
        ("configmap", "kube-proxy"),
        ("serviceaccount", "coredns"),
        ("serviceaccount", "kube-proxy"),
        ("service", "kube-dns"),
        ("deployment", "coredns"),
        ("daemonset", "kube-proxy"),
    ] {
        w.get(kind, Some("kube-system"), name);
    }
    for (kind, name) in [
        ("clusterrolebinding", "kubeadm:cluster-admins"),
        ("clusterrolebinding", "kubeadm:kubelet-bootstrap"),
        ("clusterrolebinding", "kubeadm:node-autoapprove-bootstrap"),
        (
            "clusterrolebinding",
            "kubeadm:node-autoapprove-certificate-rotation",
        ),
        ("clusterrole", "kubeadm:get-nodes"),
        ("clusterrolebinding", "kubeadm:get-nodes"),
        ("clusterrolebinding", "kubeadm:node-proxier"),
        ("clusterrole", "system:coredns"),
        ("clusterrolebinding", "system:coredns"),
    ] {
        w.get(kind, None, name);
    }
    let crb = w.get("clusterrolebinding", None, "kubeadm:cluster-admins");
    assert_eq!(crb["roleRef"]["name"], "cluster-admin");
    assert_eq!(crb["subjects"][0]["kind"], "Group");
    assert_eq!(crb["subjects"][0]["name"], "kubeadm:cluster-admins");
    let crb = w.get(
        "clusterrolebinding",
        None,
        "kubeadm:node-autoapprove-bootstrap",
    );
    assert_eq!(
        crb["roleRef"]["name"],
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
    );
    let crb = w.get("clusterrolebinding", None, "kubeadm:kubelet-bootstrap");
    assert_eq!(crb["roleRef"]["name"], "system:node-bootstrapper");
    // The node: registered by the runner with kubelet.conf, then marked.
    let node = w.get("node", None, NODE);
    let labels = &node["metadata"]["labels"];
    assert_eq!(labels["node-role.kubernetes.io/control-plane"], "");
    assert_eq!(
        labels["node.kubernetes.io/exclude-from-external-load-balancers"],
        ""
    );
    let taints = node["spec"]["taints"].as_array().unwrap();
    assert!(
        taints
            .iter()
            .any(|t| t["key"] == "node-role.kubernetes.io/control-plane"
                && t["effect"] == "NoSchedule"),
        "{taints:?}"
    );
    // The bootstrap token.
    let s = w.get(
        "secret",
        Some("kube-system"),
        &format!("bootstrap-token-{id}"),
    );
    assert_eq!(s["type"], "bootstrap.kubernetes.io/token");
    for k in [
        "token-id",
        "token-secret",
        "usage-bootstrap-authentication",
        "usage-bootstrap-signing",
        "auth-extra-groups",
        "expiration",
    ] {
        assert!(s["data"].get(k).is_some(), "secret lacks {k}: {s}");
    }
    // cluster-info, signed by the real controller-manager's bootstrap signer.
    let jws_key = format!("jws-kubeconfig-{id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let ci = loop {
        let ci = w.get("configmap", Some("kube-public"), "cluster-info");
        if ci["data"].get(&jws_key).is_some() || Instant::now() > deadline {
            break ci;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(ci["data"].get(&jws_key).is_some(), "not signed: {ci}");
    let kubeconfig = ci["data"]["kubeconfig"].as_str().unwrap();
    assert!(
        kubeconfig.contains(&format!("server: https://{CP_IP}:6443")),
        "{kubeconfig}"
    );
    for (kind, name) in [
        ("role", "kubeadm:bootstrap-signer-clusterinfo"),
        ("rolebinding", "kubeadm:bootstrap-signer-clusterinfo"),
    ] {
        w.get(kind, Some("kube-public"), name);
    }
    // The addons, accepted by the real validation.
    let svc = w.get("service", Some("kube-system"), "kube-dns");
    assert_eq!(svc["spec"]["clusterIP"], "10.96.0.10");
    let ds = w.get("daemonset", Some("kube-system"), "kube-proxy");
    assert!(
        ds["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .contains("kube-proxy:v1.37.2")
    );
    let cms = w.kubectl(&["get", "configmaps", "-n", "kube-system", "-o", "json"]);
    let cms = names_of(&serde_json::from_str(&cms).unwrap());
    for n in ["coredns", "kube-proxy", "kubeadm-config", "kubelet-config"] {
        assert!(cms.contains(&n.to_string()), "{cms:?}");
    }
}

/// Who may do what: the bootstrap token, anonymous, admin.conf and super-admin.conf.
fn check_access(w: &World, join: &Value) {
    let token = join["token"].as_str().unwrap();
    let (id, _) = token.split_once('.').unwrap();
    let admin = w.cp_root().join("etc/kubernetes/admin.conf");
    let can = |args: &[&str]| {
        let user = format!("--as=system:bootstrap:{id}");
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        all.extend([
            user.as_str(),
            "--as-group=system:bootstrappers:kubeadm:default-node-token",
        ]);
        let (_, out, _) = w.kubectl_with(&admin, &all);
        out.trim().to_string()
    };
    assert_eq!(can(&["create", "certificatesigningrequests"]), "yes");
    assert!(can(&["get", "secrets", "-n", "kube-system"]).starts_with("no"));
    assert!(can(&["get", "secrets"]).starts_with("no"));
    // Anonymous (no credentials at all; curl, as kubectl would prompt for some): cluster-info
    // only.
    let ca = w.cp_root().join("etc/kubernetes/pki/ca.crt");
    let anon = |path: &str| -> (String, String) {
        let url = format!("https://{CP_IP}:6443{path}");
        let (rc, out, err) = w.run_in(
            &w.cp_ns,
            Path::new("curl"),
            &[
                "-sS",
                "--max-time",
                "20",
                "--cacert",
                ca.to_str().unwrap(),
                "-w",
                "\n%{http_code}",
                &url,
            ],
        );
        assert_eq!(rc, 0, "curl {url}: {err}");
        let (body, code) = out.rsplit_once('\n').unwrap();
        (code.to_string(), body.to_string())
    };
    let (code, body) = anon("/api/v1/namespaces/kube-public/configmaps/cluster-info");
    assert_eq!(code, "200", "anonymous cluster-info: {body}");
    assert!(body.contains("jws-kubeconfig-"), "{body}");
    for path in [
        "/api/v1/namespaces/kube-public/configmaps",
        "/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
        "/api/v1/namespaces/kube-system/secrets",
        "/api/v1/nodes",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/apis/certificates.k8s.io/v1/certificatesigningrequests",
    ] {
        let (code, body) = anon(path);
        assert_eq!(code, "403", "anonymous may read {path}: {body}");
        assert!(body.contains("system:anonymous"), "{path}: {body}");
    }
    // Identities of the kubeconfig files.
    let whoami = |file: &str| -> Value {
        let p = w.cp_root().join("etc/kubernetes").join(file);
        let (rc, out, err) = w.kubectl_with(&p, &["auth", "whoami", "-o", "json"]);
        assert_eq!(rc, 0, "{file}: {err}");
        serde_json::from_str(&out).unwrap()
    };
    let groups = |v: &Value| -> Vec<String> {
        v["status"]["userInfo"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_string())
            .collect()
    };
    let a = whoami("admin.conf");
    assert_eq!(a["status"]["userInfo"]["username"], "kubernetes-admin");
    assert!(groups(&a).contains(&"kubeadm:cluster-admins".into()), "{a}");
    assert!(!groups(&a).contains(&"system:masters".into()), "{a}");
    let s = whoami("super-admin.conf");
    assert_eq!(
        s["status"]["userInfo"]["username"],
        "kubernetes-super-admin"
    );
    assert!(groups(&s).contains(&"system:masters".into()), "{s}");
    let k = whoami("kubelet.conf");
    assert_eq!(
        k["status"]["userInfo"]["username"],
        format!("system:node:{NODE}")
    );
    assert!(groups(&k).contains(&"system:nodes".into()), "{k}");
    // admin.conf is cluster-admin through kubeadm:cluster-admins.
    let (_, out, _) = w.kubectl_with(&admin, &["auth", "can-i", "*", "*"]);
    assert_eq!(out.trim(), "yes");
}

/// The worker joins with the printed command; the test plays the kubelet's TLS bootstrap;
/// the CSR is approved and signed by the real controller-manager.
fn join_worker(w: &World, join: &Value) {
    let endpoint = join["endpoint"].as_str().unwrap();
    let token = join["token"].as_str().unwrap();
    let pin = join["ca_cert_hashes"][0].as_str().unwrap();
    let wroot = w.path("worker");
    std::fs::create_dir_all(&wroot).unwrap();
    let mut run = Run::start(
        &w.worker_ns,
        std::slice::from_ref(&w.bins),
        &[
            "--root",
            wroot.to_str().unwrap(),
            "join",
            endpoint,
            "--token",
            token,
            "--discovery-token-ca-cert-hash",
            pin,
            "--non-interactive",
            "--output",
            "json",
            "--ignore-preflight-errors=all",
            "--node-name",
            WORKER,
        ],
        w.path("join.stderr"),
    );
    let t0 = Instant::now();
    // The kubelet's part: wait for bootstrap-kubelet.conf.
    let boot = wroot.join("etc/kubernetes/bootstrap-kubelet.conf");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !boot.exists() {
        assert!(
            Instant::now() < deadline,
            "no bootstrap-kubelet.conf\n{}",
            run.output()
        );
        assert!(
            run.child.0.as_mut().unwrap().try_wait().unwrap().is_none(),
            "join ended early\n{}",
            run.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let discovered = t0.elapsed();
    let boot_copy = w.path("bootstrap-kubelet.conf");
    std::fs::copy(&boot, &boot_copy).unwrap();
    // A key and CSR as the kubelet makes them (ECDSA P-256, O=system:nodes,
    // CN=system:node:<name>, usages digital signature + client auth).
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, "system:nodes");
    dn.push(rcgen::DnType::CommonName, format!("system:node:{WORKER}"));
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(csr.as_bytes());
    let obj = serde_json::json!({
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "csr-"},
        "spec": {
            "request": b64,
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"],
        }
    });
    let csr_file = w.path("csr.json");
    std::fs::write(&csr_file, serde_json::to_vec(&obj).unwrap()).unwrap();
    let kubectl = w.bins.join("kubectl");
    let bk = boot_copy.to_str().unwrap();
    let (rc, out, err) = w.run_in(
        &w.worker_ns,
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
    assert_eq!(rc, 0, "create CSR with the bootstrap token: {err}");
    let csr_name = out
        .trim()
        .trim_start_matches("certificatesigningrequest.certificates.k8s.io/")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let (rc, out, err) = w.run_in(
            &w.worker_ns,
            &kubectl,
            &["--kubeconfig", bk, "get", "csr", &csr_name, "-o", "json"],
        );
        assert_eq!(rc, 0, "get CSR: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        if v["status"]["certificate"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
        {
            break v["status"].clone();
        }
        assert!(Instant::now() < deadline, "CSR not signed: {v}");
        std::thread::sleep(Duration::from_millis(250));
    };
    let signed = t0.elapsed();
    let cond = &status["conditions"][0];
    assert_eq!(cond["type"], "Approved", "{status}");
    assert_eq!(cond["reason"], "AutoApproved", "{status}");
    let cert = base64::engine::general_purpose::STANDARD
        .decode(status["certificate"].as_str().unwrap())
        .unwrap();
    // The kubelet keeps cert+key in kubelet-client-current.pem and points kubelet.conf at it.
    let pem_real = "/var/lib/kubelet/pki/kubelet-client-current.pem";
    let pem_path = wroot.join(pem_real.trim_start_matches('/'));
    std::fs::create_dir_all(pem_path.parent().unwrap()).unwrap();
    let mut pem = cert.clone();
    pem.extend_from_slice(key.serialize_pem().as_bytes());
    std::fs::write(&pem_path, &pem).unwrap();
    let bv: serde_yaml::Value =
        serde_yaml::from_slice(&std::fs::read(&boot_copy).unwrap()).unwrap();
    let server = bv["clusters"][0]["cluster"]["server"].as_str().unwrap();
    let ca_data = bv["clusters"][0]["cluster"]["certificate-authority-data"]
        .as_str()
        .unwrap();
    let kubelet_conf = |pem: &str| {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca_data}\n    server: {server}\n  name: default-cluster\ncontexts:\n- context:\n    cluster: default-cluster\n    namespace: default\n    user: default-auth\n  name: default-context\ncurrent-context: default-context\npreferences: {{}}\nusers:\n- name: default-auth\n  user:\n    client-certificate: {pem}\n    client-key: {pem}\n"
        )
    };
    let local_conf = w.path("worker-kubelet.conf");
    std::fs::write(&local_conf, kubelet_conf(pem_path.to_str().unwrap())).unwrap();
    std::fs::write(
        wroot.join("etc/kubernetes/kubelet.conf"),
        kubelet_conf(pem_real),
    )
    .unwrap();
    // It registers its Node with that identity.
    let node = serde_json::json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": WORKER, "labels": {"kubernetes.io/hostname": WORKER, "kubernetes.io/os": "linux"}}});
    let node_file = w.path("worker-node.json");
    std::fs::write(&node_file, serde_json::to_vec(&node).unwrap()).unwrap();
    let lc = local_conf.to_str().unwrap();
    let (rc, _, err) = w.run_in(
        &w.worker_ns,
        &kubectl,
        &[
            "--kubeconfig",
            lc,
            "create",
            "-f",
            node_file.to_str().unwrap(),
        ],
    );
    assert_eq!(rc, 0, "register the worker Node: {err}");
    let (rc, out, err) = w.run_in(
        &w.worker_ns,
        &kubectl,
        &["--kubeconfig", lc, "auth", "whoami", "-o", "json"],
    );
    assert_eq!(rc, 0, "{err}");
    let who: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        who["status"]["userInfo"]["username"],
        format!("system:node:{WORKER}")
    );
    assert!(
        who["status"]["userInfo"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "system:nodes")
    );
    let rc = run.wait(Duration::from_secs(120));
    assert_eq!(rc, Some(0), "join\n{}", run.output());
    eprintln!(
        "== join: discovery + kubelet-start {:.3}s, CSR signed at {:.3}s, join done at {:.3}s ==",
        discovered.as_secs_f64(),
        signed.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    assert!(!boot.exists(), "bootstrap-kubelet.conf not removed");
    let out = run.output();
    assert!(
        out.contains("matches the pinned") || out.contains("pinned"),
        "{out}"
    );
    // The CSR's requester was the bootstrap token, the signer the cluster CA.
    let csr = w.get("csr", None, &csr_name);
    assert_eq!(
        csr["spec"]["username"],
        format!("system:bootstrap:{}", token.split('.').next().unwrap())
    );
    assert!(w.get("node", None, WORKER)["metadata"]["name"] == WORKER);
}

/// The real kubeadm's join discovery against our control plane: it accepts the cluster-info
/// signature and the CA pin.
fn kubeadm_discovery(w: &World, join: &Value) {
    let endpoint = join["endpoint"].as_str().unwrap();
    let token = join["token"].as_str().unwrap();
    let pin = join["ca_cert_hashes"][0].as_str().unwrap();
    let (rc, out, err) = w.run_in(
        &w.worker_ns,
        &w.bins.join("kubeadm"),
        &[
            "join",
            endpoint,
            "--token",
            token,
            "--discovery-token-ca-cert-hash",
            pin,
            "--dry-run",
            "--ignore-preflight-errors=all",
            "--node-name",
            "worker-kubeadm",
            "--cri-socket",
            "unix:///var/run/containerd/containerd.sock",
            "-v=5",
        ],
    );
    let all = format!("{out}\n{err}");
    assert!(
        all.contains("Cluster info signature and contents are valid and TLS certificate validates against pinned roots"),
        "kubeadm join --dry-run (rc {rc}):\n{all}"
    );
    eprintln!("== kubeadm join --dry-run exit {rc} ==");
}

/// The bootstrap token of the kubeadm-made control plane.
const KUBEADM_TOKEN: &str = "kb7x2q.0123456789abcdef";

/// The sha256 pin of a CA certificate's public key, computed by openssl (not by kubestrap):
/// `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256`.
fn openssl_pin(ca: &Path) -> String {
    let x509 = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(ca)
        .output()
        .expect("openssl");
    assert!(x509.status.success(), "openssl x509 on {}", ca.display());
    let mut pkey = Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "der"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    use std::io::Write;
    pkey.stdin.take().unwrap().write_all(&x509.stdout).unwrap();
    let der = pkey.wait_with_output().unwrap();
    assert!(der.status.success() && !der.stdout.is_empty());
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(&der.stdout)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The other direction of the cross-check: the control plane's certificates, kubeconfigs,
/// static pod manifests, uploaded config, bootstrap token and cluster-info are all made by the
/// real `kubeadm init phase ...` commands; the static pod runner runs kubeadm's manifests; and
/// `kubestrap join --dry-run` in a second namespace discovers it with the token and openssl's
/// CA pin, and refuses a wrong pin; then a real `kubestrap join` completes, its kubelet's CSR
/// approved and signed by the real controller-manager under kubeadm's RBAC.
#[test]
fn kubestrap_join_discovery_against_a_kubeadm_made_control_plane() {
    let Some(bins) = bins() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new(bins.clone(), "e");
    let dir_path = w.dir.path().to_path_buf();
    let names = w.nets.names.clone();
    {
        let t0 = Instant::now();
        let root = w.cp_root();
        let kdir = root.join("etc/kubernetes");
        std::fs::create_dir_all(&kdir).unwrap();
        let pki = kdir.join("pki");
        let cfg = w.path("kubeadm-init.yaml");
        std::fs::write(
            &cfg,
            format!(
                "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: {KUBEADM_TOKEN}\n  ttl: 1h\nlocalAPIEndpoint:\n  advertiseAddress: {CP_IP}\n  bindPort: 6443\nnodeRegistration:\n  name: {NODE}\n  criSocket: unix:///var/run/containerd/containerd.sock\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {}\ncertificatesDir: {}\netcd:\n  local:\n    dataDir: {}\nnetworking:\n  podSubnet: 10.244.0.0/16\n",
                support::k8s::default_version(),
                pki.display(),
                root.join("var/lib/etcd").display()
            ),
        )
        .unwrap();
        let kubeadm = bins.join("kubeadm");
        let cfg_s = cfg.to_str().unwrap();
        let kubeadm_in_cp = |args: &[&str]| {
            let (rc, out, err) = w.run_in(&w.cp_ns, &kubeadm, args);
            assert_eq!(rc, 0, "kubeadm {}:\n{out}\n{err}", args.join(" "));
            out
        };
        kubeadm_in_cp(&["init", "phase", "certs", "all", "--config", cfg_s]);
        kubeadm_in_cp(&[
            "init",
            "phase",
            "kubeconfig",
            "all",
            "--config",
            cfg_s,
            "--kubeconfig-dir",
            kdir.to_str().unwrap(),
        ]);
        // kubeadm writes static pod manifests only to /etc/kubernetes/manifests; its dry run
        // writes them to KUBEADM_INIT_DRYRUN_DIR instead.
        let dry = w.path("kubeadm-dryrun");
        std::fs::create_dir_all(&dry).unwrap();
        for phase in [&["etcd", "local"][..], &["control-plane", "all"][..]] {
            let mut args = vec!["init", "phase"];
            args.extend_from_slice(phase);
            args.extend(["--config", cfg_s, "--dry-run"]);
            let mut cmd = Command::new(&kubeadm);
            cmd.args(&args)
                .stdin(Stdio::null())
                .env("KUBEADM_INIT_DRYRUN_DIR", &dry);
            netns::command_in(&mut cmd, &w.cp_ns);
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "kubeadm {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let manifests = kdir.join("manifests");
        std::fs::create_dir_all(&manifests).unwrap();
        let made = w.path("kubeadm-manifests");
        std::fs::create_dir_all(&made).unwrap();
        for pod in [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
        ] {
            let f = format!("{pod}.yaml");
            assert!(dry.join(&f).is_file(), "kubeadm wrote no {f}");
            // Written whole next to the folder, then renamed in, so the runner never reads half.
            std::fs::copy(dry.join(&f), made.join(&f)).unwrap();
        }
        for pod in std::fs::read_dir(&made).unwrap().flatten() {
            std::fs::rename(pod.path(), manifests.join(pod.file_name())).unwrap();
        }
        let made_at = t0.elapsed();
        let mut runner = StaticPodRunner::start(RunnerOptions {
            root: root.clone(),
            bins: bins.clone(),
            netns: Some(w.cp_ns.clone()),
            work: w.path("runner"),
            skip: vec![],
            register_node: None,
            kubelet_healthz: false,
        });
        // The runner ran kubeadm's command lines, its certificate paths kept as they are.
        let deadline = Instant::now() + Duration::from_secs(20);
        while runner.pods().len() < 4 {
            assert!(Instant::now() < deadline, "{}", runner.log_tails(20));
            std::thread::sleep(Duration::from_millis(100));
        }
        let api = runner.argv("kube-apiserver").unwrap();
        assert!(
            api.contains(&format!(
                "--client-ca-file={}",
                pki.join("ca.crt").display()
            )),
            "{api:?}"
        );
        assert!(
            api.contains(&format!("--advertise-address={CP_IP}")),
            "{api:?}"
        );
        // super-admin.conf (system:masters): kubeadm's admin.conf is bound to
        // kubeadm:cluster-admins only by `kubeadm init` itself, not by a phase.
        let sadmin = kdir.join("super-admin.conf");
        let sadmin_s = sadmin.to_str().unwrap();
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let (rc, out, _) = w.kubectl_with(&sadmin, &["get", "--raw=/readyz"]);
            if rc == 0 && out.trim() == "ok" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "kubeadm's control plane not ready\n{}",
                runner.log_tails(30)
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        let ready_at = t0.elapsed();
        kubeadm_in_cp(&[
            "init",
            "phase",
            "upload-config",
            "all",
            "--config",
            cfg_s,
            "--kubeconfig",
            sadmin_s,
        ]);
        let out = kubeadm_in_cp(&[
            "init",
            "phase",
            "bootstrap-token",
            "--config",
            cfg_s,
            "--kubeconfig",
            sadmin_s,
        ]);
        assert!(out.contains(KUBEADM_TOKEN), "{out}");
        // The real controller-manager's bootstrap signer signs cluster-info for the token.
        let token_id = KUBEADM_TOKEN.split('.').next().unwrap();
        let jws_key = format!("jws-kubeconfig-{token_id}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (rc, out, err) = w.kubectl_with(
                &sadmin,
                &[
                    "get",
                    "configmap",
                    "cluster-info",
                    "-n",
                    "kube-public",
                    "-o",
                    "json",
                ],
            );
            assert_eq!(rc, 0, "{err}");
            let cm: Value = serde_json::from_str(&out).unwrap();
            if cm["data"][&jws_key].is_string() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "cluster-info never signed: {cm}\n{}",
                runner.log_tails(30)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        let signed_at = t0.elapsed();
        let pin = openssl_pin(&pki.join("ca.crt"));
        let endpoint = format!("{CP_IP}:6443");
        let join = |pin: &str, tag: &str| {
            let wroot = w.path(&format!("worker-{tag}"));
            std::fs::create_dir_all(&wroot).unwrap();
            let t = Instant::now();
            let (rc, out, err) = w.run_in(
                &w.worker_ns,
                Path::new(BIN),
                &[
                    "--root",
                    wroot.to_str().unwrap(),
                    "join",
                    &endpoint,
                    "--token",
                    KUBEADM_TOKEN,
                    "--discovery-token-ca-cert-hash",
                    pin,
                    "--dry-run",
                    "--non-interactive",
                    "--ignore-preflight-errors",
                    "all",
                    "--node-name",
                    WORKER,
                ],
            );
            (rc, out, err, wroot, t.elapsed())
        };
        let (rc, out, err, wroot, took) = join(&pin, "ok");
        assert_eq!(rc, 0, "kubestrap join --dry-run:\n{out}\n{err}");
        assert!(
            out.contains(&format!(
                "[discovery] Cluster CA CN=kubernetes matches the pinned hash {pin}"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "[dryrun] Discovery succeeded against https://{endpoint}"
            )),
            "{out}"
        );
        assert!(out.contains(&pin), "{out}");
        // The CA it wrote is kubeadm's, and the bootstrap kubeconfig names the token.
        assert_eq!(
            std::fs::read(wroot.join("etc/kubernetes/pki/ca.crt")).unwrap(),
            std::fs::read(pki.join("ca.crt")).unwrap()
        );
        let boot =
            std::fs::read_to_string(wroot.join("etc/kubernetes/bootstrap-kubelet.conf")).unwrap();
        assert!(boot.contains(&format!("token: {KUBEADM_TOKEN}")), "{boot}");
        assert!(
            boot.contains(&format!("server: https://{endpoint}")),
            "{boot}"
        );
        // A wrong pin (last hex digit changed) is refused, naming both hashes.
        let last = pin.chars().last().unwrap();
        let wrong = format!(
            "{}{}",
            &pin[..pin.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        let (rc, out2, err2, _, _) = join(&wrong, "bad");
        assert_eq!(rc, 1, "a wrong pin was accepted:\n{out2}\n{err2}");
        assert!(
            err2.contains("the cluster CA does not match the pinned hash"),
            "{out2}\n{err2}"
        );
        assert!(
            err2.contains(&wrong) && err2.contains(&pin),
            "{out2}\n{err2}"
        );
        // A real join, the test playing the kubelet's TLS bootstrap as above. Its checks use
        // kubeadm's admin.conf, so bind kubeadm:cluster-admins as `kubeadm init` itself does.
        let (rc, _, err) = w.kubectl_with(
            &sadmin,
            &[
                "create",
                "clusterrolebinding",
                "kubeadm:cluster-admins",
                "--clusterrole=cluster-admin",
                "--group=kubeadm:cluster-admins",
            ],
        );
        assert_eq!(rc, 0, "{err}");
        let t = Instant::now();
        join_worker(
            &w,
            &serde_json::json!({"endpoint": endpoint, "token": KUBEADM_TOKEN, "ca_cert_hashes": [pin]}),
        );
        let joined = t.elapsed();
        eprintln!(
            "== kubeadm made files {:.3}s, ready at {:.3}s, cluster-info signed at {:.3}s, kubestrap join --dry-run {:.3}s, real join {:.3}s ==",
            made_at.as_secs_f64(),
            ready_at.as_secs_f64(),
            signed_at.as_secs_f64(),
            took.as_secs_f64(),
            joined.as_secs_f64()
        );
        for p in runner.pods() {
            assert_eq!(runner.exits(&p), 0, "{p} exited\n{}", runner.log_tails(30));
        }
        runner.stop();
        assert!(runner.pids().is_empty());
    }
    drop(w);
    assert_nothing_left(&dir_path, &names);
}

/// The init's error event (`phase_failed`) and when it came.
fn failure(run: &Run) -> Option<(Duration, String, String)> {
    run.events()
        .into_iter()
        .find(|(_, v)| v["event"] == "phase_failed")
        .map(|(t, v)| {
            (
                t,
                v["error"].as_str().unwrap_or("").to_string(),
                v["hint"].as_str().unwrap_or("").to_string(),
            )
        })
}

/// A kube-apiserver that exits at start because the binary rejects an extraArgs value
/// (kubestrap's validation checks names, not values): wait-control-plane names the
/// component, the flag and its last log lines long before the 4-minute timeout.
#[test]
fn apiserver_that_rejects_a_flag_is_named_early() {
    let Some(bins) = bins() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new(bins, "b");
    let dir_path = w.dir.path().to_path_buf();
    let names = w.nets.names.clone();
    {
        let cfg = w.config(
            "",
            "apiServer:\n  extraArgs:\n  - name: log-text-info-buffer-size\n    value: \"lots\"\n",
        );
        let runner = w.runner(&[]);
        let mut run = w.init(&runner, &cfg);
        let rc = run.wait(Duration::from_secs(200));
        let ctx = || check_failed_with("init", &run, &runner);
        assert_eq!(rc, Some(1), "{}", ctx());
        let (at, error, hint) = failure(&run).unwrap_or_else(|| panic!("{}", ctx()));
        eprintln!(
            "== failed after {:.3}s ==\n{error}\nhint: {hint}",
            at.as_secs_f64()
        );
        assert!(error.contains("kube-apiserver"), "{error}");
        assert!(error.contains("--log-text-info-buffer-size"), "{error}");
        assert!(error.contains("invalid argument \"lots\""), "{error}");
        assert!(at < Duration::from_secs(60), "took {at:?}: {error}");
        assert!(runner.exits("kube-apiserver") >= 1);
    }
    drop(w);
    assert_nothing_left(&dir_path, &names);
}

/// etcd never starts: the apiserver cannot reach it, and the error says so.
#[test]
fn etcd_not_reachable_is_named() {
    let Some(bins) = bins() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new(bins, "c");
    let dir_path = w.dir.path().to_path_buf();
    let names = w.nets.names.clone();
    {
        let cfg = w.config("timeouts:\n  controlPlaneComponentHealthCheck: 40s\n", "");
        let runner = w.runner(&["etcd"]);
        let mut run = w.init(&runner, &cfg);
        let rc = run.wait(Duration::from_secs(200));
        let ctx = || check_failed_with("init", &run, &runner);
        assert_eq!(rc, Some(1), "{}", ctx());
        let (at, error, hint) = failure(&run).unwrap_or_else(|| panic!("{}", ctx()));
        eprintln!(
            "== failed after {:.3}s ==\n{error}\nhint: {hint}",
            at.as_secs_f64()
        );
        assert!(error.contains("kube-apiserver"), "{error}");
        assert!(error.contains("etcd"), "{error}");
        assert!(error.contains("127.0.0.1:2379"), "{error}");
    }
    drop(w);
    assert_nothing_left(&dir_path, &names);
}

/// Ctrl-C while wait-control-plane waits (etcd never starts) ends kubestrap within 2 s,
/// reporting the interrupted phase.
#[test]
fn ctrl_c_during_the_wait_ends_within_two_seconds() {
    let Some(bins) = bins() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new(bins, "d");
    let dir_path = w.dir.path().to_path_buf();
    let names = w.nets.names.clone();
    {
        let cfg = w.config("", "");
        let runner = w.runner(&["etcd"]);
        let mut run = w.init(&runner, &cfg);
        let waiting = run.wait_event(Duration::from_secs(60), |v| {
            v["event"] == "probe" && v["component"] == "kube-apiserver"
        });
        assert!(waiting, "{}", check_failed_with("no probe", &run, &runner));
        std::thread::sleep(Duration::from_secs(3));
        let t = Instant::now();
        // SAFETY: kill on the PID of our own child, not yet reaped.
        unsafe { libc::kill(run.pid(), libc::SIGINT) };
        let rc = run.wait(Duration::from_secs(10));
        let took = t.elapsed();
        eprintln!("== Ctrl-C → exit {rc:?} in {:.3}s ==", took.as_secs_f64());
        assert!(rc.is_some(), "still running 10 s after SIGINT");
        assert!(took < Duration::from_secs(2), "took {took:?}");
        let fin = run
            .events()
            .into_iter()
            .find(|(_, v)| v["event"] == "finished")
            .map(|(_, v)| v);
        let fin = fin.unwrap_or_else(|| panic!("{}", run.output()));
        assert_eq!(fin["outcome"]["status"], "cancelled", "{fin}");
    }
    drop(w);
    assert_nothing_left(&dir_path, &names);
}

/// Day two on the real control plane: `certs check-expiration` reads the configuration from
/// the cluster's kubeadm-config ConfigMap; `kubeconfig user` authenticates as its user with
/// the real kube-apiserver and is refused until RBAC grants access; after `certs renew all`
/// the renewed admin.conf still works; `reset` leaves the only etcd member in place (kubeadm's
/// rule) and empties its data directory and everything else kubeadm's reset deletes.
#[test]
fn day_two_on_the_real_control_plane() {
    let Some(bins) = bins() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new(bins.clone(), "r");
    let dir_path = w.dir.path().to_path_buf();
    let names = w.nets.names.clone();
    {
        let cfg = w.config("", "");
        let cfg_s = cfg.to_str().unwrap();
        let mut runner = w.runner(&[]);
        let mut run = w.init(&runner, &cfg);
        let rc = run.wait(Duration::from_secs(400));
        assert_eq!(rc, Some(0), "{}", check_failed_with("init", &run, &runner));
        let root = w.cp_root();
        let r = root.to_str().unwrap();
        let path = format!(
            "{}:{}",
            bins.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let ks = |args: &[&str]| -> (i32, String, String) {
            let mut cmd = Command::new(BIN);
            cmd.args(args).stdin(Stdio::null()).env("PATH", &path);
            netns::command_in(&mut cmd, &w.cp_ns);
            let o = cmd.output().unwrap();
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        };

        let (rc, out, err) = ks(&["certs", "check-expiration", "--root", r]);
        assert_eq!(rc, 0, "{out}{err}");
        assert!(
            out.starts_with("[check-expiration] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...\n"),
            "{out}"
        );
        assert!(
            out.contains("\napiserver ") && out.contains("\netcd-server "),
            "{out}"
        );

        let (rc, kc, err) = ks(&[
            "kubeconfig",
            "user",
            "--client-name",
            "alice",
            "--root",
            r,
            "--config",
            cfg_s,
        ]);
        assert_eq!(rc, 0, "{err}");
        let alice = w.path("alice.conf");
        std::fs::write(&alice, kc).unwrap();
        let (rc, who, err) = w.kubectl_with(
            &alice,
            &[
                "auth",
                "whoami",
                "-o",
                "jsonpath={.status.userInfo.username}",
            ],
        );
        assert_eq!((rc, who.as_str()), (0, "alice"), "{err}");
        let (rc, _, err) = w.kubectl_with(&alice, &["get", "pods", "-n", "kube-system"]);
        assert_ne!(rc, 0);
        assert!(err.contains("forbidden"), "{err}");
        w.kubectl(&[
            "create",
            "clusterrolebinding",
            "alice-view",
            "--clusterrole=view",
            "--user=alice",
        ]);
        let t = Instant::now();
        loop {
            let (rc, _, err) = w.kubectl_with(&alice, &["get", "pods", "-n", "kube-system"]);
            if rc == 0 {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "{err}");
            std::thread::sleep(Duration::from_millis(500));
        }

        let admin = root.join("etc/kubernetes/admin.conf");
        let before = std::fs::read(&admin).unwrap();
        let (rc, out, err) = ks(&["certs", "renew", "all", "--root", r, "--config", cfg_s]);
        assert_eq!(rc, 0, "{out}{err}");
        assert!(out.contains("Done renewing certificates."), "{out}");
        assert_ne!(std::fs::read(&admin).unwrap(), before);
        let nodes = w.kubectl(&["get", "nodes", "-o", "name"]);
        assert!(nodes.contains(&format!("node/{NODE}")), "{nodes}");
        // Restart kube-apiserver as kubeadm's notice asks (the runner, like the kubelet,
        // starts it again after the back-off): it then serves the renewed apiserver.crt,
        // and kubectl with the renewed admin.conf works against it.
        let api_pid = runner
            .pids()
            .into_iter()
            .find(|p| {
                std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                    c.split(|b| *b == 0)
                        .next()
                        .is_some_and(|a0| a0.ends_with(b"kube-apiserver"))
                })
            })
            .expect("the kube-apiserver process");
        // SAFETY: kill on a PID of the runner's child, which the runner reaps.
        unsafe { libc::kill(api_pid as i32, libc::SIGTERM) };
        let t = Instant::now();
        while runner.exits("kube-apiserver") == 0 {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "kube-apiserver did not exit"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let t = Instant::now();
        loop {
            let (rc, _, err) = w.kubectl_with(&admin, &["get", "nodes", "-o", "name"]);
            if rc == 0 {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "kubectl with the renewed admin.conf after the restart: {err}\n{}",
                runner.log_tails(20)
            );
            std::thread::sleep(Duration::from_secs(1));
        }
        let serial = |cmd: &str| -> String {
            let (rc, out, err) = w.run_in(&w.cp_ns, Path::new("sh"), &["-c", cmd]);
            assert_eq!(rc, 0, "{cmd}: {err}");
            out.trim().to_string()
        };
        let served = serial(&format!(
            "openssl s_client -connect {CP_IP}:6443 </dev/null 2>/dev/null | openssl x509 -noout -serial"
        ));
        let on_disk = serial(&format!(
            "openssl x509 -noout -serial -in {}",
            root.join("etc/kubernetes/pki/apiserver.crt").display()
        ));
        assert_eq!(
            served, on_disk,
            "the restarted apiserver serves the renewed certificate"
        );

        let (rc, out, err) = ks(&["reset", "-f", "--root", r]);
        assert_eq!(rc, 0, "{out}{err}");
        assert!(!err.contains("Failed to remove etcd member"), "{err}");
        assert!(
            out.contains("[reset] Deleted contents of the etcd data directory: /var/lib/etcd\n"),
            "{out}"
        );
        assert!(!admin.exists());
        assert_eq!(
            std::fs::read_dir(root.join("etc/kubernetes/pki"))
                .unwrap()
                .count(),
            0
        );
        runner.stop();
    }
    drop(w);
    assert_nothing_left(&dir_path, &names);
}

/// `reset` on a stacked etcd member of a two-member cluster removes this node's member (the
/// one whose first peer URL is `https://<advertise>:2380`) with the real etcd and etcdctl:
/// a second etcd member runs in the control plane's namespace on a second address.
#[test]
fn reset_removes_this_nodes_member_from_a_two_member_etcd() {
    let Some(bins) = bins() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new(bins.clone(), "s");
    let dir_path = w.dir.path().to_path_buf();
    let names = w.nets.names.clone();
    const CP2_IP: &str = "10.200.0.3";
    {
        let cfg = w.config(
            "",
            &format!(
                "etcd:\n  local:\n    serverCertSANs:\n    - {CP2_IP}\n    peerCertSANs:\n    - {CP2_IP}\n"
            ),
        );
        let mut runner = w.runner(&[]);
        let mut run = w.init(&runner, &cfg);
        let rc = run.wait(Duration::from_secs(400));
        assert_eq!(rc, Some(0), "{}", check_failed_with("init", &run, &runner));
        let root = w.cp_root();
        let pki = root.join("etc/kubernetes/pki/etcd");
        let ifname = format!("kscp{}", w.cp_ns.trim_start_matches("ks-cp-"));
        netns::ip(&[
            "-n",
            &w.cp_ns,
            "addr",
            "add",
            &format!("{CP2_IP}/24"),
            "dev",
            &ifname,
        ]);
        // The second member's certificate (server and peer), signed by the cluster's etcd CA.
        let d = w.path("cp2");
        std::fs::create_dir_all(d.join("data")).unwrap();
        let sh = |script: &str| {
            let o = Command::new("sh").arg("-c").arg(script).output().unwrap();
            assert!(
                o.status.success(),
                "{script}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        sh(&format!(
            "cd {d} && openssl ecparam -name prime256v1 -genkey -noout -out cp2.key \
             && openssl req -new -key cp2.key -subj /CN=cp2 -out cp2.csr \
             && printf 'subjectAltName=IP:{CP2_IP},IP:{CP_IP},IP:127.0.0.1,DNS:cp2\\nextendedKeyUsage=serverAuth,clientAuth\\nkeyUsage=digitalSignature,keyEncipherment\\n' > ext \
             && openssl x509 -req -in cp2.csr -CA {pki}/ca.crt -CAkey {pki}/ca.key -CAcreateserial -days 1 -extfile ext -out cp2.crt",
            d = d.display(),
            pki = pki.display()
        ));
        // Copies: reset empties the PKI folder, the test still talks to etcd afterwards.
        for f in ["ca.crt", "healthcheck-client.crt", "healthcheck-client.key"] {
            std::fs::copy(pki.join(f), d.join(f)).unwrap();
        }
        let ca = d.join("ca.crt");
        let (hc_crt, hc_key) = (
            d.join("healthcheck-client.crt"),
            d.join("healthcheck-client.key"),
        );
        let etcdctl = |endpoint: &str, args: &[&str]| -> (i32, String, String) {
            let mut all = vec![
                "--endpoints",
                endpoint,
                "--cacert",
                ca.to_str().unwrap(),
                "--cert",
                hc_crt.to_str().unwrap(),
                "--key",
                hc_key.to_str().unwrap(),
                "--command-timeout",
                "10s",
            ];
            all.extend_from_slice(args);
            w.run_in(&w.cp_ns, &bins.join("etcdctl"), &all)
        };
        let cp1 = format!("https://{CP_IP}:2379");
        let cp2 = format!("https://{CP2_IP}:2379");
        let (rc, out, err) = etcdctl(
            &cp1,
            &[
                "member",
                "add",
                "cp2",
                &format!("--peer-urls=https://{CP2_IP}:2380"),
            ],
        );
        assert_eq!(rc, 0, "{out}{err}");
        let crt = d.join("cp2.crt");
        let key = d.join("cp2.key");
        let (c, k, a) = (
            crt.to_str().unwrap(),
            key.to_str().unwrap(),
            ca.to_str().unwrap(),
        );
        let mut cmd = Command::new(bins.join("etcd"));
        cmd.args([
            "--name",
            "cp2",
            "--data-dir",
            d.join("data").to_str().unwrap(),
            "--listen-client-urls",
            &cp2,
            "--advertise-client-urls",
            &cp2,
            "--listen-peer-urls",
            &format!("https://{CP2_IP}:2380"),
            "--initial-advertise-peer-urls",
            &format!("https://{CP2_IP}:2380"),
            "--initial-cluster",
            &format!("{NODE}=https://{CP_IP}:2380,cp2=https://{CP2_IP}:2380"),
            "--initial-cluster-state",
            "existing",
            "--cert-file",
            c,
            "--key-file",
            k,
            "--trusted-ca-file",
            a,
            "--client-cert-auth",
            "--peer-cert-file",
            c,
            "--peer-key-file",
            k,
            "--peer-trusted-ca-file",
            a,
            "--peer-client-cert-auth",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(w.path("cp2.log")).unwrap());
        netns::command_in(&mut cmd, &w.cp_ns);
        let _etcd2 = ChildGuard(Some(cmd.spawn().unwrap()));
        let t = Instant::now();
        loop {
            let (rc, out, _) = etcdctl(&cp2, &["endpoint", "health"]);
            if rc == 0 && out.contains("is healthy") {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "the second etcd member did not become healthy\n{}",
                std::fs::read_to_string(w.path("cp2.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        let (_, list, _) = etcdctl(&cp2, &["member", "list"]);
        assert_eq!(list.lines().count(), 2, "{list}");

        let path = format!(
            "{}:{}",
            bins.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(BIN);
        cmd.args(["reset", "-f", "--root", root.to_str().unwrap()])
            .stdin(Stdio::null())
            .env("PATH", &path);
        netns::command_in(&mut cmd, &w.cp_ns);
        let o = cmd.output().unwrap();
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        assert_eq!(o.status.code(), Some(0), "{out}{err}");
        assert!(!err.contains("Failed to remove etcd member"), "{err}");
        assert!(
            out.contains("[reset] Deleted contents of the etcd data directory: /var/lib/etcd\n"),
            "{out}"
        );
        let (rc, list, err) = etcdctl(&cp2, &["member", "list"]);
        assert_eq!(rc, 0, "{err}");
        assert_eq!(list.lines().count(), 1, "{list}");
        assert!(list.contains("cp2") && !list.contains(NODE), "{list}");
        runner.stop();
    }
    drop(w);
    assert_nothing_left(&dir_path, &names);
}
