//! A real node: `kubestrap init` and `kubestrap join` bring up a two-node cluster with the real
//! kubelet, containerd, etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
//! kube-proxy and CoreDNS, each node in a sandbox (tests/support/node.rs) so this machine's
//! own network, files, sysctls and cgroups never change.
//!
//! The images are built locally from scripts/k8s-bins.sh's binaries (scripts/node-images.sh)
//! and imported into each node's containerd; the "pod network add-on" is the test's: a bridge
//! + host-local CNI configuration for each Node's podCIDR and routes between the nodes.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::node::{self, HostSnapshot, Lab};
use support::pty::{ENTER, Pty};

/// One lab at a time: the machine has few cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");
const CP: &str = "ks-cp";
const WORKER: &str = "ks-worker";
/// The test's workload image (Debian's busybox-static), never pulled.
const BUSYBOX: &str = "kubestrap.test/busybox:1";

/// The tools the sandbox needs; scripts/test.sh installs them (Debian packages).
fn require_tools() {
    for (tool, package) in [
        ("containerd", "containerd"),
        ("ctr", "containerd"),
        ("runc", "runc"),
        ("unshare", "util-linux"),
        ("nsenter", "util-linux"),
        ("nft", "nftables"),
        ("xtables-nft-multi", "iptables"),
        ("gcc", "gcc"),
    ] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        assert!(
            found,
            "the real-node test needs {tool} (apt-get install {package}; scripts/test.sh does)"
        );
    }
    for f in [
        "/usr/lib/cni/bridge",
        "/usr/lib/cni/host-local",
        "/bin/busybox",
    ] {
        assert!(
            Path::new(f).exists(),
            "the real-node test needs {f} (containernetworking-plugins, busybox-static; scripts/test.sh installs them)"
        );
    }
}

/// `program args` (bounded by `limit`), inside `n`; returns the output.
fn run_in(n: &node::Node, program: &Path, args: &[&str], path: &str, limit: Duration) -> Output {
    let mut c = n.command(program);
    c.args(args)
        .env("PATH", path)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program:?}: {e}"));
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{program:?} {args:?} did not end within {limit:?}:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Cluster<'a> {
    bins: &'a Path,
    path: String,
}

