//! The workflow as data: kubeadm's init phases and sub-phases in order, with ids such as
//! `certs/apiserver`. One tree drives the runner, `--skip-phases`, `init phase NAME [SUB]`
//! and the wizard's phase list. Mirrors `cmd/kubeadm/app/cmd/phases/workflow/{phase,runner}.go`
//! and the phase list of `cmd/kubeadm/app/cmd/init.go`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{PhaseCtx, PhaseError};

/// The future a phase run returns.
pub type PhaseFuture<'a> = Pin<Box<dyn Future<Output = Result<(), PhaseError>> + Send + 'a>>;

/// A phase body: gets the context and the sub-phase name (`""` for a phase without
/// sub-phases) and returns when the phase is done.
pub type RunFn = Arc<dyn for<'a> Fn(&'a PhaseCtx, &'a str) -> PhaseFuture<'a> + Send + Sync>;

/// Decides whether a phase applies to this run: `Some(reason)` skips it.
pub type RunIf = fn(&PhaseCtx) -> Option<String>;

/// One node of the workflow tree.
#[derive(Clone)]
pub struct Phase {
    /// Name as kubeadm spells it (`certs`, `apiserver`).
    pub name: String,
    /// One line for help and the wizard.
    pub short: String,
    /// Sub-phases in run order (empty for a leaf).
    pub children: Vec<Phase>,
    /// Skip test; `None` means always applies.
    pub run_if: Option<RunIf>,
    /// The body of a leaf (`None` for a parent; its children run instead).
    pub run: Option<RunFn>,
    /// Set when the body is [`missing_fn`]: names the phase module this build lacks.
    pub missing: Option<&'static str>,
}

impl std::fmt::Debug for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phase")
            .field("name", &self.name)
            .field("children", &self.children)
            .finish()
    }
}

/// Wraps a synchronous phase function (`fn(&PhaseCtx, &str) -> Result`) as a [`RunFn`].
pub fn sync_fn(f: fn(&PhaseCtx, &str) -> Result<(), PhaseError>) -> RunFn {
    Arc::new(move |ctx, sub| Box::pin(async move { f(ctx, sub) }))
}

/// Wraps an async phase function (`async fn(&PhaseCtx, &str) -> Result`) as a [`RunFn`].
macro_rules! async_fn {
    ($f:path) => {
        std::sync::Arc::new(|ctx: &PhaseCtx, sub: &str| -> PhaseFuture<'_> {
            Box::pin($f(ctx, sub))
        })
    };
}

/// A body that fails because the phase module is not part of this build yet; never a fake
/// success. `module` names it, e.g. `phases::certs (branch pki)`.
pub fn missing_fn(module: &'static str) -> RunFn {
    Arc::new(move |_ctx, sub| {
        let sub = sub.to_string();
        Box::pin(async move {
            Err(PhaseError::new(format!(
                "the phase module {module} is not built into this kubestrap yet{}",
                if sub.is_empty() {
                    String::new()
                } else {
                    format!(" (sub-phase {sub:?})")
                }
            ))
            .hint("skip it with --skip-phases, or use a build that includes it"))
        })
    })
}

impl Phase {
    /// A leaf phase.
    pub fn leaf(name: &str, short: &str, run: RunFn) -> Self {
        Phase {
            name: name.into(),
            short: short.into(),
            children: Vec::new(),
            run_if: None,
            run: Some(run),
            missing: None,
        }
    }

    /// A family (or, with no `subs`, a leaf) whose module is not in this build: every body
    /// is [`missing_fn`] and [`Phase::missing`] names the module.
    pub fn missing(name: &str, short: &str, subs: &[(&str, &str)], module: &'static str) -> Self {
        let mut p = if subs.is_empty() {
            Phase::leaf(name, short, missing_fn(module))
        } else {
            Phase::family(name, short, subs, missing_fn(module))
        };
        p.missing = Some(module);
        for c in &mut p.children {
            c.missing = Some(module);
        }
        p
    }

