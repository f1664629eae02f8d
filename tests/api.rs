//! The API part of `kubestrap init` against the strict test apiserver (tests/support):
//! every object and its contents, idempotent re-runs, the health wait, its timeout message,
//! bootstrap-token and anonymous access, kubectl with admin.conf, and kubernetes-validate on
//! the dry-run output.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kubestrap::config::InitConfig;
use kubestrap::config::defaults::example_init_config;
use kubestrap::engine::{Event, EventSink, PhaseCtx, ProbeOutcome};
use kubestrap::host::cri::{
    Container, ContainerDetail, ContainerRuntime, ContainerState, ScriptedRuntime,
};
use kubestrap::host::{CmdOutput, Host, HostFacts, RealHost};
use kubestrap::phases::{
    addons, bootstrap_token, kubelet_finalize, mark_control_plane, show_join, upload_certs,
    upload_config, wait_control_plane,
};
use serde_json::{Value, json};
use support::apiserver::TestApiServer;
use support::pki::TestPki;

const VERSION: &str = "v1.36.3";

fn config() -> InitConfig {
    let mut cfg = example_init_config(VERSION);
    cfg.cluster.networking.pod_subnet = "192.168.0.0/16".into();
    cfg
}

struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
    pki: TestPki,
    server: TestApiServer,
    ctx: PhaseCtx,
    rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
}

fn env(cfg: InitConfig) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let pki = TestPki::new(&root);
    let server = TestApiServer::start(&pki);
    pki.write_kubeconfigs(&server.url());
    let host = Arc::new(RealHost::new(&root, false).unwrap());
    let (sink, rx) = EventSink::channel();
    let ctx = PhaseCtx::new(Arc::new(cfg), host, sink);
    Env {
        _dir: dir,
        root,
        pki,
        server,
        ctx,
        rx,
    }
}

fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

/// The API phases of init in kubeadm's order (wait-control-plane aside).
async fn api_phases(ctx: &PhaseCtx) {
    upload_config::run(ctx, "all").await.expect("upload-config");
    upload_certs::run(ctx, "").await.expect("upload-certs");
    mark_control_plane::run(ctx, "")
        .await
        .expect("mark-control-plane");
    bootstrap_token::run(ctx, "")
        .await
        .expect("bootstrap-token");
    kubelet_finalize::run(ctx, "all")
        .await
        .expect("kubelet-finalize");
    addons::run(ctx, "all").await.expect("addons");
    show_join::run(ctx, "").await.expect("show-join-command");
}

fn node(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
           "spec": {"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]}})
}

fn data_str(obj: &Value, key: &str) -> String {
    let b = obj["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no data key {key} in {obj}"));
    String::from_utf8(STANDARD.decode(b).unwrap()).unwrap()
}

