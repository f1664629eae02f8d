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

use super::godfmt::{go_expiry, human_duration, rfc3339, tabwrite};
use crate::config::InitConfig;
use crate::host::Host;
use crate::pki::keys::{KeyAlgorithm, private_key_pem};
use crate::pki::spec::Usage;
use crate::pki::{Ca, Sans, issue_cert, load_cert_pem, pem_encode};

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

/// One row of `check-expiration`: kubeadm's `output.kubeadm.k8s.io/v1alpha3` `Certificate`,
/// plus `unreadable` (kubestrap's: why a present file could not be read; kubeadm aborts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub name: String,
    /// RFC 3339; `null` when missing or unreadable.
    pub expiration_date: Option<String>,
    /// Whole seconds until expiry (negative once expired); 0 when missing.
    pub residual_time: i64,
    pub externally_managed: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca_name: String,
    pub missing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
    /// Unix time of NotAfter (not serialised).
    #[serde(skip)]
    pub not_after: Option<i64>,
}

/// kubeadm's `CertificateExpirationInfo` (`-o json|yaml` of check-expiration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpirationInfo {
    pub kind: &'static str,
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub certificates: Vec<Row>,
    #[serde(rename = "certificateAuthorities")]
    pub certificate_authorities: Vec<Row>,
}

fn row(name: &str, ca_name: &str) -> Row {
    Row {
        name: name.to_string(),
        expiration_date: None,
        residual_time: 0,
        externally_managed: false,
        ca_name: ca_name.to_string(),
        missing: false,
        unreadable: None,
        not_after: None,
    }
}

/// Collects the table (kubeadm's `fetchCertificateExpirationInfo`) at time `now`. Never
/// fails: a missing file is a `missing` row, a file that cannot be read or verified is an
/// `unreadable` row with the reason.
pub fn expiration_info(files: &Files<'_>, external_etcd: bool, now: i64) -> ExpirationInfo {
    let mut certificates = Vec::new();
    for h in handlers(external_etcd) {
        let mut r = row(h.name, h.ca_name);
        if !files.exists(h) {
            r.missing = true;
            r.ca_name.clear();
            certificates.push(r);
            continue;
        }
        let read = files.externally_managed(h.ca_base).and_then(|ext| {
            let der = files.read_cert(h)?;
            Ok((ext, not_after(&der, &files.path_of(h))?))
        });
        fill(&mut r, read, now);
        certificates.push(r);
    }
    let mut cas = Vec::new();
    for (name, base) in CAS {
        if external_etcd && *name == "etcd-ca" {
            continue;
        }
        let mut r = row(name, "");
        let path = files.pki(base, "crt");
        if !files.is_file(&path) {
            r.missing = true;
            cas.push(r);
            continue;
        }
        let read = files.externally_managed(base).and_then(|ext| {
            let der = files.cert_der(&path)?;
            Ok((ext, not_after(&der, &path)?))
        });
        fill(&mut r, read, now);
        cas.push(r);
    }
    ExpirationInfo {
        kind: "CertificateExpirationInfo",
        api_version: "output.kubeadm.k8s.io/v1alpha3",
        certificates,
        certificate_authorities: cas,
    }
}

fn fill(r: &mut Row, read: Result<(bool, i64), String>, now: i64) {
    match read {
        Ok((ext, na)) => {
            r.externally_managed = ext;
            r.expiration_date = Some(rfc3339(na));
            r.residual_time = na - now;
            r.not_after = Some(na);
        }
        Err(e) => r.unreadable = Some(e),
    }
}

/// kubeadm's text table (`certTextPrinter.PrintObj`): a tab writer (min width 10, padding
/// 3), the certificates, a blank line, the CAs; `!MISSING! <name>` rows for absent files and
/// kubestrap's `!UNREADABLE! <name>` rows for files that cannot be read.
pub fn format_text(info: &ExpirationInfo) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut t = String::from(
        "CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tEXTERNALLY MANAGED\n",
    );
    for c in &info.certificates {
        if c.missing {
            t.push_str(&format!("!MISSING! {}\t\t\t\t\n", c.name));
        } else if c.unreadable.is_some() {
            t.push_str(&format!("!UNREADABLE! {}\t\t\t{}\t\n", c.name, c.ca_name));
        } else {
            let na = c.not_after.unwrap_or(0);
            t.push_str(&format!(
                "{}\t{}\t{}\t{}\t{:<8}\n",
                c.name,
                go_expiry(na),
                human_duration(c.residual_time),
                c.ca_name,
                yes_no(c.externally_managed)
            ));
        }
    }
    t.push('\n');
    t.push_str("CERTIFICATE AUTHORITY\tEXPIRES\tRESIDUAL TIME\tEXTERNALLY MANAGED\n");
    for c in &info.certificate_authorities {
        if c.missing {
            t.push_str(&format!("!MISSING! {}\t\t\t\n", c.name));
        } else if c.unreadable.is_some() {
            t.push_str(&format!("!UNREADABLE! {}\t\t\t\n", c.name));
        } else {
            let na = c.not_after.unwrap_or(0);
            t.push_str(&format!(
                "{}\t{}\t{}\t{:<8}\n",
                c.name,
                go_expiry(na),
                human_duration(c.residual_time),
                yes_no(c.externally_managed)
            ));
        }
    }
    tabwrite(&t, 10, 3)
}

