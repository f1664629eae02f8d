//! Rendering cost of the wizard's run screen with a full log (10 000 lines) at 120x40.
//! Run: `cargo bench --bench tui`.

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use kubestrap::engine::{Event, LogLevel, ProbeOutcome, RunOutcome};
use kubestrap::tui::state::{App, Detected, LOG_CAP, Msg, Theme, update};

fn run_app() -> App {
    let mut cfg = kubestrap::config::defaults::example_init_config("v1.34.2");
    cfg.cluster.networking.pod_subnet = "10.244.0.0/16".into();
    let mut app = App::new(cfg, Detected::default(), Theme::Color16, true);
    let key = |c| {
        Msg::Key(crossterm::event::KeyEvent::new(
            c,
            crossterm::event::KeyModifiers::NONE,
        ))
    };
    update(&mut app, key(crossterm::event::KeyCode::Enter));
    for p in ["preflight", "certs", "kubeconfig", "etcd", "control-plane"] {
        update(
            &mut app,
            Msg::Engine(Event::PhaseStarted { phase: p.into() }),
        );
        update(
            &mut app,
            Msg::Engine(Event::PhaseFinished {
                phase: p.into(),
                elapsed_ms: 12,
            }),
        );
    }
    for n in 0..16 {
        update(
            &mut app,
            Msg::Engine(Event::Cert {
                name: format!("cert-{n}"),
                path: format!("/etc/kubernetes/pki/cert-{n}.crt"),
                subject: format!("CN=cert-{n}"),
                sans: vec!["cp1".into(), "10.96.0.1".into()],
                not_after: "2027-11-30T00:00:00Z".into(),
                key_algorithm: "RSA-2048".into(),
                reused: false,
            }),
        );
    }
    update(
        &mut app,
        Msg::Engine(Event::PhaseStarted {
            phase: "wait-control-plane".into(),
        }),
    );
    update(
        &mut app,
        Msg::Engine(Event::Probe {
            component: "kube-apiserver".into(),
            url: "https://192.168.1.10:6443/livez".into(),
            attempt: 40,
            outcome: ProbeOutcome::Error {
                message: "connection refused".into(),
            },
            elapsed_ms: 40_000,
            timeout_ms: 240_000,
        }),
    );
    for i in 0..LOG_CAP {
        update(
            &mut app,
            Msg::Engine(Event::Log {
                level: LogLevel::Info,
                phase: Some("wait-control-plane".into()),
                message: format!(
                    "[wait-control-plane] waiting for the kube-apiserver, attempt {i}"
                ),
            }),
        );
    }
    assert!(app.run.outcome.is_none() || app.run.outcome == Some(RunOutcome::Succeeded));
    app
}

fn bench(c: &mut Criterion) {
    let app = run_app();
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    c.bench_function("render run screen, full log, 120x40", |b| {
        b.iter(|| {
            term.draw(|f| kubestrap::tui::view::view(std::hint::black_box(&app), f))
                .expect("draw");
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
