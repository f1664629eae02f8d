//! The upgrade screens: the plan (the tables `kubestrap upgrade plan` prints, from
//! `phases::upgrade::plan::component_table`) with its confirmation, and the upgrade's run
//! (each component old → new: upgrading, restart seen, healthy; the log).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{Styles, spinner, wrap_text};
use crate::engine::{LogLevel, RunOutcome};
use crate::phases::upgrade::plan::component_table;
use crate::tui::state::{App, CompStatus};

fn pane(title: &str, st: Styles) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(st.dim())
        .title(Span::styled(format!(" {title} "), st.bold()))
}

/// The plan screen: the target, the control plane's and the kubelets' tables, and the
/// question.
pub fn draw_plan(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let Some(offer) = &app.upgrade else {
        return;
    };
    let v = offer.version();
    let mut l = vec![
        Line::from(Span::styled(
            format!(
                "Upgrade this control plane to {v} (the latest {})",
                offer.plan.description
            ),
            st.bold(),
        )),
        Line::from(""),
    ];
    for t in component_table(&offer.plan, false).lines() {
        l.push(Line::from(t.to_string()));
    }
    l.push(Line::from(""));
    l.push(Line::from(
        "Upgraded by hand afterwards (the kubelet package, on each node):",
    ));
    for t in component_table(&offer.plan, true).lines() {
        l.push(Line::from(Span::styled(t.to_string(), st.dim())));
    }
    l.push(Line::from(""));
    let w = area.width as usize;
    for t in wrap_text(
        &format!(
            "As 'kubestrap upgrade apply {v} --yes': health checks and the skew policy first, backups under /etc/kubernetes/tmp, then etcd and each control-plane component, rolled back if it does not come up."
        ),
        w,
        0,
    ) {
        l.push(Line::from(t));
    }
    l.push(Line::from(""));
    l.push(Line::from(Span::styled(
        format!("Upgrade to {v} now? Enter/y upgrade · Esc/n back"),
        st.accent(),
    )));
    frame.render_widget(Paragraph::new(l).wrap(Wrap { trim: false }), area);
}

/// The upgrade's run screen: the components' pane over the log pane.
pub fn draw_run(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let Some(run) = &app.upgrade_run else {
        return;
    };
    let rows_h = (run.rows.len() as u16 + 2).min(area.height.saturating_sub(6));
    let [head, comps, log] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(rows_h),
        Constraint::Min(4),
    ])
    .areas(area);
    let head_line = match &run.outcome {
        None if run.cancel_requested => Span::styled(
            format!("Upgrading to {}: cancelling…", run.version),
            st.warn(),
        ),
        None => Span::raw(format!(
            "{} Upgrading to {}",
            spinner(app.clock_ms),
            run.version
        )),
        Some(RunOutcome::Succeeded) => Span::styled(
            format!(
                "✓ Upgraded to {}. Upgrade the kubelet package next, then the other nodes (kubestrap upgrade node).",
                run.version
            ),
            st.ok(),
        ),
        Some(RunOutcome::Failed { .. }) => Span::styled(
            format!("✗ The upgrade to {} failed; see the log below", run.version),
            st.err(),
        ),
        Some(RunOutcome::Cancelled { .. }) => Span::styled(
            format!("✗ The upgrade to {} was cancelled", run.version),
            st.err(),
        ),
    };
    frame.render_widget(Paragraph::new(Line::from(head_line)), head);
    let name_w = run.rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let lines: Vec<Line> = run
        .rows
        .iter()
        .map(|r| {
            let (mark, what, style) = match r.status {
                CompStatus::Pending => ("·", "waiting", st.dim()),
                CompStatus::Upgrading => (
                    spinner(app.clock_ms),
                    "new manifest, restarting",
                    st.accent(),
                ),
                CompStatus::Restarted => (
                    spinner(app.clock_ms),
                    "restart seen, probing health",
                    st.accent(),
                ),
                CompStatus::Healthy => ("✓", "restart seen, healthy", st.ok()),
                CompStatus::Unchanged => ("✓", "unchanged", st.ok()),
                CompStatus::Failed => ("✗", "failed, rolled back", st.err()),
                CompStatus::WouldUpgrade => ("✓", "would be upgraded (dry run)", st.warn()),
            };
            let what = if r.name == "CoreDNS" || r.name == "kube-proxy" {
                match r.status {
                    CompStatus::Healthy => "applied",
                    _ => what,
                }
            } else {
                what
            };
            Line::from(vec![
                Span::styled(format!("{mark} "), style),
                Span::raw(format!(
                    "{:<name_w$}  {} → {}  ",
                    r.name,
                    if r.from.is_empty() { "-" } else { &r.from },
                    r.to
                )),
                Span::styled(what.to_string(), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(pane("Components", st)), comps);
    let h = log.height.saturating_sub(2) as usize;
    let w = log.width.saturating_sub(2) as usize;
    let end = run.log.len().saturating_sub(run.scroll);
    let start = end.saturating_sub(h);
    let lines: Vec<Line> = run.log[start..end]
        .iter()
        .map(|l| {
            let style: Style = match l.level {
                LogLevel::Info => Style::default(),
                LogLevel::Warn => st.warn(),
                LogLevel::Error => st.err(),
            };
            let text: String = l.message.chars().take(w).collect();
            Line::from(Span::styled(text, style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(pane("Log", st)), log);
}
