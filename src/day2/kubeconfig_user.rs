//! `kubeconfig user`: a kubeconfig for an additional user, signed by the cluster CA
//! (kubeadm's `app/cmd/kubeconfig.go` and `WriteKubeConfigWithClientCert` /
//! `WriteKubeConfigWithToken` of `app/phases/kubeconfig/kubeconfig.go`).

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::config::InitConfig;
use crate::host::Host;
use crate::pki::keys::{KeyAlgorithm, private_key_pem};
use crate::pki::kubeconfig::{to_yaml, with_client_cert, with_token};
use crate::pki::{Ca, client_cert, pem_encode, spec};

/// kubeadm's default validity of a client certificate (`CertificateValidityPeriod`, 8760h).
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(8760 * 3600);

/// Builds the kubeconfig text for `client_name`: cluster `clusterName` with the server
/// `https://<controlPlaneEndpoint>` (else the advertise address and bind port) and
/// `<certificatesDir>/ca.crt` embedded; user `client_name` with a new client certificate
/// (CN = `client_name`, O = `orgs`, clientAuth, key per `encryptionAlgorithm`, NotAfter = now +
/// `validity`) signed by `ca.key`, or with `token`; context `<client_name>@<clusterName>`.
///
/// Errors: the CA files cannot be loaded (named, as kubeadm's "couldn't create a kubeconfig;
/// the CA files couldn't be loaded"), the endpoint or `encryptionAlgorithm` is invalid.
pub fn build(
    host: &dyn Host,
    cfg: &InitConfig,
    client_name: &str,
    orgs: &[String],
    token: Option<&str>,
    validity: Duration,
) -> Result<String, String> {
    if client_name.is_empty() {
        return Err("--client-name: must not be empty".into());
    }
    if orgs.len() > 2 {
        return Err(format!(
            "--org: {} organizations given; kubestrap writes at most two O values in a certificate",
            orgs.len()
        ));
    }
    let cert_dir = Path::new(&cfg.cluster.certificates_dir);
    let ca = Ca::load(host, cert_dir, "ca").map_err(|e| {
        format!("couldn't create a kubeconfig; the CA files couldn't be loaded: {e}")
    })?;
    let server = spec::cpe_url(cfg).map_err(|e| e.to_string())?;
    let cluster = if cfg.cluster.cluster_name.is_empty() {
        "kubernetes"
    } else {
        cfg.cluster.cluster_name.as_str()
    };
    let kc = match token {
        Some(t) => with_token(cluster, &server, &ca.cert_pem, client_name, t),
        None => {
            if ca.key.is_none() {
                return Err(format!(
                    "couldn't create a kubeconfig; the CA files couldn't be loaded: {} does not exist (a client certificate needs the CA key; external CA mode cannot sign one)",
                    cert_dir.join("ca.key").display()
                ));
            }
            let alg = KeyAlgorithm::parse(&cfg.cluster.encryption_algorithm)
                .map_err(|e| e.to_string())?;
            let key = alg.generate().map_err(|e| e.to_string())?;
            let org_refs: Vec<&str> = orgs.iter().map(String::as_str).collect();
            let der = client_cert(
                &ca,
                client_name,
                &org_refs,
                &key,
                SystemTime::now(),
                validity,
            )
            .map_err(|e| e.to_string())?;
            let key_pem = private_key_pem(&key).map_err(|e| e.to_string())?;
            with_client_cert(
                cluster,
                &server,
                &ca.cert_pem,
                client_name,
                &pem_encode("CERTIFICATE", &der),
                &key_pem,
            )
        }
    };
    // kubeadm's `kubeconfig user` output has no `preferences: {}` (its init files do).
    let mut kc = kc;
    kc.preferences = None;
    to_yaml(&kc).map_err(|e| e.to_string())
}