    /// A parent whose children are `subs` (`(name, short)`), each running `run` with its name.
    pub fn family(name: &str, short: &str, subs: &[(&str, &str)], run: RunFn) -> Self {
        Phase {
            name: name.into(),
            short: short.into(),
            children: subs
                .iter()
                .map(|(n, s)| Phase::leaf(n, s, run.clone()))
                .collect(),
            run_if: None,
            run: None,
            missing: None,
        }
    }

    /// Sets the skip test.
    pub fn run_if(mut self, f: RunIf) -> Self {
        self.run_if = Some(f);
        self
    }

    /// Sets the skip test of the child named `child`.
    pub fn child_run_if(mut self, child: &str, f: RunIf) -> Self {
        for c in &mut self.children {
            if c.name == child {
                c.run_if = Some(f);
            }
        }
        self
    }
}

/// The ordered tree of phases.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub phases: Vec<Phase>,
}

/// Sub-phases of `etcd` (`phases::etcd::SUBPHASES` names, with kubeadm's descriptions).
const ETCD_SUBS: &[(&str, &str)] = &[(
    "local",
    "Generate the static Pod manifest file for a local, single-node local etcd instance",
)];
/// Sub-phases of `control-plane` (`phases::control_plane::SUBPHASES`, with descriptions).
const CONTROL_PLANE_SUBS: &[(&str, &str)] = &[
    (
        "apiserver",
        "Generates the kube-apiserver static Pod manifest",
    ),
    (
        "controller-manager",
        "Generates the kube-controller-manager static Pod manifest",
    ),
    (
        "scheduler",
        "Generates the kube-scheduler static Pod manifest",
    ),
];
fn external_etcd(ctx: &PhaseCtx) -> Option<String> {
    ctx.cfg
        .cluster
        .etcd
        .external
        .is_some()
        .then(|| "external etcd is configured".to_string())
}

fn no_upload_certs(ctx: &PhaseCtx) -> Option<String> {
    (!ctx.options.upload_certs).then(|| "Skipping phase. Please see --upload-certs".to_string())
}

fn dns_disabled(ctx: &PhaseCtx) -> Option<String> {
    ctx.cfg
        .cluster
        .dns
        .disabled
        .then(|| "dns.disabled is set".to_string())
}

fn proxy_disabled(ctx: &PhaseCtx) -> Option<String> {
    ctx.cfg
        .cluster
        .proxy
        .disabled
        .then(|| "proxy.disabled is set".to_string())
}

