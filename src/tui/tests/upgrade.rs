//! The upgrade the welcome screen offers: the keys from the welcome screen to the plan and
//! back, the confirmation's effect, the run folded from `upgrade apply`'s events, and the
//! snapshots of the three screens.

use super::*;
use crate::phases::upgrade::plan::{AvailableUpgrade, ComponentUpgradePlan};

fn row(name: &str, node: &str, from: &str, to: &str) -> ComponentUpgradePlan {
    ComponentUpgradePlan {
        name: name.into(),
        current_version: from.into(),
        new_version: to.into(),
        node_name: node.into(),
    }
}

fn plan() -> AvailableUpgrade {
    AvailableUpgrade {
        description: "stable version".into(),
        components: vec![
            row("kubelet", "node-a", "v1.36.3", "v1.37.2"),
            row("kube-apiserver", "node-a", "v1.36.3", "v1.37.2"),
            row("kube-controller-manager", "node-a", "v1.36.3", "v1.37.2"),
            row("kube-scheduler", "node-a", "v1.36.3", "v1.37.2"),
            row("kube-proxy", "", "v1.36.3", "v1.37.2"),
            row("CoreDNS", "", "v1.12.1", "v1.12.4"),
            row("etcd", "node-a", "3.6.4-0", "3.6.5-0"),
        ],
    }
}

/// The wizard on a machine with a control plane whose upgrade to v1.37.2 is offered.
fn offered() -> App {
    let mut a = app();
    a.detected.existing = vec![
        "found: 22 certificates, apiserver expires first (in 364d)".into(),
        "r renews them all now (kubestrap certs renew all)".into(),
        "start over instead: kubestrap reset".into(),
    ];
    // A real run on the machine (not a dry run): what an upgrade offer goes with.
    a.detected.root = None;
    a.detected.dry_run = false;
    a.upgrade = UpgradeOffer::new(plan());
    a
}

fn log(message: &str) -> Msg {
    Msg::Engine(Event::Log {
        level: LogLevel::Info,
        phase: Some("upgrade/control-plane".into()),
        message: message.into(),
    })
}

/// The upgrade half-way: etcd done, kube-apiserver restarted and not yet healthy.
fn upgrading() -> App {
    let mut a = offered();
    send(&mut a, [key(KeyCode::Char('u')), key(KeyCode::Enter)]);
    a.clock_ms = 12_000;
    send(
        &mut a,
        [
            log("[upgrade/preflight] Running preflight checks"),
            log(
                "[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version \"v1.37.2\" (timeout: 5m0s)...",
            ),
            log("[upgrade/staticpods] Preparing for \"etcd\" upgrade"),
            log("[upgrade/staticpods] Waiting for the kubelet to restart the component"),
            log(
                "[upgrade/staticpods] etcd restarted: a new process reports version 3.6.5 after 3.2s",
            ),
            log("[upgrade/staticpods] etcd is healthy (https://127.0.0.1:2381/health) after 4.0s"),
            log("[upgrade/staticpods] Component \"etcd\" upgraded successfully!"),
            log("[upgrade/staticpods] Preparing for \"kube-apiserver\" upgrade"),
            log("[upgrade/staticpods] Waiting for the kubelet to restart the component"),
            log(
                "[upgrade/staticpods] kube-apiserver restarted: a new process reports version v1.37.2 after 6.1s",
            ),
        ],
    );
    a
}

fn status(a: &App, name: &str) -> CompStatus {
    let run = a.upgrade_run.as_ref().expect("an upgrade run");
    run.rows
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.status)
        .expect(name)
}

#[test]
fn the_welcome_screen_offers_the_upgrade_only_when_the_plan_has_a_target() {
    let mut a = app();
    a.detected.existing = offered().detected.existing;
    assert!(send(&mut a, [key(KeyCode::Char('u'))]).is_empty());
    assert_eq!(a.screen, Screen::Welcome);
    assert!(!render(&a, 80, 24).contains("u upgrades it"));
    // A plan without a control-plane target offers nothing.
    let mut none = plan();
    none.components.retain(|c| c.name == "kubelet");
    assert_eq!(UpgradeOffer::new(none), None);
    let a = offered();
    assert_eq!(
        a.upgrade.as_ref().map(|u| u.version()).as_deref(),
        Some("v1.37.2")
    );
    let text = render(&a, 80, 24);
    assert!(text.contains("u upgrades it to v1.37.2"), "{text}");
    assert!(text.contains("u upgrade"), "{text}");
}

