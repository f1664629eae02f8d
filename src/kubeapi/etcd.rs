//! A small etcd v3 cluster client over etcd's HTTP/JSON gateway (`/v3/cluster/member/*` on
//! the client port, mutual TLS with the etcd CA and the `healthcheck-client` certificate), for
//! what kubeadm's `app/util/etcd/etcd.go` does with the gRPC client: list members, add a
//! learner, promote it once it has caught up, remove a member.
//!
//! Every call tries the endpoints in order and returns the first answer; transport errors move
//! on to the next endpoint. Errors carry etcd's own message (e.g. `etcdserver: can only
//! promote a learner member which is in sync with leader`).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::host::Host;

/// One etcd member as `member list` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Member {
    /// The member ID.
    pub id: u64,
    /// The member name (`--name`); empty until the member has started.
    pub name: String,
    /// Peer URLs, first is the one kubeadm matches on.
    pub peer_urls: Vec<String>,
    /// Client URLs; empty until the member has started.
    pub client_urls: Vec<String>,
    /// True for a non-voting learner.
    pub is_learner: bool,
}

impl Member {
    /// kubeadm's "started" test: a member that has not started has no name.
    pub fn started(&self) -> bool {
        !self.name.is_empty()
    }

    /// The first peer URL, or "".
    pub fn peer_url(&self) -> &str {
        self.peer_urls.first().map(String::as_str).unwrap_or("")
    }
}

/// An error of an etcd call: which call, the endpoint(s) tried, etcd's message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("etcd {call}: {message}")]
pub struct EtcdError {
    /// `member list`, `member add`, `member promote`, `member remove`.
    pub call: String,
    /// etcd's answer or the transport problem.
    pub message: String,
    /// True when etcd answered (an API error), false for transport problems.
    pub answered: bool,
}

/// The client: endpoints (`https://IP:2379`) and an HTTP client with the mTLS identity.
#[derive(Debug, Clone)]
pub struct EtcdClient {
    /// Client URLs tried in order.
    pub endpoints: Vec<String>,
    http: reqwest::Client,
}