impl Workflow {
    /// kubeadm's init workflow in order. Phases whose module is not in this build fail
    /// with a [`PhaseError`] naming the module.
    pub fn init() -> Self {
        let phases = vec![
            Phase::leaf(
                "preflight",
                "Run pre-flight checks",
                sync_fn(crate::phases::preflight::run),
            ),
            Phase::family(
                "certs",
                "Certificate generation",
                crate::phases::certs::SUBPHASES,
                sync_fn(crate::phases::certs::run),
            )
            .child_run_if("etcd-ca", external_etcd)
            .child_run_if("etcd-server", external_etcd)
            .child_run_if("etcd-peer", external_etcd)
            .child_run_if("etcd-healthcheck-client", external_etcd)
            .child_run_if("apiserver-etcd-client", external_etcd),
            Phase::family(
                "kubeconfig",
                "Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file",
                crate::phases::kubeconfig::SUBPHASES,
                sync_fn(crate::phases::kubeconfig::run),
            ),
            Phase::family(
                "etcd",
                "Generate static Pod manifest file for local etcd",
                ETCD_SUBS,
                sync_fn(crate::phases::etcd::run),
            )
            .child_run_if("local", external_etcd),
            Phase::family(
                "control-plane",
                "Generate all static Pod manifest files necessary to establish the control plane",
                CONTROL_PLANE_SUBS,
                sync_fn(crate::phases::control_plane::run),
            ),
            Phase::leaf(
                "kubelet-start",
                "Write kubelet settings and (re)start the kubelet",
                sync_fn(crate::phases::kubelet::run),
            ),
            Phase::leaf(
                "wait-control-plane",
                "Wait for the control plane to start",
                async_fn!(crate::phases::wait_control_plane::run),
            ),
            Phase::family(
                "upload-config",
                "Upload the kubeadm and kubelet configuration to a ConfigMap",
                crate::phases::upload_config::SUBPHASES,
                async_fn!(crate::phases::upload_config::run),
            ),
            Phase::leaf(
                "upload-certs",
                "Upload certificates to kubeadm-certs",
                async_fn!(crate::phases::upload_certs::run),
            )
            .run_if(no_upload_certs),
            Phase::leaf(
                "mark-control-plane",
                "Mark a node as a control-plane",
                async_fn!(crate::phases::mark_control_plane::run),
            ),
            Phase::leaf(
                "bootstrap-token",
                "Generates bootstrap tokens used to join a node to a cluster",
                async_fn!(crate::phases::bootstrap_token::run),
            ),
            Phase::family(
                "kubelet-finalize",
                "Updates settings relevant to the kubelet after TLS bootstrap",
                crate::phases::kubelet_finalize::SUBPHASES,
                async_fn!(crate::phases::kubelet_finalize::run),
            ),
            Phase::family(
                "addon",
                "Install required addons for passing conformance tests",
                crate::phases::addons::SUBPHASES,
                async_fn!(crate::phases::addons::run),
            )
            .child_run_if("coredns", dns_disabled)
            .child_run_if("kube-proxy", proxy_disabled),
            Phase::leaf(
                "show-join-command",
                "Show the join command for control-plane and worker node",
                async_fn!(crate::phases::show_join::run),
            ),
        ];
        Workflow { phases }
    }

