//! The Network and Cluster screens: navigation, typed values, validation, choices.

use super::*;

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
            "Pod subnet \"10.244.0.0\" is not a CIDR",
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
            "Reg.Example.com/Foo",
            "Image repository \"Reg.Example.com/Foo\" is not a valid image repository: path component \"Foo\" must be lower-case",
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
fn a_value_longer_than_its_box_shows_that_it_is_cut() {
    let mut a = app();
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Network);
    a.answers.pod_subnet = "10.244.0.0/16,fd00:10:244::/56".into();
    let text = render(&a, 80, 24);
    let row = text.lines().find(|l| l.contains("Pod subnet")).unwrap();
    assert!(row.contains("[10.244.0.0/16,fd00:10:24…]"), "{row}");
    // the whole value follows, wrapped (issue 12: text at 80 columns wraps, not cut)
    assert!(
        text.contains("│   = 10.244.0.0/16,fd00:10:244::/56"),
        "{text}"
    );
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Cluster);
    let text = render(&a, 80, 24);
    assert!(
        text.contains("= unix:///var/run/containerd/containerd.sock"),
        "the CRI socket field's whole value: {text}"
    );
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

/// Issue 12 item 4: an advertise address that is not on this machine is a warning under the
/// field in every run, Start goes on in a dry run, and a real run (no --dry-run, no --root)
/// refuses Start with the rule.
#[test]
fn an_advertise_address_of_another_machine_warns_and_a_real_start_is_refused() {
    let to_review = |dry_run: bool| {
        let mut a = app();
        a.detected.dry_run = dry_run;
        a.detected.root = None;
        a.answers.advertise = "203.0.113.5".into();
        a.answers.node_name = "cp1".into();
        let w = form::field_warning(&a.answers, FieldId::Advertise, &a.detected.facts).unwrap();
        assert!(
            w.contains("Advertise address \"203.0.113.5\" is not an address of any interface of this machine")
                && w.contains("192.0.2.10 (eth0)")
                && w.contains("a real init refuses it"),
            "{w}"
        );
        assert_eq!(form::validate_field(&a.answers, FieldId::Advertise), Ok(()));
        send(&mut a, std::iter::repeat_n(key(KeyCode::Enter), 4));
        assert_eq!(a.screen, Screen::Review, "{:?}", a.notice);
        a
    };
    let mut real = to_review(false);
    let fx = send(&mut real, [key(KeyCode::Enter)]);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(real.screen, Screen::Review);
    let n = real.notice.clone().unwrap_or_default();
    assert!(
        n.starts_with("Start refused: localAPIEndpoint.advertiseAddress: \"203.0.113.5\" is not an address of any interface"),
        "{n}"
    );
    let mut dry = to_review(true);
    let fx = send(&mut dry, [key(KeyCode::Enter)]);
    assert!(!fx.is_empty(), "a dry run starts");
    assert_eq!(dry.screen, Screen::Run);
}

/// Goes to the review screen with the endpoint typed (or left empty).
fn review_with_endpoint(endpoint: &str) -> App {
    let mut a = app();
    send(
        &mut a,
        [key(KeyCode::Enter), key(KeyCode::Tab), key(KeyCode::Tab)],
    );
    send(&mut a, typed(endpoint));
    send(&mut a, std::iter::repeat_n(key(KeyCode::Enter), 3));
    assert_eq!(a.screen, Screen::Review);
    a
}

