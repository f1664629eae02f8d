//! Issuing certificates with rcgen and checking existing ones with x509-parser.
//!
//! Mirrors `app/util/pkiutil/pki_helpers.go` (`NewSelfSignedCACert`, `NewSignedCert`,
//! `TryLoadCertAndKeyFromDisk`) and `app/phases/certs/certs.go` (`validateSignedCert*`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::keys::{describe_key, load_private_key};
use super::spec::{Sans, Usage};
use super::{PkiError, pem_encode};
use crate::host::Host;

/// A CA certificate, with its key unless in external-CA mode.
#[derive(Debug)]
pub struct Ca {
    /// Base name, e.g. `ca`, `etcd/ca`.
    pub name: String,
    /// Real path of the certificate file.
    pub cert_path: PathBuf,
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
    /// `None` in external-CA mode (certificate present, key absent).
    pub key: Option<KeyPair>,
}

impl Ca {
    /// Builds from freshly issued material.
    pub fn new(name: &str, cert_path: PathBuf, cert_der: Vec<u8>, key: Option<KeyPair>) -> Self {
        let cert_pem = pem_encode("CERTIFICATE", &cert_der);
        Ca {
            name: name.to_string(),
            cert_path,
            cert_der,
            cert_pem,
            key,
        }
    }

    /// Loads `<pki_dir>/<name>.crt` and, when present, `<name>.key` through `host`.
    ///
    /// Errors: [`PkiError::Missing`] without the certificate, [`PkiError::Corrupt`] for bad
    /// PEM, [`PkiError::NotCa`], [`PkiError::Expired`], [`PkiError::KeyMismatch`].
    pub fn load(host: &dyn Host, pki_dir: &Path, name: &str) -> Result<Ca, PkiError> {
        let cert_path = pki_dir.join(format!("{name}.crt"));
        let key_path = pki_dir.join(format!("{name}.key"));
        let cert_bytes = read(host, &cert_path)?.ok_or_else(|| PkiError::Missing {
            path: disp(&cert_path),
        })?;
        let cert_der = load_cert_pem(&cert_bytes, &disp(&cert_path))?;
        check_ca_cert(&cert_der, &cert_path)?;
        let key = match read(host, &key_path)? {
            Some(bytes) => {
                let key = load_private_key(&bytes, &disp(&key_path))?;
                check_key_matches(&cert_der, &cert_path, &key, &key_path)?;
                Some(key)
            }
            None => None,
        };
        Ok(Ca::new(name, cert_path, cert_der, key))
    }

    /// An rcgen issuer signing with this CA's key. Errors in external-CA mode.
    pub fn issuer(&self) -> Result<Issuer<'static, &KeyPair>, PkiError> {
        let key = self.key.as_ref().ok_or_else(|| PkiError::Missing {
            path: disp(&self.cert_path.with_extension("key")),
        })?;
        Issuer::from_ca_cert_der(&self.cert_der.as_slice().into(), key).map_err(|e| {
            PkiError::Corrupt {
                path: disp(&self.cert_path),
                reason: format!("cannot use as issuer: {e}"),
            }
        })
    }
}

/// What an event reports about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// e.g. `O=kubeadm:cluster-admins, CN=kubernetes-admin`.
    pub subject: String,
    pub sans: Vec<String>,
    /// RFC 3339.
    pub not_after: String,
    /// `RSA-2048`, `ECDSA-P256`, …
    pub key_algorithm: String,
}

/// The displayable form of a real path.
pub(crate) fn disp(p: &Path) -> String {
    p.display().to_string()
}

/// Reads a file through the host; `Ok(None)` when it does not exist.
pub(crate) fn read(host: &dyn Host, path: &Path) -> Result<Option<Vec<u8>>, PkiError> {
    match host.read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PkiError::Io {
            path: disp(path),
            source: e,
        }),
    }
}

/// The DER of the first `CERTIFICATE` block of a PEM file; `path` names it in errors.
pub fn load_cert_pem(bytes: &[u8], path: &str) -> Result<Vec<u8>, PkiError> {
    let corrupt = |reason: String| PkiError::Corrupt {
        path: path.to_string(),
        reason,
    };
    let blocks = pem::parse_many(bytes).map_err(|e| corrupt(format!("not PEM: {e}")))?;
    let block = blocks
        .into_iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .ok_or_else(|| corrupt("not PEM: no complete CERTIFICATE block found".into()))?;
    let der = block.into_contents();
    x509_parser::parse_x509_certificate(&der)
        .map_err(|e| corrupt(format!("certificate does not parse: {e}")))?;
    Ok(der)
}

