//! `upload-certs`: the `kube-system/kubeadm-certs` Secret with the shared CA and service-account
//! keys, each encrypted with AES-256-GCM under the certificate key, owned by a 2-hour bootstrap
//! token so it is garbage-collected with it (kubeadm `app/phases/copycerts/copycerts.go`,
//! `app/util/crypto/crypto.go`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use rand::TryRngCore;

use crate::config::defaults::DEFAULT_TOKEN_GROUP;
use crate::config::token::BootstrapTokenString;
use crate::config::{BootstrapToken, GoDuration};
use crate::engine::{PhaseCtx, PhaseError};
use crate::kubeapi::{ApiWriter, meta, rbac};

use super::bootstrap_token::token_secret;

/// This phase has no sub-phases.
pub const SUBPHASES: &[(&str, &str)] = &[];

/// Name of the Secret.
pub const SECRET_NAME: &str = "kubeadm-certs";

/// A new certificate key: 32 bytes from the OS CSPRNG as 64 lower-case hex characters.
pub fn generate_certificate_key() -> Result<String, PhaseError> {
    let mut k = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut k)
        .map_err(|e| PhaseError::new("the OS random source failed").caused_by(e))?;
    Ok(hex::encode(k))
}

/// Decodes a certificate key. Errors name the rule (64 hex characters = 32 bytes).
pub fn parse_certificate_key(key: &str) -> Result<[u8; 32], PhaseError> {
    let bytes = hex::decode(key).map_err(|_| {
        PhaseError::new(
            "certificate key: must be 64 hexadecimal characters (a 32-byte AES-256 key)",
        )
    })?;
    bytes.try_into().map_err(|_| {
        PhaseError::new(
            "certificate key: must be 64 hexadecimal characters (a 32-byte AES-256 key)",
        )
    })
}

