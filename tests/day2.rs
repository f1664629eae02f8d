//! Day-two commands through the real binary under `--root`: `certs check-expiration`
//! (golden table, the real kubeadm's dates), `certs renew` (openssl before/after),
//! `certs certificate-key`, `config images list` (equal to every carried kubeadm's),
//! `reset` (tree snapshots before init and after init + reset) and `kubeconfig user`.

#[path = "support/k8s.rs"]
mod k8s;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_kubestrap")
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/day2")
        .join(name)
}

/// Runs kubestrap with `args` and `stdin`; returns (code, stdout, stderr).
fn ks_in(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut c = Command::new(bin())
        .args(args)
        .env_remove("KUBESTRAP_INIT_DRYRUN_DIR")
        .env("PATH", "/nonexistent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubestrap starts");
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ks(args: &[&str]) -> (i32, String, String) {
    ks_in(args, "")
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = ks(args);
    assert_eq!(code, 0, "kubestrap {args:?} failed:\n{out}\n{err}");
    out
}

/// A root with the files `kubestrap init` writes on a control-plane node (the phases that
/// write files: certs, kubeconfig, etcd, control-plane, kubelet-start), for `config`.
fn init_root(root: &Path, config: &Path) {
    let r = root.to_str().unwrap();
    let c = config.to_str().unwrap();
    for phase in [
        &["certs", "all"][..],
        &["kubeconfig", "all"],
        &["etcd", "local"],
        &["control-plane", "all"],
        &["kubelet-start"],
    ] {
        let mut args = vec!["init", "phase"];
        args.extend_from_slice(phase);
        args.extend_from_slice(&["--root", r, "--config", c]);
        ok(&args);
    }
}

fn root() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("root");
    std::fs::create_dir_all(&r).unwrap();
    (t, r)
}

fn openssl(args: &[&str]) -> String {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Replaces Go-layout dates (`Dec 07, 2027 03:40 UTC`) with a same-width placeholder.
fn mask_dates(s: &str) -> String {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        let hit = months
            .iter()
            .filter_map(|m| rest.find(&format!("{m} ")))
            .min();
        match hit {
            Some(i)
                if rest[i..].len() >= 22
                    && rest.as_bytes()[i + 6] == b','
                    && rest[i..i + 22].ends_with(" UTC") =>
            {
                out.push_str(&rest[..i]);
                out.push_str("MMM DD, YYYY HH:MM UTC");
                rest = &rest[i + 22..];
            }
            Some(i) => {
                out.push_str(&rest[..i + 1]);
                rest = &rest[i + 1..];
            }
            None => {
                out.push_str(rest);
                break;
            }
        }
    }
    out
}

/// (name → EXPIRES) of the rows of a check-expiration table that have a date.
fn expiry_column(table: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in table.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if let Some(i) = line.find(" UTC")
            && i >= 19
            && !name.starts_with('!')
        {
            m.insert(name.to_string(), line[i - 18..i + 4].to_string());
        }
    }
    m
}

