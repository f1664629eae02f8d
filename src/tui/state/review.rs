//! The review screen: the kubeadm.yaml built from the answers, its export, and Start.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

use super::{App, Effect, FileKind, Overlay, Screen};
use crate::tui::form::{self, CLUSTER_FIELDS, FieldId, NETWORK_FIELDS};

impl App {
    pub(super) fn goto_review(&mut self) {
        self.commit_input();
        match form::to_config(&self.answers, &self.base, &self.detected.facts) {
            Ok(cfg) => {
                self.review = crate::tui::review::annotated_yaml(&cfg);
                self.config = Some(cfg);
                self.review_scroll = 0;
                self.screen = Screen::Review;
            }
            Err(e) => {
                // Send the user to the screen of the first bad field.
                let all: Vec<FieldId> = NETWORK_FIELDS
                    .iter()
                    .chain(CLUSTER_FIELDS)
                    .copied()
                    .collect();
                if let Some((f, _)) = form::validate_fields(&self.answers, &all).first() {
                    let target = if NETWORK_FIELDS.contains(f) {
                        Screen::Network
                    } else {
                        Screen::Cluster
                    };
                    self.enter_form(target);
                    self.leave_form();
                }
                self.notice = Some(e);
            }
        }
    }

    /// The exported kubeadm.yaml text (the review screen's left column).
    pub fn export_text(&self) -> String {
        let mut s = String::new();
        for (l, _) in &self.review {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

/// Keys of the review screen: Enter starts, `x` exports, the arrows scroll.
pub(super) fn on_review_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    match k.code {
        KeyCode::Enter => {
            // A real run refuses an advertise address of another machine (a dry run warns).
            let real_run = !app.detected.dry_run && app.detected.root.is_none();
            if let Some(cfg) = &app.config
                && let Some(e) = crate::config::validate::advertise_on_host_problem(
                    cfg,
                    &app.detected.facts,
                    real_run,
                )
                && real_run
            {
                app.notice = Some(format!("Start refused: {e}"));
                return vec![];
            }
            return app.start(None);
        }
        KeyCode::Esc | KeyCode::Left => {
            app.screen = Screen::Args;
        }
        KeyCode::Char('x') => {
            app.overlay = Overlay::Prompt {
                kind: FileKind::Export,
                input: Input::new("kubeadm.yaml".into()),
            };
        }
        KeyCode::Up | KeyCode::Char('k') => app.scroll(true, 1),
        KeyCode::Down | KeyCode::Char('j') => app.scroll(false, 1),
        KeyCode::PageUp => app.scroll(true, 10),
        KeyCode::PageDown | KeyCode::Char(' ') => app.scroll(false, 10),
        KeyCode::Char('q') => app.overlay = Overlay::ConfirmQuit,
        _ => {}
    }
    vec![]
}
