//! Kubeconfig builders on `kube::config::Kubeconfig`: a client-certificate kubeconfig
//! (admin.conf and friends) and a token kubeconfig (bootstrap-kubelet.conf), plus the checks
//! applied to an existing file.
//!
//! Mirrors `app/util/kubeconfig/kubeconfig.go` (`CreateWithCerts`, `CreateWithToken`) and
//! `app/phases/kubeconfig/kubeconfig.go` (`validateKubeConfig`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kube::config::{
    AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext, Preferences,
};

use super::PkiError;

fn base(cluster_name: &str, server: &str, ca_pem: &str, user: &str, auth: AuthInfo) -> Kubeconfig {
    let context = format!("{user}@{cluster_name}");
    Kubeconfig {
        preferences: Some(Preferences::default()),
        clusters: vec![NamedCluster {
            name: cluster_name.to_string(),
            cluster: Some(Cluster {
                server: Some(server.to_string()),
                certificate_authority_data: Some(B64.encode(ca_pem.as_bytes())),
                ..Cluster::default()
            }),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: user.to_string(),
            auth_info: Some(auth),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: context.clone(),
            context: Some(Context {
                cluster: cluster_name.to_string(),
                user: Some(user.to_string()),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some(context),
        kind: Some("Config".into()),
        api_version: Some("v1".into()),
        ..Kubeconfig::default()
    }
}

/// A kubeconfig with embedded client certificate and key: cluster `cluster_name` (server,
/// `certificate-authority-data` = base64 of `ca_pem`), user `user`, context
/// `<user>@<cluster_name>` as current-context. PEM inputs are embedded base64-encoded.
pub fn with_client_cert(
    cluster_name: &str,
    server: &str,
    ca_pem: &str,
    user: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Kubeconfig {
    let auth = AuthInfo {
        client_certificate_data: Some(B64.encode(cert_pem.as_bytes())),
        client_key_data: Some(B64.encode(key_pem.as_bytes()).into()),
        ..AuthInfo::default()
    };
    base(cluster_name, server, ca_pem, user, auth)
}

/// A kubeconfig authenticating with a bearer token (bootstrap-kubelet.conf uses user
/// `tls-bootstrap-token-user` and the bootstrap token `id.secret`).
pub fn with_token(
    cluster_name: &str,
    server: &str,
    ca_pem: &str,
    user: &str,
    token: &str,
) -> Kubeconfig {
    let auth = AuthInfo {
        token: Some(token.to_string().into()),
        ..AuthInfo::default()
    };
    base(cluster_name, server, ca_pem, user, auth)
}

/// Serialises a kubeconfig to YAML with keys in alphabetical order, as client-go writes it
/// (`apiVersion`, `clusters`, `contexts`, `current-context`, `kind`, `preferences`, `users`).
/// Errors: [`PkiError::Crypto`] (what = `kubeconfig`) on a serde failure, which does not
/// happen for values built here.
pub fn to_yaml(k: &Kubeconfig) -> Result<String, PkiError> {
    let fail = |e: String| PkiError::Crypto {
        what: "serialising a kubeconfig".into(),
        reason: e,
    };
    // serde_json's map is sorted (no preserve_order), which gives Go's key order.
    let sorted = serde_json::to_value(k).map_err(|e| fail(e.to_string()))?;
    serde_yaml::to_string(&sorted).map_err(|e| fail(e.to_string()))
}

/// Parses kubeconfig YAML; `path` names the file in errors ([`PkiError::Corrupt`]).
pub fn from_yaml(bytes: &[u8], path: &str) -> Result<Kubeconfig, PkiError> {
    serde_yaml::from_slice(bytes).map_err(|e| PkiError::Corrupt {
        path: path.to_string(),
        reason: format!("not a kubeconfig file: {e}"),
    })
}

/// The cluster of the current context: (server, decoded CA PEM bytes). Errors name what is
/// missing, with `path` as the file.
pub fn current_cluster(k: &Kubeconfig, path: &str) -> Result<(String, Vec<u8>), PkiError> {
    let bad = |reason: &str| PkiError::KubeconfigMismatch {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    let ctx_name = k
        .current_context
        .as_deref()
        .ok_or_else(|| bad("no current-context"))?;
    let ctx = k
        .contexts
        .iter()
        .find(|c| c.name == ctx_name)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| bad("current-context names no context"))?;
    let cluster = k
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| bad("the current context names no cluster"))?;
    let server = cluster
        .server
        .clone()
        .ok_or_else(|| bad("the current cluster has no server"))?;
    let ca = cluster
        .certificate_authority_data
        .as_deref()
        .ok_or_else(|| bad("the current cluster has no certificate-authority-data"))?;
    let ca = B64
        .decode(ca.trim())
        .map_err(|_| bad("certificate-authority-data is not base64"))?;
    Ok((server, ca))
}

/// The embedded client certificate and key PEM of the current context's user, if any.
pub fn current_client(k: &Kubeconfig) -> Option<(Vec<u8>, Vec<u8>)> {
    let ctx_name = k.current_context.as_deref()?;
    let user = k
        .contexts
        .iter()
        .find(|c| c.name == ctx_name)?
        .context
        .as_ref()?
        .user
        .clone()?;
    let auth = k
        .auth_infos
        .iter()
        .find(|a| a.name == user)?
        .auth_info
        .as_ref()?;
    let cert = B64.decode(auth.client_certificate_data.as_deref()?).ok()?;
    // Read the secret through AuthInfo's own serde form (no direct `secrecy` dependency).
    let json = serde_json::to_value(auth).ok()?;
    let key = B64.decode(json.get("client-key-data")?.as_str()?).ok()?;
    Some((cert, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_kubeconfig_round_trips() {
        let k = with_token(
            "kubernetes",
            "https://10.0.0.1:6443",
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
            "tls-bootstrap-token-user",
            "abcdef.0123456789abcdef",
        );
        let y = to_yaml(&k).unwrap();
        assert!(y.starts_with("apiVersion: v1\n"), "{y}");
        assert!(y.contains("    token: abcdef.0123456789abcdef\n"), "{y}");
        assert!(y.contains("current-context: tls-bootstrap-token-user@kubernetes\n"));
        let back = from_yaml(y.as_bytes(), "x").unwrap();
        let (server, ca) = current_cluster(&back, "x").unwrap();
        assert_eq!(server, "https://10.0.0.1:6443");
        assert!(ca.starts_with(b"-----BEGIN CERTIFICATE-----"));
        assert!(current_client(&back).is_none());
        let bad = from_yaml(b"clusters: 7", "bad.conf")
            .unwrap_err()
            .to_string();
        assert!(bad.starts_with("bad.conf: not a kubeconfig file"), "{bad}");
    }
}