#[test]
fn check_expiration_table_is_kubeadms_line_by_line() {
    let (_t, r) = root();
    let cfg = data("cluster.yaml");
    init_root(&r, &cfg);
    let out = ok(&[
        "certs",
        "check-expiration",
        "--root",
        r.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    // Run in the second the certificates were signed, the residual is the whole validity.
    let got = mask_dates(&out)
        .replace("   365d   ", "   364d   ")
        .replace("   10y    ", "   9y     ");
    let golden = data("check-expiration.golden");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(got, want, "got:\n{got}");
}

#[test]
fn check_expiration_json_and_yaml_are_kubeadms_objects() {
    let (_t, r) = root();
    let cfg = data("cluster.yaml");
    init_root(&r, &cfg);
    std::fs::remove_file(r.join("etc/kubernetes/super-admin.conf")).unwrap();
    let rs = r.to_str().unwrap();
    let cs = cfg.to_str().unwrap();
    let out = ok(&[
        "certs",
        "check-expiration",
        "--root",
        rs,
        "--config",
        cs,
        "-o",
        "json",
    ]);
    assert!(out.starts_with("{\n    \"kind\": \"CertificateExpirationInfo\",\n    \"apiVersion\": \"output.kubeadm.k8s.io/v1alpha3\",\n"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let certs = v["certificates"].as_array().unwrap();
    let names: Vec<&str> = certs.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "admin.conf",
            "apiserver",
            "apiserver-etcd-client",
            "apiserver-kubelet-client",
            "controller-manager.conf",
            "etcd-healthcheck-client",
            "etcd-peer",
            "etcd-server",
            "front-proxy-client",
            "scheduler.conf",
            "super-admin.conf"
        ]
    );
    let sa = &certs[10];
    assert_eq!(sa["missing"], true);
    assert_eq!(sa["residualTime"], 0);
    assert!(sa["expirationDate"].is_null());
    let api = &certs[1];
    assert_eq!(api["caName"], "ca");
    let residual = api["residualTime"].as_i64().unwrap();
    assert!(
        (8759 * 3600..=8760 * 3600).contains(&residual),
        "{residual}"
    );
    let cas = v["certificateAuthorities"].as_array().unwrap();
    assert_eq!(cas.len(), 3);
    assert!(cas.iter().all(|c| c.get("caName").is_none()));
    let y = ok(&[
        "certs",
        "check-expiration",
        "--root",
        rs,
        "--config",
        cs,
        "-o",
        "yaml",
    ]);
    assert!(y.contains("kind: CertificateExpirationInfo\n"), "{y}");
    assert!(
        y.contains("- caName: ca\n") || y.contains("  caName: ca\n"),
        "{y}"
    );
    // The text table names the missing file as kubeadm does.
    let t = ok(&["certs", "check-expiration", "--root", rs, "--config", cs]);
    assert!(t.contains("!MISSING! super-admin.conf"), "{t}");
}

#[test]
fn check_expiration_external_etcd_has_no_etcd_rows() {
    let (_t, r) = root();
    let cfg = data("external-etcd.yaml");
    let rs = r.to_str().unwrap();
    let cs = cfg.to_str().unwrap();
    ok(&[
        "init", "phase", "certs", "all", "--root", rs, "--config", cs,
    ]);
    ok(&[
        "init",
        "phase",
        "kubeconfig",
        "all",
        "--root",
        rs,
        "--config",
        cs,
    ]);
    let t = ok(&["certs", "check-expiration", "--root", rs, "--config", cs]);
    assert!(!t.contains("etcd"), "{t}");
    assert_eq!(t.lines().count(), 1 + 7 + 1 + 1 + 2, "{t}");
}

#[test]
fn check_expiration_corrupt_certificate_is_one_unreadable_row() {
    let (_t, r) = root();
    let cfg = data("cluster.yaml");
    init_root(&r, &cfg);
    std::fs::write(
        r.join("etc/kubernetes/pki/apiserver.crt"),
        "not a certificate\n",
    )
    .unwrap();
    let (code, out, err) = ks(&[
        "certs",
        "check-expiration",
        "--root",
        r.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("!UNREADABLE! apiserver "), "{out}");
    assert!(out.contains("\napiserver-etcd-client "), "{out}");
    assert!(
        err.contains("apiserver is unreadable")
            && err.contains("/etc/kubernetes/pki/apiserver.crt"),
        "{err}"
    );
}

#[test]
fn check_expiration_warns_within_30_days() {
    let (_t, r) = root();
    let cfg = data("cluster.yaml");
    init_root(&r, &cfg);
    // Renew apiserver with a 10-day validity: it is then inside the warning window.
    let short = r.parent().unwrap().join("short.yaml");
    std::fs::write(
        &short,
        std::fs::read_to_string(&cfg).unwrap().replace(
            "encryptionAlgorithm: ECDSA-P256",
            "encryptionAlgorithm: ECDSA-P256\ncertificateValidityPeriod: 240h0m0s",
        ),
    )
    .unwrap();
    let rs = r.to_str().unwrap();
    ok(&[
        "certs",
        "renew",
        "apiserver",
        "--root",
        rs,
        "--config",
        short.to_str().unwrap(),
    ]);
    let (code, out, err) = ks(&[
        "certs",
        "check-expiration",
        "--root",
        rs,
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    // 9d, or 10d when run in the second the certificate was signed
    assert!(out.contains("   9d ") || out.contains("   10d "), "{out}");
    assert!(
        err.contains("[check-expiration] WARNING: the certificate apiserver expires in ")
            && err.contains("kubestrap certs renew apiserver"),
        "{err}"
    );
    assert_eq!(err.matches("WARNING").count(), 1, "{err}");
}

#[test]
fn check_expiration_dates_equal_the_real_kubeadms() {
    let Some(bins) = k8s::bin_dir() else { return };
    let (_t, r) = root();
    let cfg = data("cluster.yaml");
    init_root(&r, &cfg);
    let pki = r.join("etc/kubernetes/pki");
    // kubeadm reads kubeconfig files from the real /etc/kubernetes, so only the PKI rows
    // and the CAs are compared; --config keeps it from contacting any cluster.
    let kcfg = r.parent().unwrap().join("kubeadm.yaml");
    std::fs::write(
        &kcfg,
        std::fs::read_to_string(&cfg).unwrap().replace(
            "kubernetesVersion: v1.37.2",
            &format!(
                "kubernetesVersion: v1.37.2\ncertificatesDir: {}",
                pki.display()
            ),
        ),
    )
    .unwrap();
    let (code, theirs, err) = k8s::run(
        &k8s::kubeadm(&bins, "v1.37.2"),
        &[
            "certs",
            "check-expiration",
            "--config",
            kcfg.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{theirs}{err}");
    let ours = ok(&[
        "certs",
        "check-expiration",
        "--root",
        r.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let (t, o) = (expiry_column(&theirs), expiry_column(&ours));
    let pki_rows = [
        "apiserver",
        "apiserver-etcd-client",
        "apiserver-kubelet-client",
        "etcd-healthcheck-client",
        "etcd-peer",
        "etcd-server",
        "front-proxy-client",
        "ca",
        "etcd-ca",
        "front-proxy-ca",
    ];
    for n in pki_rows {
        assert!(t.contains_key(n), "kubeadm has no date for {n}:\n{theirs}");
        assert_eq!(
            t.get(n),
            o.get(n),
            "{n}\nkubeadm:\n{theirs}\nkubestrap:\n{ours}"
        );
    }
    // The same cells (kubeadm's first column is wider: its kubeconfig rows are
    // `!MISSING! …`, read from the real /etc/kubernetes); the residual time may differ by
    // the second between the two runs (364d/365d, 9y/10y).
    let cells = |s: &str, n: &str| -> Vec<String> {
        let l = s
            .lines()
            .find(|l| l.starts_with(&format!("{n} ")))
            .unwrap_or("");
        l.split("   ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| c.replace("365d", "364d").replace("10y", "9y"))
            .collect()
    };
    for n in pki_rows {
        assert_eq!(cells(&theirs, n), cells(&ours, n), "row {n}");
    }
    let header = |s: &str| {
        s.lines()
            .next()
            .unwrap_or("")
            .split("   ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(header(&theirs), header(&ours));
}

/// What openssl shows of a certificate that renewal must keep.
fn kept_fields(pem_path: &Path) -> String {
    openssl(&[
        "x509",
        "-noout",
        "-subject",
        "-issuer",
        "-ext",
        "subjectAltName,extendedKeyUsage,keyUsage,basicConstraints",
        "-in",
        pem_path.to_str().unwrap(),
    ])
}

fn end_date(pem_path: &Path) -> String {
    openssl(&[
        "x509",
        "-noout",
        "-enddate",
        "-in",
        pem_path.to_str().unwrap(),
    ])
}

fn pubkey(pem_path: &Path) -> String {
    openssl(&[
        "x509",
        "-noout",
        "-pubkey",
        "-in",
        pem_path.to_str().unwrap(),
    ])
}

/// Writes the client certificate embedded in a kubeconfig to `out` and returns the parsed
/// kubeconfig.
fn embedded_cert(conf: &Path, out: &Path) -> serde_yaml::Value {
    use base64::Engine;
    let v: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(conf).unwrap()).unwrap();
    let d = v["users"][0]["user"]["client-certificate-data"]
        .as_str()
        .unwrap();
    let pem = base64::engine::general_purpose::STANDARD.decode(d).unwrap();
    std::fs::write(out, pem).unwrap();
    v
}

#[test]
fn renew_all_gives_new_not_after_and_keys_with_the_same_subjects_sans_and_usages() {
    let (t, r) = root();
    let cfg = data("cluster.yaml");
    init_root(&r, &cfg);
    let pki = r.join("etc/kubernetes/pki");
    let leaves = [
        "apiserver",
        "apiserver-kubelet-client",
        "apiserver-etcd-client",
        "front-proxy-client",
        "etcd/server",
        "etcd/peer",
        "etcd/healthcheck-client",
    ];
    let before: Vec<(String, String, String)> = leaves
        .iter()
        .map(|l| {
            let p = pki.join(format!("{l}.crt"));
            (kept_fields(&p), end_date(&p), pubkey(&p))
        })
        .collect();
    let admin = r.join("etc/kubernetes/admin.conf");
    let admin_cert = t.path().join("admin-before.crt");
    let admin_before = embedded_cert(&admin, &admin_cert);
    let admin_fields = kept_fields(&admin_cert);
    let admin_end = end_date(&admin_cert);
    let out = ok(&[
        "certs",
        "renew",
        "all",
        "--root",
        r.to_str().unwrap(),
        "--config",
        data("renew-200h.yaml").to_str().unwrap(),
    ]);
    for long in [
        "certificate for serving the Kubernetes API renewed",
        "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed",
        "certificate for serving etcd renewed",
        "certificate embedded in the kubeconfig file for the super-admin renewed",
    ] {
        assert!(out.contains(long), "{out}");
    }
    assert_eq!(out.matches(" renewed\n").count(), 11, "{out}");
    assert!(out.ends_with("\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.\n"), "{out}");
    for (l, (fields, end, key)) in leaves.iter().zip(before) {
        let p = pki.join(format!("{l}.crt"));
        assert_eq!(
            kept_fields(&p),
            fields,
            "{l}: subject, SANs or usages changed"
        );
        assert_ne!(end_date(&p), end, "{l}: notAfter unchanged");
        assert_ne!(
            pubkey(&p),
            key,
            "{l}: the key was not replaced (kubeadm generates a new one)"
        );
        let ca = if l.starts_with("etcd/") || *l == "apiserver-etcd-client" {
            "etcd/ca.crt"
        } else if *l == "front-proxy-client" {
            "front-proxy-ca.crt"
        } else {
            "ca.crt"
        };
        let v = openssl(&[
            "verify",
            "-CAfile",
            pki.join(ca).to_str().unwrap(),
            p.to_str().unwrap(),
        ]);
        assert!(v.contains(": OK"), "{l}: {v}");
        // the key on disk matches the new certificate
        let k = openssl(&[
            "pkey",
            "-pubout",
            "-in",
            pki.join(format!("{l}.key")).to_str().unwrap(),
        ]);
        assert_eq!(k, pubkey(&p), "{l}: key and certificate do not match");
    }
    let admin_after_cert = t.path().join("admin-after.crt");
    let admin_after = embedded_cert(&admin, &admin_after_cert);
    assert_eq!(kept_fields(&admin_after_cert), admin_fields);
    assert_ne!(end_date(&admin_after_cert), admin_end);
    assert_eq!(admin_before["clusters"], admin_after["clusters"]);
    assert_eq!(admin_before["contexts"], admin_after["contexts"]);
    assert_eq!(
        admin_before["current-context"],
        admin_after["current-context"]
    );
    assert_ne!(
        admin_before["users"][0]["user"]["client-key-data"],
        admin_after["users"][0]["user"]["client-key-data"]
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&admin).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // NotAfter = now + certificateValidityPeriod (200h) of the configuration.
    let json = ok(&[
        "certs",
        "check-expiration",
        "--root",
        r.to_str().unwrap(),
        "--config",
        data("cluster.yaml").to_str().unwrap(),
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for c in v["certificates"].as_array().unwrap() {
        let s = c["residualTime"].as_i64().unwrap();
        assert!((199 * 3600..=200 * 3600).contains(&s), "{c}");
    }
}

#[test]
fn renew_one_name_and_missing_and_external_ca() {
    let (_t, r) = root();
    let cfg = data("cluster.yaml");
    init_root(&r, &cfg);
    let rs = r.to_str().unwrap();
    let cs = cfg.to_str().unwrap();
    let out = ok(&[
        "certs",
        "renew",
        "front-proxy-client",
        "--root",
        rs,
        "--config",
        cs,
    ]);
    assert_eq!(out, "certificate for the front proxy client renewed\n");
    std::fs::remove_file(r.join("etc/kubernetes/super-admin.conf")).unwrap();
    let out = ok(&[
        "certs",
        "renew",
        "super-admin.conf",
        "--root",
        rs,
        "--config",
        cs,
    ]);
    assert_eq!(
        out,
        "MISSING! certificate embedded in the kubeconfig file for the super-admin\n"
    );
    // External CA: ca.key removed; renew all exits 0, renews nothing the CA signs, names
    // the missing key; the etcd and front-proxy certificates are still renewed.
    let api = r.join("etc/kubernetes/pki/apiserver.crt");
    let before = std::fs::read(&api).unwrap();
    std::fs::remove_file(r.join("etc/kubernetes/pki/ca.key")).unwrap();
    let out = ok(&["certs", "renew", "all", "--root", rs, "--config", cs]);
    assert!(
        out.contains(
            "Detected external ca, certificate for serving the Kubernetes API can't be renewed\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("/etc/kubernetes/pki/ca.key is absent"),
        "{out}"
    );
    assert!(
        out.contains("certificate for serving etcd renewed"),
        "{out}"
    );
    assert_eq!(std::fs::read(&api).unwrap(), before);
    let t = ok(&["certs", "check-expiration", "--root", rs, "--config", cs]);
    let row = t.lines().find(|l| l.starts_with("apiserver ")).unwrap();
    assert!(row.ends_with("ca                      yes     "), "{row:?}");
    let ca_row = t.lines().find(|l| l.starts_with("ca ")).unwrap();
    assert!(ca_row.ends_with("yes     "), "{ca_row:?}");
    // kubeadm's names only
    for bad in ["kubelet.conf", "ca", "sa"] {
        let (code, _, err) = ks(&["certs", "renew", bad, "--root", rs]);
        assert_eq!(code, 2, "{bad}: {err}");
    }
    let (code, _, _) = ks(&["certs", "renew", "all", "--csr-only"]);
    assert_eq!(code, 2);
}

#[test]
fn certificate_key_is_64_lower_case_hex() {
    let out = ok(&["certs", "certificate-key"]);
    let k = out.strip_suffix('\n').unwrap();
    assert_eq!(k.len(), 64);
    assert!(
        k.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{k}"
    );
    assert_ne!(ok(&["certs", "certificate-key"]), out);
}

#[test]
fn config_images_list_equals_every_carried_kubeadms() {
    let Some(bins) = k8s::bin_dir() else { return };
    for v in k8s::CARRIED {
        let kubeadm = k8s::kubeadm(&bins, v);
        for extra in [&[][..], &["--image-repository", "my.reg/k8s"][..]] {
            let mut a = vec!["config", "images", "list", "--kubernetes-version", v];
            a.extend_from_slice(extra);
            let (code, theirs, err) = k8s::run(&kubeadm, &a, &[]);
            assert_eq!(code, 0, "{v}: {err}");
            assert_eq!(ok(&a), theirs, "{v} {extra:?}");
        }
        // A configuration file: DNS disabled, external etcd.
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("c.yaml");
        std::fs::write(
            &f,
            format!(
                "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {v}\ndns:\n  disabled: true\netcd:\n  external:\n    endpoints:\n    - https://10.0.0.21:2379\n"
            ),
        )
        .unwrap();
        let a = ["config", "images", "list", "--config", f.to_str().unwrap()];
        let (code, theirs, err) = k8s::run(&kubeadm, &a, &[]);
        assert_eq!(code, 0, "{v}: {err}");
        assert_eq!(ok(&a), theirs, "{v} config file");
        let y = [
            "config",
            "images",
            "list",
            "--kubernetes-version",
            v,
            "-o",
            "yaml",
        ];
        let (_, theirs, _) = k8s::run(&kubeadm, &y, &[]);
        assert_eq!(ok(&y), theirs, "{v} yaml");
        let j = [
            "config",
            "images",
            "list",
            "--kubernetes-version",
            v,
            "-o",
            "json",
        ];
        let (_, theirs, _) = k8s::run(&kubeadm, &j, &[]);
        let (a, b): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(&ok(&j)).unwrap(),
            serde_json::from_str(&theirs).unwrap(),
        );
        assert_eq!(a, b, "{v} json");
    }
}

#[test]
fn config_images_pull_without_a_runtime_tool_says_so() {
    let (code, _, err) = ks(&[
        "config",
        "images",
        "pull",
        "--kubernetes-version",
        "v1.37.2",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("neither crictl nor ctr is in PATH"), "{err}");
}

/// Every path under `root` with a digest of its content ("dir" for directories).
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = format!("/{}", p.strip_prefix(root).unwrap().display());
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                out.insert(rel, "dir".into());
                walk(root, &p, out);
            } else {
                let b = std::fs::read(&p).unwrap_or_default();
                out.insert(
                    rel,
                    format!(
                        "{} bytes {:x}",
                        b.len(),
                        b.iter()
                            .fold(0u64, |h, x| h.wrapping_mul(31).wrapping_add(*x as u64))
                    ),
                );
            }
        }
    }
    let mut m = BTreeMap::new();
    walk(root, root, &mut m);
    m
}

/// A machine with things reset must leave alone.
fn machine(root: &Path) {
    let put = |p: &str, s: &str| {
        let f = root.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, s).unwrap();
    };
    put("/etc/cni/net.d/10-flannel.conflist", "{}\n");
    put("/root/.kube/config", "apiVersion: v1\nkind: Config\n");
    put("/etc/hostname", "cp1\n");
    put("/etc/kubernetes/my-notes.txt", "not kubeadm's\n");
    put("/var/lib/cni/networks/cbr0/10.244.0.2", "x\n");
    put("/usr/local/bin/kubelet", "#!/bin/sh\n");
}

/// Directories reset leaves behind empty (kubeadm empties them, it does not remove them).
const LEFT_EMPTY: &[&str] = &[
    "/etc/kubernetes",
    "/etc/kubernetes/manifests",
    "/etc/kubernetes/pki",
    "/etc/kubernetes/pki/etcd",
    "/etc/kubernetes/tmp",
    "/var/lib/kubelet",
    "/var/lib/etcd",
    "/var/lib",
    "/var",
];

#[test]
fn init_then_reset_leaves_the_tree_as_before_but_for_the_documented_leftovers() {
    let (_t, r) = root();
    machine(&r);
    let before = snapshot(&r);
    init_root(&r, &data("cluster.yaml"));
    // What a running node adds: etcd data and kubestrap's progress record.
    std::fs::create_dir_all(r.join("var/lib/etcd/member/snap")).unwrap();
    std::fs::write(r.join("var/lib/etcd/member/snap/db"), "x").unwrap();
    std::fs::create_dir_all(r.join("etc/kubernetes/tmp")).unwrap();
    std::fs::write(
        r.join("etc/kubernetes/tmp/kubestrap-init-progress.json"),
        "{}",
    )
    .unwrap();
    std::fs::write(r.join("etc/kubernetes/bootstrap-kubelet.conf"), "x").unwrap();
    let during = snapshot(&r);
    assert!(during.len() > before.len() + 20);
    let (code, out, err) = ks(&["reset", "--force", "--root", r.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
    let after = snapshot(&r);
    for (p, d) in &before {
        assert_eq!(after.get(p), Some(d), "{p} was changed or removed by reset");
    }
    let extra: Vec<&String> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    for p in &extra {
        assert!(
            LEFT_EMPTY.contains(&p.as_str()) && after[*p] == "dir",
            "{p} is left after reset and is not a documented leftover\n{out}"
        );
    }
    assert!(
        out.contains("[preflight] Running pre-flight checks\n"),
        "{out}"
    );
    assert!(
        out.contains("[reset] Deleted contents of the etcd data directory: /var/lib/etcd\n"),
        "{out}"
    );
    assert!(out.contains("[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]\n"), "{out}");
    assert!(out.contains("[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]\n"), "{out}");
    assert!(out.contains("The reset process does not perform cleanup of CNI plugin configuration,\nnetwork filtering rules and kubeconfig files.\n"), "{out}");
    assert!(
        out.contains("/etc/cni/net.d") && out.contains("$HOME/.kube/config"),
        "{out}"
    );
    // No systemd under the root: kubeadm's warning; no crictl: said so.
    assert!(
        err.contains("Unable to detect a supported init system!"),
        "{err}"
    );
    assert!(err.contains("crictl is not in PATH"), "{err}");
    // A second reset finds nothing.
    let (code, out2, _) = ks(&["reset", "--root", r.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out2.contains("Nothing to reset"), "{out2}");
}

#[test]
fn reset_on_a_machine_where_nothing_was_set_up_says_so() {
    let (_t, r) = root();
    machine(&r);
    let before = snapshot(&r);
    let (code, out, err) = ks(&["reset", "--root", r.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("[reset] Nothing to reset:"), "{out}");
    assert_eq!(snapshot(&r), before);
}

#[test]
fn reset_asks_and_only_y_or_yes_proceeds() {
    let (_t, r) = root();
    init_root(&r, &data("cluster.yaml"));
    let rs = r.to_str().unwrap();
    let before = snapshot(&r);
    for answer in ["n\n", "\n", "nope\n", ""] {
        let (code, out, err) = ks_in(&["reset", "--root", rs], answer);
        assert_eq!(code, 1, "{answer:?}: {out}{err}");
        assert!(
            out.contains("[reset] Are you sure you want to proceed? [y/N]: "),
            "{out}"
        );
        assert!(
            out.contains("[reset]   /etc/kubernetes/admin.conf\n"),
            "{out}"
        );
        assert!(
            err.contains("won't proceed; the user didn't answer (Y|y) in order to continue"),
            "{err}"
        );
        assert!(err.contains("[reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted."));
        assert_eq!(snapshot(&r), before, "{answer:?} changed the tree");
    }
    let (code, out, err) = ks_in(&["reset", "--root", rs], "YES\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(!r.join("etc/kubernetes/admin.conf").exists());
}

#[test]
fn reset_dry_run_changes_nothing_and_says_what_it_would_do() {
    let (_t, r) = root();
    init_root(&r, &data("cluster.yaml"));
    let before = snapshot(&r);
    let (code, out, err) = ks(&["reset", "--dry-run", "--root", r.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(snapshot(&r), before);
    for l in [
        "[dryrun] Would unmount mounted directories in \"/var/lib/kubelet\"",
        "[dryrun] Would remove Kubernetes-managed containers",
        "[dryrun] Would delete contents of directories: [/etc/kubernetes/manifests /etc/kubernetes/pki]",
        "[dryrun] Would delete files: [/etc/kubernetes/admin.conf",
    ] {
        assert!(out.contains(l), "{l}\n{out}");
    }
    assert!(!out.contains("Are you sure"), "{out}");
}

#[test]
fn reset_flags_and_reset_configuration() {
    let (_t, r) = root();
    let rs = r.to_str().unwrap();
    init_root(&r, &data("cluster.yaml"));
    // a non-default certificates dir from ResetConfiguration, tmp cleaned, force from it
    let put = |p: &str| {
        let f = r.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, "x").unwrap();
    };
    put("/srv/pki/ca.crt");
    put("/etc/kubernetes/tmp/kubeadm-backup-manifests-2026/etcd.yaml");
    let (code, out, err) = ks(&[
        "reset",
        "--root",
        rs,
        "--config",
        data("reset.yaml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(
            "[reset] WARNING: Cleaning a non-default certificates directory: \"/srv/pki\""
        ),
        "{err}"
    );
    assert!(
        out.contains("[/etc/kubernetes/manifests /var/lib/kubelet /srv/pki /etc/kubernetes/tmp]"),
        "{out}"
    );
    assert!(!r.join("srv/pki/ca.crt").exists());
    assert!(r.join("srv/pki").is_dir());
    assert!(
        !r.join("etc/kubernetes/tmp/kubeadm-backup-manifests-2026")
            .exists()
    );
    // The default pki is not the one cleaned: it stays.
    assert!(r.join("etc/kubernetes/pki/ca.crt").exists());
    // --cert-dir wins over the file; --skip-phases cleanup-node keeps every file
    let (_t2, r2) = root();
    let rs2 = r2.to_str().unwrap();
    init_root(&r2, &data("cluster.yaml"));
    let (code, out, err) = ks(&[
        "reset",
        "-f",
        "--root",
        rs2,
        "--skip-phases",
        "cleanup-node,preflight",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(r2.join("etc/kubernetes/admin.conf").exists());
    assert!(!out.contains("[preflight]"), "{out}");
    let (code, _, err) = ks(&["reset", "-f", "--root", rs2, "--skip-phases", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("\"nope\" is not a phase of reset"), "{err}");
    let bad = r2.parent().unwrap().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\nunmountFlags:\n- MNT_SOMETIMES\n").unwrap();
    let (code, _, err) = ks(&[
        "reset",
        "-f",
        "--root",
        rs2,
        "--config",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("unmountFlags[0]") && err.contains("MNT_SOMETIMES"),
        "{err}"
    );
    // --cert-dir names the directory to clean
    let (code, out, _) = ks(&[
        "reset",
        "-f",
        "--root",
        rs2,
        "--cert-dir",
        "/etc/kubernetes/pki",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("/etc/kubernetes/pki]"), "{out}");
    assert!(!r2.join("etc/kubernetes/pki/ca.crt").exists());
}

#[test]
fn reset_on_a_worker_cleans_what_join_wrote() {
    let (_t, r) = root();
    let put = |p: &str| {
        let f = r.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, "x").unwrap();
    };
    for p in [
        "/etc/kubernetes/kubelet.conf",
        "/etc/kubernetes/pki/ca.crt",
        "/var/lib/kubelet/config.yaml",
        "/var/lib/kubelet/kubeadm-flags.env",
        "/var/lib/kubelet/pki/kubelet-client-current.pem",
    ] {
        put(p);
    }
    let (code, out, err) = ks(&["reset", "-f", "--root", r.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!r.join("etc/kubernetes/kubelet.conf").exists());
    assert_eq!(
        std::fs::read_dir(r.join("var/lib/kubelet"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(r.join("etc/kubernetes/pki"))
            .unwrap()
            .count(),
        0
    );
    // no etcd manifest: the default data dir, nothing in it, nothing said
    assert!(!out.contains("etcd data directory"), "{out}");
}

#[test]
fn kubeconfig_user_is_signed_by_the_cluster_ca() {
    let (t, r) = root();
    let cfg = data("cluster.yaml");
    init_root(&r, &cfg);
    let out = ok(&[
        "kubeconfig",
        "user",
        "--client-name",
        "alice",
        "--org",
        "devs,ops",
        "--validity-period",
        "24h",
        "--root",
        r.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let conf = t.path().join("alice.conf");
    std::fs::write(&conf, &out).unwrap();
    let crt = t.path().join("alice.crt");
    let v = embedded_cert(&conf, &crt);
    assert_eq!(v["current-context"], "alice@kubernetes");
    assert_eq!(v["users"][0]["name"], "alice");
    assert_eq!(
        v["clusters"][0]["cluster"]["server"],
        "https://192.0.2.10:6443"
    );
    let subject = openssl(&["x509", "-noout", "-subject", "-in", crt.to_str().unwrap()]);
    assert_eq!(subject.trim(), "subject=O = devs, O = ops, CN = alice");
    let verify = openssl(&[
        "verify",
        "-CAfile",
        r.join("etc/kubernetes/pki/ca.crt").to_str().unwrap(),
        crt.to_str().unwrap(),
    ]);
    assert!(verify.contains(": OK"));
    let ext = openssl(&[
        "x509",
        "-noout",
        "-ext",
        "extendedKeyUsage",
        "-in",
        crt.to_str().unwrap(),
    ]);
    assert!(ext.contains("TLS Web Client Authentication"), "{ext}");
    // 24h validity
    let ok_now = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-checkend",
            "86000",
            "-in",
            crt.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    let not_in_25h = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-checkend",
            "90000",
            "-in",
            crt.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok_now.success() && !not_in_25h.success());
    // kubectl reads it (when the real binaries are there)
    if let Some(bins) = k8s::bin_dir() {
        let (code, view, err) = k8s::run(
            &bins.join("kubectl"),
            &[
                "config",
                "view",
                "--kubeconfig",
                conf.to_str().unwrap(),
                "-o",
                "jsonpath={.contexts[0].name}",
            ],
            &[],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(view, "alice@kubernetes");
    }
    // the token form needs only ca.crt; a missing CA is named
    std::fs::remove_file(r.join("etc/kubernetes/pki/ca.key")).unwrap();
    let out = ok(&[
        "kubeconfig",
        "user",
        "--client-name",
        "bob",
        "--token",
        "abcdef.0123456789abcdef",
        "--root",
        r.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(out.contains("token: abcdef.0123456789abcdef"), "{out}");
    let (code, _, err) = ks(&[
        "kubeconfig",
        "user",
        "--client-name",
        "bob",
        "--root",
        r.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("/etc/kubernetes/pki/ca.key"), "{err}");
}

/// `kubestrap reset` in a pseudo-terminal: the confirmation screen lists what will be
/// deleted; Esc cancels (nothing changes), Enter resets.
#[test]
fn reset_confirmation_screen_in_a_terminal() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let (_t, r) = root();
    init_root(&r, &data("cluster.yaml"));
    let before = snapshot(&r);
    let run = |keys: &str| -> (u32, String) {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(bin());
        cmd.args(["reset", "--root", r.to_str().unwrap()]);
        cmd.env("TERM", "xterm-256color");
        cmd.env("PATH", "/nonexistent");
        let mut child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(24, 80, 0)));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let p2 = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p2.lock().unwrap().process(&buf[..n]);
            }
        });
        let mut writer = pair.master.take_writer().unwrap();
        let end = Instant::now() + Duration::from_secs(20);
        let screen = loop {
            let s = parser.lock().unwrap().screen().contents();
            if s.contains("Enter reset this node") && s.contains("/etc/kubernetes/admin.conf") {
                break s;
            }
            assert!(Instant::now() < end, "no confirmation screen:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        };
        writer.write_all(keys.as_bytes()).unwrap();
        writer.flush().unwrap();
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return (st.exit_code(), screen);
            }
            assert!(Instant::now() < end, "reset did not end after {keys:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (code, screen) = run("\x1b");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("kubestrap · reset"), "{screen}");
    assert!(screen.contains("/etc/kubernetes/manifests"), "{screen}");
    assert!(screen.contains("Left in place: /etc/cni/net.d"), "{screen}");
    assert_eq!(snapshot(&r), before, "Esc changed the tree");
    let (code, _) = run("\r");
    assert_eq!(code, 0);
    assert!(!r.join("etc/kubernetes/admin.conf").exists());
    assert_eq!(
        std::fs::read_dir(r.join("etc/kubernetes/pki"))
            .unwrap()
            .count(),
        0
    );
}

/// The init wizard's welcome screen on a machine that already has a control plane shows
/// the certificates' expiry and the commands to renew or start over.
#[test]
fn welcome_screen_shows_an_existing_control_planes_certificates() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let (t, r) = root();
    init_root(&r, &data("cluster.yaml"));
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(bin());
    cmd.args([
        "init",
        "--dry-run",
        "--root",
        r.to_str().unwrap(),
        "--apiserver-advertise-address",
        "192.0.2.10",
    ]);
    cmd.env("TERM", "xterm-256color");
    cmd.env("TMPDIR", t.path());
    cmd.env("KUBESTRAP_LOG_DIR", t.path());
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(24, 80, 0)));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let p2 = parser.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p2.lock().unwrap().process(&buf[..n]);
        }
    });
    let end = Instant::now() + Duration::from_secs(30);
    let screen = loop {
        let s = parser.lock().unwrap().screen().contents();
        if s.contains("kubestrap certs renew all") {
            break s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("no expiry summary on the welcome screen:\n{s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // r renews them (a dry run: the renewed files go to its own directory, not the root)
    let before = std::fs::read(r.join("etc/kubernetes/pki/apiserver.crt")).unwrap();
    let mut writer = pair.master.take_writer().unwrap();
    writer.write_all(b"r").unwrap();
    writer.flush().unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let s = parser.lock().unwrap().screen().contents();
        if s.contains("Renewed 11 certificates (0 missing or external)") {
            break;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("no renewal notice after r:\n{s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read(r.join("etc/kubernetes/pki/apiserver.crt")).unwrap(),
        before
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        screen.contains("control plane found: 14 certificates, ")
            && screen.contains(" expires first (in 36"),
        "{screen}"
    );
    assert!(screen.contains("kubestrap reset"), "{screen}");
}

#[test]
fn config_images_pull_pulls_each_image_through_crictl() {
    let t = tempfile::tempdir().unwrap();
    let record = t.path().join("record");
    let stub = t.path().join("bin");
    std::fs::create_dir_all(&stub).unwrap();
    std::fs::write(
        stub.join("crictl"),
        format!("#!/bin/sh\necho \"crictl $*\" >> '{}'\n", record.display()),
    )
    .unwrap();
    std::fs::set_permissions(
        stub.join("crictl"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let o = Command::new(bin())
        .args([
            "config",
            "images",
            "pull",
            "--kubernetes-version",
            "v1.36.3",
            "--cri-socket",
            "unix:///run/test/cri.sock",
        ])
        .env("PATH", &stub)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let images = ok(&[
        "config",
        "images",
        "list",
        "--kubernetes-version",
        "v1.36.3",
    ]);
    let want: String = images
        .lines()
        .map(|i| format!("[config/images] Pulled {i}\n"))
        .collect();
    assert_eq!(out, want);
    let rec = std::fs::read_to_string(&record).unwrap();
    let want: String = images
        .lines()
        .map(|i| format!("crictl --runtime-endpoint unix:///run/test/cri.sock pull {i}\n"))
        .collect();
    assert_eq!(rec, want);
}

/// On a PKI without kubeconfig files (kubeadm reads those from the real /etc/kubernetes,
/// absent here), the real kubeadm's check-expiration output, text, JSON and YAML, equals
/// kubestrap's but for the residual time (the runs are a second or so apart).
#[test]
fn check_expiration_output_equals_the_real_kubeadms_on_a_pki() {
    let Some(bins) = k8s::bin_dir() else { return };
    if Path::new("/etc/kubernetes/admin.conf").exists() {
        eprintln!("SKIPPED: this machine has /etc/kubernetes/admin.conf, which kubeadm would read");
        return;
    }
    let (_t, r) = root();
    let cfg = data("cluster.yaml");
    let (rs, cs) = (r.to_str().unwrap(), cfg.to_str().unwrap());
    ok(&[
        "init", "phase", "certs", "all", "--root", rs, "--config", cs,
    ]);
    let kcfg = r.parent().unwrap().join("kubeadm.yaml");
    std::fs::write(
        &kcfg,
        std::fs::read_to_string(&cfg).unwrap().replace(
            "kubernetesVersion: v1.37.2",
            &format!(
                "kubernetesVersion: v1.37.2\ncertificatesDir: {}",
                r.join("etc/kubernetes/pki").display()
            ),
        ),
    )
    .unwrap();
    let norm = |s: &str| -> String {
        s.lines()
            .map(|l| {
                if l.contains("residualTime") {
                    "residualTime".to_string()
                } else {
                    l.replace("   365d   ", "   364d   ")
                        .replace("   10y    ", "   9y     ")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for fmt in ["text", "json", "yaml"] {
        let (code, theirs, err) = k8s::run(
            &k8s::kubeadm(&bins, "v1.37.2"),
            &[
                "certs",
                "check-expiration",
                "--config",
                kcfg.to_str().unwrap(),
                "-o",
                fmt,
            ],
            &[],
        );
        assert_eq!(code, 0, "{err}");
        let ours = ok(&[
            "certs",
            "check-expiration",
            "--root",
            rs,
            "--config",
            cs,
            "-o",
            fmt,
        ]);
        assert_eq!(
            norm(&ours),
            norm(&theirs),
            "-o {fmt}\nkubeadm:\n{theirs}\nkubestrap:\n{ours}"
        );
    }
}

/// `certs renew all` on two copies of the same PKI (no kubeconfig files): the real kubeadm
/// v1.37.2 and kubestrap print the same lines and write certificates with the same subject,
/// issuer, SANs, key usages, extended key usages and basic constraints.
#[test]
fn renew_all_equals_the_real_kubeadms() {
    let Some(bins) = k8s::bin_dir() else { return };
    if Path::new("/etc/kubernetes/admin.conf").exists() {
        eprintln!(
            "SKIPPED: this machine has /etc/kubernetes/admin.conf, which kubeadm would renew"
        );
        return;
    }
    let (t, r) = root();
    let cfg = data("cluster.yaml");
    let (rs, cs) = (r.to_str().unwrap(), cfg.to_str().unwrap());
    ok(&[
        "init", "phase", "certs", "all", "--root", rs, "--config", cs,
    ]);
    let theirs_pki = t.path().join("kubeadm-pki");
    let o = Command::new("cp")
        .args([
            "-a",
            r.join("etc/kubernetes/pki").to_str().unwrap(),
            theirs_pki.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(o.success());
    let kcfg = t.path().join("kubeadm.yaml");
    std::fs::write(
        &kcfg,
        std::fs::read_to_string(&cfg).unwrap().replace(
            "kubernetesVersion: v1.37.2",
            &format!(
                "kubernetesVersion: v1.37.2\ncertificatesDir: {}",
                theirs_pki.display()
            ),
        ),
    )
    .unwrap();
    let (code, theirs, err) = k8s::run(
        &k8s::kubeadm(&bins, "v1.37.2"),
        &["certs", "renew", "all", "--config", kcfg.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let ours = ok(&["certs", "renew", "all", "--root", rs, "--config", cs]);
    assert_eq!(ours, theirs);
    for leaf in [
        "apiserver",
        "apiserver-kubelet-client",
        "apiserver-etcd-client",
        "front-proxy-client",
        "etcd/server",
        "etcd/peer",
        "etcd/healthcheck-client",
    ] {
        // The same extensions (openssl lists them in certificate order, which differs).
        let sorted = |p: PathBuf| {
            let mut v: Vec<String> = kept_fields(&p).lines().map(String::from).collect();
            v.sort();
            v
        };
        let a = sorted(r.join(format!("etc/kubernetes/pki/{leaf}.crt")));
        let b = sorted(theirs_pki.join(format!("{leaf}.crt")));
        assert_eq!(a, b, "{leaf}");
        let key_type = |p: &Path| {
            openssl(&["x509", "-noout", "-text", "-in", p.to_str().unwrap()])
                .lines()
                .find(|l| l.contains("Public Key Algorithm") || l.contains("ASN1 OID"))
                .map(String::from)
        };
        assert_eq!(
            key_type(&r.join(format!("etc/kubernetes/pki/{leaf}.crt"))),
            key_type(&theirs_pki.join(format!("{leaf}.crt"))),
            "{leaf}"
        );
    }
}

/// `kubeconfig user` prints the same kubeconfig as the real kubeadm v1.37.2 on the same CA
/// (but for the key and certificate bytes), with the same client certificate fields.
#[test]
fn kubeconfig_user_equals_the_real_kubeadms() {
    let Some(bins) = k8s::bin_dir() else { return };
    let (t, r) = root();
    let cfg = data("cluster.yaml");
    let (rs, cs) = (r.to_str().unwrap(), cfg.to_str().unwrap());
    ok(&["init", "phase", "certs", "ca", "--root", rs, "--config", cs]);
    let kcfg = t.path().join("kubeadm.yaml");
    std::fs::write(
        &kcfg,
        std::fs::read_to_string(&cfg).unwrap().replace(
            "kubernetesVersion: v1.37.2",
            &format!(
                "kubernetesVersion: v1.37.2\ncertificatesDir: {}",
                r.join("etc/kubernetes/pki").display()
            ),
        ),
    )
    .unwrap();
    let mask = |s: &str| -> String {
        s.lines()
            .map(|l| match l.split_once("client-") {
                Some((head, rest)) if rest.contains("-data: ") => {
                    format!("{head}client-{}", rest.split_once(':').unwrap().0)
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for extra in [
        &["--org", "devs"][..],
        &["--token", "abcdef.0123456789abcdef"][..],
    ] {
        let mut a = vec!["kubeconfig", "user", "--client-name", "alice"];
        a.extend_from_slice(extra);
        let mut k = a.clone();
        k.extend(["--config", kcfg.to_str().unwrap()]);
        let (code, theirs, err) = k8s::run(&k8s::kubeadm(&bins, "v1.37.2"), &k, &[]);
        assert_eq!(code, 0, "{err}");
        a.extend(["--root", rs, "--config", cs]);
        let ours = ok(&a);
        assert_eq!(mask(&ours), mask(&theirs), "{extra:?}");
        if extra[0] == "--org" {
            let (p1, p2) = (t.path().join("ours.conf"), t.path().join("theirs.conf"));
            std::fs::write(&p1, &ours).unwrap();
            std::fs::write(&p2, &theirs).unwrap();
            let (c1, c2) = (t.path().join("ours.crt"), t.path().join("theirs.crt"));
            embedded_cert(&p1, &c1);
            embedded_cert(&p2, &c2);
            let sorted = |p: &Path| {
                let mut v: Vec<String> = kept_fields(p).lines().map(String::from).collect();
                v.sort();
                v
            };
            assert_eq!(sorted(&c1), sorted(&c2));
        }
    }
}

#[test]
fn reset_cleanup_tmp_dir_and_cri_socket_flags() {
    let (t, r) = root();
    let rs = r.to_str().unwrap();
    init_root(&r, &data("cluster.yaml"));
    let tmp_file = r.join("etc/kubernetes/tmp/kubeadm-backup-etcd-2026/x");
    std::fs::create_dir_all(tmp_file.parent().unwrap()).unwrap();
    std::fs::write(&tmp_file, "x").unwrap();
    // a crictl in PATH: under --root it is not run, and the refusal names the socket used
    let stub = t.path().join("bin");
    std::fs::create_dir_all(&stub).unwrap();
    std::fs::write(stub.join("crictl"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(
        stub.join("crictl"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let o = Command::new(bin())
        .args([
            "reset",
            "-f",
            "--root",
            rs,
            "--cleanup-tmp-dir",
            "--cri-socket",
            "unix:///run/other/cri.sock",
        ])
        .env("PATH", &stub)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains(
            "[/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki /etc/kubernetes/tmp]"
        ),
        "{out}"
    );
    assert!(!tmp_file.exists());
    assert!(r.join("etc/kubernetes/tmp").is_dir());
    assert!(
        err.contains("crictl --runtime-endpoint unix:///run/other/cri.sock")
            && err.contains("under --root"),
        "{err}"
    );
}

/// reset's preflight root check (`IsPrivilegedUser`) as a user other than root, and
/// `--ignore-preflight-errors` turning it into a warning (setpriv runs kubestrap as nobody;
/// only the preflight phase runs).
#[test]
fn reset_preflight_root_check_and_ignore_preflight_errors() {
    if !Path::new("/usr/bin/setpriv").exists() || unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: needs root and setpriv");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let r = t.path().join("root");
    let f = r.join("etc/kubernetes/admin.conf");
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    std::fs::write(&f, "x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    for d in [t.path(), &r, &r.join("etc"), &r.join("etc/kubernetes")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let as_nobody = |extra: &[&str]| {
        let mut args = vec![
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin(),
            "reset",
            "-f",
            "--root",
            r.to_str().unwrap(),
            "--skip-phases",
            "remove-etcd-member,cleanup-node",
        ];
        args.extend_from_slice(extra);
        let o = Command::new("/usr/bin/setpriv")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, err) = as_nobody(&[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("[ERROR IsPrivilegedUser]: user is not running as root"),
        "{err}"
    );
    let (code, out, err) = as_nobody(&["--ignore-preflight-errors", "IsPrivilegedUser"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("[WARNING IsPrivilegedUser]: user is not running as root"),
        "{err}"
    );
    assert!(f.exists(), "cleanup-node was skipped");
}
