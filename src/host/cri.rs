//! The container runtime, spoken to as the kubelet and kubeadm (≥ 1.32) do: the CRI v1 gRPC
//! API on a Unix socket. Mirrors kubeadm's cmd/kubeadm/app/util/runtime/runtime.go
//! (`Connect`, `IsRunning`, `IsRuntimeConfigImplemented`, `ImageExists`, `PullImage`,
//! `SandboxImage`, `ListKubeContainers`, `RemoveContainers`).
//!
//! [`ContainerRuntime`] is what the phases use; [`GrpcRuntime`] talks to a real runtime,
//! [`ScriptedRuntime`] stands in for one in tests. Calls that change the machine (pulls,
//! removing pods) go through [`super::command_policy`] as the pseudo-command `cri <Method>`,
//! so `--dry-run` and `--root` treat them as they treat any other command.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use super::{CommandPolicy, command_policy};

/// The generated CRI v1 messages and clients (`runtime.v1` of k8s.io/cri-api v0.37.2).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod api {
    tonic::include_proto!("runtime.v1");
}

/// How long a connection attempt may take (kubeadm's `defaultContext`: 2 minutes for the
/// call; a local socket answers at once, so connecting gets less).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one call other than a pull may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one image pull may take.
pub const PULL_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a CRI call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CriError {
    /// No connection: no socket, not a socket, nobody listening, or not a gRPC server.
    #[error("could not connect to the container runtime at {endpoint}: {reason}")]
    Connect {
        /// The CRI endpoint (`unix:///run/containerd/containerd.sock`).
        endpoint: String,
        /// What the system said (`connect: no such file or directory`).
        reason: String,
    },
    /// The runtime answered with a gRPC error.
    #[error("{method}: rpc error: code = {code} desc = {message}")]
    Call {
        /// The CRI method (`PullImage`).
        method: &'static str,
        /// The gRPC status code's name (`Unimplemented`).
        code: String,
        /// The runtime's message.
        message: String,
    },
    /// The call did not finish in time.
    #[error("{method}: no answer within {seconds} s")]
    Timeout {
        /// The CRI method.
        method: &'static str,
        /// The limit in seconds.
        seconds: u64,
    },
    /// The host's policy refused the call (`--root`); the message says why.
    #[error("{0}")]
    Refused(String),
}

impl CriError {
    /// True for a gRPC `Unimplemented` answer (a runtime older than the method).
    pub fn is_unimplemented(&self) -> bool {
        matches!(self, CriError::Call { code, .. } if code == "Unimplemented")
    }
}

/// The runtime's `Version` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeVersion {
    /// `containerd`.
    pub runtime_name: String,
    /// `1.6.20~ds1`.
    pub runtime_version: String,
    /// The CRI version it speaks (`v1`).
    pub runtime_api_version: String,
}

/// One condition of the runtime's `Status` (`RuntimeReady`, `NetworkReady`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeCondition {
    /// The condition's type.
    pub kind: String,
    /// True when it holds.
    pub status: bool,
    /// Short reason, when false.
    pub reason: String,
    /// Message, when false.
    pub message: String,
}

/// The runtime's `Status` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeStatus {
    /// The conditions.
    pub conditions: Vec<RuntimeCondition>,
    /// The sandbox (pause) image of the runtime's configuration, from the verbose info's
    /// `config.sandboxImage` (containerd), when the runtime says.
    pub sandbox_image: Option<String>,
}

/// A container's state, as the CRI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContainerState {
    /// Created, not started.
    Created,
    /// Running.
    Running,
    /// Exited.
    Exited,
    /// Unknown.
    #[default]
    Unknown,
}

/// One container of `ListContainers`, with what `ContainerStatus` adds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Container {
    /// Container ID.
    pub id: String,
    /// The container's name in its pod (`kube-apiserver`).
    pub name: String,
    /// Its pod's sandbox ID.
    pub pod_sandbox_id: String,
    /// The pod's name (label `io.kubernetes.pod.name`), when set.
    pub pod_name: String,
    /// State.
    pub state: ContainerState,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_at_ns: i64,
    /// Restart count of this container name in its pod.
    pub attempt: u32,
}

