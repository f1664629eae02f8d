//! The strict test apiserver: HTTPS (rustls) with client-certificate authentication against the
//! cluster CA, bootstrap-token bearer authentication against the Secrets it holds, anonymous
//! access only to /healthz /livez /readyz /version and what RBAC objects grant (cluster-info),
//! an RBAC evaluator over the Roles/ClusterRoles/bindings it stores, and in-memory REST
//! semantics for the kinds kubeadm writes. Objects must deserialise into their k8s-openapi type
//! without unknown fields and carry valid names. Knobs: unhealthy until an instant, failing
//! /readyz checks, dropping connections. It signs cluster-info as the bootstrap signer does.
//!
//! Test code only. It runs on its own thread and runtime and stops when dropped.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::pki::TestPki;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

impl Identity {
    fn anonymous() -> Self {
        Identity {
            user: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
        }
    }
    fn authenticated(&self) -> bool {
        self.user != "system:anonymous"
    }
}

/// One served request, for assertions.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub user: String,
    pub status: u16,
}

/// A kind the server knows.
struct Kind {
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    kind: &'static str,
    singular: &'static str,
    namespaced: bool,
    /// Deserialise-check the object into its k8s-openapi type; returns the round-tripped JSON.
    check: fn(&Value) -> Result<Value, String>,
    name_rule: NameRule,
}

#[derive(Clone, Copy)]
enum NameRule {
    Subdomain,
    Label1035,
    PathSegment,
}

fn roundtrip<K: serde::de::DeserializeOwned + serde::Serialize>(
    v: &Value,
) -> Result<Value, String> {
    let k: K = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&k).map_err(|e| e.to_string())
}

macro_rules! kind {
    ($g:expr, $v:expr, $r:expr, $k:expr, $s:expr, $ns:expr, $t:ty, $rule:expr) => {
        Kind {
            group: $g,
            version: $v,
            resource: $r,
            kind: $k,
            singular: $s,
            namespaced: $ns,
            check: roundtrip::<$t>,
            name_rule: $rule,
        }
    };
}

fn kinds() -> Vec<Kind> {
    use NameRule::*;
    use k8s_openapi::api::apps::v1 as apps;
    use k8s_openapi::api::core::v1 as core;
    use k8s_openapi::api::rbac::v1 as rbac;
    vec![
        kind!(
            "",
            "v1",
            "configmaps",
            "ConfigMap",
            "configmap",
            true,
            core::ConfigMap,
            Subdomain
        ),
        kind!(
            "",
            "v1",
            "secrets",
            "Secret",
            "secret",
            true,
            core::Secret,
            Subdomain
        ),
        kind!(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            "serviceaccount",
            true,
            core::ServiceAccount,
            Subdomain
        ),
        kind!(
            "",
            "v1",
            "services",
            "Service",
            "service",
            true,
            core::Service,
            Label1035
        ),
        kind!(
            "",
            "v1",
            "nodes",
            "Node",
            "node",
            false,
            core::Node,
            Subdomain
        ),
        kind!(
            "",
            "v1",
            "namespaces",
            "Namespace",
            "namespace",
            false,
            core::Namespace,
            Subdomain
        ),
        kind!(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            "deployment",
            true,
            apps::Deployment,
            Subdomain
        ),
        kind!(
            "apps",
            "v1",
            "daemonsets",
            "DaemonSet",
            "daemonset",
            true,
            apps::DaemonSet,
            Subdomain
        ),
        kind!(
            "rbac.authorization.k8s.io",
            "v1",
            "roles",
            "Role",
            "role",
            true,
            rbac::Role,
            PathSegment
        ),
        kind!(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "RoleBinding",
            "rolebinding",
            true,
            rbac::RoleBinding,
            PathSegment
        ),
        kind!(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "ClusterRole",
            "clusterrole",
            false,
            rbac::ClusterRole,
            PathSegment
        ),
        kind!(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            "clusterrolebinding",
            false,
            rbac::ClusterRoleBinding,
            PathSegment
        ),
    ]
}

