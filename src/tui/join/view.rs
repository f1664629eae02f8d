//! Rendering of the join wizard: a pure function of [`JoinApp`] (no I/O), in the init
//! wizard's frame (title bar, body, one line of keys) and styles.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};

use super::state::{Field, JoinApp, JoinScreen, PhaseState, ProbeView, Step, label};
use crate::tui::view::{Styles, spinner, wrap_text};

/// The title of the join wizard's frame.
pub const APP: &str = "kubestrap · join";

/// Keys of each screen (the frame's bottom line).
pub const KEYS_FORM: &str = "Tab/↑↓ field · Enter join · Space toggle · Esc quit";
pub const KEYS_PROGRESS: &str = "joining… · Ctrl-C quit";
pub const KEYS_DONE: &str = "Enter or q quit";
pub const KEYS_FAILURE: &str = "r retry · e edit the fields · q quit";

fn clock(ms: u64) -> String {
    format!("{:02}:{:02}", ms / 60_000, (ms / 1000) % 60)
}

fn secs(ms: u64) -> String {
    format!("{}:{:02}", ms / 60_000, (ms / 1000) % 60)
}

/// Draws the join wizard for `app` into `frame`.
pub fn view(app: &JoinApp, frame: &mut Frame) {
    let area = frame.area();
    let st = Styles { theme: app.theme };
    if crate::tui::view::draw_too_small(frame, area, st) {
        return;
    }
    let (title, keys) = match app.screen {
        JoinScreen::Form => (format!(" {APP} "), KEYS_FORM),
        JoinScreen::Progress => (format!(" {APP} · running "), KEYS_PROGRESS),
        JoinScreen::Done => (format!(" {APP} · done "), KEYS_DONE),
        JoinScreen::Failure => (format!(" {APP} · failed "), KEYS_FAILURE),
    };
    let right = match app.screen {
        JoinScreen::Form => " worker node ".to_string(),
        _ => {
            let p = &app.progress;
            let end = p.ended_ms.unwrap_or(app.clock_ms);
            format!(" {} ", clock(end.saturating_sub(p.started_ms)))
        }
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Plain)
        .padding(ratatui::widgets::Padding::horizontal(1))
        .title(Line::from(Span::styled(title, st.bold())))
        .title(Line::from(right).alignment(Alignment::Right))
        .title_bottom(Line::from(format!(" {keys} ")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = inner.width as usize;
    let lines = match app.screen {
        JoinScreen::Form => form(app, st, w),
        JoinScreen::Progress => progress(app, st, w),
        JoinScreen::Done => done(app, st, w),
        JoinScreen::Failure => failure(app, st, w),
    };
    draw_lines(frame, inner, lines, app.screen == JoinScreen::Progress);
}

/// Draws `lines`; when they do not fit, the first ones are kept, or the last ones (the
/// newest progress) when `keep_last`.
fn draw_lines(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>, keep_last: bool) {
    let skip = if keep_last {
        lines.len().saturating_sub(area.height as usize)
    } else {
        0
    };
    let l: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(l), area);
}

fn wrapped(
    out: &mut Vec<Line<'static>>,
    text: &str,
    w: usize,
    indent: usize,
    style: ratatui::style::Style,
) {
    for t in wrap_text(text, w, indent) {
        out.push(Line::from(Span::styled(t, style)));
    }
}

fn hint(f: Field, app: &JoinApp) -> String {
    match f {
        Field::Paste => "The whole `kubestrap join …` (or `kubeadm join …`) command init printed; Enter reads it into the fields.".into(),
        Field::Endpoint => "host:port of the control plane's API server (--discovery-token endpoint).".into(),
        Field::Token => "Bootstrap token for discovery and the TLS bootstrap (--token).".into(),
        Field::Hashes => "Pin of the cluster CA (--discovery-token-ca-cert-hash); several: comma-separated.".into(),
        Field::NodeName => format!("Empty: this machine's hostname, {}.", app.hostname.to_lowercase()),
        Field::CriSocket => format!("Empty: {}.", crate::config::defaults::DEFAULT_CRI_SOCKET),
        Field::UnsafeSkip => "Trust whatever CA the endpoint presents (unsafe; only without a pin).".into(),
    }
}

fn form(app: &JoinApp, st: Styles, w: usize) -> Vec<Line<'static>> {
    let mut l = vec![];
    wrapped(
        &mut l,
        "Join this machine to a cluster as a worker node: paste the join command that `kubestrap init` printed, or fill the fields. Nothing changes until you press Enter.",
        w,
        0,
        st.bold(),
    );
    if let Some(root) = &app.dry_run_root {
        wrapped(
            &mut l,
            &format!(
                "Dry run: files go to {root}, nothing is started; discovery is real (it only reads)."
            ),
            w,
            0,
            st.warn(),
        );
    }
    l.push(Line::from(""));
    let lw = 22;
    let box_w = w.saturating_sub(lw + 2).max(10);
    for f in Field::ALL {
        let focused = app.focus == f;
        let name = format!("{:<lw$}", label(f));
        let name = if f == Field::Paste {
            format!("{:<lw$}", "Paste join command")
        } else {
            name
        };
        let marker = if focused { "▸ " } else { "  " };
        let value = if f == Field::UnsafeSkip {
            if app.unsafe_skip {
                "[x] yes".to_string()
            } else {
                "[ ] no".to_string()
            }
        } else {
            let v = app.value(f);
            // Show the end of long values (where the cursor is).
            let chars: Vec<char> = v.chars().collect();
            let room = box_w.saturating_sub(3);
            let shown: String = if chars.len() > room {
                std::iter::once('…')
                    .chain(chars[chars.len() - room + 1..].iter().copied())
                    .collect()
            } else {
                v.to_string()
            };
            let shown = if focused {
                format!("{shown}▏")
            } else {
                shown
            };
            format!("[{shown:<room$}]")
        };
        let vstyle = if focused {
            st.focus()
        } else {
            ratatui::style::Style::default()
        };
        l.push(Line::from(vec![
            Span::styled(marker, st.accent()),
            Span::raw(name),
            Span::styled(value, vstyle),
        ]));
        let err = app
            .field_error(f)
            .filter(|_| !app.value(f).is_empty() || f == Field::UnsafeSkip);
        match err {
            Some(e) => wrapped(&mut l, &format!("    ✗ {e}"), w, 6, st.err()),
            None if focused => wrapped(&mut l, &format!("    {}", hint(f, app)), w, 4, st.dim()),
            None => {}
        }
        if f == Field::UnsafeSkip && app.unsafe_skip {
            wrapped(
                &mut l,
                "    ! The CA is NOT verified: anyone who can answer on the endpoint with a signed cluster-info can impersonate the control plane.",
                w,
                6,
                st.warn(),
            );
        }
    }
    if let Some(n) = &app.notice {
        l.push(Line::from(""));
        let style = if n.starts_with('✗') {
            st.err()
        } else {
            st.ok()
        };
        wrapped(&mut l, n, w, 2, style);
    }
    l
}

