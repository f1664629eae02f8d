//! The plain-text face: kubeadm-like lines (`[preflight] Running pre-flight checks`,
//! `[certs] Generating "apiserver" certificate and key`, `\t[WARNING Swap]: ...`).

use crate::engine::{Event, JoinInfo, LogLevel, RunOutcome, Severity};

/// Printed under a join command whose secrets were redacted.
pub const REDACTED_NOTE: &str = "\nThe token secret (and the certificate key) are not printed: kubestrap writes no secret to an output or a log unless asked. Pass --show-secrets to print them, or print a new join command on this control plane with: kubestrap token create --print-join-command\n";

fn top(phase: &str) -> &str {
    phase.split('/').next().unwrap_or(phase)
}

/// The lines of the detail the text face leaves out by default (`init --v 5` and above): a
/// phase's start and end, and each file written. `None` for every other event.
pub fn detail(ev: &Event) -> Option<String> {
    match ev {
        Event::PhaseStarted { phase } => Some(format!("[{}] Running phase {phase}", top(phase))),
        Event::PhaseFinished { phase, elapsed_ms } => Some(format!(
            "[{}] Finished phase {phase} in {elapsed_ms} ms",
            top(phase)
        )),
        Event::FileWritten { path, mode } => Some(format!("[files] Wrote {path} ({mode:04o})")),
        _ => None,
    }
}

