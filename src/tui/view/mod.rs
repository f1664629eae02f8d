//! Rendering: a pure function of [`App`] (no I/O). One file per screen.

mod args;
mod done;
mod failure;
mod form;
mod review;
mod run;
mod upgrade;
mod welcome;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use super::state::{App, FileKind, Overlay, Screen, Theme};
use super::strings as s;

/// Minimum usable terminal size.
pub const MIN_W: u16 = 80;
pub const MIN_H: u16 = 24;

/// Styles derived from the theme (16 colours, or none under NO_COLOR).
#[derive(Debug, Clone, Copy)]
pub struct Styles {
    pub theme: Theme,
}

impl Styles {
    fn fg(&self, c: Color) -> Style {
        match self.theme {
            Theme::Color16 => Style::default().fg(c),
            Theme::Mono => Style::default(),
        }
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn err(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn dim(&self) -> Style {
        match self.theme {
            Theme::Color16 => Style::default().fg(Color::DarkGray),
            Theme::Mono => Style::default(),
        }
    }
    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn focus(&self) -> Style {
        match self.theme {
            Theme::Color16 => Style::default().fg(Color::Black).bg(Color::Cyan),
            Theme::Mono => Style::default().add_modifier(Modifier::REVERSED),
        }
    }
    pub fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
}

/// Spinner frame for the current clock.
pub fn spinner(clock_ms: u64) -> &'static str {
    const F: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    F[((clock_ms / 100) % 10) as usize]
}

/// Below 80x24, draws the plain "terminal too small" message over `area` and returns true
/// (shared by the init and join wizards).
pub fn draw_too_small(frame: &mut Frame, area: Rect, st: Styles) -> bool {
    if area.width >= MIN_W && area.height >= MIN_H {
        return false;
    }
    let text = vec![
        Line::from(Span::styled(s::TOO_SMALL, st.err())),
        Line::from(format!(
            "It is {}x{}. {}",
            area.width,
            area.height,
            s::TOO_SMALL_HINT
        )),
        Line::from("Ctrl-C or q quits; other keys wait until it is larger."),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .alignment(Alignment::Center),
        area,
    );
    true
}

/// Draws the whole wizard for `app` into `frame`.
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let st = Styles { theme: app.theme };
    if draw_too_small(frame, area, st) {
        return;
    }
    let title = match app.screen {
        Screen::Run => format!(" {} · running ", s::APP),
        Screen::UpgradePlan | Screen::UpgradeRun => " kubestrap · upgrade ".to_string(),
        Screen::Done => format!(" {} · done ", s::APP),
        Screen::Failure => {
            if matches!(
                app.run.outcome,
                Some(crate::engine::RunOutcome::Cancelled { .. })
            ) {
                format!(" {} · cancelled ", s::APP)
            } else {
                format!(" {} · failed ", s::APP)
            }
        }
        _ => format!(" {} ", s::APP),
    };
    let right = match app.screen {
        Screen::UpgradeRun => {
            let (start, end) = app
                .upgrade_run
                .as_ref()
                .map(|r| (r.started_ms, r.ended_ms.unwrap_or(app.clock_ms)))
                .unwrap_or_default();
            format!(" {} ", fmt_clock(end.saturating_sub(start)))
        }
        Screen::UpgradePlan => String::new(),
        Screen::Run | Screen::Done | Screen::Failure => {
            let end = app.run.ended_ms.unwrap_or(app.clock_ms);
            format!(" {} ", fmt_clock(end.saturating_sub(app.run.started_ms)))
        }
        sc => format!(" step {} of 6 ", sc.step()),
    };
    let keys = footer_keys(app);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Plain)
        .padding(ratatui::widgets::Padding::horizontal(1))
        .title(Line::from(Span::styled(title, st.bold())))
        .title(Line::from(right).alignment(Alignment::Right))
        .title_bottom(Line::from(format!(" {keys} ")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (body, notice) = if app.notice.is_some() {
        let [b, n] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        (b, Some(n))
    } else {
        (inner, None)
    };
    match app.screen {
        Screen::Welcome => welcome::draw(app, frame, body, st),
        Screen::Network | Screen::Cluster => form::draw(app, frame, body, st),
        Screen::Args => args::draw(app, frame, body, st),
        Screen::Review => review::draw(app, frame, body, st),
        Screen::Run => run::draw(app, frame, body, st),
        Screen::Done => done::draw(app, frame, body, st),
        Screen::Failure => failure::draw(app, frame, body, st),
        Screen::UpgradePlan => upgrade::draw_plan(app, frame, body, st),
        Screen::UpgradeRun => upgrade::draw_run(app, frame, body, st),
    }
    if let (Some(n), Some(area)) = (&app.notice, notice) {
        let style = if n.starts_with('✗') {
            st.err()
        } else {
            st.ok()
        };
        frame.render_widget(Paragraph::new(Span::styled(n.as_str(), style)), area);
    }
    draw_overlay(app, frame, area, st);
}

fn fmt_clock(ms: u64) -> String {
    format!("{:02}:{:02}", ms / 60_000, (ms / 1000) % 60)
}

fn footer_keys(app: &App) -> &'static str {
    match app.screen {
        Screen::Welcome if app.upgrade.is_some() => s::KEYS_WELCOME_UPGRADE,
        Screen::Welcome => s::KEYS_WELCOME,
        Screen::UpgradePlan => s::KEYS_UPGRADE_PLAN,
        Screen::UpgradeRun if app.upgrade_running() => s::KEYS_UPGRADE_RUN,
        Screen::UpgradeRun => s::KEYS_UPGRADE_ENDED,
        Screen::Network | Screen::Cluster => s::KEYS_FORM,
        Screen::Args if app.args.edit.is_some() => s::KEYS_ARGS_EDIT,
        Screen::Args => s::KEYS_ARGS,
        Screen::Review => s::KEYS_REVIEW,
        Screen::Run if !app.run.running && app.run.outcome.is_some() => s::KEYS_RUN_ENDED,
        Screen::Run => s::KEYS_RUN,
        Screen::Done => s::KEYS_DONE,
        Screen::Failure => {
            if matches!(
                app.run.outcome,
                Some(crate::engine::RunOutcome::Cancelled { .. })
            ) {
                s::KEYS_CANCELLED
            } else {
                s::KEYS_FAILED
            }
        }
    }
}

