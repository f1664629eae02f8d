use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::Styles;
use crate::tui::state::App;
use crate::tui::strings as s;

pub fn draw(app: &App, frame: &mut Frame, area: Rect, st: Styles) {
    let d = &app.detected;
    let f = &d.facts;
    let mut l = vec![Line::from(s::WELCOME_INTRO), Line::from("")];
    l.push(Line::from(Span::styled("This machine", st.bold())));
    let kv = |k: &str, v: Vec<Span<'static>>| {
        let mut spans = vec![Span::raw(format!("  {k:<14}"))];
        spans.extend(v);
        Line::from(spans)
    };
    l.push(kv("hostname", vec![Span::raw(f.hostname.clone())]));
    let gib = f.memory_mib as f64 / 1024.0;
    let enough = f.cpus >= 2 && f.memory_mib >= 1700;
    l.push(kv(
        "CPUs, memory",
        vec![
            Span::raw(format!("{} cores, {gib:.1} GiB   ", f.cpus)),
            if enough {
                Span::styled("✓ enough (2 cores, 1700 MB)", st.ok())
            } else {
                Span::styled("✗ kubeadm wants 2 cores and 1700 MB", st.warn())
            },
        ],
    ));
    l.push(kv(
        "runtime",
        match &d.runtime_socket {
            Some(sock) => vec![Span::raw(format!("{sock} ")), Span::styled("✓", st.ok())],
            None => vec![Span::styled(
                "✗ no container runtime socket found (containerd, CRI-O)",
                st.warn(),
            )],
        },
    ));
    l.push(kv(
        "kubelet",
        match &d.kubelet {
            Some(p) => vec![Span::raw(format!("{p} ")), Span::styled("✓", st.ok())],
            None => vec![Span::styled("✗ not found in PATH", st.warn())],
        },
    ));
    for (n, line) in d.existing.iter().enumerate() {
        let style = if line.starts_with('✗') {
            st.warn()
        } else {
            st.accent()
        };
        l.push(kv(
            if n == 0 { "control plane" } else { "" },
            vec![Span::styled(line.clone(), style)],
        ));
    }
    if let Some(u) = &app.upgrade {
        let v = u.version();
        l.push(kv(
            "",
            vec![Span::styled(
                format!("u upgrades it to {v} (kubestrap upgrade apply {v})"),
                st.accent(),
            )],
        ));
    }
    let ifaces: Vec<_> = f
        .interfaces
        .iter()
        .filter(|i| crate::tui::form::usable_address(&i.addr))
        .collect();
    if ifaces.is_empty() {
        l.push(kv(
            "addresses",
            vec![Span::styled("none detected", st.warn())],
        ));
    }
    for (n, i) in ifaces.iter().enumerate() {
        let mut spans = vec![Span::raw(format!(
            "{:<6} {}/{}",
            i.interface, i.addr, i.prefix_len
        ))];
        if Some(i.addr) == f.default_route_addr {
            spans.push(Span::styled("  ← default route (suggested)", st.accent()));
        }
        l.push(kv(if n == 0 { "addresses" } else { "" }, spans));
    }
    l.push(Line::from(""));
    if d.dry_run {
        l.push(Line::from(Span::styled(
            format!(
                "Dry run: files go to {}, nothing is started.",
                d.root.as_deref().unwrap_or("a temporary directory")
            ),
            st.warn(),
        )));
    } else if let Some(r) = &d.root {
        l.push(Line::from(format!("Files go under {r}.")));
    }
    if let Some((done, wanted)) = app.keys {
        l.push(Line::from(Span::styled(
            format!("Key pairs generated in the background: {done} of {wanted}"),
            st.dim(),
        )));
    }
    frame.render_widget(Paragraph::new(l).wrap(Wrap { trim: false }), area);
}