fn step_line(l: &mut Vec<Line<'static>>, w: usize, st: Styles, s: Step, clock_ms: u64, text: &str) {
    let (mark, style) = match s {
        Step::Pending => ("·".to_string(), st.dim()),
        Step::Active => (spinner(clock_ms).to_string(), st.accent()),
        Step::Done => ("✓".to_string(), st.ok()),
        Step::Skipped => ("!".to_string(), st.warn()),
        Step::Failed => ("✗".to_string(), st.err()),
    };
    for (i, t) in wrap_text(text, w.saturating_sub(4), 2)
        .into_iter()
        .enumerate()
    {
        let lead = if i == 0 {
            format!("  {mark} ")
        } else {
            "    ".into()
        };
        l.push(Line::from(vec![Span::styled(lead, style), Span::raw(t)]));
    }
}

fn probe_line(p: &ProbeView, what: &str) -> String {
    let left = p.timeout_ms.saturating_sub(p.elapsed_ms);
    format!(
        "{what} attempt {}: {} · {} of {} · {} left",
        p.attempt,
        p.error.as_deref().unwrap_or("ok"),
        secs(p.elapsed_ms),
        secs(p.timeout_ms),
        secs(left)
    )
}

fn endpoint(app: &JoinApp) -> String {
    app.config
        .as_ref()
        .and_then(|c| {
            c.discovery
                .bootstrap_token
                .as_ref()
                .map(|b| b.api_server_endpoint.clone())
                .or_else(|| {
                    c.discovery
                        .file
                        .as_ref()
                        .map(|f| f.kube_config_path.clone())
                })
        })
        .unwrap_or_default()
}

fn phase_line(st: Styles, app: &JoinApp, name: &str, s: &PhaseState) -> Line<'static> {
    let (mark, style, tail) = match s {
        PhaseState::Pending => ("·".to_string(), st.dim(), String::new()),
        PhaseState::Running { since_ms } => (
            spinner(app.clock_ms).to_string(),
            st.accent(),
            format!(
                "{:.0}s",
                app.clock_ms.saturating_sub(*since_ms) as f64 / 1000.0
            ),
        ),
        PhaseState::Done { elapsed_ms } => (
            "✓".into(),
            st.ok(),
            format!("{:.1}s", *elapsed_ms as f64 / 1000.0),
        ),
        PhaseState::Skipped { reason } => ("–".into(), st.dim(), format!("skipped: {reason}")),
        PhaseState::Failed => ("✗".into(), st.err(), "failed".into()),
    };
    Line::from(vec![
        Span::styled(format!("{mark} "), style),
        Span::raw(format!("{name:<24}")),
        Span::styled(tail, st.dim()),
    ])
}

