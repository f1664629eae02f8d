//! Running, quitting, cancelling, failure and retry, the done screen, and written files.

use super::*;

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
    // Only phases that finished (all their files written): not the interrupted wait.
    let wide = render(&a, 120, 40);
    let line = wide
        .lines()
        .find(|l| l.contains("Done before it stopped:"))
        .unwrap_or_default();
    assert!(
        line.contains("kubelet-start") && !line.contains("wait-control-plane"),
        "{line}"
    );
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
                causes: vec![],
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
    // the writer of every export (config::export): kubeadm's key order, and it loads back
    assert!(contents.starts_with("apiVersion: kubeadm.k8s.io/v1beta4\n"));
    let loaded = crate::config::load::load_documents(&contents, "out.yaml").expect("loads");
    assert!(
        loaded.init.is_some() && loaded.cluster.is_some(),
        "{contents}"
    );
    assert_eq!(
        contents,
        crate::config::export::export_init(
            a.config.as_ref().unwrap(),
            crate::config::load::ApiVersion::V1beta4,
            false
        )
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
    // the terminal may drop OSC 52: the notice says what was done, not that it worked
    assert_eq!(
        a.notice.as_deref(),
        Some("join command sent to the terminal clipboard (OSC 52)")
    );
    assert_eq!(
        crate::tui::osc52("hi"),
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
    let e =
        crate::tui::write_user_file(target.to_str().unwrap(), "kubeadm join\n", false).unwrap_err();
    assert!(
        e.contains(&format!("directory {} does not exist", missing.display())),
        "{e}"
    );
    assert!(!missing.exists());
    let ok = tmp.path().join("join.sh");
    assert_eq!(
        crate::tui::write_user_file(ok.to_str().unwrap(), "a\n", false),
        Ok(true)
    );
    assert_eq!(
        crate::tui::write_user_file(ok.to_str().unwrap(), "b\n", false),
        Ok(false)
    );
    assert_eq!(std::fs::read_to_string(&ok).unwrap(), "a\n");
    assert_eq!(
        crate::tui::write_user_file(ok.to_str().unwrap(), "b\n", true),
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
    // NumCPU (row 1, after the warning) passed and has no fix.
    send(&mut a, [key(KeyCode::Down)]);
    assert_eq!(a.run.checks[a.run.check_sel].name, "NumCPU");
    send(&mut a, [key(KeyCode::Char('f'))]);
    assert!(matches!(a.overlay, Overlay::None));
    assert_eq!(
        a.notice.as_deref(),
        Some("the selected preflight check has no fix")
    );
    // Swap (row 0: warnings before passes) warns and offers a fix.
    send(&mut a, [key(KeyCode::Up)]);
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

/// Issue 12 item 7: a finished preflight phase whose checks warned shows `!`, one whose check
/// failed (a dry run goes on) shows `✗`; never `✓`.
#[test]
fn the_phase_list_marks_preflight_by_its_checks() {
    let a = running_app(false);
    assert_eq!(a.run.preflight_outcome(), Severity::Warning);
    let s = render(&a, 120, 40);
    assert!(
        s.contains("! preflight") && !s.contains("✓ preflight"),
        "{s}"
    );
    let mut b = a.clone();
    b.run.checks[0].severity = Severity::Error;
    let s = render(&b, 120, 40);
    assert!(
        s.contains("✗ preflight") && !s.contains("✓ preflight"),
        "{s}"
    );
    b.run.checks[0].ignored = true;
    assert_eq!(b.run.preflight_outcome(), Severity::Warning);
}

/// Issue 12 items 7 and 12: Esc on the done screen does not quit; `p` reopens the run
/// screen on the preflight results after the run ended, and Esc goes back to the done screen.
#[test]
fn done_screen_esc_stays_and_p_reopens_the_preflight_results() {
    let mut a = done_app();
    assert_eq!(a.screen, Screen::Done);
    let fx = send(&mut a, [key(KeyCode::Esc)]);
    assert!(fx.is_empty() && !a.quit, "{fx:?}");
    assert_eq!(a.screen, Screen::Done);
    send(&mut a, [key(KeyCode::Char('p'))]);
    assert_eq!(a.screen, Screen::Run);
    let s = render(&a, 80, 24);
    assert!(
        s.contains("Preflight checks") && s.contains("! warn Swap"),
        "{s}"
    );
    assert!(s.contains("Esc back"), "{s}");
    send(&mut a, [key(KeyCode::Esc)]);
    assert_eq!(a.screen, Screen::Done);
    assert!(!a.quit);
}

/// Issue 12 item 12: the cancel dialog and the README say the same thing about Ctrl-C.
#[test]
fn the_cancel_dialog_says_what_the_readme_says() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let dialog = crate::tui::strings::CONFIRM_CANCEL;
    assert!(readme.contains(dialog), "README lacks {dialog:?}");
    let mut a = running_app(false);
    send(&mut a, [ctrl('c')]);
    assert!(matches!(a.overlay, Overlay::ConfirmCancel));
    let s = render(&a, 120, 40);
    assert!(
        s.contains("Cancel the run? Waits stop at once and the run ends at the next safe"),
        "{s}"
    );
}

/// Issue 12 item 7: the preflight results list errors first, then warnings, then passes.
#[test]
fn preflight_results_list_errors_first() {
    let mut a = running_app(false);
    send(
        &mut a,
        [Msg::Engine(Event::Check {
            name: "CRI".into(),
            severity: Severity::Error,
            message: "container runtime is not running".into(),
            fix: None,
            ignored: false,
        })],
    );
    let names: Vec<&str> = a.run.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names[..2], ["CRI", "Swap"], "{names:?}");
    assert!(
        a.run.checks[2..]
            .iter()
            .all(|c| c.severity == Severity::Pass)
    );
}

/// Issue 12 item 12: at 80 columns a long preflight message wraps in the pane, whole.
#[test]
fn the_preflight_pane_wraps_long_messages_at_80_columns() {
    let mut a = running_app(false);
    let long = "container runtime is not running: socket /var/run/containerd/containerd.sock does not exist (unix:///var/run/containerd/containerd.sock)";
    send(
        &mut a,
        [Msg::Engine(Event::Check {
            name: "CRI".into(),
            severity: Severity::Error,
            message: long.into(),
            fix: None,
            ignored: false,
        })],
    );
    a.run.focus = Pane::Preflight;
    a.run.pinned = true;
    let s = render(&a, 80, 24);
    let flat: String = s
        .lines()
        .map(|l| {
            l.trim_matches(|c: char| c == '│' || c == '┐' || c == '┘' || c.is_whitespace())
                .split('│')
                .next_back()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ");
    // (a word longer than the pane is broken where the pane ends: compare without spaces)
    let squash = |t: &str| t.split_whitespace().collect::<String>();
    assert!(squash(&flat).contains(&squash(long)), "{s}");
}
