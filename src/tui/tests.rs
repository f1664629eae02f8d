//! Update-function tests and TestBackend snapshots of every screen.

use std::net::IpAddr;

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
                error: "some fatal errors occurred: [ERROR Swap]: swap is on".into(),
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

// ---------------------------------------------------------------- update tests

#[test]
fn navigation_moves_through_the_screens_and_back() {
    let mut a = app();
    assert_eq!(a.screen, Screen::Welcome);
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Network);
    assert_eq!(a.focus, FieldId::Advertise);
    send(&mut a, [key(KeyCode::Tab)]);
    assert_eq!(a.focus, FieldId::BindPort);
    send(&mut a, [key(KeyCode::Down), key(KeyCode::Down)]);
    assert_eq!(a.focus, FieldId::PodSubnet);
    send(&mut a, [key(KeyCode::BackTab)]);
    assert_eq!(a.focus, FieldId::Endpoint);
    send(&mut a, [key(KeyCode::Up), key(KeyCode::Up)]);
    assert_eq!(a.focus, FieldId::Advertise);
    send(&mut a, [key(KeyCode::Up)]);
    assert_eq!(a.focus, FieldId::DnsDomain, "focus wraps around");
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Cluster);
    assert_eq!(a.focus, FieldId::Version);
    send(&mut a, [key(KeyCode::Esc)]);
    assert_eq!(a.screen, Screen::Network);
    send(&mut a, [key(KeyCode::Enter), key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Args);
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Review);
    send(&mut a, [key(KeyCode::Esc)]);
    assert_eq!(a.screen, Screen::Args);
    send(&mut a, [key(KeyCode::Esc)]);
    assert_eq!(a.screen, Screen::Cluster);
    send(&mut a, [key(KeyCode::Esc), key(KeyCode::Esc)]);
    assert_eq!(a.screen, Screen::Welcome);
}

#[test]
fn typed_values_reach_the_config_and_are_marked_typed() {
    let mut a = app();
    send(
        &mut a,
        [key(KeyCode::Enter), key(KeyCode::Tab), key(KeyCode::Tab)],
    );
    send(&mut a, typed("cp.example.com:6443"));
    send(
        &mut a,
        [
            key(KeyCode::Enter),
            key(KeyCode::Enter),
            key(KeyCode::Enter),
        ],
    );
    let cfg = a.config.clone().expect("review has a config");
    assert_eq!(cfg.cluster.control_plane_endpoint, "cp.example.com:6443");
    assert_eq!(
        cfg.sources.get("controlPlaneEndpoint"),
        Some(&crate::config::Source::Typed)
    );
    assert_eq!(
        cfg.sources.get("localAPIEndpoint.advertiseAddress"),
        Some(&crate::config::Source::Detected)
    );
    let yaml = a.export_text();
    assert!(
        yaml.contains("controlPlaneEndpoint: cp.example.com:6443"),
        "{yaml}"
    );
    let line = a
        .review
        .iter()
        .find(|(l, _)| l.contains("controlPlaneEndpoint"))
        .unwrap();
    assert_eq!(line.1, "typed");
    let line = a
        .review
        .iter()
        .find(|(l, _)| l.contains("advertiseAddress"))
        .unwrap();
    assert_eq!(line.1, "detected");
    let line = a
        .review
        .iter()
        .find(|(l, _)| l.contains("dnsDomain"))
        .unwrap();
    assert_eq!(line.1, "default");
}

#[test]
fn enter_with_a_bad_field_stays_and_focuses_it() {
    let mut a = app();
    send(&mut a, [key(KeyCode::Enter), key(KeyCode::Tab)]);
    send(&mut a, clear_field());
    send(&mut a, typed("70000"));
    send(&mut a, [key(KeyCode::Up), key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Network);
    assert_eq!(a.focus, FieldId::BindPort);
    assert_eq!(
        a.errors.get(&FieldId::BindPort).map(String::as_str),
        Some("Bind port \"70000\" is not a valid port number (1-65535)")
    );
    // fixing it clears the message as soon as it is valid
    send(&mut a, clear_field());
    send(&mut a, typed("6443"));
    assert!(!a.errors.contains_key(&FieldId::BindPort));
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Cluster);
}

