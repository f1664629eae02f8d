//! `bootstrap-token`: bootstrap token Secrets, the RBAC that lets tokens join and get their
//! CSRs approved, and the public `cluster-info` ConfigMap (kubeadm
//! `app/phases/bootstraptoken/node/{token,tlsbootstrap}.go`,
//! `app/phases/bootstraptoken/clusterinfo/clusterinfo.go`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use crate::config::BootstrapToken;
use crate::config::defaults::DEFAULT_TOKEN_GROUP;
use crate::config::token::BootstrapTokenString;
use crate::engine::{PhaseCtx, PhaseError};
use crate::kubeapi::endpoint::control_plane_url;
use crate::kubeapi::{ApiWriter, meta, rbac};

/// This phase has no sub-phases.
pub const SUBPHASES: &[(&str, &str)] = &[];

/// Secret type of bootstrap tokens.
pub const TOKEN_SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";

/// The configured tokens with their values: a configured value is parsed, an empty one is
/// taken from `ctx.state.tokens` (same position) or generated from the OS CSPRNG and stored
/// there, so a re-run in the same process reuses it. Errors: a malformed configured token
/// (the message names `bootstrapTokens[i].token` and the rule, never the secret).
pub fn resolve_tokens(
    ctx: &PhaseCtx,
) -> Result<Vec<(BootstrapTokenString, BootstrapToken)>, PhaseError> {
    let mut state = ctx
        .state
        .lock()
        .map_err(|_| PhaseError::new("run state is poisoned"))?;
    let mut out = Vec::new();
    for (i, t) in ctx.cfg.init.bootstrap_tokens.iter().enumerate() {
        let value = if !t.token.is_empty() {
            BootstrapTokenString::parse(&t.token)
                .map_err(|e| PhaseError::new(format!("bootstrapTokens[{i}].token: {e}")))?
        } else if let Some(s) = state.tokens.get(i) {
            BootstrapTokenString::parse(s)
                .map_err(|e| PhaseError::new(format!("bootstrapTokens[{i}] (generated): {e}")))?
        } else {
            BootstrapTokenString::generate()
        };
        if state.tokens.len() <= i {
            state.tokens.push(value.to_string());
        } else {
            state.tokens[i] = value.to_string();
        }
        out.push((value, t.clone()));
    }
    Ok(out)
}

/// RFC 3339 UTC (whole seconds, `Z`) of `start + ttl`.
fn rfc3339(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    let dt = dt.replace_nanosecond(0).unwrap_or(dt);
    dt.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The `bootstrap-token-<id>` Secret of a token (kubeadm `BootstrapTokenToSecret`):
/// `token-id`, `token-secret`, `description` (if set), `expiration` (`expires`, or `now + ttl`
/// when ttl > 0), `usage-bootstrap-<usage>: "true"` per usage, `auth-extra-groups`.
pub fn token_secret(value: &BootstrapTokenString, t: &BootstrapToken, now: SystemTime) -> Secret {
    let mut data: BTreeMap<String, ByteString> = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        data.insert(k.to_string(), ByteString(v.as_bytes().to_vec()));
    };
    put("token-id", &value.id);
    put("token-secret", &value.secret);
    if !t.description.is_empty() {
        put("description", &t.description);
    }
    if !t.expires.is_empty() {
        put("expiration", &t.expires);
    } else if let Some(ttl) = &t.ttl {
        let d: Duration = ttl.as_std();
        if !d.is_zero() {
            put("expiration", &rfc3339(now + d));
        }
    }
    for u in &t.usages {
        put(&format!("usage-bootstrap-{u}"), "true");
    }
    if !t.groups.is_empty() {
        put("auth-extra-groups", &t.groups.join(","));
    }
    Secret {
        metadata: meta(&value.secret_name(), Some("kube-system"), &[]),
        type_: Some(TOKEN_SECRET_TYPE.into()),
        data: Some(data),
        ..Default::default()
    }
}

/// The cluster entry (server URL, base64 CA data) of a kubeconfig's current context.
pub fn current_cluster(kubeconfig: &str) -> Option<(String, String)> {
    let v: serde_yaml::Value = serde_yaml::from_str(kubeconfig).ok()?;
    let current = v.get("current-context")?.as_str()?;
    let ctxs = v.get("contexts")?.as_sequence()?;
    let cluster_name = ctxs
        .iter()
        .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(current))?
        .get("context")?
        .get("cluster")?
        .as_str()?;
    let cluster = v
        .get("clusters")?
        .as_sequence()?
        .iter()
        .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(cluster_name))?
        .get("cluster")?;
    Some((
        cluster.get("server")?.as_str()?.to_string(),
        cluster
            .get("certificate-authority-data")?
            .as_str()?
            .to_string(),
    ))
}

