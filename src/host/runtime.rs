//! The container runtime as reset and `config images pull` use it: CRI v1 over gRPC on the
//! socket ([`Host::container_runtime`]), as kubeadm does; when no runtime answers there,
//! `crictl` through [`Host::run`] when it is in `PATH` (`ctr` for pulls on containerd).

use super::Host;
use super::cri::CriError;

/// `unix:///var/run/containerd/containerd.sock` for a socket given with or without scheme.
pub fn cri_endpoint(socket: &str) -> String {
    if socket.contains("://") {
        socket.to_string()
    } else {
        format!("unix://{socket}")
    }
}

/// What [`remove_kube_containers`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// This many pod sandboxes were stopped and removed (0: there were none).
    Removed(usize),
    /// Nothing was removed; the reason says why (no crictl, refused under `--root`).
    Skipped(String),
}

/// Removes the Kubernetes pods (and so their containers) of the runtime at `cri_socket`,
/// as kubeadm's `removeContainers` does (`ListKubeContainers` = every pod sandbox, then
/// `StopPodSandbox` and `RemovePodSandbox` for each) over CRI; when no runtime answers on
/// the socket, with `crictl pods -q`, `crictl stopp`, `crictl rmp`. Without either, or where
/// the host refuses to change the machine (`--root`), nothing is removed and
/// [`Removal::Skipped`] says why. Errors: the runtime or crictl failed (its message).
pub fn remove_kube_containers(host: &dyn Host, cri_socket: &str) -> Result<Removal, String> {
    let ep = cri_endpoint(cri_socket);
    let rt = host.container_runtime(&ep);
    let unreachable = match rt.list_pod_sandboxes() {
        Ok(ids) => {
            for id in &ids {
                match rt.remove_pod_sandbox(id) {
                    Ok(()) => {}
                    Err(CriError::Refused(why)) => return Ok(Removal::Skipped(why)),
                    Err(e) => return Err(format!("failed to remove pod sandbox {id}: {e}")),
                }
            }
            return Ok(Removal::Removed(ids.len()));
        }
        Err(e @ CriError::Connect { .. }) => e.to_string(),
        Err(e) => return Err(e.to_string()),
    };
    if host.which("crictl").is_none() {
        return Ok(Removal::Skipped(format!(
            "crictl is not in PATH and {unreachable}; the node's containers were not removed (remove them with your container runtime's tools)"
        )));
    }
    if let Some(why) = host.command_refusal("crictl", &["--runtime-endpoint", &ep, "rmp", "ID"]) {
        return Ok(Removal::Skipped(why));
    }
    let list = host
        .run("crictl", &["--runtime-endpoint", &ep, "pods", "-q"])
        .map_err(|e| format!("crictl pods: {e}"))?;
    if !list.success() {
        return Err(format!(
            "crictl --runtime-endpoint {ep} pods -q failed: {}",
            list.stderr.trim()
        ));
    }
    let ids: Vec<&str> = list.stdout.split_whitespace().collect();
    for id in &ids {
        for verb in ["stopp", "rmp"] {
            let o = host
                .run("crictl", &["--runtime-endpoint", &ep, verb, id])
                .map_err(|e| format!("crictl {verb} {id}: {e}"))?;
            if !o.success() {
                return Err(format!(
                    "failed to {} pod sandbox {id}: {}",
                    if verb == "stopp" { "stop" } else { "remove" },
                    o.stderr.trim()
                ));
            }
        }
    }
    Ok(Removal::Removed(ids.len()))
}

