//! The certs and kubeconfig phases, checked with the real tools: openssl (every certificate,
//! key and pin) and kubectl (every kubeconfig file), plus the reuse / external-CA /
//! mismatch / corrupt / unwritable cases and golden snapshots of the kubeconfig files.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kubestrap::config::InitConfig;
use kubestrap::config::defaults::example_init_config;
use kubestrap::engine::{Event, EventSink, PhaseCtx, PhaseError};
use kubestrap::host::RealHost;
use kubestrap::phases::{certs, kubeconfig};
use kubestrap::pki::{self, KeyAlgorithm, KeyPool};
use tokio::sync::mpsc::UnboundedReceiver;

const PKI: &str = "etc/kubernetes/pki";

struct Env {
    dir: tempfile::TempDir,
    ctx: PhaseCtx,
    rx: UnboundedReceiver<Event>,
}

impl Env {
    fn new(cfg: InitConfig) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let host = RealHost::new(dir.path(), false).expect("host");
        let (sink, rx) = EventSink::channel();
        let ctx = PhaseCtx::new(Arc::new(cfg), Arc::new(host), sink);
        Env { dir, ctx, rx }
    }

    /// Same root, another configuration (a second `init` run after editing the config).
    fn with_cfg(&self, cfg: InitConfig) -> PhaseCtx {
        let mut ctx = self.ctx.clone();
        ctx.cfg = Arc::new(cfg);
        ctx
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn pki(&self, name: &str) -> PathBuf {
        self.root().join(PKI).join(name)
    }

    fn conf(&self, name: &str) -> PathBuf {
        self.root().join("etc/kubernetes").join(name)
    }

    fn events(&mut self) -> Vec<Event> {
        let mut v = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            v.push(e);
        }
        v
    }

    fn run_all(&self) {
        certs::run(&self.ctx, "all").unwrap_or_else(|e| panic!("certs: {}", e.chain()));
        kubeconfig::run(&self.ctx, "all").unwrap_or_else(|e| panic!("kubeconfig: {}", e.chain()));
    }
}

fn cfg(alg: &str) -> InitConfig {
    let mut c = example_init_config("v1.36.3");
    c.cluster.encryption_algorithm = alg.into();
    c
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn openssl(args: &[&str]) -> String {
    run("openssl", args)
}

fn x509_field(cert: &Path, ext: &str) -> String {
    let c = cert.to_str().unwrap();
    match ext {
        "subject" => openssl(&["x509", "-in", c, "-noout", "-subject"]),
        e => openssl(&["x509", "-in", c, "-noout", "-ext", e]),
    }
}

fn snapshot_files(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut m = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                stack.push(p);
            } else {
                m.insert(
                    p.clone(),
                    (std::fs::read(&p).unwrap(), md.permissions().mode() & 0o7777),
                );
            }
        }
    }
    m
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// (file stem, CA stem, subject as openssl prints it, SAN line, EKU line, CA?)
fn expected_certs() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
)> {
    vec![
        (
            "ca",
            "ca",
            "subject=CN = kubernetes",
            "DNS:kubernetes",
            "",
            true,
        ),
        (
            "apiserver",
            "ca",
            "subject=CN = kube-apiserver",
            "DNS:cp1, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, IP Address:10.96.0.1, IP Address:192.168.1.10",
            "TLS Web Server Authentication",
            false,
        ),
        (
            "apiserver-kubelet-client",
            "ca",
            // From v1.36 without O=kubeadm:cluster-admins (cfg() is v1.36.3).
            "subject=CN = kube-apiserver-kubelet-client",
            "",
            "TLS Web Client Authentication",
            false,
        ),
        (
            "front-proxy-ca",
            "front-proxy-ca",
            "subject=CN = front-proxy-ca",
            "DNS:front-proxy-ca",
            "",
            true,
        ),
        (
            "front-proxy-client",
            "front-proxy-ca",
            "subject=CN = front-proxy-client",
            "",
            "TLS Web Client Authentication",
            false,
        ),
        (
            "etcd/ca",
            "etcd/ca",
            "subject=CN = etcd-ca",
            "DNS:etcd-ca",
            "",
            true,
        ),
        (
            "etcd/server",
            "etcd/ca",
            "subject=CN = cp1",
            "DNS:cp1, DNS:localhost, IP Address:192.168.1.10, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
            "TLS Web Server Authentication, TLS Web Client Authentication",
            false,
        ),
        (
            "etcd/peer",
            "etcd/ca",
            "subject=CN = cp1",
            "DNS:cp1, DNS:localhost, IP Address:192.168.1.10, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
            "TLS Web Server Authentication, TLS Web Client Authentication",
            false,
        ),
        (
            "etcd/healthcheck-client",
            "etcd/ca",
            "subject=CN = kube-etcd-healthcheck-client",
            "",
            "TLS Web Client Authentication",
            false,
        ),
        (
            "apiserver-etcd-client",
            "etcd/ca",
            "subject=CN = kube-apiserver-etcd-client",
            "",
            "TLS Web Client Authentication",
            false,
        ),
    ]
}