#[test]
fn u_on_review_toggles_upload_certs_and_start_carries_it() {
    let mut a = review_with_endpoint("cp.example.com:6443");
    assert!(!a.upload_certs, "off unless --upload-certs was given");
    send(&mut a, [key(KeyCode::Char('u'))]);
    assert!(a.upload_certs);
    assert_eq!(a.screen, Screen::Review, "the toggle stays on review");
    assert!(a.notice.as_deref().unwrap().contains("--upload-certs"));
    // with an endpoint there is nothing to warn about
    assert_eq!(a.upload_certs_warning(), None);
    let mut off = a.clone();
    send(&mut off, [key(KeyCode::Char('u'))]);
    assert!(!off.upload_certs, "u again turns it off");
    let fx = update(&mut a, key(KeyCode::Enter));
    let [Effect::Start { upload_certs, .. }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    assert!(*upload_certs, "the run gets --upload-certs");
    let fx = update(&mut off, key(KeyCode::Enter));
    let [Effect::Start { upload_certs, .. }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    assert!(!*upload_certs);
}

#[test]
fn upload_certs_without_endpoint_warns_as_the_cli_does() {
    let mut a = review_with_endpoint("");
    assert_eq!(a.upload_certs_warning(), None, "off: no warning");
    send(&mut a, [key(KeyCode::Char('u'))]);
    let w = a
        .upload_certs_warning()
        .expect("on without an endpoint warns");
    let cli = crate::phases::upload_certs::no_endpoint_warning(a.config.as_ref().unwrap(), true);
    assert_eq!(Some(w.clone()), cli, "the same words as kubestrap init");
    assert!(w.contains("cannot take more control-plane nodes"), "{w}");
    assert!(
        w.contains("192.0.2.10:6443"),
        "names this node's address: {w}"
    );
}

#[test]
fn export_with_upload_certs_names_the_flag_and_stays_loadable() {
    let mut a = review_with_endpoint("cp.example.com:6443");
    let plain = a.export_text();
    assert!(!plain.contains("upload-certs"), "{plain}");
    send(&mut a, [key(KeyCode::Char('u'))]);
    let text = a.export_text();
    let (first, rest) = text.split_once('\n').unwrap();
    assert!(
        first.starts_with("# ") && first.contains("--upload-certs"),
        "{first}"
    );
    assert_eq!(rest, plain, "only the comment is added");
    // no field was invented: the loader takes it like the plain export
    let loaded = crate::config::load::load_documents(&text, "kubeadm.yaml")
        .unwrap_or_else(|e| panic!("{e:?}"));
    let loaded_plain = crate::config::load::load_documents(&plain, "kubeadm.yaml").unwrap();
    assert_eq!(
        format!("{:?}", loaded.init),
        format!("{:?}", loaded_plain.init)
    );
}

#[test]
fn u_is_refused_with_an_external_ca_as_init_refuses_the_flag() {
    let mut a = review_with_endpoint("cp.example.com:6443");
    a.detected.upload_certs_refused = Some(
        "--upload-certs cannot be used with an external CA (ca.crt present without ca.key)".into(),
    );
    send(&mut a, [key(KeyCode::Char('u'))]);
    assert!(!a.upload_certs, "stays off");
    let n = a.notice.clone().unwrap();
    assert!(
        n.starts_with("✗ --upload-certs cannot be used with an external CA"),
        "{n}"
    );
    let fx = update(&mut a, key(KeyCode::Enter));
    let [Effect::Start { upload_certs, .. }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    assert!(!*upload_certs);
}

/// Finding 4: while the "terminal too small" message hides the wizard, editing keys do not
/// change the hidden field (nor move focus or screens); `q` and Ctrl-C still quit.
#[test]
fn keys_are_ignored_while_the_terminal_is_too_small() {
    let mut a = app();
    send(&mut a, [key(KeyCode::Enter)]);
    assert_eq!(a.screen, Screen::Network);
    let before = a.clone();
    let export = a.export_text();
    send(&mut a, [Msg::Resize(60, 20)]);
    assert!(a.too_small());
    let mut keys = typed("10.0.0.9");
    keys.extend(clear_field());
    keys.extend([
        key(KeyCode::Tab),
        key(KeyCode::Enter),
        key(KeyCode::Esc),
        key(KeyCode::Char('?')),
    ]);
    let fx = send(&mut a, keys);
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(a.export_text(), export, "the hidden field was edited");
    assert_eq!(a.focus, before.focus);
    assert_eq!(a.screen, Screen::Network);
    assert!(matches!(a.overlay, Overlay::None), "{:?}", a.overlay);
    assert!(!a.quit);
    send(&mut a, [Msg::Resize(80, 24)]);
    assert!(!a.too_small());
    send(&mut a, [Msg::Resize(79, 30)]);
    let fx = send(&mut a, [key(KeyCode::Char('q'))]);
    assert!(a.quit && matches!(fx.last(), Some(Effect::Quit)), "{fx:?}");
    let mut b = before.clone();
    send(&mut b, [Msg::Resize(100, 23)]);
    let fx = send(&mut b, [ctrl('c')]);
    assert!(b.quit && matches!(fx.last(), Some(Effect::Quit)), "{fx:?}");
}