fn read(host: &dyn Host, pki: &Path, f: &str) -> Result<Vec<u8>, String> {
    let p = pki.join(f);
    host.read(&p)
        .map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// Parses a uint64 the gateway sends as a JSON string (proto3 JSON) or number.
fn u64_of(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses one member object of the gateway's JSON.
pub fn parse_member(v: &Value) -> Member {
    Member {
        id: u64_of(&v["ID"]).unwrap_or(0),
        name: v["name"].as_str().unwrap_or("").to_string(),
        peer_urls: strings(&v["peerURLs"]),
        client_urls: strings(&v["clientURLs"]),
        is_learner: v["isLearner"].as_bool().unwrap_or(false),
    }
}

/// Parses the `members` list of a gateway answer.
pub fn parse_members(v: &Value) -> Vec<Member> {
    v["members"]
        .as_array()
        .map(|a| a.iter().map(parse_member).collect())
        .unwrap_or_default()
}

/// kubeadm's `GetPeerURL`/`GetClientURL` host part: an IPv6 address in brackets.
pub fn url_host(ip: &str) -> String {
    if ip.contains(':') && !ip.starts_with('[') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

/// An HTTP client trusting only the certificates in `ca_pem`, presenting the certificate and
/// key in `ident_pem`. Errors name what is wrong with the PEM.
fn mtls_client(
    ca_pem: &[u8],
    ident_pem: &[u8],
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem) {
        let c = c.map_err(|e| format!("etcd/ca.crt is not a PEM certificate: {e}"))?;
        roots
            .add(c)
            .map_err(|e| format!("etcd/ca.crt rejected: {e}"))?;
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(ident_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("etcd/healthcheck-client.crt: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(ident_pem)
        .map_err(|e| format!("etcd/healthcheck-client.key: {e}"))?;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .map_err(|e| format!("etcd client certificate rejected: {e}"))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build()
        .map_err(|e| format!("cannot build the etcd client: {e}"))
}

impl EtcdClient {
    /// A client for `endpoints` with `<pki>/etcd/ca.crt` as the trust root and
    /// `<pki>/etcd/healthcheck-client.{crt,key}` as the client identity (as kubeadm's
    /// `NewFromCluster`), read through `host`. Each request times out after `timeout`.
    /// Errors: unreadable files or a bad certificate/key.
    pub fn from_pki(
        host: &dyn Host,
        pki: &Path,
        endpoints: Vec<String>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let ca = read(host, pki, "etcd/ca.crt")?;
        let mut ident = read(host, pki, "etcd/healthcheck-client.crt")?;
        ident.extend_from_slice(&read(host, pki, "etcd/healthcheck-client.key")?);
        let http = mtls_client(&ca, &ident, timeout)?;
        Ok(EtcdClient { endpoints, http })
    }

    async fn call(&self, call: &str, path: &str, body: Value) -> Result<Value, EtcdError> {
        let mut last = String::from("no etcd endpoint known");
        for ep in &self.endpoints {
            let url = format!("{}{path}", ep.trim_end_matches('/'));
            match self.http.post(&url).json(&body).send().await {
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if status.is_success() && v.get("error").is_none() {
                        return Ok(v);
                    }
                    let msg = v["message"]
                        .as_str()
                        .or_else(|| v["error"].as_str())
                        .map(String::from)
                        .unwrap_or_else(|| format!("HTTP {status}: {}", text.trim()));
                    return Err(EtcdError {
                        call: call.into(),
                        message: format!("{msg} (at {ep})"),
                        answered: true,
                    });
                }
                Err(e) => {
                    let mut m = e.to_string();
                    let mut src = std::error::Error::source(&e);
                    while let Some(s) = src {
                        m.push_str(": ");
                        m.push_str(&s.to_string());
                        src = s.source();
                    }
                    last = format!("{ep}: {m}");
                }
            }
        }
        Err(EtcdError {
            call: call.into(),
            message: last,
            answered: false,
        })
    }

    /// `MemberList`. Errors: no endpoint answered, or etcd refused.
    pub async fn member_list(&self) -> Result<Vec<Member>, EtcdError> {
        let v = self
            .call("member list", "/v3/cluster/member/list", json!({}))
            .await?;
        Ok(parse_members(&v))
    }

    /// `MemberAddAsLearner(peer_url)`; returns the new member and the updated list.
    pub async fn member_add_learner(
        &self,
        peer_url: &str,
    ) -> Result<(Member, Vec<Member>), EtcdError> {
        let v = self
            .call(
                "member add",
                "/v3/cluster/member/add",
                json!({"peerURLs": [peer_url], "isLearner": true}),
            )
            .await?;
        Ok((parse_member(&v["member"]), parse_members(&v)))
    }

    /// `MemberPromote(id)`; returns the updated list. etcd refuses until the learner is in
    /// sync with the leader.
    pub async fn member_promote(&self, id: u64) -> Result<Vec<Member>, EtcdError> {
        let v = self
            .call(
                "member promote",
                "/v3/cluster/member/promote",
                json!({"ID": id.to_string()}),
            )
            .await?;
        Ok(parse_members(&v))
    }

    /// `MemberRemove(id)`; returns the updated list.
    pub async fn member_remove(&self, id: u64) -> Result<Vec<Member>, EtcdError> {
        let v = self
            .call(
                "member remove",
                "/v3/cluster/member/remove",
                json!({"ID": id.to_string()}),
            )
            .await?;
        Ok(parse_members(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gateway_members() {
        let v: Value = serde_json::from_str(
            r#"{"header":{},"members":[{"ID":"12345678901234567890","name":"cp1","peerURLs":["https://10.0.0.1:2380"],"clientURLs":["https://10.0.0.1:2379"]},{"ID":"42","peerURLs":["https://10.0.0.2:2380"],"isLearner":true}]}"#,
        )
        .unwrap();
        let m = parse_members(&v);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].id, 12345678901234567890);
        assert!(m[0].started() && !m[0].is_learner);
        assert_eq!(m[1].peer_url(), "https://10.0.0.2:2380");
        assert!(!m[1].started() && m[1].is_learner);
        assert_eq!(url_host("fd00::1"), "[fd00::1]");
        assert_eq!(url_host("10.0.0.1"), "10.0.0.1");
    }
}
