//! `certs check-expiration` and `certs renew`: kubeadm's renewal manager
//! (`cmd/kubeadm/app/phases/certs/renewal/manager.go`, `readwriter.go`, `expiration.go`)
//! over a [`Host`], with kubeadm's names, files and rules.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::config::InitConfig;
use crate::day2::godfmt::{go_expiry, human_duration, rfc3339, tabwrite};
use crate::host::Host;
use crate::pki::keys::{KeyAlgorithm, private_key_pem};
use crate::pki::spec::Usage;
use crate::pki::{Ca, Sans, issue_cert, load_cert_pem, pem_encode};

mod expiration;
mod renew;

pub use expiration::*;
pub use renew::*;

/// Where a renewable certificate lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertFile {
    /// `<certificatesDir>/<base>.crt` and `.key`, e.g. `etcd/server`.
    Pki(&'static str),
    /// The client certificate embedded in `/etc/kubernetes/<file>` (current context's user).
    Kubeconfig(&'static str),
}

/// One renewable certificate: kubeadm's `CertificateRenewHandler`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handler {
    /// kubeadm's name: `apiserver`, `etcd-server`, `admin.conf`.
    pub name: &'static str,
    /// kubeadm's long name, used in `<long name> renewed` and `MISSING! <long name>`.
    pub long_name: &'static str,
    pub file: CertFile,
    /// Name of the signing CA in the table: `ca`, `etcd-ca`, `front-proxy-ca`.
    pub ca_name: &'static str,
    /// Base name of the signing CA's files: `ca`, `etcd/ca`, `front-proxy-ca`.
    pub ca_base: &'static str,
}

impl Handler {
    /// True for the rows that exist only with a local (stacked) etcd.
    pub fn is_etcd(&self) -> bool {
        self.ca_base == "etcd/ca"
    }
}

/// Every renewable certificate, sorted by name as kubeadm's `Manager.Certificates()`.
pub const HANDLERS: &[Handler] = &[
    Handler {
        name: "admin.conf",
        long_name: "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself",
        file: CertFile::Kubeconfig("admin.conf"),
        ca_name: "ca",
        ca_base: "ca",
    },
    Handler {
        name: "apiserver",
        long_name: "certificate for serving the Kubernetes API",
        file: CertFile::Pki("apiserver"),
        ca_name: "ca",
        ca_base: "ca",
    },
    Handler {
        name: "apiserver-etcd-client",
        long_name: "certificate the apiserver uses to access etcd",
        file: CertFile::Pki("apiserver-etcd-client"),
        ca_name: "etcd-ca",
        ca_base: "etcd/ca",
    },
    Handler {
        name: "apiserver-kubelet-client",
        long_name: "certificate for the API server to connect to kubelet",
        file: CertFile::Pki("apiserver-kubelet-client"),
        ca_name: "ca",
        ca_base: "ca",
    },
    Handler {
        name: "controller-manager.conf",
        long_name: "certificate embedded in the kubeconfig file for the controller manager to use",
        file: CertFile::Kubeconfig("controller-manager.conf"),
        ca_name: "ca",
        ca_base: "ca",
    },
    Handler {
        name: "etcd-healthcheck-client",
        long_name: "certificate for liveness probes to healthcheck etcd",
        file: CertFile::Pki("etcd/healthcheck-client"),
        ca_name: "etcd-ca",
        ca_base: "etcd/ca",
    },
    Handler {
        name: "etcd-peer",
        long_name: "certificate for etcd nodes to communicate with each other",
        file: CertFile::Pki("etcd/peer"),
        ca_name: "etcd-ca",
        ca_base: "etcd/ca",
    },
    Handler {
        name: "etcd-server",
        long_name: "certificate for serving etcd",
        file: CertFile::Pki("etcd/server"),
        ca_name: "etcd-ca",
        ca_base: "etcd/ca",
    },
    Handler {
        name: "front-proxy-client",
        long_name: "certificate for the front proxy client",
        file: CertFile::Pki("front-proxy-client"),
        ca_name: "front-proxy-ca",
        ca_base: "front-proxy-ca",
    },
    Handler {
        name: "scheduler.conf",
        long_name: "certificate embedded in the kubeconfig file for the scheduler manager to use",
        file: CertFile::Kubeconfig("scheduler.conf"),
        ca_name: "ca",
        ca_base: "ca",
    },
    Handler {
        name: "super-admin.conf",
        long_name: "certificate embedded in the kubeconfig file for the super-admin",
        file: CertFile::Kubeconfig("super-admin.conf"),
        ca_name: "ca",
        ca_base: "ca",
    },
];

/// The CAs of the table, sorted by name: (name, base name of the files).
pub const CAS: &[(&str, &str)] = &[
    ("ca", "ca"),
    ("etcd-ca", "etcd/ca"),
    ("front-proxy-ca", "front-proxy-ca"),
];

