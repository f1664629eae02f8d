use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Styles, error_lines, wrap_text};
use crate::engine::{RunOutcome, Severity};
use crate::tui::state::{App, PhaseStatus};

pub fn draw(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let w = area.width as usize;
    let mut l = vec![];
    let done: Vec<&str> = app
        .run
        .phases
        .iter()
        .filter(|p| matches!(p.status, PhaseStatus::Done { .. }))
        .map(|p| p.name.as_str())
        .collect();
    match &app.run.outcome {
        Some(RunOutcome::Cancelled {
            after_phase,
            interrupted,
            ..
        }) => {
            l.push(Line::from(Span::styled(
                "The run was cancelled.",
                st.warn(),
            )));
            if let Some(p) = interrupted {
                l.push(Line::from(format!("Phase {p} was interrupted in a wait.")));
            }
            l.push(Line::from(match after_phase {
                Some(p) => format!("It stopped after phase {p}."),
                None => "It stopped before the first phase finished.".into(),
            }));
        }
        _ => {
            if let Some(f) = &app.run.failed {
                l.push(Line::from(vec![
                    Span::styled("✗ phase ", st.err()),
                    Span::styled(f.phase.clone(), st.err()),
                    Span::styled(" failed", st.err()),
                ]));
                l.push(Line::from(""));
                for (t, headline) in error_lines(&f.error, &f.causes, w) {
                    l.push(if headline {
                        Line::from(Span::styled(t, st.bold()))
                    } else {
                        Line::from(t)
                    });
                }
                if let Some(h) = &f.hint {
                    l.push(Line::from(""));
                    for t in wrap_text(&format!("Hint: {h}"), w, 2) {
                        l.push(Line::from(Span::styled(t, st.accent())));
                    }
                }
            }
            let failing: Vec<_> = app
                .run
                .checks
                .iter()
                .filter(|c| c.severity == Severity::Error && !c.ignored)
                .collect();
            if !failing.is_empty() {
                l.push(Line::from(""));
                l.push(Line::from("Preflight errors (i ignores them and goes on):"));
                for c in failing {
                    for t in wrap_text(&format!("  ✗ [{}] {}", c.name, c.message), w, 4) {
                        l.push(Line::from(Span::styled(t, st.err())));
                    }
                }
            }
        }
    }
    l.push(Line::from(""));
    let done = format!(
        "Done before it stopped: {}",
        if done.is_empty() {
            "nothing".to_string()
        } else {
            done.join(", ")
        }
    );
    for t in wrap_text(&done, w, 2) {
        l.push(Line::from(t));
    }
    for t in wrap_text(&format!("Full log: {}", app.detected.log_path), w, 2) {
        l.push(Line::from(t));
    }
    let n = l.len() as u16;
    let [top, bottom] =
        Layout::vertical([Constraint::Length(n.min(area.height)), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(l), top);
    if bottom.height > 2 {
        super::run::draw_log(app, frame, bottom, st, true);
    }
}
