//! Fixes: the plan a failing check offers, the text edits it makes (fstab, containerd's
//! config.toml), and applying it through the host. Fixes run only with `--fix` or the
//! wizard's confirmation, and never when the host would refuse one of their commands.

use std::path::Path;

use super::{CheckResult, PHASE, read_text};
use crate::engine::{Event, Fix, PhaseCtx, PhaseError};
use crate::host::Host;

/// One step of a fix, applied through the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixStep {
    /// Run a command (not run in dry-run).
    Run { program: String, args: Vec<String> },
    /// Comment out every swap entry of `/etc/fstab`.
    CommentSwapInFstab,
    /// Set `key = value` in `/etc/sysctl.d/k8s.conf` (created when missing).
    SetSysctl { key: String, value: String },
    /// Write `/etc/modules-load.d/k8s.conf` listing these kernel modules.
    ModulesLoadFile { modules: Vec<String> },
    /// Set containerd's runc option `SystemdCgroup` in `/etc/containerd/config.toml`.
    ContainerdSystemdCgroup { enabled: bool },
    /// Write `failCgroupV1: false` into the KubeletConfiguration this run writes and uploads.
    KubeletAllowCgroupV1,
}

impl FixStep {
    pub(super) fn run(program: &str, args: &[&str]) -> Self {
        FixStep::Run {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// One line for the user ("will run: swapoff -a").
    pub fn describe(&self) -> String {
        match self {
            FixStep::Run { program, args } => format!("run: {program} {}", args.join(" ")),
            FixStep::CommentSwapInFstab => "edit /etc/fstab: comment out swap entries".into(),
            FixStep::SetSysctl { key, value } => {
                format!("write /etc/sysctl.d/k8s.conf: {key} = {value}")
            }
            FixStep::ModulesLoadFile { modules } => {
                format!("write /etc/modules-load.d/k8s.conf: {}", modules.join(" "))
            }
            FixStep::ContainerdSystemdCgroup { enabled } => {
                format!("edit /etc/containerd/config.toml: SystemdCgroup = {enabled}")
            }
            FixStep::KubeletAllowCgroupV1 => {
                "set failCgroupV1: false in the KubeletConfiguration (config.yaml and the kubelet-config ConfigMap)".to_string()
            }
        }
    }
}

/// A fix for one check: a summary and the steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPlan {
    pub summary: String,
    pub steps: Vec<FixStep>,
}

impl FixPlan {
    /// The event form ([`Fix`]) of this plan.
    pub fn to_event(&self) -> Fix {
        Fix {
            summary: self.summary.clone(),
            steps: self.steps.iter().map(FixStep::describe).collect(),
        }
    }
}

pub(super) fn install_fix(host: &dyn Host, packages: &[&str], summary: String) -> Option<FixPlan> {
    let mgr = ["apt-get", "dnf", "yum"]
        .into_iter()
        .find(|m| host.which(m).is_some())?;
    let mut args = vec!["install", "-y"];
    args.extend_from_slice(packages);
    Some(FixPlan {
        summary,
        steps: vec![FixStep::run(mgr, &args)],
    })
}

/// Sets `SystemdCgroup` in a containerd config.toml text, adding the runc options section
/// when missing (config `version = 3` uses containerd 2's plugin id). Returns the new text.
pub fn set_containerd_systemd_cgroup(toml: &str, enabled: bool) -> String {
    let mut found = false;
    let mut out: Vec<String> = toml
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if !t.starts_with('#')
                && t.split_once('=')
                    .is_some_and(|(k, _)| k.trim() == "SystemdCgroup")
            {
                found = true;
                let indent = &l[..l.len() - t.len()];
                format!("{indent}SystemdCgroup = {enabled}")
            } else {
                l.to_string()
            }
        })
        .collect();
    if !found {
        let v3 = toml.lines().any(|l| {
            l.split_once('=')
                .is_some_and(|(k, v)| k.trim() == "version" && v.trim() == "3")
        });
        let section = if v3 {
            "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"
        } else {
            "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]"
        };
        if let Some(i) = out.iter().position(|l| l.trim() == section) {
            out.insert(i + 1, format!("  SystemdCgroup = {enabled}"));
        } else {
            if toml.trim().is_empty() {
                out = vec!["version = 2".into()];
            }
            out.push(String::new());
            out.push(section.into());
            out.push(format!("  SystemdCgroup = {enabled}"));
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// Comments out the swap entries (fs type `swap`) of an fstab text.
pub fn comment_swap_in_fstab(fstab: &str) -> String {
    let mut s: String = fstab
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if !l.trim_start().starts_with('#') && f.len() >= 3 && f[2] == "swap" {
                format!("# {l}  # disabled by kubestrap (the kubelet needs swap off)")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    s.push('\n');
    s
}

/// Why `host` would refuse a command of `plan` (see [`crate::host::command_policy`]), or
/// `None` when every step may run.
pub fn refused_step(host: &dyn Host, plan: &FixPlan) -> Option<String> {
    plan.steps.iter().find_map(|step| match step {
        FixStep::Run { program, args } => {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            host.command_refusal(program, &a)
        }
        _ => None,
    })
}

/// Drops the fixes `host` could not apply (their commands are refused under `--root`), so
/// no hint offers `--fix` for them; the check's message says why there is no fix.
pub fn drop_refused_fixes(host: &dyn Host, results: &mut [CheckResult]) {
    for r in results.iter_mut() {
        if let Some(why) = r.fix.as_ref().and_then(|plan| refused_step(host, plan)) {
            r.fix = None;
            r.message.push_str(&format!(" (no fix offered: {why})"));
        }
    }
}

/// Applies one fix plan through the host, sending a log line per step. Errors name the
/// step that failed.
pub fn apply_fix(ctx: &PhaseCtx, check: &str, plan: &FixPlan) -> Result<(), PhaseError> {
    let host = ctx.host.as_ref();
    // Refuse the whole plan before its first step when the host would refuse one of its
    // commands (under --root), so nothing is half-applied.
    if let Some(why) = refused_step(host, plan) {
        return Err(PhaseError::new(format!("fix for {check}: {why}")));
    }
    ctx.events
        .log(PHASE, format!("Fixing {check}: {}", plan.summary));
    for step in &plan.steps {
        ctx.events.log(PHASE, format!("  {}", step.describe()));
        let fail =
            |e: String| PhaseError::new(format!("fix for {check}: {}: {e}", step.describe()));
        match step {
            FixStep::Run { program, args } => {
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                let o = host.run(program, &a).map_err(|e| fail(e.to_string()))?;
                if !o.success() {
                    return Err(fail(format!(
                        "exit status {}: {}",
                        o.status.unwrap_or(-1),
                        o.stderr.trim()
                    )));
                }
            }
            FixStep::CommentSwapInFstab => {
                if let Some(t) = read_text(host, "/etc/fstab") {
                    let new = comment_swap_in_fstab(&t);
                    if new != t {
                        write(ctx, "/etc/fstab", new.as_bytes(), 0o644)
                            .map_err(|e| fail(e.to_string()))?;
                    }
                }
            }
            FixStep::SetSysctl { key, value } => {
                let path = "/etc/sysctl.d/k8s.conf";
                let old = read_text(host, path).unwrap_or_default();
                let mut lines: Vec<String> = old
                    .lines()
                    .filter(|l| l.split_once('=').is_none_or(|(k, _)| k.trim() != key))
                    .map(String::from)
                    .collect();
                lines.push(format!("{key} = {value}"));
                let text = lines.join("\n") + "\n";
                write(ctx, path, text.as_bytes(), 0o644).map_err(|e| fail(e.to_string()))?;
            }
            FixStep::ModulesLoadFile { modules } => {
                let text = modules.join("\n") + "\n";
                write(ctx, "/etc/modules-load.d/k8s.conf", text.as_bytes(), 0o644)
                    .map_err(|e| fail(e.to_string()))?;
            }
            FixStep::ContainerdSystemdCgroup { enabled } => {
                let path = "/etc/containerd/config.toml";
                let old = read_text(host, path).unwrap_or_default();
                let new = set_containerd_systemd_cgroup(&old, *enabled);
                write(ctx, path, new.as_bytes(), 0o644).map_err(|e| fail(e.to_string()))?;
            }
            FixStep::KubeletAllowCgroupV1 => {
                ctx.state
                    .lock()
                    .map_err(|_| fail("run state is poisoned".into()))?
                    .kubelet_allow_cgroup_v1 = true;
            }
        }
    }
    Ok(())
}

fn write(ctx: &PhaseCtx, path: &str, data: &[u8], mode: u32) -> std::io::Result<()> {
    ctx.host.write_atomic(Path::new(path), data, mode)?;
    ctx.events.send(Event::FileWritten {
        path: path.into(),
        mode,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containerd_toml_edits() {
        use super::super::containerd_systemd_cgroup;
        let v2 = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n";
        assert_eq!(containerd_systemd_cgroup(v2), Some(false));
        let new = set_containerd_systemd_cgroup(v2, true);
        assert_eq!(containerd_systemd_cgroup(&new), Some(true));
        assert_eq!(new.matches("SystemdCgroup").count(), 1);
        let empty = set_containerd_systemd_cgroup("", true);
        assert!(empty.starts_with("version = 2\n"));
        assert_eq!(containerd_systemd_cgroup(&empty), Some(true));
        let v3 = set_containerd_systemd_cgroup("version = 3\n", true);
        assert!(v3.contains("io.containerd.cri.v1.runtime"));
    }

    #[test]
    fn fstab_swap_commented() {
        let f = "UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n# /old none swap sw 0 0\n";
        let n = comment_swap_in_fstab(f);
        assert!(n.contains("# /swapfile none swap sw 0 0"));
        assert!(n.contains("UUID=1 / ext4 defaults 0 1\n"));
        assert_eq!(n.matches("# /old").count(), 1);
    }
}
