//! TestBackend snapshots of every screen at 80x24 and 120x40, the too-small message,
//! colours, and the dry-run done screen.

use super::*;

#[test]
fn snapshots_of_every_screen() {
    let mut a = app();
    snap("welcome", &a);
    send(&mut a, [key(KeyCode::Enter)]);
    snap("network", &a);
    let mut bad = a.clone();
    send(
        &mut bad,
        [key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Tab)],
    );
    send(&mut bad, clear_field());
    send(&mut bad, typed("10.96.0.0/16"));
    send(
        &mut bad,
        [key(KeyCode::Up), key(KeyCode::Up), key(KeyCode::Up)],
    );
    send(&mut bad, clear_field());
    send(&mut bad, typed("10.0.0"));
    send(&mut bad, [key(KeyCode::Enter)]);
    snap("network_errors", &bad);
    send(&mut a, [key(KeyCode::Enter)]);
    snap("cluster", &a);
    let mut bad = a.clone();
    send(&mut bad, clear_field());
    send(&mut bad, typed("v1.20.0"));
    send(&mut bad, [key(KeyCode::Tab)]);
    send(&mut bad, clear_field());
    send(&mut bad, typed("Node_A"));
    send(&mut bad, [key(KeyCode::Enter)]);
    snap("cluster_errors", &bad);
    send(&mut a, [key(KeyCode::Enter)]);
    snap("args_empty", &a);
    send(&mut a, [key(KeyCode::Char('a'))]);
    send(&mut a, typed("audit-log-path"));
    send(&mut a, [key(KeyCode::Tab)]);
    send(&mut a, typed("/var/log/kubernetes/audit.log"));
    send(&mut a, [key(KeyCode::Enter), key(KeyCode::Char('a'))]);
    send(&mut a, typed("enable-admission-plugins"));
    send(&mut a, [key(KeyCode::Tab)]);
    send(&mut a, typed("NodeRestriction,AlwaysPullImages"));
    send(&mut a, [key(KeyCode::Enter), key(KeyCode::Char('a'))]);
    send(&mut a, typed("featureGates"));
    send(&mut a, [key(KeyCode::Enter)]);
    snap("args_editing_error", &a);
    send(&mut a, [key(KeyCode::Esc)]);
    snap("args_list", &a);
    send(&mut a, [key(KeyCode::Enter)]);
    snap("review", &a);
    // "upload certificates" on without a control-plane endpoint: the CLI's warning
    let mut up = a.clone();
    send(&mut up, [key(KeyCode::Char('u'))]);
    snap("review_upload_certs_no_endpoint", &up);
    let mut ex = a.clone();
    send(&mut ex, [key(KeyCode::Char('x'))]);
    snap("review_export_prompt", &ex);
    send(&mut ex, [key(KeyCode::Enter)]);
    send(
        &mut ex,
        [Msg::FileExists {
            kind: FileKind::Export,
            path: "kubeadm.yaml".into(),
        }],
    );
    snap("review_overwrite", &ex);
    snap("run", &running_app(false));
    snap("run_full_log", &running_app(true));
    let mut c = running_app(false);
    send(&mut c, [ctrl('c')]);
    snap("run_confirm_cancel", &c);
    snap("done", &done_app());
    // High availability: both join commands, the certificate key and its lifetime.
    let mut ha = running_app(false);
    send(
        &mut ha,
        [
            Msg::Engine(Event::JoinReady(JoinInfo {
                endpoint: "cp.example:6443".into(),
                certificate_key: Some("0123456789abcdef".repeat(4)),
                control_plane: true,
                ..join()
            })),
            Msg::Engine(Event::Finished {
                outcome: RunOutcome::Succeeded,
            }),
        ],
    );
    snap("done_ha", &ha);
    snap("failure", &failed_app());
    send(&mut c, [key(KeyCode::Char('y'))]);
    send(
        &mut c,
        [Msg::Engine(Event::Finished {
            outcome: RunOutcome::Cancelled {
                after_phase: Some("kubelet-start".into()),
                interrupted: None,
                completed: vec!["preflight".into(), "kubelet-start".into()],
            },
        })],
    );
    snap("cancelled", &c);
    let mut h = app();
    send(&mut h, [key(KeyCode::Char('?'))]);
    snap("help", &h);
    let mut mono = done_app();
    mono.theme = Theme::Mono;
    snap("done_no_color", &mono);
    // failure states of the welcome, review and run screens
    let mut d = detected();
    d.runtime_socket = None;
    d.kubelet = None;
    d.facts.interfaces.clear();
    d.facts.default_route_addr = None;
    d.facts.cpus = 1;
    d.facts.memory_mib = 900;
    let base = crate::tui::base_config(&InitFlags::default(), &d, None);
    snap("welcome_missing", &App::new(base, d, Theme::Color16, false));
    let mut n = app();
    send(&mut n, [key(KeyCode::Enter), key(KeyCode::F(2))]);
    send(&mut n, std::iter::repeat_n(key(KeyCode::Enter), 3));
    assert_eq!(n.screen, Screen::Review);
    snap("review_node_ip", &n);
    // ... and with one: no warning, the toggle shown on
    let mut e = app();
    send(
        &mut e,
        [key(KeyCode::Enter), key(KeyCode::Tab), key(KeyCode::Tab)],
    );
    send(&mut e, typed("cp.example.com:6443"));
    send(&mut e, std::iter::repeat_n(key(KeyCode::Enter), 3));
    send(&mut e, [key(KeyCode::Char('u'))]);
    assert_eq!(e.screen, Screen::Review);
    snap("review_upload_certs", &e);
    let mut r = running_app(false);
    send(
        &mut r,
        [Msg::Engine(Event::PhaseFailed {
            phase: "wait-control-plane".into(),
            elapsed_ms: 240_000,
            error: "the control plane did not become healthy within 4m0s: kube-apiserver: connection refused".into(),
            causes: vec!["kube-apiserver: connection refused".into()],
            hint: Some("look at the kubelet's journal: journalctl -u kubelet".into()),
        })],
    );
    snap("run_phase_failed", &r);
}

