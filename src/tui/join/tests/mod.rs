//! Update-function tests and TestBackend snapshots of the join wizard.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::state::*;
use crate::cli::JoinArgs;
use crate::engine::{Event, LogLevel, ProbeOutcome, RunOutcome, Severity};
use crate::tui::state::Theme;

const TOKEN: &str = "abcdef.0123456789abcdef";
const PIN: &str = "sha256:8e1538c2ec16711d5f53d414f939baf7567c2fe21ab40f030a928057e17aaee7";

fn app() -> JoinApp {
    JoinApp::new(JoinArgs::default(), "Node-B", None, Theme::Color16)
}

fn key(c: KeyCode) -> JoinMsg {
    JoinMsg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn typed(a: &mut JoinApp, s: &str) {
    for c in s.chars() {
        update(a, key(KeyCode::Char(c)));
    }
}

fn log(phase: &str, level: LogLevel, msg: &str) -> JoinMsg {
    JoinMsg::Engine(Event::Log {
        level,
        phase: Some(phase.into()),
        message: msg.into(),
    })
}

fn ev(e: Event) -> JoinMsg {
    JoinMsg::Engine(e)
}

fn pasted() -> String {
    format!(
        "sudo kubeadm join 192.0.2.10:6443 --token {TOKEN} \\\n    --discovery-token-ca-cert-hash {PIN}\n"
    )
}

#[test]
fn bracketed_paste_fills_the_fields() {
    let mut a = app();
    assert!(update(&mut a, JoinMsg::Paste(pasted())).is_empty());
    assert_eq!(a.endpoint.value(), "192.0.2.10:6443");
    assert_eq!(a.token.value(), TOKEN);
    assert_eq!(a.hashes.value(), PIN);
    assert_eq!(a.paste.value(), "");
    assert!(a.notice.as_deref().unwrap().starts_with('✓'));
    for f in Field::ALL {
        assert_eq!(a.field_error(f), None, "{f:?}");
    }
    // Enter starts with a configuration built from the fields.
    let fx = update(&mut a, key(KeyCode::Enter));
    let [JoinEffect::Start(cfg)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let bt = cfg.discovery.bootstrap_token.as_ref().unwrap();
    assert_eq!(bt.api_server_endpoint, "192.0.2.10:6443");
    assert_eq!(bt.token, TOKEN);
    assert_eq!(bt.ca_cert_hashes, vec![PIN.to_string()]);
    assert_eq!(cfg.discovery.tls_bootstrap_token, TOKEN);
    assert_eq!(cfg.node_registration.name, "node-b");
    assert_eq!(a.screen, JoinScreen::Progress);
}

#[test]
fn a_pasted_control_plane_command_joins_a_control_plane_node() {
    let mut a = app();
    let key_hex = "ab".repeat(32);
    let cmd = format!(
        "kubestrap join 192.0.2.10:6443 --token {TOKEN} --discovery-token-ca-cert-hash {PIN} --control-plane --certificate-key {key_hex} --apiserver-advertise-address 192.0.2.11"
    );
    assert!(update(&mut a, JoinMsg::Paste(cmd)).is_empty());
    let notice = a.notice.clone().unwrap();
    assert!(notice.contains("control-plane"), "{notice}");
    assert!(!notice.contains(&key_hex), "the key is a secret: {notice}");
    let fx = update(&mut a, key(KeyCode::Enter));
    let [JoinEffect::Start(cfg)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    let cp = cfg.control_plane.as_ref().expect("a control-plane join");
    assert_eq!(cp.certificate_key, key_hex);
    assert_eq!(cp.local_api_endpoint.advertise_address, "192.0.2.11");
    assert_eq!(cp.local_api_endpoint.bind_port, 6443);
    // A worker command pasted afterwards clears the control-plane flags.
    let mut b = app();
    update(
        &mut b,
        JoinMsg::Paste(format!(
            "kubestrap join 192.0.2.10:6443 --token {TOKEN} --discovery-token-ca-cert-hash {PIN} --control-plane --certificate-key {key_hex}"
        )),
    );
    update(&mut b, JoinMsg::Paste(pasted()));
    assert!(!b.args().control_plane && b.args().certificate_key.is_none());
}

#[test]
fn typed_paste_with_line_continuation_then_enter() {
    let mut a = app();
    typed(
        &mut a,
        &format!("kubestrap join 192.0.2.10:6443 --token {TOKEN} \\"),
    );
    // Enter after a trailing backslash continues the command.
    assert!(update(&mut a, key(KeyCode::Enter)).is_empty());
    assert_eq!(a.endpoint.value(), "");
    typed(&mut a, &format!("  --discovery-token-ca-cert-hash {PIN}"));
    assert!(update(&mut a, key(KeyCode::Enter)).is_empty());
    assert_eq!(a.endpoint.value(), "192.0.2.10:6443");
    assert_eq!(a.hashes.value(), PIN);
}

#[test]
fn a_paste_that_is_not_a_join_command_is_explained() {
    let mut a = app();
    update(&mut a, JoinMsg::Paste("kubectl get nodes".into()));
    let n = a.notice.clone().unwrap();
    assert!(n.starts_with("✗ not a join command"), "{n}");
    update(
        &mut a,
        JoinMsg::Paste(format!("kubeadm join 1.2.3.4:6443 --token {TOKEN} --bogus")),
    );
    let n = a.notice.clone().unwrap();
    assert!(n.contains("does not parse") && n.contains("--bogus"), "{n}");
    assert_eq!(a.endpoint.value(), "");
}

#[test]
fn every_field_is_validated_as_typed() {
    let mut a = app();
    let cases: [(Field, &str, &str); 6] = [
        (Field::Endpoint, "192.0.2.10", "has no port"),
        (Field::Token, "abcdef.short", "[a-z0-9]{6}.[a-z0-9]{16}"),
        (Field::Hashes, "sha256:abcd", "sha256:<64 hex characters>"),
        (Field::Hashes, "md5:00", "sha256:<64 hex characters>"),
        (Field::NodeName, "Node_B", "RFC 1123"),
        (Field::CriSocket, "tcp://1.2.3.4", "unix socket"),
    ];
    for (f, v, want) in cases {
        a.focus = f;
        *match f {
            Field::Endpoint => &mut a.endpoint,
            Field::Token => &mut a.token,
            Field::Hashes => &mut a.hashes,
            Field::NodeName => &mut a.node_name,
            _ => &mut a.cri_socket,
        } = tui_input::Input::new(v.into());
        let e = a.field_error(f).unwrap_or_default();
        assert!(e.contains(want), "{f:?} {v:?}: {e}");
    }
    // Empty required fields say what is expected; empty optional ones are fine.
    let b = app();
    assert!(b.field_error(Field::Endpoint).unwrap().contains("required"));
    assert!(b.field_error(Field::Token).unwrap().contains("required"));
    assert!(
        b.field_error(Field::Hashes)
            .unwrap()
            .contains("required unless")
    );
    assert_eq!(b.field_error(Field::NodeName), None);
    assert_eq!(b.field_error(Field::CriSocket), None);
}

#[test]
fn enter_with_a_bad_field_focuses_it_and_does_not_start() {
    let mut a = app();
    update(&mut a, JoinMsg::Paste(pasted()));
    a.hashes = tui_input::Input::default();
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.is_empty());
    assert_eq!(a.focus, Field::Hashes);
    assert!(a.notice.as_deref().unwrap().contains("CA cert hash"));
    // The unsafe toggle makes the pin optional.
    a.focus = Field::UnsafeSkip;
    update(&mut a, key(KeyCode::Char(' ')));
    assert!(a.unsafe_skip);
    let fx = update(&mut a, key(KeyCode::Enter));
    let [JoinEffect::Start(cfg)] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert!(
        cfg.discovery
            .bootstrap_token
            .as_ref()
            .unwrap()
            .unsafe_skip_ca_verification
    );
}

#[test]
fn tab_and_arrows_move_and_wrap() {
    let mut a = app();
    update(&mut a, key(KeyCode::BackTab));
    assert_eq!(a.focus, Field::UnsafeSkip);
    update(&mut a, key(KeyCode::Tab));
    assert_eq!(a.focus, Field::Paste);
    update(&mut a, key(KeyCode::Down));
    assert_eq!(a.focus, Field::Endpoint);
    typed(&mut a, "10.0.0.1:6443");
    assert_eq!(a.endpoint.value(), "10.0.0.1:6443");
    assert_eq!(update(&mut a, key(KeyCode::Esc)), vec![JoinEffect::Quit]);
}

#[test]
fn command_line_flags_prefill_and_are_kept() {
    let args = JoinArgs {
        endpoint: Some("192.0.2.10:6443".into()),
        dry_run: true,
        ignore_preflight_errors: vec!["all".into()],
        node_name: Some("worker-1".into()),
        ..Default::default()
    };
    let mut a = JoinApp::new(args, "host", Some("/tmp/x".into()), Theme::Mono);
    assert_eq!(a.endpoint.value(), "192.0.2.10:6443");
    assert_eq!(a.node_name.value(), "worker-1");
    update(&mut a, JoinMsg::Paste(pasted()));
    let got = a.args();
    assert!(got.dry_run);
    assert_eq!(got.ignore_preflight_errors, vec!["all".to_string()]);
    assert_eq!(got.node_name.as_deref(), Some("worker-1"));
}

/// The events of a dry-run join, as `join::run` sends them.
fn run_events(a: &mut JoinApp, upto_done: bool) {
    let msgs = vec![
        ev(Event::PhaseStarted {
            phase: "preflight".into(),
        }),
        ev(Event::PhaseFinished {
            phase: "preflight".into(),
            elapsed_ms: 12,
        }),
        ev(Event::PhaseStarted {
            phase: "discovery".into(),
        }),
        log(
            "discovery",
            LogLevel::Info,
            "Trying to reach the API server at 192.0.2.10:6443 (cluster-info in kube-public, without trusting any CA yet)",
        ),
        ev(Event::Probe {
            component: "discovery".into(),
            url: "https://192.0.2.10:6443/api/v1/namespaces/kube-public/configmaps/cluster-info"
                .into(),
            attempt: 1,
            outcome: ProbeOutcome::Error {
                message: "cannot reach 192.0.2.10:6443: connection refused".into(),
            },
            elapsed_ms: 3,
            timeout_ms: 300_000,
        }),
        log(
            "discovery",
            LogLevel::Warn,
            "cannot reach 192.0.2.10:6443: connection refused; retrying in 5s (4m59s left before the discovery timeout of 5m0s)",
        ),
        log(
            "discovery",
            LogLevel::Info,
            "Reached 192.0.2.10:6443; cluster-info carries a signature for token abcdef",
        ),
        log(
            "discovery",
            LogLevel::Info,
            "Signature of cluster-info checked with token abcdef",
        ),
        log(
            "discovery",
            LogLevel::Info,
            &format!("Cluster CA CN=kubernetes matches the pinned hash {PIN}"),
        ),
        log(
            "discovery",
            LogLevel::Info,
            "Fetched cluster-info again trusting only CA CN=kubernetes: unchanged",
        ),
        ev(Event::PhaseFinished {
            phase: "discovery".into(),
            elapsed_ms: 5040,
        }),
        ev(Event::PhaseStarted {
            phase: "kubelet-start".into(),
        }),
        ev(Event::FileWritten {
            path: "/etc/kubernetes/bootstrap-kubelet.conf".into(),
            mode: 0o600,
        }),
        log(
            "kubelet-start",
            LogLevel::Info,
            "[dry-run] Would restart the kubelet (systemctl daemon-reload && systemctl restart kubelet)",
        ),
        ev(Event::PhaseFinished {
            phase: "kubelet-start".into(),
            elapsed_ms: 20,
        }),
        ev(Event::PhaseSkipped {
            phase: "kubelet-wait-bootstrap".into(),
            reason: "dry run".into(),
        }),
    ];
    for m in msgs {
        update(a, m);
    }
    if upto_done {
        update(
            a,
            ev(Event::Finished {
                outcome: RunOutcome::Succeeded,
            }),
        );
    }
}

#[test]
fn engine_events_drive_the_discovery_steps_and_the_done_screen() {
    let mut a = app();
    update(&mut a, JoinMsg::Paste(pasted()));
    update(&mut a, key(KeyCode::Enter));
    update(
        &mut a,
        ev(Event::PhaseStarted {
            phase: "discovery".into(),
        }),
    );
    assert_eq!(a.progress.reach, Step::Active);
    run_events(&mut a, false);
    let p = &a.progress;
    assert_eq!(
        (p.reach, p.signature, p.pin, p.recheck),
        (Step::Done, Step::Done, Step::Done, Step::Done)
    );
    assert_eq!(p.ca_subject.as_deref(), Some("CN=kubernetes"));
    assert_eq!(p.ca_pins, vec![PIN.to_string()]);
    assert_eq!(p.discovery_probe.as_ref().unwrap().attempt, 1);
    assert_eq!(p.retry_note, None, "cleared once reached");
    assert_eq!(a.screen, JoinScreen::Progress);
    update(
        &mut a,
        ev(Event::Finished {
            outcome: RunOutcome::Succeeded,
        }),
    );
    assert_eq!(a.screen, JoinScreen::Done);
    assert_eq!(
        update(&mut a, key(KeyCode::Char('q'))),
        vec![JoinEffect::Quit]
    );
}

#[test]
fn unsafe_skip_marks_the_pin_step_and_warns() {
    let mut a = app();
    update(
        &mut a,
        log(
            "discovery",
            LogLevel::Warn,
            &format!(
                "INSECURE: the cluster CA was NOT verified (--discovery-token-unsafe-skip-ca-verification); trusting CA CN=kubernetes with pin {PIN} only because cluster-info was signed with the token"
            ),
        ),
    );
    assert_eq!(a.progress.pin, Step::Skipped);
    assert_eq!(a.progress.ca_subject.as_deref(), Some("CN=kubernetes"));
    assert_eq!(a.progress.warnings.len(), 1);
}

fn failed(a: &mut JoinApp) {
    update(a, JoinMsg::Paste(pasted()));
    update(a, key(KeyCode::Enter));
    update(
        a,
        ev(Event::PhaseStarted {
            phase: "preflight".into(),
        }),
    );
    update(
        a,
        ev(Event::PhaseFinished {
            phase: "preflight".into(),
            elapsed_ms: 10,
        }),
    );
    update(
        a,
        ev(Event::PhaseStarted {
            phase: "discovery".into(),
        }),
    );
    update(
        a,
        log(
            "discovery",
            LogLevel::Info,
            "Reached 192.0.2.10:6443; cluster-info carries a signature for token abcdef",
        ),
    );
    update(
        a,
        log(
            "discovery",
            LogLevel::Info,
            "Signature of cluster-info checked with token abcdef",
        ),
    );
    update(a, ev(Event::PhaseFailed {
        phase: "discovery".into(),
        elapsed_ms: 40,
        error: format!("could not validate the identity of the API server: the cluster CA does not match the pinned hash: expected {PIN}, got sha256:0000000000000000000000000000000000000000000000000000000000000000"),
        causes: vec![format!("the cluster CA does not match the pinned hash: expected {PIN}, got sha256:0000000000000000000000000000000000000000000000000000000000000000")],
        hint: Some("check the --discovery-token-ca-cert-hash value against `kubestrap token create --print-join-command` on the control plane".into()),
    }));
    update(
        a,
        ev(Event::Finished {
            outcome: RunOutcome::Failed {
                phase: "discovery".into(),
            },
        }),
    );
}

#[test]
fn failure_screen_retries_edits_and_quits() {
    let mut a = app();
    failed(&mut a);
    assert_eq!(a.screen, JoinScreen::Failure);
    assert_eq!(a.progress.pin, Step::Failed);
    assert_eq!(a.progress.failed.as_ref().unwrap().0, "discovery");
    let fx = update(&mut a, key(KeyCode::Char('r')));
    assert!(matches!(fx.as_slice(), [JoinEffect::Start(_)]));
    assert_eq!(a.screen, JoinScreen::Progress);
    assert!(a.progress.failed.is_none(), "a retry starts fresh");
    a.node_name = tui_input::Input::new("worker-7".into());
    failed(&mut a);
    update(&mut a, key(KeyCode::Char('e')));
    assert_eq!(a.screen, JoinScreen::Form);
    assert_eq!(a.endpoint.value(), "192.0.2.10:6443", "the fields are kept");
    // ... every one of them (issue 12 item 12)
    assert_eq!(a.token.value(), TOKEN);
    assert_eq!(a.hashes.value(), PIN);
    assert_eq!(a.node_name.value(), "worker-7");
    failed(&mut a);
    assert_eq!(
        update(&mut a, key(KeyCode::Char('q'))),
        vec![JoinEffect::Quit]
    );
    assert!(a.quit);
}

#[test]
fn ctrl_c_and_sigterm_quit_from_any_screen() {
    let mut a = app();
    update(&mut a, JoinMsg::Paste(pasted()));
    update(&mut a, key(KeyCode::Enter));
    let fx = update(
        &mut a,
        JoinMsg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert_eq!(fx, vec![JoinEffect::Quit]);
    let mut b = app();
    assert_eq!(update(&mut b, JoinMsg::Terminate), vec![JoinEffect::Quit]);
}

// ---------------------------------------------------------------- snapshots

fn render(app: &JoinApp, w: u16, h: u16) -> String {
    let mut a = app.clone();
    a.width = w;
    a.height = h;
    crate::tui::tests::screen_text(w, h, |f| super::view::view(&a, f))
}

fn snap(name: &str, app: &JoinApp) {
    for (w, h) in [(80, 24), (120, 40)] {
        let text = render(app, w, h);
        insta::with_settings!({ prepend_module_to_snapshot => false, snapshot_path => "../snapshots" }, {
            insta::assert_snapshot!(format!("join_{name}_{w}x{h}"), text);
        });
    }
}

#[test]
fn snapshots_of_every_join_screen() {
    let mut a = app();
    a.clock_ms = 0;
    snap("form_empty", &a);
    update(&mut a, JoinMsg::Paste(pasted()));
    snap("form_pasted", &a);
    a.focus = Field::Token;
    a.token = tui_input::Input::new("abcdef.short".into());
    a.node_name = tui_input::Input::new("Node_B".into());
    snap("form_errors", &a);
    let mut a = JoinApp::new(
        JoinArgs {
            dry_run: true,
            ..Default::default()
        },
        "node-b",
        Some("/tmp/kubestrap-join-dryrun-x".into()),
        Theme::Color16,
    );
    update(&mut a, JoinMsg::Paste(pasted()));
    update(&mut a, key(KeyCode::Enter));
    update(
        &mut a,
        ev(Event::PhaseStarted {
            phase: "preflight".into(),
        }),
    );
    update(
        &mut a,
        ev(Event::PhaseFinished {
            phase: "preflight".into(),
            elapsed_ms: 12,
        }),
    );
    update(
        &mut a,
        ev(Event::PhaseStarted {
            phase: "discovery".into(),
        }),
    );
    update(
        &mut a,
        ev(Event::Probe {
            component: "discovery".into(),
            url: String::new(),
            attempt: 3,
            outcome: ProbeOutcome::Error {
                message: "cannot reach 192.0.2.10:6443: connection refused".into(),
            },
            elapsed_ms: 10_004,
            timeout_ms: 300_000,
        }),
    );
    update(
        &mut a,
        log(
            "discovery",
            LogLevel::Warn,
            "cannot reach 192.0.2.10:6443: connection refused; retrying in 5s (4m49s left before the discovery timeout of 5m0s)",
        ),
    );
    a.clock_ms = 10_300;
    snap("progress_retrying", &a);
    let mut a = JoinApp::new(
        JoinArgs {
            dry_run: true,
            ..Default::default()
        },
        "node-b",
        Some("/tmp/kubestrap-join-dryrun-x".into()),
        Theme::Color16,
    );
    update(&mut a, JoinMsg::Paste(pasted()));
    update(&mut a, key(KeyCode::Enter));
    run_events(&mut a, false);
    a.clock_ms = 5_200;
    snap("progress_discovered", &a);
    update(
        &mut a,
        ev(Event::Finished {
            outcome: RunOutcome::Succeeded,
        }),
    );
    snap("done_dry_run", &a);
    let mut a = app();
    update(&mut a, JoinMsg::Paste(pasted()));
    update(&mut a, key(KeyCode::Enter));
    run_events(&mut a, false);
    update(
        &mut a,
        ev(Event::PhaseStarted {
            phase: "kubelet-wait-bootstrap".into(),
        }),
    );
    update(
        &mut a,
        ev(Event::Probe {
            component: "kubelet-tls-bootstrap".into(),
            url: String::new(),
            attempt: 4,
            outcome: ProbeOutcome::Error {
                message: "/etc/kubernetes/kubelet.conf does not exist yet".into(),
            },
            elapsed_ms: 4_000,
            timeout_ms: 300_000,
        }),
    );
    a.clock_ms = 9_000;
    snap("progress_bootstrap", &a);
    update(
        &mut a,
        ev(Event::Finished {
            outcome: RunOutcome::Succeeded,
        }),
    );
    snap("done", &a);
    a.theme = Theme::Mono;
    snap("done_no_color", &a);
    // NO_COLOR: no cell of any screen carries a colour.
    for screen in [
        JoinScreen::Form,
        JoinScreen::Progress,
        JoinScreen::Done,
        JoinScreen::Failure,
    ] {
        let mut m = a.clone();
        m.screen = screen;
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| super::view::view(&m, f)).unwrap();
        let buf = t.backend().buffer();
        assert!(
            buf.content()
                .iter()
                .all(|c| c.fg == ratatui::style::Color::Reset
                    && c.bg == ratatui::style::Color::Reset),
            "{screen:?} has colour under NO_COLOR"
        );
    }
    let mut a = app();
    failed(&mut a);
    snap("failure", &a);
    let mut small = app();
    small.clock_ms = 0;
    let text = render(&small, 60, 20);
    assert!(
        text.contains("too small") || text.contains("It is 60x20"),
        "{text}"
    );
}

/// Issue 12 item 7: the join progress screen lists the preflight errors that its "error(s)
/// above would stop a real join" line refers to, under the preflight phase.
#[test]
fn the_join_screen_shows_the_preflight_errors_it_refers_to() {
    let mut a = app();
    update(&mut a, JoinMsg::Paste(pasted()));
    update(&mut a, key(KeyCode::Enter));
    for (name, severity, ignored) in [
        (
            "FileAvailable--etc-kubernetes-kubelet.conf",
            Severity::Error,
            false,
        ),
        ("Swap", Severity::Warning, false),
        ("Port-10250", Severity::Error, true),
    ] {
        update(
            &mut a,
            ev(Event::Check {
                name: name.into(),
                severity,
                message: format!("{name} failed"),
                fix: None,
                ignored,
            }),
        );
    }
    update(
        &mut a,
        log(
            "preflight",
            LogLevel::Warn,
            "1 error(s) above would stop a real join here; the dry run continues",
        ),
    );
    let s = render(&a, 80, 24);
    assert!(
        s.contains("✗ [FileAvailable--etc-kubernetes-kubelet.conf]"),
        "{s}"
    );
    assert!(
        !s.contains("[Port-10250]") && !s.contains("✗ [Swap]"),
        "{s}"
    );
    assert!(s.contains("would stop a real join"), "{s}");
}

mod control_plane;

/// Finding 4: while the "terminal too small" message hides the join wizard, typed and pasted
/// text do not reach the hidden field; `q` still quits.
#[test]
fn keys_are_ignored_while_the_terminal_is_too_small() {
    let mut a = app();
    let endpoint = a.endpoint.value().to_string();
    update(&mut a, JoinMsg::Resize(60, 20));
    assert!(a.too_small());
    typed(&mut a, "192.0.2.10:6443");
    update(&mut a, key(KeyCode::Backspace));
    update(&mut a, key(KeyCode::Tab));
    update(&mut a, JoinMsg::Paste(pasted()));
    assert_eq!(a.endpoint.value(), endpoint, "the hidden field was edited");
    assert_eq!(a.focus, app().focus);
    assert!(!a.quit);
    let fx = update(&mut a, key(KeyCode::Char('q')));
    assert!(
        a.quit && matches!(fx.last(), Some(JoinEffect::Quit)),
        "{fx:?}"
    );
}
