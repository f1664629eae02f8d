//! No secret leaks: a full `kubestrap init` (with `--upload-certs`) against the strict test
//! apiserver (tests/support) and a worker `kubestrap join` of it, both through the real
//! binary under `--root` with a PATH of recording stubs, then the same again as JSON and as
//! dry runs. No file kubestrap wrote outside the PKI and the kubeconfig files, and none of
//! its output streams, holds the bootstrap token secret (plain or base64), the certificate
//! key or a private key; `--show-secrets` prints them when asked.

mod support;

use support::roots::put;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use support::apiserver::TestApiServer;
use support::pki::TestPki;

const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");
const TOKEN: &str = "s3cr3t.k9x7q2m4w8z5v1b6";
const SECRET: &str = "k9x7q2m4w8z5v1b6";
const CERT_KEY: &str = "7d1c0e5f3a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d";

struct Sandbox {
    _t: tempfile::TempDir,
    base: PathBuf,
    bin: PathBuf,
    record: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().to_path_buf();
        let bin = base.join("bin");
        let record = base.join("record");
        std::fs::create_dir_all(&bin).unwrap();
        support::roots::recording_stubs(&bin, &record, Some("v1.36.3"));
        for d in ["home", "tmp", "state", "logs"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        Sandbox {
            _t: t,
            base,
            bin,
            record,
        }
    }

    /// Runs the binary with the stub PATH and private HOME/TMPDIR/state/log directories;
    /// returns (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .args(args)
            .env("PATH", &self.bin)
            .env("HOME", self.base.join("home"))
            .env("TMPDIR", self.base.join("tmp"))
            .env("XDG_STATE_HOME", self.base.join("state"))
            .env("KUBESTRAP_LOG_DIR", self.base.join("logs"))
            .env_remove("KUBESTRAP_INIT_DRYRUN_DIR")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// What is allowed to hold secrets: the PKI (keys), the kubeconfig files (client keys,
/// bootstrap-kubelet.conf's token) and the kubelet's own client certificate.
fn exempt(rel: &Path) -> bool {
    let s = rel.to_string_lossy();
    s.starts_with("etc/kubernetes/pki/")
        || s.starts_with("var/lib/kubelet/pki/")
        || (s.starts_with("etc/kubernetes/") && s.ends_with(".conf") && !s[15..].contains('/'))
}

/// Every leak of a secret in the files under `dir` (not exempt) or in `streams`.
fn leaks(dirs: &[&Path], streams: &[(&str, &str)]) -> Vec<String> {
    let needles = [
        SECRET.to_string(),
        STANDARD.encode(SECRET),
        CERT_KEY.to_string(),
        "PRIVATE KEY".to_string(),
    ];
    let mut found = Vec::new();
    let mut check = |what: String, text: &str| {
        for n in &needles {
            if text.contains(n.as_str()) {
                found.push(format!("{what} contains {n:?}"));
            }
        }
    };
    for (name, text) in streams {
        check(format!("output {name}"), text);
    }
    for dir in dirs {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().filter_map(|e| e.ok()) {
                let p = e.path();
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    stack.push(p);
                } else if ft.is_file() {
                    let rel = p.strip_prefix(dir).unwrap();
                    if exempt(rel) {
                        continue;
                    }
                    let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                    check(format!("file {}", p.display()), &text);
                }
            }
        }
    }
    found
}

fn node(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}})
}

