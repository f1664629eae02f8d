//! The workflow as data: a tree of kubeadm-named phases and sub-phases, with ids such as
//! `certs/apiserver`. One tree drives the runner, `--skip-phases`, `init phase NAME [SUB]`
//! and the wizard's phase list. Mirrors `cmd/kubeadm/app/cmd/phases/workflow/{phase,runner}.go`:
//! the engine knows no phase; the init workflow itself is composed in `phases::workflow`,
//! as kubeadm's `cmd/kubeadm/app/cmd/init.go` composes its phases.

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

impl Workflow {
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

    /// The ids of the children of the phases named in `parents`, in run order (`["certs"]`
    /// gives `certs/ca`, `certs/apiserver`, ...): a [`crate::engine::Plan`]'s `only` list that
    /// runs those phases leaf by leaf.
    pub fn leaves_of(&self, parents: &[&str]) -> Vec<String> {
        self.ids()
            .into_iter()
            .filter(|id| {
                id.split_once('/')
                    .is_some_and(|(parent, _)| parents.contains(&parent))
            })
            .collect()
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