fn subjects(obj: &Value) -> Vec<(String, String)> {
    obj["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_string(),
                s["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every object kubeadm init creates (besides the token-specific Secrets), as (resource, ns, name).
fn expected_objects() -> BTreeSet<(String, String, String)> {
    let ks = "kube-system";
    let items: &[(&str, &str, &str)] = &[
        ("clusterrolebindings", "", "kubeadm:cluster-admins"),
        ("configmaps", ks, "kubeadm-config"),
        ("roles", ks, "kubeadm:nodes-kubeadm-config"),
        ("rolebindings", ks, "kubeadm:nodes-kubeadm-config"),
        ("configmaps", ks, "kubelet-config"),
        ("roles", ks, "kubeadm:kubelet-config"),
        ("rolebindings", ks, "kubeadm:kubelet-config"),
        ("secrets", ks, "kubeadm-certs"),
        ("roles", ks, "kubeadm:kubeadm-certs"),
        ("rolebindings", ks, "kubeadm:kubeadm-certs"),
        ("clusterroles", "", "kubeadm:get-nodes"),
        ("clusterrolebindings", "", "kubeadm:get-nodes"),
        ("clusterrolebindings", "", "kubeadm:kubelet-bootstrap"),
        (
            "clusterrolebindings",
            "",
            "kubeadm:node-autoapprove-bootstrap",
        ),
        (
            "clusterrolebindings",
            "",
            "kubeadm:node-autoapprove-certificate-rotation",
        ),
        // From v1.36 (VERSION is v1.36.3).
        (
            "clusterrolebindings",
            "",
            "kubeadm:apiserver-kubelet-client",
        ),
        ("configmaps", "kube-public", "cluster-info"),
        (
            "roles",
            "kube-public",
            "kubeadm:bootstrap-signer-clusterinfo",
        ),
        (
            "rolebindings",
            "kube-public",
            "kubeadm:bootstrap-signer-clusterinfo",
        ),
        ("configmaps", ks, "coredns"),
        ("clusterroles", "", "system:coredns"),
        ("clusterrolebindings", "", "system:coredns"),
        ("serviceaccounts", ks, "coredns"),
        ("deployments", ks, "coredns"),
        ("services", ks, "kube-dns"),
        ("configmaps", ks, "kube-proxy"),
        ("daemonsets", ks, "kube-proxy"),
        ("serviceaccounts", ks, "kube-proxy"),
        ("clusterrolebindings", "", "kubeadm:node-proxier"),
        ("roles", ks, "kube-proxy"),
        ("rolebindings", ks, "kube-proxy"),
    ];
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_api_init_creates_kubeadm_objects_and_reruns_change_nothing() {
    let mut e = env(config());
    e.ctx.state.lock().unwrap().upload_certs = true;
    e.server.insert("nodes", "", node("cp1")).unwrap();
    let before: BTreeSet<_> = e.server.all().into_keys().collect();

    api_phases(&e.ctx).await;
    let events = drain(&mut e.rx);

    // admin.conf was Forbidden until kubeadm:cluster-admins existed; super-admin.conf created it.
    let log = e.server.shared.log.lock().unwrap().clone();
    let crb_posts: Vec<_> = log
        .iter()
        .filter(|l| l.method == "POST" && l.path.ends_with("/clusterrolebindings"))
        .take(2)
        .map(|l| (l.user.clone(), l.status))
        .collect();
    assert_eq!(
        crb_posts,
        vec![
            ("kubernetes-admin".to_string(), 403),
            ("kubernetes-super-admin".to_string(), 201)
        ]
    );
    assert!(
        log.iter()
            .filter(|l| l.user == "kubernetes-super-admin")
            .count()
            == 1,
        "super-admin.conf used once only"
    );

    let all = e.server.all();
    let token = e.ctx.state.lock().unwrap().tokens[0].clone();
    let (tid, tsecret) = token.split_once('.').unwrap();
    let created: BTreeSet<_> = all
        .keys()
        .filter(|k| !before.contains(k))
        .cloned()
        .collect();
    let token_secrets: Vec<_> = created
        .iter()
        .filter(|(r, _, n)| r == "secrets" && n.starts_with("bootstrap-token-"))
        .cloned()
        .collect();
    // The init token and the short-lived token owning kubeadm-certs.
    assert_eq!(token_secrets.len(), 2, "{token_secrets:?}");
    let rest: BTreeSet<_> = created
        .iter()
        .filter(|k| !token_secrets.contains(k))
        .cloned()
        .collect();
    assert_eq!(rest, expected_objects());
    let get =
        |r: &str, ns: &str, n: &str| all[&(r.to_string(), ns.to_string(), n.to_string())].clone();

    // upload-config
    let kc = get("configmaps", "kube-system", "kubeadm-config");
    let cc: serde_yaml::Value =
        serde_yaml::from_str(kc["data"]["ClusterConfiguration"].as_str().unwrap()).unwrap();
    assert_eq!(cc["apiVersion"].as_str(), Some("kubeadm.k8s.io/v1beta4"));
    assert_eq!(cc["kind"].as_str(), Some("ClusterConfiguration"));
    assert_eq!(cc["kubernetesVersion"].as_str(), Some(VERSION));
    assert_eq!(
        cc["networking"]["podSubnet"].as_str(),
        Some("192.168.0.0/16")
    );
    let r = get("roles", "kube-system", "kubeadm:nodes-kubeadm-config");
    assert_eq!(
        r["rules"],
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["kubeadm-config"]}])
    );
    assert_eq!(
        subjects(&get(
            "rolebindings",
            "kube-system",
            "kubeadm:nodes-kubeadm-config"
        )),
        vec![
            (
                "Group".into(),
                "system:bootstrappers:kubeadm:default-node-token".into()
            ),
            ("Group".into(), "system:nodes".into())
        ]
    );
    let kl = get("configmaps", "kube-system", "kubelet-config");
    let kubelet = kl["data"]["kubelet"].as_str().unwrap();
    let kv: serde_yaml::Value = serde_yaml::from_str(kubelet).unwrap();
    assert_eq!(kv["kind"].as_str(), Some("KubeletConfiguration"));
    assert_eq!(kv["clusterDNS"][0].as_str(), Some("10.96.0.10"));
    assert_eq!(kv["clusterDomain"].as_str(), Some("cluster.local"));
    {
        use sha2::Digest;
        let want = format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(kubelet.as_bytes()))
        );
        assert_eq!(
            kl["metadata"]["annotations"]["kubeadm.kubernetes.io/component-config.hash"],
            json!(want)
        );
    }

    // upload-certs: every shared file decrypts with the certificate key; owned by a 2 h token.
    let key = e
        .ctx
        .state
        .lock()
        .unwrap()
        .certificate_key
        .clone()
        .expect("certificate key");
    assert_eq!(key.len(), 64);
    let kb = upload_certs::parse_certificate_key(&key).unwrap();
    let certs = get("secrets", "kube-system", "kubeadm-certs");
    let keys: BTreeSet<String> = certs["data"].as_object().unwrap().keys().cloned().collect();
    let want_keys: BTreeSet<String> = [
        "ca.crt",
        "ca.key",
        "front-proxy-ca.crt",
        "front-proxy-ca.key",
        "sa.key",
        "sa.pub",
        "etcd-ca.crt",
        "etcd-ca.key",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(keys, want_keys);
    let enc = STANDARD
        .decode(certs["data"]["ca.crt"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        upload_certs::decrypt(&kb, &enc).unwrap(),
        e.pki.ca.pair.cert_pem.as_bytes()
    );
    let enc = STANDARD
        .decode(certs["data"]["etcd-ca.key"].as_str().unwrap())
        .unwrap();
    let on_disk = std::fs::read(e.root.join("etc/kubernetes/pki/etcd/ca.key")).unwrap();
    assert_eq!(upload_certs::decrypt(&kb, &enc).unwrap(), on_disk);
    let owner = &certs["metadata"]["ownerReferences"][0];
    let owner_secret = get("secrets", "kube-system", owner["name"].as_str().unwrap());
    assert_eq!(owner["uid"], owner_secret["metadata"]["uid"]);
    assert_eq!(owner["kind"], "Secret");
    assert!(data_str(&owner_secret, "description").contains("kubeadm-certs"));

    // mark-control-plane: labels and taints added, existing taint kept.
    let n = get("nodes", "", "cp1");
    assert_eq!(
        n["metadata"]["labels"]["node-role.kubernetes.io/control-plane"],
        ""
    );
    assert_eq!(
        n["metadata"]["labels"]["node.kubernetes.io/exclude-from-external-load-balancers"],
        ""
    );
    assert_eq!(n["metadata"]["labels"]["kubernetes.io/hostname"], "cp1");
    // NodeLocalCRISocket is on (and from v1.36 the Node is never annotated): no annotation.
    assert_eq!(
        n["metadata"]["annotations"]["kubeadm.alpha.kubernetes.io/cri-socket"],
        serde_json::Value::Null
    );
    assert_eq!(
        n["spec"]["taints"],
        json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}, {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    );

    // bootstrap-token
    let ts = get("secrets", "kube-system", &format!("bootstrap-token-{tid}"));
    assert_eq!(ts["type"], "bootstrap.kubernetes.io/token");
    assert_eq!(data_str(&ts, "token-id"), tid);
    assert_eq!(data_str(&ts, "token-secret"), tsecret);
    assert_eq!(data_str(&ts, "usage-bootstrap-signing"), "true");
    assert_eq!(data_str(&ts, "usage-bootstrap-authentication"), "true");
    assert_eq!(
        data_str(&ts, "auth-extra-groups"),
        "system:bootstrappers:kubeadm:default-node-token"
    );
    let exp = time::OffsetDateTime::parse(
        &data_str(&ts, "expiration"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let started = time::OffsetDateTime::from(e.ctx.started_at);
    assert!((exp - started - time::Duration::hours(24)).abs() < time::Duration::seconds(1));
    assert!(data_str(&ts, "expiration").ends_with('Z'));
    for (name, role, who) in [
        (
            "kubeadm:get-nodes",
            "kubeadm:get-nodes",
            "system:bootstrappers:kubeadm:default-node-token",
        ),
        (
            "kubeadm:kubelet-bootstrap",
            "system:node-bootstrapper",
            "system:bootstrappers:kubeadm:default-node-token",
        ),
        (
            "kubeadm:node-autoapprove-bootstrap",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            "system:bootstrappers:kubeadm:default-node-token",
        ),
        (
            "kubeadm:node-autoapprove-certificate-rotation",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            "system:nodes",
        ),
    ] {
        let b = get("clusterrolebindings", "", name);
        assert_eq!(
            b["roleRef"],
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}),
            "{name}"
        );
        assert_eq!(
            subjects(&b),
            vec![("Group".to_string(), who.to_string())],
            "{name}"
        );
    }
    // From v1.36 the API server's kubelet client is authorised by name, not by group.
    let b = get(
        "clusterrolebindings",
        "",
        "kubeadm:apiserver-kubelet-client",
    );
    assert_eq!(
        b["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:kubelet-api-admin"})
    );
    assert_eq!(
        subjects(&b),
        vec![(
            "User".to_string(),
            "kube-apiserver-kubelet-client".to_string()
        )]
    );
    let ci = get("configmaps", "kube-public", "cluster-info");
    let kubeconfig = ci["data"]["kubeconfig"].as_str().unwrap();
    let kcv: serde_yaml::Value = serde_yaml::from_str(kubeconfig).unwrap();
    assert_eq!(kcv["clusters"][0]["name"].as_str(), Some(""));
    assert_eq!(
        kcv["clusters"][0]["cluster"]["server"].as_str(),
        Some(e.server.url().as_str())
    );
    assert_eq!(
        STANDARD
            .decode(
                kcv["clusters"][0]["cluster"]["certificate-authority-data"]
                    .as_str()
                    .unwrap()
            )
            .unwrap(),
        e.pki.ca.pair.cert_pem.as_bytes()
    );
    assert!(kcv["users"].is_null() && kcv["contexts"].is_null());
    let jws = ci["data"][format!("jws-kubeconfig-{tid}")]
        .as_str()
        .expect("signed by the bootstrap signer");
    assert!(kubestrap::jws::verify_detached_signature(
        kubeconfig, jws, tid, tsecret
    ));
    assert_eq!(
        get(
            "roles",
            "kube-public",
            "kubeadm:bootstrap-signer-clusterinfo"
        )["rules"],
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["cluster-info"]}])
    );
    assert_eq!(
        subjects(&get(
            "rolebindings",
            "kube-public",
            "kubeadm:bootstrap-signer-clusterinfo"
        )),
        vec![("User".into(), "system:anonymous".into())]
    );

    // addons
    let d = get("deployments", "kube-system", "coredns");
    assert_eq!(d["metadata"]["labels"]["k8s-app"], "kube-dns");
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.k8s.io/coredns/coredns:v1.14.2"
    );
    assert_eq!(
        d["spec"]["template"]["spec"]["priorityClassName"],
        "system-cluster-critical"
    );
    assert_eq!(d["spec"]["template"]["spec"]["dnsPolicy"], "Default");
    let corefile = get("configmaps", "kube-system", "coredns")["data"]["Corefile"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        corefile.contains("kubernetes cluster.local in-addr.arpa ip6.arpa {")
            && corefile.contains("disable denial cluster.local")
    );
    let svc = get("services", "kube-system", "kube-dns");
    assert_eq!(svc["spec"]["clusterIP"], "10.96.0.10");
    let ports: Vec<(i64, String)> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["port"].as_i64().unwrap(),
                p["protocol"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        vec![(53, "UDP".into()), (53, "TCP".into()), (9153, "TCP".into())]
    );
    assert_eq!(svc["metadata"]["annotations"]["prometheus.io/port"], "9153");
    let kp = get("configmaps", "kube-system", "kube-proxy");
    assert_eq!(kp["metadata"]["labels"]["app"], "kube-proxy");
    let kpc: serde_yaml::Value =
        serde_yaml::from_str(kp["data"]["config.conf"].as_str().unwrap()).unwrap();
    assert_eq!(kpc["clusterCIDR"].as_str(), Some("192.168.0.0/16"));
    assert_eq!(kpc["bindAddress"].as_str(), Some("0.0.0.0"));
    assert!(
        kp["data"]["kubeconfig.conf"]
            .as_str()
            .unwrap()
            .contains("server: https://192.168.1.10:6443")
    );
    let ds = get("daemonsets", "kube-system", "kube-proxy");
    assert_eq!(
        ds["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("registry.k8s.io/kube-proxy:{VERSION}")
    );
    assert_eq!(ds["spec"]["template"]["spec"]["hostNetwork"], true);
    assert_eq!(
        get("clusterrolebindings", "", "kubeadm:node-proxier")["roleRef"]["name"],
        "system:node-proxier"
    );

    // show-join-command
    let info = events
        .iter()
        .find_map(|ev| match ev {
            Event::JoinReady(i) => Some(i.clone()),
            _ => None,
        })
        .expect("JoinReady");
    let pin = show_join::ca_cert_hashes(e.pki.ca.pair.cert_pem.as_bytes()).unwrap();
    let endpoint = e.server.url().trim_start_matches("https://").to_string();
    assert_eq!(
        info.worker_command("kubeadm"),
        format!(
            "kubeadm join {endpoint} --token {token} --discovery-token-ca-cert-hash {}",
            pin[0]
        )
    );
    assert!(
        info.control_plane_command("kubestrap").is_none(),
        "no controlPlaneEndpoint → no control-plane command"
    );
    // The pin is the one openssl computes from ca.crt.
    let ca_path = e.root.join("etc/kubernetes/pki/ca.crt");
    let sh = format!(
        "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform der | sha256sum",
        ca_path.display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&sh)
        .output()
        .unwrap();
    assert_eq!(
        format!(
            "sha256:{}",
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .unwrap()
        ),
        pin[0]
    );

    // kubectl with admin.conf reads cluster-info from the test apiserver.
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("kubectl")
        .env("HOME", home.path())
        .args(["--kubeconfig"])
        .arg(e.root.join("etc/kubernetes/admin.conf"))
        .args([
            "--request-timeout=10s",
            "get",
            "configmap",
            "-n",
            "kube-public",
            "cluster-info",
            "-o",
            "yaml",
        ])
        .output()
        .expect("kubectl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kv: serde_yaml::Value = serde_yaml::from_str(&stdout).unwrap();
    assert_eq!(kv["metadata"]["name"].as_str(), Some("cluster-info"));
    assert_eq!(kv["data"]["kubeconfig"].as_str(), Some(kubeconfig));
    assert!(kv["data"][format!("jws-kubeconfig-{tid}").as_str()].is_string());

    // Re-run (as after a failure in the middle): nothing changes, nothing is duplicated.
    // upload-certs is left out: like kubeadm it mints a new owner token and fresh nonces.
    e.ctx.state.lock().unwrap().upload_certs = false;
    let snapshot = e.server.all();
    api_phases(&e.ctx).await;
    let after = e.server.all();
    assert_eq!(
        snapshot.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (k, v) in &snapshot {
        assert_eq!(v, &after[k], "{k:?} changed on re-run");
    }
    // A user's CoreDNS scale survives a re-run.
    {
        let key = (
            "deployments".to_string(),
            "kube-system".to_string(),
            "coredns".to_string(),
        );
        let mut store = e.server.shared.store.lock().unwrap();
        store.get_mut(&key).unwrap()["spec"]["replicas"] = json!(5);
    }
    addons::run(&e.ctx, "coredns").await.unwrap();
    assert_eq!(
        e.server
            .get("deployments", "kube-system", "coredns")
            .unwrap()["spec"]["replicas"],
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_token_authenticates_and_anonymous_reads_only_cluster_info() {
    let mut cfg = config();
    cfg.init.bootstrap_tokens[0].token = "abcdef.0123456789abcdef".into();
    let e = env(cfg);
    e.server.insert("nodes", "", node("cp1")).unwrap();
    upload_config::run(&e.ctx, "all").await.unwrap();
    bootstrap_token::run(&e.ctx, "").await.unwrap();

    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only(
            reqwest::Certificate::from_pem_bundle(e.pki.ca.pair.cert_pem.as_bytes()).unwrap(),
        )
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = e.server.url();
    let status = |path: &str, token: Option<&str>| {
        let mut r = client.get(format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    let ci = "/api/v1/namespaces/kube-public/configmaps/cluster-info";
    let kcfg = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config";
    // Anonymous: health, version and cluster-info only.
    for p in ["/healthz", "/livez", "/readyz", "/version", ci] {
        assert_eq!(status(p, None).await, 200, "anonymous {p}");
    }
    for p in [
        kcfg,
        "/api/v1/namespaces/kube-public/configmaps",
        "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef",
        "/api/v1/nodes/cp1",
        "/api",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    ] {
        assert_eq!(status(p, None).await, 403, "anonymous {p}");
    }
    // The token: what kubeadm's RBAC grants its group, nothing more.
    let tok = Some("abcdef.0123456789abcdef");
    assert_eq!(status(kcfg, tok).await, 200);
    assert_eq!(
        status(
            "/api/v1/namespaces/kube-system/configmaps/kubelet-config",
            tok
        )
        .await,
        200
    );
    assert_eq!(status("/api/v1/nodes/cp1", tok).await, 200);
    assert_eq!(
        status(ci, tok).await,
        403,
        "cluster-info is granted to system:anonymous only"
    );
    assert_eq!(
        status(
            "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef",
            tok
        )
        .await,
        403
    );
    assert_eq!(
        status("/api/v1/namespaces/kube-system/configmaps/coredns", tok).await,
        403
    );
    // Wrong secret or unknown id: 401.
    assert_eq!(status(kcfg, Some("abcdef.0123456789abcdee")).await, 401);
    assert_eq!(status(kcfg, Some("zzzzzz.0123456789abcdef")).await, 401);
    // The join side's check: the signature the test signer stored verifies with the token.
    let body: Value = client
        .get(format!("{base}{ci}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kubeconfig = body["data"]["kubeconfig"].as_str().unwrap();
    let sig = body["data"]["jws-kubeconfig-abcdef"].as_str().unwrap();
    assert!(kubestrap::jws::verify_detached_signature(
        kubeconfig,
        sig,
        "abcdef",
        "0123456789abcdef"
    ));
    assert_eq!(sig.matches('.').count(), 2);
    assert!(sig.contains(".."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_server_rejects_bad_objects_and_stale_updates() {
    let e = env(config());
    let s = &e.server;
    let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}});
    assert!(
        s.insert("configmaps", "kube-system", cm("Bad_Name"))
            .is_err()
    );
    let mut typo = cm("typo");
    typo["dataa"] = json!({"x": "y"});
    let err = s.insert("configmaps", "kube-system", typo).unwrap_err();
    assert!(err.contains("unknown field \\\"dataa\\\""), "{err}");
    let mut wrong_type = cm("wrong");
    wrong_type["data"] = json!({"a": 1});
    assert!(s.insert("configmaps", "kube-system", wrong_type).is_err());
    s.insert("configmaps", "kube-system", cm("ok")).unwrap();
    assert!(
        s.insert("configmaps", "kube-system", cm("ok"))
            .unwrap_err()
            .contains("AlreadyExists")
    );

    // Through kube-rs with super-admin.conf: stale resourceVersion → 409, missing → 404, list by label.
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, ListParams, PostParams};
    let client = kubestrap::kubeapi::client_from_kubeconfig(
        &e.ctx,
        Path::new("/etc/kubernetes/super-admin.conf"),
    )
    .await
    .unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "kube-system");
    let mut got = api.get("ok").await.unwrap();
    got.data = Some(BTreeMap::from([("a".to_string(), "c".to_string())]));
    let updated = api
        .replace("ok", &PostParams::default(), &got)
        .await
        .unwrap();
    assert_ne!(
        updated.metadata.resource_version,
        got.metadata.resource_version
    );
    let err = api
        .replace("ok", &PostParams::default(), &got)
        .await
        .unwrap_err();
    assert_eq!(kubestrap::kubeapi::api_code(&err), Some(409));
    assert_eq!(api.get_opt("missing").await.unwrap(), None);
    let mut labelled = cm("labelled");
    labelled["metadata"]["labels"] = json!({"app": "x"});
    s.insert("configmaps", "kube-system", labelled).unwrap();
    let names: Vec<String> = api
        .list(&ListParams::default().labels("app=x"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(names, vec!["labelled".to_string()]);
    api.delete("labelled", &Default::default()).await.unwrap();
    assert_eq!(api.get_opt("labelled").await.unwrap(), None);
    // Dropped connections are retried by the writer.
    s.drop_next_connections(2);
    let w = kubestrap::kubeapi::ApiWriter::connect(&e.ctx, "test")
        .await
        .unwrap();
    w.apply_ns(
        serde_json::from_value::<ConfigMap>(
            json!({"metadata": {"name": "after-drop", "namespace": "kube-system"}}),
        )
        .unwrap(),
        |_, _| {},
    )
    .await
    .unwrap();
    assert!(s.get("configmaps", "kube-system", "after-drop").is_some());
}

/// A plain-HTTP kubelet healthz on a free loopback port; stops when the guard drops.
struct Kubelet {
    port: u16,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn fake_kubelet() -> Kubelet {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Kubelet { port, _stop: tx }
}

fn write_manifest(root: &Path, name: &str, flags: &[String]) {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "kube-system"},
        "spec": {"containers": [{"name": name, "command": std::iter::once(name.to_string()).chain(flags.iter().cloned()).collect::<Vec<_>>()}]}});
    let p = root.join(format!("etc/kubernetes/manifests/{name}.yaml"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, serde_yaml::to_string(&pod).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_control_plane_reports_each_attempt_until_healthy() {
    let kubelet = fake_kubelet().await;
    let mut cfg = config();
    cfg.kubelet = Some(
        serde_yaml::from_str(&format!(
            "healthzPort: {}\nhealthzBindAddress: 127.0.0.1",
            kubelet.port
        ))
        .unwrap(),
    );
    let mut e = env(cfg);
    let port = e.server.addr.port();
    // The three manifests point at the test apiserver (the controller-manager and scheduler
    // probes accept its certificate without verification, like kubeadm's).
    write_manifest(
        &e.root,
        "kube-apiserver",
        &[
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={port}"),
        ],
    );
    for c in ["kube-controller-manager", "kube-scheduler"] {
        write_manifest(
            &e.root,
            c,
            &[
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={port}"),
            ],
        );
    }
    e.server.drop_next_connections(1);
    e.server
        .set_healthy_at(Instant::now() + Duration::from_millis(700));
    e.server
        .fail_readyz(&["poststarthook/rbac/bootstrap-roles"]);
    let shared = e.server.shared.clone();
    let clear = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        shared.knobs.failing_readyz.lock().unwrap().clear();
    });
    let t0 = Instant::now();
    wait_control_plane::run(&e.ctx, "")
        .await
        .expect("wait-control-plane");
    clear.join().unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(1200));
    let events = drain(&mut e.rx);
    // Issue 12 item 10: one "healthy after" line per component, however many attempts.
    let text: Vec<String> = events
        .iter()
        .filter_map(kubestrap::output::text::format)
        .collect();
    for c in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        let lines: Vec<&String> = text
            .iter()
            .filter(|l| l.contains(&format!("{c} is healthy after")))
            .collect();
        assert_eq!(lines.len(), 1, "{c}: {lines:?}\n{}", text.join("\n"));
    }
    let probes: Vec<_> = events
        .iter()
        .filter_map(|ev| match ev {
            Event::Probe {
                component,
                url,
                attempt,
                outcome,
                elapsed_ms,
                ..
            } => Some((
                component.clone(),
                url.clone(),
                *attempt,
                outcome.clone(),
                *elapsed_ms,
            )),
            _ => None,
        })
        .collect();
    let kubelet_url = format!("http://127.0.0.1:{}/healthz", kubelet.port);
    assert_eq!(probes[0].0, "kubelet");
    assert_eq!(probes[0].1, kubelet_url);
    assert_eq!(probes[0].3, ProbeOutcome::Healthy);
    let api: Vec<_> = probes.iter().filter(|p| p.0 == "kube-apiserver").collect();
    // Attempts are numbered 1, 2, 3, … and elapsed grows.
    for (i, p) in api.iter().enumerate() {
        assert_eq!(p.2 as usize, i + 1);
    }
    assert!(api.windows(2).all(|w| w[0].4 <= w[1].4));
    let livez = format!("https://127.0.0.1:{port}/livez");
    assert!(api.iter().any(|p| p.1 == livez && matches!(&p.3, ProbeOutcome::Http { status: 500, body } if body.contains("[-]etcd failed"))), "{api:?}");
    assert!(api.iter().any(|p| p.1.ends_with("/readyz?verbose") && matches!(&p.3, ProbeOutcome::Http { status: 500, body } if body.contains("[-]poststarthook/rbac/bootstrap-roles failed"))));
    assert_eq!(api.last().unwrap().3, ProbeOutcome::Healthy);
    assert!(api.last().unwrap().1.ends_with("/readyz?verbose"));
    // The dropped connection was reported as an error attempt (on one of the components).
    assert!(
        probes
            .iter()
            .any(|p| matches!(&p.3, ProbeOutcome::Error { .. })),
        "{probes:?}"
    );
    for c in ["kube-controller-manager", "kube-scheduler"] {
        assert_eq!(
            probes.iter().rfind(|p| p.0 == c).unwrap().3,
            ProbeOutcome::Healthy,
            "{c}"
        );
    }
    // readyz checks are reported one by one; the failing one flips to ok.
    let checks: Vec<(String, bool)> = events
        .iter()
        .filter_map(|ev| match ev {
            Event::ReadyzCheck { name, ok } => Some((name.clone(), *ok)),
            _ => None,
        })
        .collect();
    assert!(checks.contains(&("etcd".into(), true)));
    let rbac: Vec<bool> = checks
        .iter()
        .filter(|c| c.0 == "poststarthook/rbac/bootstrap-roles")
        .map(|c| c.1)
        .collect();
    assert_eq!(rbac, vec![false, true]);
}

/// A host whose container runtime (CRI) lists a crashed kube-apiserver container whose log
/// file names a rejected flag.
#[derive(Debug)]
struct CriHost(RealHost, Arc<ScriptedRuntime>);

impl CriHost {
    fn new(root: &Path) -> CriHost {
        let log = "/var/log/pods/kube-system_kube-apiserver-cp1_x/kube-apiserver/1.log";
        let file = root.join(log.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            "2026-12-07T03:00:00.000000000Z stderr F I0101 00:00:00.000 1 flags.go:64] FLAG: --v=\"0\"\n\
             2026-12-07T03:00:00.100000000Z stderr F Error: unknown flag: --bogus-flag\n",
        )
        .unwrap();
        let rt = ScriptedRuntime::default();
        let c = |id: &str, attempt| Container {
            id: id.into(),
            name: "kube-apiserver".into(),
            state: ContainerState::Exited,
            attempt,
            ..Default::default()
        };
        *rt.containers.lock().unwrap() = vec![
            (c("5d1e0a", 0), ContainerDetail::default()),
            (
                c("3f2a9c1b7e", 1),
                ContainerDetail {
                    log_path: log.into(),
                    exit_code: 1,
                    ..Default::default()
                },
            ),
        ];
        CriHost(RealHost::new(root, false).unwrap(), Arc::new(rt))
    }
}

impl Host for CriHost {
    fn container_runtime(&self, _endpoint: &str) -> Arc<dyn ContainerRuntime> {
        self.1.clone()
    }
    fn root(&self) -> &Path {
        self.0.root()
    }
    fn read(&self, p: &Path) -> std::io::Result<Vec<u8>> {
        self.0.read(p)
    }
    fn write_atomic(&self, p: &Path, d: &[u8], m: u32) -> std::io::Result<()> {
        self.0.write_atomic(p, d, m)
    }
    fn create_dir_all(&self, p: &Path, m: u32) -> std::io::Result<()> {
        self.0.create_dir_all(p, m)
    }
    fn exists(&self, p: &Path) -> bool {
        self.0.exists(p)
    }
    fn read_dir(&self, p: &Path) -> std::io::Result<Vec<String>> {
        self.0.read_dir(p)
    }
    fn remove_file(&self, p: &Path) -> std::io::Result<()> {
        self.0.remove_file(p)
    }
    fn mode(&self, p: &Path) -> std::io::Result<u32> {
        self.0.mode(p)
    }
    fn run(&self, program: &str, args: &[&str]) -> std::io::Result<CmdOutput> {
        panic!("no command is run to read container logs: {program} {args:?}")
    }
    fn which(&self, _p: &str) -> Option<PathBuf> {
        None
    }
    fn facts(&self) -> HostFacts {
        self.0.facts()
    }
    fn port_free(&self, port: u16) -> bool {
        self.0.port_free(port)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_timeout_names_component_last_answer_and_container_log() {
    let e = env(config());
    e.server
        .set_healthy_at(Instant::now() + Duration::from_secs(3600));
    let host = Arc::new(CriHost::new(&e.root));
    let ctx = PhaseCtx::new(e.ctx.cfg.clone(), host, EventSink::discard());
    let ca = std::fs::read(e.root.join("etc/kubernetes/pki/ca.crt")).unwrap();
    let target = wait_control_plane::ProbeTarget {
        component: "kube-apiserver".into(),
        url: format!("{}/livez", e.server.url()),
        tls: wait_control_plane::ProbeTls::Ca(ca),
        readyz: true,
    };
    let t0 = Instant::now();
    let err = wait_control_plane::wait_healthy(
        &ctx,
        &[target],
        Duration::from_millis(800),
        Duration::from_millis(100),
    )
    .await
    .unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(3));
    let msg = err.message.clone();
    assert!(
        msg.starts_with("kube-apiserver did not become healthy within"),
        "{msg}"
    );
    assert!(msg.contains(&format!("{}/livez", e.server.url())), "{msg}");
    assert!(
        msg.contains("HTTP 500: [-]etcd failed: reason withheld"),
        "{msg}"
    );
    assert!(msg.contains("container 3f2a9c1b7e"), "{msg}");
    assert!(msg.contains("Error: unknown flag: --bogus-flag"), "{msg}");
    let hint = err.hint.unwrap();
    assert!(
        hint.contains("ps -a") && hint.contains("journalctl -xeu kubelet"),
        "{hint}"
    );

    // The phase itself takes its timeout from timeouts.controlPlaneComponentHealthCheck (where
    // a v1beta3 apiServer.timeoutForControlPlane lands after conversion); healthzPort 0 skips
    // the kubelet check as in kubeadm.
    let mut cfg = config();
    cfg.init
        .timeouts
        .as_mut()
        .unwrap()
        .control_plane_component_health_check = Some(kubestrap::config::GoDuration::from_secs(1));
    cfg.kubelet = Some(serde_yaml::from_str("healthzPort: 0").unwrap());
    let port = e.server.addr.port();
    write_manifest(
        &e.root,
        "kube-apiserver",
        &[
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={port}"),
        ],
    );
    for c in ["kube-controller-manager", "kube-scheduler"] {
        write_manifest(
            &e.root,
            c,
            &[
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={port}"),
            ],
        );
    }
    let phase_ctx = PhaseCtx::new(
        Arc::new(cfg),
        Arc::new(RealHost::new(&e.root, false).unwrap()),
        EventSink::discard(),
    );
    let t0 = Instant::now();
    let err = wait_control_plane::run(&phase_ctx, "").await.unwrap_err();
    assert!(t0.elapsed() >= Duration::from_secs(1) && t0.elapsed() < Duration::from_secs(4));
    assert!(
        err.message.contains("did not become healthy within 1s"),
        "{}",
        err.message
    );

    // Every carried version waits for all three components (WaitForAllControlPlaneComponents
    // is GA from v1.34 and gone from v1.35), whatever featureGates says.
    let mut old = config();
    old.cluster.kubernetes_version = "v1.34.4".into();
    old.cluster
        .feature_gates
        .insert("WaitForAllControlPlaneComponents".into(), false);
    let gated = PhaseCtx::new(
        Arc::new(old),
        Arc::new(RealHost::new(&e.root, false).unwrap()),
        EventSink::discard(),
    );
    let comps: Vec<String> = wait_control_plane::control_plane_targets(&gated)
        .unwrap()
        .into_iter()
        .map(|t| t.component)
        .collect();
    assert_eq!(
        comps,
        [
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler"
        ]
    );

    // Nothing listening: the answer is "connection refused".
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = wait_control_plane::ProbeTarget {
        component: "kube-scheduler".into(),
        url: format!("https://127.0.0.1:{free}/livez"),
        tls: wait_control_plane::ProbeTls::Insecure,
        readyz: false,
    };
    let plain = PhaseCtx::new(
        e.ctx.cfg.clone(),
        Arc::new(RealHost::new(&e.root, false).unwrap()),
        EventSink::discard(),
    );
    let err = wait_control_plane::wait_healthy(
        &plain,
        &[target],
        Duration::from_millis(300),
        Duration::from_millis(100),
    )
    .await
    .unwrap_err();
    assert!(
        err.message.contains("connection refused"),
        "{}",
        err.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_objects_that_pass_kubernetes_validate_strict() {
    let dir = tempfile::tempdir().unwrap();
    let _pki = TestPki::new(dir.path());
    let host = Arc::new(RealHost::new(dir.path(), true).unwrap());
    let (sink, mut rx) = EventSink::channel();
    let mut cfg = config();
    cfg.cluster.control_plane_endpoint = "lb.example:8443".into();
    cfg.cluster.kubernetes_version = "v1.36.3".into();
    let ctx = PhaseCtx::new(Arc::new(cfg), host, sink);
    ctx.state.lock().unwrap().upload_certs = true;
    // kubelet-finalize: the kubelet has written its rotating certificate; kubelet.conf is
    // repointed to it (in the dry-run root; no kubelet restart in dry-run).
    let pem = "/var/lib/kubelet/pki/kubelet-client-current.pem";
    let kubelet_conf = dir.path().join("etc/kubernetes/kubelet.conf");
    std::fs::create_dir_all(dir.path().join("var/lib/kubelet/pki")).unwrap();
    std::fs::write(dir.path().join(pem.trim_start_matches('/')), "x").unwrap();
    std::fs::write(
        &kubelet_conf,
        _pki.client_kubeconfig(
            "https://192.168.1.10:6443",
            "system:node:cp1",
            &["system:nodes"],
        ),
    )
    .unwrap();
    api_phases(&ctx).await;
    let kc: serde_yaml::Value =
        serde_yaml::from_slice(&std::fs::read(&kubelet_conf).unwrap()).unwrap();
    assert_eq!(
        kc["users"][0]["user"]["client-certificate"].as_str(),
        Some(pem)
    );
    assert_eq!(kc["users"][0]["user"]["client-key"].as_str(), Some(pem));
    assert!(kc["users"][0]["user"].get("client-key-data").is_none());
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&kubelet_conf)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let events = drain(&mut rx);
    let mut creates = Vec::new();
    for ev in &events {
        if let Event::WouldApply {
            verb,
            resource,
            namespace,
            name,
            yaml,
        } = ev
        {
            if verb == "CREATE" {
                creates.push((
                    resource.clone(),
                    namespace.clone().unwrap_or_default(),
                    name.clone(),
                    yaml.clone(),
                ));
            } else {
                assert_eq!(
                    (verb.as_str(), resource.as_str(), name.as_str()),
                    ("PATCH", "nodes", "cp1")
                );
            }
        }
    }
    let names: BTreeSet<(String, String, String)> = creates
        .iter()
        .filter(|c| !(c.0 == "secrets" && c.2.starts_with("bootstrap-token-")))
        .map(|c| (c.0.clone(), c.1.clone(), c.2.clone()))
        .collect();
    let mut want = expected_objects();
    want.remove(&(
        "clusterrolebindings".to_string(),
        String::new(),
        "kubeadm:cluster-admins".to_string(),
    ));
    assert_eq!(names, want);
    // Nothing was sent anywhere and the join command is still produced, with the CPE.
    let info = events
        .iter()
        .find_map(|ev| match ev {
            Event::JoinReady(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(info.endpoint, "lb.example:8443");
    let cp = info.control_plane_command("kubestrap").unwrap();
    assert!(
        cp.contains(" --control-plane --certificate-key ")
            && cp.starts_with("kubestrap join lb.example:8443 --token "),
        "{cp}"
    );

    let out_dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, (r, _, n, yaml)) in creates.iter().enumerate() {
        let p = out_dir
            .path()
            .join(format!("{i:02}-{r}-{}.yaml", n.replace(':', "_")));
        std::fs::write(&p, yaml).unwrap();
        files.push(p);
    }
    let out = std::process::Command::new("kubernetes-validate")
        .args(["--strict", "-k", "1.36.3"])
        .args(&files)
        .output()
        .expect("kubernetes-validate is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "kubernetes-validate failed:\n{text}");
    assert_eq!(
        text.matches("INFO").count(),
        files.len(),
        "one INFO (passed) line per object:\n{text}"
    );
}

fn pem_der(pem: &[u8]) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem)
        .unwrap()
        .to_vec()
}

/// The certificates and kubeconfig files of the certs and kubeconfig phases (not the test PKI):
/// the test apiserver serves apiserver.crt and trusts ca.crt; the API phases use the real
/// admin.conf and super-admin.conf; kubectl reads cluster-info with admin.conf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_phases_and_kubectl_with_the_certs_and_kubeconfig_phases_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config();
    cfg.init.local_api_endpoint.advertise_address = "127.0.0.1".into();
    cfg.init.local_api_endpoint.bind_port = i32::from(port);
    cfg.cluster.encryption_algorithm = "ECDSA-P256".into();
    let (sink, mut rx) = EventSink::channel();
    let ctx = PhaseCtx::new(
        Arc::new(cfg),
        Arc::new(RealHost::new(root, false).unwrap()),
        sink,
    );
    kubestrap::phases::certs::run(&ctx, "all").expect("certs");
    kubestrap::phases::kubeconfig::run(&ctx, "all").expect("kubeconfig");
    let pki = root.join("etc/kubernetes/pki");
    let ca_pem = std::fs::read(pki.join("ca.crt")).unwrap();
    let server = TestApiServer::start_with(
        &pem_der(&ca_pem),
        &pem_der(&std::fs::read(pki.join("apiserver.crt")).unwrap()),
        &std::fs::read_to_string(pki.join("apiserver.key")).unwrap(),
        port,
    );
    server.insert("nodes", "", node("cp1")).unwrap();
    ctx.state.lock().unwrap().upload_certs = true;
    api_phases(&ctx).await;
    // admin.conf (O=kubeadm:cluster-admins) was refused until super-admin.conf bound it.
    let log = server.shared.log.lock().unwrap().clone();
    assert_eq!(
        log.iter()
            .find(|l| l.method == "POST")
            .map(|l| (l.user.as_str(), l.status)),
        Some(("kubernetes-admin", 403))
    );
    assert!(
        log.iter()
            .any(|l| l.user == "kubernetes-super-admin" && l.status == 201)
    );
    let created: BTreeSet<_> = server
        .all()
        .into_keys()
        .filter(|(r, _, n)| {
            !(r == "secrets" && n.starts_with("bootstrap-token-"))
                && r != "namespaces"
                && r != "nodes"
        })
        .collect();
    assert_eq!(created, expected_objects());
    let info = drain(&mut rx)
        .into_iter()
        .find_map(|ev| match ev {
            Event::JoinReady(i) => Some(i),
            _ => None,
        })
        .unwrap();
    assert_eq!(info.endpoint, format!("127.0.0.1:{port}"));
    assert_eq!(
        info.ca_cert_hashes,
        kubestrap::pki::ca_pins_from_pem(&ca_pem).unwrap()
    );

    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("kubectl")
        .env("HOME", home.path())
        .arg("--kubeconfig")
        .arg(root.join("etc/kubernetes/admin.conf"))
        .args([
            "--request-timeout=10s",
            "get",
            "configmap",
            "-n",
            "kube-public",
            "cluster-info",
            "-o",
            "yaml",
        ])
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kv: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    let tid = info.token.split('.').next().unwrap();
    assert!(kv["data"][format!("jws-kubeconfig-{tid}").as_str()].is_string());
    let kc: serde_yaml::Value =
        serde_yaml::from_str(kv["data"]["kubeconfig"].as_str().unwrap()).unwrap();
    assert_eq!(
        kc["clusters"][0]["cluster"]["server"].as_str(),
        Some(format!("https://127.0.0.1:{port}").as_str())
    );
    // The kubelet.conf identity (system:node:cp1) is not an admin: RBAC refuses it.
    let out = std::process::Command::new("kubectl")
        .env("HOME", home.path())
        .arg("--kubeconfig")
        .arg(root.join("etc/kubernetes/kubelet.conf"))
        .args([
            "--request-timeout=10s",
            "get",
            "secret",
            "-n",
            "kube-system",
            "kubeadm-certs",
        ])
        .output()
        .expect("kubectl");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("forbidden"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_the_node_wait_of_mark_control_plane_ends_as_cancelled() {
    // No Node is ever registered: mark-control-plane would poll for
    // timeouts.kubernetesAPICall (1 minute). Cancel 300 ms into the phase.
    let mut e = env(config());
    let cancel = e.ctx.cancel.clone();
    let plan = kubestrap::engine::Plan {
        only: Some(vec!["mark-control-plane".into()]),
        ..Default::default()
    };
    let handle =
        kubestrap::engine::spawn_workflow(kubestrap::phases::init_workflow(), e.ctx.clone(), plan);
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(ev) = e.rx.recv().await {
            let go = matches!(&ev, Event::PhaseStarted { phase } if phase == "mark-control-plane");
            seen.push(ev);
            if go {
                break;
            }
        }
    })
    .await
    .expect("mark-control-plane starts");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    cancel.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("the run ends after the cancel (bounded)")
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(
        outcome,
        kubestrap::engine::RunOutcome::Cancelled {
            after_phase: None,
            interrupted: Some("mark-control-plane".into()),
            completed: vec![],
        }
    );
    seen.extend(drain(&mut e.rx));
    assert!(
        !seen
            .iter()
            .any(|ev| matches!(ev, Event::PhaseFailed { .. })),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|ev| matches!(ev, Event::Log { message, .. }
            if message.contains("phase mark-control-plane was interrupted")
                && message.contains("cancelled while waiting for Node \"cp1\""))),
        "{seen:?}"
    );
    // It stopped polling: no GET of the Node after the run ended.
    let gets = |s: &TestApiServer| {
        s.shared
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.method == "GET" && l.path.ends_with("/nodes/cp1"))
            .count()
    };
    let n = gets(&e.server);
    assert!(n >= 1, "the Node was polled");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(gets(&e.server), n, "no more polls after the cancel");
}
