//! `certs check-expiration`: the rows, kubeadm's table and JSON, the warnings, and the
//! expiry lines preflight and the wizard show for a control plane already there.

use super::*;

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

pub(super) fn row(name: &str, ca_name: &str) -> Row {
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

pub(super) fn fill(r: &mut Row, read: Result<(bool, i64), String>, now: i64) {
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
