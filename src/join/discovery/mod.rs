//! Discovery: how a joining node learns (and comes to trust) the cluster's API server and CA.
//!
//! Token discovery mirrors kubeadm's `app/discovery/token/token.go` (reference §2.1):
//! 1. an anonymous TLS GET of `kube-public/cluster-info` trusting no CA (a rustls verifier that
//!    accepts any certificate but still checks the handshake signature), polled every
//!    `retry_interval` (kubeadm: 5 s, first try at once) until the discovery timeout, until the
//!    ConfigMap carries `jws-kubeconfig-<token-id>`;
//! 2. the detached JWS over the exact `kubeconfig` string is checked with the token secret
//!    ([`crate::jws`], constant-time);
//! 3. the CA certificates inside it must match one of the `sha256:` pins (SPKI hash);
//! 4. a second GET trusting only that CA; its `kubeconfig` must be byte-identical.
//!
//! File discovery (`app/discovery/file/file.go`) and HTTPS discovery (`app/discovery/https`)
//! read a kubeconfig from a file or an `https://` URL and then refresh it from cluster-info
//! ([`file`]). The TLS clients (trust nothing, or only the cluster CA) are in [`tls`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::config::Kubeconfig;

use crate::config::GoDuration;
use crate::config::token::BootstrapTokenString;
use crate::engine::{Event, EventSink, ProbeOutcome};

mod file;
mod tls;

pub use file::*;
use tls::*;

/// Phase name used in events.
pub const PHASE: &str = "discovery";

/// kubeadm's interval between discovery attempts (`constants.DiscoveryRetryInterval`).
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// kubeadm's per-request timeout of the discovery client (`?timeout=10s`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Path of the cluster-info ConfigMap.
pub const CLUSTER_INFO_PATH: &str = "/api/v1/namespaces/kube-public/configmaps/cluster-info";

/// Why discovery failed. Messages are meant for a first-time user; none shows a token secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// The endpoint did not answer (connection refused, no route, no answer in time, TLS).
    #[error("cannot reach {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    /// The endpoint answered with a status other than 200.
    #[error("{endpoint} answered {status} for the cluster-info ConfigMap in kube-public: {body}")]
    Http {
        endpoint: String,
        status: u16,
        body: String,
    },
    /// The body was not a ConfigMap.
    #[error("{endpoint} did not return a ConfigMap for cluster-info: {reason}")]
    BadBody { endpoint: String, reason: String },
    /// cluster-info has no `jws-kubeconfig-<id>` key: unknown or expired token (or the signer
    /// has not signed it yet).
    #[error(
        "no signature for token {token_id} in cluster-info: the token does not exist or has expired; create a new one on the control plane with kubestrap token create --print-join-command"
    )]
    NoSignature { token_id: String },
    /// cluster-info has no `kubeconfig` key.
    #[error(
        "the cluster-info ConfigMap in kube-public has no kubeconfig key: the API server is not set up for token bootstrapping"
    )]
    NoKubeconfig,
    /// The JWS does not match the kubeconfig and token.
    #[error(
        "the signature of cluster-info does not match token {token_id}: cluster-info was altered or the token secret is wrong; cannot trust this API server"
    )]
    BadSignature { token_id: String },
    /// The kubeconfig inside cluster-info does not parse or lacks the cluster/CA.
    #[error("the kubeconfig in cluster-info is not usable: {0}")]
    BadKubeconfig(String),
    /// None of the CA certificates matches a pin.
    #[error(
        "the cluster CA does not match the pinned hash: expected {}, got {}",
        expected.join(" or "), got.join(", ")
    )]
    PinMismatch {
        expected: Vec<String>,
        got: Vec<String>,
    },
    /// A pin string is malformed.
    #[error("{0}")]
    BadPin(String),
    /// The second (CA-verified) fetch returned a different kubeconfig.
    #[error(
        "cluster-info changed between the first fetch and the CA-verified second fetch; refusing to trust it"
    )]
    Changed,
    /// The second fetch, trusting only the discovered CA, failed.
    #[error(
        "the API server at {endpoint} could not be verified with the pinned cluster CA (the endpoint must be in its certificate's SANs): {reason}"
    )]
    SecureFetch { endpoint: String, reason: String },
    /// The discovery timeout passed; `last` is the last attempt's error.
    #[error("{last} (gave up after the discovery timeout of {timeout})")]
    Timeout {
        last: Box<DiscoveryError>,
        timeout: String,
    },
    /// File/HTTPS discovery: the kubeconfig could not be read or used.
    #[error("{0}")]
    File(String),
    /// An internal TLS setup error.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

