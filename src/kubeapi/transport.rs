//! Transport failures of API calls, worded the way kubeadm (Go's net/http) words them: the
//! server's URL and the root cause of the error chain (`dial tcp 192.0.2.2:6443: connect:
//! connection refused`, an i/o timeout, a DNS lookup, a certificate error) instead of the
//! outer layers' `client error (Connect)`.

use std::error::Error as StdError;

/// What a failed API call's transport error says: the server tried and the root cause.
/// Every client from [`super::client_from_kubeconfig_str`] wraps its transport errors in it,
/// so `kube::Error::Service` shows it wherever the error is printed.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach the API server at {server}: {cause}")]
pub struct TransportError {
    /// The server URL of the client (the kubeconfig's `server`).
    pub server: String,
    /// The root cause, kubeadm-style (`dial tcp HOST:PORT: connect: connection refused`).
    pub cause: String,
}

impl TransportError {
    /// Describes `err` (any error of the client's HTTP stack) for a call to `server`.
    pub fn new(server: &str, err: &(dyn StdError + 'static)) -> Self {
        TransportError {
            server: server.trim_end_matches('/').to_string(),
            cause: root_cause(server, err),
        }
    }
}

/// `host:port` of a server URL (port 443 when the URL names none).
fn host_port(server: &str) -> String {
    let rest = server.split_once("://").map_or(server, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let has_port = if authority.starts_with('[') {
        authority.contains("]:")
    } else {
        authority.contains(':')
    };
    if has_port {
        authority.to_string()
    } else {
        format!("{authority}:443")
    }
}

/// The host part of a `host:port`.
fn host_of(host_port: &str) -> &str {
    host_port
        .rsplit_once(':')
        .map_or(host_port, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
}

/// The root cause of an error chain in kubeadm's words.
pub fn root_cause(server: &str, err: &(dyn StdError + 'static)) -> String {
    let addr = host_port(server);
    let mut messages = Vec::new();
    let mut io_kind = None;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    // An error chain is finite; the bound guards against a cycle in a foreign source().
    for _ in 0..32 {
        let Some(e) = cur else { break };
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        messages.push(e.to_string());
        cur = e.source();
    }
    let deepest = messages.last().cloned().unwrap_or_default();
    let all = messages.join(": ").to_lowercase();
    use std::io::ErrorKind;
    match io_kind {
        Some(ErrorKind::ConnectionRefused) => {
            return format!("dial tcp {addr}: connect: connection refused");
        }
        Some(ErrorKind::ConnectionReset) => {
            return format!("read tcp {addr}: connection reset by peer");
        }
        Some(ErrorKind::TimedOut) => return format!("dial tcp {addr}: i/o timeout"),
        Some(ErrorKind::HostUnreachable) => {
            return format!("dial tcp {addr}: connect: no route to host");
        }
        Some(ErrorKind::NetworkUnreachable) => {
            return format!("dial tcp {addr}: connect: network is unreachable");
        }
        _ => {}
    }
    if all.contains("dns error") || all.contains("failed to lookup address") {
        return format!("dial tcp: lookup {}: {deepest}", host_of(&addr));
    }
    if all.contains("timed out") || all.contains("deadline") {
        return format!("{addr}: i/o timeout ({deepest})");
    }
    if all.contains("certificate") || all.contains("tls") || all.contains("handshake") {
        return format!("tls: {deepest}");
    }
    format!("{addr}: {deepest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_causes() {
        assert_eq!(host_port("https://192.0.2.2:6443"), "192.0.2.2:6443");
        assert_eq!(host_port("https://k8s.example.com/"), "k8s.example.com:443");
        assert_eq!(
            host_port("https://[2001:db8::1]:6443"),
            "[2001:db8::1]:6443"
        );
        assert_eq!(host_of("[2001:db8::1]:6443"), "2001:db8::1");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = TransportError::new("https://192.0.2.2:6443/", &refused);
        assert_eq!(
            e.to_string(),
            "cannot reach the API server at https://192.0.2.2:6443: dial tcp 192.0.2.2:6443: connect: connection refused"
        );
    }
}

#[cfg(test)]
mod live_tests {
    /// A client of a closed loopback port fails naming the address and "connection refused".
    #[tokio::test]
    async fn closed_port_names_address_and_connection_refused() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: test\n"
        );
        let client = super::super::client_from_kubeconfig_str(&kubeconfig, "test")
            .await
            .unwrap();
        let err = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            client.apiserver_version(),
        )
        .await
        .expect("a closed port answers at once")
        .unwrap_err();
        assert!(!super::super::error_text(&err).starts_with("ServiceError"));
        let text = err.to_string();
        assert!(
            text.contains(&format!("https://127.0.0.1:{port}"))
                && text.contains(&format!(
                    "dial tcp 127.0.0.1:{port}: connect: connection refused"
                )),
            "{text}"
        );
    }
}