#[test]
fn every_field_has_a_clear_validation_message() {
    let ok = {
        let mut x = Answers::from_config(&app().base);
        x.pod_subnet = "10.244.0.0/16".into();
        x
    };
    for f in form::NETWORK_FIELDS.iter().chain(form::CLUSTER_FIELDS) {
        assert_eq!(
            form::validate_field(&ok, *f),
            Ok(()),
            "{f:?} valid by default"
        );
    }
    let cases: &[(FieldId, &str, &str)] = &[
        (
            FieldId::Advertise,
            "10.0.0",
            "Advertise address \"10.0.0\" is not a valid IP address",
        ),
        (
            FieldId::Advertise,
            "0.0.0.0",
            "cannot be used as the API server address",
        ),
        (
            FieldId::BindPort,
            "0",
            "Bind port \"0\" is not a valid port number (1-65535)",
        ),
        (FieldId::BindPort, "https", "Bind port \"https\""),
        (
            FieldId::Endpoint,
            "cp_1.local",
            "is not an IP address or a lower-case DNS name",
        ),
        (
            FieldId::Endpoint,
            "cp.local:99999",
            "port \"99999\" is not a number from 1 to 65535",
        ),
        (FieldId::Endpoint, "2001:db8::1:6443x", "needs brackets"),
        (
            FieldId::PodSubnet,
            "10.244.0.0",
            "Pod subnet \"10.244.0.0\" \"10.244.0.0\" is not a CIDR",
        ),
        (
            FieldId::PodSubnet,
            "10.96.0.0/16",
            "overlaps networking.serviceSubnet \"10.96.0.0/12\"",
        ),
        (
            FieldId::PodSubnet,
            "10.244.0.0/16,10.245.0.0/16",
            "needs exactly one IPv4 and one IPv6",
        ),
        (
            FieldId::ServiceSubnet,
            "10.0.0.0/8",
            "too large: an IPv4 service subnet needs a mask of at least /12",
        ),
        (
            FieldId::ServiceSubnet,
            "fd00::/64",
            "needs a mask of at least /108",
        ),
        (
            FieldId::DnsDomain,
            "Cluster.Local",
            "DNS domain \"Cluster.Local\" must be a lower-case RFC 1123 subdomain",
        ),
        (FieldId::Version, "1.34", "is not a semantic version"),
        (
            FieldId::Version,
            "v1.20.0",
            "is not supported; kubestrap carries Kubernetes v1.34 to v1.37",
        ),
        (
            FieldId::NodeName,
            "Node_A",
            "Node name \"Node_A\" must be a lower-case RFC 1123 subdomain",
        ),
        (
            FieldId::ImageRepo,
            "",
            "Image repository \"\" is not a valid image repository",
        ),
        (
            FieldId::ImageRepo,
            "https://reg.example.com",
            "without scheme or tag",
        ),
        (
            FieldId::CriSocket,
            "/run/containerd/containerd.sock",
            "must be a URL with the unix scheme",
        ),
        (
            FieldId::CriSocket,
            "containerd",
            "must be a URL with the unix scheme",
        ),
        (
            FieldId::CertSans,
            "ok.example.com,bad name",
            "entry \"bad name\" is not an IP address",
        ),
        (FieldId::CertSans, "foo,,bar", "has an empty entry"),
        (
            FieldId::KeyAlgo,
            "RSA-1024",
            "must be one of RSA-2048, RSA-3072",
        ),
    ];
    for (f, v, want) in cases {
        let mut a = ok.clone();
        a.set(*f, v.to_string());
        let e = form::validate_field(&a, *f).expect_err(&format!("{f:?}={v} must fail"));
        assert!(e.contains(want), "{f:?}={v}: {e:?} should contain {want:?}");
    }
    // dual-stack and wildcard SANs are accepted
    let mut a = ok.clone();
    a.pod_subnet = "10.244.0.0/16,fd00:10:244::/56".into();
    a.service_subnet = "10.96.0.0/12,fd00:10:96::/112".into();
    a.cert_sans = "*.example.com,203.0.113.5".into();
    a.advertise = "192.0.2.10".into();
    for f in form::NETWORK_FIELDS.iter().chain(form::CLUSTER_FIELDS) {
        assert_eq!(form::validate_field(&a, *f), Ok(()), "{f:?}");
    }
    // an IPv6 advertise address needs the IPv6 service subnet listed first, as
    // `config validate` requires; the wizard must not accept what the export then fails
    a.advertise = "2001:db8::10".into();
    let e = form::validate_field(&a, FieldId::Advertise).unwrap_err();
    assert!(
        e.contains("is IPv6 but the first service subnet 10.96.0.0/12 is not"),
        "{e}"
    );
    a.service_subnet = "fd00:10:96::/112,10.96.0.0/12".into();
    assert_eq!(form::validate_field(&a, FieldId::Advertise), Ok(()));
    let cfg = form::to_config(&a, &app().base, &facts()).unwrap();
    let errs = crate::config::validate::validate_init(&cfg, &facts());
    assert!(errs.iter().all(|e| e.warning), "{errs:?}");
}