impl DiscoveryError {
    /// The innermost error (through [`DiscoveryError::Timeout`]).
    pub fn root(&self) -> &DiscoveryError {
        match self {
            DiscoveryError::Timeout { last, .. } => last.root(),
            e => e,
        }
    }

    /// What the user can do, when there is something to suggest.
    pub fn hint(&self) -> Option<String> {
        match self.root() {
            DiscoveryError::Unreachable { .. } => Some(
                "check that the address and port are those init printed, that the control plane is up (kubectl get --raw /readyz on it) and that no firewall blocks the port".into(),
            ),
            DiscoveryError::NoSignature { .. } => Some(
                "on the control plane run: kubestrap token create --print-join-command (tokens live 24h by default)".into(),
            ),
            DiscoveryError::PinMismatch { .. } => Some(format!(
                "compare with the pin printed on the control plane: {}",
                pin_command("/etc/kubernetes/pki/ca.crt")
            )),
            _ => None,
        }
    }
}

/// The shell pipeline that prints the CA pin (hex, then `-`) of the CA certificate at
/// `ca_crt`, for RSA and ECDSA keys alike (`openssl pkey`, as kubeadm's documentation has it;
/// `openssl rsa` fails on an ECDSA CA).
pub fn pin_command(ca_crt: &str) -> String {
    format!(
        "openssl x509 -pubkey -noout -in {ca_crt} | openssl pkey -pubin -outform der | sha256sum"
    )
}

/// Settings of one token discovery.
#[derive(Debug, Clone)]
pub struct TokenDiscovery {
    /// `host:port` typed by the user.
    pub endpoint: String,
    /// The discovery token.
    pub token: BootstrapTokenString,
    /// `sha256:<hex>` pins; any match accepts the CA.
    pub ca_cert_hashes: Vec<String>,
    /// True with `--discovery-token-unsafe-skip-ca-verification` (pins given are still checked).
    pub unsafe_skip_ca_verification: bool,
    /// The discovery timeout (`timeouts.discovery`).
    pub timeout: Duration,
    /// Interval between attempts (kubeadm: 5 s).
    pub retry_interval: Duration,
    /// Timeout of one request (kubeadm: 10 s), shortened to the time left.
    pub request_timeout: Duration,
}