/// Pulls one image into the runtime at `cri_socket` (`kubeadm config images pull`): CRI
/// `PullImage`; when no runtime answers on the socket, `crictl pull`, else
/// `ctr -n k8s.io images pull` for a containerd socket. Errors: no runtime and no tool to pull
/// with, the host refuses (`--root`), or the pull failed (with its output).
pub fn pull_image(host: &dyn Host, cri_socket: &str, image: &str) -> Result<(), String> {
    let ep = cri_endpoint(cri_socket);
    let unreachable = match host.container_runtime(&ep).pull_image(image) {
        Ok(_) => return Ok(()),
        Err(e @ CriError::Connect { .. }) => e.to_string(),
        Err(e) => return Err(e.to_string()),
    };
    let (program, args): (&str, Vec<String>) = if host.which("crictl").is_some() {
        (
            "crictl",
            vec![
                "--runtime-endpoint".into(),
                ep.clone(),
                "pull".into(),
                image.into(),
            ],
        )
    } else if host.which("ctr").is_some() && ep.contains("containerd") {
        let path = ep.trim_start_matches("unix://").to_string();
        (
            "ctr",
            vec![
                "--address".into(),
                path,
                "--namespace".into(),
                "k8s.io".into(),
                "images".into(),
                "pull".into(),
                image.into(),
            ],
        )
    } else {
        return Err(format!(
            "cannot pull images: {unreachable}, and neither crictl nor ctr is in PATH; start the container runtime (or pass --cri-socket), or pull the images with your runtime's tools"
        ));
    };
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Some(why) = host.command_refusal(program, &argv) {
        return Err(why);
    }
    let o = host
        .run(program, &argv)
        .map_err(|e| format!("{program}: {e}"))?;
    if o.success() {
        Ok(())
    } else {
        Err(format!("{} {}", o.stderr.trim(), o.stdout.trim())
            .trim()
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;

    fn no_runtime(h: &FakeHost) {
        *h.runtime().fail.lock().unwrap() = Some(CriError::Connect {
            endpoint: "unix:///run/containerd/containerd.sock".into(),
            reason: "dial unix /run/containerd/containerd.sock: connect: no such file or directory"
                .into(),
        });
    }

    #[test]
    fn pods_are_removed_over_cri() {
        let h = FakeHost::new().unwrap();
        *h.runtime().sandboxes.lock().unwrap() = vec!["aaa".into(), "bbb".into()];
        let done = remove_kube_containers(&h, "/run/containerd/containerd.sock").unwrap();
        assert_eq!(done, Removal::Removed(2));
        assert_eq!(*h.runtime().removed.lock().unwrap(), ["aaa", "bbb"]);
        assert!(h.commands_run().iter().all(|c| !c.starts_with("crictl")));
    }

    #[test]
    fn without_a_runtime_crictl_removes_the_pods_or_removal_is_skipped() {
        let h = FakeHost::new().unwrap();
        no_runtime(&h);
        let skipped = remove_kube_containers(&h, "/run/containerd/containerd.sock").unwrap();
        assert!(
            matches!(&skipped, Removal::Skipped(why) if why.starts_with("crictl is not in PATH and could not connect to the container runtime")),
            "{skipped:?}"
        );
        h.add_programs(&["crictl"]);
        h.script(
            "crictl --runtime-endpoint unix:///run/containerd/containerd.sock pods -q",
            0,
            "aaa\nbbb\n",
        );
        let done = remove_kube_containers(&h, "/run/containerd/containerd.sock").unwrap();
        assert_eq!(done, Removal::Removed(2));
        let ran: Vec<String> = h
            .commands_run()
            .into_iter()
            .filter(|c| c.contains("stopp") || c.contains("rmp"))
            .collect();
        assert_eq!(
            ran,
            [
                "crictl --runtime-endpoint unix:///run/containerd/containerd.sock stopp aaa",
                "crictl --runtime-endpoint unix:///run/containerd/containerd.sock rmp aaa",
                "crictl --runtime-endpoint unix:///run/containerd/containerd.sock stopp bbb",
                "crictl --runtime-endpoint unix:///run/containerd/containerd.sock rmp bbb",
            ]
        );
    }

    #[test]
    fn pull_uses_cri_else_crictl_else_ctr_else_says_what_is_missing() {
        let ep = "unix:///var/run/containerd/containerd.sock";
        let h = FakeHost::new().unwrap();
        pull_image(&h, ep, "registry.k8s.io/pause:3.10.2").unwrap();
        assert_eq!(
            *h.runtime().pulled.lock().unwrap(),
            ["registry.k8s.io/pause:3.10.2"]
        );
        no_runtime(&h);
        let e = pull_image(&h, ep, "registry.k8s.io/pause:3.10.2").unwrap_err();
        assert!(
            e.contains("could not connect to the container runtime")
                && e.contains("neither crictl nor ctr is in PATH"),
            "{e}"
        );
        h.add_programs(&["ctr"]);
        pull_image(&h, ep, "registry.k8s.io/pause:3.10.2").unwrap();
        h.add_programs(&["crictl"]);
        h.script(&format!("crictl --runtime-endpoint {ep} pull bad:1"), 1, "");
        assert!(pull_image(&h, ep, "bad:1").is_err());
        let ran = h.commands_run();
        assert!(ran.contains(&"ctr --address /var/run/containerd/containerd.sock --namespace k8s.io images pull registry.k8s.io/pause:3.10.2".to_string()), "{ran:?}");
    }
}
