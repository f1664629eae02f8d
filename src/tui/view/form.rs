use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Styles, wrap_text};
use crate::tui::form::{self, FieldId};
use crate::tui::state::{App, Screen};
use crate::tui::strings as s;

const LABEL_W: usize = 24;

fn choice_hint(app: &App, f: FieldId) -> String {
    let v = app.answers.get(f);
    match f {
        FieldId::Advertise => {
            let facts = &app.detected.facts;
            let iface = facts
                .interfaces
                .iter()
                .find(|i| i.addr.to_string() == v.trim())
                .map(|i| i.interface.clone());
            match (iface, v.trim().parse().ok() == facts.default_route_addr) {
                (Some(i), true) => format!("▾ {i} (default route)"),
                (Some(i), false) => format!("▾ {i}"),
                _ => "▾ typed".into(),
            }
        }
        FieldId::PodSubnet => match form::cni_for(v) {
            Some(c) => format!("▾ {c}"),
            None if v.trim().is_empty() => "▾ none (set one for your CNI)".into(),
            None => "▾ custom".into(),
        },
        FieldId::Endpoint => "optional".into(),
        FieldId::Version | FieldId::CriSocket | FieldId::KeyAlgo => "▾ F2".into(),
        _ => String::new(),
    }
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let fields = app.form_fields();
    let heading = if app.screen == Screen::Network {
        "Network: the API server's address and the cluster's address ranges."
    } else {
        "Cluster: what to install and how this node registers."
    };
    let mut l = vec![Line::from(Span::styled(heading, st.bold())), Line::from("")];
    let box_w = (area.width as usize)
        .saturating_sub(LABEL_W + 27)
        .clamp(16, 48);
    let mut cursor: Option<Position> = None;
    for f in fields {
        let focused = *f == app.focus;
        let value = if focused {
            app.input.value().to_string()
        } else {
            app.answers.get(*f).to_string()
        };
        let scroll = if focused {
            app.input.visual_scroll(box_w.saturating_sub(1))
        } else {
            0
        };
        // An unfocused value too long for its box ends in '…' so a cut-off CIDR or SAN
        // list never reads as a different, complete value.
        let shown: String = if !focused && value.chars().count() > box_w {
            value
                .chars()
                .take(box_w.saturating_sub(1))
                .chain(['…'])
                .collect()
        } else {
            value.chars().skip(scroll).take(box_w).collect()
        };
        let label = format!("{:<LABEL_W$}", s::label(*f));
        let row_y = area.y + l.len() as u16;
        if focused {
            let cx = area.x + LABEL_W as u16 + 1 + (app.input.visual_cursor() - scroll) as u16;
            cursor = Some(Position::new(cx, row_y));
        }
        l.push(Line::from(vec![
            Span::styled(label, if focused { st.accent() } else { st.bold() }),
            Span::raw("["),
            Span::styled(
                format!("{shown:<box_w$}"),
                if focused {
                    st.focus()
                } else {
                    Default::default()
                },
            ),
            Span::raw("] "),
            Span::styled(choice_hint(app, *f), st.dim()),
        ]));
        let w = area.width as usize;
        // ... and the whole value follows, wrapped, so nothing of it is hidden at 80 columns.
        if !focused && value.chars().count() > box_w {
            for t in wrap_text(&format!("  = {value}"), w, 4) {
                l.push(Line::from(Span::styled(t, st.dim())));
            }
        }
        if let Some(e) = app.errors.get(f) {
            for t in wrap_text(&format!("  ✗ {e}"), w, 4) {
                l.push(Line::from(Span::styled(t, st.err())));
            }
        } else if let Some(m) = form::field_warning(&app.answers, *f, &app.detected.facts) {
            for t in wrap_text(&format!("  ! {m}"), w, 4) {
                l.push(Line::from(Span::styled(t, st.warn())));
            }
        }
    }
    l.push(Line::from(""));
    l.push(Line::from(Span::styled(
        s::label(app.focus).to_string(),
        st.accent(),
    )));
    for t in wrap_text(s::help(app.focus), area.width as usize, 0) {
        l.push(Line::from(t));
    }
    frame.render_widget(Paragraph::new(l), area);
    if app.overlay_is_none()
        && let Some(p) = cursor
        && p.y < area.bottom()
    {
        frame.set_cursor_position(p);
    }
}
