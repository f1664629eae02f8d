//! The upgrade the welcome screen offers on a machine that already runs a control plane:
//! the plan screen (the targets' tables of `upgrade plan`, and a confirmation) and the
//! upgrade's run, folded from the events of `upgrade apply` (kubeadm's `cmd/upgrade/`).

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect, LogLine, Screen};
use crate::engine::{Event, LogLevel, RunOutcome};
use crate::phases::upgrade::plan::{AvailableUpgrade, target_version};

/// The newest upgrade `upgrade plan` lists for the cluster on this machine
/// (`phases::upgrade::plan::offer`), as the welcome screen offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeOffer {
    /// The plan's rows (kubelets, control plane, addons, etcd) for the target.
    pub plan: AvailableUpgrade,
}

impl UpgradeOffer {
    /// The offer of `plan`; `None` when it has no target version (no kube-apiserver row).
    pub fn new(plan: AvailableUpgrade) -> Option<UpgradeOffer> {
        (!target_version(&plan).is_empty()).then_some(UpgradeOffer { plan })
    }

    /// The Kubernetes version the upgrade goes to, e.g. `v1.37.2`.
    pub fn version(&self) -> String {
        target_version(&self.plan)
    }
}

/// Where one component of the upgrade is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompStatus {
    /// Not reached yet.
    Pending,
    /// Its new manifest is being written, the kubelet has yet to restart it.
    Upgrading,
    /// A new process of the new version runs; not healthy yet.
    Restarted,
    /// Restarted at the new version and healthy (or, for an addon, applied).
    Healthy,
    /// The new manifest equals the old one: nothing to do.
    Unchanged,
    /// It failed (its manifest was rolled back).
    Failed,
    /// A dry run: its new manifest would be written.
    WouldUpgrade,
}

/// One component row of the upgrade's run: `old → new` and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompRow {
    /// The component as `upgrade plan` names it (`etcd`, `kube-apiserver`, `CoreDNS`, ...).
    pub name: String,
    /// The node it runs on; empty for the addons.
    pub node: String,
    /// The version it runs now.
    pub from: String,
    /// The version it is upgraded to.
    pub to: String,
    /// Where it is.
    pub status: CompStatus,
}

/// Everything the upgrade's run screen shows.
#[derive(Debug, Clone, PartialEq)]
pub struct UpgradeRun {
    /// The version upgraded to.
    pub version: String,
    /// etcd's, the control plane's and the addons' rows, in the order `upgrade apply`
    /// upgrades them.
    pub rows: Vec<CompRow>,
    /// Every log line of the run.
    pub log: Vec<LogLine>,
    /// True until [`Event::Finished`] came.
    pub running: bool,
    /// True once the user confirmed Ctrl-C.
    pub cancel_requested: bool,
    /// [`App::clock_ms`] when it started and when it ended.
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    /// How it ended.
    pub outcome: Option<RunOutcome>,
    /// The failure's cause chain and hint, once it failed.
    pub error: Option<(String, Option<String>)>,
    /// Lines scrolled up from the bottom of the log.
    pub scroll: usize,
}

impl UpgradeRun {
    fn new(offer: &UpgradeOffer, started_ms: u64) -> UpgradeRun {
        let rows = offer
            .plan
            .components
            .iter()
            .filter(|c| c.name != "kubelet")
            .map(|c| CompRow {
                name: c.name.clone(),
                node: c.node_name.clone(),
                from: c.current_version.clone(),
                to: c.new_version.clone(),
                status: CompStatus::Pending,
            })
            .collect::<Vec<_>>();
        // In the order `upgrade apply` goes: etcd first, then the control plane, then the
        // addons (the sort is stable, so nodes keep the plan's order).
        let mut rows = rows;
        rows.sort_by_key(|r| match r.name.as_str() {
            "etcd" => 0,
            "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" => 1,
            _ => 2,
        });
        UpgradeRun {
            version: offer.version(),
            rows,
            log: vec![],
            running: true,
            cancel_requested: false,
            started_ms,
            ended_ms: None,
            outcome: None,
            error: None,
            scroll: 0,
        }
    }

    fn set(&mut self, name: &str, status: CompStatus) {
        for r in self.rows.iter_mut().filter(|r| r.name == name) {
            r.status = status;
        }
    }