/// AES-256-GCM encryption as kubeadm's `EncryptBytes`: a random 12-byte nonce followed by
/// ciphertext and tag.
pub fn encrypt(key: &[u8; 32], plain: &[u8]) -> Result<Vec<u8>, PhaseError> {
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng
        .try_fill_bytes(&mut nonce)
        .map_err(|e| PhaseError::new("the OS random source failed").caused_by(e))?;
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), plain)
        .map_err(|_| PhaseError::new("AES-256-GCM encryption failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Inverse of [`encrypt`] (`DecryptBytes`). Errors: too short or authentication failure.
pub fn decrypt(key: &[u8; 32], data: &[u8]) -> Result<Vec<u8>, PhaseError> {
    if data.len() < 12 {
        return Err(PhaseError::new("encrypted data is shorter than its nonce"));
    }
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(Nonce::from_slice(&data[..12]), &data[12..])
        .map_err(|_| PhaseError::new("cannot decrypt: wrong certificate key or corrupted data"))
}

/// (Secret data key, real path) of every file uploaded: the cluster and front-proxy CAs,
/// the service-account key pair and the etcd CA (local etcd) or the external etcd client files.
pub fn shared_files(ctx: &PhaseCtx) -> Vec<(String, std::path::PathBuf)> {
    let pki = &ctx.paths.pki_dir;
    let mut v: Vec<(String, std::path::PathBuf)> = [
        "ca.crt",
        "ca.key",
        "front-proxy-ca.crt",
        "front-proxy-ca.key",
        "sa.key",
        "sa.pub",
    ]
    .iter()
    .map(|f| (f.to_string(), pki.join(f)))
    .collect();
    if let Some(ext) = &ctx.cfg.cluster.etcd.external {
        for (k, f) in [
            ("external-etcd-ca.crt", &ext.ca_file),
            ("external-etcd.crt", &ext.cert_file),
            ("external-etcd.key", &ext.key_file),
        ] {
            if !f.is_empty() {
                v.push((k.into(), f.into()));
            }
        }
    } else {
        v.push(("etcd-ca.crt".into(), pki.join("etcd/ca.crt")));
        v.push(("etcd-ca.key".into(), pki.join("etcd/ca.key")));
    }
    v
}

/// The warning for `--upload-certs` on a cluster without `controlPlaneEndpoint` (`None` when
/// it does not apply): every kubeconfig and cluster-info then name this node's own address, so
/// no further control-plane node can be joined (kubeadm refuses such joins, and so does
/// `kubestrap join --control-plane`); the uploaded certificates would serve nothing.
pub fn no_endpoint_warning(cfg: &crate::config::InitConfig, upload_certs: bool) -> Option<String> {
    if !upload_certs || !cfg.cluster.control_plane_endpoint.is_empty() {
        return None;
    }
    let adv = crate::config::net::join_host_port(
        &cfg.init.local_api_endpoint.advertise_address,
        cfg.init.local_api_endpoint.bind_port as u16,
    );
    Some(format!(
        "--upload-certs without a controlPlaneEndpoint: this cluster cannot take more control-plane nodes. Every kubeconfig and the cluster-info ConfigMap name this node's own address ({adv}), so the cluster would depend on this one node whatever joins it, and kubeadm and kubestrap refuse a control-plane join of such a cluster. Set --control-plane-endpoint (or controlPlaneEndpoint) to a load balancer or DNS name in front of the control-plane nodes when you init"
    ))
}

/// Runs the phase. Without `--upload-certs` (`ctx.state.upload_certs`) it only reports the
/// skip. Otherwise: the certificate key (configured, already known, or generated and stored in
/// `ctx.state`), a 2 h bootstrap token, the encrypted Secret owned by the token's Secret, and
/// Role/RoleBinding `kubeadm:kubeadm-certs`. Errors: unreadable files, bad key, API failures.
pub async fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    if !(sub.is_empty() || sub == "all") {
        return Err(PhaseError::new(format!(
            "upload-certs has no sub-phase {sub:?}"
        )));
    }
    let phase = "upload-certs";
    let (upload, known) = {
        let s = ctx
            .state
            .lock()
            .map_err(|_| PhaseError::new("run state is poisoned"))?;
        (s.upload_certs, s.certificate_key.clone())
    };
    if !upload {
        ctx.events.log(
            phase,
            "[upload-certs] Skipping phase. Please see --upload-certs",
        );
        return Ok(());
    }
    // Said here, so every face (text, JSON, the wizard) shows it.
    if let Some(w) = no_endpoint_warning(&ctx.cfg, true) {
        ctx.events.warn(phase, w);
    }
    let key_hex = match known {
        Some(k) => k,
        None if !ctx.cfg.init.certificate_key.is_empty() => ctx.cfg.init.certificate_key.clone(),
        None => generate_certificate_key()?,
    };
    let key = parse_certificate_key(&key_hex)?;
    if let Ok(mut s) = ctx.state.lock() {
        s.certificate_key = Some(key_hex.clone());
    }
    let mut data = BTreeMap::new();
    for (k, path) in shared_files(ctx) {
        let plain = ctx.host.read(&path).map_err(|e| {
            PhaseError::new(format!("cannot read {} for upload", path.display())).caused_by(e)
        })?;
        data.insert(k, ByteString(encrypt(&key, &plain)?));
    }
    let api = ApiWriter::connect(ctx, phase).await?;
    // The short-lived token whose Secret owns kubeadm-certs.
    let tok = BootstrapTokenString::generate();
    let spec = BootstrapToken {
        description: "Proxy for managing TTL for the kubeadm-certs secret".into(),
        ttl: Some(GoDuration::from_secs(2 * 3600)),
        ..Default::default()
    };
    let owner = api
        .apply_ns(token_secret(&tok, &spec, SystemTime::now()), |_, _| {})
        .await?;
    let mut metadata = meta(SECRET_NAME, Some("kube-system"), &[]);
    metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "Secret".into(),
        name: tok.secret_name(),
        uid: owner.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    let secret = Secret {
        metadata,
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    };
    api.apply_ns(secret, |_, _| {}).await?;
    let role = "kubeadm:kubeadm-certs";
    api.apply_ns(
        rbac::role(
            "kube-system",
            role,
            vec![rbac::rule(&[""], &["secrets"], &["get"], &[SECRET_NAME])],
        ),
        |_, _| {},
    )
    .await?;
    api.apply_ns(
        rbac::role_binding(
            "kube-system",
            role,
            role,
            vec![rbac::group(DEFAULT_TOKEN_GROUP)],
        ),
        |_, _| {},
    )
    .await?;
    ctx.events.log(
        phase,
        format!("[upload-certs] Storing the certificates in Secret \"{SECRET_NAME}\" in the \"kube-system\" Namespace"),
    );
    ctx.events.log(
        phase,
        format!("[upload-certs] Using certificate key:\n{key_hex}"),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_roundtrip_and_layout() {
        let k = generate_certificate_key().unwrap();
        assert_eq!(k.len(), 64);
        let key = parse_certificate_key(&k).unwrap();
        let ct = encrypt(&key, b"secret pem").unwrap();
        assert_eq!(ct.len(), 12 + 10 + 16);
        assert_eq!(decrypt(&key, &ct).unwrap(), b"secret pem");
        let mut bad = ct.clone();
        bad[20] ^= 1;
        assert!(decrypt(&key, &bad).is_err());
        assert!(parse_certificate_key("abc").is_err());
        assert!(parse_certificate_key(&"zz".repeat(32)).is_err());
    }
}
