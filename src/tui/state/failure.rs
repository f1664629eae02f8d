//! The failure screen: what failed, retry from the failed phase, ignore preflight errors.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

use super::{App, Effect, FileKind, Overlay};
use crate::engine::RunOutcome;

/// A failed phase as the failure screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub phase: String,
    /// The whole cause chain joined by `: ` (the event's `error`).
    pub error: String,
    /// The chain's causes, outermost first (the event's `causes`).
    pub causes: Vec<String>,
    pub hint: Option<String>,
}

/// Keys of the failure screen: `r` retries from the failed phase, `i` ignores the
/// preflight errors and runs again, `x` exports.
pub(super) fn on_failure_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    match k.code {
        KeyCode::Char('r') => {
            let from = match &app.run.outcome {
                Some(RunOutcome::Failed { phase }) => {
                    Some(phase.split('/').next().unwrap_or(phase).to_string())
                }
                _ => None,
            };
            return app.start(from);
        }
        KeyCode::Char('i') => {
            let failing = app.failing_checks();
            let preflight_failed = app
                .run
                .failed
                .as_ref()
                .is_some_and(|f| f.phase.starts_with("preflight"));
            if preflight_failed && !failing.is_empty() {
                for c in failing {
                    if !app.ignore_preflight.contains(&c) {
                        app.ignore_preflight.push(c);
                    }
                }
                return app.start(Some("preflight".into()));
            }
            app.notice =
                Some("✗ only preflight errors can be ignored; this failure is not one".into());
        }
        KeyCode::Char('x') => {
            app.overlay = Overlay::Prompt {
                kind: FileKind::Export,
                input: Input::new("kubeadm.yaml".into()),
            }
        }
        KeyCode::Char('q') | KeyCode::Esc => {
            app.quit = true;
            return vec![Effect::Quit];
        }
        KeyCode::Tab => app.run.focus = app.run.focus.next(false),
        KeyCode::Up => app.scroll(true, 1),
        KeyCode::Down => app.scroll(false, 1),
        _ => {}
    }
    vec![]
}