#[test]
fn u_shows_the_plan_and_esc_goes_back() {
    let mut a = offered();
    assert!(send(&mut a, [key(KeyCode::Char('u'))]).is_empty());
    assert_eq!(a.screen, Screen::UpgradePlan);
    let text = render(&a, 120, 40);
    for want in [
        "kube-apiserver",
        "v1.36.3",
        "v1.37.2",
        "COMPONENT",
        "TARGET",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert!(send(&mut a, [key(KeyCode::Esc)]).is_empty());
    assert_eq!(a.screen, Screen::Welcome);
    assert_eq!(a.upgrade_run, None);
    send(&mut a, [key(KeyCode::Char('u')), key(KeyCode::Char('n'))]);
    assert_eq!(a.screen, Screen::Welcome);
}

#[test]
fn confirming_starts_the_upgrade_with_the_target_version() {
    for confirm in [KeyCode::Enter, KeyCode::Char('y')] {
        let mut a = offered();
        let fx = send(&mut a, [key(KeyCode::Char('u')), key(confirm)]);
        assert_eq!(
            fx,
            vec![Effect::Upgrade {
                version: "v1.37.2".into()
            }]
        );
        assert_eq!(a.screen, Screen::UpgradeRun);
        assert!(a.upgrade_running() && a.animating());
        let run = a.upgrade_run.as_ref().unwrap();
        // The kubelets are upgraded by hand: not rows of the run.
        assert!(run.rows.iter().all(|r| r.name != "kubelet"));
        assert_eq!(run.rows.len(), 6);
    }
}

#[test]
fn the_run_follows_each_component_to_healthy() {
    let mut a = upgrading();
    assert_eq!(status(&a, "etcd"), CompStatus::Healthy);
    assert_eq!(status(&a, "kube-apiserver"), CompStatus::Restarted);
    assert_eq!(status(&a, "kube-scheduler"), CompStatus::Pending);
    send(
        &mut a,
        [
            log("[upgrade/staticpods] Component \"kube-apiserver\" upgraded successfully!"),
            log(
                "[upgrade/staticpods] Current and new manifests of kube-scheduler are equal, skipping upgrade",
            ),
            log("[addons] Applied essential addon: CoreDNS"),
        ],
    );
    assert_eq!(status(&a, "kube-apiserver"), CompStatus::Healthy);
    assert_eq!(status(&a, "kube-scheduler"), CompStatus::Unchanged);
    assert_eq!(status(&a, "CoreDNS"), CompStatus::Healthy);
    send(
        &mut a,
        [log(
            "[dryrun] Would back up \"/etc/kubernetes/manifests/kube-controller-manager.yaml\" to \"/etc/kubernetes/tmp/x/kube-controller-manager.yaml\" and write file",
        )],
    );
    assert_eq!(
        status(&a, "kube-controller-manager"),
        CompStatus::WouldUpgrade
    );
    // The run's events do not touch init's run state.
    assert!(a.run.log.is_empty() && !a.run.running);
    send(
        &mut a,
        [Msg::Engine(Event::Finished {
            outcome: RunOutcome::Succeeded,
        })],
    );
    assert!(!a.upgrade_running());
    assert_eq!(a.exit_code(), 0);
    assert_eq!(send(&mut a, [key(KeyCode::Enter)]), vec![Effect::Quit]);
}

#[test]
fn a_failed_component_is_marked_and_the_run_fails() {
    let mut a = upgrading();
    send(
        &mut a,
        [
            Msg::Engine(Event::PhaseFailed {
                phase: "upgrade".into(),
                elapsed_ms: 0,
                error: "couldn't upgrade control plane".into(),
                causes: vec![],
                hint: None,
            }),
            Msg::Engine(Event::Finished {
                outcome: RunOutcome::Failed {
                    phase: "upgrade".into(),
                },
            }),
        ],
    );
    assert_eq!(status(&a, "kube-apiserver"), CompStatus::Failed);
    assert_eq!(status(&a, "etcd"), CompStatus::Healthy);
    assert_eq!(a.exit_code(), 1);
    assert!(render(&a, 80, 24).contains("failed"));
}

#[test]
fn ctrl_c_asks_then_cancels_the_running_upgrade() {
    let mut a = upgrading();
    assert!(send(&mut a, [ctrl('c')]).is_empty());
    assert!(matches!(a.overlay, Overlay::ConfirmCancel));
    assert_eq!(
        send(&mut a, [key(KeyCode::Char('y'))]),
        vec![Effect::Cancel]
    );
    assert!(a.upgrade_run.as_ref().unwrap().cancel_requested);
}

#[test]
fn the_log_scrolls_with_the_arrows_and_the_wheel() {
    let mut a = upgrading();
    send(&mut a, [key(KeyCode::Up), key(KeyCode::Up)]);
    assert_eq!(a.upgrade_run.as_ref().unwrap().scroll, 2);
    send(
        &mut a,
        [Msg::Mouse(crossterm::event::MouseEvent {
            kind: crossterm::event::MouseEventKind::ScrollDown,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        })],
    );
    assert_eq!(a.upgrade_run.as_ref().unwrap().scroll, 0);
}

#[test]
fn snapshots_of_the_upgrade_screens() {
    let mut a = offered();
    snap("welcome_upgrade", &a);
    send(&mut a, [key(KeyCode::Char('u'))]);
    snap("upgrade_plan", &a);
    snap("upgrade_run", &upgrading());
}