impl TokenDiscovery {
    /// Settings with kubeadm's interval and request timeout.
    pub fn new(
        endpoint: &str,
        token: BootstrapTokenString,
        pins: Vec<String>,
        timeout: Duration,
    ) -> Self {
        TokenDiscovery {
            endpoint: endpoint.to_string(),
            token,
            ca_cert_hashes: pins,
            unsafe_skip_ca_verification: false,
            timeout,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// What discovery found.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The exact `kubeconfig` string of cluster-info (or the file's kubeconfig).
    pub kubeconfig_yaml: String,
    /// It, parsed.
    pub kubeconfig: Kubeconfig,
    /// The API server URL inside it (used from now on), e.g. `https://10.0.0.1:6443`.
    pub server: String,
    /// The CA bundle (PEM) from it.
    pub ca_pem: Vec<u8>,
    /// `sha256:` pin of each CA certificate.
    pub ca_pins: Vec<String>,
    /// Subject of the first CA certificate, e.g. `CN=kubernetes`.
    pub ca_subject: String,
    /// True when the CA was checked against a pin.
    pub pinned: bool,
    /// HTTP requests made.
    pub requests: u32,
}

fn base_url(endpoint: &str) -> String {
    format!("https://{endpoint}")
}

/// One GET of cluster-info. Returns the ConfigMap's data map.
async fn fetch_cluster_info(
    client: &reqwest::Client,
    endpoint: &str,
    request_timeout: Duration,
) -> Result<std::collections::BTreeMap<String, String>, DiscoveryError> {
    let secs = request_timeout.as_secs().max(1);
    let url = format!("{}{CLUSTER_INFO_PATH}?timeout={secs}s", base_url(endpoint));
    let resp = client
        .get(&url)
        .timeout(request_timeout)
        .send()
        .await
        .map_err(|e| DiscoveryError::Unreachable {
            endpoint: endpoint.to_string(),
            reason: transport_reason(&e, request_timeout),
        })?;
    let status = resp.status().as_u16();
    let body = resp
        .bytes()
        .await
        .map_err(|e| DiscoveryError::Unreachable {
            endpoint: endpoint.to_string(),
            reason: transport_reason(&e, request_timeout),
        })?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        let msg = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| text.chars().take(200).collect());
        return Err(DiscoveryError::Http {
            endpoint: endpoint.to_string(),
            status,
            body: msg,
        });
    }
    let cm: ConfigMap = serde_json::from_slice(&body).map_err(|e| DiscoveryError::BadBody {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    })?;
    Ok(cm.data.unwrap_or_default())
}

fn fmt_left(d: Duration) -> String {
    GoDuration(Duration::from_secs(d.as_secs())).to_string()
}

/// A wait as a person reads it: whole seconds (rounded up) from one second on, else
/// milliseconds; never `4.843093349s`.
fn fmt_wait(d: Duration) -> String {
    let d = if d >= Duration::from_secs(1) {
        Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0))
    } else {
        Duration::from_millis(d.as_millis() as u64)
    };
    GoDuration(d).to_string()
}

/// Polls `attempt` until it returns `Ok(Some)`, a non-retryable `Err` (where `retry(e)` is
/// false), or `timeout` passes; reports each failed attempt as an [`Event::Probe`] and a
/// warning with the time left. On timeout the last error is wrapped in
/// [`DiscoveryError::Timeout`].
async fn poll<T, F, Fut>(
    events: &EventSink,
    what: &str,
    url: &str,
    timeout: Duration,
    interval: Duration,
    request_timeout: Duration,
    mut attempt: F,
) -> Result<T, DiscoveryError>
where
    F: FnMut(Duration) -> Fut,
    Fut: std::future::Future<Output = Result<T, (DiscoveryError, bool)>>,
{
    let start = Instant::now();
    let deadline = start + timeout;
    let mut n = 0u32;
    loop {
        n += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let rt = request_timeout.min(left).max(Duration::from_millis(50));
        let (err, retryable) = match attempt(rt).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let elapsed = start.elapsed();
        let outcome = match &err {
            DiscoveryError::Http { status, body, .. } => ProbeOutcome::Http {
                status: *status,
                body: body.clone(),
            },
            e => ProbeOutcome::Error {
                message: e.to_string(),
            },
        };
        events.send(Event::Probe {
            component: what.to_string(),
            url: url.to_string(),
            attempt: n,
            outcome,
            elapsed_ms: elapsed.as_millis() as u64,
            timeout_ms: timeout.as_millis() as u64,
        });
        if !retryable {
            return Err(err);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err(DiscoveryError::Timeout {
                last: Box::new(err),
                timeout: GoDuration(timeout).to_string(),
            });
        }
        let wait = interval.min(left);
        events.warn(
            PHASE,
            format!(
                "{err}; retrying in {} ({} left before the discovery timeout of {})",
                fmt_wait(wait),
                fmt_left(left),
                GoDuration(timeout)
            ),
        );
        tokio::time::sleep(wait).await;
        if Instant::now() >= deadline {
            return Err(DiscoveryError::Timeout {
                last: Box::new(err),
                timeout: GoDuration(timeout).to_string(),
            });
        }
    }
}