/// The leaves kubeadm verifies against a CA whose key is absent before calling it
/// externally managed (`UsingExternalCA`, `UsingExternalFrontProxyCA`,
/// `UsingExternalEtcdCA` in app/phases/certs/certs.go).
fn leaves_checked_for(ca_base: &str) -> &'static [&'static str] {
    match ca_base {
        "ca" => &["apiserver", "apiserver-kubelet-client"],
        "front-proxy-ca" => &["front-proxy-client"],
        _ => &[
            "apiserver-etcd-client",
            "etcd/server",
            "etcd/peer",
            "etcd/healthcheck-client",
        ],
    }
}

/// The handlers for a configuration: without the etcd rows for external etcd.
pub fn handlers(external_etcd: bool) -> Vec<&'static Handler> {
    HANDLERS
        .iter()
        .filter(|h| !(external_etcd && h.is_etcd()))
        .collect()
}

/// Finds a handler by kubeadm's name (`etcd-server`, `admin.conf`).
pub fn handler(name: &str) -> Option<&'static Handler> {
    HANDLERS.iter().find(|h| h.name == name)
}

/// Where the certificates and kubeconfig files are, and the host to read them through.
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    pub host: &'a dyn Host,
    /// `certificatesDir` (real path).
    pub cert_dir: &'a Path,
    /// The kubeconfig folder, `/etc/kubernetes`.
    pub kube_dir: &'a Path,
}

impl Files<'_> {
    fn pki(&self, base: &str, ext: &str) -> PathBuf {
        self.cert_dir.join(format!("{base}.{ext}"))
    }

    fn is_file(&self, p: &Path) -> bool {
        // Through the host, so a dry-run overlay finds files of the root below it; reading
        // a directory fails.
        self.host.read(p).is_ok()
    }

    fn read(&self, p: &Path) -> Result<Vec<u8>, String> {
        self.host
            .read(p)
            .map_err(|e| format!("cannot read {}: {e}", p.display()))
    }

    /// The real path of the file a handler reads.
    pub fn path_of(&self, h: &Handler) -> PathBuf {
        match h.file {
            CertFile::Pki(base) => self.pki(base, "crt"),
            CertFile::Kubeconfig(f) => self.kube_dir.join(f),
        }
    }

    /// True when the handler's file exists (kubeadm's `readwriter.Exists`).
    pub fn exists(&self, h: &Handler) -> bool {
        self.is_file(&self.path_of(h))
    }

    /// The DER of a PEM certificate file (its first certificate).
    fn cert_der(&self, p: &Path) -> Result<Vec<u8>, String> {
        let bytes = self.read(p)?;
        load_cert_pem(&bytes, &p.display().to_string()).map_err(|e| e.to_string())
    }

    /// Reads the certificate of a handler: the PKI file, or the current context's embedded
    /// client certificate of a kubeconfig (kubeadm's `kubeConfigReadWriter.Read`, with its
    /// checks: context, cluster with CA data, user with client certificate data).
    pub fn read_cert(&self, h: &Handler) -> Result<Vec<u8>, String> {
        match h.file {
            CertFile::Pki(base) => self.cert_der(&self.pki(base, "crt")),
            CertFile::Kubeconfig(_) => {
                let path = self.path_of(h);
                let (kc, user) = self.load_kubeconfig(&path)?;
                let auth = kc
                    .auth_infos
                    .iter()
                    .find(|a| a.name == user)
                    .and_then(|a| a.auth_info.as_ref());
                let data = auth
                    .and_then(|a| a.client_certificate_data.as_deref())
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| {
                        format!(
                            "kubeConfig file {} does not have an embedded client certificate",
                            path.display()
                        )
                    })?;
                let pem = B64.decode(data.trim()).map_err(|_| {
                    format!(
                        "kubeConfig file {} does not contain a valid client certificate: client-certificate-data is not base64",
                        path.display()
                    )
                })?;
                load_cert_pem(
                    &pem,
                    &format!("{} (client-certificate-data)", path.display()),
                )
                .map_err(|e| {
                    format!(
                        "kubeConfig file {} does not contain a valid client certificate: {e}",
                        path.display()
                    )
                })
            }
        }
    }

    /// Loads a kubeconfig and checks it as kubeadm's reader does; returns it and the name of
    /// the current context's user.
    fn load_kubeconfig(&self, path: &Path) -> Result<(kube::config::Kubeconfig, String), String> {
        let bytes = self.read(path)?;
        let kc = crate::pki::kubeconfig::from_yaml(&bytes, &path.display().to_string())
            .map_err(|e| format!("failed to load kubeConfig file {}: {e}", path.display()))?;
        let p = path.display();
        let cur = kc.current_context.clone().unwrap_or_default();
        let ctx = kc
            .contexts
            .iter()
            .find(|c| c.name == cur)
            .and_then(|c| c.context.clone())
            .ok_or_else(|| format!("invalid kubeConfig file {p}: missing context {cur}"))?;
        let cluster = kc
            .clusters
            .iter()
            .find(|c| c.name == ctx.cluster)
            .and_then(|c| c.cluster.as_ref())
            .ok_or_else(|| {
                format!(
                    "invalid kubeConfig file {p}: missing cluster {}",
                    ctx.cluster
                )
            })?;
        if cluster
            .certificate_authority_data
            .as_deref()
            .unwrap_or("")
            .is_empty()
        {
            return Err(format!(
                "kubeConfig file {p} does not have an embedded server certificate"
            ));
        }
        let user = ctx.user.clone().unwrap_or_default();
        if !kc.auth_infos.iter().any(|a| a.name == user) {
            return Err(format!(
                "invalid kubeConfig file {p}: missing authInfo {user}"
            ));
        }
        Ok((kc, user))
    }

    /// kubeadm's `IsExternallyManaged`: the CA certificate must load and be a CA; with its
    /// key present it is not external; without it, the leaves it signs must load (key and
    /// certificate) and verify against it, else the error names the file.
    pub fn externally_managed(&self, ca_base: &str) -> Result<bool, String> {
        let ca_path = self.pki(ca_base, "crt");
        let ca_der = self
            .cert_der(&ca_path)
            .map_err(|e| format!("failure loading certificate for {ca_base}: {e}"))?;
        let ca = parse(&ca_der, &ca_path)?;
        if !ca.is_ca() {
            return Err(format!("certificate {} is not a CA", ca_path.display()));
        }
        if self.host.exists(&self.pki(ca_base, "key")) {
            return Ok(false);
        }
        for leaf in leaves_checked_for(ca_base) {
            let key = self.pki(leaf, "key");
            if !self.host.exists(&key) {
                return Err(format!(
                    "failure loading key for {leaf}: {} does not exist",
                    key.display()
                ));
            }
            let path = self.pki(leaf, "crt");
            let der = self
                .cert_der(&path)
                .map_err(|e| format!("failure loading certificate for {leaf}: {e}"))?;
            let cert = parse(&der, &path)?;
            if cert.issuer() != ca.subject()
                || cert.verify_signature(Some(ca.public_key())).is_err()
            {
                return Err(format!(
                    "certificate {} is not signed by corresponding CA {}",
                    path.display(),
                    ca_path.display()
                ));
            }
        }
        Ok(true)
    }
}

