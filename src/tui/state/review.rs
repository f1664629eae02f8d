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

    /// The exported kubeadm.yaml text (the review screen's left column). With "upload
    /// certificates" on it starts with a comment naming the flag: kubeadm's configuration has
    /// no field for `--upload-certs` (v1beta4 `InitConfiguration` neither; kubeadm's
    /// `initData.UploadCerts` comes from the flag only), so the file stays loadable by kubeadm
    /// and says how to get the same run. The certificate key is never written.
    pub fn export_text(&self) -> String {
        let mut s = String::new();
        if self.upload_certs {
            s.push_str(UPLOAD_CERTS_EXPORT_NOTE);
            s.push('\n');
        }
        for (l, _) in &self.review {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

/// The comment an export starts with when "upload certificates" is on.
pub const UPLOAD_CERTS_EXPORT_NOTE: &str = "# Upload certificates for more control-plane nodes: kubeadm's configuration has no field for it; run: kubeadm init --config kubeadm.yaml --upload-certs";

impl App {
    /// Turns "upload certificates for more control-plane nodes" (`--upload-certs`) on or off
    /// (never on where [`super::Detected::upload_certs_refused`] says why not, as init
    /// refuses the flag) and says so in the notice line (with why it is useless when no control-plane endpoint
    /// is set; the review screen keeps showing that warning while it applies).
    pub fn toggle_upload_certs(&mut self) {
        if !self.upload_certs
            && let Some(why) = &self.detected.upload_certs_refused
        {
            self.notice = Some(format!("✗ {why}"));
            return;
        }
        self.upload_certs = !self.upload_certs;
        self.notice = Some(if self.upload_certs {
            "✓ the certificates will be uploaded (--upload-certs)".into()
        } else {
            "the certificates will not be uploaded".into()
        });
    }

    /// The warning of `--upload-certs` without a control-plane endpoint for the configuration
    /// on review (the one `kubestrap init` gives, [`crate::phases::upload_certs::no_endpoint_warning`]),
    /// `None` when upload is off or an endpoint is set.
    pub fn upload_certs_warning(&self) -> Option<String> {
        let cfg = self.config.as_ref()?;
        crate::phases::upload_certs::no_endpoint_warning(cfg, self.upload_certs)
    }
}

/// Keys of the review screen: Enter starts, `u` toggles upload certificates, `x` exports,
/// the arrows scroll.
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
        KeyCode::Char('u') => app.toggle_upload_certs(),
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
