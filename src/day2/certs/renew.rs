//! `certs renew`: one certificate or all, as kubeadm renews them.

use super::*;

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