#[test]
fn every_certificate_passes_openssl_checks() {
    let mut env = Env::new(cfg("ECDSA-P256"));
    env.run_all();
    for (name, ca, subject, sans, eku, is_ca) in expected_certs() {
        let crt = env.pki(&format!("{name}.crt"));
        let key = env.pki(&format!("{name}.key"));
        let cas = env.pki(&format!("{ca}.crt"));
        let c = crt.to_str().unwrap();
        // Chain.
        let v = openssl(&["verify", "-CAfile", cas.to_str().unwrap(), c]);
        assert_eq!(v.trim(), format!("{c}: OK"));
        // Subject, SANs, usages.
        assert_eq!(x509_field(&crt, "subject").trim(), subject, "{name}");
        let san = x509_field(&crt, "subjectAltName");
        if sans.is_empty() {
            assert!(!san.contains("Alternative"), "{name} has SANs: {san}");
        } else {
            assert_eq!(san.lines().nth(1).unwrap_or("").trim(), sans, "{name}");
        }
        let ku = x509_field(&crt, "keyUsage");
        let want_ku = if is_ca {
            "Digital Signature, Key Encipherment, Certificate Sign"
        } else {
            "Digital Signature, Key Encipherment"
        };
        assert_eq!(ku.lines().nth(1).unwrap_or("").trim(), want_ku, "{name}");
        let ekus = x509_field(&crt, "extendedKeyUsage");
        assert_eq!(ekus.lines().nth(1).unwrap_or("").trim(), eku, "{name}");
        let bc = x509_field(&crt, "basicConstraints");
        assert!(
            bc.contains(if is_ca { "CA:TRUE" } else { "CA:FALSE" }),
            "{name}: {bc}"
        );
        // Key type, key encoding, key matches certificate.
        let text = openssl(&["x509", "-in", c, "-noout", "-text"]);
        assert!(
            text.contains("id-ecPublicKey") && text.contains("prime256v1"),
            "{name}"
        );
        assert!(
            text.contains("Signature Algorithm: ecdsa-with-SHA256"),
            "{name}"
        );
        let key_pem = std::fs::read_to_string(&key).unwrap();
        assert!(
            key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"),
            "{name}"
        );
        openssl(&["ec", "-in", key.to_str().unwrap(), "-check", "-noout"]);
        assert_eq!(
            openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]),
            openssl(&["x509", "-in", c, "-noout", "-pubkey"]),
            "{name}: key does not match"
        );
        // Validity: NotBefore = start - 5 min, NotAfter = start + 1 y / 10 y.
        let der = pki::load_cert_pem(&std::fs::read(&crt).unwrap(), c).unwrap();
        let (_, x) = x509_parser::parse_x509_certificate(&der).unwrap();
        let nb = x.validity().not_before.timestamp();
        let na = x.validity().not_after.timestamp();
        let hours = if is_ca { 87600 } else { 8760 };
        assert_eq!(na - nb, hours * 3600 + 300, "{name}");
        let start = env
            .ctx
            .started_at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert_eq!(nb, start - 300, "{name}");
        let serial = x.tbs_certificate.serial.clone();
        assert!((1..=63).contains(&serial.bits()), "{name}: serial {serial}");
        // Modes.
        assert_eq!(mode(&crt), 0o644, "{name}");
        assert_eq!(mode(&key), 0o600, "{name}");
    }
    // sa.key / sa.pub are a pair.
    let sa_key = env.pki("sa.key");
    let sa_pub = env.pki("sa.pub");
    assert_eq!(mode(&sa_key), 0o600);
    assert_eq!(mode(&sa_pub), 0o600);
    assert_eq!(
        openssl(&["pkey", "-in", sa_key.to_str().unwrap(), "-pubout"]),
        std::fs::read_to_string(&sa_pub).unwrap()
    );
    // Serial numbers are unique.
    let serials: std::collections::BTreeSet<String> = expected_certs()
        .iter()
        .map(|(n, ..)| {
            openssl(&[
                "x509",
                "-in",
                env.pki(&format!("{n}.crt")).to_str().unwrap(),
                "-noout",
                "-serial",
            ])
        })
        .collect();
    assert_eq!(serials.len(), 10);
    // Events and log lines.
    let events = env.events();
    let certs: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Cert {
                name,
                reused,
                key_algorithm,
                ..
            } => Some((name.clone(), *reused, key_algorithm.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(certs.len(), 15);
    assert!(certs.iter().all(|(_, r, k)| !r && k == "ECDSA-P256"));
    let logs: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Log { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(logs.contains(&"Generating \"apiserver\" certificate and key".to_string()));
    assert!(logs.contains(&"apiserver serving cert is signed for DNS names [cp1 kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local] and IPs [10.96.0.1 192.168.1.10]".to_string()), "{logs:#?}");
    assert!(logs.contains(&"Generating \"sa\" key and public key".to_string()));
    let written = events
        .iter()
        .filter(|e| matches!(e, Event::FileWritten { .. }))
        .count();
    assert_eq!(written, 10 * 2 + 2 + 5);
    // The pin of the run is recorded and equals openssl's.
    let pin = env.ctx.state.lock().unwrap().ca_cert_hashes.clone();
    assert_eq!(pin, vec![openssl_pin(&env.pki("ca.crt"))]);
}

fn openssl_pin(cert: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | sha256sum",
            cert.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    format!("sha256:{}", s.split_whitespace().next().unwrap())
}

#[test]
fn rsa_and_p384_keys_are_written_as_kubeadm_does() {
    for (alg, header, check_args, text_needles) in [
        (
            "RSA-2048",
            "-----BEGIN RSA PRIVATE KEY-----\n",
            &["rsa", "-check", "-noout"][..],
            &[
                "Public-Key: (2048 bit)",
                "Signature Algorithm: sha256WithRSAEncryption",
            ][..],
        ),
        (
            "ECDSA-P384",
            "-----BEGIN EC PRIVATE KEY-----\n",
            &["ec", "-check", "-noout"][..],
            &["secp384r1", "Signature Algorithm: ecdsa-with-SHA384"][..],
        ),
    ] {
        let env = Env::new(cfg(alg));
        // Single sub-phases: the CA first, then one leaf signed by it.
        certs::run(&env.ctx, "ca").unwrap();
        certs::run(&env.ctx, "apiserver").unwrap();
        assert!(
            !env.pki("front-proxy-ca.crt").exists(),
            "only the named sub-phases run"
        );
        for name in ["ca", "apiserver"] {
            let key = env.pki(&format!("{name}.key"));
            let crt = env.pki(&format!("{name}.crt"));
            assert!(
                std::fs::read_to_string(&key).unwrap().starts_with(header),
                "{alg} {name}"
            );
            let mut args = check_args.to_vec();
            args.extend(["-in", key.to_str().unwrap()]);
            openssl(&args);
            let text = openssl(&["x509", "-in", crt.to_str().unwrap(), "-noout", "-text"]);
            for n in text_needles {
                assert!(text.contains(n), "{alg} {name}: {n} missing in\n{text}");
            }
            assert_eq!(
                openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]),
                openssl(&["x509", "-in", crt.to_str().unwrap(), "-noout", "-pubkey"])
            );
        }
        openssl(&[
            "verify",
            "-CAfile",
            env.pki("ca.crt").to_str().unwrap(),
            env.pki("apiserver.crt").to_str().unwrap(),
        ]);
    }
}