#[test]
fn warnings_for_host_overlap_and_node_ip() {
    let f = facts();
    let mut a = Answers::from_config(&app().base);
    a.pod_subnet = "192.0.0.0/16".into();
    let w = form::field_warning(&a, FieldId::PodSubnet, &f).unwrap();
    assert!(w.contains("overlaps 192.0.2.0/24 on eth0"), "{w}");
    assert!(form::field_warning(&a, FieldId::Advertise, &f).is_none());
    a.advertise = "198.51.100.4".into();
    a.pod_subnet = "10.244.0.0/16".into();
    let w = form::field_warning(&a, FieldId::Advertise, &f).unwrap();
    assert!(w.contains("node-ip"), "{w}");
    let cfg = form::to_config(&a, &app().base, &f).unwrap();
    assert_eq!(
        cfg.init.node_registration.kubelet_extra_args,
        vec![crate::config::Arg {
            name: "node-ip".into(),
            value: "198.51.100.4".into()
        }]
    );
    assert_eq!(
        cfg.init.local_api_endpoint.advertise_address,
        "198.51.100.4"
    );
}

#[test]
fn f2_cycles_choices() {
    let mut a = app();
    send(&mut a, [key(KeyCode::Enter)]);
    send(&mut a, [key(KeyCode::F(2))]);
    assert_eq!(a.answers.advertise, "198.51.100.4");
    send(&mut a, [key(KeyCode::F(2))]);
    assert_eq!(a.answers.advertise, "192.0.2.10");
    send(
        &mut a,
        [key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Tab)],
    );
    assert_eq!(a.focus, FieldId::PodSubnet);
    send(&mut a, [key(KeyCode::F(2))]);
    assert_eq!(a.answers.pod_subnet, "192.168.0.0/16");
    assert_eq!(form::cni_for(&a.answers.pod_subnet), Some("Calico"));
}

#[test]
fn args_editor_add_complete_check_edit_move_delete() {
    let mut a = app();
    send(&mut a, std::iter::repeat_n(key(KeyCode::Enter), 3));
    assert_eq!(a.screen, Screen::Args);
    // unknown flag: refused with a suggestion
    send(&mut a, [key(KeyCode::Char('a'))]);
    send(&mut a, typed("featureGates"));
    send(&mut a, [key(KeyCode::Enter)]);
    let err = a.args.edit.as_ref().unwrap().error.clone().unwrap();
    assert_eq!(
        err,
        "\"featureGates\" is not a kube-apiserver flag; did you mean feature-gates?"
    );
    send(&mut a, [key(KeyCode::Esc)]);
    assert!(a.answers.extra_args.is_empty());
    // completion with Tab
    send(&mut a, [key(KeyCode::Char('a'))]);
    send(&mut a, typed("audit-log-pa"));
    send(&mut a, [key(KeyCode::Tab)]);
    assert_eq!(a.args.edit.as_ref().unwrap().name.value(), "audit-log-path");
    send(&mut a, typed("/var/log/kubernetes/audit.log"));
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.answers.extra_args.len(), 1);
    assert_eq!(
        a.answers.extra_args[0].value,
        "/var/log/kubernetes/audit.log"
    );
    // a value with commas is kept whole
    send(&mut a, [key(KeyCode::Char('a'))]);
    send(&mut a, typed("enable-admission-plugins"));
    send(&mut a, [key(KeyCode::Tab)]);
    send(&mut a, typed("NodeRestriction,AlwaysPullImages"));
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(
        a.answers.extra_args[1].value,
        "NodeRestriction,AlwaysPullImages"
    );
    assert_eq!(
        super::args::managed_value("enable-admission-plugins", &a.answers).as_deref(),
        Some("NodeRestriction")
    );
    assert_eq!(a.args.selected, 1);
    // move up
    send(&mut a, [key(KeyCode::Char('K'))]);
    assert_eq!(a.answers.extra_args[0].name, "enable-admission-plugins");
    assert_eq!(a.args.selected, 0);
    send(&mut a, [key(KeyCode::Char('J'))]);
    assert_eq!(a.answers.extra_args[1].name, "enable-admission-plugins");
    // edit the value of the selected entry
    send(&mut a, [key(KeyCode::Char('e'))]);
    send(&mut a, [ctrl('u')]);
    send(&mut a, typed("NodeRestriction"));
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.answers.extra_args[1].value, "NodeRestriction");
    // delete, then the review shows the remaining one
    send(&mut a, [key(KeyCode::Char('d'))]);
    assert_eq!(a.answers.extra_args.len(), 1);
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Review);
    let cfg = a.config.as_ref().unwrap();
    assert_eq!(cfg.cluster.api_server.extra_args[0].name, "audit-log-path");
    assert!(a.export_text().contains("name: audit-log-path"));
    // dashes and '=' are refused with the rule
    assert!(
        super::args::check_name("--v")
            .unwrap_err()
            .contains("without the leading dashes")
    );
    assert!(
        super::args::check_name("v=2")
            .unwrap_err()
            .contains("must not contain '='")
    );
}