    /// Follows the components through `upgrade apply`'s log lines
    /// (`phases::upgrade::staticpods` and the addon phase).
    fn follow(&mut self, m: &str) {
        let quoted = |rest: &str| rest.split('"').nth(1).map(str::to_string);
        if let Some(rest) = m.strip_prefix("[upgrade/staticpods] Preparing for ") {
            if let Some(c) = quoted(rest) {
                self.set(&c, CompStatus::Upgrading);
            }
        } else if let Some(rest) = m.strip_prefix("[upgrade/staticpods] Component ") {
            if let Some(c) = quoted(rest) {
                self.set(&c, CompStatus::Healthy);
            }
        } else if let Some(rest) =
            m.strip_prefix("[upgrade/staticpods] Current and new manifests of ")
        {
            if let Some(c) = rest.split_whitespace().next() {
                self.set(c, CompStatus::Unchanged);
            }
        } else if let Some(rest) = m.strip_prefix("[upgrade/staticpods] ") {
            if let Some((c, tail)) = rest.split_once(' ') {
                if tail.starts_with("restarted:") {
                    self.set(c, CompStatus::Restarted);
                } else if tail.starts_with("is healthy") {
                    self.set(c, CompStatus::Healthy);
                }
            }
        } else if let Some(a) = m.strip_prefix("[addons] Applied essential addon: ") {
            self.set(a.trim(), CompStatus::Healthy);
        } else if m.starts_with("[upgrade/addon] Skipping upgrade of addons") {
            self.set("CoreDNS", CompStatus::Unchanged);
            self.set("kube-proxy", CompStatus::Unchanged);
        } else if let Some(rest) = m.strip_prefix("[dryrun] Would back up ") {
            // `"/etc/kubernetes/manifests/etcd.yaml" to ...`: the component is the file's stem.
            if let Some(c) = quoted(rest)
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .and_then(|f| f.strip_suffix(".yaml"))
            {
                self.set(c, CompStatus::WouldUpgrade);
            }
        }
    }
}

impl App {
    /// True while the upgrade started from the welcome screen runs.
    pub fn upgrade_running(&self) -> bool {
        self.upgrade_run.as_ref().is_some_and(|r| r.running)
    }

    /// Folds one event of the upgrade's run into [`App::upgrade_run`].
    pub(super) fn fold_upgrade_event(&mut self, ev: Event) {
        let now = self.clock_ms;
        let Some(run) = self.upgrade_run.as_mut() else {
            return;
        };
        fn push(log: &mut Vec<LogLine>, level: LogLevel, phase: Option<String>, message: String) {
            log.push(LogLine {
                level,
                phase,
                message,
            })
        }
        match ev {
            Event::Log {
                level,
                phase,
                message,
            } => {
                run.follow(&message);
                for line in message.lines().filter(|l| !l.trim().is_empty()) {
                    push(&mut run.log, level, phase.clone(), line.to_string());
                }
            }
            Event::PhaseFailed {
                phase, error, hint, ..
            } => {
                push(&mut run.log, LogLevel::Error, Some(phase), error.clone());
                for r in run
                    .rows
                    .iter_mut()
                    .filter(|r| matches!(r.status, CompStatus::Upgrading | CompStatus::Restarted))
                {
                    r.status = CompStatus::Failed;
                }
                run.error = Some((error, hint));
            }
            Event::Finished { outcome } => {
                run.running = false;
                run.ended_ms = Some(now);
                run.outcome = Some(outcome);
            }
            Event::WouldApply {
                verb,
                resource,
                namespace,
                name,
                ..
            } => {
                let ns = namespace.map(|n| format!("{n}/")).unwrap_or_default();
                push(
                    &mut run.log,
                    LogLevel::Info,
                    None,
                    format!("[dryrun] would {verb} {resource} {ns}{name}"),
                );
            }
            Event::FileWritten { path, mode } => {
                push(
                    &mut run.log,
                    LogLevel::Info,
                    None,
                    format!("wrote {path} ({mode:04o})"),
                );
            }
            _ => {}
        }
    }
}

/// Keys of the plan screen: Enter or `y` upgrades (the confirmation), Esc or `n` goes back
/// to the welcome screen.
pub(super) fn on_plan_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    match k.code {
        KeyCode::Enter | KeyCode::Char('y') | KeyCode::Char('Y') => {
            let Some(offer) = app.upgrade.clone() else {
                app.screen = Screen::Welcome;
                return vec![];
            };
            app.upgrade_run = Some(UpgradeRun::new(&offer, app.clock_ms));
            app.screen = Screen::UpgradeRun;
            vec![Effect::Upgrade {
                version: offer.version(),
            }]
        }
        KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('N') => {
            app.screen = Screen::Welcome;
            vec![]
        }
        _ => vec![],
    }
}

/// Keys of the upgrade's run screen: ↑↓ scroll the log; once it ended, Enter and `q` quit.
/// (Ctrl-C asks before cancelling a running upgrade, as on init's run screen.)
pub(super) fn on_run_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    let running = app.upgrade_running();
    let Some(run) = app.upgrade_run.as_mut() else {
        return vec![];
    };
    match k.code {
        KeyCode::Up => run.scroll = (run.scroll + 1).min(run.log.len().saturating_sub(1)),
        KeyCode::Down => run.scroll = run.scroll.saturating_sub(1),
        KeyCode::Enter | KeyCode::Char('q') if !running => {
            app.quit = true;
            return vec![Effect::Quit];
        }
        _ => {}
    }
    vec![]
}
