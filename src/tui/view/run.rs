use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Gauge, Paragraph};

use super::{Styles, spinner};
use crate::engine::{LogLevel, ProbeOutcome, Severity};
use crate::tui::state::{App, Pane, PhaseStatus, fmt_ms};

fn pane_block(title: &str, focused: bool, st: Styles) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { st.accent() } else { st.dim() })
        .title(Span::styled(
            format!(" {title} "),
            if focused { st.accent() } else { st.bold() },
        ))
}

fn trunc(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let big = area.width >= 110 && area.height >= 34;
    let log_h = if big { 10 } else { (area.height / 4).max(5) };
    let [top, log] = Layout::vertical([Constraint::Min(8), Constraint::Length(log_h)]).areas(area);
    let [phases, right] =
        Layout::horizontal([Constraint::Length(28), Constraint::Min(30)]).areas(top);
    draw_phases(app, frame, phases, st);
    if big {
        let [a, b, c] = Layout::vertical([
            Constraint::Percentage(30),
            Constraint::Percentage(35),
            Constraint::Percentage(35),
        ])
        .areas(right);
        draw_health(app, frame, a, st);
        draw_certs(app, frame, b, st);
        draw_preflight(app, frame, c, st);
    } else {
        let pane = match app.run.focus {
            Pane::Phases | Pane::Log => current_detail(app),
            p => p,
        };
        match pane {
            Pane::Certs => draw_certs(app, frame, right, st),
            Pane::Health => draw_health(app, frame, right, st),
            _ => draw_preflight(app, frame, right, st),
        }
    }
    draw_log(app, frame, log, st, false);
}

fn current_detail(app: &App) -> Pane {
    let running = app
        .run
        .phases
        .iter()
        .rev()
        .find(|p| !matches!(p.status, PhaseStatus::Pending | PhaseStatus::Skipped { .. }))
        .map(|p| p.name.as_str());
    match running {
        Some("certs" | "kubeconfig" | "etcd" | "control-plane" | "kubelet-start") => Pane::Certs,
        Some("preflight") | None => Pane::Preflight,
        Some(_) => Pane::Health,
    }
}