#[test]
fn quit_before_start_asks_first() {
    let mut a = app();
    let fx = send(&mut a, [ctrl('c')]);
    assert!(fx.is_empty());
    assert!(matches!(a.overlay, Overlay::ConfirmQuit));
    send(&mut a, [key(KeyCode::Char('n'))]);
    assert!(matches!(a.overlay, Overlay::None));
    assert!(!a.quit);
    let fx = send(&mut a, [key(KeyCode::Char('q')), key(KeyCode::Char('y'))]);
    assert_eq!(fx, vec![Effect::Quit]);
    assert!(a.quit);
}

#[test]
fn cancel_flow_asks_then_cancels_and_shows_what_was_done() {
    let mut a = running_app(false);
    assert!(a.animating());
    let fx = send(&mut a, [ctrl('c')]);
    assert!(fx.is_empty());
    assert!(matches!(a.overlay, Overlay::ConfirmCancel));
    send(&mut a, [key(KeyCode::Esc)]);
    assert!(matches!(a.overlay, Overlay::None));
    assert!(a.run.running);
    let fx = send(&mut a, [key(KeyCode::Char('q')), key(KeyCode::Char('y'))]);
    assert_eq!(fx, vec![Effect::Cancel]);
    assert!(a.run.cancel_requested);
    send(
        &mut a,
        [Msg::Engine(Event::Finished {
            outcome: RunOutcome::Cancelled {
                after_phase: Some("kubelet-start".into()),
                interrupted: None,
                completed: vec!["preflight".into(), "kubelet-start".into()],
            },
        })],
    );
    assert_eq!(a.screen, Screen::Failure);
    assert!(!a.animating());
    let text = render(&a, 80, 24);
    assert!(text.contains("The run was cancelled."), "{text}");
    assert!(
        text.contains("It stopped after phase kubelet-start."),
        "{text}"
    );
    assert!(text.contains("preflight, certs, kubeconfig"), "{text}");
}

