//! `kubestrap join` and `kubestrap token` against the strict test apiserver (tests/support),
//! set up by the real init API phases (upload-config, bootstrap-token with the signer on):
//! a full worker join with a simulated kubelet, every discovery failure with its message in
//! bounded time, the unsafe skip, token create/list/delete and `--print-join-command` parsed
//! back by join, a dry run through the binary (text and JSON faces), a two-host join
//! across a veth pair between two network namespaces, and the control-plane join's
//! download-certs under external etcd and its refusal of a cluster without controlPlaneEndpoint.

mod support;

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kubestrap::config::defaults::example_init_config;
use kubestrap::config::{GoDuration, JoinConfiguration};
use kubestrap::engine::{Event, EventSink, LogLevel, PhaseCtx, RunOutcome};
use kubestrap::host::{CmdOutput, Host, HostFacts, RealHost};
use kubestrap::join::{self, JoinJob, Tuning, cmdline};
use kubestrap::phases::{bootstrap_token, upload_config};
use serde_json::json;
use support::apiserver::{Shared, TestApiServer};
use support::netns::ip;
use support::pki::TestPki;

const TOKEN: &str = "abcdef.0123456789abcdef";
const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");

/// A control plane: PKI + test apiserver + the init API phases that joining needs.
struct Cluster {
    _dir: tempfile::TempDir,
    root: PathBuf,
    pki: TestPki,
    server: TestApiServer,
    pin: String,
}

async fn init_api(root: &Path, server_url: &str) {
    let mut cfg = example_init_config("v1.36.3");
    cfg.init.bootstrap_tokens[0].token = TOKEN.into();
    let _ = server_url;
    let host = Arc::new(RealHost::new(root, false).unwrap());
    let ctx = PhaseCtx::new(Arc::new(cfg), host, EventSink::discard());
    upload_config::run(&ctx, "all")
        .await
        .expect("upload-config");
    bootstrap_token::run(&ctx, "")
        .await
        .expect("bootstrap-token");
}

/// The control-plane Node init's kubelet would have registered (upload-config annotates it).
fn control_plane_node(server: &TestApiServer) {
    server
        .insert(
            "nodes",
            "",
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "cp1", "labels": {"kubernetes.io/hostname": "cp1"}}}),
        )
        .unwrap();
}

async fn cluster() -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let pki = TestPki::new(&root);
    let server = TestApiServer::start(&pki);
    pki.write_kubeconfigs(&server.url());
    control_plane_node(&server);
    init_api(&root, &server.url()).await;
    server.allow_nodes_to_get_nodes();
    let pin = kubestrap::pki::ca_pin(&pki.ca.pair.cert_der).unwrap();
    Cluster {
        _dir: dir,
        root,
        pki,
        server,
        pin,
    }
}

/// What the simulated kubelet does when `systemctl restart kubelet` runs: after a short delay,
/// writes its client certificate and kubelet.conf (pointing at the certificate file, as the
/// real kubelet does) and registers its Node.
#[derive(Clone)]
struct KubeletSim {
    server_url: String,
    ca_pem: String,
    cert_key_pem: String,
    node: String,
    shared: Arc<Shared>,
}

/// The joining machine: a real host under a temp root whose `systemctl` is simulated.
struct NodeHost {
    inner: RealHost,
    sim: Option<KubeletSim>,
    calls: Mutex<Vec<String>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for NodeHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHost")
            .field("root", &self.inner.root())
            .finish()
    }
}

impl Drop for NodeHost {
    fn drop(&mut self) {
        for t in self.threads.lock().unwrap().drain(..) {
            let _ = t.join();
        }
    }
}

impl Host for NodeHost {
    fn root(&self) -> &Path {
        self.inner.root()
    }
    /// A ready containerd with every image present (CRI stand-in).
    fn container_runtime(
        &self,
        _endpoint: &str,
    ) -> Arc<dyn kubestrap::host::cri::ContainerRuntime> {
        Arc::new(kubestrap::host::cri::ScriptedRuntime::default())
    }
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.inner.read(path)
    }
    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
        self.inner.write_atomic(path, data, mode)
    }
    fn create_dir_all(&self, path: &Path, mode: u32) -> std::io::Result<()> {
        self.inner.create_dir_all(path, mode)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn read_dir(&self, path: &Path) -> std::io::Result<Vec<String>> {
        self.inner.read_dir(path)
    }
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        self.inner.remove_file(path)
    }
    fn mode(&self, path: &Path) -> std::io::Result<u32> {
        self.inner.mode(path)
    }
    fn run(&self, program: &str, args: &[&str]) -> std::io::Result<CmdOutput> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{program} {}", args.join(" ")));
        if program == "kubelet" && args == ["--version"] {
            return Ok(CmdOutput {
                status: Some(0),
                stdout: "Kubernetes v1.36.3\n".into(),
                ..Default::default()
            });
        }
        if program == "systemctl"
            && args == ["restart", "kubelet"]
            && let Some(sim) = self.sim.clone()
        {
            let root = self.inner.root().to_path_buf();
            self.threads.lock().unwrap().push(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                let w = |real: &str, data: &str| {
                    let p = root.join(real.trim_start_matches('/'));
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(p, data).unwrap();
                };
                let pem = "/var/lib/kubelet/pki/kubelet-client-current.pem";
                w(pem, &sim.cert_key_pem);
                w(
                    "/etc/kubernetes/kubelet.conf",
                    &format!(
                        "apiVersion: v1\nkind: Config\nclusters:\n- name: kubernetes\n  cluster:\n    server: {}\n    certificate-authority-data: {}\ncontexts:\n- name: system:node:{n}@kubernetes\n  context:\n    cluster: kubernetes\n    user: system:node:{n}\ncurrent-context: system:node:{n}@kubernetes\nusers:\n- name: system:node:{n}\n  user:\n    client-certificate: {pem}\n    client-key: {pem}\n",
                        sim.server_url,
                        STANDARD.encode(&sim.ca_pem),
                        n = sim.node
                    ),
                );
                std::thread::sleep(Duration::from_millis(200));
                sim.shared
                    .insert(
                        "nodes",
                        "",
                        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": sim.node, "labels": {"kubernetes.io/hostname": sim.node}}}),
                    )
                    .unwrap();
            }));
        }
        Ok(CmdOutput {
            status: Some(0),
            ..Default::default()
        })
    }
    fn which(&self, program: &str) -> Option<PathBuf> {
        matches!(
            program,
            "kubelet" | "systemctl" | "getent" | "losetup" | "mount" | "cp"
        )
        .then(|| PathBuf::from(format!("/usr/bin/{program}")))
    }
    fn facts(&self) -> HostFacts {
        HostFacts {
            hostname: "worker-1".into(),
            euid: 0,
            ..HostFacts::default()
        }
    }
    fn port_free(&self, _port: u16) -> bool {
        true
    }
    fn dry_run(&self) -> bool {
        self.inner.dry_run()
    }
}

fn node_host(c: &Cluster, node: &str) -> (tempfile::TempDir, Arc<NodeHost>) {
    let dir = tempfile::tempdir().unwrap();
    support::roots::ready_systemd_node(dir.path());
    let pair = c
        .pki
        .ca
        .client(&format!("system:node:{node}"), &["system:nodes"]);
    let sim = KubeletSim {
        server_url: c.server.url(),
        ca_pem: c.pki.ca.pair.cert_pem.clone(),
        cert_key_pem: format!("{}{}", pair.cert_pem, pair.key_pem),
        node: node.into(),
        shared: c.server.shared.clone(),
    };
    let host = Arc::new(NodeHost {
        inner: RealHost::new(dir.path(), false).unwrap(),
        sim: Some(sim),
        calls: Mutex::new(Vec::new()),
        threads: Mutex::new(Vec::new()),
    });
    (dir, host)
}

fn fast() -> Tuning {
    Tuning {
        discovery_retry_interval: Duration::from_millis(200),
        request_timeout: Duration::from_secs(1),
        bootstrap_poll_interval: Duration::from_millis(100),
        ..Tuning::default()
    }
}

/// A JoinConfiguration from a pasted command line, with a short discovery timeout.
fn config(cmd: &str, discovery_timeout: Duration) -> JoinConfiguration {
    let args = cmdline::parse_pasted(cmd).unwrap();
    let mut cfg = cmdline::join_config_from_args(&args, "worker-1").unwrap();
    let t = cfg.timeouts.as_mut().unwrap();
    t.discovery = Some(GoDuration(discovery_timeout));
    t.tls_bootstrap = Some(GoDuration(Duration::from_secs(10)));
    t.kubernetes_api_call = Some(GoDuration(Duration::from_secs(10)));
    cfg
}

fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

async fn run_join(
    cfg: JoinConfiguration,
    host: Arc<dyn Host>,
) -> (Result<join::JoinResult, join::JoinFailure>, Vec<Event>) {
    let (events, mut rx) = EventSink::channel();
    let job = JoinJob {
        cfg,
        host,
        events,
        tuning: fast(),
        cancel: Default::default(),
    };
    let r = tokio::time::timeout(Duration::from_secs(60), join::run(&job))
        .await
        .expect("join::run is bounded");
    (r, drain(&mut rx))
}

fn warnings(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Log {
                level: LogLevel::Warn,
                message,
                ..
            } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn read(root: &Path, real: &str) -> String {
    std::fs::read_to_string(root.join(real.trim_start_matches('/')))
        .unwrap_or_else(|e| panic!("{real}: {e}"))
}

fn mode(root: &Path, real: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(root.join(real.trim_start_matches('/')))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_join_succeeds_with_pin_and_tls_bootstrap() {
    let c = cluster().await;
    let (dir, host) = node_host(&c, "worker-1");
    let cmd = format!(
        "kubeadm join {} --token {TOKEN} \\\n    --discovery-token-ca-cert-hash sha256:{} \\\n    --discovery-token-ca-cert-hash {}",
        c.server.addr,
        "0".repeat(64),
        c.pin
    );
    let (r, events) = run_join(config(&cmd, Duration::from_secs(10)), host.clone()).await;
    let r = r.unwrap_or_else(|f| panic!("{f}"));
    assert!(r.joined);
    assert_eq!(r.node_name, "worker-1");
    assert!(r.discovered.pinned);
    assert_eq!(
        r.discovered.requests, 2,
        "one insecure and one CA-verified fetch"
    );
    assert_eq!(r.discovered.ca_subject, "CN=kubernetes");
    assert_eq!(r.discovered.ca_pins, vec![c.pin.clone()]);

    // Phases in kubeadm's order, each finished.
    let finished: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::PhaseFinished { phase, .. } => Some(phase.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(finished, join::PHASES);
    // Files: CA, kubelet config from the cluster, flags; bootstrap kubeconfig written 0600 then removed.
    let root = dir.path();
    assert_eq!(
        read(root, "/etc/kubernetes/pki/ca.crt"),
        c.pki.ca.pair.cert_pem
    );
    assert_eq!(mode(root, "/etc/kubernetes/pki/ca.crt"), 0o644);
    let kubelet_cm = c
        .server
        .get("configmaps", "kube-system", "kubelet-config")
        .unwrap();
    // config.yaml is the cluster's KubeletConfiguration with this node's CRI socket patched in
    // (NodeLocalCRISocket), which also goes to instance-config.yaml; no CRI flag.
    let mut want: serde_yaml::Value =
        serde_yaml::from_str(kubelet_cm["data"]["kubelet"].as_str().unwrap()).unwrap();
    want["containerRuntimeEndpoint"] = "unix:///var/run/containerd/containerd.sock".into();
    let got: serde_yaml::Value =
        serde_yaml::from_str(&read(root, "/var/lib/kubelet/config.yaml")).unwrap();
    assert_eq!(got, want);
    assert_eq!(
        read(root, "/var/lib/kubelet/instance-config.yaml"),
        "containerRuntimeEndpoint: \"unix:///var/run/containerd/containerd.sock\"\n"
    );
    assert_eq!(
        read(root, "/var/lib/kubelet/kubeadm-flags.env"),
        "KUBELET_KUBEADM_ARGS=\"\"\n"
    );
    assert!(events.iter().any(|e| matches!(e, Event::FileWritten { path, mode: 0o600 } if path == "/etc/kubernetes/bootstrap-kubelet.conf")));
    assert!(
        !root.join("etc/kubernetes/bootstrap-kubelet.conf").exists(),
        "removed after the bootstrap"
    );
    assert!(root.join("etc/kubernetes/kubelet.conf").exists());
    let calls = host.calls.lock().unwrap().clone();
    // Preflight's read-only probes (Hostname, KubeletVersion, Service-kubelet on this systemd
    // machine), then kubelet-start's calls.
    assert_eq!(
        calls,
        [
            "getent hosts worker-1",
            "kubelet --version",
            "systemctl is-enabled kubelet.service",
            "systemctl stop kubelet",
            "systemctl daemon-reload",
            "systemctl restart kubelet"
        ]
    );
    assert!(c.server.get("nodes", "", "worker-1").is_some());

    // Discovery was anonymous; the cluster reads used the bootstrap token; the Node wait used kubelet.conf.
    let log = c.server.shared.log.lock().unwrap().clone();
    let ci: Vec<_> = log
        .iter()
        .filter(|l| l.path.ends_with("/configmaps/cluster-info"))
        .collect();
    assert_eq!(ci.len(), 2);
    assert!(
        ci.iter()
            .all(|l| l.user == "system:anonymous" && l.status == 200)
    );
    assert!(
        log.iter()
            .any(|l| l.path.ends_with("/configmaps/kubelet-config")
                && l.user == "system:bootstrap:abcdef"
                && l.status == 200)
    );
    assert!(log.iter().any(|l| l.path == "/api/v1/nodes/worker-1"
        && l.user == "system:node:worker-1"
        && l.status == 200));

    // A second join of the same machine is stopped by preflight (kubelet.conf and ca.crt exist).
    let (r2, events2) = run_join(config(&cmd, Duration::from_secs(5)), host.clone()).await;
    let f = r2.unwrap_err();
    assert_eq!(f.phase, "preflight");
    assert!(
        f.error
            .message
            .contains("FileAvailable--etc-kubernetes-kubelet.conf"),
        "{}",
        f.error.message
    );
    assert!(events2.iter().any(|e| matches!(e, Event::Check { name, .. } if name == "FileAvailable--etc-kubernetes-pki-ca.crt")));
}

/// Runs a join expected to fail in discovery; returns the message and the elapsed time.
async fn failing(c: &Cluster, cmd: &str, timeout: Duration) -> (String, Duration, Vec<Event>) {
    let (_dir, host) = node_host(c, "worker-1");
    let start = Instant::now();
    let (r, events) = run_join(config(cmd, timeout), host).await;
    let f = r.expect_err("join must fail");
    assert_eq!(f.phase, "discovery", "{f}");
    (f.error.message.clone(), start.elapsed(), events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_failures_have_clear_messages_in_bounded_time() {
    let c = cluster().await;
    let ep = c.server.addr.to_string();
    let t = Duration::from_millis(1500);

    // Wrong pin: fails at once, names both hashes.
    let wrong = format!("sha256:{}", "ab".repeat(32));
    let (m, took, _) = failing(
        &c,
        &format!("kubeadm join {ep} --token {TOKEN} --discovery-token-ca-cert-hash {wrong}"),
        t,
    )
    .await;
    assert!(
        m.contains(&format!(
            "the cluster CA does not match the pinned hash: expected {wrong}, got {}",
            c.pin
        )),
        "{m}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Unknown token: no signature; retried until the discovery timeout, each retry reported.
    let (m, took, events) = failing(
        &c,
        &format!(
            "kubeadm join {ep} --token zzzzzz.0123456789abcdef --discovery-token-ca-cert-hash {}",
            c.pin
        ),
        t,
    )
    .await;
    assert!(m.contains("no signature for token zzzzzz in cluster-info: the token does not exist or has expired; create a new one on the control plane with kubestrap token create --print-join-command"), "{m}");
    assert!(took >= t && took < Duration::from_secs(8), "{took:?}");
    let w = warnings(&events);
    assert!(
        w.len() >= 2
            && w.iter()
                .all(|m| m.contains("left before the discovery timeout of 1.5s")),
        "{w:?}"
    );
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Probe { component, .. } if component == "discovery"))
            .count()
            >= 3
    );

    // Expired token: the signer does not sign it; the same message, naming the token.
    let past = "2020-01-01T00:00:00Z";
    let b = |s: &str| STANDARD.encode(s);
    c.server
        .insert(
            "secrets",
            "kube-system",
            json!({"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
                   "metadata": {"name": "bootstrap-token-xpired", "namespace": "kube-system"},
                   "data": {"token-id": b("xpired"), "token-secret": b("0123456789abcdef"), "expiration": b(past),
                            "usage-bootstrap-signing": b("true"), "usage-bootstrap-authentication": b("true")}}),
        )
        .unwrap();
    let (m, took, _) = failing(
        &c,
        &format!(
            "kubeadm join {ep} --token xpired.0123456789abcdef --discovery-token-ca-cert-hash {}",
            c.pin
        ),
        t,
    )
    .await;
    assert!(
        m.contains(
            "no signature for token xpired in cluster-info: the token does not exist or has expired"
        ),
        "{m}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");

    // Refused connections.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (m, took, events) = failing(
        &c,
        &format!(
            "kubeadm join 127.0.0.1:{port} --token {TOKEN} --discovery-token-ca-cert-hash {}",
            c.pin
        ),
        t,
    )
    .await;
    assert!(m.contains(&format!("cannot reach 127.0.0.1:{port}: connection refused (gave up after the discovery timeout of 1.5s)")), "{m}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(
        warnings(&events)
            .iter()
            .any(|w| w.contains("connection refused; retrying in"))
    );

    // An endpoint that accepts TCP but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let sport = silent.local_addr().unwrap().port();
    let (m, took, _) = failing(
        &c,
        &format!(
            "kubeadm join 127.0.0.1:{sport} --token {TOKEN} --discovery-token-ca-cert-hash {}",
            c.pin
        ),
        t,
    )
    .await;
    assert!(
        m.contains(&format!("cannot reach 127.0.0.1:{sport}: no answer within")),
        "{m}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    drop(silent);

    // Tampered cluster-info (changed after signing): the signature no longer matches.
    {
        let mut store = c.server.shared.store.lock().unwrap();
        let ci = store
            .get_mut(&(
                "configmaps".into(),
                "kube-public".into(),
                "cluster-info".into(),
            ))
            .unwrap();
        let kc = ci["data"]["kubeconfig"]
            .as_str()
            .unwrap()
            .replace("server: https://127.0.0.1", "server: https://127.0.0.2");
        ci["data"]["kubeconfig"] = json!(kc);
    }
    let (m, took, _) = failing(
        &c,
        &format!(
            "kubeadm join {ep} --token {TOKEN} --discovery-token-ca-cert-hash {}",
            c.pin
        ),
        t,
    )
    .await;
    assert!(
        m.contains("the signature of cluster-info does not match token abcdef"),
        "{m}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // No cluster-info at all: the HTTP error is given with its status and body (issue 12).
    c.server.shared.store.lock().unwrap().remove(&(
        "configmaps".into(),
        "kube-public".into(),
        "cluster-info".into(),
    ));
    let (m, took, _) = failing(
        &c,
        &format!(
            "kubeadm join {ep} --token {TOKEN} --discovery-token-ca-cert-hash {}",
            c.pin
        ),
        t,
    )
    .await;
    assert!(
        m.contains(&format!(
            "{ep} answered 404 for the cluster-info ConfigMap in kube-public: "
        )) && m.contains("cluster-info"),
        "{m}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_skip_joins_without_pin_and_says_so() {
    let c = cluster().await;
    let (_dir, host) = node_host(&c, "worker-1");
    // `localhost` instead of the 127.0.0.1 inside cluster-info: join says it uses cluster-info's.
    let cmd = format!(
        "kubestrap join localhost:{} --token {TOKEN} --discovery-token-unsafe-skip-ca-verification",
        c.server.addr.port()
    );
    let (r, events) = run_join(config(&cmd, Duration::from_secs(10)), host).await;
    let r = r.unwrap_or_else(|f| panic!("{f}"));
    assert!(r.joined && !r.discovered.pinned);
    assert_eq!(r.discovered.requests, 1, "no second fetch without pins");
    let w = warnings(&events);
    assert!(
        w.iter().any(
            |m| m.contains("--discovery-token-unsafe-skip-ca-verification")
                && m.contains("NOT be verified")
        ),
        "{w:?}"
    );
    // The faces add "WARNING: " to a warning; a message never carries its own (issue 12:
    // "WARNING: WARNING:").
    assert!(
        w.iter().all(|m| !m.to_uppercase().starts_with("WARNING")),
        "{w:?}"
    );
    assert!(
        w.iter().any(
            |m| m.starts_with("INSECURE: the cluster CA was NOT verified") && m.contains(&c.pin)
        ),
        "{w:?}"
    );
    assert!(
        w.iter().any(|m| m.contains(&format!(
            "differs from the endpoint you gave (localhost:{})",
            c.server.addr.port()
        ))),
        "{w:?}"
    );
}

fn kubestrap(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_commands_and_print_join_command_round_trip() {
    let c = cluster().await;
    let root = c.root.to_str().unwrap().to_string();

    let (code, out, err) = kubestrap(&[
        "--root",
        &root,
        "token",
        "create",
        "--print-join-command",
        "--description",
        "for worker-2",
        "--ttl",
        "2h",
    ]);
    assert_eq!(code, 0, "{err}");
    let line = out.trim();
    assert!(
        line.starts_with(&format!("kubestrap join {} --token ", c.server.addr)),
        "{line}"
    );
    assert!(
        line.ends_with(&format!("--discovery-token-ca-cert-hash {}", c.pin)),
        "{line}"
    );
    let args = cmdline::parse_pasted(line).unwrap();
    let new_token = args.token.clone().unwrap();
    let id = new_token[..6].to_string();

    // list: kubeadm's columns; the new token with its description, TTL and usages.
    let (code, out, err) = kubestrap(&["--root", &root, "token", "list"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("   ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "TOKEN",
            "TTL",
            "EXPIRES",
            "USAGES",
            "DESCRIPTION",
            "EXTRA GROUPS"
        ]
    );
    let row = out
        .lines()
        .find(|l| l.starts_with(&new_token))
        .unwrap_or_else(|| panic!("{out}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert!(cols[1] == "1h" || cols[1] == "2h", "{row}");
    assert_eq!(cols[3], "authentication,signing");
    assert!(
        row.contains("for worker-2")
            && row.ends_with("system:bootstrappers:kubeadm:default-node-token"),
        "{row}"
    );
    assert!(out.contains(TOKEN), "the init token is listed too: {out}");

    // The printed command joins (the signer signed the new token).
    let (_dir, host) = node_host(&c, "worker-2");
    let mut cfg = cmdline::join_config_from_args(&args, "worker-2").unwrap();
    cfg.timeouts.as_mut().unwrap().discovery = Some(GoDuration(Duration::from_secs(10)));
    let (r, _) = run_join(cfg, host).await;
    assert!(r.unwrap_or_else(|f| panic!("{f}")).joined);

    // Duplicate id, bad usages: clear errors.
    let (code, _, err) = kubestrap(&["--root", &root, "token", "create", &new_token]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("a token with id \"{id}\" already exists")),
        "{err}"
    );
    let (code, _, err) = kubestrap(&[
        "--root",
        &root,
        "token",
        "create",
        "--usages",
        "signing,foo",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("valid values are signing, authentication"),
        "{err}"
    );

    // delete by id; it is gone from the list and from cluster-info's signatures.
    let (code, out, err) = kubestrap(&["--root", &root, "token", "delete", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), format!("bootstrap token \"{id}\" deleted"));
    let (_, out, _) = kubestrap(&["--root", &root, "token", "list"]);
    assert!(!out.contains(&new_token), "{out}");
    let ci = c
        .server
        .get("configmaps", "kube-public", "cluster-info")
        .unwrap();
    assert!(ci["data"].get(format!("jws-kubeconfig-{id}")).is_none());
    let (code, _, err) = kubestrap(&["--root", &root, "token", "delete", "not-a-token"]);
    assert_eq!(code, 1);
    assert!(err.contains("[a-z0-9]{6}"), "{err}");

    // generate: a valid token, no cluster access.
    let (code, out, _) = kubestrap(&["token", "generate"]);
    assert_eq!(code, 0);
    assert!(
        kubestrap::config::token::BootstrapTokenString::parse(out.trim()).is_ok(),
        "{out}"
    );
}

/// Checks a dry-run join through the binary: discovery for real, files under the root,
/// nothing started, the bootstrap wait skipped.
fn check_dry_run(endpoint: &str, pin: &str, expect_server: &str) {
    let node = tempfile::tempdir().unwrap();
    let root = node.path().to_str().unwrap();
    let (code, out, err) = kubestrap(&[
        "--root",
        root,
        "join",
        endpoint,
        "--token",
        TOKEN,
        "--discovery-token-ca-cert-hash",
        pin,
        "--dry-run",
        "--non-interactive",
        "--ignore-preflight-errors",
        "all",
        "--node-name",
        "worker-9",
    ]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("[discovery] Cluster CA CN=kubernetes matches the pinned hash"),
        "{out}"
    );
    assert!(out.contains("Skipped: dry run"), "{out}");
    assert!(
        out.contains("[dryrun] Discovery succeeded against"),
        "{out}"
    );
    let p = node.path();
    let boot = read(p, "/etc/kubernetes/bootstrap-kubelet.conf");
    assert_eq!(mode(p, "/etc/kubernetes/bootstrap-kubelet.conf"), 0o600);
    assert!(
        boot.contains(&format!("server: {expect_server}"))
            && boot.contains(&format!("token: {TOKEN}")),
        "{boot}"
    );
    assert!(read(p, "/var/lib/kubelet/config.yaml").contains("kind: KubeletConfiguration"));
    assert!(read(p, "/var/lib/kubelet/kubeadm-flags.env").contains("--hostname-override=worker-9"));
    assert!(read(p, "/etc/kubernetes/pki/ca.crt").starts_with("-----BEGIN CERTIFICATE-----"));
    // kubectl reads the bootstrap kubeconfig we wrote.
    let kc = p.join("etc/kubernetes/bootstrap-kubelet.conf");
    let view = Command::new("kubectl")
        .args([
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.users[0].name} {.clusters[0].cluster.server}",
            "--kubeconfig",
        ])
        .arg(&kc)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&view.stdout),
        format!("tls-bootstrap-token-user {expect_server}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_through_the_binary_text_and_json() {
    let c = cluster().await;
    let ep = c.server.addr.to_string();
    let server = c.server.url();
    let pin = c.pin.clone();
    tokio::task::spawn_blocking(move || check_dry_run(&ep, &pin, &server))
        .await
        .unwrap();

    // JSON lines face: every line is an event object; the run ends with Finished/succeeded.
    let node = tempfile::tempdir().unwrap();
    let root = node.path().to_str().unwrap().to_string();
    let ep = c.server.addr.to_string();
    let pin = c.pin.clone();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        kubestrap(&[
            "--root",
            &root,
            "join",
            &ep,
            "--token",
            TOKEN,
            "--discovery-token-ca-cert-hash",
            &pin,
            "--dry-run",
            "--non-interactive",
            "--output",
            "json",
            "--ignore-preflight-errors",
            "all",
        ])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let evs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(evs.iter().all(|e| e["event"].is_string()));
    assert_eq!(evs.last().unwrap()["outcome"]["status"], "succeeded");

    // Without a pin and without the unsafe flag, join refuses to start (before any traffic).
    let before = c.server.shared.log.lock().unwrap().len();
    let ep = c.server.addr.to_string();
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        kubestrap(&[
            "join",
            &ep,
            "--token",
            TOKEN,
            "--non-interactive",
            "--dry-run",
        ])
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(
        err.contains("without --discovery-token-ca-cert-hash is unsafe"),
        "{err}"
    );
    assert_eq!(c.server.shared.log.lock().unwrap().len(), before);
}

/// A dry-run join on a fresh machine (an empty root: no CRI socket, no kubelet) reports the
/// preflight errors, goes on with discovery and the file writes, ends with the list of errors
/// a real join would stop on and exits 0, as init's dry run does.
/// Issue 12 item 9: `join --dry-run` without `--root` reads this machine's /proc and /sys
/// (its writes go to the dry-run directory): the ip_forward check reports the real file's
/// value, not that the file is missing from the empty dry-run directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_without_root_reads_this_machines_proc_and_sys() {
    let c = cluster().await;
    let dir = tempfile::tempdir().unwrap();
    let dry = dir.path().join("dry");
    let d = dry.to_str().unwrap().to_string();
    let ep = c.server.addr.to_string();
    let pin = c.pin.clone();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        kubestrap(&[
            "join",
            &ep,
            "--token",
            TOKEN,
            "--discovery-token-ca-cert-hash",
            &pin,
            "--dry-run",
            "--dry-run-dir",
            &d,
            "--non-interactive",
            "--ignore-preflight-errors",
            "IsPrivilegedUser",
        ])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let all = format!("{out}{err}");
    let real = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").ok();
    assert!(
        real.is_some(),
        "this machine has /proc/sys/net/ipv4/ip_forward"
    );
    assert!(
        !all.contains("/proc/sys/net/ipv4/ip_forward does not exist"),
        "read from the dry-run directory instead of this machine:\n{all}"
    );
    assert_eq!(
        all.contains("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]"),
        real.as_deref().map(str::trim) != Some("1"),
        "{all}"
    );
    // ... and wrote only into the dry-run directory
    assert!(
        dry.join("etc/kubernetes/bootstrap-kubelet.conf").is_file(),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_reports_preflight_errors_and_goes_on() {
    let c = cluster().await;
    let node = tempfile::tempdir().unwrap();
    let root = node.path().to_str().unwrap().to_string();
    let ep = c.server.addr.to_string();
    let pin = c.pin.clone();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        kubestrap(&[
            "--root",
            &root,
            "join",
            &ep,
            "--token",
            TOKEN,
            "--discovery-token-ca-cert-hash",
            &pin,
            "--dry-run",
            "--non-interactive",
            // Only the root check (still fatal in a dry run, as init's) is ignored.
            "--ignore-preflight-errors",
            "IsPrivilegedUser",
        ])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("[preflight] [ERROR CRI]"), "{out}");
    assert!(
        out.contains("would stop a real join here; the dry run continues"),
        "{out}"
    );
    assert!(
        out.contains("[dryrun] Discovery succeeded against"),
        "{out}"
    );
    let summary = out
        .lines()
        .find(|l| l.starts_with("[dryrun] A real join would stop in preflight on "))
        .unwrap_or_else(|| panic!("no summary line:\n{out}"));
    assert!(summary.contains("CRI"), "{summary}");
    assert!(!summary.contains("IsPrivilegedUser"), "{summary}");
    assert!(
        read(node.path(), "/etc/kubernetes/bootstrap-kubelet.conf").contains("token: "),
        "the file writes ran"
    );

    // A bad token is refused before any traffic, with a verb and without the secret.
    let ep = c.server.addr.to_string();
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        kubestrap(&[
            "join",
            &ep,
            "--token",
            "abc.secretvalue",
            "--non-interactive",
            "--dry-run",
        ])
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: --token / discovery.bootstrapToken.token: the value (not shown) is not a valid bootstrap token: "),
        "{err}"
    );
    assert!(!err.contains("secretvalue"), "{err}");
}

/// Network namespaces and a veth pair; deleted on drop, even when the test fails.
struct NetnsGuard {
    names: Vec<String>,
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// Moves the calling thread into network namespace `name`.
fn enter_netns(name: &str) {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(format!("/var/run/netns/{name}")).unwrap();
    // SAFETY: setns on a valid namespace fd affects only the calling thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {name}: {}", std::io::Error::last_os_error());
}

/// Copies bytes both ways between `listen` (in the server namespace) and `target`.
fn forward(
    listen: std::net::TcpListener,
    target: std::net::SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    listen.set_nonblocking(true).unwrap();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        match listen.accept() {
            Ok((a, _)) => {
                a.set_nonblocking(false).unwrap();
                let Ok(b) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                for (mut r, mut w) in [(a.try_clone().unwrap(), b.try_clone().unwrap()), (b, a)] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut r, &mut w);
                        let _ = w.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[test]
fn two_hosts_join_across_a_veth_pair() {
    if !support::netns::is_root() || Command::new("ip").arg("-V").output().is_err() {
        panic!("this test needs root and iproute2 (ip netns)");
    }
    let tag = format!("{}", std::process::id() % 100000);
    let (srv, cli) = (format!("ks-srv-{tag}"), format!("ks-cli-{tag}"));
    let guard = NetnsGuard {
        names: vec![srv.clone(), cli.clone()],
    };
    ip(&["netns", "add", &srv]);
    ip(&["netns", "add", &cli]);
    let (va, vb) = (format!("ksa{tag}"), format!("ksb{tag}"));
    ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb]);
    ip(&["link", "set", &va, "netns", &srv]);
    ip(&["link", "set", &vb, "netns", &cli]);
    let octet = 1 + (std::process::id() % 250);
    let (a_ip, b_ip) = (format!("10.251.{octet}.1"), format!("10.251.{octet}.2"));
    for (ns, dev, addr) in [(&srv, &va, &a_ip), (&cli, &vb, &b_ip)] {
        ip(&["-n", ns, "addr", "add", &format!("{addr}/30"), "dev", dev]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }
    let server_ip: Ipv4Addr = a_ip.parse().unwrap();

    // The control plane lives in the server namespace: its apiserver listens on loopback
    // there and a forwarder exposes it on the veth address; its certificate names that address.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let srv_ns = srv.clone();
    let srv_thread = std::thread::spawn(move || {
        enter_netns(&srv_ns);
        let mut pki = TestPki::new(&root);
        pki.apiserver = pki.ca.server(
            "kube-apiserver",
            &["localhost", "kubernetes"],
            &[IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(server_ip)],
        );
        let server = TestApiServer::start(&pki);
        let public = std::net::SocketAddr::from((server_ip, 6443));
        let listener = TcpListener::bind(public).unwrap();
        let target = server.addr;
        let stop3 = stop2.clone();
        let fwd = std::thread::spawn(move || forward(listener, target, stop3));
        pki.write_kubeconfigs(&format!("https://{public}"));
        control_plane_node(&server);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(init_api(&root, ""));
        let pin = kubestrap::pki::ca_pin(&pki.ca.pair.cert_der).unwrap();
        tx.send((public.to_string(), pin)).unwrap();
        while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = fwd.join();
        drop(server);
    });
    // Stops the server thread even when an assertion below fails.
    struct StopOnDrop(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let _stop_guard = StopOnDrop(stop.clone());
    let (endpoint, pin) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("control plane up");

    // The joining machine: the kubestrap binary run inside the client namespace.
    let node = tempfile::tempdir().unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &cli, BIN, "--root"])
        .arg(node.path())
        .args([
            "join",
            &endpoint,
            "--token",
            TOKEN,
            "--discovery-token-ca-cert-hash",
            &pin,
            "--dry-run",
            "--non-interactive",
            "--ignore-preflight-errors",
            "all",
            "--node-name",
            "worker-b",
        ])
        .output()
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = srv_thread.join();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("Trying to reach the API server at {endpoint}")),
        "{stdout}"
    );
    assert!(stdout.contains("matches the pinned hash"), "{stdout}");
    let boot = read(node.path(), "/etc/kubernetes/bootstrap-kubelet.conf");
    assert!(
        boot.contains(&format!("server: https://{endpoint}")),
        "{boot}"
    );
    // The traffic crossed the veth: the client end counted it.
    let stats = Command::new("ip")
        .args(["-n", &cli, "-s", "-j", "link", "show", "dev", &vb])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    let rx = v[0]["stats64"]["rx"]["bytes"].as_u64().unwrap();
    let tx = v[0]["stats64"]["tx"]["bytes"].as_u64().unwrap();
    assert!(rx > 2000 && tx > 1000, "veth counters rx={rx} tx={tx}");
    drop(guard);
    assert!(!Path::new(&format!("/var/run/netns/{srv}")).exists());
}

/// The join wizard in a pseudo-terminal at 80x24: the printed command is pasted (bracketed
/// paste, with a line continuation), read into the fields, Enter runs a real dry-run
/// discovery against the test apiserver, the done screen shows the CA pin and the next
/// step, q quits and the terminal is restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasted_command_in_a_terminal() {
    let c = cluster().await;
    let node = tempfile::tempdir().unwrap();
    let root = node.path().to_path_buf();
    let ep = c.server.addr.to_string();
    let pin = c.pin.clone();
    tokio::task::spawn_blocking(move || {
        let root_arg = root.display().to_string();
        let mut w = support::pty::Wizard::spawn(
            &[
                "--root",
                &root_arg,
                "join",
                "--dry-run",
                "--ignore-preflight-errors",
                "all",
            ],
            &root,
            None,
            80,
            24,
        );
        let form = w.wait_for("Paste join command", 30);
        assert!(form.contains("kubestrap · join"), "{form}");
        assert!(w.alternate_screen(), "the wizard uses the alternate screen");
        // The command as init prints it, with a line continuation, as a bracketed paste.
        w.send(&format!(
            "\x1b[200~kubeadm join {ep} --token {TOKEN} \\\n    --discovery-token-ca-cert-hash {pin}\n\x1b[201~"
        ));
        let filled = w.wait_for("read the pasted command", 30);
        assert!(filled.contains(&ep), "{filled}");
        w.send("\r");
        let done = w.wait_for("Dry run finished", 30);
        assert!(done.contains("kubestrap · join · done"), "{done}");
        assert!(done.contains(&pin), "the CA pin is shown to compare:\n{done}");
        assert!(done.contains("Cluster CA CN=kubernetes"), "{done}");
        assert!(done.contains("kubectl get nodes"), "{done}");
        w.send("q");
        let code = w.wait_exit(10);
        assert_eq!(code, 0, "exit status");
        assert!(!w.alternate_screen(), "alternate screen left");
        assert!(!w.cursor_hidden(), "cursor shown");
        let screen = w.screen();
        assert!(
            screen.contains("[dryrun] Discovery succeeded (CA CN=kubernetes pin"),
            "the outcome is printed on the normal screen:\n{}",
            screen
        );
    })
    .await
    .unwrap();
    assert!(
        node.path()
            .join("etc/kubernetes/bootstrap-kubelet.conf")
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_discovery_with_tls_bootstrap_token() {
    let c = cluster().await;
    // The kubeconfig of cluster-info (cluster and CA only), saved to a file as a user would.
    let ci = c
        .server
        .get("configmaps", "kube-public", "cluster-info")
        .unwrap();
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("discovery.conf");
    std::fs::write(&file, ci["data"]["kubeconfig"].as_str().unwrap()).unwrap();
    let (dir, host) = node_host(&c, "worker-1");
    let cmd = format!(
        "kubeadm join --discovery-file {} --tls-bootstrap-token {TOKEN}",
        file.display()
    );
    let (r, _) = run_join(config(&cmd, Duration::from_secs(10)), host).await;
    let r = r.unwrap_or_else(|f| panic!("{f}"));
    assert!(r.joined);
    assert_eq!(r.discovered.server, c.server.url());
    assert_eq!(r.discovered.ca_pins, vec![c.pin.clone()]);
    assert!(c.server.get("nodes", "", "worker-1").is_some());
    assert!(
        !dir.path()
            .join("etc/kubernetes/bootstrap-kubelet.conf")
            .exists()
    );

    // A file without credentials and no TLS bootstrap token: a clear error.
    let (_dir2, host2) = node_host(&c, "worker-1");
    let cmd = format!("kubeadm join --discovery-file {}", file.display());
    let (r, _) = run_join(config(&cmd, Duration::from_secs(10)), host2).await;
    let f = r.expect_err("no credentials");
    assert!(
        f.error
            .message
            .contains("has no credentials and no TLS bootstrap token"),
        "{f}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_retries_until_the_server_answers_and_bootstrap_wait_is_bounded() {
    let c = cluster().await;
    // The first two connections are dropped: discovery retries (reported) and then succeeds.
    c.server.drop_next_connections(2);
    let (events, mut rx) = EventSink::channel();
    let mut opts = join::discovery::TokenDiscovery::new(
        &c.server.addr.to_string(),
        kubestrap::config::token::BootstrapTokenString::parse(TOKEN).unwrap(),
        vec![c.pin.clone()],
        Duration::from_secs(10),
    );
    opts.retry_interval = Duration::from_millis(100);
    let d = join::discovery::discover_token(&opts, &events)
        .await
        .unwrap();
    assert_eq!(d.requests, 4, "two dropped, then two fetches");
    let evs = drain(&mut rx);
    let retries = warnings(&evs);
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries[0].contains("retrying in 100ms"), "{retries:?}");

    // A kubelet that never finishes the TLS bootstrap: the wait ends with a hint, in bounded
    // time, and bootstrap-kubelet.conf is removed as kubeadm does.
    let dir = tempfile::tempdir().unwrap();
    support::roots::ready_systemd_node(dir.path());
    let host = Arc::new(NodeHost {
        inner: RealHost::new(dir.path(), false).unwrap(),
        sim: None,
        calls: Mutex::new(Vec::new()),
        threads: Mutex::new(Vec::new()),
    });
    let cmd = format!(
        "kubeadm join {} --token {TOKEN} --discovery-token-ca-cert-hash {}",
        c.server.addr, c.pin
    );
    let mut cfg = config(&cmd, Duration::from_secs(10));
    cfg.timeouts.as_mut().unwrap().tls_bootstrap = Some(GoDuration(Duration::from_millis(800)));
    let start = Instant::now();
    let (r, events) = run_join(cfg, host).await;
    let f = r.expect_err("no kubelet");
    assert_eq!(f.phase, "kubelet-wait-bootstrap");
    assert!(
        f.error
            .message
            .contains("the TLS bootstrap did not finish within 800ms")
            && f.error
                .message
                .contains("/etc/kubernetes/kubelet.conf does not exist yet"),
        "{}",
        f.error.message
    );
    assert!(
        f.error
            .hint
            .as_deref()
            .unwrap_or("")
            .contains("journalctl -xeu kubelet")
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(events.iter().any(
        |e| matches!(e, Event::Probe { component, .. } if component == "kubelet-tls-bootstrap")
    ));
    assert!(
        !dir.path()
            .join("etc/kubernetes/bootstrap-kubelet.conf")
            .exists()
    );
}

// ---------------------------------------------------------------- join preflight (scripted)

/// A scripted machine on which every join check passes.
fn good_join_host() -> kubestrap::host::FakeHost {
    support::roots::ready_fake_host("worker-1", "v1.36.3")
}

fn join_cfg(endpoint: &str) -> JoinConfiguration {
    config(
        &format!(
            "kubeadm join {endpoint} --token {TOKEN} --discovery-token-ca-cert-hash sha256:{}",
            "a".repeat(64)
        ),
        Duration::from_secs(5),
    )
}

/// The checks join runs on `host`, by name (the root check first).
fn join_results(
    host: &dyn Host,
    cfg: &JoinConfiguration,
) -> std::collections::BTreeMap<String, kubestrap::phases::preflight::CheckResult> {
    let ignore = join::preflight::parse_ignore_list(cfg).unwrap();
    let mut v = vec![join::preflight::root_check(host)];
    v.extend(join::preflight::run_checks(host, cfg, &ignore));
    let mut m = std::collections::BTreeMap::new();
    for r in v {
        assert!(
            m.insert(r.name.clone(), r).is_none(),
            "each check runs once"
        );
    }
    m
}

fn check_events(events: &[Event]) -> Vec<(String, Severity, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Check {
                name,
                severity,
                ignored,
                ..
            } => Some((name.clone(), *severity, *ignored)),
            _ => None,
        })
        .collect()
}

use kubestrap::engine::Severity;

#[test]
fn join_preflight_runs_kubeadms_join_checks_by_name() {
    let cfg = join_cfg("192.168.1.2:6443");
    let h = good_join_host();
    let all = join_results(&h, &cfg);
    let expected = [
        "IsPrivilegedUser",
        "DirAvailable--etc-kubernetes-manifests",
        "FileAvailable--etc-kubernetes-kubelet.conf",
        "FileAvailable--etc-kubernetes-bootstrap-kubelet.conf",
        "CRI",
        "Swap",
        "FileExisting-losetup",
        "FileExisting-mount",
        "FileExisting-cp",
        "SystemVerification",
        "Hostname",
        "KubeletVersion",
        "Service-kubelet",
        "Port-10250",
        "FileAvailable--etc-kubernetes-pki-ca.crt",
        "HTTPProxy",
        "FileContent--proc-sys-net-ipv4-ip_forward",
        "KernelModules",
        "ContainerRuntimeVersion",
    ];
    // CgroupDriver runs in kubelet-start, once the cluster names the kubelet's driver.
    assert!(!all.contains_key("CgroupDriver"));
    let names: Vec<&str> = all.keys().map(String::as_str).collect();
    for n in expected {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert_eq!(all.len(), expected.len(), "{names:?}");
    for r in all.values() {
        assert_eq!(r.severity, Severity::Pass, "{r:?}");
    }
    // Init-only checks are not part of join.
    for n in ["NumCPU", "Mem", "Port-6443", "Port-2379", "ImagePull"] {
        assert!(!all.contains_key(n), "{n}");
    }

    // Each check fails by name when its condition is broken.
    let sev = |h: &kubestrap::host::FakeHost, cfg: &JoinConfiguration, name: &str| {
        let r = join_results(h, cfg)
            .remove(name)
            .unwrap_or_else(|| panic!("{name} did not run"));
        (r.severity, r.message)
    };
    type Breaker = Box<dyn Fn(&kubestrap::host::FakeHost)>;
    let cases: Vec<(&str, Severity, &str, Breaker)> = vec![
        (
            "DirAvailable--etc-kubernetes-manifests",
            Severity::Error,
            "/etc/kubernetes/manifests is not empty",
            Box::new(|h| h.put("/etc/kubernetes/manifests/etcd.yaml", "x").unwrap()),
        ),
        (
            "FileAvailable--etc-kubernetes-kubelet.conf",
            Severity::Error,
            "/etc/kubernetes/kubelet.conf already exists",
            Box::new(|h| h.put("/etc/kubernetes/kubelet.conf", "x").unwrap()),
        ),
        (
            "FileAvailable--etc-kubernetes-bootstrap-kubelet.conf",
            Severity::Error,
            "/etc/kubernetes/bootstrap-kubelet.conf already exists",
            Box::new(|h| {
                h.put("/etc/kubernetes/bootstrap-kubelet.conf", "x")
                    .unwrap()
            }),
        ),
        (
            "FileAvailable--etc-kubernetes-pki-ca.crt",
            Severity::Error,
            "/etc/kubernetes/pki/ca.crt already exists",
            Box::new(|h| h.put("/etc/kubernetes/pki/ca.crt", "x").unwrap()),
        ),
        (
            "CRI",
            Severity::Error,
            "container runtime is not running",
            Box::new(|h| {
                h.remove_file(Path::new("/var/run/containerd/containerd.sock"))
                    .unwrap()
            }),
        ),
        (
            "Swap",
            Severity::Error,
            "does not set failSwapOn: false",
            Box::new(|h| {
                h.put(
                    "/proc/swaps",
                    "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n",
                )
                .unwrap()
            }),
        ),
        (
            "FileExisting-losetup",
            Severity::Error,
            "losetup not found in system path",
            Box::new(|h| h.remove_program("losetup")),
        ),
        (
            "FileExisting-cp",
            Severity::Error,
            "cp not found in system path",
            Box::new(|h| h.remove_program("cp")),
        ),
        (
            "SystemVerification",
            Severity::Error,
            "missing required cgroups: pids",
            Box::new(|h| {
                h.put("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu memory\n")
                    .unwrap()
            }),
        ),
        (
            "Hostname",
            Severity::Warning,
            "could not be reached",
            Box::new(|h| h.script("getent hosts worker-1", 2, "")),
        ),
        (
            "KubeletVersion",
            Severity::Error,
            "is lower than kubestrap can support",
            Box::new(|h| h.script("kubelet --version", 0, "Kubernetes v1.27.3\n")),
        ),
        (
            "Service-kubelet",
            Severity::Warning,
            "systemctl enable kubelet.service",
            Box::new(|h| h.script("systemctl is-enabled kubelet.service", 1, "disabled\n")),
        ),
        (
            "Port-10250",
            Severity::Error,
            "Port 10250 is in use",
            Box::new(|h| h.busy_port(10250)),
        ),
        (
            "FileContent--proc-sys-net-ipv4-ip_forward",
            Severity::Error,
            "contents are not set to 1",
            Box::new(|h| h.put("/proc/sys/net/ipv4/ip_forward", "0\n").unwrap()),
        ),
        (
            "HTTPProxy",
            Severity::Warning,
            "Connection to \"https://192.168.1.2\" uses proxy \"http://proxy:3128\"",
            Box::new(|h| h.set_env("https_proxy", "http://proxy:3128")),
        ),
        (
            "KernelModules",
            Severity::Warning,
            "br_netfilter not loaded",
            Box::new(|h| std::fs::remove_dir(h.root().join("sys/module/br_netfilter")).unwrap()),
        ),
        (
            "ContainerRuntimeVersion",
            Severity::Warning,
            "supports the CRI method RuntimeConfig",
            Box::new(|h| *h.runtime().runtime_config.lock().unwrap() = false),
        ),
    ];
    for (name, want, text, brk) in &cases {
        let h = good_join_host();
        brk(&h);
        let (s, msg) = sev(&h, &cfg, name);
        assert_eq!(s, *want, "{name}: {msg}");
        assert!(msg.contains(text), "{name}: {msg}");
        // Only the broken check changed.
        let others: Vec<_> = join_results(&h, &cfg)
            .into_values()
            .filter(|r| r.name != *name && r.severity != Severity::Pass)
            .map(|r| r.name)
            .collect();
        assert!(others.is_empty(), "{name} also broke {others:?}");
    }

    // A kubelet newer than kubestrap's newest minor passes: join knows no control-plane
    // version before discovery (kubeadm's join checks only the minimum).
    let h = good_join_host();
    h.script("kubelet --version", 0, "Kubernetes v1.40.0\n");
    assert_eq!(sev(&h, &cfg, "KubeletVersion").0, Severity::Pass);

    // A proxy that no_proxy exempts the endpoint from passes.
    let h = good_join_host();
    h.set_env("https_proxy", "http://proxy:3128");
    h.set_env("no_proxy", "localhost,192.168.1.0/24");
    assert_eq!(sev(&h, &cfg, "HTTPProxy").0, Severity::Pass);

    // A control-plane join does not check ca.crt (it is shared from the cluster).
    let mut cp = cfg.clone();
    cp.control_plane = Some(Default::default());
    let h = good_join_host();
    h.put("/etc/kubernetes/pki/ca.crt", "x").unwrap();
    assert!(!join_results(&h, &cp).contains_key("FileAvailable--etc-kubernetes-pki-ca.crt"));

    // An IPv6 endpoint checks IPv6 forwarding instead of IPv4.
    let v6 = join_cfg("[fd00::2]:6443");
    let h = good_join_host();
    let r = join_results(&h, &v6);
    assert!(!r.contains_key("FileContent--proc-sys-net-ipv4-ip_forward"));
    let f = &r["FileContent--proc-sys-net-ipv6-conf-default-forwarding"];
    assert_eq!(f.severity, Severity::Error);
    h.put("/proc/sys/net/ipv6/conf/default/forwarding", "1\n")
        .unwrap();
    assert_eq!(
        join_results(&h, &v6)["FileContent--proc-sys-net-ipv6-conf-default-forwarding"].severity,
        Severity::Pass
    );
}

#[test]
fn join_preflight_phase_events_and_ignore_list() {
    let run = |h: &kubestrap::host::FakeHost, ignore: &[&str]| {
        let mut cfg = join_cfg("192.168.1.2:6443");
        cfg.node_registration.ignore_preflight_errors =
            ignore.iter().map(|s| s.to_string()).collect();
        let (sink, mut rx) = EventSink::channel();
        let r = join::preflight::run(h, &cfg, &sink);
        (r, check_events(&drain(&mut rx)))
    };
    // A clean machine passes and reports every check as an Event::Check.
    let (r, evs) = run(&good_join_host(), &[]);
    r.unwrap();
    assert_eq!(evs.len(), 19, "{evs:?}");
    assert_eq!(evs[0].0, "IsPrivilegedUser", "the root check comes first");
    assert!(evs.iter().all(|(_, s, _)| *s == Severity::Pass));

    // A machine that joined before: kubelet.conf exists and the kubelet port is taken.
    let broken = || {
        let h = good_join_host();
        h.put("/etc/kubernetes/kubelet.conf", "x").unwrap();
        h.busy_port(10250);
        h
    };
    let (r, evs) = run(&broken(), &[]);
    let e = r.unwrap_err();
    assert!(
        e.message.contains("[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists")
            && e.message.contains("[ERROR Port-10250]: Port 10250 is in use"),
        "{}",
        e.message
    );
    let hint = e.hint.unwrap_or_default();
    assert!(
        hint.contains(
            "--ignore-preflight-errors=FileAvailable--etc-kubernetes-kubelet.conf,Port-10250"
        ) && hint.contains("kubestrap reset"),
        "{hint}"
    );
    assert!(
        evs.iter()
            .any(|(n, s, i)| n == "Port-10250" && *s == Severity::Error && !i)
    );

    // Names compare case-insensitively; ignored errors stay errors, marked ignored.
    let (r, evs) = run(
        &broken(),
        &["fileavailable--etc-kubernetes-kubelet.conf", "PORT-10250"],
    );
    r.unwrap();
    for n in ["FileAvailable--etc-kubernetes-kubelet.conf", "Port-10250"] {
        assert!(
            evs.iter()
                .any(|(x, s, i)| x == n && *s == Severity::Error && *i),
            "{n}: {evs:?}"
        );
    }
    // Ignoring only one leaves the other fatal.
    let (r, _) = run(&broken(), &["Port-10250"]);
    let e = r.unwrap_err();
    assert!(!e.message.contains("Port-10250") && e.message.contains("kubelet.conf"));

    // `all` ignores everything, the root check included.
    let h = broken();
    h.set_facts(|f| f.euid = 1000);
    let (r, evs) = run(&h, &["all"]);
    r.unwrap();
    assert!(
        evs.iter()
            .any(|(n, s, i)| n == "IsPrivilegedUser" && *s == Severity::Error && *i)
    );
    // Without it, the root check stops preflight alone, before any other check.
    let (r, evs) = run(&h, &[]);
    let e = r.unwrap_err();
    assert!(
        e.message.contains("[ERROR IsPrivilegedUser]"),
        "{}",
        e.message
    );
    assert_eq!(evs.len(), 1, "{evs:?}");

    // Unknown names and `all` mixed with names are rejected, as for init.
    let (r, evs) = run(&good_join_host(), &["Port-6443"]);
    let e = r.unwrap_err();
    assert!(
        e.message
            .contains("\"Port-6443\" is not a preflight check of join"),
        "{}",
        e.message
    );
    assert!(evs.is_empty());
    let (r, _) = run(&good_join_host(), &["Swapp"]);
    assert!(
        r.unwrap_err().message.contains("did you mean \"Swap\"?"),
        "typo gets a suggestion"
    );
    let (r, _) = run(&good_join_host(), &["all", "Swap"]);
    assert!(
        r.unwrap_err()
            .message
            .contains("don't specify individual checks if 'all' is used")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_discovery_ends_promptly_as_cancelled() {
    // An endpoint that accepts TCP connections but never answers: each discovery request
    // would hang for the request timeout (10 s) and discovery would retry for 5 minutes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = silent.local_addr().unwrap().to_string();
    let pin = format!("sha256:{}", "ab".repeat(32));
    let mut cfg = config(
        &format!("kubeadm join {ep} --token {TOKEN} --discovery-token-ca-cert-hash {pin}"),
        Duration::from_secs(300),
    );
    cfg.skip_phases = vec!["preflight".into()];
    let dir = tempfile::tempdir().unwrap();
    let (events, mut rx) = EventSink::channel();
    let job = JoinJob {
        cfg,
        host: Arc::new(RealHost::new(dir.path(), false).unwrap()),
        events,
        tuning: Tuning::default(),
        cancel: Default::default(),
    };
    let cancel = job.cancel.clone();
    let run = tokio::spawn(async move { join::run(&job).await });
    // Cancel 300 ms after discovery starts (bounded wait for the start).
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(ev) = rx.recv().await {
            let go = matches!(&ev, Event::PhaseStarted { phase } if phase == "discovery");
            seen.push(ev);
            if go {
                break;
            }
        }
    })
    .await
    .expect("discovery starts");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    cancel.cancel();
    let r = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("join ends after the cancel (bounded)")
        .unwrap();
    let took = t0.elapsed();
    seen.extend(drain(&mut rx));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let f = r.expect_err("a cancelled join is not a success");
    assert_eq!(f.phase, "discovery");
    assert!(f.error.is_cancelled(), "{f}");
    assert!(!f.error.chain().contains("timeout"), "{f}");
    assert!(
        !seen.iter().any(|e| matches!(e, Event::PhaseFailed { .. })),
        "{seen:?}"
    );
    assert_eq!(
        seen.last(),
        Some(&Event::Finished {
            outcome: RunOutcome::Cancelled {
                after_phase: None,
                interrupted: Some("discovery".into()),
                completed: vec![],
            }
        }),
        "{seen:?}"
    );
    drop(silent);
}

/// A control-plane join of a cluster without a controlPlaneEndpoint stops in
/// control-plane-prepare with kubeadm's message, before any certificate is downloaded or
/// written; the certificate key appears in no event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_join_needs_a_control_plane_endpoint() {
    let c = cluster().await;
    let (dir, host) = node_host(&c, "cp2");
    let ep = c.server.addr.to_string();
    let key = "ab".repeat(32);
    let cfg = config(
        &format!(
            "kubestrap join {ep} --token {TOKEN} --discovery-token-ca-cert-hash {} --control-plane --certificate-key {key} --apiserver-advertise-address 192.0.2.11 --ignore-preflight-errors all",
            c.pin
        ),
        Duration::from_secs(10),
    );
    assert!(cfg.control_plane.is_some());
    let (r, events) = run_join(cfg, host).await;
    let f = r.expect_err("a cluster without controlPlaneEndpoint takes no control-plane node");
    assert_eq!(f.phase, "control-plane-prepare", "{f}");
    assert!(
        f.error.message.contains(
            "unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address"
        ),
        "{f}"
    );
    assert!(
        f.error
            .hint
            .as_deref()
            .unwrap_or("")
            .contains("--control-plane-endpoint")
    );
    assert!(!dir.path().join("etc/kubernetes/pki/ca.key").exists());
    assert!(
        !format!("{events:?}").contains(&key),
        "the key reached an event"
    );
}

/// A control-plane dry run against a cluster with external etcd and a controlPlaneEndpoint,
/// set up by the real init phases (upload-config, bootstrap-token, upload-certs): the
/// kubeadm-certs Secret is read with the bootstrap token under the strict RBAC and decrypted;
/// the shared files and the external etcd client files land where the configuration names
/// them; check-etcd and etcd-join say external etcd needs no local member; the kube-apiserver
/// manifest names the external endpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_dry_run_with_external_etcd_downloads_the_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let pki = TestPki::new(&root);
    let server = TestApiServer::start(&pki);
    pki.write_kubeconfigs(&server.url());
    control_plane_node(&server);
    let ext_ca = pki.ca.pair.cert_pem.clone();
    let ext_client = pki.ca.client("etcd-client", &[]);
    for (p, data) in [
        ("etc/etcd/ca.crt", ext_ca.as_str()),
        ("etc/etcd/client.crt", ext_client.cert_pem.as_str()),
        ("etc/etcd/client.key", ext_client.key_pem.as_str()),
    ] {
        std::fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
        std::fs::write(root.join(p), data).unwrap();
    }
    let key = "cd".repeat(32);
    let mut cfg = example_init_config("v1.36.3");
    cfg.init.bootstrap_tokens[0].token = TOKEN.into();
    cfg.init.certificate_key = key.clone();
    cfg.cluster.control_plane_endpoint = server.addr.to_string();
    cfg.cluster.etcd.local = None;
    cfg.cluster.etcd.external = Some(kubestrap::config::ExternalEtcd {
        endpoints: vec!["https://192.0.2.50:2379".into()],
        ca_file: "/etc/etcd/ca.crt".into(),
        cert_file: "/etc/etcd/client.crt".into(),
        key_file: "/etc/etcd/client.key".into(),
        ..Default::default()
    });
    let host = Arc::new(RealHost::new(&root, false).unwrap());
    let ctx = PhaseCtx::new(Arc::new(cfg), host, EventSink::discard());
    ctx.state.lock().unwrap().upload_certs = true;
    upload_config::run(&ctx, "all")
        .await
        .expect("upload-config");
    bootstrap_token::run(&ctx, "")
        .await
        .expect("bootstrap-token");
    kubestrap::phases::upload_certs::run(&ctx, "")
        .await
        .expect("upload-certs");
    server.allow_nodes_to_get_nodes();
    let pin = kubestrap::pki::ca_pin(&pki.ca.pair.cert_der).unwrap();

    let node = tempfile::tempdir().unwrap();
    support::roots::ready_node(node.path());
    let mut jcfg = config(
        &format!(
            "kubestrap join {} --token {TOKEN} --discovery-token-ca-cert-hash {pin} --control-plane --certificate-key {key} --apiserver-advertise-address 192.0.2.11 --ignore-preflight-errors all --dry-run",
            server.addr
        ),
        Duration::from_secs(10),
    );
    jcfg.node_registration.name = "cp2".into();
    let nhost: Arc<dyn Host> = Arc::new(RealHost::new(node.path(), true).unwrap());
    let (r, events) = run_join(jcfg, nhost).await;
    let r = r.unwrap_or_else(|f| panic!("{f}\n{events:#?}"));
    assert_eq!(r.control_plane, Some(false), "external etcd");
    assert!(!r.joined, "a dry run starts nothing");
    let logs: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Log { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    for want in [
        "[download-certs] Downloading the certificates in Secret \"kubeadm-certs\"",
        "[check-etcd] Skipping etcd check in external mode",
        "[control-plane-join] Using external etcd - no local stacked instance added",
    ] {
        assert!(
            logs.iter().any(|l| l.contains(want)),
            "no {want:?} in {logs:#?}"
        );
    }
    let n = node.path();
    assert_eq!(read(n, "/etc/etcd/ca.crt"), ext_ca);
    assert_eq!(read(n, "/etc/etcd/client.key"), ext_client.key_pem);
    assert_eq!(mode(n, "/etc/etcd/client.key") & 0o777, 0o600);
    assert_eq!(read(n, "/etc/kubernetes/pki/ca.crt"), pki.ca.pair.cert_pem);
    assert_eq!(mode(n, "/etc/kubernetes/pki/sa.key") & 0o777, 0o600);
    let apiserver = read(n, "/etc/kubernetes/manifests/kube-apiserver.yaml");
    assert!(
        apiserver.contains("--etcd-servers=https://192.0.2.50:2379"),
        "{apiserver}"
    );
    assert!(
        apiserver.contains("--advertise-address=192.0.2.11"),
        "{apiserver}"
    );
    assert!(!n.join("etc/kubernetes/manifests/etcd.yaml").exists());
    assert!(
        !format!("{events:?}").contains(&key),
        "the key reached an event"
    );
}

/// Issue 12 item 12: `token create` errors name the address tried (and the cause), and its
/// flags have help.
#[test]
fn token_create_errors_name_the_address_tried_and_its_flags_have_help() {
    let root = tempfile::tempdir().unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    std::fs::create_dir_all(root.path().join("etc/kubernetes")).unwrap();
    std::fs::write(
        root.path().join("etc/kubernetes/admin.conf"),
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:{port}\ncontexts:\n- name: k\n  context: {{cluster: k, user: u}}\ncurrent-context: k\nusers:\n- name: u\n  user: {{token: abc}}\n"),
    )
    .unwrap();
    let r = root.path().to_str().unwrap();
    for cmd in [&["token", "create"][..], &["token", "list"][..]] {
        let mut args = vec!["--root", r];
        args.extend_from_slice(cmd);
        let (code, out, err) = kubestrap(&args);
        assert_eq!(code, 1, "{out}{err}");
        assert!(
            err.contains(&format!(
                "cannot reach the API server at https://127.0.0.1:{port}: dial tcp 127.0.0.1:{port}: connect: connection refused"
            )) && !err.contains("ServiceError")
                && err.contains(&format!(
                    "(tried https://127.0.0.1:{port} from --kubeconfig /etc/kubernetes/admin.conf)"
                )),
            "{cmd:?}: {err}"
        );
    }
    let (_, help, _) = kubestrap(&["token", "create", "--help"]);
    for flag in [
        "--print-join-command",
        "--ttl",
        "--usages",
        "--groups",
        "--description",
        "--kubeconfig",
    ] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag}: {help}"));
        let words_after = line.trim_start()[flag.len()..]
            .split_whitespace()
            .filter(|w| !w.starts_with('<') && !w.starts_with('['))
            .count();
        assert!(words_after >= 3, "{flag} has no help: {line:?}");
    }
}

/// Finding 6: SIGTERM of `join --dry-run --non-interactive` (waiting in discovery on a closed
/// loopback port) cancels the run like Ctrl-C: the private dry-run directory is removed and
/// the exit code is the one of an interrupted run (1), not death by the signal.
#[test]
fn sigterm_cancels_a_dry_run_join_and_removes_its_directory() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path().join("tmp");
    let logs = t.path().join("logs");
    std::fs::create_dir_all(&tmp).unwrap();
    let endpoint = format!("127.0.0.1:{port}");
    let r = support::roots::sigterm_when(
        &[
            "join",
            &endpoint,
            "--token",
            TOKEN,
            "--discovery-token-unsafe-skip-ca-verification",
            "--dry-run",
            "--non-interactive",
        ],
        &[
            ("TMPDIR", tmp.as_path()),
            ("KUBESTRAP_LOG_DIR", logs.as_path()),
            ("XDG_STATE_HOME", t.path()),
        ],
        t.path(),
        "connection refused; retrying",
    );
    assert_eq!(
        r.code,
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stderr.contains("[join] SIGTERM: cancelling"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("Cancelled during phase discovery"),
        "{}",
        r.stderr
    );
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left behind in TMPDIR: {left:?}");
    assert!(r.stdout.contains("and removed"), "{}", r.stdout);
    // Finding 7: no stray space before the semicolon.
    assert!(
        r.stdout.contains("[dryrun] Writing files under ")
            && r.stdout.contains("; nothing is started"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(" ; nothing"), "{}", r.stdout);
}
