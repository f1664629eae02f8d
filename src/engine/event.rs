//! Typed events the engine sends while it works; the TUI, the plain-text face and the
//! JSON-lines face are three consumers of the same stream.

use serde::{Deserialize, Serialize};

/// How a preflight check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Pass,
    Warning,
    Error,
}

/// A fix kubestrap can apply for a failing preflight check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// One line for the user, e.g. `turn swap off and comment out swap in /etc/fstab`.
    pub summary: String,
    /// What will run or be written, one line each ("will run: swapoff -a").
    pub steps: Vec<String>,
}

/// Outcome of a probe attempt in wait-control-plane / join waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeOutcome {
    Healthy,
    /// HTTP status other than 200, with the (shortened) body.
    Http {
        status: u16,
        body: String,
    },
    /// Connection or TLS failure, e.g. `connection refused`.
    Error {
        message: String,
    },
}

/// One event from the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A phase (e.g. `certs/apiserver`) started.
    PhaseStarted { phase: String },
    /// A phase finished; `elapsed_ms` in milliseconds.
    PhaseFinished { phase: String, elapsed_ms: u64 },
    /// A phase was skipped (`--skip-phases`, a disabled addon, or not applicable).
    PhaseSkipped { phase: String, reason: String },
    /// A phase failed; `error` is the whole cause chain joined by `: `, `hint` what to do.
    PhaseFailed {
        phase: String,
        elapsed_ms: u64,
        error: String,
        hint: Option<String>,
    },
    /// One preflight check's result.
    Check {
        name: String,
        severity: Severity,
        message: String,
        fix: Option<Fix>,
        ignored: bool,
    },
    /// A certificate was generated (`reused == false`) or an existing one was reused.
    Cert {
        /// Base name as kubeadm prints it, e.g. `apiserver`, `etcd/server`.
        name: String,
        /// Real path of the certificate file.
        path: String,
        subject: String,
        sans: Vec<String>,
        /// RFC 3339 expiry.
        not_after: String,
        /// e.g. `RSA-2048`, `ECDSA-P256`.
        key_algorithm: String,
        reused: bool,
    },
    /// A file was written (real path; `mode` as octal bits).
    FileWritten { path: String, mode: u32 },
    /// A health probe attempt; `elapsed_ms` since the wait began.
    Probe {
        component: String,
        url: String,
        attempt: u32,
        outcome: ProbeOutcome,
        elapsed_ms: u64,
        timeout_ms: u64,
    },
    /// One `/readyz?verbose` check of the apiserver (`[+]etcd ok`).
    ReadyzCheck { name: String, ok: bool },
    /// What a dry run would send to the API server (YAML of the object).
    WouldApply {
        verb: String,
        resource: String,
        namespace: Option<String>,
        name: String,
        yaml: String,
    },
    /// A log line, with the phase it belongs to.
    Log {
        level: LogLevel,
        phase: Option<String>,
        message: String,
    },
    /// init finished: the join commands and where things are.
    JoinReady(JoinInfo),
    /// The run ended (success, failure or cancellation).
    Finished { outcome: RunOutcome },
}

/// Log levels for [`Event::Log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RunOutcome {
    Succeeded,
    Failed {
        phase: String,
    },
    /// Cancelled (Ctrl-C or the UI). `after_phase`: the last leaf phase that completed;
    /// `interrupted`: the phase that was running and was stopped inside a wait (`None` when
    /// the run stopped between phases); `completed`: every leaf phase this run completed.
    Cancelled {
        after_phase: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupted: Option<String>,
        #[serde(default)]
        completed: Vec<String>,
    },
}

/// What `show-join-command` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinInfo {
    /// `host:port` the join command targets (controlPlaneEndpoint or advertise address).
    pub endpoint: String,
    pub token: String,
    /// `sha256:<hex>` pins, one per CA certificate.
    pub ca_cert_hashes: Vec<String>,
    /// Set when certificates were uploaded (`--upload-certs`).
    pub certificate_key: Option<String>,
    /// Whether a control-plane join command applies (controlPlaneEndpoint set).
    pub control_plane: bool,
    /// Token TTL in seconds (`None` = never expires).
    pub token_ttl_secs: Option<u64>,
    /// Root under which the files were written (dry run), if not `/`.
    pub root: Option<String>,
}

impl JoinInfo {
    /// The program for [`JoinInfo::control_plane_command`]: `kubestrap join` does not join
    /// control-plane nodes yet, so that command is printed for kubeadm.
    pub const CONTROL_PLANE_JOIN_PROGRAM: &'static str = "kubeadm";

    /// A note printed next to the control-plane join command.
    pub const CONTROL_PLANE_JOIN_NOTE: &'static str =
        "(run it with kubeadm: kubestrap join does not join control-plane nodes yet)";

    /// The worker join command on one line, with `program` (`kubestrap` or `kubeadm`).
    pub fn worker_command(&self, program: &str) -> String {
        let mut s = format!("{program} join {} --token {}", self.endpoint, self.token);
        for h in &self.ca_cert_hashes {
            s.push_str(&format!(" --discovery-token-ca-cert-hash {h}"));
        }
        s
    }

    /// The control-plane join command, when it applies.
    pub fn control_plane_command(&self, program: &str) -> Option<String> {
        if !self.control_plane {
            return None;
        }
        let mut s = self.worker_command(program);
        s.push_str(" --control-plane");
        if let Some(k) = &self.certificate_key {
            s.push_str(&format!(" --certificate-key {k}"));
        }
        Some(s)
    }
}
