//! Update-function tests and TestBackend snapshots of every screen, by topic: [`forms`]
//! (Network and Cluster), [`args`], [`run`] (running, cancel, failure, done, files) and
//! [`snapshots`]. This file holds the shared fixtures.

use std::net::IpAddr;

mod args;
mod forms;
mod messages;
mod run;
mod snapshots;
mod upgrade;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::form::{self, Answers, FieldId};
use super::state::*;
use crate::cli::InitFlags;
use crate::engine::event::Fix;
use crate::engine::{Event, JoinInfo, LogLevel, ProbeOutcome, RunOutcome, Severity};
use crate::host::{HostFacts, InterfaceAddr};

fn facts() -> HostFacts {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    HostFacts {
        hostname: "Node-A".into(),
        cpus: 2,
        memory_mib: 3891,
        euid: 0,
        interfaces: vec![
            InterfaceAddr {
                interface: "lo".into(),
                addr: ip("127.0.0.1"),
                prefix_len: 8,
            },
            InterfaceAddr {
                interface: "eth0".into(),
                addr: ip("192.0.2.10"),
                prefix_len: 24,
            },
            InterfaceAddr {
                interface: "eth1".into(),
                addr: ip("198.51.100.4"),
                prefix_len: 24,
            },
        ],
        default_route_addr: Some(ip("192.0.2.10")),
        kernel_release: "6.1.0".into(),
    }
}

fn detected() -> Detected {
    Detected {
        facts: facts(),
        runtime_socket: Some("unix:///var/run/containerd/containerd.sock".into()),
        kubelet: Some("/usr/bin/kubelet".into()),
        root: Some("/tmp/kubestrap-dry-run-3f9a".into()),
        dry_run: true,
        log_path: "/tmp/kubestrap-init-4242.log".into(),
        existing: vec![],
        upload_certs_refused: None,
    }
}