fn parse<'a>(der: &'a [u8], path: &Path) -> Result<X509Certificate<'a>, PkiError> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c)
        .map_err(|e| PkiError::Corrupt {
            path: disp(path),
            reason: format!("certificate does not parse: {e}"),
        })
}

fn rfc3339(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn check_ca_cert(der: &[u8], path: &Path) -> Result<(), PkiError> {
    let cert = parse(der, path)?;
    if !cert.is_ca() {
        return Err(PkiError::NotCa { path: disp(path) });
    }
    check_not_expired(&cert, path)
}

fn check_not_expired(cert: &X509Certificate<'_>, path: &Path) -> Result<(), PkiError> {
    let not_after = cert.validity().not_after.timestamp();
    if not_after < now_unix() {
        return Err(PkiError::Expired {
            path: disp(path),
            not_after: rfc3339(not_after),
        });
    }
    Ok(())
}

/// Checks that `key` is the private key of the certificate `cert_der`.
pub fn check_key_matches(
    cert_der: &[u8],
    cert_path: &Path,
    key: &KeyPair,
    key_path: &Path,
) -> Result<(), PkiError> {
    let cert = parse(cert_der, cert_path)?;
    if cert.public_key().subject_public_key.data.as_ref() != key.der_bytes() {
        return Err(PkiError::KeyMismatch {
            cert_path: disp(cert_path),
            key_path: disp(key_path),
        });
    }
    Ok(())
}

/// Checks an existing leaf: signed by `ca`, not expired, and carrying every SAN of `required`
/// (a wildcard DNS SAN covers one label). Mirrors kubeadm's `validateSignedCertWithCA` plus
/// its hostname checks. Errors: [`PkiError::WrongCa`], [`PkiError::Expired`],
/// [`PkiError::MissingSans`] (listing each missing name).
pub fn check_leaf(
    cert_der: &[u8],
    cert_path: &Path,
    ca: &Ca,
    required: &Sans,
) -> Result<(), PkiError> {
    let cert = parse(cert_der, cert_path)?;
    let ca_cert = parse(&ca.cert_der, &ca.cert_path)?;
    if cert.issuer() != ca_cert.subject()
        || cert.verify_signature(Some(ca_cert.public_key())).is_err()
    {
        return Err(PkiError::WrongCa {
            path: disp(cert_path),
            ca_path: disp(&ca.cert_path),
        });
    }
    check_not_expired(&cert, cert_path)?;
    let (dns, ips) = cert_sans(&cert);
    let mut missing = Vec::new();
    for want in &required.dns {
        let covered = dns.iter().any(|have| {
            have.eq_ignore_ascii_case(want)
                || have.strip_prefix("*.").is_some_and(|suffix| {
                    want.split_once('.')
                        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(suffix))
                })
        });
        if !covered {
            missing.push(want.clone());
        }
    }
    for want in &required.ips {
        if !ips.contains(want) {
            missing.push(want.to_string());
        }
    }
    if !missing.is_empty() {
        return Err(PkiError::MissingSans {
            path: disp(cert_path),
            missing,
        });
    }
    Ok(())
}

fn cert_sans(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        ips.push(IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        ips.push(IpAddr::from(a));
                    }
                }
                _ => {}
            }
        }
    }
    (dns, ips)
}

/// Subject, SANs, expiry and key type of a certificate, for [`crate::engine::Event::Cert`].
pub fn cert_info(cert_der: &[u8], path: &Path) -> Result<CertInfo, PkiError> {
    let cert = parse(cert_der, path)?;
    let (dns, ips) = cert_sans(&cert);
    let spki = cert.public_key();
    let key_algorithm = match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(r)) => format!("RSA-{}", r.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(p)) => match p.key_size() {
            256 => "ECDSA-P256".into(),
            384 => "ECDSA-P384".into(),
            n => format!("ECDSA-{n}"),
        },
        _ => "unknown".into(),
    };
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        sans: dns
            .into_iter()
            .chain(ips.iter().map(|i| i.to_string()))
            .collect(),
        not_after: rfc3339(cert.validity().not_after.timestamp()),
        key_algorithm,
    })
}

