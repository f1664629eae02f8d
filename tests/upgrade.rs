//! `kubestrap upgrade` against a real control plane: `kubestrap init` makes a v1.36.3
//! cluster in a network namespace while the static pod runner (tests/support/staticpods.rs)
//! plays the kubelet, running the binary of each manifest's image tag (the v1.36.3 binaries
//! of `scripts/k8s-bins.sh --with-previous`, the v1.37.2 ones of the default build) and
//! restarting a pod when its manifest changes. `kubestrap upgrade apply v1.37.2` then moves
//! it, and the real components, kubectl and kubeadm judge the result. Also: refusals that
//! change nothing, the dry run and the plan (golden), and a rollback when the new
//! kube-scheduler does not start.
//!
//! Needs root, iproute2 and the binaries (skipped without them outside CI). One control
//! plane at a time.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::netns::{self, NetnsGuard};
use support::staticpods::{Images, RunnerOptions, StaticPodRunner};

const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");
const CP_IP: &str = "10.201.0.1";
const OLD: &str = "v1.36.3";
const NEW: &str = "v1.37.2";

static SERIAL: Mutex<()> = Mutex::new(());

/// The node's name: this machine's hostname, as kubeadm names a node, so that the real
/// kubeadm (which reads /etc/kubernetes/kubelet.conf of this machine, not of the test's
/// root, and falls back to the hostname) finds its Node.
fn node() -> String {
    nix::unistd::gethostname()
        .expect("this machine's hostname")
        .to_string_lossy()
        .to_lowercase()
}

/// (default bins, previous version's bins), or `None` (skip) outside CI.
fn bins() -> Option<(PathBuf, PathBuf)> {
    let b = support::k8s::bin_dir()?;
    assert_eq!(support::k8s::previous_version(), OLD);
    assert_eq!(support::k8s::default_version(), NEW);
    let prev = support::k8s::version_bin_dir(&b, OLD)?;
    assert!(
        netns::is_root(),
        "this test needs root (network namespaces)"
    );
    Some((b, prev))
}

struct World {
    dir: tempfile::TempDir,
    bins: PathBuf,
    prev: PathBuf,
    ns: String,
    _nets: NetnsGuard,
}

