//! Talking to the Kubernetes API with kube-rs: clients from kubeconfig files and
//! create-or-update helpers for typed k8s-openapi objects, with a dry-run mode that reports
//! [`Event::WouldApply`] instead of calling the API.
//!
//! Mirrors kubeadm's `app/util/apiclient/idempotency.go` (`CreateOrUpdate*`) and the
//! dry-run client of `app/util/apiclient/dryrunclient.go`.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::api::{Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::engine::{Event, PhaseCtx, PhaseError};

pub mod transport;
pub use transport::TransportError;

/// Interval between retries of a failed API call (kubeadm's `constants.KubernetesAPICallRetryInterval`).
pub const API_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// Builds a [`kube::Client`] from the kubeconfig file at `path` (a real path, read through
/// `ctx.host`), using its current context. The client trusts only the CA in the kubeconfig's
/// `certificate-authority-data` and authenticates with its client certificate.
/// Errors: unreadable file, invalid kubeconfig, or a client that cannot be built, each naming the file.
/// The client's transport errors are [`TransportError`]s (server URL and root cause).
pub async fn client_from_kubeconfig(ctx: &PhaseCtx, path: &Path) -> Result<Client, PhaseError> {
    let data = ctx.host.read(path).map_err(|e| {
        PhaseError::new(format!("cannot read kubeconfig {}", path.display())).caused_by(e)
    })?;
    let text = String::from_utf8(data).map_err(|e| {
        PhaseError::new(format!("kubeconfig {} is not UTF-8", path.display())).caused_by(e)
    })?;
    client_from_kubeconfig_str(&text, &path.display().to_string()).await
}

/// Like [`client_from_kubeconfig`] for kubeconfig text; `what` names it in errors.
pub async fn client_from_kubeconfig_str(text: &str, what: &str) -> Result<Client, PhaseError> {
    let kc = Kubeconfig::from_yaml(text)
        .map_err(|e| PhaseError::new(format!("kubeconfig {what} is invalid")).caused_by(e))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| PhaseError::new(format!("kubeconfig {what} is unusable")).caused_by(e))?;
    let server = config.cluster_url.to_string();
    let builder = kube::client::ClientBuilder::try_from(config).map_err(|e| {
        PhaseError::new(format!("cannot build an API client from {what}")).caused_by(e)
    })?;
    // Transport errors name the server and their root cause (see [`transport`]).
    let layer = tower::util::MapErrLayer::new(move |e: tower::BoxError| -> tower::BoxError {
        Box::new(TransportError::new(&server, e.as_ref()))
    });
    Ok(builder.with_layer(&layer).build())
}

/// Object metadata with a name, an optional namespace and labels.
pub fn meta(name: &str, namespace: Option<&str>, labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: if labels.is_empty() {
            None
        } else {
            Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            )
        },
        ..Default::default()
    }
}

/// The HTTP status code of a kube API error, if it is one.
pub fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// A kube error for the user: a transport error as [`TransportError`] words it (server URL
/// and root cause, without kube's `ServiceError:` prefix), any other error as kube prints it.
pub fn error_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Service(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

/// True for errors worth retrying: transport failures, timeouts, 429 and 5xx answers.
fn transient(e: &kube::Error) -> bool {
    match api_code(e) {
        Some(code) => code == 429 || code >= 500,
        None => !matches!(
            e,
            kube::Error::SerdeError(_) | kube::Error::BuildRequest(_) | kube::Error::InferConfig(_)
        ),
    }
}

/// Where writes go: a live API server or the dry-run event stream.
#[derive(Clone)]
enum Target {
    Live(Client),
    DryRun,
}

/// Writes typed objects for one phase: create-or-update against the API server, or, in
/// dry-run, one [`Event::WouldApply`] per object with its YAML.
#[derive(Clone)]
pub struct ApiWriter {
    target: Target,
    ctx: PhaseCtx,
    phase: String,
    /// Total time one call may take with retries (`timeouts.kubernetesAPICall`, default 1 m).
    pub call_timeout: Duration,
}

impl Debug for ApiWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiWriter")
            .field("phase", &self.phase)
            .field("dry_run", &matches!(self.target, Target::DryRun))
            .finish()
    }
}

/// `timeouts.kubernetesAPICall` of the configuration, default 1 minute.
pub fn api_call_timeout(ctx: &PhaseCtx) -> Duration {
    ctx.cfg
        .init
        .timeouts
        .as_ref()
        .and_then(|t| t.kubernetes_api_call.as_ref())
        .map(|d| d.as_std())
        .unwrap_or(Duration::from_secs(60))
}

