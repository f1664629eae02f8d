//! What preflight and the wait for the control plane ask the container runtime, over CRI
//! (`host::cri`), as kubeadm ≥ 1.32 does: the `CRI` and `ContainerRuntimeVersion` checks,
//! the image pulls of `ImagePull`, and the containers of a static pod that keeps exiting.
//! Mirrors cmd/kubeadm/app/preflight/checks.go (`ContainerRuntimeCheck`,
//! `ContainerRuntimeVersionCheck`, `ImagePullCheck`) and util/runtime/runtime.go.

use std::path::Path;

use crate::host::Host;
use crate::host::cri::{ContainerState, CriError, log_message};

/// kubeadm's warning for a runtime without the `RuntimeConfig` method (containerd < 1.7),
/// word for word (ContainerRuntimeVersionCheck, v1.34 to v1.37).
pub const RUNTIME_CONFIG_WARNING: &str = "You must update your container runtime to a version that supports the CRI method RuntimeConfig. Falling back to using cgroupDriver from kubelet config will be removed in 1.38. For more information, see https://git.k8s.io/enhancements/keps/sig-node/4033-group-driver-detection-over-cri";

/// kubeadm's `IsRunning`: `Ok` when the runtime at `endpoint` answers `Status` with
/// `RuntimeReady` true (`NetworkReady` is not looked at, on purpose, as kubeadm). The error
/// is the check's message.
pub fn runtime_running(host: &dyn Host, endpoint: &str) -> Result<(), String> {
    let rt = host.container_runtime(endpoint);
    match rt.status(false) {
        Err(e @ CriError::Connect { .. }) => Err(e.to_string()),
        Err(e) => Err(format!("container runtime is not running: {e}")),
        Ok(s) => match s
            .conditions
            .iter()
            .find(|c| c.kind == "RuntimeReady" && !c.status)
        {
            Some(c) => Err(format!(
                "container runtime condition \"RuntimeReady\" is not true. reason: {}, message: {}",
                c.reason, c.message
            )),
            None => Ok(()),
        },
    }
}

/// kubeadm's `ContainerRuntimeVersion` check: `Ok(None)` when the runtime implements
/// `RuntimeConfig`, `Ok(Some(warning))` when it does not ([`RUNTIME_CONFIG_WARNING`]), `Err`
/// when the call failed otherwise.
pub fn runtime_config_warning(host: &dyn Host, endpoint: &str) -> Result<Option<String>, String> {
    match host
        .container_runtime(endpoint)
        .runtime_config_implemented()
    {
        Ok(true) => Ok(None),
        Ok(false) => Ok(Some(RUNTIME_CONFIG_WARNING.to_string())),
        Err(e) => Err(format!(
            "could not check if the runtime config is available: failed to call RuntimeConfig gRPC method: {e}"
        )),
    }
}

/// What happened to one image in [`pull_images`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullOutcome {
    /// Already present (policy `IfNotPresent`).
    Present,
    /// Pulled now.
    Pulled,
    /// The pull failed: kubeadm's `failed to pull image X: <error>`.
    Failed(String),
}