/// A random serial in 1 … 2^63−1, as kubeadm draws it.
fn random_serial() -> SerialNumber {
    let v = rand::random::<u64>() % ((1u64 << 63) - 1) + 1;
    SerialNumber::from(v)
}

fn base_time(started_at: SystemTime) -> OffsetDateTime {
    let secs = started_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Issues one certificate and returns its DER.
///
/// - `ca == None`: self-signed CA (`usage` must be [`Usage::Ca`]) signed by `key`.
/// - otherwise a leaf for `key`'s public key, signed by the CA's key.
///
/// NotBefore = `started_at` − 5 min (whole seconds), NotAfter = `started_at` + `validity`;
/// random serial; subject O (if any) then CN; keyUsage digitalSignature + keyEncipherment
/// (+ keyCertSign for CAs); extKeyUsage per `usage`; SANs DNS then IP.
/// Errors: [`PkiError::Crypto`] from rcgen, [`PkiError::Missing`] for a CA without key.
#[allow(clippy::too_many_arguments)]
pub fn issue_cert(
    cn: &str,
    organizations: &[&str],
    usage: Usage,
    sans: &Sans,
    key: &KeyPair,
    ca: Option<&Ca>,
    started_at: SystemTime,
    validity: Duration,
) -> Result<Vec<u8>, PkiError> {
    let start = base_time(started_at);
    let mut p = CertificateParams::default();
    p.not_before = start - time::Duration::minutes(5);
    p.not_after = start + validity;
    p.serial_number = Some(random_serial());
    let mut dn = DistinguishedName::new();
    // rcgen keeps one value per attribute type: a second organization goes in under the
    // same OID (2.5.4.10) spelt as a custom type, so certificates may carry two O values
    // (kubeconfig user --org a,b). Callers allow at most two.
    for (i, o) in organizations.iter().enumerate() {
        let ty = if i == 0 {
            DnType::OrganizationName
        } else {
            DnType::CustomDnType(vec![2, 5, 4, 10])
        };
        dn.push(ty, *o);
    }
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    let mut names = Vec::new();
    for d in &sans.dns {
        names.push(SanType::DnsName(d.clone().try_into().map_err(|e| {
            PkiError::Crypto {
                what: format!("SAN {d:?}"),
                reason: format!("not a valid DNS name: {e}"),
            }
        })?));
    }
    names.extend(sans.ips.iter().map(|ip| SanType::IpAddress(*ip)));
    p.subject_alt_names = names;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    match usage {
        Usage::Ca => {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages.push(KeyUsagePurpose::KeyCertSign);
        }
        Usage::Server => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
        Usage::Client => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        Usage::ServerClient => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
        }
    }
    let crypto = |e: rcgen::Error| PkiError::Crypto {
        what: format!("signing the {cn:?} certificate"),
        reason: e.to_string(),
    };
    let cert = match ca {
        None => p.self_signed(key).map_err(crypto)?,
        Some(ca) => {
            p.use_authority_key_identifier_extension = true;
            let issuer = ca.issuer()?;
            p.signed_by(key, &issuer).map_err(crypto)?
        }
    };
    Ok(cert.der().to_vec())
}

/// Issues a client certificate (clientAuth, no SANs) for a kubeconfig user, signed by `ca`:
/// e.g. CN `kubernetes-admin`, O `kubeadm:cluster-admins`. Returns DER.
/// Other phases use it for the admin clients; see [`issue_cert`] for the fields and errors.
pub fn client_cert(
    ca: &Ca,
    cn: &str,
    organizations: &[&str],
    key: &KeyPair,
    started_at: SystemTime,
    validity: Duration,
) -> Result<Vec<u8>, PkiError> {
    issue_cert(
        cn,
        organizations,
        Usage::Client,
        &Sans::default(),
        key,
        Some(ca),
        started_at,
        validity,
    )
}

/// The key algorithm of a loaded key, for events.
pub fn key_name(key: &KeyPair) -> String {
    describe_key(key)
}
