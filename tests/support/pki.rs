//! A small test PKI (ECDSA-P256, generated with rcgen) and kubeconfig files laid out under a
//! temporary root as kubeadm lays them out: `/etc/kubernetes/pki/{ca,front-proxy-ca,sa,etcd/ca}`,
//! `/etc/kubernetes/{admin,super-admin}.conf`.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// A certificate with its key, in PEM.
pub struct Pair {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
}

/// The cluster CA (kept to sign more certificates).
pub struct TestCa {
    pub pair: Pair,
    params: CertificateParams,
    key: KeyPair,
}

impl TestCa {
    /// A self-signed CA with common name `cn`.
    pub fn new(cn: &str) -> Self {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec![cn.to_string()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let cert = params.self_signed(&key).expect("self-signed");
        TestCa {
            pair: Pair {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
                cert_der: cert.der().to_vec(),
            },
            params,
            key,
        }
    }

    fn issue(&self, params: CertificateParams) -> Pair {
        let key = KeyPair::generate().expect("key");
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("sign");
        Pair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        }
    }

    /// A serving certificate for `dns` names and `ips`.
    pub fn server(&self, cn: &str, dns: &[&str], ips: &[IpAddr]) -> Pair {
        let mut p = CertificateParams::new(dns.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("params");
        for ip in ips {
            p.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(p)
    }

    /// A client certificate with CN `cn` and organisations `orgs`.
    pub fn client(&self, cn: &str, orgs: &[&str]) -> Pair {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        for o in orgs {
            p.distinguished_name.push(DnType::OrganizationName, *o);
        }
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(p)
    }
}

/// A kubeconfig with one cluster `cluster`, one user with embedded client certificate and one
/// current context `<user>@<cluster>`, as kubeadm writes them.
pub fn kubeconfig(server: &str, ca_pem: &str, cluster: &str, user: &str, client: &Pair) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {cluster}\ncontexts:\n- context:\n    cluster: {cluster}\n    user: {user}\n  name: {user}@{cluster}\ncurrent-context: {user}@{cluster}\nkind: Config\npreferences: {{}}\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
        ca = STANDARD.encode(ca_pem),
        cert = STANDARD.encode(&client.cert_pem),
        key = STANDARD.encode(&client.key_pem),
    )
}

/// Everything a test needs: the CA, the apiserver serving pair, and the files under `root`.
pub struct TestPki {
    pub ca: TestCa,
    pub apiserver: Pair,
    pub root: PathBuf,
}

fn write(root: &Path, real: &str, data: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let p = root.join(real.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl TestPki {
    /// Generates the PKI and writes ca.crt/key, front-proxy-ca, sa.key/pub, etcd/ca under
    /// `root/etc/kubernetes/pki`. `server` is the admin.conf server URL; call
    /// [`TestPki::write_kubeconfigs`] once the server's address is known.
    pub fn new(root: &Path) -> Self {
        let ca = TestCa::new("kubernetes");
        let apiserver = ca.server(
            "kube-apiserver",
            &["localhost", "kubernetes", "kubernetes.default"],
            &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        );
        write(root, "/etc/kubernetes/pki/ca.crt", &ca.pair.cert_pem, 0o644);
        write(root, "/etc/kubernetes/pki/ca.key", &ca.pair.key_pem, 0o600);
        let fp = TestCa::new("front-proxy-ca");
        write(
            root,
            "/etc/kubernetes/pki/front-proxy-ca.crt",
            &fp.pair.cert_pem,
            0o644,
        );
        write(
            root,
            "/etc/kubernetes/pki/front-proxy-ca.key",
            &fp.pair.key_pem,
            0o600,
        );
        let etcd = TestCa::new("etcd-ca");
        write(
            root,
            "/etc/kubernetes/pki/etcd/ca.crt",
            &etcd.pair.cert_pem,
            0o644,
        );
        write(
            root,
            "/etc/kubernetes/pki/etcd/ca.key",
            &etcd.pair.key_pem,
            0o600,
        );
        let sa = KeyPair::generate().unwrap();
        write(
            root,
            "/etc/kubernetes/pki/sa.key",
            &sa.serialize_pem(),
            0o600,
        );
        write(
            root,
            "/etc/kubernetes/pki/sa.pub",
            &sa.public_key_pem(),
            0o644,
        );
        TestPki {
            ca,
            apiserver,
            root: root.to_path_buf(),
        }
    }

    /// Writes admin.conf (O=kubeadm:cluster-admins) and super-admin.conf (O=system:masters)
    /// pointing at `server`.
    pub fn write_kubeconfigs(&self, server: &str) {
        let admin = self
            .ca
            .client("kubernetes-admin", &["kubeadm:cluster-admins"]);
        let sup = self
            .ca
            .client("kubernetes-super-admin", &["system:masters"]);
        let ca = &self.ca.pair.cert_pem;
        write(
            &self.root,
            "/etc/kubernetes/admin.conf",
            &kubeconfig(server, ca, "kubernetes", "kubernetes-admin", &admin),
            0o600,
        );
        write(
            &self.root,
            "/etc/kubernetes/super-admin.conf",
            &kubeconfig(server, ca, "kubernetes", "kubernetes-super-admin", &sup),
            0o600,
        );
    }

    /// A kubeconfig for an arbitrary client identity.
    pub fn client_kubeconfig(&self, server: &str, cn: &str, orgs: &[&str]) -> String {
        let c = self.ca.client(cn, orgs);
        kubeconfig(server, &self.ca.pair.cert_pem, "kubernetes", cn, &c)
    }
}