/// Certificates expiring within this many days are warned about.
pub const WARN_DAYS: i64 = 30;

/// The warnings of a table: unreadable files (with the reason) and certificates that have
/// expired or expire within [`WARN_DAYS`] days, each naming the command that renews it.
pub fn warnings(info: &ExpirationInfo) -> Vec<String> {
    let mut w = Vec::new();
    for (c, is_ca) in info
        .certificates
        .iter()
        .map(|c| (c, false))
        .chain(info.certificate_authorities.iter().map(|c| (c, true)))
    {
        if let Some(why) = &c.unreadable {
            w.push(format!("{} is unreadable: {why}", c.name));
            continue;
        }
        let Some(na) = c.not_after else { continue };
        if c.residual_time >= WARN_DAYS * 86400 {
            continue;
        }
        let when = if c.residual_time < 0 {
            format!("expired on {}", go_expiry(na))
        } else {
            format!(
                "expires in {} (on {})",
                human_duration(c.residual_time),
                go_expiry(na)
            )
        };
        let what = if is_ca {
            format!(
                "the certificate authority {} {when}; kubeadm and kubestrap do not renew CAs: rotate it by hand (see \"Manual certificate renewal\" in the kubeadm documentation)",
                c.name
            )
        } else if c.externally_managed {
            format!(
                "the certificate {} {when}; its CA {} is managed outside this cluster: have it sign a new one",
                c.name, c.ca_name
            )
        } else {
            format!(
                "the certificate {} {when}; renew it with: kubestrap certs renew {}",
                c.name, c.name
            )
        };
        w.push(what);
    }
    w
}

/// What [`renew`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewed {
    /// The file is absent: kubeadm prints `MISSING! <long name>` and goes on.
    Missing,
    /// The signing CA's key is absent (external CA): nothing written.
    ExternalCa { ca_key: PathBuf },
    /// New certificate and key written.
    Done,
}

/// Renews one certificate as kubeadm's `RenewUsingLocalCA` does: CN, O, DNS and IP SANs and
/// extended key usages are copied from the existing certificate, a **new** key of
/// `encryptionAlgorithm` is generated, NotAfter = now + `certificateValidityPeriod`
/// (default 1 year), and the files are rewritten in place (for a kubeconfig: the current
/// user's `client-certificate-data`/`client-key-data`, and the cluster's
/// `certificate-authority-data` from `ca.crt`; the rest of the file is kept).
///
/// Errors name the file and what is wrong (unreadable certificate, CA that does not load,
/// bad `encryptionAlgorithm`, write failure).
pub fn renew(files: &Files<'_>, cfg: &InitConfig, h: &Handler) -> Result<Renewed, String> {
    if !files.exists(h) {
        return Ok(Renewed::Missing);
    }
    if files.externally_managed(h.ca_base)? {
        return Ok(Renewed::ExternalCa {
            ca_key: files.pki(h.ca_base, "key"),
        });
    }
    let path = files.path_of(h);
    let der = files
        .read_cert(h)
        .map_err(|e| format!("failed to load existing certificate {}: {e}", h.name))?;
    let cert = parse(&der, &path)?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap_or("")
        .to_string();
    let orgs: Vec<String> = cert
        .subject()
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(String::from))
        .collect();
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        ips.push(std::net::IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        ips.push(std::net::IpAddr::from(a));
                    }
                }
                _ => {}
            }
        }
    }
    let (server, client) = match cert.extended_key_usage() {
        Ok(Some(e)) => (e.value.server_auth, e.value.client_auth),
        _ => (false, false),
    };
    let usage = match (server, client) {
        (true, true) => Usage::ServerClient,
        (true, false) => Usage::Server,
        _ => Usage::Client,
    };
    let sans = Sans { dns, ips };
    let ca = Ca::load(files.host, files.cert_dir, h.ca_base).map_err(|e| e.to_string())?;
    let alg = KeyAlgorithm::parse(&cfg.cluster.encryption_algorithm).map_err(|e| e.to_string())?;
    let key = alg.generate().map_err(|e| e.to_string())?;
    let validity = cfg
        .cluster
        .certificate_validity_period
        .as_ref()
        .map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(8760 * 3600));
    let org_refs: Vec<&str> = orgs.iter().map(String::as_str).collect();
    let new_der = issue_cert(
        &cn,
        &org_refs,
        usage,
        &sans,
        &key,
        Some(&ca),
        SystemTime::now(),
        validity,
    )
    .map_err(|e| format!("failed to renew certificate {}: {e}", h.name))?;
    let cert_pem = pem_encode("CERTIFICATE", &new_der);
    let key_pem = private_key_pem(&key).map_err(|e| e.to_string())?;
    let write = |p: &Path, data: &[u8], mode: u32| {
        files.host.write_atomic(p, data, mode).map_err(|e| {
            format!(
                "failed to write new certificate {}: {}: {e}",
                h.name,
                p.display()
            )
        })
    };
    match h.file {
        CertFile::Pki(base) => {
            write(&files.pki(base, "key"), key_pem.as_bytes(), 0o600)?;
            write(&files.pki(base, "crt"), cert_pem.as_bytes(), 0o644)?;
        }
        CertFile::Kubeconfig(_) => {
            let (mut kc, user) = files.load_kubeconfig(&path)?;
            let cur = kc.current_context.clone().unwrap_or_default();
            let cluster_name = kc
                .contexts
                .iter()
                .find(|c| c.name == cur)
                .and_then(|c| c.context.as_ref())
                .map(|c| c.cluster.clone())
                .unwrap_or_default();
            for c in kc.clusters.iter_mut().filter(|c| c.name == cluster_name) {
                if let Some(cl) = c.cluster.as_mut() {
                    cl.certificate_authority_data = Some(B64.encode(ca.cert_pem.as_bytes()));
                }
            }
            for a in kc.auth_infos.iter_mut().filter(|a| a.name == user) {
                if let Some(ai) = a.auth_info.as_mut() {
                    ai.client_certificate_data = Some(B64.encode(cert_pem.as_bytes()));
                    ai.client_key_data = Some(B64.encode(key_pem.as_bytes()).into());
                }
            }
            let text = crate::pki::kubeconfig::to_yaml(&kc).map_err(|e| e.to_string())?;
            write(&path, text.as_bytes(), 0o600)?;
        }
    }
    Ok(Renewed::Done)
}

