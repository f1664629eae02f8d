//! Snapshots of a control-plane join in the join wizard.

use super::*;

/// The progress and done screens of a control-plane join: the etcd member steps (learner
/// added, catch-up attempts live, promotion) under `etcd-join`.
/// A join wizard that started a control-plane join and finished the phases before
/// `etcd-join`.
fn control_plane_join_before_etcd() -> JoinApp {
    let mut a = app();
    a.clock_ms = 0;
    let cmd = format!(
        "kubestrap join 192.0.2.10:6443 --token {TOKEN} --discovery-token-ca-cert-hash {PIN} --control-plane --certificate-key {} --apiserver-advertise-address 192.0.2.11",
        "ab".repeat(32)
    );
    update(&mut a, JoinMsg::Paste(cmd));
    update(&mut a, key(KeyCode::Enter));
    assert_eq!(a.screen, JoinScreen::Progress);
    let phases: Vec<&str> = a.progress.phases.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(phases, crate::join::CONTROL_PLANE_PHASES);
    for p in [
        "preflight",
        "discovery",
        "control-plane-prepare",
        "check-etcd",
        "kubelet-start",
    ] {
        update(&mut a, ev(Event::PhaseStarted { phase: p.into() }));
        if p == "discovery" {
            for m in [
                "Reached 192.0.2.10:6443; cluster-info carries a signature for token abcdef"
                    .to_string(),
                "Signature of cluster-info checked with token abcdef".to_string(),
                format!("Cluster CA CN=kubernetes matches the pinned hash {PIN}"),
                "Fetched cluster-info again trusting only CA CN=kubernetes: unchanged".to_string(),
            ] {
                update(&mut a, log("discovery", LogLevel::Info, &m));
            }
        }
        update(
            &mut a,
            ev(Event::PhaseFinished {
                phase: p.into(),
                elapsed_ms: 40,
            }),
        );
    }
    update(
        &mut a,
        ev(Event::PhaseStarted {
            phase: "etcd-join".into(),
        }),
    );
    a
}

/// Finishes the phases from `etcd-join` on and the run.
fn finish_control_plane_join(a: &mut JoinApp) {
    for p in [
        "etcd-join",
        "kubelet-wait-bootstrap",
        "control-plane-join",
        "wait-control-plane",
    ] {
        update(a, ev(Event::PhaseStarted { phase: p.into() }));
        update(
            a,
            ev(Event::PhaseFinished {
                phase: p.into(),
                elapsed_ms: 700,
            }),
        );
    }
    update(
        a,
        ev(Event::Finished {
            outcome: RunOutcome::Succeeded,
        }),
    );
    assert_eq!(a.screen, JoinScreen::Done);
}

#[test]
fn snapshots_of_a_control_plane_join() {
    let mut a = control_plane_join_before_etcd();
    update(
        &mut a,
        log(
            "etcd-join",
            LogLevel::Info,
            "[etcd] Announced new etcd member joining to the existing etcd cluster (learner 10241977b841d938, https://192.0.2.11:2380)",
        ),
    );
    update(
        &mut a,
        log(
            "etcd-join",
            LogLevel::Info,
            "[etcd] The learner 10241977b841d938 started; promoting it to a voting member once it has caught up with the leader",
        ),
    );
    update(
        &mut a,
        ev(Event::Probe {
            component: crate::join::etcd::LEARNER_PROBE.into(),
            url: "https://192.0.2.11:2380".into(),
            attempt: 4,
            outcome: ProbeOutcome::Error {
                message: "etcdserver: can only promote a learner member which is in sync with leader (at https://192.0.2.10:2379)".into(),
            },
            elapsed_ms: 1_500,
            timeout_ms: 120_000,
        }),
    );
    a.clock_ms = 9_000;
    assert_eq!(a.progress.etcd_add, Step::Done);
    assert_eq!(a.progress.etcd_catch_up, Step::Active);
    snap("progress_etcd_catch_up", &a);
    update(
        &mut a,
        log(
            "etcd-join",
            LogLevel::Info,
            "[etcd] The learner 10241977b841d938 was promoted to a voting member",
        ),
    );
    assert_eq!(a.progress.etcd_promote, Step::Done);
    finish_control_plane_join(&mut a);
    let done = render(&a, 120, 40);
    assert!(
        done.contains("A new etcd member was added to the local/stacked etcd cluster."),
        "{done}"
    );
    snap("done_control_plane", &a);
}

/// With external etcd, `etcd-join` adds no member: no learner steps while it runs, and the
/// done screen says what kubeadm's join message says for external etcd (no etcd line).
#[test]
fn a_control_plane_join_with_external_etcd_claims_no_new_etcd_member() {
    let mut a = control_plane_join_before_etcd();
    update(
        &mut a,
        log(
            "etcd-join",
            LogLevel::Info,
            crate::join::etcd::EXTERNAL_ETCD,
        ),
    );
    assert!(a.progress.external_etcd);
    let running = render(&a, 120, 40);
    assert!(
        running.contains("external etcd: no local stacked instance added"),
        "{running}"
    );
    assert!(!running.contains("etcd learner"), "{running}");
    finish_control_plane_join(&mut a);
    assert_eq!(a.progress.etcd_add, Step::Pending, "no member was added");
    for (w, h) in [(80, 24), (120, 40)] {
        // the screen's text with its wrapped lines joined
        let done = render(&a, w, h)
            .lines()
            .map(|l| l.trim_matches(|c| c == '│' || c == ' '))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            done.contains("a new control plane instance was created"),
            "{done}"
        );
        assert!(done.contains("control plane instances scaled up"), "{done}");
        assert!(!done.contains("etcd member"), "{done}");
    }
    snap("done_control_plane_external_etcd", &a);
}

/// Quitting during etcd-join waits long enough for the run to remove the learner it added.
#[test]
fn quitting_in_etcd_join_waits_for_the_learner_to_be_removed() {
    let mut a = control_plane_join_before_etcd();
    assert_eq!(a.cancel_wait_ms(), 60_000);
    let fx = update(
        &mut a,
        JoinMsg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(matches!(fx.as_slice(), [JoinEffect::Quit]), "{fx:?}");
    // elsewhere a cancelled run gets the short wait
    let mut b = control_plane_join_before_etcd();
    update(
        &mut b,
        ev(Event::PhaseFinished {
            phase: "etcd-join".into(),
            elapsed_ms: 10,
        }),
    );
    assert_eq!(b.cancel_wait_ms(), 2_000);
    assert_eq!(app().cancel_wait_ms(), 2_000);
}