fn progress_lines(app: &JoinApp, st: Styles, w: usize, l: &mut Vec<Line<'static>>) {
    let p = &app.progress;
    for (name, s) in &p.phases {
        if name == "discovery" {
            l.push(phase_line(st, app, name, s));
            let ep = endpoint(app);
            step_line(
                l,
                w,
                st,
                p.reach,
                app.clock_ms,
                &format!("reach {ep} (cluster-info, no CA trusted yet)"),
            );
            if p.reach == Step::Active || p.reach == Step::Failed {
                if let Some(pr) = &p.discovery_probe {
                    wrapped(
                        l,
                        &format!("      {}", probe_line(pr, "last")),
                        w,
                        8,
                        st.warn(),
                    );
                }
                if let Some(n) = &p.retry_note {
                    wrapped(l, &format!("      {n}"), w, 8, st.dim());
                }
            }
            step_line(
                l,
                w,
                st,
                p.signature,
                app.clock_ms,
                "cluster-info signature checked with the token",
            );
            let pin_text = if p.pin == Step::Skipped {
                "CA pin NOT checked (--discovery-token-unsafe-skip-ca-verification)"
            } else {
                "cluster CA matches the pinned hash"
            };
            step_line(l, w, st, p.pin, app.clock_ms, pin_text);
            step_line(
                l,
                w,
                st,
                p.recheck,
                app.clock_ms,
                "cluster-info fetched again trusting that CA: unchanged",
            );
        } else {
            l.push(phase_line(st, app, name, s));
            if name == "preflight" {
                for e in &p.preflight_errors {
                    wrapped(l, &format!("    ✗ {e}"), w, 6, st.err());
                }
            }
            if name == "kubelet-start" {
                for m in p.kubelet.iter().rev().take(2).rev() {
                    wrapped(l, &format!("    {m}"), w, 6, st.dim());
                }
            }
            if name == "etcd-join" {
                etcd_lines(app, st, w, l);
            }
            if name == "kubelet-wait-bootstrap"
                && let Some(pr) = &p.bootstrap_probe
            {
                wrapped(
                    l,
                    &format!("    {}", probe_line(pr, &pr.component)),
                    w,
                    6,
                    st.dim(),
                );
            }
        }
    }
    if let Some(subj) = &p.ca_subject {
        l.push(Line::from(""));
        ca_lines(l, w, st, subj, &p.ca_pins);
    }
    for warn in &p.warnings {
        wrapped(l, &format!("! {warn}"), w, 2, st.warn());
    }
}

/// The etcd member steps of a control-plane join: add learner, catch-up (live attempts),
/// promote.
fn etcd_lines(app: &JoinApp, st: Styles, w: usize, l: &mut Vec<Line<'static>>) {
    let p = &app.progress;
    if p.external_etcd {
        wrapped(
            l,
            "    external etcd: no local stacked instance added, no etcd member to add",
            w,
            6,
            st.dim(),
        );
        return;
    }
    // The log names it as "learner <id>, <peer URL>".
    let add = match p
        .etcd_learner
        .as_deref()
        .and_then(|s| s.strip_prefix("learner "))
        .and_then(|s| s.split_once(", "))
    {
        Some((id, peer)) => format!("add this node as etcd learner {id} ({peer})"),
        None => "add this node as an etcd learner".to_string(),
    };
    step_line(l, w, st, p.etcd_add, app.clock_ms, &add);
    step_line(
        l,
        w,
        st,
        p.etcd_catch_up,
        app.clock_ms,
        "learner started and caught up with the leader",
    );
    if matches!(p.etcd_catch_up, Step::Active | Step::Failed)
        && let Some(pr) = &p.etcd_probe
    {
        wrapped(
            l,
            &format!("      {}", probe_line(pr, "catch-up")),
            w,
            8,
            st.dim(),
        );
    }
    step_line(
        l,
        w,
        st,
        p.etcd_promote,
        app.clock_ms,
        "promoted to a voting member",
    );
}

