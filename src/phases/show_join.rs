//! `show-join-command`: the success text and the join commands (kubeadm
//! `app/cmd/phases/init/showjoincommand.go`, `app/cmd/util/join.go`).

use crate::engine::{Event, JoinInfo, PhaseCtx, PhaseError};

use super::bootstrap_token::{cluster_server_and_ca, resolve_tokens};

/// This phase has no sub-phases.
pub const SUBPHASES: &[(&str, &str)] = &[];

/// `sha256:<hex>` of every certificate's DER SubjectPublicKeyInfo in `pem` (kubeadm
/// `pubkeypin.Hash`), through [`crate::pki::ca_pins_from_pem`]. Errors: no certificate or one
/// that does not parse.
pub fn ca_cert_hashes(pem: &[u8]) -> Result<Vec<String>, String> {
    let pins = crate::pki::ca_pins_from_pem(pem).map_err(|e| e.to_string())?;
    if pins.is_empty() {
        return Err("no CERTIFICATE block found".into());
    }
    Ok(pins)
}

/// The join information of this run: endpoint = admin.conf server without `https://`, first
/// token, CA pins (from `ctx.state` or computed from the CA data), certificate key when
/// certificates were uploaded. Errors: no token, unreadable CA.
pub fn join_info(ctx: &PhaseCtx) -> Result<JoinInfo, PhaseError> {
    let tokens = resolve_tokens(ctx)?;
    let (token, spec) = tokens
        .first()
        .ok_or_else(|| PhaseError::new("no bootstrap token is configured; nothing to join with"))?;
    let (server, ca_b64) = cluster_server_and_ca(ctx)?;
    let endpoint = server
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    let (mut hashes, key) = {
        let s = ctx
            .state
            .lock()
            .map_err(|_| PhaseError::new("run state is poisoned"))?;
        (s.ca_cert_hashes.clone(), s.certificate_key.clone())
    };
    if hashes.is_empty() {
        use base64::Engine;
        let pem = base64::engine::general_purpose::STANDARD
            .decode(ca_b64.trim())
            .map_err(|e| PhaseError::new("the cluster CA data is not base64").caused_by(e))?;
        hashes = ca_cert_hashes(&pem).map_err(|e| PhaseError::new(format!("cluster CA: {e}")))?;
    }
    let root = ctx.host.root();
    Ok(JoinInfo {
        endpoint,
        token: token.to_string(),
        ca_cert_hashes: hashes,
        certificate_key: key,
        control_plane: !ctx.cfg.cluster.control_plane_endpoint.is_empty(),
        token_ttl_secs: spec
            .ttl
            .as_ref()
            .map(|t| t.as_std().as_secs())
            .filter(|s| *s > 0),
        root: (root != std::path::Path::new("/")).then(|| root.display().to_string()),
        redacted: false,
    })
}

/// The text kubeadm prints after a successful init, with `program` in the join commands.
pub fn success_text(info: &JoinInfo, program: &str) -> String {
    let mut s = String::from(
        "Your Kubernetes control-plane has initialized successfully!\n\n\
         To start using your cluster, you need to run the following as a regular user:\n\n\
         \x20 mkdir -p $HOME/.kube\n\
         \x20 sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n\
         \x20 sudo chown $(id -u):$(id -g) $HOME/.kube/config\n\n\
         Alternatively, if you are the root user, you can run:\n\n\
         \x20 export KUBECONFIG=/etc/kubernetes/admin.conf\n\n\
         You should now deploy a pod network to the cluster.\n\
         Run \"kubectl apply -f [podnetwork].yaml\" with one of the options listed at:\n\
         \x20 https://kubernetes.io/docs/concepts/cluster-administration/addons/\n\n",
    );
    if let Some(cp) = info.control_plane_command(program) {
        s.push_str(
            "You can now join any number of control-plane nodes by running the following command on each as root:\n\n",
        );
        s.push_str(&format!("  {cp}\n\n"));
        if info.certificate_key.is_some() {
            s.push_str(crate::engine::JoinInfo::CERTIFICATE_KEY_NOTE);
            s.push_str("\n\n");
        } else {
            s.push_str("You can now join any number of control-plane nodes by copying certificate authorities\n\
                and service account keys on each node and then running the command above.\n\n");
        }
    }
    s.push_str("Then you can join any number of worker nodes by running the following on each as root:\n\n");
    s.push_str(&format!("  {}\n", info.worker_command(program)));
    s
}

/// Runs the phase: sends [`Event::JoinReady`] with the join information.
/// Errors: see [`join_info`].
pub async fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    if !(sub.is_empty() || sub == "all") {
        return Err(PhaseError::new(format!(
            "show-join-command has no sub-phase {sub:?}"
        )));
    }
    let info = join_info(ctx)?;
    ctx.events.send(Event::JoinReady(info));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_text_has_admin_steps_and_both_commands() {
        let info = JoinInfo {
            endpoint: "lb.example:8443".into(),
            token: "abcdef.0123456789abcdef".into(),
            ca_cert_hashes: vec![format!("sha256:{}", "a".repeat(64))],
            certificate_key: Some("b".repeat(64)),
            control_plane: true,
            token_ttl_secs: Some(86400),
            root: None,
            redacted: false,
        };
        let t = success_text(&info, "kubeadm");
        let admin = t
            .find("sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config")
            .unwrap();
        let cp = t
            .find(&format!(
                "kubeadm join lb.example:8443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:{} --control-plane --certificate-key {}",
                "a".repeat(64),
                "b".repeat(64)
            ))
            .unwrap();
        let worker = t.rfind("  kubeadm join lb.example:8443 --token").unwrap();
        assert!(admin < cp && cp < worker);
        assert!(t.contains("export KUBECONFIG=/etc/kubernetes/admin.conf"));
        let no_cp = JoinInfo {
            control_plane: false,
            ..info
        };
        assert!(!success_text(&no_cp, "kubestrap").contains("--control-plane"));
    }

    #[test]
    fn pins_every_certificate_and_rejects_garbage() {
        let ca = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["kubernetes".into()])
            .unwrap()
            .self_signed(&ca)
            .unwrap();
        let pem = format!("{}{}", cert.pem(), cert.pem());
        let pins = ca_cert_hashes(pem.as_bytes()).unwrap();
        assert_eq!(pins.len(), 2);
        assert!(pins[0].starts_with("sha256:") && pins[0].len() == 7 + 64);
        assert!(ca_cert_hashes(b"not a pem").is_err());
    }
}