#[test]
fn larger_rsa_sizes_follow_encryption_algorithm() {
    for (alg, bits) in [("RSA-3072", "3072"), ("RSA-4096", "4096")] {
        let mut env = Env::new(cfg(alg));
        certs::run(&env.ctx, "ca").unwrap();
        let key = env.pki("ca.key");
        assert!(
            std::fs::read_to_string(&key)
                .unwrap()
                .starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
        );
        openssl(&["rsa", "-check", "-noout", "-in", key.to_str().unwrap()]);
        let text = openssl(&[
            "x509",
            "-in",
            env.pki("ca.crt").to_str().unwrap(),
            "-noout",
            "-text",
        ]);
        assert!(text.contains(&format!("Public-Key: ({bits} bit)")), "{alg}");
        let algs: Vec<String> = env
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Cert { key_algorithm, .. } => Some(key_algorithm),
                _ => None,
            })
            .collect();
        assert_eq!(algs, vec![alg.to_string()]);
    }
}

#[test]
fn ca_pin_matches_kubeadm_vector_and_openssl() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pubkeypin-test.crt");
    let pem = std::fs::read(&fixture).unwrap();
    let want = "sha256:345959acb2c3b2feb87d281961c893f62a314207ef02599f1cc4a5fb255480b3";
    let der = pki::load_cert_pem(&pem, "fixture").unwrap();
    assert_eq!(pki::ca_pin(&der).unwrap(), want);
    assert_eq!(pki::ca_pins_from_pem(&pem).unwrap(), vec![want.to_string()]);
    assert_eq!(openssl_pin(&fixture), want);
    // Upper-case pin parses to the same bytes as the computed one.
    let parsed = pki::parse_pin(&want.to_uppercase()).unwrap();
    assert_eq!(hex::encode(parsed), &want[7..]);
    // Two certificates in one bundle give two pins, in order.
    let env = Env::new(cfg("ECDSA-P256"));
    certs::run(&env.ctx, "ca").unwrap();
    let mut bundle = std::fs::read(env.pki("ca.crt")).unwrap();
    bundle.extend_from_slice(&pem);
    let pins = pki::ca_pins_from_pem(&bundle).unwrap();
    assert_eq!(
        pins,
        vec![openssl_pin(&env.pki("ca.crt")), want.to_string()]
    );
    assert!(pki::ca_pins_from_pem(b"garbage").is_err());
}

