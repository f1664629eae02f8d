//! `kubelet-finalize`: point kubelet.conf at the kubelet's rotating client certificate
//! (kubeadm `app/cmd/phases/init/kubeletfinalize.go`).

use std::path::PathBuf;

use crate::engine::{PhaseCtx, PhaseError};

/// Sub-phases in kubeadm's order.
pub const SUBPHASES: &[(&str, &str)] = &[(
    "enable-client-cert-rotation",
    "Enable kubelet client certificate rotation",
)];

/// The rotating client certificate the kubelet keeps (`<cert-dir>/kubelet-client-current.pem`,
/// cert-dir from the `cert-dir` kubelet extra arg, default `/var/lib/kubelet/pki`).
pub fn rotating_cert_path(ctx: &PhaseCtx) -> PathBuf {
    let dir = ctx
        .cfg
        .init
        .node_registration
        .kubelet_extra_args
        .iter()
        .rev()
        .find(|a| a.name == "cert-dir")
        .map(|a| PathBuf::from(&a.value))
        .unwrap_or_else(|| ctx.paths.kubelet_dir.join("pki"));
    dir.join("kubelet-client-current.pem")
}

/// Rewrites kubelet.conf text: the current context's user loses `client-certificate-data` /
/// `client-key-data` and gets `client-certificate` and `client-key` = `pem`.
/// Errors: not a kubeconfig with a current context and user.
pub fn repoint(kubeconfig: &str, pem: &str) -> Result<String, String> {
    let mut v: serde_yaml::Value = serde_yaml::from_str(kubeconfig).map_err(|e| e.to_string())?;
    let current = v
        .get("current-context")
        .and_then(|c| c.as_str())
        .ok_or("kubelet.conf has no current-context")?
        .to_string();
    let user = v
        .get("contexts")
        .and_then(|c| c.as_sequence())
        .and_then(|s| {
            s.iter()
                .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(&current))
        })
        .and_then(|c| c.get("context")?.get("user")?.as_str().map(str::to_string))
        .ok_or("kubelet.conf's current context has no user")?;
    let users = v
        .get_mut("users")
        .and_then(|u| u.as_sequence_mut())
        .ok_or("kubelet.conf has no users")?;
    let entry = users
        .iter_mut()
        .find(|u| u.get("name").and_then(|n| n.as_str()) == Some(&user))
        .and_then(|u| u.get_mut("user"))
        .and_then(|u| u.as_mapping_mut())
        .ok_or_else(|| format!("kubelet.conf has no user {user:?}"))?;
    entry.remove("client-certificate-data");
    entry.remove("client-key-data");
    entry.insert("client-certificate".into(), pem.into());
    entry.insert("client-key".into(), pem.into());
    serde_yaml::to_string(&v).map_err(|e| e.to_string())
}

/// Runs the phase: when the rotating certificate exists, rewrites `/etc/kubernetes/kubelet.conf`
/// atomically (0600) and restarts the kubelet (not in dry-run); otherwise changes nothing.
/// Errors: unreadable or malformed kubelet.conf, write failure.
pub async fn run(ctx: &PhaseCtx, sub: &str) -> Result<(), PhaseError> {
    if !matches!(
        sub,
        "" | "all" | "enable-client-cert-rotation" | "experimental-cert-rotation"
    ) {
        return Err(PhaseError::new(format!(
            "kubelet-finalize has no sub-phase {sub:?}"
        )));
    }
    let phase = "kubelet-finalize";
    let pem = rotating_cert_path(ctx);
    if !ctx.host.exists(&pem) {
        ctx.events.log(
            phase,
            format!(
                "[kubelet-finalize] {} does not exist; kubelet.conf is left as it is",
                pem.display()
            ),
        );
        return Ok(());
    }
    let conf = ctx.paths.kubernetes_dir.join("kubelet.conf");
    let text = ctx
        .host
        .read(&conf)
        .map_err(|e| PhaseError::new(format!("cannot read {}", conf.display())).caused_by(e))?;
    let new = repoint(&String::from_utf8_lossy(&text), &pem.display().to_string())
        .map_err(|e| PhaseError::new(format!("{}: {e}", conf.display())))?;
    ctx.events.log(
        phase,
        format!(
            "[kubelet-finalize] Updating \"{}\" to point to a rotatable kubelet client certificate and key",
            conf.display()
        ),
    );
    ctx.host
        .write_atomic(&conf, new.as_bytes(), 0o600)
        .map_err(|e| PhaseError::new(format!("cannot write {}", conf.display())).caused_by(e))?;
    ctx.events.send(crate::engine::Event::FileWritten {
        path: conf.display().to_string(),
        mode: 0o600,
    });
    // kubeadm's TryRestartKubelet: without an init system, or when the restart fails, a
    // message and a warning, never an error (the kubelet.conf written above stays valid).
    if let Some(why) = ctx
        .host
        .command_refusal("systemctl", &["restart", "kubelet"])
    {
        ctx.events.warn(
            "kubelet-finalize",
            format!("the kubelet was not restarted: {why}; restart it yourself inside that root"),
        );
    } else if !ctx.host.has_systemd() {
        ctx.events.warn(
            "kubelet-finalize",
            "no supported init system detected (systemd is not running); restart the kubelet yourself so that it uses the rotatable client certificate",
        );
    } else if !ctx.dry_run() {
        match ctx.host.run("systemctl", &["restart", "kubelet"]) {
            Ok(out) if out.success() => {}
            Ok(out) => ctx.events.warn(
                "kubelet-finalize",
                format!(
                    "unable to restart the kubelet service momentarily: [systemctl restart kubelet: {}]",
                    out.stderr.trim()
                ),
            ),
            Err(e) => ctx.events.warn(
                "kubelet-finalize",
                format!("unable to restart the kubelet service momentarily: [{e}]"),
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repoints_current_user() {
        let conf = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://x:6443\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: system:node:cp1\n  name: system:node:cp1@kubernetes\ncurrent-context: system:node:cp1@kubernetes\nkind: Config\nusers:\n- name: system:node:cp1\n  user:\n    client-certificate-data: AAA\n    client-key-data: BBB\n";
        let out = repoint(conf, "/var/lib/kubelet/pki/kubelet-client-current.pem").unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        let u = &v["users"][0]["user"];
        assert!(u.get("client-certificate-data").is_none());
        assert_eq!(
            u["client-key"].as_str(),
            Some("/var/lib/kubelet/pki/kubelet-client-current.pem")
        );
        assert_eq!(
            u["client-certificate"].as_str(),
            Some("/var/lib/kubelet/pki/kubelet-client-current.pem")
        );
        assert!(repoint("kind: Config\n", "x").is_err());
    }
}