/// Checks a name against Kubernetes' rules. Errors describe the rule like the apiserver does.
fn check_name(rule: NameRule, name: &str) -> Result<(), String> {
    let label_ok = |l: &str, first_alpha: bool| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && l.as_bytes()[0] != b'-'
            && l.as_bytes()[l.len() - 1] != b'-'
            && (!first_alpha || l.as_bytes()[0].is_ascii_lowercase())
    };
    let ok = match rule {
        NameRule::Subdomain => name.len() <= 253 && name.split('.').all(|l| label_ok(l, false)),
        NameRule::Label1035 => label_ok(name, true),
        NameRule::PathSegment => {
            !name.is_empty()
                && name != "."
                && name != ".."
                && !name.contains('/')
                && !name.contains('%')
        }
    };
    if ok {
        Ok(())
    } else {
        Err(match rule {
            NameRule::Subdomain => format!(
                "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
            ),
            NameRule::Label1035 => format!(
                "metadata.name: Invalid value: {name:?}: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character"
            ),
            NameRule::PathSegment => format!(
                "metadata.name: Invalid value: {name:?}: may not be '.' or '..' and may not contain '/' or '%'"
            ),
        })
    }
}

/// The first path (`a.b[2].c`) present in `input` but missing from `roundtrip` (an unknown or
/// misspelt field), ignoring nulls.
fn unknown_field(input: &Value, rt: &Value, path: &str) -> Option<String> {
    match (input, rt) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if v.is_null() {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    None => return Some(p),
                    Some(bv) => {
                        if let Some(x) = unknown_field(v, bv, &p) {
                            return Some(x);
                        }
                    }
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b.iter())
            .enumerate()
            .find_map(|(i, (x, y))| unknown_field(x, y, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Health and failure knobs.
#[derive(Debug)]
pub struct Knobs {
    /// Health endpoints answer 500 until this instant.
    pub healthy_at: Mutex<Instant>,
    /// `/readyz` checks that fail (e.g. `etcd`), even when healthy.
    pub failing_readyz: Mutex<Vec<String>>,
    /// This many next connections are closed right after accept.
    pub drop_connections: AtomicU32,
}

/// Server state (shared with the test).
pub struct Shared {
    /// (resource, namespace, name) → object JSON.
    pub store: Mutex<BTreeMap<(String, String, String), Value>>,
    pub knobs: Knobs,
    pub log: Mutex<Vec<Logged>>,
    rv: AtomicU64,
    kinds: Vec<Kind>,
    pub health_requests: AtomicU64,
}

/// A running test apiserver; stops (and joins its thread) on drop.
pub struct TestApiServer {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const READYZ_CHECKS: &[&str] = &[
    "ping",
    "log",
    "etcd",
    "etcd-readiness",
    "informer-sync",
    "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/bootstrap-controller",
    "shutdown",
];

impl TestApiServer {
    /// Stands in for the Node authorizer (which lets a kubelet read its own Node): group
    /// system:nodes may get nodes.
    pub fn allow_nodes_to_get_nodes(&self) {
        self.insert(
            "clusterroles",
            "",
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "test:node-authorizer"},
                   "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]}),
        )
        .unwrap();
        self.insert(
            "clusterrolebindings",
            "",
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "test:node-authorizer"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "test:node-authorizer"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:nodes"}]}),
        )
        .unwrap();
    }

    /// Starts on `127.0.0.1:<free port>` with the apiserver pair of `pki`, trusting its CA for
    /// client certificates. Healthy at once.
    pub fn start(pki: &TestPki) -> Self {
        Self::start_with(
            &pki.ca.pair.cert_der,
            &pki.apiserver.cert_der,
            &pki.apiserver.key_pem,
            0,
        )
    }

    /// Starts on `127.0.0.1:<port>` (0 = any free port) serving `cert_der` with `key_pem`
    /// and verifying client certificates against the CA `ca_der` (e.g. the files the certs
    /// phase wrote).
    pub fn start_with(ca_der: &[u8], cert_der: &[u8], key_pem: &str, port: u16) -> Self {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(ca_der.to_vec()))
            .expect("CA");
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .allow_unauthenticated()
            .build()
            .expect("verifier");
        let chain = vec![rustls::pki_types::CertificateDer::from(cert_der.to_vec())];
        let key = <rustls::pki_types::PrivateKeyDer as rustls::pki_types::pem::PemObject>::from_pem_slice(key_pem.as_bytes())
            .expect("key");
        let mut cfg = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("server config");
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));

        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            store: Mutex::new(BTreeMap::new()),
            knobs: Knobs {
                healthy_at: Mutex::new(Instant::now()),
                failing_readyz: Mutex::new(Vec::new()),
                drop_connections: AtomicU32::new(0),
            },
            log: Mutex::new(Vec::new()),
            rv: AtomicU64::new(1000),
            kinds: kinds(),
            health_requests: AtomicU64::new(0),
        });
        // Namespaces that exist in every cluster.
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            shared
                .insert(
                    "namespaces",
                    "",
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                )
                .expect("namespace");
        }
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let sh = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let mut stop_rx = stop_rx;
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        acc = listener.accept() => {
                            let Ok((tcp, _)) = acc else { continue };
                            if sh.knobs.drop_connections.load(Ordering::SeqCst) > 0 {
                                sh.knobs.drop_connections.fetch_sub(1, Ordering::SeqCst);
                                drop(tcp);
                                continue;
                            }
                            let acceptor = acceptor.clone();
                            let sh = sh.clone();
                            tokio::spawn(async move {
                                let Ok(tls) = acceptor.accept(tcp).await else { return };
                                let ident = tls
                                    .get_ref()
                                    .1
                                    .peer_certificates()
                                    .and_then(|c| c.first())
                                    .and_then(|c| identity_from_cert(c.as_ref()));
                                let svc = hyper::service::service_fn(move |req| {
                                    let sh = sh.clone();
                                    let ident = ident.clone();
                                    async move { Ok::<_, Infallible>(sh.handle(ident, req).await) }
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
            rt.shutdown_timeout(Duration::from_millis(200));
        });
        TestApiServer {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Health endpoints fail until `at`.
    pub fn set_healthy_at(&self, at: Instant) {
        *self.shared.knobs.healthy_at.lock().unwrap() = at;
    }

    /// These `/readyz` checks fail.
    pub fn fail_readyz(&self, checks: &[&str]) {
        *self.shared.knobs.failing_readyz.lock().unwrap() =
            checks.iter().map(|s| s.to_string()).collect();
    }

    /// Closes the next `n` connections right after accept.
    pub fn drop_next_connections(&self, n: u32) {
        self.shared
            .knobs
            .drop_connections
            .store(n, Ordering::SeqCst);
    }

    /// A stored object.
    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        self.shared
            .store
            .lock()
            .unwrap()
            .get(&(resource.to_string(), ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Every stored object as ((resource, ns, name), object).
    pub fn all(&self) -> BTreeMap<(String, String, String), Value> {
        self.shared.store.lock().unwrap().clone()
    }

    /// Creates an object directly (as another component would, e.g. the kubelet's Node).
    pub fn insert(&self, resource: &str, ns: &str, obj: Value) -> Result<Value, String> {
        self.shared.insert(resource, ns, obj)
    }
}

/// CN → user, O → groups of a client certificate.
fn identity_from_cert(der: &[u8]) -> Option<Identity> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subj = cert.subject();
    let user = subj.iter_common_name().next()?.as_str().ok()?.to_string();
    let mut groups: Vec<String> = subj
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    groups.push("system:authenticated".into());
    Some(Identity { user, groups })
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

/// A parsed resource path.
#[derive(Debug)]
struct ResPath {
    group: String,
    version: String,
    ns: Option<String>,
    resource: String,
    name: Option<String>,
}

fn parse_res_path(path: &str) -> Option<ResPath> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return None,
    };
    let (ns, rest) = match rest {
        ["namespaces", ns, r, rest2 @ ..] => (Some(ns.to_string()), {
            let mut v = vec![*r];
            v.extend_from_slice(rest2);
            v
        }),
        other => (None, other.to_vec()),
    };
    match rest.as_slice() {
        [r] => Some(ResPath {
            group,
            version,
            ns,
            resource: r.to_string(),
            name: None,
        }),
        [r, n] => Some(ResPath {
            group,
            version,
            ns,
            resource: r.to_string(),
            name: Some(n.to_string()),
        }),
        _ => None,
    }
}

/// JSON merge patch (RFC 7386).
fn merge_patch(target: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !target.is_object() {
            *target = json!({});
        }
        let t = target.as_object_mut().unwrap();
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    } else {
        *target = patch.clone();
    }
}

/// Equality-based label selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-joined).
fn selector_matches(sel: &str, labels: &serde_json::Map<String, Value>) -> bool {
    sel.split(',').filter(|s| !s.is_empty()).all(|term| {
        let get = |k: &str| labels.get(k.trim()).and_then(|v| v.as_str());
        if let Some((k, v)) = term.split_once("!=") {
            get(k) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            get(k) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            get(k).is_none()
        } else {
            get(term).is_some()
        }
    })
}

fn query_param(q: &str, key: &str) -> Option<String> {
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Shared {
    fn kind(&self, group: &str, version: &str, resource: &str) -> Option<&Kind> {
        self.kinds
            .iter()
            .find(|k| k.group == group && k.version == version && k.resource == resource)
    }

    fn next_rv(&self) -> String {
        (self.rv.fetch_add(1, Ordering::SeqCst) + 1).to_string()
    }

    /// Validates an object of `kind`: apiVersion/kind, name rule, deserialisation into the
    /// k8s-openapi type, no unknown fields. Returns an HTTP error otherwise.
    fn validate(&self, kind: &Kind, obj: &Value) -> Result<(), (u16, Value)> {
        let api_version = if kind.group.is_empty() {
            kind.version.to_string()
        } else {
            format!("{}/{}", kind.group, kind.version)
        };
        if obj.get("apiVersion").and_then(|v| v.as_str()) != Some(api_version.as_str())
            || obj.get("kind").and_then(|v| v.as_str()) != Some(kind.kind)
        {
            return Err(status(
                400,
                "BadRequest",
                &format!("expected apiVersion {api_version} kind {}", kind.kind),
            ));
        }
        let name = obj
            .pointer("/metadata/name")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        check_name(kind.name_rule, name).map_err(|m| status(422, "Invalid", &m))?;
        let rt = (kind.check)(obj).map_err(|e| {
            status(
                400,
                "BadRequest",
                &format!("cannot decode {}: {e}", kind.kind),
            )
        })?;
        if let Some(f) = unknown_field(obj, &rt, "") {
            return Err(status(
                400,
                "BadRequest",
                &format!("strict decoding error: unknown field \"{f}\""),
            ));
        }
        Ok(())
    }

    /// Stores a new object (test helper; no authorisation).
    pub fn insert(&self, resource: &str, ns: &str, obj: Value) -> Result<Value, String> {
        let kind = self
            .kinds
            .iter()
            .find(|k| k.resource == resource)
            .ok_or_else(|| format!("unknown resource {resource}"))?;
        let (code, v) = self.create(kind, ns, obj);
        if code == 201 {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    }

    fn create(&self, kind: &Kind, ns: &str, mut obj: Value) -> (u16, Value) {
        if kind.namespaced {
            match obj.pointer("/metadata/namespace").and_then(|v| v.as_str()) {
                Some(n) if n != ns => {
                    return status(
                        400,
                        "BadRequest",
                        "the namespace of the object does not match the namespace of the request",
                    );
                }
                _ => obj["metadata"]["namespace"] = json!(ns),
            }
        }
        if let Err(e) = self.validate(kind, &obj) {
            return e;
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let key = (kind.resource.to_string(), ns.to_string(), name.clone());
        let mut store = self.store.lock().unwrap();
        if kind.namespaced
            && !store.contains_key(&("namespaces".into(), String::new(), ns.to_string()))
        {
            return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
        }
        if store.contains_key(&key) {
            return status(
                409,
                "AlreadyExists",
                &format!("{} \"{name}\" already exists", kind.resource),
            );
        }
        let m = obj["metadata"].as_object_mut().unwrap();
        m.insert("resourceVersion".into(), json!(self.next_rv()));
        m.insert(
            "uid".into(),
            json!(format!("{:032x}", rand::random::<u128>())),
        );
        m.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
        store.insert(key, obj.clone());
        self.sign_cluster_info(&mut store);
        (201, obj)
    }

    /// Replaces `key` with `obj`, keeping uid/creationTimestamp; the resourceVersion only moves
    /// when the content changed (as etcd-backed storage does for no-op updates).
    fn store_update(
        &self,
        store: &mut BTreeMap<(String, String, String), Value>,
        key: (String, String, String),
        mut obj: Value,
    ) -> Value {
        let old = store.get(&key).cloned().unwrap_or(Value::Null);
        for f in ["uid", "creationTimestamp", "resourceVersion"] {
            if let Some(v) = old.pointer(&format!("/metadata/{f}")) {
                obj["metadata"][f] = v.clone();
            }
        }
        store.insert(key.clone(), obj);
        self.sign_cluster_info(store);
        let mut new = store.get(&key).cloned().unwrap_or(Value::Null);
        if new != old {
            new["metadata"]["resourceVersion"] = json!(self.next_rv());
            store.insert(key, new.clone());
        }
        new
    }

    /// The bootstrap signer: `jws-kubeconfig-<id>` in kube-public/cluster-info for every
    /// unexpired token Secret with `usage-bootstrap-signing: "true"`, stale keys removed.
    fn sign_cluster_info(&self, store: &mut BTreeMap<(String, String, String), Value>) {
        let key = (
            "configmaps".to_string(),
            "kube-public".to_string(),
            "cluster-info".to_string(),
        );
        let Some(mut ci) = store.get(&key).cloned() else {
            return;
        };
        let Some(kubeconfig) = ci
            .pointer("/data/kubeconfig")
            .and_then(|v| v.as_str())
            .map(str::to_string)
        else {
            return;
        };
        let mut sigs = BTreeMap::new();
        for ((res, ns, _), s) in store.iter() {
            if res != "secrets"
                || ns != "kube-system"
                || s["type"] != "bootstrap.kubernetes.io/token"
            {
                continue;
            }
            let d = |k: &str| {
                s.pointer(&format!("/data/{k}"))
                    .and_then(|v| v.as_str())
                    .and_then(|b| STANDARD.decode(b).ok())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            };
            if d("usage-bootstrap-signing").as_deref() != Some("true") {
                continue;
            }
            if let Some(exp) = d("expiration") {
                let Ok(t) = time::OffsetDateTime::parse(
                    &exp,
                    &time::format_description::well_known::Rfc3339,
                ) else {
                    continue;
                };
                if t < time::OffsetDateTime::now_utc() {
                    continue;
                }
            }
            let (Some(id), Some(secret)) = (d("token-id"), d("token-secret")) else {
                continue;
            };
            sigs.insert(
                format!("jws-kubeconfig-{id}"),
                kubestrap::jws::compute_detached_signature(&kubeconfig, &id, &secret),
            );
        }
        let data = ci["data"].as_object_mut().unwrap();
        data.retain(|k, _| !k.starts_with("jws-kubeconfig-"));
        for (k, v) in sigs {
            data.insert(k, json!(v));
        }
        store.insert(key, ci);
    }

    /// RBAC: may `who` do `verb` on `resource` (group) `name` in `ns`?
    fn authorized(
        &self,
        who: &Identity,
        verb: &str,
        group: &str,
        resource: &str,
        ns: Option<&str>,
        name: Option<&str>,
    ) -> bool {
        if who.groups.iter().any(|g| g == "system:masters") {
            return true;
        }
        let store = self.store.lock().unwrap();
        let subject_matches = |b: &Value| {
            b["subjects"].as_array().is_some_and(|subs| {
                subs.iter().any(|s| match s["kind"].as_str() {
                    Some("User") => s["name"] == who.user.as_str(),
                    Some("Group") => who.groups.iter().any(|g| s["name"] == g.as_str()),
                    _ => false,
                })
            })
        };
        let rules_allow = |role: Option<&Value>, role_name: &str| -> bool {
            if role_name == "cluster-admin" {
                return true;
            }
            let Some(role) = role else { return false };
            role["rules"].as_array().is_some_and(|rules| {
                rules.iter().any(|r| {
                    let has = |field: &str, v: &str| {
                        r[field]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|x| x == v || x == "*"))
                    };
                    let names_ok = match r["resourceNames"].as_array() {
                        Some(n) if !n.is_empty() => {
                            name.is_some_and(|nm| n.iter().any(|x| x == nm))
                        }
                        _ => true,
                    };
                    has("verbs", verb)
                        && has("apiGroups", group)
                        && has("resources", resource)
                        && names_ok
                })
            })
        };
        for ((res, _, _), b) in store.iter() {
            if res == "clusterrolebindings" && subject_matches(b) {
                let rn = b["roleRef"]["name"].as_str().unwrap_or("");
                let role = store.get(&("clusterroles".into(), String::new(), rn.to_string()));
                if rules_allow(role, rn) {
                    return true;
                }
            }
        }
        if let Some(ns) = ns {
            for ((res, bns, _), b) in store.iter() {
                if res == "rolebindings" && bns == ns && subject_matches(b) {
                    let rn = b["roleRef"]["name"].as_str().unwrap_or("");
                    let role = if b["roleRef"]["kind"] == "ClusterRole" {
                        store.get(&("clusterroles".into(), String::new(), rn.to_string()))
                    } else {
                        store.get(&("roles".into(), ns.to_string(), rn.to_string()))
                    };
                    if rules_allow(role, rn) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Bearer bootstrap token → identity `system:bootstrap:<id>`; `Err` = 401.
    fn token_identity(&self, token: &str) -> Result<Identity, ()> {
        let t = kubestrap::config::token::BootstrapTokenString::parse(token).map_err(|_| ())?;
        let store = self.store.lock().unwrap();
        let s = store
            .get(&("secrets".into(), "kube-system".into(), t.secret_name()))
            .ok_or(())?;
        if s["type"] != "bootstrap.kubernetes.io/token" {
            return Err(());
        }
        let d = |k: &str| {
            s.pointer(&format!("/data/{k}"))
                .and_then(|v| v.as_str())
                .and_then(|b| STANDARD.decode(b).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let secret = d("token-secret").ok_or(())?;
        // constant-time compare
        let a = secret.as_bytes();
        let b = t.secret.as_bytes();
        if a.len() != b.len() || a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) != 0 {
            return Err(());
        }
        if d("usage-bootstrap-authentication").as_deref() != Some("true") {
            return Err(());
        }
        if let Some(exp) = d("expiration") {
            let t =
                time::OffsetDateTime::parse(&exp, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| ())?;
            if t < time::OffsetDateTime::now_utc() {
                return Err(());
            }
        }
        let mut groups = vec!["system:bootstrappers".to_string()];
        if let Some(extra) = d("auth-extra-groups") {
            groups.extend(
                extra
                    .split(',')
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty()),
            );
        }
        groups.push("system:authenticated".into());
        Ok(Identity {
            user: format!("system:bootstrap:{}", t.id),
            groups,
        })
    }

    fn health(&self, path: &str, query: &str) -> (u16, String) {
        self.health_requests.fetch_add(1, Ordering::Relaxed);
        let healthy = Instant::now() >= *self.knobs.healthy_at.lock().unwrap();
        let failing = self.knobs.failing_readyz.lock().unwrap().clone();
        let checks: &[&str] = if path == "/readyz" {
            READYZ_CHECKS
        } else {
            &READYZ_CHECKS[..3]
        };
        let mut ok = true;
        let mut body = String::new();
        for c in checks {
            let fail =
                (!healthy && *c == "etcd") || (path == "/readyz" && failing.iter().any(|f| f == c));
            ok &= !fail;
            if fail {
                body.push_str(&format!("[-]{c} failed: reason withheld\n"));
            } else {
                body.push_str(&format!("[+]{c} ok\n"));
            }
        }
        let what = path.trim_start_matches('/');
        let verbose = query
            .split('&')
            .any(|q| q == "verbose" || q.starts_with("verbose="));
        if ok {
            if verbose {
                body.push_str(&format!("{what} check passed\n"));
                (200, body)
            } else {
                (200, "ok".into())
            }
        } else {
            body.push_str(&format!("{what} check failed\n"));
            (500, body)
        }
    }

    fn discovery(&self, path: &str) -> Option<Value> {
        let groups: Vec<(&str, &str)> = vec![("apps", "v1"), ("rbac.authorization.k8s.io", "v1")];
        let list = |group: &str, version: &str| {
            let gv = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            let resources: Vec<Value> = self
                .kinds
                .iter()
                .filter(|k| k.group == group && k.version == version)
                .map(|k| json!({"name": k.resource, "singularName": k.singular, "namespaced": k.namespaced,
                                "kind": k.kind, "verbs": ["create","delete","get","list","patch","update"]}))
                .collect();
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
        };
        match path {
            "/api" => Some(json!({"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})),
            "/api/v1" => Some(list("", "v1")),
            "/apis" => Some(
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups.iter().map(|(g, v)| json!({
                "name": g, "versions": [{"groupVersion": format!("{g}/{v}"), "version": v}],
                "preferredVersion": {"groupVersion": format!("{g}/{v}"), "version": v}})).collect::<Vec<_>>()}),
            ),
            p => {
                let segs: Vec<&str> = p.trim_matches('/').split('/').collect();
                match segs.as_slice() {
                    ["apis", g, v] if groups.contains(&(g, v)) => Some(list(g, v)),
                    _ => None,
                }
            }
        }
    }

    async fn handle(
        self: Arc<Self>,
        cert_ident: Option<Identity>,
        req: Request<Incoming>,
    ) -> Response<Full<Bytes>> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let ctype = req
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bearer = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let ident = match (bearer, cert_ident) {
            (Some(tok), _) => match self.token_identity(&tok) {
                Ok(i) => i,
                Err(()) => {
                    return self.reply(
                        &method,
                        &path,
                        "?",
                        status(401, "Unauthorized", "Unauthorized"),
                    );
                }
            },
            (None, Some(i)) => i,
            (None, None) => Identity::anonymous(),
        };
        if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz") {
            let (code, text) = self.health(&path, &query);
            self.log_req(&method, &path, &ident.user, code);
            return Response::builder()
                .status(code)
                .header("content-type", "text/plain; charset=utf-8")
                .body(Full::new(Bytes::from(text)))
                .unwrap();
        }
        if path == "/version" {
            let v = json!({"major": "1", "minor": "33", "gitVersion": "v1.33.1", "platform": "linux/amd64"});
            return self.reply(&method, &path, &ident.user, (200, v));
        }
        if let Some(doc) = self.discovery(&path) {
            if !ident.authenticated() {
                return self.reply(
                    &method,
                    &path,
                    &ident.user,
                    status(
                        403,
                        "Forbidden",
                        &format!("forbidden: User \"system:anonymous\" cannot get path \"{path}\""),
                    ),
                );
            }
            return self.reply(&method, &path, &ident.user, (200, doc));
        }
        let Some(rp) = parse_res_path(&path) else {
            return self.reply(
                &method,
                &path,
                &ident.user,
                status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            );
        };
        let Some(kind) = self.kind(&rp.group, &rp.version, &rp.resource) else {
            return self.reply(
                &method,
                &path,
                &ident.user,
                status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            );
        };
        if kind.namespaced != rp.ns.is_some()
            && !(rp.ns.is_none() && rp.name.is_none() && method == Method::GET)
        {
            return self.reply(
                &method,
                &path,
                &ident.user,
                status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            );
        }
        let verb = match (&method, rp.name.is_some()) {
            (&Method::GET, true) => "get",
            (&Method::GET, false) => "list",
            (&Method::POST, false) => "create",
            (&Method::PUT, true) => "update",
            (&Method::PATCH, true) => "patch",
            (&Method::DELETE, true) => "delete",
            _ => {
                return self.reply(
                    &method,
                    &path,
                    &ident.user,
                    status(405, "MethodNotAllowed", "method not allowed"),
                );
            }
        };
        if !self.authorized(
            &ident,
            verb,
            &rp.group,
            &rp.resource,
            rp.ns.as_deref(),
            rp.name.as_deref(),
        ) {
            let msg = format!(
                "{} \"{}\" is forbidden: User \"{}\" cannot {verb} resource \"{}\" in API group \"{}\"{}",
                rp.resource,
                rp.name.clone().unwrap_or_default(),
                ident.user,
                rp.resource,
                rp.group,
                rp.ns
                    .as_ref()
                    .map(|n| format!(" in the namespace \"{n}\""))
                    .unwrap_or_default()
            );
            return self.reply(&method, &path, &ident.user, status(403, "Forbidden", &msg));
        }
        let ns = rp.ns.clone().unwrap_or_default();
        let res = match verb {
            "get" => {
                let key = (
                    rp.resource.clone(),
                    ns.clone(),
                    rp.name.clone().unwrap_or_default(),
                );
                match self.store.lock().unwrap().get(&key) {
                    Some(o) => (200, o.clone()),
                    None => status(
                        404,
                        "NotFound",
                        &format!("{} \"{}\" not found", rp.resource, key.2),
                    ),
                }
            }
            "list" => {
                let sel = query_param(&query, "labelSelector").unwrap_or_default();
                let store = self.store.lock().unwrap();
                let items: Vec<Value> = store
                    .iter()
                    .filter(|((r, n, _), o)| {
                        r == &rp.resource
                            && (rp.ns.is_none() || n == &ns)
                            && selector_matches(
                                &sel,
                                o.pointer("/metadata/labels")
                                    .and_then(|l| l.as_object())
                                    .unwrap_or(&serde_json::Map::new()),
                            )
                    })
                    .map(|(_, o)| o.clone())
                    .collect();
                let api_version = if kind.group.is_empty() {
                    kind.version.to_string()
                } else {
                    format!("{}/{}", kind.group, kind.version)
                };
                (
                    200,
                    json!({"kind": format!("{}List", kind.kind), "apiVersion": api_version,
                             "metadata": {"resourceVersion": self.rv.load(Ordering::SeqCst).to_string()}, "items": items}),
                )
            }
            "create" => match serde_json::from_slice::<Value>(&body) {
                Ok(obj) => self.create(kind, &ns, obj),
                Err(e) => status(400, "BadRequest", &format!("invalid JSON: {e}")),
            },
            "update" => match serde_json::from_slice::<Value>(&body) {
                Ok(obj) => self.update(kind, &ns, rp.name.as_deref().unwrap_or(""), obj),
                Err(e) => status(400, "BadRequest", &format!("invalid JSON: {e}")),
            },
            "patch" => self.patch(kind, &ns, rp.name.as_deref().unwrap_or(""), &ctype, &body),
            _ => {
                let key = (
                    rp.resource.clone(),
                    ns.clone(),
                    rp.name.clone().unwrap_or_default(),
                );
                let mut store = self.store.lock().unwrap();
                match store.remove(&key) {
                    Some(_) => {
                        self.sign_cluster_info(&mut store);
                        (
                            200,
                            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 200}),
                        )
                    }
                    None => status(
                        404,
                        "NotFound",
                        &format!("{} \"{}\" not found", rp.resource, key.2),
                    ),
                }
            }
        };
        self.reply(&method, &path, &ident.user, res)
    }

    fn update(&self, kind: &Kind, ns: &str, name: &str, mut obj: Value) -> (u16, Value) {
        if kind.namespaced && obj.pointer("/metadata/namespace").is_none() {
            obj["metadata"]["namespace"] = json!(ns);
        }
        if obj.pointer("/metadata/name").and_then(|v| v.as_str()) != Some(name) {
            return status(
                400,
                "BadRequest",
                "the name of the object does not match the name on the URL",
            );
        }
        if let Err(e) = self.validate(kind, &obj) {
            return e;
        }
        let key = (kind.resource.to_string(), ns.to_string(), name.to_string());
        let mut store = self.store.lock().unwrap();
        let Some(cur) = store.get(&key) else {
            return status(
                404,
                "NotFound",
                &format!("{} \"{name}\" not found", kind.resource),
            );
        };
        let want_rv = obj
            .pointer("/metadata/resourceVersion")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if want_rv.is_empty() {
            return status(
                422,
                "Invalid",
                "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
            );
        }
        if Some(want_rv)
            != cur
                .pointer("/metadata/resourceVersion")
                .and_then(|v| v.as_str())
        {
            return status(
                409,
                "Conflict",
                &format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    kind.resource
                ),
            );
        }
        (200, self.store_update(&mut store, key, obj))
    }

    fn patch(&self, kind: &Kind, ns: &str, name: &str, ctype: &str, body: &[u8]) -> (u16, Value) {
        let patch: Value = if ctype.starts_with("application/apply-patch+yaml") {
            match serde_yaml::from_slice(body) {
                Ok(v) => v,
                Err(e) => return status(400, "BadRequest", &format!("invalid YAML: {e}")),
            }
        } else if ctype.starts_with("application/merge-patch+json")
            || ctype.starts_with("application/strategic-merge-patch+json")
        {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return status(400, "BadRequest", &format!("invalid JSON: {e}")),
            }
        } else {
            return status(
                415,
                "UnsupportedMediaType",
                &format!("the body of the request was in an unknown format: {ctype}"),
            );
        };
        let key = (kind.resource.to_string(), ns.to_string(), name.to_string());
        let cur = self.store.lock().unwrap().get(&key).cloned();
        let Some(mut obj) = cur else {
            if ctype.starts_with("application/apply-patch+yaml") {
                return self.create(kind, ns, patch);
            }
            return status(
                404,
                "NotFound",
                &format!("{} \"{name}\" not found", kind.resource),
            );
        };
        merge_patch(&mut obj, &patch);
        if let Err(e) = self.validate(kind, &obj) {
            return e;
        }
        let mut store = self.store.lock().unwrap();
        (200, self.store_update(&mut store, key, obj))
    }

    fn log_req(&self, method: &Method, path: &str, user: &str, code: u16) {
        self.log.lock().unwrap().push(Logged {
            method: method.to_string(),
            path: path.to_string(),
            user: user.to_string(),
            status: code,
        });
    }

    fn reply(
        &self,
        method: &Method,
        path: &str,
        user: &str,
        (code, v): (u16, Value),
    ) -> Response<Full<Bytes>> {
        self.log_req(method, path, user, code);
        Response::builder()
            .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                serde_json::to_vec(&v).unwrap_or_default(),
            )))
            .unwrap()
    }
}
