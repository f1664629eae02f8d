//! The cluster PKI: certificate specs (kubeadm's certificate list), key generation,
//! issuing with rcgen, loading and verifying existing files, and the CA pin.
//!
//! Layout: [`keys`] (key algorithms, PEM encodings, the background [`KeyPool`]),
//! [`spec`] (the certificate table as data, SANs and subjects), [`issue`] (signing and
//! checking existing certificates), [`kubeconfig`] (kubeconfig builders).

mod der;
pub mod issue;
pub mod keys;
pub mod kubeconfig;
pub mod spec;

use sha2::{Digest, Sha256};

pub use issue::{Ca, CertInfo, client_cert, issue_cert, load_cert_pem};
pub use keys::{KeyAlgorithm, KeyPool};
pub use spec::{CertSpec, Sans};

/// Errors of the PKI: every variant names the file (real path) or the field involved.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file is not the PEM (or the certificate/key) it should be.
    #[error("{path}: {reason}")]
    Corrupt { path: String, reason: String },
    /// A certificate that must be a CA is not one.
    #[error("{path}: certificate is not a CA (basicConstraints CA:TRUE missing)")]
    NotCa { path: String },
    /// The private key does not belong to the certificate.
    #[error("{key_path}: private key does not match the public key of {cert_path}")]
    KeyMismatch { cert_path: String, key_path: String },
    /// A certificate is not signed by the CA it must chain to.
    #[error("{path}: certificate is not signed by the CA in {ca_path}")]
    WrongCa { path: String, ca_path: String },
    /// A certificate lacks Subject Alternative Names now required.
    #[error("{path}: certificate is missing required SANs [{}]", missing.join(" "))]
    MissingSans { path: String, missing: Vec<String> },
    /// A certificate's NotAfter lies in the past.
    #[error("{path}: certificate expired at {not_after}")]
    Expired { path: String, not_after: String },
    /// One file of a pair exists without the other.
    #[error("{present} exists but {missing} does not")]
    HalfPair { present: String, missing: String },
    /// External CA mode (CA certificate without its key): a file that must be provided is absent.
    #[error("external CA mode ({ca_path} present without its key): {missing} must already exist")]
    ExternalCaMissing { ca_path: String, missing: String },
    /// A file needed by this step does not exist.
    #[error("{path} does not exist")]
    Missing { path: String },
    /// A kubeconfig file does not match what kubeadm would write.
    #[error("{path}: {reason}")]
    KubeconfigMismatch { path: String, reason: String },
    /// A configuration value is not usable, e.g. an unknown `encryptionAlgorithm`.
    #[error("{field}: {value:?} is not valid: {rule}")]
    Config {
        field: &'static str,
        value: String,
        rule: String,
    },
    /// Key generation or signing failed inside the crypto library.
    #[error("{what}: {reason}")]
    Crypto { what: String, reason: String },
}

/// `sha256:<64 lower-case hex>` over the DER SubjectPublicKeyInfo of a certificate: the
/// pin of `--discovery-token-ca-cert-hash`.
///
/// Takes the certificate's DER bytes. Errors with [`PkiError::Corrupt`] (path `<der>`) when
/// they do not parse. Mirrors kubeadm's `pubkeypin.Hash` (`app/util/pubkeypin`).
pub fn ca_pin(cert_der: &[u8]) -> Result<String, PkiError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(cert_der).map_err(|e| PkiError::Corrupt {
            path: "<der>".into(),
            reason: format!("not an X.509 certificate: {e}"),
        })?;
    Ok(pin_of_spki(cert.tbs_certificate.subject_pki.raw))
}

/// The pin of raw DER SubjectPublicKeyInfo bytes (`sha256:<hex>`).
pub fn pin_of_spki(spki_der: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(spki_der)))
}

/// One pin per `CERTIFICATE` block of a PEM bundle (e.g. ca.crt), in file order.
///
/// Errors when the PEM does not parse, holds no certificate, or a certificate is invalid.
pub fn ca_pins_from_pem(pem_bytes: &[u8]) -> Result<Vec<String>, PkiError> {
    let blocks = pem::parse_many(pem_bytes).map_err(|e| PkiError::Corrupt {
        path: "<pem>".into(),
        reason: format!("not PEM: {e}"),
    })?;
    let pins = blocks
        .iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| ca_pin(b.contents()))
        .collect::<Result<Vec<_>, _>>()?;
    if pins.is_empty() {
        return Err(PkiError::Corrupt {
            path: "<pem>".into(),
            reason: "no CERTIFICATE block found".into(),
        });
    }
    Ok(pins)
}

/// Parses a `--discovery-token-ca-cert-hash` value: `<type>:<hex>` with exactly one `:`,
/// type `sha256` (any case), and exactly 64 hex digits (upper case accepted).
///
/// Returns the 32 digest bytes, or an error message naming the value and the rule.
/// Mirrors kubeadm's `pubkeypin.Set.Allow` (join reference §2.3).
pub fn parse_pin(s: &str) -> Result<[u8; 32], String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 2 {
        return Err(format!(
            "invalid public key pin {s:?}: expected the format \"sha256:<64 hex characters>\""
        ));
    }
    if !parts[0].eq_ignore_ascii_case("sha256") {
        return Err(format!(
            "invalid public key pin {s:?}: unknown hash type {:?} (only sha256 is supported)",
            parts[0]
        ));
    }
    let bytes = hex::decode(parts[1])
        .map_err(|e| format!("invalid public key pin {s:?}: the hash is not hex ({e})"))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "invalid public key pin {s:?}: expected 64 hex characters (32 bytes), found {}",
            parts[1].len()
        )
    })
}

/// Encodes one PEM block with `\n` line endings and 64-character lines, as Go writes them.
pub fn pem_encode(tag: &str, der: &[u8]) -> String {
    let p = pem::Pem::new(tag, der.to_vec());
    pem::encode_config(
        &p,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_format_rules() {
        let good = "sha256:345959acb2c3b2feb87d281961c893f62a314207ef02599f1cc4a5fb255480b3";
        assert_eq!(parse_pin(good).unwrap()[0], 0x34);
        assert_eq!(
            parse_pin(&good.to_uppercase()).unwrap(),
            parse_pin(good).unwrap()
        );
        for bad in [
            "xyz",
            "0011223344",
            "sha256:0011223344",
            &format!("{good}{good}"),
            "md5:345959acb2c3b2feb87d281961c893f62a314207ef02599f1cc4a5fb255480b3",
            "sha256:zz5959acb2c3b2feb87d281961c893f62a314207ef02599f1cc4a5fb255480b3",
        ] {
            assert!(parse_pin(bad).is_err(), "{bad} accepted");
        }
    }
}
