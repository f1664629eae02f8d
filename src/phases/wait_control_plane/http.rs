//! One probe: the HTTP client of a target, one attempt, and how its answer reads.

use super::*;

/// An HTTP client for one target: keep-alive, no proxy, rustls.
pub fn probe_client(tls: &ProbeTls) -> Result<reqwest::Client, PhaseError> {
    let b = reqwest::Client::builder()
        .no_proxy()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .tcp_nodelay(true);
    let b = match tls {
        ProbeTls::Plain => b,
        ProbeTls::Insecure => b.tls_danger_accept_invalid_certs(true),
        ProbeTls::Ca(pem) => {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| PhaseError::new("the cluster CA is not valid PEM").caused_by(e))?;
            b.tls_certs_only(certs)
        }
    };
    b.build()
        .map_err(|e| PhaseError::new("cannot build the health-check HTTP client").caused_by(e))
}

/// The innermost, most telling cause of a request error (`connection refused`, a TLS error).
pub(crate) fn describe_error(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return "connection refused".into();
        }
        msg = c.to_string();
        cur = c.source();
    }
    if e.is_timeout() {
        return "timed out".into();
    }
    msg
}

/// Shortens a health body: the failing `[-]` lines of a verbose answer, else the first 200 bytes.
pub(super) fn short_body(body: &str) -> String {
    let failed: Vec<&str> = body.lines().filter(|l| l.starts_with("[-]")).collect();
    if !failed.is_empty() {
        return failed.join("; ");
    }
    let t = body.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

/// One GET: the outcome (Healthy only for HTTP 200) and the body.
pub(super) async fn attempt(client: &reqwest::Client, url: &str) -> (ProbeOutcome, String) {
    match client.get(url).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            if status == 200 {
                (ProbeOutcome::Healthy, body)
            } else {
                let short = short_body(&body);
                (
                    ProbeOutcome::Http {
                        status,
                        body: short,
                    },
                    body,
                )
            }
        }
        Err(e) => (
            ProbeOutcome::Error {
                message: describe_error(&e),
            },
            String::new(),
        ),
    }
}

/// `[+]etcd ok` / `[-]etcd failed: reason withheld` lines of `/readyz?verbose`.
pub fn parse_readyz(body: &str) -> Vec<(String, bool)> {
    body.lines()
        .filter_map(|l| {
            let (ok, rest) = if let Some(r) = l.strip_prefix("[+]") {
                (true, r)
            } else if let Some(r) = l.strip_prefix("[-]") {
                (false, r)
            } else {
                return None;
            };
            let name = rest.split_whitespace().next()?.to_string();
            Some((name, ok))
        })
        .collect()
}

pub(super) fn outcome_text(o: &ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Healthy => "HTTP 200".into(),
        ProbeOutcome::Http { status, body } if body.is_empty() => format!("HTTP {status}"),
        ProbeOutcome::Http { status, body } => format!("HTTP {status}: {body}"),
        ProbeOutcome::Error { message } => message.clone(),
    }
}