/// Word-wraps `text` to `width` columns; continuation lines are indented by `indent`.
/// Words longer than a line are split.
pub fn wrap_text(text: &str, width: usize, indent: usize) -> Vec<String> {
    let width = width.max(indent + 8);
    let lead = text.len() - text.trim_start().len();
    let mut out = vec![];
    let mut cur = text[..lead].to_string();
    let mut cur_w = lead;
    let mut has_word = false;
    for w in text.split_whitespace() {
        let mut word: Vec<char> = w.chars().collect();
        loop {
            let sep = usize::from(has_word);
            if cur_w + sep + word.len() <= width {
                if has_word {
                    cur.push(' ');
                }
                cur.extend(word.iter());
                cur_w += sep + word.len();
                has_word = true;
                break;
            }
            if !has_word {
                // A word longer than the line (a hash): split it.
                let room = width.saturating_sub(cur_w).max(1);
                cur.extend(word.iter().take(room));
                word = word.split_off(room.min(word.len()));
                out.push(std::mem::take(&mut cur));
            } else {
                out.push(std::mem::take(&mut cur));
            }
            cur = " ".repeat(indent);
            cur_w = indent;
            has_word = false;
            if word.is_empty() {
                break;
            }
        }
    }
    if has_word || out.is_empty() {
        out.push(cur);
    }
    out
}

