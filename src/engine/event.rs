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
    /// A phase failed; `error` is the whole cause chain joined by `: `, `causes` the chain's
    /// causes one by one (outermost first; `error` ends with them), `hint` what to do.
    PhaseFailed {
        phase: String,
        elapsed_ms: u64,
        error: String,
        #[serde(default)]
        causes: Vec<String>,
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

/// What replaces a secret in redacted output (see [`Event::redacted`]).
pub const REDACTED: &str = "<redacted>";

/// The start of the upload-certs log line that carries the certificate key on its next
/// line, as kubeadm prints it; [`Event::redacted`] hides what follows.
pub const CERTIFICATE_KEY_LOG: &str = "[upload-certs] Using certificate key:";

/// The start of the bootstrap-token log line that names the token, as kubeadm prints it;
/// [`Event::redacted`] hides its secret.
pub const TOKEN_LOG: &str = "[bootstrap-token] Using token:";

/// A bootstrap token with its secret replaced by [`REDACTED`] (the id stays).
pub fn redact_token(token: &str) -> String {
    match token.split_once('.') {
        Some((id, _)) => format!("{id}.{REDACTED}"),
        None => REDACTED.to_string(),
    }
}

/// The data keys of a bootstrap-token Secret (type [`BOOTSTRAP_TOKEN_SECRET_TYPE`]) that
/// [`Event::redacted`] hides in `would_apply` YAML; its other keys (token id, usages,
/// groups, expiration) are not secret. Every data value of any other Secret (kubeadm-certs:
/// the encrypted CA, service-account and front-proxy keys) is hidden.
pub const SECRET_DATA_KEYS: &[&str] = &["token-secret"];

/// The `type` of a bootstrap-token Secret.
pub const BOOTSTRAP_TOKEN_SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";

impl Event {
    /// Names of this event's fields that hold secrets (bootstrap token secrets, certificate
    /// keys, private keys); the JSON face lists them as `secret_fields`. Empty for most kinds.
    pub fn secret_fields(&self) -> &'static [&'static str] {
        match self {
            Event::JoinReady(_) => &["token", "certificate_key"],
            Event::WouldApply { resource, .. } if resource == "secrets" => &["yaml"],
            Event::Log { message, .. }
                if message.starts_with(CERTIFICATE_KEY_LOG) || message.starts_with(TOKEN_LOG) =>
            {
                &["message"]
            }
            _ => &[],
        }
    }

    /// The event with its secrets replaced by [`REDACTED`]: the token secret of
    /// `join_ready` (the token id stays), its certificate key, the data of a Secret in
    /// `would_apply` (as base64 of `<redacted>`, so the YAML stays a valid Secret: the
    /// `token-secret` of a bootstrap-token Secret, every value of any other Secret such as
    /// kubeadm-certs), and the certificate key of the upload-certs log line. Logs, event streams
    /// and exports write this form unless the user asks for secrets (`--show-secrets`).
    pub fn redacted(&self) -> Event {
        match self {
            Event::JoinReady(info) => Event::JoinReady(info.redacted()),
            Event::WouldApply {
                verb,
                resource,
                namespace,
                name,
                yaml,
            } if resource == "secrets" => Event::WouldApply {
                verb: verb.clone(),
                resource: resource.clone(),
                namespace: namespace.clone(),
                name: name.clone(),
                yaml: redact_secret_yaml(yaml),
            },
            Event::Log {
                level,
                phase,
                message,
            } if message.starts_with(CERTIFICATE_KEY_LOG) => Event::Log {
                level: *level,
                phase: phase.clone(),
                message: format!("{CERTIFICATE_KEY_LOG}\n{REDACTED} (printed with --show-secrets)"),
            },
            Event::Log {
                level,
                phase,
                message,
            } if message.starts_with(TOKEN_LOG) => Event::Log {
                level: *level,
                phase: phase.clone(),
                message: format!(
                    "{TOKEN_LOG} {}",
                    redact_token(message[TOKEN_LOG.len()..].trim())
                ),
            },
            other => other.clone(),
        }
    }
}