fn parse<'a>(der: &'a [u8], path: &Path) -> Result<X509Certificate<'a>, String> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c)
        .map_err(|e| format!("{}: certificate does not parse: {e}", path.display()))
}

fn not_after(der: &[u8], path: &Path) -> Result<i64, String> {
    Ok(parse(der, path)?.validity().not_after.timestamp())
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unix time now, for [`expiration_info`].
pub fn now() -> i64 {
    now_unix()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;

    #[test]
    fn a_fresh_node_has_no_expiry_warning_and_a_short_lived_certificate_has_one() {
        let h = FakeHost::new().unwrap();
        let mut cfg = crate::config::defaults::example_init_config("v1.37.2");
        crate::config::defaults::apply_static_init_defaults(&mut cfg);
        assert!(expiring_soon(&h, &cfg).is_empty());
        let key = KeyAlgorithm::EcdsaP256.generate().unwrap();
        let ca_der = issue_cert(
            "kubernetes",
            &[],
            Usage::Ca,
            &Sans::default(),
            &key,
            None,
            SystemTime::now(),
            Duration::from_secs(86400 * 3650),
        )
        .unwrap();
        let ca = Ca::new(
            "ca",
            PathBuf::from("/etc/kubernetes/pki/ca.crt"),
            ca_der,
            Some(key),
        );
        h.put("/etc/kubernetes/pki/ca.crt", &ca.cert_pem).unwrap();
        let leaf_key = KeyAlgorithm::EcdsaP256.generate().unwrap();
        let der = issue_cert(
            "kube-apiserver",
            &[],
            Usage::Server,
            &Sans::default(),
            &leaf_key,
            Some(&ca),
            SystemTime::now(),
            Duration::from_secs(86400 * 5 - 3600),
        )
        .unwrap();
        h.put(
            "/etc/kubernetes/pki/apiserver.crt",
            &pem_encode("CERTIFICATE", &der),
        )
        .unwrap();
        h.put(
            "/etc/kubernetes/pki/ca.key",
            &private_key_pem(ca.key.as_ref().unwrap()).unwrap(),
        )
        .unwrap();
        let w = expiring_soon(&h, &cfg);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("the certificate apiserver expires in 4d2"),
            "{w:?}"
        );
        assert!(w[0].ends_with("kubestrap certs renew apiserver"), "{w:?}");
    }
}
