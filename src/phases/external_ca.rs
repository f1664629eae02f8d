//! Rules that need the machine's files (issue 12, item 6): external-CA mode and
//! `--upload-certs`, checked before any phase runs, by `kubestrap init` (every face) and the
//! wizard alike, as kubeadm's `newInitData` does.
//!
//! A CA is external when its certificate exists without its key (`ca.crt` without `ca.key`,
//! likewise `front-proxy-ca` and `etcd/ca`): kubestrap cannot issue what it signs, so every
//! certificate and key pair it signs (and, for the cluster CA, every kubeconfig file and the
//! service-account key pair) must already be there. All missing files are listed at once.

use crate::config::InitConfig;
use crate::host::Host;
use crate::pki::spec::{KUBECONFIGS, cert_list};

/// The CAs whose certificate is present without its key, by name (`ca`, `front-proxy-ca`,
/// `etcd/ca`), among the CAs `cfg` uses.
pub fn external_cas(host: &dyn Host, cfg: &InitConfig) -> Vec<&'static str> {
    let pki = crate::engine::Paths::from_config(cfg).pki_dir;
    cert_list(cfg)
        .into_iter()
        .filter(|s| s.ca.is_none())
        .filter(|s| {
            host.exists(&pki.join(format!("{}.crt", s.name)))
                && !host.exists(&pki.join(format!("{}.key", s.name)))
        })
        .map(|s| s.name)
        .collect()
}

/// Every file an external CA needs that is absent (real paths, in kubeadm's order).
pub fn external_ca_missing(host: &dyn Host, cfg: &InitConfig) -> Vec<(String, String)> {
    let paths = crate::engine::Paths::from_config(cfg);
    let pki = &paths.pki_dir;
    let mut missing = Vec::new();
    for ca in external_cas(host, cfg) {
        let ca_crt = pki.join(format!("{ca}.crt")).display().to_string();
        let mut need: Vec<std::path::PathBuf> = Vec::new();
        for s in cert_list(cfg).into_iter().filter(|s| s.ca == Some(ca)) {
            need.push(pki.join(format!("{}.crt", s.name)));
            need.push(pki.join(format!("{}.key", s.name)));
        }
        if ca == "ca" {
            need.push(pki.join("sa.key"));
            need.push(pki.join("sa.pub"));
            for k in KUBECONFIGS {
                need.push(paths.kubernetes_dir.join(k.file));
            }
        }
        for p in need {
            if !host.exists(&p) {
                missing.push((ca_crt.clone(), p.display().to_string()));
            }
        }
    }
    missing
}

/// The external-CA rules, as one message (one line per problem, every missing file listed
/// at once): `--upload-certs` refused with an external cluster or front-proxy CA (the
/// kubeadm-certs Secret would need the CA keys), and the files an external CA needs.
pub fn check_external_ca(
    host: &dyn Host,
    cfg: &InitConfig,
    upload_certs: bool,
) -> Result<(), String> {
    let mut lines = Vec::new();
    let pki = crate::engine::Paths::from_config(cfg).pki_dir;
    if upload_certs
        && let Some(ca) = external_cas(host, cfg)
            .into_iter()
            .find(|c| *c == "ca" || *c == "front-proxy-ca")
    {
        lines.push(format!(
            "--upload-certs cannot be used with an external CA ({} present without {}): the kubeadm-certs Secret must carry the CA keys; drop --upload-certs and copy the certificates to the other control-plane nodes yourself",
            pki.join(format!("{ca}.crt")).display(),
            pki.join(format!("{ca}.key")).display(),
        ));
    }
    let missing = external_ca_missing(host, cfg);
    let mut cas: Vec<&str> = missing.iter().map(|(c, _)| c.as_str()).collect();
    cas.dedup();
    for ca in cas {
        let files: Vec<&str> = missing
            .iter()
            .filter(|(c, _)| c == ca)
            .map(|(_, f)| f.as_str())
            .collect();
        lines.push(format!(
            "external CA mode ({ca} present without its key): kubestrap cannot issue what it signs, and {} file(s) are missing: {}; sign them with your CA and place them there, or add the CA key to let kubestrap issue them",
            files.len(),
            files.join(", ")
        ));
    }
    if lines.is_empty() {
        Ok(())
    } else {
        Err(lines.join("\n"))
    }
}