    /// Every phase id in run order, parents before their children (`certs`, `certs/ca`, ...).
    pub fn ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.phases {
            out.push(p.name.clone());
            for c in &p.children {
                out.push(format!("{}/{}", p.name, c.name));
            }
        }
        out
    }

    /// Checks `--skip-phases` entries against the tree. kubeadm accepts `all` for a parent's
    /// children (`addon/all`). Errors name the unknown entry and the closest id.
    pub fn validate_phase_ids(&self, ids: &[String]) -> Result<(), String> {
        let known = self.ids();
        for id in ids {
            let id = id.trim();
            if id.is_empty() {
                continue;
            }
            let norm = id.strip_suffix("/all").unwrap_or(id);
            if !known.iter().any(|k| k == norm) {
                return Err(format!(
                    "--skip-phases: unknown phase {id:?}{}; phases are: {}",
                    suggest(id, &known),
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The leaf ids `init phase NAME [SUB]` runs: all leaves of `NAME` (SUB absent or `all`)
    /// or just `NAME/SUB`. Errors name the unknown phase or sub-phase and list the valid ones.
    pub fn select(&self, name: &str, sub: Option<&str>) -> Result<Vec<String>, String> {
        let Some(p) = self.phases.iter().find(|p| p.name == name) else {
            let names: Vec<String> = self.phases.iter().map(|p| p.name.clone()).collect();
            return Err(format!(
                "unknown phase {name:?}{}; phases are: {}",
                suggest(name, &names),
                names.join(", ")
            ));
        };
        if p.children.is_empty() {
            if let Some(s) = sub.filter(|s| *s != "all") {
                return Err(format!("phase {name:?} has no sub-phases (got {s:?})"));
            }
            return Ok(vec![p.name.clone()]);
        }
        match sub.filter(|s| *s != "all") {
            None => Ok(p
                .children
                .iter()
                .map(|c| format!("{}/{}", p.name, c.name))
                .collect()),
            Some(s) => {
                let subs: Vec<String> = p.children.iter().map(|c| c.name.clone()).collect();
                if subs.iter().any(|c| c == s) {
                    Ok(vec![format!("{name}/{s}")])
                } else {
                    Err(format!(
                        "unknown sub-phase {s:?} of phase {name:?}{}; sub-phases are: all, {}",
                        suggest(s, &subs),
                        subs.join(", ")
                    ))
                }
            }
        }
    }

    /// Ids of the phases (parents and leaves) whose module is missing from this build.
    pub fn missing_phases(&self) -> Vec<String> {
        self.phases
            .iter()
            .filter(|p| p.missing.is_some())
            .map(|p| p.name.clone())
            .collect()
    }

    /// Replaces the body of every leaf under `id` (a parent or a leaf id) with `run`; used
    /// to wire phase modules in and by tests. Returns false when `id` is unknown.
    pub fn set_run(&mut self, id: &str, run: RunFn) -> bool {
        let (top, sub) = match id.split_once('/') {
            Some((t, s)) => (t, Some(s)),
            None => (id, None),
        };
        let Some(p) = self.phases.iter_mut().find(|p| p.name == top) else {
            return false;
        };
        if p.children.is_empty() {
            p.run = Some(run);
            p.missing = None;
            return sub.is_none();
        }
        let mut found = false;
        for c in &mut p.children {
            if sub.is_none_or(|s| s == c.name) {
                c.run = Some(run.clone());
                c.missing = None;
                found = true;
            }
        }
        if p.children.iter().all(|c| c.missing.is_none()) {
            p.missing = None;
        }
        found
    }
}

fn suggest(word: &str, known: &[String]) -> String {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" (did you mean {k:?}?)"))
        .unwrap_or_default()
}

/// Test whether `id` (a leaf id) is skipped by the `--skip-phases` entries: an entry equal
/// to the id, to its parent, or `<parent>/all`.
pub fn is_skipped(id: &str, skip: &[String]) -> bool {
    let parent = id.split('/').next().unwrap_or(id);
    skip.iter().any(|s| {
        let s = s.trim();
        s == id || s == parent || s == format!("{parent}/all")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_kubeadm_order() {
        let ids = Workflow::init().ids();
        let pos = |id: &str| ids.iter().position(|i| i == id).unwrap();
        assert!(pos("preflight") < pos("certs/ca"));
        assert!(pos("certs/sa") < pos("kubeconfig/admin"));
        assert!(pos("control-plane/scheduler") < pos("kubelet-start"));
        assert!(pos("kubelet-start") < pos("wait-control-plane"));
        assert!(pos("addon/kube-proxy") < pos("show-join-command"));
    }

    #[test]
    fn sub_phase_names_match_the_phase_modules() {
        fn names(subs: &'static [(&'static str, &'static str)]) -> Vec<&'static str> {
            subs.iter().map(|(n, _)| *n).collect()
        }
        assert_eq!(names(ETCD_SUBS), crate::phases::etcd::SUBPHASES);
        assert_eq!(
            names(CONTROL_PLANE_SUBS),
            crate::phases::control_plane::SUBPHASES
        );
    }

    #[test]
    fn select_and_errors() {
        let wf = Workflow::init();
        assert_eq!(
            wf.select("certs", Some("apiserver")).unwrap(),
            vec!["certs/apiserver"]
        );
        assert_eq!(wf.select("certs", Some("all")).unwrap().len(), 11);
        assert_eq!(wf.select("preflight", None).unwrap(), vec!["preflight"]);
        let e = wf.select("cert", None).unwrap_err();
        assert!(e.contains("did you mean \"certs\""), "{e}");
        assert!(wf.select("certs", Some("nope")).is_err());
        assert!(
            wf.validate_phase_ids(&["addon/all".into(), "certs/ca".into()])
                .is_ok()
        );
        assert!(wf.validate_phase_ids(&["addons".into()]).is_err());
        assert!(is_skipped("addon/coredns", &["addon".into()]));
        assert!(is_skipped("addon/coredns", &["addon/all".into()]));
        assert!(!is_skipped("addon/coredns", &["addon/kube-proxy".into()]));
    }
}
