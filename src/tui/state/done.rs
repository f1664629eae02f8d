//! The done screen: copy or write the join command, export, quit.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

use super::{App, Effect, FileKind, Overlay, Pane};

/// Keys of the done screen: `c` copies the join command, `w` writes it, `x` exports, `p`
/// reopens the run screen on the preflight results; Esc does nothing.
pub(super) fn on_done_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    match k.code {
        KeyCode::Char('c') => {
            if let Some(j) = &app.run.join {
                let cmd = j.worker_command("kubestrap");
                app.notice = Some("join command sent to the terminal clipboard (OSC 52)".into());
                return vec![Effect::Copy(cmd)];
            }
        }
        KeyCode::Char('w') => {
            app.overlay = Overlay::Prompt {
                kind: FileKind::JoinCommand,
                input: Input::new("join-command.txt".into()),
            }
        }
        KeyCode::Char('x') => {
            app.overlay = Overlay::Prompt {
                kind: FileKind::Export,
                input: Input::new("kubeadm.yaml".into()),
            }
        }
        // Esc never quits from here (issue 12): q and Enter do.
        KeyCode::Char('q') | KeyCode::Enter => {
            app.quit = true;
            return vec![Effect::Quit];
        }
        // The run screen again, on the preflight results (errors first, with their fixes).
        KeyCode::Char('p') => {
            app.screen = super::Screen::Run;
            app.run.focus = Pane::Preflight;
            app.run.pinned = true;
        }
        KeyCode::Up => {
            app.run.focus = Pane::Log;
            app.scroll(true, 1)
        }
        _ => {}
    }
    vec![]
}