/// The text for one event (may span several lines), or `None` for events the plain face
/// does not print (phase starts, passed checks, file-written records).
pub fn format(ev: &Event) -> Option<String> {
    match ev {
        Event::PhaseStarted { .. } | Event::PhaseFinished { .. } | Event::FileWritten { .. } => {
            None
        }
        // kubeadm is silent about phases the user skipped; other skips say why.
        Event::PhaseSkipped { reason, .. } if reason == "--skip-phases" => None,
        Event::PhaseSkipped { phase, reason } if reason.starts_with("Skipping phase") => {
            Some(format!("[{}] {reason}", top(phase)))
        }
        Event::PhaseSkipped { phase, reason } => {
            Some(format!("[{}] Skipping phase {phase}: {reason}", top(phase)))
        }
        Event::PhaseFailed { error, hint, .. } => {
            let mut s = error.clone();
            if let Some(h) = hint {
                s.push_str(&format!("\nhint: {h}"));
            }
            Some(s)
        }
        Event::Check {
            name,
            severity,
            message,
            fix,
            ignored,
        } => {
            let label = match (severity, ignored) {
                (Severity::Pass, _) => return None,
                (Severity::Warning, _) | (Severity::Error, true) => "WARNING",
                (Severity::Error, false) => "ERROR",
            };
            let mut s = format!("\t[{label} {name}]: {message}");
            if let Some(f) = fix {
                s.push_str(&format!("\n\t  fix (--fix): {}", f.summary));
                for step in &f.steps {
                    s.push_str(&format!("\n\t    will {step}"));
                }
            }
            Some(s)
        }
        // The certs and kubeconfig phases log kubeadm's own lines for each certificate.
        Event::Cert { .. } => None,
        // Every attempt is an event (the wizard's health pane counts them); the log gets
        // wait-control-plane's own lines instead: a change of state and a summary every 10 s.
        Event::Probe { .. } => None,
        Event::ReadyzCheck { name, ok } => Some(format!(
            "[wait-control-plane] [{}]{name} {}",
            if *ok { "+" } else { "-" },
            if *ok { "ok" } else { "failed" }
        )),
        Event::WouldApply {
            verb,
            resource,
            namespace,
            name,
            yaml,
        } => {
            let ns = namespace
                .as_deref()
                .map(|n| format!(" in namespace \"{n}\""))
                .unwrap_or_default();
            let mut s = format!(
                "[dryrun] Would perform action {verb} on resource \"{resource}\" named \"{name}\"{ns}\n[dryrun] Attached object:"
            );
            for l in yaml.lines() {
                s.push_str("\n\t");
                s.push_str(l);
            }
            Some(s)
        }
        Event::Log {
            level,
            phase,
            message,
        } => {
            let tag = phase.as_deref().map(top).unwrap_or("init");
            // Some phases log kubeadm's tag themselves (`[dryrun] Would write ...`).
            let tagged = message.starts_with('[')
                && message
                    .find("] ")
                    .is_some_and(|i| !message[1..i].contains(' '));
            if tagged && *level == LogLevel::Info {
                return Some(message.clone());
            }
            Some(match level {
                LogLevel::Info => format!("[{tag}] {message}"),
                LogLevel::Warn => format!("[{tag}] WARNING: {message}"),
                LogLevel::Error => format!("[{tag}] ERROR: {message}"),
            })
        }
        Event::JoinReady(info) => {
            // Under a dry-run (or --root) tree nothing was started: no claim of success.
            let head = if info.root.is_some() {
                "\n[dryrun] A real init would end here with the steps below (nothing was started).\n"
            } else {
                "\nYour Kubernetes control-plane has initialized successfully!\n"
            };
            let mut s = String::from(head);
            s.push_str(
                "\nTo start using your cluster, you need to run the following as a regular user:\n\n  mkdir -p $HOME/.kube\n  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n\nAlternatively, if you are the root user, you can run:\n\n  export KUBECONFIG=/etc/kubernetes/admin.conf\n\nYou should now deploy a pod network to the cluster.\nRun \"kubectl apply -f [podnetwork].yaml\" with one of the options listed at:\n  https://kubernetes.io/docs/concepts/cluster-administration/addons/\n",
            );
            if let Some(cp) = info.control_plane_command(JoinInfo::CONTROL_PLANE_JOIN_PROGRAM) {
                s.push_str(&format!(
                    "\nYou can now join any number of control-plane nodes by running the following command on each as root:\n\n  {cp}\n"
                ));
                if info.certificate_key.is_some() {
                    s.push('\n');
                    s.push_str(JoinInfo::CERTIFICATE_KEY_NOTE);
                    s.push('\n');
                }
            }
            s.push_str(&format!(
                "\nThen you can join any number of worker nodes by running the following on each as root:\n\n{}\n",
                info.worker_command("kubestrap")
            ));
            if info.redacted {
                s.push_str(REDACTED_NOTE);
            }
            Some(s)
        }
        Event::Finished { outcome } => match outcome {
            RunOutcome::Succeeded => None,
            RunOutcome::Failed { phase } => Some(format!("[init] Failed in phase {phase}")),
            RunOutcome::Cancelled {
                after_phase,
                interrupted,
                completed,
            } => {
                let mut s = match interrupted {
                    Some(p) => format!("[init] Cancelled during phase {p} (interrupted in a wait)"),
                    None => "[init] Cancelled".to_string(),
                };
                if let Some(p) = after_phase {
                    s.push_str(&format!(" after phase {p}; run again to continue"));
                }
                if !completed.is_empty() {
                    s.push_str(&format!(
                        "\n[init] Completed before the cancellation: {}",
                        completed.join(", ")
                    ));
                }
                Some(s)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::JoinInfo;

    #[test]
    fn control_plane_join_command_is_printed_for_kubeadm_with_a_note() {
        let info = JoinInfo {
            endpoint: "lb.example:8443".into(),
            token: "abcdef.0123456789abcdef".into(),
            ca_cert_hashes: vec![format!("sha256:{}", "ab".repeat(32))],
            certificate_key: Some("cd".repeat(32)),
            control_plane: true,
            token_ttl_secs: Some(86400),
            root: None,
            redacted: false,
        };
        let text = format(&Event::JoinReady(info)).unwrap_or_default();
        let cp_line = text
            .lines()
            .find(|l| l.contains("--control-plane"))
            .unwrap_or_default();
        assert!(
            cp_line
                .trim_start()
                .starts_with("kubestrap join lb.example:8443"),
            "{text}"
        );
        let worker = text
            .lines()
            .find(|l| l.contains("join") && !l.contains("--control-plane") && l.contains("--token"))
            .unwrap_or_default();
        assert!(
            worker.starts_with("kubestrap join lb.example:8443"),
            "{text}"
        );
    }
}