fn app() -> App {
    let d = detected();
    let base = super::base_config(&InitFlags::default(), &d, None);
    let mut a = App::new(base, d, Theme::Color16, false);
    a.answers.pod_subnet = "10.244.0.0/16".into();
    a
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn send(a: &mut App, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
    let mut fx = vec![];
    for m in msgs {
        fx.extend(update(a, m));
    }
    fx
}

fn typed(s: &str) -> Vec<Msg> {
    s.chars().map(|c| key(KeyCode::Char(c))).collect()
}

fn clear_field() -> Vec<Msg> {
    vec![ctrl('u')]
}

fn join() -> JoinInfo {
    JoinInfo {
        endpoint: "192.0.2.10:6443".into(),
        token: "abcdef.0123456789abcdef".into(),
        ca_cert_hashes: vec![
            "sha256:8e1538c2ec16711d5f53d414f939baf7567c2fe21ab40f030a928057e17aaee7".into(),
        ],
        certificate_key: None,
        control_plane: false,
        token_ttl_secs: Some(86400),
        root: Some("/tmp/kubestrap-dry-run-3f9a".into()),
        redacted: false,
    }
}

/// An app on the run screen with a realistic half-finished run.
fn running_app(full_log: bool) -> App {
    let mut a = app();
    send(&mut a, [key(KeyCode::Enter)]);
    send(
        &mut a,
        [
            key(KeyCode::Enter),
            key(KeyCode::Enter),
            key(KeyCode::Enter),
        ],
    );
    assert_eq!(a.screen, Screen::Review);
    a.clock_ms = 1000;
    let fx = send(&mut a, [key(KeyCode::Enter)]);
    assert!(matches!(fx[0], Effect::Start { .. }));
    let mut evs = vec![Event::PhaseStarted {
        phase: "preflight".into(),
    }];
    for (n, s, fix) in [
        ("NumCPU", Severity::Pass, false),
        ("Mem", Severity::Pass, false),
        ("Swap", Severity::Warning, true),
        ("Port-6443", Severity::Pass, false),
    ] {
        evs.push(Event::Check {
            name: n.into(),
            severity: s,
            message: format!("{n} checked"),
            fix: fix.then(|| Fix {
                summary: "turn swap off".into(),
                steps: vec!["will run: swapoff -a".into()],
            }),
            ignored: false,
        });
    }
    evs.push(Event::PhaseFinished {
        phase: "preflight".into(),
        elapsed_ms: 300,
    });
    evs.push(Event::PhaseStarted {
        phase: "certs".into(),
    });
    for n in [
        "ca",
        "apiserver",
        "apiserver-kubelet-client",
        "etcd/ca",
        "etcd/server",
    ] {
        evs.push(Event::Cert {
            name: n.into(),
            path: format!("/etc/kubernetes/pki/{n}.crt"),
            subject: format!("CN={n}"),
            sans: if n == "apiserver" {
                vec!["node-a".into(), "10.96.0.1".into(), "192.0.2.10".into()]
            } else {
                vec![]
            },
            not_after: "2027-11-30T03:00:00Z".into(),
            key_algorithm: "RSA-2048".into(),
            reused: n == "ca",
        });
    }
    evs.push(Event::PhaseFinished {
        phase: "certs".into(),
        elapsed_ms: 40,
    });
    for p in ["kubeconfig", "etcd", "control-plane", "kubelet-start"] {
        evs.push(Event::PhaseStarted { phase: p.into() });
        evs.push(Event::PhaseFinished {
            phase: p.into(),
            elapsed_ms: 20,
        });
    }
    evs.push(Event::PhaseStarted {
        phase: "wait-control-plane".into(),
    });
    evs.push(Event::Probe {
        component: "kube-apiserver".into(),
        url: "https://192.0.2.10:6443/livez".into(),
        attempt: 12,
        outcome: ProbeOutcome::Error {
            message: "connection refused".into(),
        },
        elapsed_ms: 41_000,
        timeout_ms: 240_000,
    });
    evs.push(Event::Probe {
        component: "kube-scheduler".into(),
        url: "https://127.0.0.1:10259/livez".into(),
        attempt: 3,
        outcome: ProbeOutcome::Healthy,
        elapsed_ms: 36_000,
        timeout_ms: 240_000,
    });
    evs.push(Event::ReadyzCheck {
        name: "etcd".into(),
        ok: true,
    });
    evs.push(Event::ReadyzCheck {
        name: "poststarthook/rbac/bootstrap-roles".into(),
        ok: false,
    });
    let lines = if full_log { LOG_CAP } else { 5 };
    for i in 0..lines {
        evs.push(Event::Log {
            level: if i % 7 == 0 {
                LogLevel::Warn
            } else {
                LogLevel::Info
            },
            phase: Some("wait-control-plane".into()),
            message: format!("waiting for the control plane, line {i}"),
        });
    }
    a.clock_ms = 42_000;
    send(&mut a, evs.into_iter().map(Msg::Engine));
    a
}

fn done_app() -> App {
    let mut a = running_app(false);
    send(
        &mut a,
        [
            Msg::Engine(Event::JoinReady(join())),
            Msg::Engine(Event::Finished {
                outcome: RunOutcome::Succeeded,
            }),
        ],
    );
    a
}

fn failed_app() -> App {
    let mut a = app();
    send(&mut a, std::iter::repeat_n(key(KeyCode::Enter), 4));
    send(&mut a, [key(KeyCode::Enter)]);
    send(
        &mut a,
        [
            Msg::Engine(Event::PhaseStarted {
                phase: "preflight".into(),
            }),
            Msg::Engine(Event::Check {
                name: "Swap".into(),
                severity: Severity::Error,
                message: "swap is on".into(),
                fix: None,
                ignored: false,
            }),
            Msg::Engine(Event::PhaseFailed {
                phase: "preflight".into(),
                elapsed_ms: 310,
                error: "[preflight] Some fatal errors occurred:\n\t[ERROR Swap]: swap is on".into(),
                causes: vec![],
                hint: Some("turn swap off or pass --ignore-preflight-errors=Swap".into()),
            }),
            Msg::Engine(Event::Finished {
                outcome: RunOutcome::Failed {
                    phase: "preflight".into(),
                },
            }),
        ],
    );
    a
}

/// Renders `app` at `w`x`h` and returns the screen as text.
pub fn render(app: &App, w: u16, h: u16) -> String {
    let mut a = app.clone();
    a.width = w;
    a.height = h;
    screen_text(w, h, |f| super::view::view(&a, f))
}

/// Draws with `draw` on a `w`x`h` test terminal and returns the screen as text, one line per
/// row with trailing blanks trimmed (shared by the init and join wizards' snapshot tests).
pub fn screen_text(w: u16, h: u16, draw: impl FnOnce(&mut ratatui::Frame)) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(draw).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn snap(name: &str, app: &App) {
    for (w, h) in [(80, 24), (120, 40)] {
        let text = render(app, w, h);
        insta::with_settings!({
            filters => vec![
                (r"[a-z0-9]{6}\.[a-z0-9]{16}", "[TOKEN]"),
                (r"sha256:[0-9a-f]{64}", "sha256:[HASH]"),
                (r"/tmp/[A-Za-z0-9._-]+", "/tmp/[PATH]"),
            ],
            prepend_module_to_snapshot => false,
            snapshot_path => "../snapshots",
        }, {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
        });
    }
}