/// Server URL and base64 CA of the cluster, from admin.conf's current cluster, else from the
/// configuration and `<pki>/ca.crt`. Errors: neither admin.conf nor ca.crt is readable.
pub fn cluster_server_and_ca(ctx: &PhaseCtx) -> Result<(String, String), PhaseError> {
    let admin = ctx.paths.kubernetes_dir.join("admin.conf");
    if let Ok(data) = ctx.host.read(&admin)
        && let Some(found) = current_cluster(&String::from_utf8_lossy(&data))
    {
        return Ok(found);
    }
    let ca_path = ctx.paths.pki_dir.join("ca.crt");
    let ca = ctx.host.read(&ca_path).map_err(|e| {
        PhaseError::new(format!(
            "cannot read {} (nor a cluster from admin.conf)",
            ca_path.display()
        ))
        .caused_by(e)
    })?;
    let server = control_plane_url(&ctx.cfg).map_err(PhaseError::new)?;
    Ok((server, STANDARD.encode(ca)))
}

/// The `kubeconfig` value of cluster-info: one cluster with an empty name (server and CA data),
/// no users, no contexts, serialised in client-go's key order.
pub fn cluster_info_kubeconfig(server: &str, ca_data: &str) -> String {
    let v = serde_json::json!({
        "apiVersion": "v1",
        "clusters": [{"cluster": {"certificate-authority-data": ca_data, "server": server}, "name": ""}],
        "contexts": null,
        "current-context": "",
        "kind": "Config",
        "preferences": {},
        "users": null,
    });
    serde_yaml::to_string(&v).unwrap_or_default()
}

/// Runs the phase: token Secrets, RBAC for joining nodes, cluster-info and its anonymous
/// read access. Errors: a malformed token, unreadable CA, or a failing API call.
pub async fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    if !(sub.is_empty() || sub == "all") {
        return Err(PhaseError::new(format!(
            "bootstrap-token has no sub-phase {sub:?}"
        )));
    }
    let phase = "bootstrap-token";
    let tokens = resolve_tokens(ctx)?;
    let api = ApiWriter::connect(ctx, phase).await?;
    for (value, _) in &tokens {
        ctx.events
            .log(phase, format!("[bootstrap-token] Using token: {value}"));
    }
    ctx.events.log(
        phase,
        "[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles",
    );
    for (value, t) in &tokens {
        api.apply_ns(token_secret(value, t, ctx.started_at), |_, _| {})
            .await?;
    }
    let nodes_group = || vec![rbac::group(DEFAULT_TOKEN_GROUP)];
    api.apply_cluster(rbac::cluster_role(
        "kubeadm:get-nodes",
        vec![rbac::rule(&[""], &["nodes"], &["get"], &[])],
    ))
    .await?;
    api.apply_cluster(rbac::cluster_role_binding(
        "kubeadm:get-nodes",
        "kubeadm:get-nodes",
        nodes_group(),
    ))
    .await?;
    ctx.events.log(
        phase,
        "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes",
    );
    api.apply_cluster(rbac::cluster_role_binding(
        "kubeadm:kubelet-bootstrap",
        "system:node-bootstrapper",
        nodes_group(),
    ))
    .await?;
    ctx.events.log(
        phase,
        "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials",
    );
    api.apply_cluster(rbac::cluster_role_binding(
        "kubeadm:node-autoapprove-bootstrap",
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        nodes_group(),
    ))
    .await?;
    ctx.events.log(
        phase,
        "[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token",
    );
    api.apply_cluster(rbac::cluster_role_binding(
        "kubeadm:node-autoapprove-certificate-rotation",
        "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        vec![rbac::group("system:nodes")],
    ))
    .await?;
    ctx.events.log(
        phase,
        "[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster",
    );
    // From v1.36 the API server's kubelet client certificate carries no organization and is
    // authorised by this binding (AllowAPIServerToAccessKubeletAPI, tlsbootstrap.go).
    if crate::config::versions::minor_of(&ctx.cfg.cluster.kubernetes_version) >= 36 {
        ctx.events.log(
            phase,
            "[bootstrap-token] Configured RBAC rules to allow the API server kubelet client certificate to access the kubelet API",
        );
        api.apply_cluster(rbac::cluster_role_binding(
            "kubeadm:apiserver-kubelet-client",
            "system:kubelet-api-admin",
            vec![rbac::user("kube-apiserver-kubelet-client")],
        ))
        .await?;
    }

    ctx.events.log(phase, "[bootstrap-token] Creating the \"cluster-info\" ConfigMap in the \"kube-public\" namespace");
    let (server, ca) = cluster_server_and_ca(ctx)?;
    let cm = ConfigMap {
        metadata: meta("cluster-info", Some("kube-public"), &[]),
        data: Some(BTreeMap::from([(
            "kubeconfig".to_string(),
            cluster_info_kubeconfig(&server, &ca),
        )])),
        ..Default::default()
    };
    api.apply_ns(cm, |_, _| {}).await?;
    let name = "kubeadm:bootstrap-signer-clusterinfo";
    api.apply_ns(
        rbac::role(
            "kube-public",
            name,
            vec![rbac::rule(
                &[""],
                &["configmaps"],
                &["get"],
                &["cluster-info"],
            )],
        ),
        |_, _| {},
    )
    .await?;
    api.apply_ns(
        rbac::role_binding(
            "kube-public",
            name,
            name,
            vec![rbac::user("system:anonymous")],
        ),
        |_, _| {},
    )
    .await?;
    Ok(())
}