/// What `ContainerStatus` says of one container beyond the list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerDetail {
    /// Exit code (exited containers).
    pub exit_code: i32,
    /// Finish time, nanoseconds since the Unix epoch (0 while running).
    pub finished_at_ns: i64,
    /// Absolute path of its log file on this machine (CRI log format).
    pub log_path: String,
    /// Reason (`Error`, `Completed`) and message of the last exit.
    pub reason: String,
}

/// The CRI calls kubestrap makes. Blocking; each call is bounded by the timeouts above.
pub trait ContainerRuntime: Send + Sync + std::fmt::Debug {
    /// `RuntimeService.Version`.
    fn version(&self) -> Result<RuntimeVersion, CriError>;
    /// `RuntimeService.Status` (verbose: with the runtime's info, for the sandbox image).
    fn status(&self, verbose: bool) -> Result<RuntimeStatus, CriError>;
    /// `RuntimeService.RuntimeConfig`: `Ok(false)` when the runtime does not implement it
    /// (containerd < 1.7), as kubeadm's `IsRuntimeConfigImplemented`.
    fn runtime_config_implemented(&self) -> Result<bool, CriError>;
    /// `ImageService.ImageStatus`: true when `image` is present.
    fn image_exists(&self, image: &str) -> Result<bool, CriError>;
    /// `ImageService.PullImage`; returns the image reference (digest) the runtime reports.
    fn pull_image(&self, image: &str) -> Result<String, CriError>;
    /// `RuntimeService.ListContainers`, every state.
    fn list_containers(&self) -> Result<Vec<Container>, CriError>;
    /// `RuntimeService.ContainerStatus`.
    fn container_status(&self, id: &str) -> Result<ContainerDetail, CriError>;
    /// `RuntimeService.ListPodSandbox`: the IDs of every pod sandbox.
    fn list_pod_sandboxes(&self) -> Result<Vec<String>, CriError>;
    /// `StopPodSandbox` then `RemovePodSandbox` (kubeadm's `RemoveContainers`).
    fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError>;
}

/// The socket path of a CRI endpoint: `unix:///run/x.sock` → `/run/x.sock`; a bare path is
/// taken as is.
pub fn socket_path(endpoint: &str) -> PathBuf {
    PathBuf::from(
        endpoint
            .strip_prefix("unix://")
            .unwrap_or(endpoint)
            .to_string(),
    )
}

/// The message of a CRI log line (`2026-12-07T03:37:34.1Z stderr F message` → `message`);
/// other lines unchanged.
pub fn log_message(line: &str) -> &str {
    let mut parts = line.splitn(4, ' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some("stdout" | "stderr"), Some("F" | "P"), Some(msg)) => msg,
        _ => line,
    }
}

type CallFuture<T> = Pin<Box<dyn Future<Output = Result<T, tonic::Status>> + Send>>;

/// A real runtime, reached on its Unix socket. Each call opens a connection on a thread of
/// its own (so it can be made from inside or outside an async runtime).
#[derive(Debug, Clone)]
pub struct GrpcRuntime {
    endpoint: String,
    socket: PathBuf,
    root: PathBuf,
    dry_run: bool,
}

impl GrpcRuntime {
    /// The runtime at `endpoint` (`unix:///…`); `socket` is where its socket is on this
    /// machine (under `--root` when set). `root` and `dry_run` decide, through
    /// [`command_policy`], whether calls that change the machine run.
    pub fn new(endpoint: &str, socket: PathBuf, root: &Path, dry_run: bool) -> GrpcRuntime {
        GrpcRuntime {
            endpoint: endpoint.to_string(),
            socket,
            root: root.to_path_buf(),
            dry_run,
        }
    }