/// The lines of a failed phase's error, wrapped to `width`: the error's own message line by
/// line (`true`: the headline), then one `caused by:` line per cause of its chain. `error`
/// is the whole chain joined by `: ` (as [`crate::engine::Event::PhaseFailed`] carries it);
/// the causes are cut off its end, so a `: ` inside a message never splits it. A cause whose
/// text the cause above already quotes is not repeated.
pub fn error_lines(error: &str, causes: &[String], width: usize) -> Vec<(String, bool)> {
    let mut message = error;
    if !causes.is_empty() {
        let tail = format!(": {}", causes.join(": "));
        message = error.strip_suffix(tail.as_str()).unwrap_or(error);
    }
    let mut out = Vec::new();
    for line in message.lines() {
        let line = line.replace('\t', "  ");
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len() + 2;
        out.extend(
            wrap_text(&line, width, indent)
                .into_iter()
                .map(|t| (t, true)),
        );
    }
    let mut above = message;
    for cause in causes {
        if above.contains(cause.as_str()) {
            continue;
        }
        for (i, line) in cause.lines().enumerate() {
            let line = line.replace('\t', "  ");
            let text = if i == 0 {
                format!("  caused by: {line}")
            } else {
                format!("    {}", line.trim_start())
            };
            out.extend(wrap_text(&text, width, 4).into_iter().map(|t| (t, false)));
        }
        above = cause;
    }
    out
}

/// A rectangle of `w`x`h` centred in `r` (clamped to `r`).
pub fn centered(r: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(r.width);
    let h = h.min(r.height);
    Rect {
        x: r.x + (r.width - w) / 2,
        y: r.y + (r.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_overlay(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let (title, lines): (&str, Vec<Line>) = match &app.overlay {
        Overlay::None => return,
        Overlay::Help => (
            " Keys ",
            s::HELP
                .iter()
                .map(|(k, d)| {
                    Line::from(vec![
                        Span::styled(format!("{k:<16}"), st.accent()),
                        Span::raw(*d),
                    ])
                })
                .chain([
                    Line::from(""),
                    Line::from(Span::styled("Esc or ? closes", st.dim())),
                ])
                .collect(),
        ),
        Overlay::ConfirmQuit => (
            " Quit? ",
            vec![
                Line::from(s::CONFIRM_QUIT),
                Line::from(""),
                Line::from(Span::styled(s::CONFIRM_YN, st.accent())),
            ],
        ),
        Overlay::ConfirmCancel => (
            " Cancel? ",
            vec![
                Line::from(s::CONFIRM_CANCEL),
                Line::from(""),
                Line::from(Span::styled(s::CONFIRM_YN, st.accent())),
            ],
        ),
        Overlay::ConfirmFix { check } => {
            let mut l = vec![Line::from(format!("Apply the fix for {check}?"))];
            if let Some(c) = app.run.checks.iter().find(|c| &c.name == check)
                && let Some(f) = &c.fix
            {
                l.push(Line::from(f.summary.clone()));
                for step in &f.steps {
                    l.push(Line::from(Span::styled(format!("  {step}"), st.warn())));
                }
            }
            l.push(Line::from("Then the check runs again."));
            l.push(Line::from(Span::styled(s::CONFIRM_YN, st.accent())));
            (" Fix ", l)
        }
        Overlay::ConfirmOverwrite { path, .. } => (
            " File exists ",
            vec![
                Line::from(format!("{path} already exists. Overwrite it?")),
                Line::from(""),
                Line::from(Span::styled(s::CONFIRM_YN, st.accent())),
            ],
        ),
        Overlay::Prompt { kind, input } => {
            let label = match kind {
                FileKind::Export => s::PROMPT_EXPORT,
                FileKind::JoinCommand => s::PROMPT_JOIN,
            };
            (
                " Write a file ",
                vec![
                    Line::from(label),
                    Line::from(Span::styled(format!("{}▏", input.value()), st.focus())),
                    Line::from(""),
                    Line::from(Span::styled(s::PROMPT_KEYS, st.accent())),
                ],
            )
        }
    };
    let w = (area.width - 4).min(72);
    let h = (lines.len() as u16 + 4).min(area.height - 2);
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_type(BorderType::Double)
                .title(title),
        ),
        r,
    );
}