impl ApiWriter {
    /// A writer for `phase`: in dry-run a sink of [`Event::WouldApply`]; otherwise a client
    /// from `/etc/kubernetes/admin.conf`, after making sure the ClusterRoleBinding
    /// `kubeadm:cluster-admins` exists (created with `super-admin.conf` when admin.conf is
    /// still Forbidden), as kubeadm's `EnsureAdminClusterRoleBinding` does.
    pub async fn connect(ctx: &PhaseCtx, phase: &str) -> Result<Self, PhaseError> {
        if ctx.dry_run() {
            return Ok(Self::dry_run(ctx, phase));
        }
        let admin = ctx.paths.kubernetes_dir.join("admin.conf");
        let client = client_from_kubeconfig(ctx, &admin).await?;
        let w = ApiWriter {
            target: Target::Live(client),
            ctx: ctx.clone(),
            phase: phase.to_string(),
            call_timeout: api_call_timeout(ctx),
        };
        w.ensure_admin_rbac().await?;
        Ok(w)
    }

    /// A writer that only reports what it would send.
    pub fn dry_run(ctx: &PhaseCtx, phase: &str) -> Self {
        ApiWriter {
            target: Target::DryRun,
            ctx: ctx.clone(),
            phase: phase.to_string(),
            call_timeout: api_call_timeout(ctx),
        }
    }

    /// A writer on an existing client (tests, join side).
    pub fn with_client(ctx: &PhaseCtx, phase: &str, client: Client) -> Self {
        ApiWriter {
            target: Target::Live(client),
            ctx: ctx.clone(),
            phase: phase.to_string(),
            call_timeout: api_call_timeout(ctx),
        }
    }

    /// True when nothing is sent.
    pub fn is_dry_run(&self) -> bool {
        matches!(self.target, Target::DryRun)
    }

    /// The live client, `None` in dry-run.
    pub fn client(&self) -> Option<&Client> {
        match &self.target {
            Target::Live(c) => Some(c),
            Target::DryRun => None,
        }
    }