    fn call<T: Send + 'static>(
        &self,
        method: &'static str,
        limit: Duration,
        f: impl FnOnce(Channel) -> CallFuture<T> + Send + 'static,
    ) -> Result<T, CriError> {
        let socket = self.socket.clone();
        let endpoint = self.endpoint.clone();
        let connect_err = move |reason: String| CriError::Connect {
            endpoint: endpoint.clone(),
            reason,
        };
        let worker = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| connect_err(e.to_string()))?;
            rt.block_on(async move {
                let ch = tokio::time::timeout(CONNECT_TIMEOUT, connect(socket.clone()))
                    .await
                    .map_err(|_| {
                        connect_err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))
                    })?
                    .map_err(connect_err)?;
                tokio::time::timeout(limit, f(ch))
                    .await
                    .map_err(|_| CriError::Timeout {
                        method,
                        seconds: limit.as_secs(),
                    })?
                    .map_err(|s| CriError::Call {
                        method,
                        code: format!("{:?}", s.code()),
                        message: s.message().to_string(),
                    })
            })
        });
        worker.join().unwrap_or_else(|_| {
            Err(CriError::Connect {
                endpoint: self.endpoint.clone(),
                reason: "the CRI client thread panicked".into(),
            })
        })
    }

    /// `Ok(false)` when the policy skips the call (dry run); `Err` when it refuses it.
    fn allowed(&self, method: &str, arg: &str) -> Result<bool, CriError> {
        match command_policy(&self.root, self.dry_run, "cri", &[method, arg]) {
            CommandPolicy::Run => Ok(true),
            CommandPolicy::Skip => Ok(false),
            CommandPolicy::Refuse(why) => Err(CriError::Refused(why)),
        }
    }
}

