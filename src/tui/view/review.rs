use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::Styles;
use crate::tui::form;
use crate::tui::state::App;
use crate::tui::strings as s;

pub fn draw(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let mut notes: Vec<Line> = vec![];
    if let Some(ip) = form::node_ip(&app.answers, &app.detected.facts) {
        let text = format!(
            "! {ip} is not the default-route address, so it is also set as the kubelet's node-ip (nodeRegistration.kubeletExtraArgs)."
        );
        for t in super::wrap_text(&text, area.width as usize, 2) {
            notes.push(Line::from(Span::styled(t, st.warn())));
        }
    }
    let w = area.width as usize;
    let (mark, style) = if app.upload_certs {
        ("[x]", st.accent())
    } else {
        ("[ ]", st.dim())
    };
    notes.push(Line::from(Span::styled(
        format!("{mark} {}", s::UPLOAD_CERTS_LABEL),
        style,
    )));
    if let Some(warning) = app.upload_certs_warning() {
        for t in super::wrap_text(&format!("! {warning}"), w, 2) {
            notes.push(Line::from(Span::styled(t, st.warn())));
        }
    }
    let [top, body] =
        Layout::vertical([Constraint::Length(notes.len() as u16), Constraint::Min(1)]).areas(area);
    frame.render_widget(Paragraph::new(notes), top);
    let src_w = if area.width >= 110 { 22 } else { 16 };
    let [left, right] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(src_w)]).areas(body);
    let h = body.height.saturating_sub(1) as usize;
    let start = app.review_scroll.min(app.review.len().saturating_sub(1));
    let rows = app.review.iter().skip(start).take(h);
    let mut yaml = vec![Line::from(Span::styled("kubeadm.yaml", st.bold()))];
    let mut src = vec![Line::from(Span::styled(" source", st.bold()))];
    for (line, s) in rows {
        yaml.push(Line::from(line.clone()));
        let style = match s.as_str() {
            "typed" => st.accent(),
            "detected" => st.ok(),
            "flag" => st.warn(),
            _ => st.dim(),
        };
        src.push(Line::from(Span::styled(format!(" {s}"), style)));
    }
    frame.render_widget(Paragraph::new(yaml), left);
    frame.render_widget(
        Paragraph::new(src).block(Block::default().borders(Borders::LEFT)),
        right,
    );
}
