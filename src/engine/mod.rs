//! The phase engine: a workflow of kubeadm-named phases run on a tokio task, reporting
//! through typed [`Event`]s. It never prints and never touches the terminal.

pub mod event;
pub mod runner;
pub mod workflow;

pub use event::{Event, Fix, JoinInfo, LogLevel, ProbeOutcome, RunOutcome, Severity};
pub use runner::{Plan, run_workflow, spawn_workflow};
pub use workflow::{Phase, Workflow};

/// Where phases send their events. Cloneable; sending never blocks and never fails
/// (events to a closed receiver are dropped).
#[derive(Debug, Clone)]
pub struct EventSink {
    tx: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
}

impl EventSink {
    /// A sink and the receiver the face reads from.
    pub fn channel() -> (Self, tokio::sync::mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (EventSink { tx: Some(tx) }, rx)
    }

    /// A sink that drops everything (benchmarks, library use).
    pub fn discard() -> Self {
        EventSink { tx: None }
    }

    /// Sends one event.
    pub fn send(&self, ev: Event) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(ev);
        }
    }

    /// Sends an info log line for `phase`.
    pub fn log(&self, phase: &str, message: impl Into<String>) {
        self.send(Event::Log {
            level: LogLevel::Info,
            phase: Some(phase.to_string()),
            message: message.into(),
        });
    }

    /// Sends a warning log line for `phase`.
    pub fn warn(&self, phase: &str, message: impl Into<String>) {
        self.send(Event::Log {
            level: LogLevel::Warn,
            phase: Some(phase.to_string()),
            message: message.into(),
        });
    }
}

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::InitConfig;
use crate::host::Host;

/// The real (unprefixed) paths kubestrap reads and writes, derived from the configuration.
/// Pass them to a [`Host`], which maps them under its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `/etc/kubernetes`
    pub kubernetes_dir: PathBuf,
    /// `certificatesDir`, default `/etc/kubernetes/pki`
    pub pki_dir: PathBuf,
    /// `/etc/kubernetes/manifests`
    pub manifests_dir: PathBuf,
    /// `/var/lib/kubelet`
    pub kubelet_dir: PathBuf,
    /// `etcd.local.dataDir`, default `/var/lib/etcd`
    pub etcd_data_dir: PathBuf,
}

impl Paths {
    /// Paths for a defaulted configuration (empty fields fall back to kubeadm's defaults).
    pub fn from_config(cfg: &InitConfig) -> Self {
        let pki = if cfg.cluster.certificates_dir.is_empty() {
            "/etc/kubernetes/pki".to_string()
        } else {
            cfg.cluster.certificates_dir.clone()
        };
        let etcd = cfg
            .cluster
            .etcd
            .local
            .as_ref()
            .map(|l| l.data_dir.clone())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/var/lib/etcd".to_string());
        Paths {
            kubernetes_dir: PathBuf::from("/etc/kubernetes"),
            pki_dir: PathBuf::from(pki),
            manifests_dir: PathBuf::from("/etc/kubernetes/manifests"),
            kubelet_dir: PathBuf::from("/var/lib/kubelet"),
            etcd_data_dir: PathBuf::from(etcd),
        }
    }
}

/// A phase failure: a message for the user, an optional hint (what to do next) and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PhaseError {
    pub message: String,
    pub hint: Option<String>,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl PhaseError {
    /// An error with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        PhaseError {
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// Adds a hint for the user.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the underlying cause.
    pub fn caused_by(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(e));
        self
    }

    /// The error a phase returns when `ctx.cancel` fired during one of its waits: `what` says
    /// what was being waited for (e.g. `waiting for kube-apiserver`). The runner reports it
    /// as [`RunOutcome::Cancelled`], never as a failure.
    pub fn cancelled(what: impl Into<String>) -> Self {
        PhaseError::new(format!("cancelled while {}", what.into())).caused_by(Cancelled)
    }

    /// True when this error (or any cause in its chain) is a cancellation ([`Cancelled`]).
    pub fn is_cancelled(&self) -> bool {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(self);
        while let Some(e) = cur {
            if e.is::<Cancelled>() {
                return true;
            }
            cur = e.source();
        }
        false
    }

    /// The causes below the message, outermost first (each error's own text).
    pub fn causes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(self);
        // Bounded: an error chain is finite, the bound guards a cycle in a foreign source().
        for _ in 0..64 {
            let Some(e) = cur else { break };
            out.push(e.to_string());
            cur = e.source();
        }
        out
    }

    /// The whole cause chain joined by `: `.
    pub fn chain(&self) -> String {
        let mut s = self.message.clone();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(self);
        while let Some(e) = cur {
            s.push_str(": ");
            s.push_str(&e.to_string());
            cur = e.source();
        }
        s
    }
}

