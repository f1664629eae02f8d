//! What kubestrap can see of a running control-plane component: the version it was built as,
//! the start time of its process and its health.
//!
//! kubeadm waits for the mirror Pod's `kubernetes.io/config.hash` annotation to change
//! (`apiclient.Waiter.WaitForStaticPodHashChange`), then for the Pod to be running. Without a
//! mirror Pod to read (a kubelet that does not report them, the tests' static pod runner), the
//! same facts are read from the component itself: `process_start_time_seconds` of its
//! `/metrics` changes when the kubelet restarted it (the new process), `kubernetes_build_info`
//! (`etcd_server_version` for etcd) says it runs the new version, and its health endpoint
//! (`/readyz` of kube-apiserver, `/healthz` of kube-controller-manager, `/livez` of
//! kube-scheduler, `/health` of etcd's metrics listener) answers 200. The metrics of the
//! components are read with the admin credentials of the kubeconfig.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::engine::PhaseCtx;
use crate::phases::staticpod::Component;
use crate::phases::wait_control_plane::control_plane_targets;

/// How long one HTTP attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// One look at a component.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// `v1.37.2` (Kubernetes components) or `3.7.0` (etcd); `None` when unread.
    pub version: Option<String>,
    /// `process_start_time_seconds` as written in the metrics; `None` when unread.
    pub started: Option<String>,
    /// Its health endpoint answered 200.
    pub healthy: bool,
    /// The last answer, for messages (`connection refused`, `HTTP 500: ...`).
    pub answer: String,
}

/// The endpoints of this node's control plane and the clients to read them.
#[derive(Debug, Clone)]
pub struct Observer {
    /// (component, base URL of its metrics and health, health path).
    endpoints: Vec<(Component, String, &'static str)>,
    api: reqwest::Client,
    self_signed: reqwest::Client,
    plain: reqwest::Client,
}

fn client(b: reqwest::ClientBuilder) -> Result<reqwest::Client, String> {
    b.no_proxy()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The client certificate and key (PEM) of the current user of a kubeconfig text.
/// Errors say which part is missing.
pub fn kubeconfig_identity(text: &str) -> Result<Vec<u8>, String> {
    let kc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("the kubeconfig is invalid: {e}"))?;
    let find = |list: &str, name: &str, field: &str| -> Option<serde_yaml::Value> {
        kc.get(list)?
            .as_sequence()?
            .iter()
            .find(|e| e.get("name").and_then(|n| n.as_str()) == Some(name))?
            .get(field)
            .cloned()
    };
    let cur = kc
        .get("current-context")
        .and_then(|c| c.as_str())
        .unwrap_or("");
    let user = find("contexts", cur, "context")
        .and_then(|c| c.get("user").and_then(|u| u.as_str()).map(str::to_string))
        .ok_or("the kubeconfig's current context has no user")?;
    let ai = find("users", &user, "user").ok_or("the kubeconfig's user is not defined")?;
    let field = |k: &str| -> Result<Vec<u8>, String> {
        let v = ai
            .get(k)
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("the kubeconfig's user has no {k}"))?;
        B64.decode(v.trim())
            .map_err(|_| format!("{k} of the kubeconfig is not base64"))
    };
    let mut pem = field("client-certificate-data")?;
    pem.push(b'\n');
    pem.extend(field("client-key-data")?);
    Ok(pem)
}

/// The first URL of `--listen-metrics-urls` of this node's etcd manifest
/// (`http://127.0.0.1:2381`).
fn etcd_metrics_base(ctx: &PhaseCtx) -> String {
    let url = super::state::read_manifest(ctx.host.as_ref(), Component::Etcd)
        .and_then(|p| p.spec?.containers.first()?.command.clone())
        .unwrap_or_default()
        .iter()
        .find_map(|a| a.strip_prefix("--listen-metrics-urls=").map(str::to_string))
        .unwrap_or_else(|| "http://127.0.0.1:2381".into());
    url.split(',')
        .next()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_string()
}

impl Observer {
    /// The observer of this node's control plane (endpoints from its manifests, the cluster
    /// CA of `ctx`'s certificates directory) reading metrics with the client certificate of
    /// the kubeconfig text `kubeconfig`. Errors: the CA or the credentials cannot be used.
    pub fn new(ctx: &PhaseCtx, kubeconfig: &str) -> Result<Self, String> {
        let targets = control_plane_targets(ctx).map_err(|e| e.chain())?;
        let base = |name: &str| {
            targets
                .iter()
                .find(|t| t.component == name)
                .and_then(|t| t.url.rsplit_once('/').map(|(b, _)| b.to_string()))
                .unwrap_or_default()
        };
        let ca = ctx
            .host
            .read(&ctx.paths.pki_dir.join("ca.crt"))
            .map_err(|e| format!("cannot read the cluster CA: {e}"))?;
        let identity = reqwest::Identity::from_pem(&kubeconfig_identity(kubeconfig)?)
            .map_err(|e| format!("the kubeconfig's client certificate cannot be used: {e}"))?;
        let certs = reqwest::Certificate::from_pem_bundle(&ca)
            .map_err(|e| format!("the cluster CA is not valid PEM: {e}"))?;
        Ok(Observer {
            endpoints: vec![
                (Component::Etcd, etcd_metrics_base(ctx), "/health"),
                (Component::KubeApiServer, base("kube-apiserver"), "/readyz"),
                (
                    Component::KubeControllerManager,
                    base("kube-controller-manager"),
                    "/healthz",
                ),
                (Component::KubeScheduler, base("kube-scheduler"), "/livez"),
            ],
            api: client(
                reqwest::Client::builder()
                    .tls_certs_only(certs)
                    .identity(identity.clone()),
            )?,
            self_signed: client(
                reqwest::Client::builder()
                    .tls_danger_accept_invalid_certs(true)
                    .identity(identity),
            )?,
            plain: client(reqwest::Client::builder())?,
        })
    }

