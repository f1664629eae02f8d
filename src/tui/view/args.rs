use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Styles, wrap_text};
use crate::tui::args::{self, ArgCol};
use crate::tui::state::App;

const NAME_W: usize = 30;

pub fn draw(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let w = area.width as usize;
    let mut l = vec![
        Line::from(Span::styled(
            "Extra arguments for kube-apiserver",
            st.bold(),
        )),
        Line::from(Span::styled(
            "name = value pairs for the kube-apiserver static pod; a later entry wins.",
            st.dim(),
        )),
        Line::from(""),
    ];
    let list = &app.answers.extra_args;
    let mut cursor = None;
    if list.is_empty() && app.args.edit.is_none() {
        l.push(Line::from(Span::styled(
            "  (none) — most clusters need none; press a to add one, Enter to go on",
            st.dim(),
        )));
    }
    let sel = app.args.selected.min(list.len().saturating_sub(1));
    let edit = app.args.edit.as_ref();
    let mut rows: Vec<(Option<usize>, String, String)> = list
        .iter()
        .enumerate()
        .map(|(i, a)| (Some(i), a.name.clone(), a.value.clone()))
        .collect();
    if let Some(e) = edit
        && e.index.is_none()
    {
        rows.push((None, String::new(), String::new()));
    }
    for (idx, name, value) in rows {
        let editing = edit.filter(|e| e.index == idx);
        let marker = if editing.is_some() || (edit.is_none() && idx == Some(sel)) {
            "▸ "
        } else {
            "  "
        };
        let (name, value) = match editing {
            Some(e) => (e.name.value().to_string(), e.value.value().to_string()),
            None => (name, value),
        };
        let tag = if idx.is_none() { "[new] " } else { "" };
        let name_cell = format!("{tag}{name}");
        let y = area.y + l.len() as u16;
        let (ns, vs) = match editing.map(|e| e.column()) {
            Some(ArgCol::Name) => (st.focus(), Default::default()),
            Some(ArgCol::Value) => (Default::default(), st.focus()),
            None if idx == Some(sel) => (st.accent(), st.accent()),
            None => (Default::default(), Default::default()),
        };
        if let Some(e) = editing {
            let x = match e.column() {
                ArgCol::Name => (2 + tag.len() + e.name.visual_cursor()).min(2 + NAME_W - 1),
                ArgCol::Value => 2 + NAME_W + 2 + e.value.visual_cursor(),
            };
            cursor = Some(Position::new(area.x + x.min(w - 1) as u16, y));
        }
        l.push(Line::from(vec![
            Span::raw(marker),
            Span::styled(name_column(&name_cell), ns),
            Span::raw("= "),
            Span::styled(value.clone(), vs),
        ]));
        let n = name.trim();
        if let Some(e) = editing.and_then(|e| e.error.clone()) {
            for t in wrap_text(&format!("    ✗ {e}"), w, 6) {
                l.push(Line::from(Span::styled(t, st.err())));
            }
        } else if editing.is_some() && !n.is_empty() && !args::is_known(n) {
            let c = args::completions(n);
            let msg = if !c.is_empty() {
                format!(
                    "    Tab completes: {}{}",
                    c.iter().take(4).copied().collect::<Vec<_>>().join(", "),
                    if c.len() > 4 { ", …" } else { "" }
                )
            } else {
                match args::suggest(n) {
                    Some(s) => format!("    ✗ unknown flag; did you mean {s}?"),
                    None => "    ✗ unknown flag".to_string(),
                }
            };
            let style = if msg.contains('✗') {
                st.err()
            } else {
                st.dim()
            };
            l.push(Line::from(Span::styled(msg, style)));
        } else if !n.is_empty() && !args::is_known(n) {
            l.push(Line::from(Span::styled(
                "    ✗ unknown kube-apiserver flag".to_string(),
                st.err(),
            )));
        }
        if let Some(v) = args::managed_value(n, &app.answers) {
            let msg = if v == value {
                format!("    same as kubestrap's value: {v}")
            } else {
                format!("    overrides kubestrap's value: {v}")
            };
            for t in wrap_text(&msg, w, 6) {
                l.push(Line::from(Span::styled(t, st.warn())));
            }
        }
    }
    frame.render_widget(Paragraph::new(l), area);
    if app.overlay_is_none()
        && let Some(p) = cursor
        && p.y < area.bottom()
    {
        frame.set_cursor_position(p);
    }
}

/// The name column: `cell` padded to [`NAME_W`] characters, or cut to `NAME_W - 1`
/// characters plus `…` when longer, so the `=` column stays in line.
fn name_column(cell: &str) -> String {
    if cell.chars().count() > NAME_W {
        cell.chars().take(NAME_W - 1).chain(['…']).collect()
    } else {
        format!("{cell:<NAME_W$}")
    }
}