#[test]
fn init_and_join_write_no_secret_outside_the_pki_and_kubeconfigs() {
    let sb = Sandbox::new();
    let cp = sb.base.join("cp");
    std::fs::create_dir_all(&cp).unwrap();
    support::roots::ready_node(&cp);
    // The cluster CA (reused by init) and the apiserver that serves with it.
    let pki = TestPki::new(&cp);
    let server = TestApiServer::start(&pki);
    server.insert("nodes", "", node("cp1")).unwrap();
    server.allow_nodes_to_get_nodes();
    // The kubelet's rotating client certificate, so kubelet-finalize wants a restart.
    let kubelet_pair = pki.ca.client("system:node:cp1", &["system:nodes"]);
    put(
        &cp,
        "/var/lib/kubelet/pki/kubelet-client-current.pem",
        &format!("{}{}", kubelet_pair.cert_pem, kubelet_pair.key_pem),
    );
    let endpoint = server.addr.to_string();
    let cpr = cp.to_str().unwrap().to_string();
    let init = |output: &str, show: bool| {
        let mut args = vec![
            "--root",
            &cpr,
            "init",
            "--non-interactive",
            "--output",
            output,
            "--control-plane-endpoint",
            &endpoint,
            "--apiserver-advertise-address",
            // a documentation address: loopback is refused as an advertise address, and
            // the API phases reach the test server through the control-plane endpoint
            "192.0.2.10",
            "--node-name",
            "cp1",
            "--kubernetes-version",
            "v1.36.3",
            "--token",
            TOKEN,
            "--upload-certs",
            "--certificate-key",
            CERT_KEY,
            "--skip-phases",
            "wait-control-plane",
            "--ignore-preflight-errors",
            "all",
            "--fix",
        ];
        if show {
            args.push("--show-secrets");
        }
        sb.run(&args)
    };
    let (code, text_out, text_err) = init("text", false);
    assert_eq!(code, 0, "stdout:\n{text_out}\nstderr:\n{text_err}");
    assert!(
        text_out.contains("--token s3cr3t.<redacted>") && text_out.contains("--show-secrets"),
        "{text_out}"
    );
    // A re-run converges and prints the same, as JSON lines with secret fields marked.
    let (code, json_out, json_err) = init("json", false);
    assert_eq!(code, 0, "stdout:\n{json_out}\nstderr:\n{json_err}");
    let ready: serde_json::Value = json_out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "join_ready")
        .unwrap_or_else(|| panic!("no join_ready:\n{json_out}"));
    assert_eq!(ready["token"], "s3cr3t.<redacted>");
    assert_eq!(ready["certificate_key"], "<redacted>");
    assert_eq!(ready["redacted"], true);
    assert_eq!(ready["secret_fields"], json!(["token", "certificate_key"]));
    // The objects were really created, with the real secret.
    let secret = server
        .get("secrets", "kube-system", "bootstrap-token-s3cr3t")
        .expect("token Secret");
    assert_eq!(secret["data"]["token-secret"], STANDARD.encode(SECRET));
    let pin = kubestrap::pki::ca_pin(&pki.ca.pair.cert_der).unwrap();

    // The worker: a real join under --root, the test playing the kubelet.
    let worker = sb.base.join("worker");
    std::fs::create_dir_all(&worker).unwrap();
    support::roots::ready_node(&worker);
    let sim = {
        let worker = worker.clone();
        let shared = server.shared.clone();
        let url = server.url();
        let ca_pem = pki.ca.pair.cert_pem.clone();
        let pair = pki.ca.client("system:node:worker-1", &["system:nodes"]);
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while !worker
                .join("etc/kubernetes/bootstrap-kubelet.conf")
                .exists()
            {
                if t0.elapsed() > Duration::from_secs(60) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let pem = "/var/lib/kubelet/pki/kubelet-client-current.pem";
            put(&worker, pem, &format!("{}{}", pair.cert_pem, pair.key_pem));
            put(
                &worker,
                "/etc/kubernetes/kubelet.conf",
                &format!(
                    "apiVersion: v1\nkind: Config\nclusters:\n- name: kubernetes\n  cluster:\n    server: {url}\n    certificate-authority-data: {}\ncontexts:\n- name: k\n  context:\n    cluster: kubernetes\n    user: system:node:worker-1\ncurrent-context: k\nusers:\n- name: system:node:worker-1\n  user:\n    client-certificate: {pem}\n    client-key: {pem}\n",
                    STANDARD.encode(&ca_pem)
                ),
            );
            shared.insert("nodes", "", node("worker-1")).unwrap();
        })
    };
    let wr = worker.to_str().unwrap().to_string();
    let join_args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "join",
            &endpoint,
            "--token",
            TOKEN,
            "--discovery-token-ca-cert-hash",
            &pin,
            "--node-name",
            "worker-1",
            "--non-interactive",
            "--ignore-preflight-errors",
            "all",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let mut a = vec!["--root".to_string(), wr.clone()];
    a.extend(join_args(&[]));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, join_out, join_err) = sb.run(&a);
    sim.join().unwrap();
    assert_eq!(code, 0, "stdout:\n{join_out}\nstderr:\n{join_err}");
    assert!(
        join_out.contains("This node has joined the cluster"),
        "{join_out}"
    );
    // Dry runs of join, as JSON, into a kept directory, and without one.
    let dry = sb.base.join("join-dry");
    let a = join_args(&[
        "--dry-run",
        "--output",
        "json",
        "--dry-run-dir",
        dry.to_str().unwrap(),
    ]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, dry_out, dry_err) = sb.run(&a);
    assert_eq!(code, 0, "stdout:\n{dry_out}\nstderr:\n{dry_err}");
    let a = join_args(&["--dry-run"]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, dry2_out, dry2_err) = sb.run(&a);
    assert_eq!(code, 0, "stdout:\n{dry2_out}\nstderr:\n{dry2_err}");
    let last = dry2_out.trim_end().lines().last().unwrap_or_default();
    assert!(last.contains("removed"), "{dry2_out}");
    // And a dry run of init, kept for the grep.
    let idry = sb.base.join("init-dry");
    let (code, idry_out, idry_err) = sb.run(&[
        "init",
        "--dry-run",
        "--non-interactive",
        "--apiserver-advertise-address",
        "192.0.2.10",
        "--node-name",
        "cp1",
        "--token",
        TOKEN,
        "--upload-certs",
        "--certificate-key",
        CERT_KEY,
        "--dry-run-dir",
        idry.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stdout:\n{idry_out}\nstderr:\n{idry_err}");

    let found = leaks(
        &[
            &sb.base.join("cp"),
            &worker,
            &dry,
            &idry,
            &sb.base.join("tmp"),
            &sb.base.join("home"),
            &sb.base.join("state"),
            &sb.base.join("logs"),
        ],
        &[
            ("init text stdout", &text_out),
            ("init text stderr", &text_err),
            ("init json stdout", &json_out),
            ("init json stderr", &json_err),
            ("join stdout", &join_out),
            ("join stderr", &join_err),
            ("join dry-run json stdout", &dry_out),
            ("join dry-run json stderr", &dry_err),
            ("join dry-run stdout", &dry2_out),
            ("join dry-run stderr", &dry2_err),
            ("init dry-run stdout", &idry_out),
            ("init dry-run stderr", &idry_err),
        ],
    );
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));

    // No host-changing command was started under --root (only the stubs could record one).
    let record = std::fs::read_to_string(&sb.record).unwrap_or_default();
    for l in record.lines() {
        let mut w = l.split_whitespace();
        let program = w.next().unwrap_or("");
        let args: Vec<&str> = w.collect();
        assert!(
            kubestrap::host::is_read_only_command(program, &args),
            "{l} was started under --root"
        );
    }

    // Asked for, the secrets are printed.
    let (code, shown, err) = init("text", true);
    assert_eq!(code, 0, "{shown}\n{err}");
    assert!(shown.contains(&format!("--token {TOKEN}")), "{shown}");
    assert!(shown.contains(CERT_KEY), "{shown}");
}