    /// Creates ClusterRoleBinding `kubeadm:cluster-admins` (ClusterRole `cluster-admin` →
    /// Group `kubeadm:cluster-admins`). With admin.conf first; on 403 with super-admin.conf;
    /// AlreadyExists means done. Mirrors kubeadm `kubeconfig.EnsureAdminClusterRoleBinding`.
    async fn ensure_admin_rbac(&self) -> Result<(), PhaseError> {
        use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
        let Target::Live(client) = &self.target else {
            return Ok(());
        };
        let crb = ClusterRoleBinding {
            metadata: meta("kubeadm:cluster-admins", None, &[]),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: "cluster-admin".into(),
            },
            subjects: Some(vec![Subject {
                kind: "Group".into(),
                api_group: Some("rbac.authorization.k8s.io".into()),
                name: "kubeadm:cluster-admins".into(),
                ..Default::default()
            }]),
        };
        let api: Api<ClusterRoleBinding> = Api::all(client.clone());
        let pp = PostParams::default();
        match self.retry("create", || api.create(&pp, &crb)).await {
            Ok(_) => return Ok(()),
            Err(e) if api_code(&e) == Some(409) => return Ok(()),
            Err(e) if api_code(&e) == Some(403) => {}
            Err(e) => {
                return Err(PhaseError::new(
                    "cannot create ClusterRoleBinding kubeadm:cluster-admins with admin.conf",
                )
                .caused_by(e));
            }
        }
        self.ctx.events.log(
            &self.phase,
            "admin.conf is not yet authorised; creating ClusterRoleBinding kubeadm:cluster-admins with super-admin.conf",
        );
        let sa = self.ctx.paths.kubernetes_dir.join("super-admin.conf");
        let super_client = client_from_kubeconfig(&self.ctx, &sa).await?;
        let api: Api<ClusterRoleBinding> = Api::all(super_client);
        match self.retry("create", || api.create(&pp, &crb)).await {
            Ok(_) => self.wait_admin_authorised(client).await,
            Err(e) if api_code(&e) == Some(409) => self.wait_admin_authorised(client).await,
            Err(e) => Err(PhaseError::new(
                "cannot create ClusterRoleBinding kubeadm:cluster-admins with super-admin.conf",
            )
            .caused_by(e)
            .hint(
                "check that /etc/kubernetes/super-admin.conf holds a system:masters certificate",
            )),
        }
    }

    /// After the binding was created with super-admin.conf, waits until the API server's
    /// authorizer lets admin.conf read it (the RBAC cache lags the write; a loaded API server
    /// answered the next write with 403). kubeadm gets the same effect by retrying every write
    /// on any error. Gives up after the API call timeout, naming admin.conf.
    async fn wait_admin_authorised(&self, client: &Client) -> Result<(), PhaseError> {
        use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
        let api: Api<ClusterRoleBinding> = Api::all(client.clone());
        let deadline = Instant::now() + self.call_timeout;
        loop {
            let res = tokio::select! {
                biased;
                _ = self.ctx.cancel.cancelled() => {
                    return Err(PhaseError::new("cancelled").caused_by(crate::engine::Cancelled));
                }
                r = api.get("kubeadm:cluster-admins") => r,
            };
            match res {
                Err(e) if api_code(&e) == Some(403) => {
                    if Instant::now() + API_RETRY_INTERVAL >= deadline {
                        return Err(PhaseError::new(
                            "admin.conf is still not authorised after ClusterRoleBinding kubeadm:cluster-admins was created",
                        )
                        .caused_by(e));
                    }
                    tokio::time::sleep(API_RETRY_INTERVAL).await;
                }
                // Authorised, or another error the next call reports with its context.
                _ => return Ok(()),
            }
        }
    }

    /// Runs `f` until it succeeds, fails with a non-transient error, or `call_timeout` passes.
    /// When the run's cancel token fires (during a call or a pause) it returns at once with
    /// `kube::Error::Service` wrapping [`crate::engine::Cancelled`] (so
    /// [`PhaseError::is_cancelled`] sees it through `caused_by`).
    async fn retry<T, F, Fut>(&self, _verb: &str, mut f: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let cancel = &self.ctx.cancel;
        let cancelled = || kube::Error::Service(Box::new(crate::engine::Cancelled));
        let deadline = Instant::now() + self.call_timeout;
        loop {
            let res = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(cancelled()),
                r = f() => r,
            };
            match res {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) && Instant::now() + API_RETRY_INTERVAL < deadline => {
                    tokio::select! {
                        biased;
                        _ = cancel.cancelled() => return Err(cancelled()),
                        _ = tokio::time::sleep(API_RETRY_INTERVAL) => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn would_apply<K: Resource<DynamicType = ()> + Serialize>(
        &self,
        verb: &str,
        obj: &K,
    ) -> Result<(), PhaseError> {
        let yaml = serde_yaml::to_string(obj)
            .map_err(|e| PhaseError::new("cannot render object as YAML").caused_by(e))?;
        self.ctx.events.send(Event::WouldApply {
            verb: verb.to_string(),
            resource: K::plural(&()).to_string(),
            namespace: obj.meta().namespace.clone(),
            name: obj.meta().name.clone().unwrap_or_default(),
            yaml,
        });
        Ok(())
    }

    /// Create-or-update of a namespaced object (namespace from its metadata). `keep` may copy
    /// fields from the existing object into the desired one before the update (e.g. the
    /// CoreDNS replica count). Returns the object as stored (in dry-run: the desired one).
    /// Errors name the kind, namespace, name and the API's answer.
    pub async fn apply_ns<K>(&self, obj: K, keep: impl Fn(&K, &mut K)) -> Result<K, PhaseError>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + Serialize
            + DeserializeOwned
            + Debug,
    {
        let ns = obj
            .meta()
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        match &self.target {
            Target::DryRun => {
                self.would_apply("CREATE", &obj)?;
                Ok(obj)
            }
            Target::Live(c) => {
                let api: Api<K> = Api::namespaced(c.clone(), &ns);
                self.create_or_update(api, obj, keep).await
            }
        }
    }

    /// Create-or-update of a cluster-scoped object; see [`ApiWriter::apply_ns`].
    pub async fn apply_cluster<K>(&self, obj: K) -> Result<K, PhaseError>
    where
        K: Resource<DynamicType = (), Scope = ClusterResourceScope>
            + Clone
            + Serialize
            + DeserializeOwned
            + Debug,
    {
        match &self.target {
            Target::DryRun => {
                self.would_apply("CREATE", &obj)?;
                Ok(obj)
            }
            Target::Live(c) => {
                let api: Api<K> = Api::all(c.clone());
                self.create_or_update(api, obj, |_, _| {}).await
            }
        }
    }

    async fn create_or_update<K>(
        &self,
        api: Api<K>,
        obj: K,
        keep: impl Fn(&K, &mut K),
    ) -> Result<K, PhaseError>
    where
        K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + Debug,
    {
        let name = obj.meta().name.clone().unwrap_or_default();
        let what = describe::<K>(obj.meta().namespace.as_deref(), &name);
        let pp = PostParams::default();
        // Create; on AlreadyExists read the current object and replace it with its
        // resourceVersion; a Conflict (someone changed it meanwhile) starts over. An Invalid
        // answer may mean it exists too (a Service's cluster IP is checked before its name:
        // "provided IP is already allocated"), as kubeadm's `createDNSService` knows: when the
        // object is there it is replaced, else the create error stands.
        let deadline = Instant::now() + self.call_timeout;
        loop {
            let (err, invalid) = match self.retry("create", || api.create(&pp, &obj)).await {
                Ok(o) => return Ok(o),
                Err(e) if api_code(&e) == Some(409) => (e, false),
                Err(e) if api_code(&e) == Some(422) => (e, true),
                Err(e) => return Err(PhaseError::new(format!("cannot create {what}")).caused_by(e)),
            };
            let current = match self.retry("get", || api.get_opt(&name)).await {
                Ok(Some(c)) => c,
                Ok(None) if invalid => {
                    return Err(PhaseError::new(format!("cannot create {what}")).caused_by(err));
                }
                Ok(None) => continue,
                Err(e) => {
                    return Err(PhaseError::new(format!("cannot read {what}"))
                        .caused_by(e)
                        .caused_by(err));
                }
            };
            let mut desired = obj.clone();
            keep(&current, &mut desired);
            desired.meta_mut().resource_version = current.meta().resource_version.clone();
            match self
                .retry("replace", || api.replace(&name, &pp, &desired))
                .await
            {
                Ok(o) => return Ok(o),
                Err(e) if api_code(&e) == Some(409) && Instant::now() < deadline => {
                    crate::engine::or_cancelled(
                        &self.ctx.cancel,
                        &format!("updating {what}"),
                        tokio::time::sleep(API_RETRY_INTERVAL),
                    )
                    .await?;
                }
                Err(e) => {
                    return Err(PhaseError::new(format!("cannot update {what}")).caused_by(e));
                }
            }
        }
    }

    /// Reads a cluster-scoped object; `Ok(None)` when it does not exist (and always in dry-run).
    pub async fn get_cluster<K>(&self, name: &str) -> Result<Option<K>, PhaseError>
    where
        K: Resource<DynamicType = (), Scope = ClusterResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let Target::Live(c) = &self.target else {
            return Ok(None);
        };
        let api: Api<K> = Api::all(c.clone());
        self.retry("get", || api.get_opt(name)).await.map_err(|e| {
            PhaseError::new(format!("cannot read {}", describe::<K>(None, name))).caused_by(e)
        })
    }

    /// Waits for Node `name` (registered by the kubelet), polling every 200 ms for up to
    /// `call_timeout`, or until the run's cancel token fires ([`PhaseError::cancelled`]).
    /// Returns `Ok(None)` at once in dry-run. Errors: it never appeared (with a
    /// hint at the kubelet's journal), or a non-transient API error.
    pub async fn wait_for_node(
        &self,
        name: &str,
    ) -> Result<Option<k8s_openapi::api::core::v1::Node>, PhaseError> {
        use k8s_openapi::api::core::v1::Node;
        if self.is_dry_run() {
            return Ok(None);
        }
        let deadline = Instant::now() + self.call_timeout.max(Duration::from_secs(1));
        let what = format!("waiting for Node {name:?}");
        loop {
            if self.ctx.cancel.is_cancelled() {
                return Err(PhaseError::cancelled(&what));
            }
            if let Some(node) = self.get_cluster::<Node>(name).await? {
                return Ok(Some(node));
            }
            if Instant::now() >= deadline {
                return Err(PhaseError::new(format!(
                    "Node {name:?} did not appear within {:?}",
                    self.call_timeout
                ))
                .hint("the kubelet registers the Node: look at 'journalctl -xeu kubelet'"));
            }
            crate::engine::or_cancelled(
                &self.ctx.cancel,
                &what,
                tokio::time::sleep(Duration::from_millis(200)),
            )
            .await?;
        }
    }

    /// Sends a JSON merge patch to a cluster-scoped object (in dry-run: reports it, with the
    /// patch as YAML). Errors name the object and the API's answer.
    pub async fn merge_patch_cluster<K>(
        &self,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<(), PhaseError>
    where
        K: Resource<DynamicType = (), Scope = ClusterResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        match &self.target {
            Target::DryRun => {
                self.ctx.events.send(Event::WouldApply {
                    verb: "PATCH".into(),
                    resource: K::plural(&()).to_string(),
                    namespace: None,
                    name: name.to_string(),
                    yaml: serde_yaml::to_string(patch).unwrap_or_default(),
                });
                Ok(())
            }
            Target::Live(c) => {
                let api: Api<K> = Api::all(c.clone());
                let pp = PatchParams::default();
                let p = Patch::Merge(patch);
                self.retry("patch", || api.patch(name, &pp, &p))
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        PhaseError::new(format!("cannot patch {}", describe::<K>(None, name)))
                            .caused_by(e)
                    })
            }
        }
    }
}

