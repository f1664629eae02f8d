//! The kube-apiserver extra-arguments screen.

use super::*;

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
        crate::tui::args::managed_value("enable-admission-plugins", &a.answers).as_deref(),
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
        crate::tui::args::check_name("--v")
            .unwrap_err()
            .contains("without the leading dashes")
    );
    assert!(
        crate::tui::args::check_name("v=2")
            .unwrap_err()
            .contains("must not contain '='")
    );
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

/// Issue 12 item 2: the editor refuses an override of a derived flag where kubeadm breaks
/// (naming the field to change) and keeps the entry open; an override that is only warned is
/// saved and shown with kubestrap's value.
#[test]
fn the_editor_refuses_overrides_of_derived_flags_that_kubeadm_breaks_on() {
    let mut a = app();
    send(&mut a, std::iter::repeat_n(key(KeyCode::Enter), 3));
    assert_eq!(a.screen, Screen::Args);
    send(&mut a, [key(KeyCode::Char('a'))]);
    send(&mut a, typed("service-cluster-ip-range"));
    send(&mut a, [key(KeyCode::Tab)]);
    send(&mut a, typed("10.100.0.0/16"));
    send(&mut a, [key(KeyCode::Enter)]);
    let e = a
        .args
        .edit
        .as_ref()
        .and_then(|e| e.error.clone())
        .expect("refused");
    assert!(
        e.starts_with("service-cluster-ip-range \"10.100.0.0/16\" overrides --service-cluster-ip-range \"10.96.0.0/12\", which kubestrap derives from networking.serviceSubnet"),
        "{e}"
    );
    assert!(a.answers.extra_args.is_empty());
    send(&mut a, [key(KeyCode::Esc)]);
    send(&mut a, [key(KeyCode::Char('a'))]);
    send(&mut a, typed("advertise-address"));
    send(&mut a, [key(KeyCode::Tab)]);
    send(&mut a, typed("198.51.100.4"));
    send(&mut a, [key(KeyCode::Enter)]);
    assert!(a.args.edit.is_none());
    assert_eq!(a.answers.extra_args.len(), 1);
}