/// Pulls `images` through the runtime at `endpoint` as kubeadm's `PullImagesInParallel`
/// does: all at once (one thread each), each skipped when present and `if_not_present`.
/// `progress` is called from the pulling threads as each image finishes. Returns the
/// outcome per image, in `images`' order.
pub fn pull_images(
    host: &dyn Host,
    endpoint: &str,
    images: &[String],
    if_not_present: bool,
    progress: &(dyn Fn(&str, &PullOutcome) + Sync),
) -> Vec<(String, PullOutcome)> {
    let rt = host.container_runtime(endpoint);
    std::thread::scope(|s| {
        let handles: Vec<_> = images
            .iter()
            .map(|image| {
                let rt = rt.clone();
                s.spawn(move || {
                    let outcome = if if_not_present && rt.image_exists(image).unwrap_or(false) {
                        PullOutcome::Present
                    } else {
                        match rt.pull_image(image) {
                            Ok(_) => PullOutcome::Pulled,
                            Err(e) => {
                                PullOutcome::Failed(format!("failed to pull image {image}: {e}"))
                            }
                        }
                    };
                    progress(image, &outcome);
                    (image.clone(), outcome)
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(images)
            .map(|(h, image)| {
                h.join().unwrap_or_else(|_| {
                    (
                        image.clone(),
                        PullOutcome::Failed(format!(
                            "failed to pull image {image}: the pull panicked"
                        )),
                    )
                })
            })
            .collect()
    })
}

/// The runtime's sandbox image when it differs from `expected`, with kubeadm's warning
/// (`detected that the sandbox image … is inconsistent with that used by kubeadm`).
pub fn sandbox_image_warning(host: &dyn Host, endpoint: &str, expected: &str) -> Option<String> {
    let got = host
        .container_runtime(endpoint)
        .status(true)
        .ok()?
        .sandbox_image?;
    (got != expected).then(|| {
        format!(
            "detected that the sandbox image \"{got}\" of the container runtime is inconsistent with that used by kubeadm. It is recommended to use \"{expected}\" as the CRI sandbox image."
        )
    })
}

/// One component's containers as the runtime lists them: how often it exited and its newest
/// container's last log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentContainers {
    /// Containers named `component`, every state.
    pub count: usize,
    /// Exits so far: the newest container's restart attempt, plus one when it exited too.
    pub exits: u32,
    /// The newest exited container's ID, when one exited.
    pub exited_id: Option<String>,
    /// The ID of the newest container, whatever its state.
    pub newest_id: Option<String>,
}

/// The containers named `component` (a static pod's container name) at `endpoint`; `None`
/// when the runtime cannot be asked.
pub fn component_containers(
    host: &dyn Host,
    endpoint: &str,
    component: &str,
) -> Option<ComponentContainers> {
    let list = host.container_runtime(endpoint).list_containers().ok()?;
    let mut mine: Vec<_> = list.into_iter().filter(|c| c.name == component).collect();
    mine.sort_by_key(|c| (c.attempt, c.created_at_ns));
    let newest = mine.last();
    let exits = newest
        .map(|c| c.attempt + u32::from(c.state == ContainerState::Exited))
        .unwrap_or(0);
    Some(ComponentContainers {
        count: mine.len(),
        exits,
        exited_id: mine
            .iter()
            .rev()
            .find(|c| c.state == ContainerState::Exited)
            .map(|c| c.id.clone()),
        newest_id: newest.map(|c| c.id.clone()),
    })
}

/// The last `n` lines of container `id`'s log, from the log file the runtime names
/// (`ContainerStatus.log_path`), without the CRI log prefix; `None` when unreadable.
pub fn container_log_tail(host: &dyn Host, endpoint: &str, id: &str, n: usize) -> Option<String> {
    let detail = host.container_runtime(endpoint).container_status(id).ok()?;
    if detail.log_path.is_empty() {
        return None;
    }
    let bytes = host.read(Path::new(&detail.log_path)).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().map(log_message).collect();
    Some(lines[lines.len().saturating_sub(n)..].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;
    use crate::host::cri::{Container, ContainerDetail, RuntimeCondition};

    const EP: &str = "unix:///run/containerd/containerd.sock";

    #[test]
    fn a_runtime_that_is_not_ready_fails_with_kubeadms_message() {
        let h = FakeHost::new().unwrap();
        assert_eq!(runtime_running(&h, EP), Ok(()));
        h.runtime().status.lock().unwrap().conditions[0] = RuntimeCondition {
            kind: "RuntimeReady".into(),
            status: false,
            reason: "Starting".into(),
            message: "not yet".into(),
        };
        assert_eq!(
            runtime_running(&h, EP).unwrap_err(),
            "container runtime condition \"RuntimeReady\" is not true. reason: Starting, message: not yet"
        );
    }

    #[test]
    fn an_old_runtime_gets_kubeadms_runtime_config_warning() {
        let h = FakeHost::new().unwrap();
        assert_eq!(runtime_config_warning(&h, EP), Ok(None));
        *h.runtime().runtime_config.lock().unwrap() = false;
        assert_eq!(
            runtime_config_warning(&h, EP),
            Ok(Some(RUNTIME_CONFIG_WARNING.to_string()))
        );
    }

    #[test]
    fn pulls_skip_present_images_and_report_failures_in_order() {
        let h = FakeHost::new().unwrap();
        *h.runtime().images.lock().unwrap() = Some(vec!["a:1".into()]);
        h.runtime()
            .pull_failures
            .lock()
            .unwrap()
            .push(("c:3".into(), "not found".into()));
        let seen = std::sync::Mutex::new(Vec::new());
        let out = pull_images(
            &h,
            EP,
            &["a:1".into(), "b:2".into(), "c:3".into()],
            true,
            &|i, _| seen.lock().unwrap().push(i.to_string()),
        );
        assert_eq!(out[0].1, PullOutcome::Present);
        assert_eq!(out[1].1, PullOutcome::Pulled);
        assert!(
            matches!(&out[2].1, PullOutcome::Failed(m) if m.starts_with("failed to pull image c:3: ") && m.contains("not found"))
        );
        assert_eq!(seen.lock().unwrap().len(), 3);
        assert_eq!(*h.runtime().pulled.lock().unwrap(), vec!["b:2".to_string()]);
    }

    #[test]
    fn a_crashing_component_is_counted_and_its_log_read_from_the_runtimes_path() {
        let h = FakeHost::new().unwrap();
        h.write_atomic(
            Path::new("/var/log/pods/x/kube-apiserver/2.log"),
            b"2026-12-07T03:00:00Z stderr F Error: unknown flag: --bogus\n",
            0o640,
        )
        .unwrap();
        let c = |id: &str, attempt, state| Container {
            id: id.into(),
            name: "kube-apiserver".into(),
            state,
            attempt,
            ..Default::default()
        };
        *h.runtime().containers.lock().unwrap() = vec![
            (
                c("old", 1, ContainerState::Exited),
                ContainerDetail::default(),
            ),
            (
                c("new", 2, ContainerState::Exited),
                ContainerDetail {
                    log_path: "/var/log/pods/x/kube-apiserver/2.log".into(),
                    ..Default::default()
                },
            ),
        ];
        let cc = component_containers(&h, EP, "kube-apiserver").unwrap();
        assert_eq!((cc.count, cc.exits), (2, 3));
        assert_eq!(cc.exited_id.as_deref(), Some("new"));
        assert_eq!(
            container_log_tail(&h, EP, "new", 20).as_deref(),
            Some("Error: unknown flag: --bogus")
        );
    }
}