fn describe<K: Resource<DynamicType = ()>>(ns: Option<&str>, name: &str) -> String {
    match ns {
        Some(ns) => format!("{} {ns}/{name}", K::kind(&())),
        None => format!("{} {name}", K::kind(&())),
    }
}

/// Typed RBAC building blocks used by the phases.
pub mod etcd;

pub mod rbac {
    use k8s_openapi::api::rbac::v1::{
        ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
    };

    use super::meta;

    const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

    /// A `Group` subject.
    pub fn group(name: &str) -> Subject {
        Subject {
            kind: "Group".into(),
            api_group: Some(RBAC_GROUP.into()),
            name: name.into(),
            namespace: None,
        }
    }

    /// A `User` subject.
    pub fn user(name: &str) -> Subject {
        Subject {
            kind: "User".into(),
            api_group: Some(RBAC_GROUP.into()),
            name: name.into(),
            namespace: None,
        }
    }

    /// A `ServiceAccount` subject.
    pub fn service_account(namespace: &str, name: &str) -> Subject {
        Subject {
            kind: "ServiceAccount".into(),
            api_group: None,
            name: name.into(),
            namespace: Some(namespace.into()),
        }
    }

    /// A rule on core-group `resources` with `verbs`, limited to `names` when not empty.
    pub fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> PolicyRule {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PolicyRule {
            api_groups: Some(v(groups)),
            resources: Some(v(resources)),
            verbs: v(verbs),
            resource_names: if names.is_empty() {
                None
            } else {
                Some(v(names))
            },
            non_resource_urls: None,
        }
    }