/// The cluster CA for the user to compare with the pin printed on the control plane.
fn ca_lines(l: &mut Vec<Line<'static>>, w: usize, st: Styles, subject: &str, pins: &[String]) {
    wrapped(
        l,
        &format!("Cluster CA {subject}; its pin (compare with the one init printed):"),
        w,
        2,
        st.bold(),
    );
    for pin in pins {
        wrapped(l, &format!("  {pin}"), w, 2, st.accent());
    }
}

fn progress(app: &JoinApp, st: Styles, w: usize) -> Vec<Line<'static>> {
    let mut l = vec![];
    wrapped(
        &mut l,
        &format!(
            "Joining node {} to the cluster at {}",
            app.node(),
            endpoint(app)
        ),
        w,
        2,
        st.bold(),
    );
    if let Some(root) = &app.dry_run_root {
        wrapped(
            &mut l,
            &format!("Dry run: files go to {root}; the kubelet is not started."),
            w,
            0,
            st.warn(),
        );
    }
    progress_lines(app, st, w, &mut l);
    l
}

fn done(app: &JoinApp, st: Styles, w: usize) -> Vec<Line<'static>> {
    let mut l = vec![];
    let node = app.node();
    if let Some(root) = &app.dry_run_root {
        l.push(Line::from(Span::styled(
            "Dry run finished: discovery succeeded and this node would join the cluster.",
            st.ok(),
        )));
        wrapped(
            &mut l,
            &format!(
                "The files are under {root} ({} written). Nothing was started, so there was no TLS bootstrap to wait for.",
                app.progress.files.len()
            ),
            w,
            0,
            ratatui::style::Style::default(),
        );
    } else if app
        .config
        .as_ref()
        .is_some_and(|c| c.control_plane.is_some())
    {
        wrapped(
            &mut l,
            "This node has joined the cluster and a new control plane instance was created:",
            w,
            0,
            st.ok(),
        );
        let plain = ratatui::style::Style::default();
        // kubeadm's joinControlPlaneDoneTemp: the etcd line only with stacked etcd.
        let etcd = (!app.progress.external_etcd)
            .then_some("  * A new etcd member was added to the local/stacked etcd cluster.");
        for m in [
            "  * Certificate signing request was sent to apiserver and approval was received.",
            "  * The Kubelet was informed of the new secure connection details.",
            "  * Control plane label and taint were applied to the new node.",
            "  * The Kubernetes control plane instances scaled up.",
        ]
        .into_iter()
        .chain(etcd)
        {
            wrapped(&mut l, m, w, 4, plain);
        }
    } else {
        l.push(Line::from(Span::styled(
            "This node has joined the cluster.",
            st.ok(),
        )));
        let plain = ratatui::style::Style::default();
        wrapped(
            &mut l,
            "  * A certificate signing request was sent to the API server and a response was received.",
            w,
            4,
            plain,
        );
        wrapped(
            &mut l,
            "  * The kubelet was informed of the new secure connection details.",
            w,
            4,
            plain,
        );
    }
    l.push(Line::from(""));
    let p = &app.progress;
    if let Some(subj) = &p.ca_subject {
        ca_lines(&mut l, w, st, subj, &p.ca_pins);
        l.push(Line::from(""));
    }
    for warn in &p.warnings {
        wrapped(&mut l, &format!("! {warn}"), w, 2, st.warn());
    }
    l.push(Line::from(Span::styled(
        "Next step, on the control plane:",
        st.bold(),
    )));
    l.push(Line::from(Span::styled("  kubectl get nodes", st.accent())));
    wrapped(
        &mut l,
        &format!(
            "  to see this node ({node}) join the cluster; it turns Ready once a pod network add-on runs on it."
        ),
        w,
        2,
        st.dim(),
    );
    l
}

fn failure(app: &JoinApp, st: Styles, w: usize) -> Vec<Line<'static>> {
    let mut l = vec![];
    let p = &app.progress;
    if let Some((phase, err, hint)) = &p.failed {
        l.push(Line::from(Span::styled(
            format!("✗ phase {phase} failed"),
            st.err(),
        )));
        l.push(Line::from(""));
        for (t, headline) in crate::tui::view::error_lines(err, &p.failed_causes, w) {
            l.push(if headline {
                Line::from(Span::styled(t, st.bold()))
            } else {
                Line::from(t)
            });
        }
        if let Some(h) = hint {
            l.push(Line::from(""));
            wrapped(&mut l, &format!("Hint: {h}"), w, 2, st.accent());
        }
    } else {
        l.push(Line::from(Span::styled("✗ the join stopped", st.err())));
    }
    l.push(Line::from(""));
    l.push(Line::from(Span::styled(
        "Progress before it stopped:",
        st.dim(),
    )));
    progress_lines(app, st, w, &mut l);
    l
}