/// The data of the kubeadm-certs Secret in a `would_apply` event, by key.
fn kubeadm_certs_data(yaml: &str) -> std::collections::BTreeMap<String, String> {
    let v: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
    v["data"]
        .as_mapping()
        .expect("kubeadm-certs has data")
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v.as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Finding 5: `init --dry-run --upload-certs` prints the kubeadm-certs Secret with every data
/// value redacted (base64 of `<redacted>`) in the text and JSON faces; `--show-secrets` prints
/// the encrypted keys, and even then the files the run keeps (its dry-run folder, logs)
/// hold none of them.
#[test]
fn dry_run_redacts_the_kubeadm_certs_secret_unless_show_secrets() {
    let sb = Sandbox::new();
    let redacted = STANDARD.encode("<redacted>");
    let keys = [
        "ca.crt",
        "ca.key",
        "etcd-ca.crt",
        "etcd-ca.key",
        "front-proxy-ca.crt",
        "front-proxy-ca.key",
        "sa.key",
        "sa.pub",
    ];
    let run = |output: &str, show: bool, dir: &Path| {
        let mut args = vec![
            "init",
            "--dry-run",
            "--non-interactive",
            "--upload-certs",
            "--control-plane-endpoint",
            "k8s.example.com",
            "--apiserver-advertise-address",
            "192.0.2.10",
            "--node-name",
            "cp1",
            "--certificate-key",
            CERT_KEY,
            "--output",
            output,
            "--dry-run-dir",
            dir.to_str().unwrap(),
        ];
        if show {
            args.push("--show-secrets");
        }
        let (code, out, err) = sb.run(&args);
        assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
        out
    };
    let certs_event = |out: &str| -> serde_json::Value {
        out.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["event"] == "would_apply" && v["name"] == "kubeadm-certs")
            .unwrap_or_else(|| panic!("no kubeadm-certs would_apply in:\n{out}"))
    };

    // --show-secrets: the encrypted keys, as the API server would receive them.
    let shown_dir = sb.base.join("shown");
    let shown = run("json", true, &shown_dir);
    let real = kubeadm_certs_data(certs_event(&shown)["yaml"].as_str().unwrap());
    assert_eq!(real.keys().map(String::as_str).collect::<Vec<_>>(), keys);
    for (k, v) in &real {
        assert_ne!(v, &redacted, "{k} is redacted under --show-secrets");
        let bytes = STANDARD.decode(v).unwrap();
        assert!(bytes.len() > 28, "{k}: {} bytes", bytes.len());
    }
    let values: Vec<(&str, &str)> = real.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut kept = vec![];
    let mut stack = vec![
        shown_dir.clone(),
        sb.base.join("logs"),
        sb.base.join("state"),
    ];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                for (k, v) in &values {
                    if text.contains(v) {
                        kept.push(format!("{} holds kubeadm-certs {k}", p.display()));
                    }
                }
            }
        }
    }
    assert!(kept.is_empty(), "{kept:?}");

    // Without it: JSON and text show base64 of <redacted> for every key.
    let json = run("json", false, &sb.base.join("json"));
    let ev = certs_event(&json);
    assert_eq!(ev["secret_fields"], json!(["yaml"]));
    let data = kubeadm_certs_data(ev["yaml"].as_str().unwrap());
    assert_eq!(data.keys().map(String::as_str).collect::<Vec<_>>(), keys);
    assert!(data.values().all(|v| v == &redacted), "{data:?}");
    let text = run("text", false, &sb.base.join("text"));
    let start = text
        .find("named \"kubeadm-certs\"")
        .unwrap_or_else(|| panic!("{text}"));
    let section: Vec<&str> = text[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("[dryrun] Would perform"))
        .collect();
    for k in keys {
        let line = section
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{k}:")))
            .unwrap_or_else(|| panic!("{k} not in {section:#?}"));
        assert_eq!(line.trim(), format!("{k}: {redacted}"));
    }
    for out in [&json, &text] {
        for (k, v) in &values {
            assert!(!out.contains(v), "{k} printed without --show-secrets");
        }
    }
}