#[test]
fn too_small_terminal_says_so() {
    let text = render(&app(), 60, 20);
    assert!(
        text.contains("The terminal is too small for the wizard."),
        "{text}"
    );
    assert!(
        text.contains("It is 60x20. Make it at least 80 columns"),
        "{text}"
    );
    assert!(!text.contains("; Make"), "{text}");
}

#[test]
fn colours_follow_the_theme() {
    let mut a = failed_app();
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| crate::tui::view::view(&a, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let red = (0..80u16)
        .flat_map(|x| (0..24u16).map(move |y| (x, y)))
        .any(|p| buf[p].fg == ratatui::style::Color::Red);
    assert!(red, "failure text is red with colours");
    a.theme = Theme::Mono;
    t.draw(|f| crate::tui::view::view(&a, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let coloured = (0..80u16)
        .flat_map(|x| (0..24u16).map(move |y| (x, y)))
        .any(|p| {
            buf[p].fg != ratatui::style::Color::Reset || buf[p].bg != ratatui::style::Color::Reset
        });
    assert!(!coloured, "NO_COLOR: no colour at all");
    // ... and the selection is still visible: the focused field is in reverse video (issue 12)
    let mut f = app();
    f.theme = Theme::Mono;
    send(&mut f, [key(KeyCode::Enter)]);
    assert_eq!(f.screen, Screen::Network);
    t.draw(|fr| crate::tui::view::view(&f, fr)).unwrap();
    let buf = t.backend().buffer().clone();
    let reversed: String = (0..80u16)
        .filter(|x| {
            buf[(*x, 3u16)]
                .modifier
                .contains(ratatui::style::Modifier::REVERSED)
        })
        .map(|x| buf[(x, 3u16)].symbol().to_string())
        .collect();
    assert!(
        reversed.contains(f.answers.advertise.as_str()),
        "focused field not in reverse video: {reversed:?}"
    );
}

#[test]
fn dry_run_done_screen_does_not_claim_a_ready_cluster_and_lists_preflight_errors() {
    let mut a = done_app();
    assert!(a.run.join.as_ref().unwrap().root.is_some(), "a dry run");
    a.run.checks.push(crate::tui::state::CheckRow {
        name: "CRI".into(),
        severity: Severity::Error,
        message: "container runtime is not running".into(),
        fix: None,
        ignored: false,
    });
    let text = render(&a, 80, 24);
    assert!(!text.contains("Your control plane is ready"), "{text}");
    assert!(
        text.contains("Dry run finished; nothing was started."),
        "{text}"
    );
    assert!(
        text.contains("A real init would stop in preflight on 1 error(s): CRI"),
        "{text}"
    );
}

/// Finding 3: a failure with a long multi-cause error shows the error's own causes (a `: `
/// inside a message does not split it; the preflight list keeps its lines) and wraps the
/// "Done before it stopped" and "Full log" lines instead of cutting them.
#[test]
fn failure_with_a_long_cause_chain() {
    let mut a = app();
    send(&mut a, std::iter::repeat_n(key(KeyCode::Enter), 4));
    send(&mut a, [key(KeyCode::Enter)]);
    a.detected.log_path =
        "/var/log/kubestrap/kubestrap-init-2026-12-07T08-00-00Z-attempt-1-of-a-long-named-run.log"
            .into();
    let mut evs = vec![];
    for p in ["preflight", "certs", "kubeconfig", "etcd", "control-plane"] {
        evs.push(Msg::Engine(Event::PhaseStarted { phase: p.into() }));
        evs.push(Msg::Engine(Event::PhaseFinished {
            phase: p.into(),
            elapsed_ms: 10,
        }));
    }
    let causes = vec![
        "cannot reach the API server at https://192.0.2.2:6443: dial tcp 192.0.2.2:6443: connect: connection refused".to_string(),
    ];
    let message = "cannot write kube-system/kubelet-config: the API server did not answer within 4m0s (unix:///var/run/containerd/containerd.sock)";
    evs.push(Msg::Engine(Event::PhaseStarted {
        phase: "kubelet-start".into(),
    }));
    evs.push(Msg::Engine(Event::PhaseFailed {
        phase: "kubelet-start".into(),
        elapsed_ms: 240_000,
        error: format!("{message}: {}", causes.join(": ")),
        causes,
        hint: Some("check that kube-apiserver runs: crictl ps --name kube-apiserver".into()),
    }));
    evs.push(Msg::Engine(Event::Finished {
        outcome: RunOutcome::Failed {
            phase: "kubelet-start".into(),
        },
    }));
    send(&mut a, evs);
    assert_eq!(a.screen, Screen::Failure);
    let small = render(&a, 80, 24);
    assert!(
        small.contains("caused by: cannot reach the API server at https://192.0.2.2:6443:"),
        "{small}"
    );
    assert!(!small.contains("caused by: dial tcp"), "{small}");
    assert!(
        small.contains("-named-run.log"),
        "the log path wraps: {small}"
    );
    snap("failure_long_causes", &a);
}