    fn client_of(&self, c: Component) -> &reqwest::Client {
        match c {
            Component::Etcd => &self.plain,
            Component::KubeApiServer => &self.api,
            _ => &self.self_signed,
        }
    }

    /// The health URL of `c` (for messages).
    pub fn health_url(&self, c: Component) -> String {
        self.endpoints
            .iter()
            .find(|e| e.0 == c)
            .map(|(_, b, p)| format!("{b}{p}"))
            .unwrap_or_default()
    }

    /// One look at `c`: its metrics (version, process start) and its health endpoint.
    pub async fn observe(&self, c: Component) -> Seen {
        let Some((_, base, health)) = self.endpoints.iter().find(|e| e.0 == c) else {
            return Seen::default();
        };
        let http = self.client_of(c);
        let mut seen = Seen::default();
        match get(http, &format!("{base}/metrics")).await {
            Ok((200, body)) => {
                let (v, s) = parse_metrics(&body, c == Component::Etcd);
                seen.version = v;
                seen.started = s;
            }
            Ok((code, body)) => seen.answer = format!("/metrics: HTTP {code}: {}", short(&body)),
            Err(e) => seen.answer = e,
        }
        match get(http, &format!("{base}{health}")).await {
            Ok((200, _)) => seen.healthy = true,
            Ok((code, body)) => seen.answer = format!("{health}: HTTP {code}: {}", short(&body)),
            Err(e) => seen.answer = e,
        }
        seen
    }
}

fn short(body: &str) -> String {
    let t = body.trim();
    match t.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

async fn get(http: &reqwest::Client, url: &str) -> Result<(u16, String), String> {
    match http.get(url).send().await {
        Ok(r) => {
            let code = r.status().as_u16();
            Ok((code, r.text().await.unwrap_or_default()))
        }
        Err(e) => Err(crate::phases::wait_control_plane::describe_error(&e)),
    }
}

/// From a Prometheus text exposition: the version (`git_version` of `kubernetes_build_info`,
/// or `server_version` of `etcd_server_version` with `etcd`) and `process_start_time_seconds`.
pub fn parse_metrics(body: &str, etcd: bool) -> (Option<String>, Option<String>) {
    let (metric, label) = if etcd {
        ("etcd_server_version{", "server_version=\"")
    } else {
        ("kubernetes_build_info{", "git_version=\"")
    };
    let mut version = None;
    let mut started = None;
    for l in body.lines() {
        if let Some(rest) = l.strip_prefix(metric)
            && let Some(i) = rest.find(label)
        {
            version = rest[i + label.len()..]
                .split('"')
                .next()
                .map(str::to_string);
        } else if let Some(v) = l.strip_prefix("process_start_time_seconds ") {
            started = Some(v.trim().to_string());
        }
    }
    (version, started)
}

/// The version a component of `kubernetes_version` (or etcd with image tag `etcd_tag`)
/// reports: `v1.37.2`, or `3.7.0` for `3.7.0-0`.
pub fn expected_version(c: Component, kubernetes_version: &str, etcd_tag: &str) -> String {
    match c {
        Component::Etcd => etcd_tag.split('-').next().unwrap_or(etcd_tag).to_string(),
        _ => kubernetes_version.replace('_', "+"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_give_version_and_start() {
        let body = "# HELP x\nkubernetes_build_info{build_date=\"1970\",git_version=\"v1.37.2\",major=\"1\"} 1\nprocess_start_time_seconds 1.76510342e+09\n";
        assert_eq!(
            parse_metrics(body, false),
            (Some("v1.37.2".into()), Some("1.76510342e+09".into()))
        );
        let e = "etcd_server_version{server_version=\"3.6.8\"} 1\nprocess_start_time_seconds 12\n";
        assert_eq!(
            parse_metrics(e, true),
            (Some("3.6.8".into()), Some("12".into()))
        );
        assert_eq!(
            expected_version(Component::Etcd, "v1.37.2", "3.7.0-0"),
            "3.7.0"
        );
    }
}