/// A Secret's YAML with its secret values (under `data` or `stringData`) replaced: the
/// [`SECRET_DATA_KEYS`] of a bootstrap-token Secret, every value of any other Secret. YAML
/// that does not parse is replaced whole.
fn redact_secret_yaml(yaml: &str) -> String {
    use base64::Engine;
    let Ok(mut v) = serde_yaml::from_str::<serde_yaml::Value>(yaml) else {
        return format!("{REDACTED}\n");
    };
    let bootstrap_token =
        v.get("type").and_then(|t| t.as_str()) == Some(BOOTSTRAP_TOKEN_SECRET_TYPE);
    let b64 = base64::engine::general_purpose::STANDARD.encode(REDACTED);
    for (field, value) in [("data", &b64), ("stringData", &REDACTED.to_string())] {
        if let Some(map) = v.get_mut(field).and_then(|d| d.as_mapping_mut()) {
            for (key, slot) in map.iter_mut() {
                let secret =
                    !bootstrap_token || key.as_str().is_some_and(|k| SECRET_DATA_KEYS.contains(&k));
                if secret {
                    *slot = serde_yaml::Value::String(value.clone());
                }
            }
        }
    }
    serde_yaml::to_string(&v).unwrap_or_else(|_| format!("{REDACTED}\n"))
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
    /// True when `token` and `certificate_key` were replaced by [`REDACTED`].
    #[serde(default)]
    pub redacted: bool,
}

impl JoinInfo {
    /// The program for [`JoinInfo::control_plane_command`]: `kubestrap join --control-plane`.
    pub const CONTROL_PLANE_JOIN_PROGRAM: &'static str = "kubestrap";

    /// kubeadm's note after a control-plane join command with `--certificate-key`
    /// (`app/cmd/init.go`, `initDoneTempl`), naming kubestrap's command.
    pub const CERTIFICATE_KEY_NOTE: &'static str = "Please note that the certificate-key gives access to cluster sensitive data, keep it secret!\nAs a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use\n\"kubestrap init phase upload-certs --upload-certs\" to reload certs afterward.";

    /// The one-line form of [`JoinInfo::CERTIFICATE_KEY_NOTE`] for the wizard's done screen.
    pub const CERTIFICATE_KEY_SHORT: &'static str = "The certificate key expires in 2 h (with the uploaded certificates); a new one: kubestrap init phase upload-certs --upload-certs";

    /// The same information with the token secret (the id stays) and the certificate key
    /// replaced by [`REDACTED`].
    pub fn redacted(&self) -> JoinInfo {
        JoinInfo {
            token: redact_token(&self.token),
            certificate_key: self.certificate_key.as_ref().map(|_| REDACTED.to_string()),
            redacted: true,
            ..self.clone()
        }
    }

    /// The same information with the token secret withheld unless `show_token` and the
    /// certificate key unless `show_certificate_key` (`--skip-token-print`,
    /// `--skip-certificate-key-print`); [`JoinInfo::redacted`] withholds both.
    pub fn with_secrets(&self, show_token: bool, show_certificate_key: bool) -> JoinInfo {
        if show_token && show_certificate_key {
            return self.clone();
        }
        let r = self.redacted();
        JoinInfo {
            token: if show_token {
                self.token.clone()
            } else {
                r.token
            },
            certificate_key: if show_certificate_key {
                self.certificate_key.clone()
            } else {
                r.certificate_key
            },
            ..r
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A bootstrap-token Secret keeps its id, usages and groups and hides its secret; any
    /// other Secret (kubeadm-certs) hides every data value.
    #[test]
    fn secret_yaml_redaction() {
        let b64 = |s: &str| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(s)
        };
        let token = format!(
            "apiVersion: v1\nkind: Secret\ntype: {BOOTSTRAP_TOKEN_SECRET_TYPE}\ndata:\n  token-id: {}\n  token-secret: {}\n",
            b64("abcdef"),
            b64("0123456789abcdef")
        );
        let r = redact_secret_yaml(&token);
        assert!(r.contains(&format!("token-id: {}", b64("abcdef"))), "{r}");
        assert!(
            r.contains(&format!("token-secret: {}", b64(REDACTED))),
            "{r}"
        );
        let certs = format!(
            "apiVersion: v1\nkind: Secret\ntype: Opaque\ndata:\n  ca.key: {}\n  sa.pub: {}\nstringData:\n  x: plain\n",
            b64("encrypted-ca-key"),
            b64("encrypted-sa-pub")
        );
        let r = redact_secret_yaml(&certs);
        assert!(!r.contains(&b64("encrypted-ca-key")), "{r}");
        assert!(!r.contains(&b64("encrypted-sa-pub")), "{r}");
        assert!(!r.contains("plain"), "{r}");
        assert_eq!(r.matches(&b64(REDACTED)).count(), 2, "{r}");
    }
}