    /// A Role in `namespace` with `rules`.
    pub fn role(namespace: &str, name: &str, rules: Vec<PolicyRule>) -> Role {
        Role {
            metadata: meta(name, Some(namespace), &[]),
            rules: Some(rules),
        }
    }

    /// A RoleBinding to Role `role`.
    pub fn role_binding(
        namespace: &str,
        name: &str,
        role: &str,
        subjects: Vec<Subject>,
    ) -> RoleBinding {
        RoleBinding {
            metadata: meta(name, Some(namespace), &[]),
            role_ref: RoleRef {
                api_group: RBAC_GROUP.into(),
                kind: "Role".into(),
                name: role.into(),
            },
            subjects: Some(subjects),
        }
    }

    /// A ClusterRole with `rules`.
    pub fn cluster_role(name: &str, rules: Vec<PolicyRule>) -> ClusterRole {
        ClusterRole {
            metadata: meta(name, None, &[]),
            rules: Some(rules),
            aggregation_rule: None,
        }
    }

    /// A ClusterRoleBinding to ClusterRole `role`.
    pub fn cluster_role_binding(
        name: &str,
        role: &str,
        subjects: Vec<Subject>,
    ) -> ClusterRoleBinding {
        ClusterRoleBinding {
            metadata: meta(name, None, &[]),
            role_ref: RoleRef {
                api_group: RBAC_GROUP.into(),
                kind: "ClusterRole".into(),
                name: role.into(),
            },
            subjects: Some(subjects),
        }
    }
}

/// Endpoint helpers shared by the API phases.
pub mod endpoint {
    use crate::config::InitConfig;
    use crate::config::net::{https_url, split_host_port};

    /// The control-plane endpoint URL as kubeadm's `GetControlPlaneEndpoint` gives it:
    /// `https://<controlPlaneEndpoint>` (port defaulting to bindPort), else
    /// `https://<advertise address>:<bindPort>`. Errors: an unparsable controlPlaneEndpoint.
    pub fn control_plane_url(cfg: &InitConfig) -> Result<String, String> {
        let bind = u16::try_from(cfg.init.local_api_endpoint.bind_port)
            .ok()
            .filter(|p| *p != 0)
            .unwrap_or(6443);
        if cfg.cluster.control_plane_endpoint.is_empty() {
            Ok(https_url(
                &cfg.init.local_api_endpoint.advertise_address,
                bind,
            ))
        } else {
            let (h, p) = split_host_port(&cfg.cluster.control_plane_endpoint)
                .map_err(|e| format!("controlPlaneEndpoint: {e}"))?;
            Ok(https_url(&h, p.unwrap_or(bind)))
        }
    }
}