#[test]
fn kubeconfig_files_are_read_by_kubectl_and_their_clients_verify() {
    let mut c = cfg("ECDSA-P256");
    c.cluster.control_plane_endpoint = "lb.example:8443".into();
    let env = Env::new(c);
    env.run_all();
    let ca = env.pki("ca.crt");
    for (file, user, subject, server) in [
        (
            "admin.conf",
            "kubernetes-admin",
            "subject=O = kubeadm:cluster-admins, CN = kubernetes-admin",
            "https://lb.example:8443",
        ),
        (
            "super-admin.conf",
            "kubernetes-super-admin",
            "subject=O = system:masters, CN = kubernetes-super-admin",
            "https://lb.example:8443",
        ),
        (
            "kubelet.conf",
            "system:node:cp1",
            "subject=O = system:nodes, CN = system:node:cp1",
            "https://192.168.1.10:6443",
        ),
        (
            "controller-manager.conf",
            "system:kube-controller-manager",
            "subject=CN = system:kube-controller-manager",
            "https://192.168.1.10:6443",
        ),
        (
            "scheduler.conf",
            "system:kube-scheduler",
            "subject=CN = system:kube-scheduler",
            "https://192.168.1.10:6443",
        ),
    ] {
        let path = env.conf(file);
        assert_eq!(mode(&path), 0o600, "{file}");
        let p = path.to_str().unwrap();
        let get = |jp: &str| {
            run(
                "kubectl",
                &[
                    "config",
                    "view",
                    "--raw",
                    "--kubeconfig",
                    p,
                    "-o",
                    &format!("jsonpath={jp}"),
                ],
            )
        };
        assert_eq!(
            get("{.current-context}"),
            format!("{user}@kubernetes"),
            "{file}"
        );
        assert_eq!(get("{.clusters[0].name}"), "kubernetes");
        assert_eq!(get("{.clusters[0].cluster.server}"), server, "{file}");
        assert_eq!(get("{.users[0].name}"), user);
        let ca_data = get("{.clusters[0].cluster.certificate-authority-data}");
        assert_eq!(
            base64_decode(&ca_data),
            std::fs::read(&ca).unwrap(),
            "{file}: CA data is ca.crt"
        );
        let cert = base64_decode(&get("{.users[0].user.client-certificate-data}"));
        let key = base64_decode(&get("{.users[0].user.client-key-data}"));
        let tmp = env.root().join(format!("{file}.client.crt"));
        let tmpk = env.root().join(format!("{file}.client.key"));
        std::fs::write(&tmp, &cert).unwrap();
        std::fs::write(&tmpk, &key).unwrap();
        let t = tmp.to_str().unwrap();
        assert_eq!(
            openssl(&["verify", "-CAfile", ca.to_str().unwrap(), t]).trim(),
            format!("{t}: OK")
        );
        assert_eq!(x509_field(&tmp, "subject").trim(), subject, "{file}");
        assert!(x509_field(&tmp, "extendedKeyUsage").contains("TLS Web Client Authentication"));
        assert!(!x509_field(&tmp, "extendedKeyUsage").contains("Server"));
        assert_eq!(
            openssl(&["pkey", "-in", tmpk.to_str().unwrap(), "-pubout"]),
            openssl(&["x509", "-in", t, "-noout", "-pubkey"]),
            "{file}: key matches"
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .expect("base64")
}

#[test]
fn ipv6_advertise_address_is_bracketed_in_kubeconfig_and_san() {
    let mut c = cfg("ECDSA-P256");
    c.init.local_api_endpoint.advertise_address = "2001:db8::10".into();
    c.cluster.api_server.cert_sans = vec!["Extra.Example".into(), "bad_name!".into()];
    let mut env = Env::new(c);
    env.run_all();
    let admin = std::fs::read_to_string(env.conf("admin.conf")).unwrap();
    assert!(
        admin.contains("server: https://[2001:db8::10]:6443"),
        "{admin}"
    );
    let san = x509_field(&env.pki("apiserver.crt"), "subjectAltName");
    assert!(san.contains("IP Address:2001:DB8:0:0:0:0:0:10"), "{san}");
    assert!(
        san.contains("DNS:extra.example") && !san.contains("bad_name"),
        "{san}"
    );
    let warned = env.events().into_iter().any(|e| {
        matches!(e, Event::Log { level: kubestrap::engine::LogLevel::Warn, message, .. }
            if message.contains("\"bad_name!\" is neither an IP address nor a DNS name"))
    });
    assert!(warned, "an invalid certSAN is dropped with a warning");
}

#[test]
fn second_run_reuses_everything_and_changes_nothing() {
    let mut env = Env::new(cfg("ECDSA-P256"));
    env.run_all();
    env.events();
    let before = snapshot_files(env.root());
    env.run_all();
    let after = snapshot_files(env.root());
    assert_eq!(before, after, "a second run must not touch any file");
    let events = env.events();
    let reused: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            Event::Cert { reused, .. } => Some(*reused),
            _ => None,
        })
        .collect();
    assert_eq!(reused.len(), 15);
    assert!(reused.iter().all(|r| *r));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::FileWritten { .. }))
    );
    let logs: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Log { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(logs.contains(&"Using existing ca certificate authority".to_string()));
    assert!(logs.contains(&"Using existing apiserver certificate and key on disk".to_string()));
    assert!(logs.contains(&"Using the existing \"sa\" key".to_string()));
}