fn draw_phases(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let b = pane_block("Phases", app.run.focus == Pane::Phases, st);
    let inner_w = area.width.saturating_sub(2) as usize;
    let skip = app.run.scroll.get("phases").copied().unwrap_or(0);
    let lines: Vec<Line> = app
        .run
        .phases
        .iter()
        .skip(skip)
        .map(|p| {
            let (sym, style, t) = match &p.status {
                PhaseStatus::Pending => ("·", st.dim(), String::new()),
                PhaseStatus::Running { started_ms } => (
                    spinner(app.clock_ms),
                    st.accent(),
                    fmt_ms(app.clock_ms.saturating_sub(*started_ms)),
                ),
                PhaseStatus::Done { elapsed_ms } if p.name == "preflight" => {
                    let (sym, style) = match app.run.preflight_outcome() {
                        Severity::Error => ("✗", st.err()),
                        Severity::Warning => ("!", st.warn()),
                        Severity::Pass => ("✓", st.ok()),
                    };
                    (sym, style, fmt_ms(*elapsed_ms))
                }
                PhaseStatus::Done { elapsed_ms } => ("✓", st.ok(), fmt_ms(*elapsed_ms)),
                PhaseStatus::Skipped { .. } => ("-", st.dim(), "skipped".into()),
                PhaseStatus::Failed { elapsed_ms } => ("✗", st.err(), fmt_ms(*elapsed_ms)),
            };
            let name_w = inner_w.saturating_sub(2 + t.len() + 1);
            Line::from(vec![
                Span::styled(format!("{sym} "), style),
                Span::raw(format!("{:<name_w$}", trunc(&p.name, name_w))),
                Span::styled(format!(" {t}"), st.dim()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(b), area);
}

fn draw_preflight(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let focused = app.run.focus == Pane::Preflight;
    let b = pane_block("Preflight checks", focused, st);
    let w = area.width.saturating_sub(2) as usize;
    let skip = app.run.scroll.get("preflight").copied().unwrap_or(0);
    let mut lines: Vec<Line> = vec![];
    if app.run.checks.is_empty() {
        lines.push(Line::from(Span::styled("no results yet", st.dim())));
    }
    for (i, c) in app.run.checks.iter().enumerate().skip(skip) {
        let (sym, style, word) = match (c.severity, c.ignored) {
            (Severity::Pass, _) => ("✓", st.ok(), "pass"),
            (Severity::Warning, _) | (Severity::Error, true) => ("!", st.warn(), "warn"),
            (Severity::Error, false) => ("✗", st.err(), "fail"),
        };
        let sel = focused && i == app.run.check_sel;
        let fix = if c.fix.is_some() && c.severity != Severity::Pass {
            " [f fix]"
        } else {
            ""
        };
        let head = format!("{sym} {word} {}{fix} ", c.name);
        let msg_w = w.saturating_sub(head.chars().count());
        // A failed or warned check's message wraps under its name (issue 12: nothing of it
        // is cut at 80 columns); a pass keeps one line.
        if c.severity != Severity::Pass && c.message.chars().count() > msg_w {
            lines.push(Line::from(Span::styled(
                head,
                if sel { st.focus() } else { style },
            )));
            for t in super::wrap_text(&format!("    {}", c.message), w, 4) {
                lines.push(Line::from(t));
            }
        } else {
            lines.push(Line::from(vec![
                Span::styled(head, if sel { st.focus() } else { style }),
                Span::raw(trunc(&c.message, msg_w)),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(b), area);
}

fn draw_certs(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let b = pane_block("Certificates", app.run.focus == Pane::Certs, st);
    let w = area.width.saturating_sub(2) as usize;
    let skip = app.run.scroll.get("certs").copied().unwrap_or(0);
    let mut lines: Vec<Line> = vec![];
    if app.run.certs.is_empty() {
        lines.push(Line::from(Span::styled("none issued yet", st.dim())));
    } else {
        let wide = w >= 80;
        lines.push(Line::from(Span::styled(
            if wide {
                format!(
                    "{:<26}{:<10}{:<9}{:<24}{}",
                    "name", "key", "SANs", "subject", "expires"
                )
            } else {
                format!("{:<24}{:<9}{}", "name", "SANs", "expires")
            },
            st.bold(),
        )));
        for c in app.run.certs.iter().skip(skip) {
            let exp: String = c.not_after.chars().take(10).collect();
            let name = format!("{}{}", c.name, if c.reused { " (reused)" } else { "" });
            let sans = if c.sans.is_empty() {
                "-".to_string()
            } else {
                format!("{} SANs", c.sans.len())
            };
            let text = if wide {
                format!(
                    "{:<26}{:<10}{:<9}{:<24}{}",
                    trunc(&name, 25),
                    trunc(&c.key_algorithm, 9),
                    sans,
                    trunc(&c.subject, 23),
                    exp
                )
            } else {
                format!("{:<24}{:<9}{}", trunc(&name, 23), sans, exp)
            };
            lines.push(Line::from(trunc(&text, w)));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(b), area);
}

fn draw_health(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let b = pane_block("Control-plane health", app.run.focus == Pane::Health, st);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let w = inner.width as usize;
    if app.run.probes.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("waiting for wait-control-plane", st.dim())),
            inner,
        );
        return;
    }
    let mut y = inner.y;
    for p in &app.run.probes {
        if y >= inner.bottom() {
            break;
        }
        let (sym, style, what) = match &p.outcome {
            ProbeOutcome::Healthy => (
                "✓".to_string(),
                st.ok(),
                format!("healthy after {}", fmt_ms(p.elapsed_ms)),
            ),
            ProbeOutcome::Http { status, body } => (
                spinner(app.clock_ms).to_string(),
                st.warn(),
                format!("attempt {}  HTTP {status} {body}", p.attempt),
            ),
            ProbeOutcome::Error { message } => (
                spinner(app.clock_ms).to_string(),
                st.warn(),
                format!("attempt {}  {message}", p.attempt),
            ),
        };
        let line = Line::from(vec![
            Span::raw(format!("{:<24}", trunc(&p.component, 23))),
            Span::styled(format!("{sym} "), style),
            Span::raw(trunc(&what, w.saturating_sub(26))),
        ]);
        frame.render_widget(
            Paragraph::new(line),
            Rect {
                y,
                height: 1,
                ..inner
            },
        );
        y += 1;
        if !matches!(p.outcome, ProbeOutcome::Healthy) && y < inner.bottom() {
            let ratio = if p.timeout_ms == 0 {
                0.0
            } else {
                (p.elapsed_ms as f64 / p.timeout_ms as f64).clamp(0.0, 1.0)
            };
            let g = Gauge::default()
                .ratio(ratio)
                .label(format!(
                    "{} of {}",
                    fmt_ms(p.elapsed_ms),
                    fmt_ms(p.timeout_ms)
                ))
                .gauge_style(st.accent())
                .use_unicode(true);
            frame.render_widget(
                g,
                Rect {
                    y,
                    height: 1,
                    x: inner.x + 2,
                    width: inner.width.saturating_sub(2),
                },
            );
            y += 1;
        }
    }
    if !app.run.readyz.is_empty() && y < inner.bottom() {
        let mut spans = vec![Span::raw("readyz: ")];
        for (name, ok) in &app.run.readyz {
            spans.push(Span::styled(
                format!("[{}]{name} ", if *ok { "+" } else { "-" }),
                if *ok { st.ok() } else { st.err() },
            ));
        }
        let r = Rect {
            y,
            height: inner.bottom() - y,
            ..inner
        };
        frame.render_widget(
            Paragraph::new(Line::from(spans)).wrap(ratatui::widgets::Wrap { trim: true }),
            r,
        );
    }
}

/// The log pane: the newest lines at the bottom; scrolling moves up from the end.
pub fn draw_log(app: &App, frame: &mut Frame, area: Rect, st: Styles, errors_first: bool) {
    let b = pane_block("Log", app.run.focus == Pane::Log, st);
    let h = area.height.saturating_sub(2) as usize;
    let w = area.width.saturating_sub(2) as usize;
    let back = app.run.scroll.get("log").copied().unwrap_or(0);
    let log = &app.run.log;
    let end = log.len().saturating_sub(back);
    let start = end.saturating_sub(h);
    let _ = errors_first;
    let lines: Vec<Line> = log[start..end]
        .iter()
        .map(|l| {
            let style: Style = match l.level {
                LogLevel::Info => Style::default(),
                LogLevel::Warn => st.warn(),
                LogLevel::Error => st.err(),
            };
            let text = match &l.phase {
                Some(p) => format!("[{}] {}", p.split('/').next().unwrap_or(p), l.message),
                None => l.message.clone(),
            };
            Line::from(Span::styled(trunc(&text, w), style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(b), area);
}