/// Connects to the gRPC server on `socket`, naming the system's error the way Go's dialer
/// does (`dial unix /run/x.sock: connect: no such file or directory`).
async fn connect(socket: PathBuf) -> Result<Channel, String> {
    // One connection, made here so that its error is the plain system error (tonic's would be
    // wrapped in "transport error"); the channel takes it over. A reconnect (the channel is
    // used for one call) dials again.
    let stream = tokio::net::UnixStream::connect(&socket)
        .await
        .map_err(|e| format!("dial unix {}: connect: {}", socket.display(), io_reason(&e)))?;
    let first = std::sync::Arc::new(std::sync::Mutex::new(Some(stream)));
    Endpoint::from_static("http://cri.invalid")
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let (first, path) = (first.clone(), socket.clone());
            async move {
                let made = first.lock().unwrap_or_else(|p| p.into_inner()).take();
                let stream = match made {
                    Some(s) => s,
                    None => tokio::net::UnixStream::connect(path).await?,
                };
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
        .map_err(|e| {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            msg
        })
}

/// `no such file or directory` rather than Rust's `No such file or directory (os error 2)`.
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

use api::image_service_client::ImageServiceClient;
use api::runtime_service_client::RuntimeServiceClient;

impl ContainerRuntime for GrpcRuntime {
    fn version(&self) -> Result<RuntimeVersion, CriError> {
        self.call("Version", CALL_TIMEOUT, |ch| {
            Box::pin(async move {
                let r = RuntimeServiceClient::new(ch)
                    .version(api::VersionRequest {
                        version: "v1".into(),
                    })
                    .await?
                    .into_inner();
                Ok(RuntimeVersion {
                    runtime_name: r.runtime_name,
                    runtime_version: r.runtime_version,
                    runtime_api_version: r.runtime_api_version,
                })
            })
        })
    }

    fn status(&self, verbose: bool) -> Result<RuntimeStatus, CriError> {
        self.call("Status", CALL_TIMEOUT, move |ch| {
            Box::pin(async move {
                let r = RuntimeServiceClient::new(ch)
                    .status(api::StatusRequest { verbose })
                    .await?
                    .into_inner();
                let conditions = r
                    .status
                    .map(|s| {
                        s.conditions
                            .into_iter()
                            .map(|c| RuntimeCondition {
                                kind: c.r#type,
                                status: c.status,
                                reason: c.reason,
                                message: c.message,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let sandbox_image = r.info.get("config").and_then(|c| {
                    serde_json::from_str::<serde_json::Value>(c)
                        .ok()?
                        .get("sandboxImage")?
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                });
                Ok(RuntimeStatus {
                    conditions,
                    sandbox_image,
                })
            })
        })
    }

    fn runtime_config_implemented(&self) -> Result<bool, CriError> {
        match self.call("RuntimeConfig", CALL_TIMEOUT, |ch| {
            Box::pin(async move {
                RuntimeServiceClient::new(ch)
                    .runtime_config(api::RuntimeConfigRequest {})
                    .await?;
                Ok(())
            })
        }) {
            Ok(()) => Ok(true),
            Err(e) if e.is_unimplemented() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn image_exists(&self, image: &str) -> Result<bool, CriError> {
        let image = image.to_string();
        self.call("ImageStatus", CALL_TIMEOUT, move |ch| {
            Box::pin(async move {
                let r = ImageServiceClient::new(ch)
                    .image_status(api::ImageStatusRequest {
                        image: Some(api::ImageSpec {
                            image,
                            ..Default::default()
                        }),
                        verbose: false,
                    })
                    .await?
                    .into_inner();
                Ok(r.image.is_some())
            })
        })
    }

    fn pull_image(&self, image: &str) -> Result<String, CriError> {
        if !self.allowed("PullImage", image)? {
            return Ok(String::new());
        }
        let image = image.to_string();
        self.call("PullImage", PULL_TIMEOUT, move |ch| {
            Box::pin(async move {
                let r = ImageServiceClient::new(ch)
                    .pull_image(api::PullImageRequest {
                        image: Some(api::ImageSpec {
                            image,
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                Ok(r.image_ref)
            })
        })
    }

    fn list_containers(&self) -> Result<Vec<Container>, CriError> {
        self.call("ListContainers", CALL_TIMEOUT, |ch| {
            Box::pin(async move {
                let r = RuntimeServiceClient::new(ch)
                    .list_containers(api::ListContainersRequest { filter: None })
                    .await?
                    .into_inner();
                Ok(r.containers
                    .into_iter()
                    .map(|c| {
                        let (name, attempt) =
                            c.metadata.map(|m| (m.name, m.attempt)).unwrap_or_default();
                        Container {
                            state: match api::ContainerState::try_from(c.state) {
                                Ok(api::ContainerState::ContainerCreated) => {
                                    ContainerState::Created
                                }
                                Ok(api::ContainerState::ContainerRunning) => {
                                    ContainerState::Running
                                }
                                Ok(api::ContainerState::ContainerExited) => ContainerState::Exited,
                                _ => ContainerState::Unknown,
                            },
                            pod_name: c
                                .labels
                                .get("io.kubernetes.pod.name")
                                .cloned()
                                .unwrap_or_default(),
                            id: c.id,
                            name,
                            pod_sandbox_id: c.pod_sandbox_id,
                            created_at_ns: c.created_at,
                            attempt,
                        }
                    })
                    .collect())
            })
        })
    }

    fn container_status(&self, id: &str) -> Result<ContainerDetail, CriError> {
        let id = id.to_string();
        self.call("ContainerStatus", CALL_TIMEOUT, move |ch| {
            Box::pin(async move {
                let r = RuntimeServiceClient::new(ch)
                    .container_status(api::ContainerStatusRequest {
                        container_id: id,
                        verbose: false,
                    })
                    .await?
                    .into_inner();
                let s = r.status.unwrap_or_default();
                Ok(ContainerDetail {
                    exit_code: s.exit_code,
                    finished_at_ns: s.finished_at,
                    log_path: s.log_path,
                    reason: [s.reason, s.message]
                        .into_iter()
                        .filter(|x| !x.is_empty())
                        .collect::<Vec<_>>()
                        .join(": "),
                })
            })
        })
    }

    fn list_pod_sandboxes(&self) -> Result<Vec<String>, CriError> {
        self.call("ListPodSandbox", CALL_TIMEOUT, |ch| {
            Box::pin(async move {
                let r = RuntimeServiceClient::new(ch)
                    .list_pod_sandbox(api::ListPodSandboxRequest { filter: None })
                    .await?
                    .into_inner();
                Ok(r.items.into_iter().map(|p| p.id).collect())
            })
        })
    }

    fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        if !self.allowed("RemovePodSandbox", id)? {
            return Ok(());
        }
        let id = id.to_string();
        self.call("RemovePodSandbox", CALL_TIMEOUT, move |ch| {
            Box::pin(async move {
                let mut c = RuntimeServiceClient::new(ch);
                c.stop_pod_sandbox(api::StopPodSandboxRequest {
                    pod_sandbox_id: id.clone(),
                })
                .await?;
                c.remove_pod_sandbox(api::RemovePodSandboxRequest { pod_sandbox_id: id })
                    .await?;
                Ok(())
            })
        })
    }
}

/// A stand-in runtime for tests: answers from its fields and records pulls and removals.
/// The default is a ready containerd 2.x with every image present and no containers.
#[derive(Debug)]
pub struct ScriptedRuntime {
    /// The answer of every call when set (`Connect` for "no runtime").
    pub fail: Mutex<Option<CriError>>,
    /// `Version`'s answer.
    pub version: Mutex<RuntimeVersion>,
    /// `Status`'s answer.
    pub status: Mutex<RuntimeStatus>,
    /// Whether `RuntimeConfig` is implemented.
    pub runtime_config: Mutex<bool>,
    /// Images present; `None` = every image is present.
    pub images: Mutex<Option<Vec<String>>>,
    /// Pulls that fail, with the runtime's message.
    pub pull_failures: Mutex<Vec<(String, String)>>,
    /// Images pulled, in order.
    pub pulled: Mutex<Vec<String>>,
    /// Containers and their details.
    pub containers: Mutex<Vec<(Container, ContainerDetail)>>,
    /// Pod sandboxes; removed ones are recorded in `removed`.
    pub sandboxes: Mutex<Vec<String>>,
    /// Pod sandboxes removed.
    pub removed: Mutex<Vec<String>>,
}

impl Default for ScriptedRuntime {
    fn default() -> Self {
        ScriptedRuntime {
            fail: Mutex::new(None),
            version: Mutex::new(RuntimeVersion {
                runtime_name: "containerd".into(),
                runtime_version: "v2.1.4".into(),
                runtime_api_version: "v1".into(),
            }),
            status: Mutex::new(RuntimeStatus {
                conditions: vec![
                    RuntimeCondition {
                        kind: "RuntimeReady".into(),
                        status: true,
                        ..Default::default()
                    },
                    RuntimeCondition {
                        kind: "NetworkReady".into(),
                        status: true,
                        ..Default::default()
                    },
                ],
                sandbox_image: None,
            }),
            runtime_config: Mutex::new(true),
            images: Mutex::new(None),
            pull_failures: Mutex::new(Vec::new()),
            pulled: Mutex::new(Vec::new()),
            containers: Mutex::new(Vec::new()),
            sandboxes: Mutex::new(Vec::new()),
            removed: Mutex::new(Vec::new()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ScriptedRuntime {
    fn check(&self) -> Result<(), CriError> {
        match lock(&self.fail).clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl ContainerRuntime for ScriptedRuntime {
    fn version(&self) -> Result<RuntimeVersion, CriError> {
        self.check()?;
        Ok(lock(&self.version).clone())
    }
    fn status(&self, _verbose: bool) -> Result<RuntimeStatus, CriError> {
        self.check()?;
        Ok(lock(&self.status).clone())
    }
    fn runtime_config_implemented(&self) -> Result<bool, CriError> {
        self.check()?;
        Ok(*lock(&self.runtime_config))
    }
    fn image_exists(&self, image: &str) -> Result<bool, CriError> {
        self.check()?;
        Ok(match &*lock(&self.images) {
            None => true,
            Some(list) => list.iter().any(|i| i == image),
        })
    }
    fn pull_image(&self, image: &str) -> Result<String, CriError> {
        self.check()?;
        if let Some((_, msg)) = lock(&self.pull_failures).iter().find(|(i, _)| i == image) {
            return Err(CriError::Call {
                method: "PullImage",
                code: "Unknown".into(),
                message: msg.clone(),
            });
        }
        lock(&self.pulled).push(image.to_string());
        if let Some(list) = lock(&self.images).as_mut() {
            list.push(image.to_string());
        }
        Ok(format!("{image}@sha256:0"))
    }
    fn list_containers(&self) -> Result<Vec<Container>, CriError> {
        self.check()?;
        Ok(lock(&self.containers)
            .iter()
            .map(|(c, _)| c.clone())
            .collect())
    }
    fn container_status(&self, id: &str) -> Result<ContainerDetail, CriError> {
        self.check()?;
        lock(&self.containers)
            .iter()
            .find(|(c, _)| c.id == id)
            .map(|(_, d)| d.clone())
            .ok_or_else(|| CriError::Call {
                method: "ContainerStatus",
                code: "NotFound".into(),
                message: format!("an error occurred when try to find container {id:?}: not found"),
            })
    }
    fn list_pod_sandboxes(&self) -> Result<Vec<String>, CriError> {
        self.check()?;
        Ok(lock(&self.sandboxes).clone())
    }
    fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        self.check()?;
        lock(&self.sandboxes).retain(|s| s != id);
        lock(&self.removed).push(id.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_lose_the_cri_prefix() {
        assert_eq!(
            log_message("2026-12-07T03:37:34.132Z stderr F E1207 flag provided but not defined"),
            "E1207 flag provided but not defined"
        );
        assert_eq!(log_message("plain line"), "plain line");
    }

    #[test]
    fn endpoints_name_their_socket() {
        assert_eq!(
            socket_path("unix:///run/containerd/containerd.sock"),
            PathBuf::from("/run/containerd/containerd.sock")
        );
        assert_eq!(
            socket_path("/run/crio/crio.sock"),
            PathBuf::from("/run/crio/crio.sock")
        );
    }

    #[test]
    fn a_missing_socket_and_an_empty_file_are_connection_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.sock");
        let rt = GrpcRuntime::new("unix:///x.sock", missing.clone(), Path::new("/"), false);
        let e = rt.version().unwrap_err();
        assert!(
            matches!(&e, CriError::Connect { reason, .. } if reason.ends_with("connect: no such file or directory")),
            "{e}"
        );
        let empty = dir.path().join("empty.sock");
        std::fs::write(&empty, b"").unwrap();
        let rt = GrpcRuntime::new("unix:///x.sock", empty, Path::new("/"), false);
        let e = rt.status(false).unwrap_err();
        assert!(
            matches!(&e, CriError::Connect { reason, .. } if reason.contains("connection refused")),
            "{e}"
        );
    }

    #[test]
    fn pulls_follow_the_command_policy() {
        let dir = tempfile::tempdir().unwrap();
        let rt = GrpcRuntime::new("unix:///x.sock", dir.path().join("s"), dir.path(), false);
        let e = rt.pull_image("registry.k8s.io/pause:3.10.2").unwrap_err();
        assert!(
            matches!(&e, CriError::Refused(m) if m.contains("--root")),
            "{e}"
        );
        let dry = GrpcRuntime::new("unix:///x.sock", dir.path().join("s"), Path::new("/"), true);
        assert_eq!(
            dry.pull_image("registry.k8s.io/pause:3.10.2"),
            Ok(String::new())
        );
    }
}
