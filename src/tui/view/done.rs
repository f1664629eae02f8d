use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Styles, wrap_text};
use crate::tui::form;
use crate::tui::state::App;
use crate::tui::strings as s;

/// Breaks a command into lines of at most `width` columns at spaces; a word longer than a
/// line (a CA hash) is split. The text is never shortened.
pub fn wrap_command(cmd: &str, width: usize) -> Vec<String> {
    wrap_text(cmd, width, 2)
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let w = area.width as usize;
    let dry = app.run.join.as_ref().is_some_and(|j| j.root.is_some());
    let mut l = vec![Line::from(Span::styled(
        if dry {
            s::DRY_RUN_DONE
        } else {
            "Your control plane is ready."
        },
        st.ok().add_modifier(ratatui::style::Modifier::BOLD),
    ))];
    if let Some(j) = &app.run.join {
        if let Some(root) = &j.root {
            l.push(Line::from(Span::styled(
                format!("Dry run: the files are under {root}."),
                st.warn(),
            )));
            if let Some(t) = s::dry_run_preflight_errors(&app.failing_checks()) {
                for t in wrap_text(&t, w, 2) {
                    l.push(Line::from(Span::styled(t, st.err())));
                }
            }
        }
        l.push(Line::from(""));
        l.push(Line::from("Join worker nodes (run as root on each):"));
        for t in wrap_command(&j.worker_command("kubestrap"), w) {
            l.push(Line::from(Span::styled(t, st.accent())));
        }
        if let Some(cp) =
            j.control_plane_command(crate::engine::JoinInfo::CONTROL_PLANE_JOIN_PROGRAM)
        {
            l.push(Line::from(
                "Join more control-plane nodes (run as root on each):",
            ));
            for t in wrap_command(&cp, w) {
                l.push(Line::from(Span::styled(t, st.accent())));
            }
            if j.certificate_key.is_some() {
                for t in wrap_text(crate::engine::JoinInfo::CERTIFICATE_KEY_SHORT, w, 2) {
                    l.push(Line::from(t));
                }
            }
        }
        let ttl = match j.token_ttl_secs {
            Some(s) if s % 3600 == 0 => format!("expires in {} h", s / 3600),
            Some(s) => format!("expires in {} min", s / 60),
            None => "never expires".into(),
        };
        let t = format!("The token {ttl}; a new one: kubestrap token create --print-join-command");
        for t in wrap_text(&t, w, 2) {
            l.push(Line::from(Span::styled(t, st.dim())));
        }
    } else {
        l.push(Line::from(Span::styled(
            "The engine reported no join command.",
            st.warn(),
        )));
    }
    l.push(Line::from(""));
    for t in s::ADMIN_CONF_HINT.lines() {
        l.push(Line::from(t.to_string()));
    }
    let pod = &app.answers.pod_subnet;
    let next = match form::cni_for(pod) {
        Some(c) => format!("Next: install a pod network add-on for {pod} (e.g. {c})."),
        None if pod.trim().is_empty() => {
            "Next: install a pod network add-on (set its pod CIDR; none was given).".into()
        }
        None => format!("Next: install a pod network add-on configured for {pod}."),
    };
    for t in wrap_text(&next, w, 0) {
        l.push(Line::from(t));
    }
    frame.render_widget(Paragraph::new(l), area);
}