/// Runs token discovery as kubeadm does (module docs). Reports progress on `events`
/// (`discovery` log lines: reaching the endpoint, signature checked, CA pin checked; one
/// [`Event::Probe`] plus a warning with the time left per failed attempt).
///
/// Errors: see [`DiscoveryError`]; attempts that fail to connect or lack the signature are
/// retried until `opts.timeout` and end in [`DiscoveryError::Timeout`] with the last error.
pub async fn discover_token(
    opts: &TokenDiscovery,
    events: &EventSink,
) -> Result<Discovered, DiscoveryError> {
    let pins = opts
        .ca_cert_hashes
        .iter()
        .map(|h| {
            crate::pki::parse_pin(h)
                .map(hex::encode)
                .map_err(|e| DiscoveryError::BadPin(super::cmdline::pin_error(e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let endpoint = opts.endpoint.as_str();
    let url = format!("{}{CLUSTER_INFO_PATH}", base_url(endpoint));
    let sig_key = format!("jws-kubeconfig-{}", opts.token.id);
    let mut requests = 0u32;

    events.log(
        PHASE,
        format!("Trying to reach the API server at {endpoint} (cluster-info in kube-public, without trusting any CA yet)"),
    );
    let insecure = insecure_client()?;
    let (yaml, sig) = poll(
        events,
        "discovery",
        &url,
        opts.timeout,
        opts.retry_interval,
        opts.request_timeout,
        |rt| {
            requests += 1;
            let client = &insecure;
            let sig_key = &sig_key;
            async move {
                let data = fetch_cluster_info(client, endpoint, rt)
                    .await
                    .map_err(|e| (e, true))?;
                let Some(sig) = data.get(sig_key).filter(|s| !s.is_empty()) else {
                    return Err((
                        DiscoveryError::NoSignature {
                            token_id: opts.token.id.clone(),
                        },
                        true,
                    ));
                };
                let yaml = data
                    .get("kubeconfig")
                    .filter(|s| !s.is_empty())
                    .ok_or((DiscoveryError::NoKubeconfig, false))?;
                Ok((yaml.clone(), sig.clone()))
            }
        },
    )
    .await?;
    events.log(
        PHASE,
        format!(
            "Reached {endpoint}; cluster-info carries a signature for token {}",
            opts.token.id
        ),
    );

    if !crate::jws::verify_detached_signature(&yaml, &sig, &opts.token.id, &opts.token.secret) {
        return Err(DiscoveryError::BadSignature {
            token_id: opts.token.id.clone(),
        });
    }
    events.log(
        PHASE,
        format!(
            "Signature of cluster-info checked with token {}",
            opts.token.id
        ),
    );

    let Inspected {
        kubeconfig: kc,
        server,
        ca_pem,
        ca_pins,
        ca_subject: subject,
    } = inspect_kubeconfig(&yaml)?;
    if pins.is_empty() {
        events.warn(
            PHASE,
            format!(
                "INSECURE: the cluster CA was NOT verified (--discovery-token-unsafe-skip-ca-verification); trusting CA {subject} with pin {} only because cluster-info was signed with the token",
                ca_pins.join(", ")
            ),
        );
        return Ok(Discovered {
            kubeconfig_yaml: yaml,
            kubeconfig: kc,
            server,
            ca_pem,
            ca_pins,
            ca_subject: subject,
            pinned: false,
            requests,
        });
    }
    let matched = ca_pins.iter().any(|p| {
        pins.iter()
            .any(|want| p.strip_prefix("sha256:") == Some(want.as_str()))
    });
    if !matched {
        return Err(DiscoveryError::PinMismatch {
            expected: pins.iter().map(|p| format!("sha256:{p}")).collect(),
            got: ca_pins,
        });
    }
    events.log(
        PHASE,
        format!(
            "Cluster CA {subject} matches the pinned hash {}",
            ca_pins.join(", ")
        ),
    );

    let secure = client_trusting(&ca_pem)?;
    let second = poll(
        events,
        "discovery",
        &url,
        opts.timeout,
        opts.retry_interval,
        opts.request_timeout,
        |rt| {
            requests += 1;
            let client = &secure;
            async move {
                let data = fetch_cluster_info(client, endpoint, rt)
                    .await
                    .map_err(|e| match e {
                        DiscoveryError::Unreachable { endpoint, reason }
                            if reason.starts_with("TLS") =>
                        {
                            (DiscoveryError::SecureFetch { endpoint, reason }, false)
                        }
                        other => (other, true),
                    })?;
                Ok(data.get("kubeconfig").cloned().unwrap_or_default())
            }
        },
    )
    .await?;
    if second != yaml {
        return Err(DiscoveryError::Changed);
    }
    events.log(
        PHASE,
        format!("Fetched cluster-info again trusting only CA {subject}: unchanged"),
    );
    Ok(Discovered {
        kubeconfig_yaml: yaml,
        kubeconfig: kc,
        server,
        ca_pem,
        ca_pins,
        ca_subject: subject,
        pinned: true,
        requests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12 item 10: the pin hint's command prints kubestrap's pin for an RSA and an
    /// ECDSA CA (both made by openssl here).
    #[test]
    fn the_pin_hint_command_gives_the_pin_for_rsa_and_ecdsa_cas() {
        let dir = tempfile::tempdir().unwrap();
        for (name, newkey) in [
            ("rsa", vec!["-newkey", "rsa:2048"]),
            (
                "ecdsa",
                vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
        ] {
            let crt = dir.path().join(format!("{name}.crt"));
            let key = dir.path().join(format!("{name}.key"));
            let ok = std::process::Command::new("openssl")
                .args(["req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=ca"])
                .args(&newkey)
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&crt)
                .output()
                .expect("openssl");
            assert!(
                ok.status.success(),
                "{}",
                String::from_utf8_lossy(&ok.stderr)
            );
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(pin_command(crt.to_str().unwrap()))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let hex = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            let want = crate::pki::ca_pins_from_pem(&std::fs::read(&crt).unwrap()).unwrap();
            assert_eq!(vec![format!("sha256:{hex}")], want, "{name}");
        }
    }

    #[test]
    fn retry_waits_are_rounded() {
        assert_eq!(fmt_wait(Duration::from_nanos(4_843_093_349)), "5s");
        assert_eq!(fmt_wait(Duration::from_secs(5)), "5s");
        assert_eq!(fmt_wait(Duration::from_micros(100_400)), "100ms");
    }

    #[test]
    fn messages_read_well() {
        let e = DiscoveryError::Timeout {
            last: Box::new(DiscoveryError::Unreachable {
                endpoint: "192.0.2.10:6443".into(),
                reason: "connection refused".into(),
            }),
            timeout: "5m0s".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot reach 192.0.2.10:6443: connection refused (gave up after the discovery timeout of 5m0s)"
        );
        assert!(e.hint().is_some());
        let e = DiscoveryError::PinMismatch {
            expected: vec!["sha256:aa".into()],
            got: vec!["sha256:bb".into()],
        };
        assert_eq!(
            e.to_string(),
            "the cluster CA does not match the pinned hash: expected sha256:aa, got sha256:bb"
        );
        assert!(
            DiscoveryError::NoSignature { token_id: "abcdef".into() }
                .to_string()
                .starts_with("no signature for token abcdef in cluster-info: the token does not exist or has expired; create a new one on the control plane with kubestrap token create --print-join-command")
        );
    }

    #[test]
    fn unnamed_cluster_first() {
        let y = "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://9.9.9.9:6443\n    certificate-authority-data: Zm9v\n- name: \"\"\n  cluster:\n    server: https://1.2.3.4:6443\n    certificate-authority-data: YmFy\ncontexts: []\nusers: []\n";
        let kc = Kubeconfig::from_yaml(y).unwrap();
        let (s, ca) = cluster_of(&kc).unwrap();
        assert_eq!(s, "https://1.2.3.4:6443");
        assert_eq!(ca, b"bar");
    }
}