/// The warnings `init` preflight gives for existing certificates (a re-run, or files put in
/// place for external-CA mode): each certificate of the table that has expired or expires
/// within [`WARN_DAYS`] days, with the command that renews it. Missing files (a first run)
/// give nothing.
pub fn expiring_soon(host: &dyn Host, cfg: &InitConfig) -> Vec<String> {
    let files = Files {
        host,
        cert_dir: Path::new(&cfg.cluster.certificates_dir),
        kube_dir: Path::new("/etc/kubernetes"),
    };
    let info = expiration_info(&files, cfg.cluster.etcd.external.is_some(), now_unix());
    warnings(&info)
        .into_iter()
        .filter(|w| !w.contains(" is unreadable: "))
        .collect()
}

/// What the wizard's welcome screen says about a control plane already on this machine
/// (`<certificatesDir>/ca.crt` present): how many certificates there are, which expires
/// first and when, each certificate expiring within [`WARN_DAYS`] days, and the commands
/// that renew or start over. Empty on a fresh machine.
pub fn welcome_lines(host: &dyn Host, cfg: &InitConfig) -> Vec<String> {
    let cert_dir = Path::new(&cfg.cluster.certificates_dir);
    if !host.exists(&cert_dir.join("ca.crt")) {
        return Vec::new();
    }
    let files = Files {
        host,
        cert_dir,
        kube_dir: Path::new("/etc/kubernetes"),
    };
    let info = expiration_info(&files, cfg.cluster.etcd.external.is_some(), now_unix());
    let present: Vec<&Row> = info
        .certificates
        .iter()
        .chain(&info.certificate_authorities)
        .filter(|r| r.not_after.is_some())
        .collect();
    let mut l = Vec::new();
    match present.iter().min_by_key(|r| r.residual_time) {
        Some(first) => l.push(format!(
            "found: {} certificates, {} expires first (in {})",
            present.len(),
            first.name,
            human_duration(first.residual_time),
        )),
        None => l.push("found, but its certificates cannot be read".into()),
    }
    l.extend(warnings(&info).into_iter().map(|w| format!("✗ {w}")));
    l.push("r renews them all now (kubestrap certs renew all)".into());
    l.push("start over instead: kubestrap reset".into());
    l
}

/// `certs renew all` for the wizard's `r` on the welcome screen: renews every certificate
/// of `cfg` and returns a one-line summary (how many were renewed, skipped as missing or
/// external, and the restart kubeadm asks for), or the first error.
pub fn renew_all_summary(host: &dyn Host, cfg: &InitConfig) -> Result<String, String> {
    let files = Files {
        host,
        cert_dir: Path::new(&cfg.cluster.certificates_dir),
        kube_dir: Path::new("/etc/kubernetes"),
    };
    let (mut done, mut skipped) = (0, 0);
    for h in handlers(cfg.cluster.etcd.external.is_some()) {
        match renew(&files, cfg, h)? {
            Renewed::Done => done += 1,
            Renewed::Missing | Renewed::ExternalCa { .. } => skipped += 1,
        }
    }
    Ok(format!(
        "Renewed {done} certificates ({skipped} missing or external); restart kube-apiserver, kube-controller-manager, kube-scheduler and etcd to use them"
    ))
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