impl Cluster<'_> {
    /// kubectl with the control plane's admin.conf, run inside `n`.
    fn kubectl(&self, n: &node::Node, args: &[&str]) -> (bool, String) {
        let mut all = vec![
            "--kubeconfig",
            "/etc/kubernetes/admin.conf",
            "--request-timeout=20s",
        ];
        all.extend_from_slice(args);
        let out = run_in(
            n,
            &self.bins.join("kubectl"),
            &all,
            &self.path,
            Duration::from_secs(60),
        );
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn kubectl_ok(&self, n: &node::Node, args: &[&str]) -> String {
        let (ok, text) = self.kubectl(n, args);
        assert!(ok, "kubectl {args:?}: {text}");
        text
    }

    /// kubectl apply -f - with `yaml` on stdin.
    fn apply(&self, n: &node::Node, yaml: &str) {
        let mut c = n.command(self.bins.join("kubectl"));
        c.args([
            "--kubeconfig",
            "/etc/kubernetes/admin.conf",
            "apply",
            "-f",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kubectl apply: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Waits (bounded) until `f` holds for `kubectl get ... -o json`; returns the JSON.
    fn wait_json(
        &self,
        n: &node::Node,
        what: &str,
        args: &[&str],
        limit: Duration,
        f: impl Fn(&Value) -> bool,
        diag: impl Fn() -> String,
    ) -> Value {
        let deadline = Instant::now() + limit;
        let mut last: String;
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        loop {
            let (ok, text) = self.kubectl(n, &all);
            if ok
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && f(&v)
            {
                return v;
            }
            last = text;
            if Instant::now() > deadline {
                panic!(
                    "{what}: not within {limit:?}; last answer:\n{last}\n{}",
                    diag()
                );
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }
}

fn node_ready(v: &Value) -> bool {
    v["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn pod_phase(v: &Value) -> &str {
    v["status"]["phase"].as_str().unwrap_or("")
}

fn all_running(v: &Value, min: usize) -> bool {
    let items = v["items"].as_array().cloned().unwrap_or_default();
    items.len() >= min
        && items.iter().all(|p| {
            pod_phase(p) == "Running"
                && p["status"]["containerStatuses"]
                    .as_array()
                    .is_some_and(|c| c.iter().all(|c| c["ready"] == true))
        })
}

/// The join command kubestrap printed (`kubestrap join ... \` continued lines), as words.
fn printed_join_command(stdout: &str) -> Vec<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines
        .iter()
        .position(|l| {
            l.trim_start().starts_with("kubestrap join") && !l.contains("--control-plane")
        })
        .unwrap_or_else(|| panic!("no 'kubestrap join' command in the output:\n{stdout}"));
    let mut words = Vec::new();
    for l in &lines[start..] {
        let t = l.trim();
        let cont = t.ends_with('\\');
        words.extend(
            t.trim_end_matches('\\')
                .split_whitespace()
                .map(str::to_string),
        );
        if !cont {
            break;
        }
    }
    words
}

/// The image references kubeadm itself lists for `version` (the real kubeadm is the judge of
/// what the manifests name).
fn kubeadm_images(bins: &Path, version: &str) -> Vec<String> {
    let out = Command::new(bins.join("kubeadm"))
        .args(["config", "images", "list", "--kubernetes-version", version])
        .output()
        .unwrap();
    assert!(out.status.success(), "kubeadm config images list: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Builds (or reuses) the node images with scripts/node-images.sh; returns the tarballs.
fn build_images(bins: &Path, refs: &[String]) -> Vec<PathBuf> {
    let out_dir = bins.parent().unwrap().join("images");
    let mut c = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/node-images.sh"
    ));
    c.arg(bins).arg(&out_dir).args(refs);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "scripts/node-images.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    refs.iter()
        .map(|r| out_dir.join(format!("{}.tar", r.replace(['/', ':'], "_"))))
        .collect()
}

const VERSION: &str = "v1.37.2";

fn init_config(ip: &str) -> String {
    format!(
        r#"apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {ip}
nodeRegistration:
  name: {CP}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: {VERSION}
networking:
  podSubnet: 10.244.0.0/16
---
# This machine: cgroup v1 (failCgroupV1: false), no systemd (cgroupfs), and no
# CAP_SYS_RESOURCE for negative OOM scores (oomScoreAdj: 0).
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
oomScoreAdj: 0
# The nodes share this machine's disk with everything else on it: evict for the sandbox's
# own sake only when the disk is nearly full (the default, 10 % free, taints the node with
# disk-pressure on a busy build machine and CoreDNS is never scheduled).
evictionHard:
  nodefs.available: "1%"
  imagefs.available: "1%"
  memory.available: "100Mi"
---
# A node in a network namespace cannot raise nf_conntrack_max (a global setting).
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
conntrack:
  maxPerCore: 0
"#
    )
}

fn workload(name: &str, node: &str, command: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: default
spec:
  nodeName: {node}
  restartPolicy: Never
  tolerations:
  - operator: Exists
  containers:
  - name: main
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", {command:?}]
"#
    )
}

/// Brings a node's runtime up: containerd with the images, the kubelet supervisor.
fn prepare_node(lab: &mut Lab, idx: usize, bins: &Path, images: &[PathBuf], pause: &str) {
    let n = &mut lab.nodes[idx];
    n.start_containerd(pause);
    n.import_images(images);
    node::create_cgroups(&n.cgroup_root);
    let extra = vec![format!("--cgroup-root={}", n.cgroup_root)];
    n.start_kubelet(&bins.join("kubelet"), &extra);
}

#[test]
fn init_and_join_bring_up_a_two_node_cluster_with_the_real_kubelet_and_containerd() {
    let Some(bins) = support::k8s::bin_dir() else {
        return;
    };
    let One {
        _serial,
        before,
        _tmp,
        mut lab,
        path,
        cp,
        images,
        pause,
    } = one_control_plane_node(&bins);
    let c = Cluster {
        bins: &bins,
        path: path.clone(),
    };
    let cp_ip = lab.nodes[cp].ip.clone();
    let cfg = lab.dir.join("kubeadm.yaml");
    std::fs::write(&cfg, init_config(&cp_ip)).unwrap();
    let t0 = Instant::now();
    let init = run_in(
        &lab.nodes[cp],
        Path::new(BIN),
        &[
            "init",
            "--non-interactive",
            "--show-secrets",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &path,
        Duration::from_secs(600),
    );
    let stdout = String::from_utf8_lossy(&init.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&init.stderr).into_owned();
    let n = &lab.nodes[cp];
    assert!(
        init.status.success(),
        "kubestrap init failed:\n{stdout}\n{stderr}\nkubelet:\n{}\ncontainerd:\n{}",
        n.log_tail("kubelet.log", 60),
        n.log_tail("containerd.log", 30)
    );
    let init_time = t0.elapsed();
    assert!(
        stdout.contains("Your Kubernetes control-plane has initialized successfully!"),
        "{stdout}"
    );
    let join = printed_join_command(&stdout);

    // The pod network add-on: a bridge for the Node's podCIDR.
    let diag_cp = || {
        format!(
            "kubelet:\n{}\ncontainerd:\n{}",
            lab.nodes[cp].log_tail("kubelet.log", 40),
            lab.nodes[cp].log_tail("containerd.log", 20)
        )
    };
    let node_json = c.wait_json(
        &lab.nodes[cp],
        "the control-plane Node gets a podCIDR",
        &["get", "node", CP],
        Duration::from_secs(120),
        |v| v["spec"]["podCIDR"].is_string(),
        diag_cp,
    );
    let cp_cidr = node_json["spec"]["podCIDR"].as_str().unwrap().to_string();
    lab.nodes[cp].write_cni(&cp_cidr);
    c.wait_json(
        &lab.nodes[cp],
        "the control-plane Node is Ready",
        &["get", "node", CP],
        Duration::from_secs(180),
        node_ready,
        diag_cp,
    );
    let ready_time = t0.elapsed();

    // The four control-plane pods, from kubestrap's manifests, Running and ready.
    let cps = c.wait_json(
        &lab.nodes[cp],
        "the control-plane pods are Running",
        &[
            "-n",
            "kube-system",
            "get",
            "pods",
            "-l",
            "tier=control-plane",
        ],
        Duration::from_secs(120),
        |v| all_running(v, 4),
        diag_cp,
    );
    let mut names: Vec<String> = cps["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler"
        ]
        .map(|c| format!("{c}-{CP}"))
    );
    // CoreDNS and kube-proxy Running.
    c.wait_json(
        &lab.nodes[cp],
        "CoreDNS is Running",
        &["-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns"],
        Duration::from_secs(180),
        |v| all_running(v, 1),
        diag_cp,
    );
    c.wait_json(
        &lab.nodes[cp],
        "kube-proxy is Running",
        &[
            "-n",
            "kube-system",
            "get",
            "pods",
            "-l",
            "k8s-app=kube-proxy",
        ],
        Duration::from_secs(120),
        |v| all_running(v, 1),
        diag_cp,
    );

    // A pod resolves the kubernetes Service through CoreDNS and reaches its VIP through
    // kube-proxy's rules.
    let svc = c.kubectl_ok(
        &lab.nodes[cp],
        &[
            "get",
            "service",
            "kubernetes",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ],
    );
    c.apply(
        &lab.nodes[cp],
        &workload(
            "dns-check",
            CP,
            "nslookup kubernetes.default.svc.cluster.local && nc -w 5 kubernetes.default.svc.cluster.local 443 </dev/null && echo VIP-REACHABLE",
        ),
    );
    c.wait_json(
        &lab.nodes[cp],
        "the dns-check pod ends",
        &["get", "pod", "dns-check"],
        Duration::from_secs(120),
        |v| matches!(pod_phase(v), "Succeeded" | "Failed"),
        diag_cp,
    );
    // kubectl logs: the apiserver → kubelet path with apiserver-kubelet-client.
    let logs = c.kubectl_ok(&lab.nodes[cp], &["logs", "dns-check"]);
    assert!(
        logs.contains(svc.trim()),
        "nslookup did not answer {svc}:\n{logs}"
    );
    assert!(
        logs.contains("VIP-REACHABLE"),
        "the Service VIP was not reachable:\n{logs}"
    );

    // kubectl exec into a running pod.
    c.apply(&lab.nodes[cp], &workload("sleeper", CP, "sleep 3600"));
    c.wait_json(
        &lab.nodes[cp],
        "the sleeper pod runs",
        &["get", "pod", "sleeper"],
        Duration::from_secs(120),
        |v| pod_phase(v) == "Running",
        diag_cp,
    );
    let exec = c.kubectl_ok(
        &lab.nodes[cp],
        &["exec", "sleeper", "--", "cat", "/etc/hostname"],
    );
    assert_eq!(exec.trim(), "sleeper");

    // The worker: the printed join command, run in a second sandbox on the same bridge.
    let w = lab.add_node(WORKER);
    prepare_node(&mut lab, w, &bins, &images, &pause);
    assert_eq!(join[0], "kubestrap", "{join:?}");
    let mut args: Vec<&str> = join[1..].iter().map(String::as_str).collect();
    args.push("--non-interactive");
    // This machine runs cgroup v1: kubeadm's SystemVerification is an error for a v1.35+
    // kubelet there, and its message says to skip it explicitly (the cluster's
    // KubeletConfiguration already has failCgroupV1: false).
    args.push("--ignore-preflight-errors=SystemVerification");
    let t1 = Instant::now();
    let out = run_in(
        &lab.nodes[w],
        Path::new(BIN),
        &args,
        &path,
        Duration::from_secs(600),
    );
    let diag_w = || {
        format!(
            "kubelet:\n{}\ncontainerd:\n{}",
            lab.nodes[w].log_tail("kubelet.log", 40),
            lab.nodes[w].log_tail("containerd.log", 20)
        )
    };
    assert!(
        out.status.success(),
        "kubestrap join failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        diag_w()
    );
    let wn = c.wait_json(
        &lab.nodes[cp],
        "the worker Node gets a podCIDR",
        &["get", "node", WORKER],
        Duration::from_secs(120),
        |v| v["spec"]["podCIDR"].is_string(),
        diag_w,
    );
    let w_cidr = wn["spec"]["podCIDR"].as_str().unwrap().to_string();
    lab.nodes[w].write_cni(&w_cidr);
    lab.route_pod_cidrs(&[(cp, cp_cidr), (w, w_cidr)]);
    c.wait_json(
        &lab.nodes[cp],
        "the worker Node is Ready",
        &["get", "node", WORKER],
        Duration::from_secs(180),
        node_ready,
        diag_w,
    );
    let join_time = t1.elapsed();
    c.apply(
        &lab.nodes[cp],
        &workload("on-worker", WORKER, "echo hello from $(hostname)"),
    );
    c.wait_json(
        &lab.nodes[cp],
        "the pod on the worker runs to completion",
        &["get", "pod", "on-worker"],
        Duration::from_secs(120),
        |v| pod_phase(v) == "Succeeded",
        diag_w,
    );
    let logs = c.kubectl_ok(&lab.nodes[cp], &["logs", "on-worker"]);
    assert!(logs.contains("hello from on-worker"), "{logs}");
    eprintln!(
        "real node: init → control-plane Node Ready {:.0} s (init itself {:.0} s); join → worker Ready {:.0} s",
        ready_time.as_secs_f64(),
        init_time.as_secs_f64(),
        join_time.as_secs_f64()
    );

    // Teardown leaves nothing of the lab behind and this machine as it was.
    teardown_and_compare(lab, &before);
}

/// Tears the lab down and checks that nothing of it is left and this machine is as before.
fn teardown_and_compare(mut lab: Lab, before: &HostSnapshot) {
    let spaces: Vec<PathBuf> = lab
        .nodes
        .iter()
        .flat_map(|n| [n.ns.ns_id("mnt"), n.ns.ns_id("net")])
        .flatten()
        .collect();
    let roots: Vec<String> = lab.nodes.iter().map(|n| n.cgroup_root.clone()).collect();
    lab.teardown();
    assert!(
        node::pids_in(&spaces, &[]).is_empty(),
        "processes of the lab are left"
    );
    for r in &roots {
        for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let d = h.path().join(r.trim_start_matches('/'));
            assert!(!d.exists(), "cgroup {} is left", d.display());
        }
    }
    drop(lab);
    let diff = before.diff(&HostSnapshot::take());
    assert!(diff.is_empty(), "this machine changed:\n{diff}");
}

/// A lab with one node (`ks-cp`) whose containerd holds the images (kubeadm's list for
/// [`VERSION`] and the test's busybox) and whose kubelet waits for kubestrap's files; the
/// machine's state before it; the PATH for kubestrap; and the lock that keeps labs one at a
/// time.
struct One {
    _serial: std::sync::MutexGuard<'static, ()>,
    before: HostSnapshot,
    _tmp: tempfile::TempDir,
    lab: Lab,
    path: String,
    cp: usize,
    images: Vec<PathBuf>,
    pause: String,
}

fn one_control_plane_node(bins: &Path) -> One {
    let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    assert!(
        support::netns::is_root(),
        "the real-node test needs root (namespaces, mounts)"
    );
    require_tools();
    let before = HostSnapshot::take();
    let mut refs = kubeadm_images(bins, VERSION);
    refs.push(BUSYBOX.to_string());
    let pause = refs
        .iter()
        .find(|r| r.contains("/pause:"))
        .cloned()
        .expect("kubeadm lists a pause image");
    let images = build_images(bins, &refs);
    let tmp = tempfile::Builder::new()
        .prefix("kubestrap-real-node")
        .tempdir()
        .unwrap();
    let mut lab = Lab::new(tmp.path());
    let path = format!(
        "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        bins.display()
    );
    let cp = lab.add_node(CP);
    prepare_node(&mut lab, cp, bins, &images, &pause);
    One {
        _serial: serial,
        before,
        _tmp: tmp,
        lab,
        path,
        cp,
        images,
        pause,
    }
}

/// The wizard, in a pseudo-terminal, runs the same real init: it opens on the review of the
/// file, shows the real control plane's health as it comes up, and ends on the join command.
#[test]
fn the_wizard_runs_a_real_init_and_ends_on_the_join_command() {
    let Some(bins) = support::k8s::bin_dir() else {
        return;
    };
    let One {
        _serial,
        before,
        _tmp,
        lab,
        path,
        cp,
        ..
    } = one_control_plane_node(&bins);
    let cfg = lab.dir.join("kubeadm.yaml");
    std::fs::write(&cfg, init_config(&lab.nodes[cp].ip)).unwrap();
    let pid = lab.nodes[cp].ns.pid.to_string();
    let mut w = Pty::spawn(
        Path::new("nsenter"),
        &[
            "-t",
            &pid,
            "-m",
            "-u",
            "-n",
            "--",
            BIN,
            "init",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &lab.dir,
        &[
            ("PATH", path.as_str()),
            ("KUBESTRAP_LOG_DIR", lab.dir.to_str().unwrap()),
        ],
        120,
        40,
    );
    let n = &lab.nodes[cp];
    let diag = || {
        format!(
            "kubelet:\n{}\ncontainerd:\n{}",
            n.log_tail("kubelet.log", 30),
            n.log_tail("containerd.log", 10)
        )
    };
    let review = w.wait_for("step 5 of 6", 60, &diag);
    assert!(
        review.contains(&format!("advertiseAddress: {}", n.ip)),
        "{review}"
    );
    let t0 = Instant::now();
    w.send(ENTER);
    // The health pane follows the real components: each turns healthy.
    let health = w.wait_for("healthy after", 300, &diag);
    assert!(health.contains("Control-plane health"), "{health}");
    let done = w.wait_for("Join worker nodes", 300, &diag);
    let elapsed = t0.elapsed();
    assert!(done.contains("kubestrap join"), "{done}");
    eprintln!(
        "the wizard's real init, Start → done screen: {:.0} s\n{done}",
        elapsed.as_secs_f64()
    );
    std::fs::write(
        concat!(env!("CARGO_TARGET_TMPDIR"), "/real-node-wizard-done.txt"),
        &done,
    )
    .unwrap();
    // The cluster it reports is there: the real kubectl with its admin.conf sees the Node.
    let c = Cluster {
        bins: &bins,
        path: path.clone(),
    };
    let out = c.kubectl_ok(n, &["get", "node", CP, "-o", "name"]);
    assert_eq!(out.trim(), format!("node/{CP}"));
    w.send("q");
    let _ = w.wait_exit(20);
    drop(w);
    teardown_and_compare(lab, &before);
}

/// A kube-apiserver flag value the real kube-apiserver rejects and kubestrap cannot tell
/// (it checks the values of booleans, numbers, durations, addresses and port ranges, not of
/// quantities): init stops early, naming the component, the flag, the kubeadm.yaml
/// field, and the container's last log lines, all asked of the real containerd over CRI.
#[test]
fn a_flag_the_real_apiserver_rejects_is_named_from_the_runtime() {
    let Some(bins) = support::k8s::bin_dir() else {
        return;
    };
    let One {
        _serial,
        before,
        _tmp,
        lab,
        path,
        cp,
        ..
    } = one_control_plane_node(&bins);
    let cfg = lab.dir.join("kubeadm.yaml");
    let text = init_config(&lab.nodes[cp].ip).replace(
        "networking:\n",
        "apiServer:\n  extraArgs:\n  - name: log-text-info-buffer-size\n    value: lots\nnetworking:\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let t0 = Instant::now();
    let out = run_in(
        &lab.nodes[cp],
        Path::new(BIN),
        &[
            "init",
            "--non-interactive",
            "--config",
            cfg.to_str().unwrap(),
        ],
        &path,
        Duration::from_secs(400),
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    for want in [
        "kube-apiserver exits at start",
        "kube-apiserver rejects the flag --log-text-info-buffer-size",
        "(the flag comes from apiServer.extraArgs)",
        "Last log lines of container",
        "invalid argument \"lots\" for \"--log-text-info-buffer-size\"",
    ] {
        assert!(all.contains(want), "{want:?} missing:\n{all}");
    }
    // crictl is not installed: nothing says it is missing.
    assert!(!all.contains("No such file or directory"), "{all}");
    eprintln!(
        "the rejected flag was named after {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    teardown_and_compare(lab, &before);
}