/// Marker cause of a [`PhaseError::cancelled`] error (Ctrl-C or the UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled by the user")]
pub struct Cancelled;

/// Runs `fut` unless `cancel` fires first; on cancellation the future is dropped (at its
/// current await point) and a [`PhaseError::cancelled`] naming `what` is returned. Used by
/// every wait and retry loop so Ctrl-C stops them promptly.
pub async fn or_cancelled<T>(
    cancel: &tokio_util::sync::CancellationToken,
    what: &str,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, PhaseError> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(PhaseError::cancelled(what)),
        v = fut => Ok(v),
    }
}

/// What every phase gets: the effective configuration, the host, the paths and the event sink.
#[derive(Debug, Clone)]
pub struct PhaseCtx {
    pub cfg: Arc<InitConfig>,
    pub host: Arc<dyn Host>,
    pub paths: Paths,
    pub events: EventSink,
    /// The moment the run started; certificates use it for NotBefore (minus 5 minutes).
    pub started_at: std::time::SystemTime,
    /// Values later phases need from earlier ones (tokens, certificate key, CA pins).
    pub state: Arc<std::sync::Mutex<RunState>>,
    /// Run options that are not part of the kubeadm configuration (`--fix`, `--upload-certs`).
    pub options: RunOptions,
    /// Cancelled by Ctrl-C or the UI; long waits inside phases should watch it. The runner
    /// checks it between phases (the safe points).
    pub cancel: tokio_util::sync::CancellationToken,
    /// Key pairs generated ahead of time (the wizard starts the pool while the user types);
    /// the certs and kubeconfig phases take keys from it when its algorithm matches.
    pub key_pool: Option<Arc<crate::pki::KeyPool>>,
}

/// Options of one run that the kubeadm configuration does not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Apply the fixes preflight offers (`--fix`, or confirmed in the wizard).
    pub fix: bool,
    /// `--upload-certs`: run the upload-certs phase.
    pub upload_certs: bool,
}

/// Values one phase produces for later ones within a run.
#[derive(Debug, Default, Clone)]
pub struct RunState {
    /// Bootstrap tokens (`id.secret`) in use, generated ones included.
    pub tokens: Vec<String>,
    /// The certificate key of `--upload-certs` (64 hex), once known.
    pub certificate_key: Option<String>,
    /// `sha256:<hex>` pins of the cluster CA, once ca.crt exists.
    pub ca_cert_hashes: Vec<String>,
    /// `--upload-certs` was given: the upload-certs phase uploads the shared certificates.
    pub upload_certs: bool,
    /// The user consented (`--fix`) to `failCgroupV1: false` in the KubeletConfiguration, so a
    /// kubelet v1.35+ starts on this cgroup v1 host.
    pub kubelet_allow_cgroup_v1: bool,
}

impl PhaseCtx {
    /// A context for `cfg` on `host`, with paths derived from `cfg`.
    pub fn new(cfg: Arc<InitConfig>, host: Arc<dyn Host>, events: EventSink) -> Self {
        let paths = Paths::from_config(&cfg);
        PhaseCtx {
            cfg,
            host,
            paths,
            events,
            started_at: std::time::SystemTime::now(),
            state: Arc::default(),
            options: RunOptions::default(),
            cancel: tokio_util::sync::CancellationToken::new(),
            key_pool: None,
        }
    }

    /// True in `--dry-run`.
    pub fn dry_run(&self) -> bool {
        self.host.dry_run()
    }
}