fn expect_err(r: Result<(), PhaseError>) -> PhaseError {
    match r {
        Ok(()) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn apiserver_cert_missing_a_new_san_is_refused() {
    let env = Env::new(cfg("ECDSA-P256"));
    env.run_all();
    let before = snapshot_files(env.root());
    let mut c = cfg("ECDSA-P256");
    c.cluster.api_server.cert_sans = vec!["New.Example".into(), "10.0.0.7".into()];
    c.cluster.control_plane_endpoint = "lb.example:6443".into();
    let ctx = env.with_cfg(c);
    let e = expect_err(certs::run(&ctx, "all"));
    let msg = e.chain();
    assert!(msg.contains("apiserver.crt"), "{msg}");
    assert!(
        msg.contains("missing required SANs [lb.example new.example 10.0.0.7]"),
        "{msg}"
    );
    assert!(
        e.hint
            .unwrap()
            .contains("kubestrap init phase certs apiserver")
    );
    assert_eq!(snapshot_files(env.root()), before);
}

#[test]
fn external_ca_mode_validates_instead_of_generating() {
    let mut env = Env::new(cfg("ECDSA-P256"));
    env.run_all();
    std::fs::remove_file(env.pki("ca.key")).unwrap();
    env.events();
    // Everything present: accepted, nothing written.
    let before = snapshot_files(env.root());
    env.run_all();
    assert_eq!(snapshot_files(env.root()), before);
    let logs: Vec<String> = env
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Log { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        logs.contains(&"Using existing ca keyless certificate authority".to_string()),
        "{logs:?}"
    );
    // A missing leaf of the keyless CA stops the phase, naming it.
    std::fs::remove_file(env.pki("apiserver.crt")).unwrap();
    std::fs::remove_file(env.pki("apiserver.key")).unwrap();
    let before = snapshot_files(env.root());
    let e = expect_err(certs::run(&env.ctx, "all")).chain();
    assert!(
        e.contains("external CA mode") && e.contains("apiserver.crt must already exist"),
        "{e}"
    );
    assert_eq!(snapshot_files(env.root()), before);
    // A missing kubeconfig too.
    std::fs::remove_file(env.conf("admin.conf")).unwrap();
    let e = expect_err(kubeconfig::run(&env.ctx, "all")).chain();
    assert!(e.contains("admin.conf must already exist"), "{e}");
}

#[test]
fn foreign_certificate_and_mismatched_key_are_refused() {
    let a = Env::new(cfg("ECDSA-P256"));
    let b = Env::new(cfg("ECDSA-P256"));
    a.run_all();
    b.run_all();
    // A certificate and key signed by another CA.
    for f in ["apiserver.crt", "apiserver.key"] {
        std::fs::copy(b.pki(f), a.pki(f)).unwrap();
    }
    let before = snapshot_files(a.root());
    let e = expect_err(certs::run(&a.ctx, "all")).chain();
    assert!(
        e.contains("apiserver.crt: certificate is not signed by the CA in"),
        "{e}"
    );
    assert_eq!(snapshot_files(a.root()), before);
    // A key that is not the certificate's.
    std::fs::copy(
        b.pki("front-proxy-client.key"),
        a.pki("front-proxy-client.key"),
    )
    .unwrap();
    let e = expect_err(certs::run(&a.ctx, "front-proxy-client")).chain();
    assert!(
        e.contains("front-proxy-client.key: private key does not match the public key of"),
        "{e}"
    );
    // A kubeconfig pointing at another CA.
    std::fs::copy(b.conf("scheduler.conf"), a.conf("scheduler.conf")).unwrap();
    let e = expect_err(kubeconfig::run(&a.ctx, "scheduler")).chain();
    assert!(
        e.contains("scheduler.conf: certificate-authority-data is a different CA"),
        "{e}"
    );
    // A kubeconfig pointing at another server.
    let mut c = cfg("ECDSA-P256");
    c.cluster.control_plane_endpoint = "lb.example:8443".into();
    let e = expect_err(kubeconfig::run(&a.with_cfg(c), "admin")).chain();
    assert!(
        e.contains(
            "admin.conf: server is https://192.168.1.10:6443, expected https://lb.example:8443"
        ),
        "{e}"
    );
}

#[test]
fn corrupt_pem_stops_before_anything_is_written() {
    let env = Env::new(cfg("ECDSA-P256"));
    std::fs::create_dir_all(env.pki("etcd")).unwrap();
    std::fs::write(
        env.pki("etcd/server.crt"),
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n",
    )
    .unwrap();
    std::fs::write(env.pki("etcd/server.key"), b"junk").unwrap();
    let before = snapshot_files(env.root());
    let e = expect_err(certs::run(&env.ctx, "all"));
    let msg = e.chain();
    assert!(
        msg.contains("etcd/server.crt") && msg.contains("not PEM"),
        "{msg}"
    );
    assert!(e.hint.is_some());
    assert_eq!(
        snapshot_files(env.root()),
        before,
        "no other file may appear"
    );
    // A corrupt key of an existing CA is named too.
    let env = Env::new(cfg("ECDSA-P256"));
    certs::run(&env.ctx, "ca").unwrap();
    std::fs::write(
        env.pki("ca.key"),
        b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    )
    .unwrap();
    let e = expect_err(certs::run(&env.ctx, "apiserver")).chain();
    assert!(e.contains("ca.key: private key does not parse"), "{e}");
}

#[test]
fn expired_ca_is_refused() {
    let env = Env::new(cfg("ECDSA-P256"));
    let key = KeyAlgorithm::EcdsaP256.generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec!["kubernetes".to_string()]).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = p.self_signed(&key).unwrap();
    std::fs::create_dir_all(env.pki("")).unwrap();
    std::fs::write(env.pki("ca.crt"), cert.pem()).unwrap();
    std::fs::write(env.pki("ca.key"), pki::keys::private_key_pem(&key).unwrap()).unwrap();
    let before = snapshot_files(env.root());
    let e = expect_err(certs::run(&env.ctx, "all")).chain();
    assert!(
        e.contains("ca.crt: certificate expired at 2021-01-01T00:00:00Z"),
        "{e}"
    );
    assert_eq!(snapshot_files(env.root()), before);
}

#[test]
fn unwritable_directory_fails_and_rolls_back() {
    let env = Env::new(cfg("ECDSA-P256"));
    // `etc/kubernetes/pki/etcd` is a file, so nothing can be written below it (this works
    // as root too, where permission bits would not stop a write).
    std::fs::create_dir_all(env.pki("")).unwrap();
    std::fs::write(env.pki("etcd"), b"in the way").unwrap();
    let before = snapshot_files(env.root());
    let e = expect_err(certs::run(&env.ctx, "all"));
    let msg = e.chain();
    assert!(msg.contains("etcd/ca.key"), "{msg}");
    assert!(e.hint.unwrap().contains("writable"));
    assert_eq!(
        snapshot_files(env.root()),
        before,
        "the certificates written before the failure are removed again"
    );
    // A read-only directory, where permissions apply (not root).
    if nix::unistd::geteuid().is_root() {
        return;
    }
    let env = Env::new(cfg("ECDSA-P256"));
    std::fs::create_dir_all(env.pki("")).unwrap();
    std::fs::set_permissions(env.pki(""), std::fs::Permissions::from_mode(0o555)).unwrap();
    let e = expect_err(certs::run(&env.ctx, "ca")).chain();
    std::fs::set_permissions(env.pki(""), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(
        e.contains("ca.key") && e.contains("ermission denied"),
        "{e}"
    );
}

#[test]
fn warm_key_pool_supplies_every_key() {
    let mut env = Env::new(cfg("ECDSA-P256"));
    let pool = KeyPool::start(KeyAlgorithm::EcdsaP256, KeyPool::INIT_KEYS);
    assert!(pool.wait_ready(KeyPool::INIT_KEYS, Duration::from_secs(20)));
    env.ctx.key_pool = Some(pool.clone());
    env.run_all();
    assert_eq!(pool.served(), 16, "all 16 keys come from the pool");
    // A pool of another algorithm is not used.
    let mut other = Env::new(cfg("ECDSA-P256"));
    let p384 = KeyPool::start(KeyAlgorithm::EcdsaP384, 2);
    other.ctx.key_pool = Some(p384.clone());
    certs::run(&other.ctx, "ca").unwrap();
    assert_eq!(p384.served(), 0);
    let text = openssl(&[
        "x509",
        "-in",
        other.pki("ca.crt").to_str().unwrap(),
        "-noout",
        "-text",
    ]);
    assert!(text.contains("prime256v1"));
    drop(env.events());
}

#[test]
fn bad_config_values_name_the_field() {
    let env = Env::new(cfg("RSA-1024"));
    let e = expect_err(certs::run(&env.ctx, "all")).chain();
    assert!(
        e.contains("encryptionAlgorithm") && e.contains("RSA-1024"),
        "{e}"
    );
    let mut c = cfg("ECDSA-P256");
    c.init.local_api_endpoint.advertise_address = "not-an-ip".into();
    let env = Env::new(c);
    let e = expect_err(certs::run(&env.ctx, "all")).chain();
    assert!(
        e.contains("localAPIEndpoint.advertiseAddress") && e.contains("not-an-ip"),
        "{e}"
    );
    assert!(
        !env.pki("ca.crt").exists(),
        "nothing written for a bad config"
    );
    let e = expect_err(certs::run(&env.ctx, "nope")).chain();
    assert!(e.contains("unknown certs sub-phase \"nope\""), "{e}");
    // External etcd drops the etcd certificates.
    let mut c = cfg("ECDSA-P256");
    c.cluster.etcd.local = None;
    c.cluster.etcd.external = Some(Default::default());
    let env = Env::new(c);
    certs::run(&env.ctx, "all").unwrap();
    assert!(env.pki("apiserver.crt").exists());
    assert!(!env.pki("etcd").exists());
}

#[test]
fn kubeconfig_golden_files() {
    let mut c = cfg("ECDSA-P256");
    c.cluster.control_plane_endpoint = "lb.example:8443".into();
    let env = Env::new(c);
    env.run_all();
    for spec in kubestrap::pki::spec::KUBECONFIGS {
        let text = std::fs::read_to_string(env.conf(spec.file)).unwrap();
        insta::with_settings!({
            snapshot_suffix => spec.subphase,
            filters => vec![(r"(-data: )\S+", "$1[masked]")],
        }, {
            insta::assert_snapshot!("kubeconfig", text);
        });
    }
}

/// Kills the child process when dropped, so a failing test never leaks it.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One TLS handshake with `openssl s_client` (bounded by `timeout 10`); returns its output.
fn s_client(port: u16, ca: &Path, cert: &Path, key: &Path, host: &str) -> (bool, String) {
    let out = Command::new("timeout")
        .args([
            "10",
            "openssl",
            "s_client",
            "-brief",
            "-verify_return_error",
        ])
        .args(["-connect", &format!("127.0.0.1:{port}")])
        .args(["-CAfile", ca.to_str().unwrap(), "-verify_hostname", host])
        .args([
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("Verification: OK"),
        text,
    )
}

#[test]
fn serving_and_client_certificates_work_in_a_real_tls_handshake() {
    let env = Env::new(cfg("ECDSA-P256"));
    env.run_all();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-accept",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["-cert", env.pki("apiserver.crt").to_str().unwrap()])
        .args(["-key", env.pki("apiserver.key").to_str().unwrap()])
        .args(["-CAfile", env.pki("ca.crt").to_str().unwrap()])
        .args(["-Verify", "1", "-verify_return_error"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server");
    let _guard = ChildGuard(server);
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(up, "openssl s_server did not start");
    // The apiserver certificate is valid for the in-cluster name, and the server accepts
    // the kube-apiserver-kubelet-client certificate signed by the same CA.
    let ca = env.pki("ca.crt");
    let (ok, out) = s_client(
        port,
        &ca,
        &env.pki("apiserver-kubelet-client.crt"),
        &env.pki("apiserver-kubelet-client.key"),
        "kubernetes.default.svc",
    );
    assert!(ok, "handshake failed:\n{out}");
    // A name that is not a SAN fails hostname verification.
    let (ok, out) = s_client(
        port,
        &ca,
        &env.pki("apiserver-kubelet-client.crt"),
        &env.pki("apiserver-kubelet-client.key"),
        "not-a-san.example",
    );
    assert!(!ok, "hostname check must fail:\n{out}");
    assert!(out.contains("hostname mismatch"), "{out}");
}