impl World {
    fn new(bins: PathBuf, prev: PathBuf, tag: &str) -> World {
        let dir = tempfile::Builder::new()
            .prefix("ks-upgrade-")
            .tempdir()
            .unwrap();
        let ns = format!("ks-up-{}{tag}", std::process::id() % 100000);
        let mut nets = NetnsGuard::default();
        nets.add(&ns);
        // A veth pair inside the namespace carries the control plane's address.
        let addr = format!("{CP_IP}/24");
        for args in [
            &[
                "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
            ][..],
            &["addr", "add", &addr, "dev", "eth0"],
            &["link", "set", "eth0", "up"],
            &["link", "set", "eth1", "up"],
        ] {
            let mut all = vec!["-n", ns.as_str()];
            all.extend_from_slice(args);
            netns::ip(&all);
        }
        World {
            dir,
            bins,
            prev,
            ns,
            _nets: nets,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn root(&self) -> PathBuf {
        self.path("cp")
    }

    /// The image tags of v1.36.3 (and its etcd) run the v1.36.3 binaries; the others the
    /// default build's.
    fn images(&self) -> Images {
        let mut tag_bins = BTreeMap::new();
        tag_bins.insert(OLD.to_string(), self.prev.clone());
        tag_bins.insert("3.6.8-0".to_string(), self.prev.clone());
        Images {
            tag_bins,
            replace: BTreeMap::new(),
            mirror_pods: true,
        }
    }

    fn runner(&self, images: Images) -> StaticPodRunner {
        std::fs::create_dir_all(self.root()).unwrap();
        StaticPodRunner::start_with(
            RunnerOptions {
                root: self.root(),
                bins: self.bins.clone(),
                netns: Some(self.ns.clone()),
                work: self.path("runner"),
                skip: vec![],
                register_node: Some(node()),
                kubelet_healthz: true,
            },
            images,
        )
    }

    /// Runs kubestrap in the namespace (bounded by `limit`): (code, stdout, stderr).
    fn ks(
        &self,
        runner: &StaticPodRunner,
        args: &[&str],
        limit: Duration,
    ) -> (i32, String, String) {
        let mut cmd = Command::new(BIN);
        cmd.arg("--root")
            .arg(self.root())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env(
                "PATH",
                format!(
                    "{}:{}:{}",
                    runner.bin_dir().display(),
                    self.bins.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env_remove("KUBECONFIG");
        // Proxy variables would go into the manifests (kubeadm's GetProxyEnvVars).
        for v in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "NO_PROXY",
            "http_proxy",
            "https_proxy",
            "no_proxy",
        ] {
            cmd.env_remove(v);
        }
        netns::command_in(&mut cmd, &self.ns);
        let child = cmd.spawn().unwrap();
        let pid = child.id() as i32;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(limit) {
            Ok(out) => {
                let o = out.unwrap();
                (
                    o.status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&o.stdout).into_owned(),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                )
            }
            Err(_) => {
                // SAFETY: kill on the PID of our own child (reaped by the waiting thread).
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!("kubestrap {} did not end within {limit:?}", args.join(" "));
            }
        }
    }

    /// `kubestrap init` of a v1.36.3 control plane; panics with the logs when it fails.
    fn init(&self, runner: &StaticPodRunner) {
        let cfg = self.path("kubeadm.yaml");
        std::fs::write(
            &cfg,
            format!(
                "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: {CP_IP}\n  bindPort: 6443\nnodeRegistration:\n  name: {}\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {OLD}\nnetworking:\n  podSubnet: 10.244.0.0/16\n",
                node()
            ),
        )
        .unwrap();
        let (rc, out, err) = self.ks(
            runner,
            &[
                "init",
                "--non-interactive",
                "--config",
                cfg.to_str().unwrap(),
                "--ignore-preflight-errors=all",
            ],
            Duration::from_secs(500),
        );
        assert_eq!(rc, 0, "init:\n{out}\n{err}\n{}", runner.log_tails(30));
    }

    fn run_in(&self, program: &Path, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).env_remove("KUBECONFIG");
        netns::command_in(&mut cmd, &self.ns);
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// kubectl with admin.conf (the new kubectl); (code, stdout, stderr).
    fn kubectl_rc(&self, args: &[&str]) -> (i32, String, String) {
        let admin = self.root().join("etc/kubernetes/admin.conf");
        let mut all = vec![
            "--kubeconfig",
            admin.to_str().unwrap(),
            "--request-timeout=20s",
        ];
        all.extend_from_slice(args);
        self.run_in(&self.bins.join("kubectl"), &all)
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let (rc, out, err) = self.kubectl_rc(args);
        assert_eq!(rc, 0, "kubectl {}: {err}{out}", args.join(" "));
        out
    }

    /// Waits (bounded) for /readyz to pass.
    fn wait_ready(&self, limit: Duration) {
        let t = Instant::now();
        loop {
            let (rc, out, _) = self.kubectl_rc(&["get", "--raw=/readyz"]);
            if rc == 0 && out.trim() == "ok" {
                return;
            }
            assert!(
                t.elapsed() < limit,
                "/readyz did not pass within {limit:?}: {out}"
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    fn server_version(&self) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&self.kubectl(&["get", "--raw=/version"])).unwrap();
        v["gitVersion"].as_str().unwrap().to_string()
    }

    fn cluster_configuration(&self) -> String {
        self.kubectl(&[
            "get",
            "configmap",
            "-n",
            "kube-system",
            "kubeadm-config",
            "-o",
            "jsonpath={.data.ClusterConfiguration}",
        ])
    }

    fn manifest_image(&self, name: &str) -> String {
        let p: k8s_openapi::api::core::v1::Pod = serde_yaml::from_slice(
            &std::fs::read(
                self.root()
                    .join(format!("etc/kubernetes/manifests/{name}.yaml")),
            )
            .unwrap(),
        )
        .unwrap();
        p.spec.unwrap().containers[0].image.clone().unwrap()
    }

    /// Every file kubestrap owns (manifests, certificates, kubeconfigs, the kubelet's
    /// files) with its content, and whether /etc/kubernetes/tmp exists: the tree a refused
    /// upgrade must leave as it was. etcd's data (which etcd itself writes) is left out.
    fn tree(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for d in ["etc/kubernetes", "var/lib/kubelet"] {
            walk(&self.root().join(d), &self.root(), &mut out);
        }
        out
    }
}

fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        if p.is_dir() {
            out.insert(format!("{rel}/"), Vec::new());
            walk(&p, root, out);
        } else {
            out.insert(rel, std::fs::read(&p).unwrap_or_default());
        }
    }
}

/// Asserts the golden `name` of a run's output, with the test's folder, times and generated
/// names made stable.
/// With `table`, runs of spaces between columns become two (the columns' width follows the
/// node name, which is this machine's hostname).
fn golden(name: &str, text: &str, w: &World, table: bool) {
    let text = text.replace(&w.root().display().to_string(), "<root>");
    let mut s = insta::Settings::clone_current();
    s.add_filter(
        r"(kubeadm-[a-z-]+)-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d(-\d+)?",
        "$1-<time>",
    );
    s.add_filter(
        r"kubeadm-upgraded-manifests\d+",
        "kubeadm-upgraded-manifests<n>",
    );
    s.add_filter(r"after \d+\.\ds", "after <t>s");
    let node_re = format!(r"\b{}\b", node().replace('.', r"\."));
    s.add_filter(&node_re, "<node>");
    if table {
        s.add_filter(r"(\S) {2,}", "$1  ");
    }
    s.bind(|| insta::assert_snapshot!(name, text));
}

/// `upgrade plan`, refusals, the dry run, then `upgrade apply v1.37.2`: every component runs
/// v1.37.2, /readyz passes, the objects made before are there, kubeadm-config says v1.37.2,
/// and the real kubeadm judges the result.
#[test]
fn upgrade_apply_moves_a_v1_36_cluster_to_v1_37() {
    let Some((bins, prev)) = bins() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let w = World::new(bins.clone(), prev.clone(), "a");
    let mut runner = w.runner(w.images());
    w.init(&runner);
    eprintln!("init done at {:?}", t0.elapsed());
    assert_eq!(w.server_version(), OLD);
    let long = Duration::from_secs(900);

    // upgrade plan: the tables (golden), and JSON with kubeadm's UpgradePlan.
    let (rc, out, err) = w.ks(&runner, &["upgrade", "plan"], long);
    assert_eq!(rc, 0, "{out}{err}");
    golden("upgrade_plan_v1_36", &out, &w, true);
    let (rc, json, err) = w.ks(&runner, &["upgrade", "plan", "-o", "json"], long);
    assert_eq!(rc, 0, "{json}{err}");
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["kind"], "UpgradePlan");
    assert_eq!(
        plan["availableUpgrades"][0]["description"],
        "stable version"
    );
    let api = plan["availableUpgrades"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kube-apiserver")
        .unwrap()
        .clone();
    assert_eq!(
        (api["currentVersion"].as_str(), api["newVersion"].as_str()),
        (Some(OLD), Some(NEW))
    );

    // Refusals before anything changes: a version not carried, two minors down, and an
    // unhealthy control plane (kube-scheduler stopped with SIGSTOP).
    let before = w.tree();
    let (rc, out, err) = w.ks(&runner, &["upgrade", "apply", "v1.38.0", "--yes"], long);
    assert_ne!(rc, 0, "{out}");
    assert!(
        err.contains("\"v1.38.0\" is not carried by kubestrap"),
        "{out}{err}"
    );
    let (rc, out, err) = w.ks(
        &runner,
        &[
            "upgrade",
            "apply",
            "v1.34.4",
            "--yes",
            "--ignore-preflight-errors=CreateJob",
        ],
        long,
    );
    assert_ne!(rc, 0, "{out}");
    assert!(
        err.contains("is too low; kubeadm can downgrade only 1 minor version at a time"),
        "{out}{err}"
    );
    let sched = runner.pid("kube-scheduler").expect("kube-scheduler runs");
    // SAFETY: signals to a PID of the runner's child.
    unsafe { libc::kill(sched as i32, libc::SIGSTOP) };
    let r = w.ks(
        &runner,
        &[
            "upgrade",
            "apply",
            NEW,
            "--yes",
            "--ignore-preflight-errors=CreateJob",
        ],
        long,
    );
    unsafe { libc::kill(sched as i32, libc::SIGCONT) };
    let (rc, out, err) = r;
    assert_ne!(rc, 0, "{out}");
    assert!(
        err.contains("[ERROR ControlPlaneComponentsHealthy]: kube-scheduler is not healthy"),
        "{out}{err}"
    );
    assert_eq!(w.tree(), before, "a refused upgrade changed files");

    // The dry run prints every change (golden) and changes nothing.
    let (rc, out, err) = w.ks(
        &runner,
        &[
            "upgrade",
            "apply",
            NEW,
            "--dry-run",
            "--ignore-preflight-errors=CreateJob",
        ],
        long,
    );
    assert_eq!(rc, 0, "{out}{err}");
    golden("upgrade_apply_dry_run", &out, &w, false);
    assert_eq!(w.tree(), before, "the dry run changed files");
    assert_eq!(runner.manifest_restarts("kube-apiserver"), 0);

    // The upgrade.
    w.kubectl(&[
        "create",
        "configmap",
        "made-before-the-upgrade",
        "--from-literal=k=v",
    ]);
    let t = Instant::now();
    // /readyz is sampled every second while apply runs: it must be ok throughout except for
    // the restarts (etcd's and kube-apiserver's), i.e. a few short failing stretches.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let ((rc, out, err), samples) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut samples: Vec<(Duration, bool)> = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && samples.len() < 1_200 {
                let (rc, out, _) = w.kubectl_rc(&["get", "--raw=/readyz", "--request-timeout=5s"]);
                samples.push((t.elapsed(), rc == 0 && out.trim() == "ok"));
                std::thread::sleep(Duration::from_secs(1));
            }
            samples
        });
        let r = w.ks(
            &runner,
            &[
                "upgrade",
                "apply",
                NEW,
                "--yes",
                "--ignore-preflight-errors=CreateJob",
            ],
            long,
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (r, sampler.join().unwrap())
    });
    assert_eq!(
        rc,
        0,
        "upgrade apply:\n{out}\n{err}\n{}",
        runner.log_tails(20)
    );
    eprintln!("upgrade apply took {:?}\n{out}", t.elapsed());
    let mut stretches: Vec<(Duration, Duration)> = Vec::new();
    for w2 in samples.windows(2) {
        match (w2[0].1, w2[1].1) {
            (true, false) => stretches.push((w2[1].0, w2[1].0)),
            (false, false) => {
                if let Some(last) = stretches.last_mut() {
                    last.1 = w2[1].0;
                }
            }
            _ => {}
        }
    }
    eprintln!(
        "/readyz during apply: {} samples, {} ok; failing stretches (from, to): {stretches:?}",
        samples.len(),
        samples.iter().filter(|s| s.1).count()
    );
    assert!(
        samples.first().is_some_and(|s| s.1),
        "/readyz not ok when apply started: {samples:?}"
    );
    assert!(
        stretches.len() <= 4
            && stretches
                .iter()
                .all(|(a, b)| *b - *a < Duration::from_secs(120)),
        "/readyz failed outside the restarts: {stretches:?}"
    );
    assert!(
        out.contains(&format!(
            "[upgrade] SUCCESS! A control plane node of your cluster was upgraded to \"{NEW}\"."
        )),
        "{out}"
    );
    for c in [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        assert!(
            out.contains(&format!(
                "[upgrade/staticpods] Component \"{c}\" upgraded successfully!"
            )),
            "{out}"
        );
        assert_eq!(runner.manifest_restarts(c), 1, "{c}");
        let argv = runner.argv(c).unwrap();
        let (rc, v, _) = w.run_in(Path::new(&argv[0]), &["--version"]);
        assert_eq!(rc, 0);
        if c == "etcd" {
            assert!(v.contains("etcd Version: 3.7.0"), "{v}");
            assert_eq!(w.manifest_image(c), "registry.k8s.io/etcd:3.7.0-0");
        } else {
            assert_eq!(v.trim(), format!("Kubernetes {NEW}"), "{c}");
            assert_eq!(w.manifest_image(c), format!("registry.k8s.io/{c}:{NEW}"));
        }
    }
    w.wait_ready(Duration::from_secs(60));
    assert_eq!(w.server_version(), NEW);
    let readyz = w.kubectl(&["get", "--raw=/readyz?verbose"]);
    assert!(!readyz.contains("[-]"), "{readyz}");
    let cm = w.kubectl(&[
        "get",
        "configmap",
        "made-before-the-upgrade",
        "-o",
        "jsonpath={.data.k}",
    ]);
    assert_eq!(cm, "v");
    let cc = w.cluster_configuration();
    assert!(cc.contains(&format!("kubernetesVersion: {NEW}")), "{cc}");
    let dns = w.kubectl(&[
        "get",
        "deployment",
        "-n",
        "kube-system",
        "coredns",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(dns, "registry.k8s.io/coredns/coredns:v1.14.6");
    let proxy = w.kubectl(&[
        "get",
        "daemonset",
        "-n",
        "kube-system",
        "kube-proxy",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(proxy, format!("registry.k8s.io/kube-proxy:{NEW}"));
    // kubeadm's backups under /etc/kubernetes/tmp: the old manifests and the etcd data.
    let tmp: Vec<String> = std::fs::read_dir(w.root().join("etc/kubernetes/tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let backup = tmp
        .iter()
        .find(|n| n.starts_with("kubeadm-backup-manifests-"))
        .expect("manifest backup");
    let old_api = std::fs::read_to_string(
        w.root()
            .join("etc/kubernetes/tmp")
            .join(backup)
            .join("kube-apiserver.yaml"),
    )
    .unwrap();
    assert!(old_api.contains(&format!("kube-apiserver:{OLD}")));
    let etcd_backup = tmp
        .iter()
        .find(|n| n.starts_with("kubeadm-backup-etcd-"))
        .expect("etcd backup");
    assert!(
        w.root()
            .join("etc/kubernetes/tmp")
            .join(etcd_backup)
            .join("etcd/member")
            .is_dir()
    );
    assert!(
        !tmp.iter()
            .any(|n| n.starts_with("kubeadm-upgraded-manifests")),
        "{tmp:?}"
    );

    // kubestrap's plan now finds nothing to do; the real kubeadm v1.37.2 judges too.
    let (rc, out, err) = w.ks(&runner, &["upgrade", "plan"], long);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(
        out.contains("[upgrade/plan] Awesome, you're up-to-date! Enjoy!"),
        "{out}"
    );
    let admin = w.root().join("etc/kubernetes/admin.conf");
    let (rc, out, err) = w.run_in(
        &support::k8s::kubeadm(&bins, NEW),
        &[
            "upgrade",
            "plan",
            "--kubeconfig",
            admin.to_str().unwrap(),
            "--ignore-preflight-errors=CreateJob,StaticPodManifest",
        ],
    );
    eprintln!("kubeadm upgrade plan (exit {rc}):\n{out}\n{err}");
    assert_eq!(
        rc,
        0,
        "kubeadm upgrade plan:\n{out}\n{err}\nrunner:\n{}",
        runner.events().join("\n")
    );
    assert!(
        out.contains(&format!(
            "[upgrade/versions] Cluster version: {}",
            NEW.trim_start_matches('v')
        )),
        "{out}"
    );
    assert!(!out.contains("Upgrade to the latest"), "{out}");

    // upgrade node: on this control-plane node everything is at v1.37.2 already (each
    // manifest is equal and skipped); on a worker (a root with only kubelet.conf) the kubelet
    // configuration is written; both end with the kubelet-package step.
    let (rc, out, err) = w.ks(&runner, &["upgrade", "node"], long);
    assert_eq!(rc, 0, "{out}{err}");
    for c in [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        assert!(
            out.contains(&format!(
                "[upgrade/staticpods] Current and new manifests of {c} are equal, skipping upgrade"
            )),
            "{out}"
        );
    }
    assert!(out.contains("[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager."), "{out}");
    let wk = w.path("wk");
    std::fs::create_dir_all(wk.join("etc/kubernetes")).unwrap();
    std::fs::copy(
        w.root().join("etc/kubernetes/kubelet.conf"),
        wk.join("etc/kubernetes/kubelet.conf"),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["--root", wk.to_str().unwrap(), "upgrade", "node"])
        .stdin(Stdio::null());
    netns::command_in(&mut cmd, &w.ns);
    let o = cmd.output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "upgrade node on a worker:\n{out}{err}");
    assert!(
        out.contains("[upgrade/control-plane] Skipping phase. Not a control plane node."),
        "{out}"
    );
    assert!(out.contains("[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager."), "{out}");
    let kc = std::fs::read_to_string(wk.join("var/lib/kubelet/config.yaml")).unwrap();
    assert!(kc.contains("kind: KubeletConfiguration"), "{kc}");
    runner.stop();
    eprintln!("test took {:?}", t0.elapsed());
}

/// A new kube-scheduler that does not start: its manifest (and the already upgraded
/// kube-apiserver's and kube-controller-manager's) go back, the command names it, and the
/// cluster is healthy at v1.36.3.
#[test]
fn a_component_that_does_not_come_up_is_rolled_back() {
    let Some((bins, prev)) = bins() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let w = World::new(bins, prev, "b");
    let broken = w.path("broken-kube-scheduler");
    std::fs::create_dir_all(w.dir.path()).unwrap();
    std::fs::write(
        &broken,
        "#!/bin/sh\necho 'Error: unknown flag: --made-up-by-the-test' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut images = w.images();
    images
        .replace
        .insert(format!("registry.k8s.io/kube-scheduler:{NEW}"), broken);
    let mut runner = w.runner(images);
    w.init(&runner);
    let ucfg = w.path("upgrade.yaml");
    std::fs::write(
        &ucfg,
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\ntimeouts:\n  upgradeManifests: 1m30s\n",
    )
    .unwrap();
    let (rc, out, err) = w.ks(
        &runner,
        &[
            "upgrade",
            "apply",
            NEW,
            "--yes",
            "--ignore-preflight-errors=CreateJob",
            "--config",
            ucfg.to_str().unwrap(),
        ],
        Duration::from_secs(900),
    );
    eprintln!("upgrade apply (exit {rc}):\n{out}\n{err}");
    assert_ne!(rc, 0);
    assert!(
        err.contains("component \"kube-scheduler\" did not come up at v1.37.2 within 1m30s"),
        "{err}"
    );
    assert!(err.contains("couldn't upgrade control plane"), "{err}");
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        assert_eq!(
            w.manifest_image(c),
            format!("registry.k8s.io/{c}:{OLD}"),
            "{c}"
        );
        assert!(
            out.contains(&format!("[upgrade/staticpods] {c} is back at {OLD}")),
            "{out}"
        );
    }
    w.wait_ready(Duration::from_secs(120));
    assert_eq!(w.server_version(), OLD);
    let cc = w.cluster_configuration();
    assert!(cc.contains(&format!("kubernetesVersion: {OLD}")), "{cc}");
    let argv = runner.argv("kube-scheduler").unwrap();
    let (_, v, _) = w.run_in(Path::new(&argv[0]), &["--version"]);
    assert_eq!(v.trim(), format!("Kubernetes {OLD}"));
    runner.stop();
    eprintln!("test took {:?}", t0.elapsed());
}