#[test]
fn failure_retry_and_ignore() {
    let mut a = failed_app();
    assert_eq!(a.screen, Screen::Failure);
    assert_eq!(a.failing_checks(), vec!["Swap".to_string()]);
    let fx = send(&mut a, [key(KeyCode::Char('r'))]);
    match &fx[..] {
        [
            Effect::Start {
                from_phase,
                ignore_preflight,
                ..
            },
        ] => {
            assert_eq!(from_phase.as_deref(), Some("preflight"));
            assert!(ignore_preflight.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.screen, Screen::Run);
    assert_eq!(a.run.attempt, 2);
    // fail again, then ignore the preflight error
    send(
        &mut a,
        [
            Msg::Engine(Event::PhaseFailed {
                phase: "preflight".into(),
                elapsed_ms: 1,
                error: "swap".into(),
                hint: None,
            }),
            Msg::Engine(Event::Finished {
                outcome: RunOutcome::Failed {
                    phase: "preflight".into(),
                },
            }),
        ],
    );
    let fx = send(&mut a, [key(KeyCode::Char('i'))]);
    match &fx[..] {
        [
            Effect::Start {
                ignore_preflight, ..
            },
        ] => assert_eq!(ignore_preflight, &vec!["Swap".to_string()]),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.run.attempt, 3);
}

#[test]
fn export_asks_for_a_path_and_confirms_overwrite() {
    let mut a = app();
    send(&mut a, std::iter::repeat_n(key(KeyCode::Enter), 4));
    assert_eq!(a.screen, Screen::Review);
    send(&mut a, [key(KeyCode::Char('x'))]);
    assert!(matches!(
        a.overlay,
        Overlay::Prompt {
            kind: FileKind::Export,
            ..
        }
    ));
    send(&mut a, [ctrl('u')]);
    send(&mut a, typed("out.yaml"));
    let fx = send(&mut a, [key(KeyCode::Enter)]);
    let contents = a.export_text();
    assert_eq!(
        fx,
        vec![Effect::WriteFile {
            kind: FileKind::Export,
            path: "out.yaml".into(),
            contents: contents.clone(),
            overwrite: false
        }]
    );
    send(
        &mut a,
        [Msg::FileExists {
            kind: FileKind::Export,
            path: "out.yaml".into(),
        }],
    );
    assert!(matches!(a.overlay, Overlay::ConfirmOverwrite { .. }));
    let fx = send(&mut a, [key(KeyCode::Char('y'))]);
    assert!(matches!(
        &fx[..],
        [Effect::WriteFile {
            overwrite: true,
            ..
        }]
    ));
    send(
        &mut a,
        [Msg::FileWritten {
            kind: FileKind::Export,
            path: "out.yaml".into(),
            result: Ok(()),
        }],
    );
    assert_eq!(
        a.notice.as_deref(),
        Some("✓ kubeadm.yaml exported to out.yaml")
    );
    assert!(contents.starts_with("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n"));
    assert!(
        contents.contains("---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n")
    );
}

#[test]
fn done_copies_the_exact_join_command() {
    let mut a = done_app();
    assert_eq!(a.screen, Screen::Done);
    assert!(
        !a.wants_mouse(),
        "mouse reporting off so the command can be selected"
    );
    let fx = send(&mut a, [key(KeyCode::Char('c'))]);
    assert_eq!(fx, vec![Effect::Copy(join().worker_command("kubestrap"))]);
    assert_eq!(
        super::osc52("hi"),
        "\x1b]52;c;aGk=\x07",
        "OSC 52 with base64 payload"
    );
    let fx = send(&mut a, [key(KeyCode::Char('w')), key(KeyCode::Enter)]);
    match &fx[..] {
        [
            Effect::WriteFile {
                kind: FileKind::JoinCommand,
                path,
                contents,
                ..
            },
        ] => {
            assert_eq!(path, "join-command.txt");
            assert_eq!(
                contents,
                &format!("{}\n", join().worker_command("kubestrap"))
            );
        }
        other => panic!("{other:?}"),
    }
    // the command is on screen in full at 80 columns
    let text = render(&a, 80, 24);
    let flat: String = text
        .lines()
        .map(|l| l.trim_matches('│').trim())
        .collect::<Vec<_>>()
        .join(" ");
    let unwrapped = flat.replace("\n", "");
    let hash = &join().ca_cert_hashes[0];
    let joined: String = unwrapped.split_whitespace().collect::<Vec<_>>().join("");
    assert!(joined.contains(&hash.replace(' ', "")), "{text}");
    assert!(
        text.contains("kubestrap join 192.0.2.10:6443 --token abcdef.0123456789abcdef"),
        "{text}"
    );
}

#[test]
fn mouse_wheel_scrolls_the_log() {
    let mut a = running_app(true);
    send(&mut a, [key(KeyCode::Char('l'))]);
    assert_eq!(a.run.focus, Pane::Log);
    let m = crossterm::event::MouseEvent {
        kind: crossterm::event::MouseEventKind::ScrollUp,
        column: 10,
        row: 20,
        modifiers: KeyModifiers::NONE,
    };
    send(&mut a, [Msg::Mouse(m)]);
    assert_eq!(a.run.scroll.get("log"), Some(&3));
    assert!(a.run.log.len() <= LOG_CAP);
}

#[test]
fn idle_screens_do_not_animate() {
    let a = app();
    assert!(!a.animating());
    assert!(!done_app().animating());
    assert!(running_app(false).animating());
}

// ---------------------------------------------------------------- snapshots

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
        }, {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
        });
    }
}

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
    let base = super::base_config(&InitFlags::default(), &d, None);
    snap("welcome_missing", &App::new(base, d, Theme::Color16, false));
    let mut n = app();
    send(&mut n, [key(KeyCode::Enter), key(KeyCode::F(2))]);
    send(&mut n, std::iter::repeat_n(key(KeyCode::Enter), 3));
    assert_eq!(n.screen, Screen::Review);
    snap("review_node_ip", &n);
    let mut r = running_app(false);
    send(
        &mut r,
        [Msg::Engine(Event::PhaseFailed {
            phase: "wait-control-plane".into(),
            elapsed_ms: 240_000,
            error: "the control plane did not become healthy within 4m0s: kube-apiserver: connection refused".into(),
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
    t.draw(|f| super::view::view(&a, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let red = (0..80u16)
        .flat_map(|x| (0..24u16).map(move |y| (x, y)))
        .any(|p| buf[p].fg == ratatui::style::Color::Red);
    assert!(red, "failure text is red with colours");
    a.theme = Theme::Mono;
    t.draw(|f| super::view::view(&a, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let coloured = (0..80u16)
        .flat_map(|x| (0..24u16).map(move |y| (x, y)))
        .any(|p| {
            buf[p].fg != ratatui::style::Color::Reset || buf[p].bg != ratatui::style::Color::Reset
        });
    assert!(!coloured, "NO_COLOR: no colour at all");
}

#[test]
fn exported_yaml_loads_back_with_file_lines() {
    let mut a = app();
    send(&mut a, std::iter::repeat_n(key(KeyCode::Enter), 4));
    assert_eq!(a.screen, Screen::Review);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("kubeadm.yaml");
    std::fs::write(&p, a.export_text()).unwrap();
    let flags = InitFlags {
        config: Some(p.clone()),
        ..Default::default()
    };
    let (loaded, _) = crate::config::resolve_init(&flags, &facts()).expect("loads");
    let want = a.config.clone().unwrap();
    assert_eq!(loaded.init.local_api_endpoint, want.init.local_api_endpoint);
    assert_eq!(loaded.cluster.networking, want.cluster.networking);
    assert_eq!(
        loaded.cluster.kubernetes_version,
        want.cluster.kubernetes_version
    );
    let line = a
        .export_text()
        .lines()
        .position(|l| l.contains("podSubnet"))
        .unwrap()
        + 1;
    assert_eq!(
        loaded.sources.get("networking.podSubnet"),
        Some(&crate::config::Source::File { line })
    );
    // the wizard opens on review with the file's values and their lines
    let b = App::new(loaded, detected(), Theme::Color16, true);
    assert_eq!(b.screen, Screen::Review);
    let row = b
        .review
        .iter()
        .find(|(l, _)| l.contains("podSubnet"))
        .unwrap();
    assert_eq!(row.1, format!("file line {line}"));
}

#[test]
fn dry_run_done_screen_does_not_claim_a_ready_cluster_and_lists_preflight_errors() {
    let mut a = done_app();
    assert!(a.run.join.as_ref().unwrap().root.is_some(), "a dry run");
    a.run.checks.push(super::state::CheckRow {
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

#[test]
fn a_value_longer_than_its_box_shows_that_it_is_cut() {
    let mut a = app();
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Network);
    a.answers.pod_subnet = "10.244.0.0/16,fd00:10:244::/56".into();
    let text = render(&a, 80, 24);
    let row = text.lines().find(|l| l.contains("Pod subnet")).unwrap();
    assert!(row.contains("[10.244.0.0/16,fd00:10:24…]"), "{row}");
}

/// The wizard and the flags share the rules of `config::validate`: a pod subnet with host
/// bits set is accepted (as kubeadm does), an empty certificate SAN entry is refused by both.
#[test]
fn wizard_fields_follow_the_flag_rules() {
    use crate::config::validate as cv;
    let mut a = Answers::from_config(&app().base);
    a.pod_subnet = "10.244.0.1/16".into();
    assert_eq!(form::validate_field(&a, FieldId::PodSubnet), Ok(()));
    assert_eq!(
        cv::validate_pod_subnet("10.244.0.1/16", "10.96.0.0/12", (24, 64)),
        Ok(())
    );
    a.cert_sans = "foo,,bar".into();
    let e = form::validate_field(&a, FieldId::CertSans).unwrap_err();
    assert!(e.contains("empty entry"), "{e}");
    // the flag path: --apiserver-cert-extra-sans foo,,bar ends as certSANs [foo, "", bar]
    let mut cfg = app().base.clone();
    cfg.cluster.api_server.cert_sans = vec!["foo".into(), String::new(), "bar".into()];
    let errs = cv::validate_init(&cfg, &facts());
    assert!(
        errs.iter()
            .any(|e| !e.warning && e.to_string().contains("certSANs[1]")),
        "{errs:?}"
    );
    a.cert_sans = String::new();
    assert_eq!(form::validate_field(&a, FieldId::CertSans), Ok(()));
}

/// The DNS domain error shows while typing, like every other field, not only on Enter.
#[test]
fn dns_domain_validates_as_typed() {
    let mut a = app();
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Network);
    for _ in 0..form::NETWORK_FIELDS.len() {
        if a.focus == FieldId::DnsDomain {
            break;
        }
        send(&mut a, [key(KeyCode::Tab)]);
    }
    assert_eq!(a.focus, FieldId::DnsDomain);
    send(&mut a, clear_field());
    send(&mut a, typed("Bad_Domain"));
    assert_eq!(a.screen, Screen::Network);
    let e = a.errors.get(&FieldId::DnsDomain).expect("error as typed");
    assert!(e.contains("DNS domain \"Bad_Domain\""), "{e}");
    send(&mut a, clear_field());
    send(&mut a, typed("cluster.local"));
    assert!(!a.errors.contains_key(&FieldId::DnsDomain));
}

/// A name longer than the name column is cut with '…' and the '=' column stays in line.
#[test]
fn args_editor_keeps_the_equals_column_for_long_names() {
    let mut a = app();
    a.answers.extra_args = vec![
        crate::config::Arg {
            name: "audit-log-path".into(),
            value: "/var/log/a".into(),
        },
        crate::config::Arg {
            name: "a-very-long-extra-argument-name-that-overflows".into(),
            value: "x".into(),
        },
    ];
    a.screen = Screen::Args;
    let text = render(&a, 100, 30);
    let cols: Vec<usize> = text
        .lines()
        .filter(|l| l.contains("audit-log-path") || l.contains("a-very-long"))
        .map(|l| l.chars().position(|c| c == '=').expect("= in row"))
        .collect();
    assert_eq!(cols.len(), 2, "{text}");
    assert_eq!(cols[0], cols[1], "{text}");
    assert!(text.contains("a-very-long-extra-argument-na…"), "{text}");
}

/// Quitting (confirmed) before Start exits 0, as nothing ran or failed; a signal, a
/// cancelled run and a failed run exit 1.
#[test]
fn quit_before_start_exits_zero() {
    let mut a = app();
    send(&mut a, [key(KeyCode::Char('q')), key(KeyCode::Char('y'))]);
    assert!(a.quit);
    assert_eq!(a.exit_code(), 0);
    let mut a = app();
    send(&mut a, [Msg::Terminate]);
    assert!(a.quit);
    assert_eq!(a.exit_code(), 1);
    let mut a = app();
    a.run.outcome = Some(RunOutcome::Failed {
        phase: "preflight".into(),
    });
    assert_eq!(a.exit_code(), 1);
    a.run.outcome = Some(RunOutcome::Succeeded);
    assert_eq!(a.exit_code(), 0);
}

/// Writing the join command (or an export) into a missing directory is refused with a
/// message naming it, and the directory is not created; an existing file still asks first.
#[test]
fn write_refuses_a_missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nonexistent-dir");
    let target = missing.join("join.sh");
    let e = super::write_user_file(target.to_str().unwrap(), "kubeadm join\n", false).unwrap_err();
    assert!(
        e.contains(&format!("directory {} does not exist", missing.display())),
        "{e}"
    );
    assert!(!missing.exists());
    let ok = tmp.path().join("join.sh");
    assert_eq!(
        super::write_user_file(ok.to_str().unwrap(), "a\n", false),
        Ok(true)
    );
    assert_eq!(
        super::write_user_file(ok.to_str().unwrap(), "b\n", false),
        Ok(false)
    );
    assert_eq!(std::fs::read_to_string(&ok).unwrap(), "a\n");
    assert_eq!(
        super::write_user_file(ok.to_str().unwrap(), "b\n", true),
        Ok(true)
    );
    assert_eq!(std::fs::read_to_string(&ok).unwrap(), "b\n");
}

/// The preflight pane's fix flow: `f` on a fixable check asks first, `n` applies nothing, `y`
/// asks the runtime to apply that check's fix, and the re-run check's result replaces the row.
#[test]
fn preflight_fix_asks_first_then_applies_and_the_recheck_updates_the_row() {
    let mut a = running_app(false);
    for _ in 0..5 {
        if a.run.focus == Pane::Preflight {
            break;
        }
        send(&mut a, [key(KeyCode::Tab)]);
    }
    assert_eq!(a.run.focus, Pane::Preflight);
    // NumCPU (row 0) passed and has no fix.
    send(&mut a, [key(KeyCode::Char('f'))]);
    assert!(matches!(a.overlay, Overlay::None));
    assert_eq!(
        a.notice.as_deref(),
        Some("the selected preflight check has no fix")
    );
    // Swap (row 2) warns and offers a fix.
    send(&mut a, [key(KeyCode::Down), key(KeyCode::Down)]);
    assert_eq!(a.run.checks[a.run.check_sel].name, "Swap");
    send(&mut a, [key(KeyCode::Char('f'))]);
    assert!(matches!(&a.overlay, Overlay::ConfirmFix { check } if check == "Swap"));
    let fx = send(&mut a, [key(KeyCode::Char('n'))]);
    assert!(
        fx.iter().all(|f| !matches!(f, Effect::ApplyFix { .. })),
        "{fx:?}"
    );
    assert!(matches!(a.overlay, Overlay::None));
    send(&mut a, [key(KeyCode::Char('f'))]);
    let fx = send(&mut a, [key(KeyCode::Char('y'))]);
    assert!(
        fx.iter()
            .any(|f| matches!(f, Effect::ApplyFix { check } if check == "Swap")),
        "{fx:?}"
    );
    // The runtime re-runs the checks after the fix; the new result replaces the row.
    send(
        &mut a,
        [Msg::Engine(Event::Check {
            name: "Swap".into(),
            severity: Severity::Pass,
            message: "swap is off".into(),
            fix: None,
            ignored: false,
        })],
    );
    let swap: Vec<_> = a.run.checks.iter().filter(|c| c.name == "Swap").collect();
    assert_eq!(swap.len(), 1);
    assert_eq!(swap[0].severity, Severity::Pass);
}

#[test]
fn changing_the_version_rechecks_what_the_file_set_for_it() {
    // A file for v1.34 with feature gates kubeadm v1.36+ no longer knows.
    let mut base = app().base.clone();
    base.cluster.kubernetes_version = "v1.34.4".into();
    base.cluster
        .feature_gates
        .insert("ControlPlaneKubeletLocalMode".into(), true);
    let mut a = Answers::from_config(&base);
    a.advertise = "192.0.2.10".into();
    assert!(form::to_config(&a, &base, &facts()).is_ok());
    a.version = "v1.37.2".into();
    let e = form::to_config(&a, &base, &facts()).unwrap_err();
    assert!(
        e.contains("featureGates.ControlPlaneKubeletLocalMode")
            && e.contains("not a valid feature name in Kubernetes v1.37"),
        "{e}"
    );
}

#[test]
fn wizard_fields_share_the_issue_12_value_rules() {
    let f = facts();
    let mut a = Answers::from_config(&app().base);
    a.advertise = "127.0.0.1".into();
    let e = form::validate_field(&a, FieldId::Advertise).unwrap_err();
    assert!(e.contains("\"127.0.0.1\" is a loopback address"), "{e}");
    a.bind_port = "10250".into();
    let e = form::validate_field(&a, FieldId::BindPort).unwrap_err();
    assert!(e.contains("clashes with the kubelet"), "{e}");
    a.node_name = "${NODE}".into();
    let e = form::validate_field(&a, FieldId::NodeName).unwrap_err();
    assert!(
        e.contains("looks like an unexpanded shell or template variable"),
        "{e}"
    );
    a.pod_subnet = "fd00:10::/56".into();
    a.service_subnet = "10.96.0.0/12".into();
    let e = form::validate_field(&a, FieldId::PodSubnet).unwrap_err();
    assert!(e.contains("need a common IP family"), "{e}");
    a.pod_subnet = "10.244.0.0/24".into();
    assert_eq!(form::validate_field(&a, FieldId::PodSubnet), Ok(()));
    let w = form::field_warning(&a, FieldId::PodSubnet, &f).unwrap();
    assert!(w.contains("node-cidr-mask-size-ipv4"), "{w}");
    a.image_repo = "k8s.gcr.io".into();
    assert_eq!(form::validate_field(&a, FieldId::ImageRepo), Ok(()));
    let w = form::field_warning(&a, FieldId::ImageRepo, &f).unwrap();
    assert!(w.contains("is frozen"), "{w}");
}
