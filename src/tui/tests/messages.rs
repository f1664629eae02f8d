//! Issue 12: "a value is printed once per message; similar rules give the same reason". Every
//! wizard field's validator and warning, and every rule of the whole configuration, over a set
//! of bad values: each message names its subject, prints the value once and joins the rule
//! with a verb or a colon.

use super::*;

/// Bad (or warned) values for every field of the Network and Cluster screens.
fn bad_values() -> Vec<(FieldId, &'static str)> {
    use FieldId::*;
    let long_name: &'static str = Box::leak("a".repeat(64).into_boxed_str());
    let long_domain: &'static str = Box::leak(format!("{}.local", "b".repeat(64)).into_boxed_str());
    vec![
        (Advertise, "10.0.0"),
        (Advertise, "127.0.0.1"),
        (Advertise, "0.0.0.0"),
        (Advertise, "255.255.255.255"),
        (Advertise, "169.254.1.1"),
        (Advertise, "224.0.0.1"),
        (Advertise, "fe80::1"),
        (Advertise, "${ADVERTISE_IP}"),
        (Advertise, "2001:db8::10"),
        (Advertise, "203.0.113.5"),
        (Advertise, "198.51.100.4"),
        (BindPort, "99999"),
        (BindPort, "abc"),
        (BindPort, "10250"),
        (Endpoint, "k8s.example.com:99999"),
        (Endpoint, "k8s_api.example"),
        (Endpoint, "k8s_api.example:6443"),
        (Endpoint, "https://cp.example.com:6443"),
        (Endpoint, "[2001:db8::1"),
        (Endpoint, "2001:db8::1:6443:x"),
        (Endpoint, "${LB}:6443"),
        (PodSubnet, "10.244.0.0"),
        (PodSubnet, "10.244.0.0/25"),
        (PodSubnet, "10.244.0.0/29"),
        (PodSubnet, "10.0.0.0/4"),
        (PodSubnet, "10.244.0.0/16,foo"),
        (PodSubnet, "10.244.0.0/16,10.245.0.0/16"),
        (PodSubnet, "10.96.0.0/16"),
        (PodSubnet, "fd00:10::/56"),
        (PodSubnet, "10.244.0.0/24"),
        (PodSubnet, "192.0.0.0/16"),
        (ServiceSubnet, "10.97.0.0"),
        (ServiceSubnet, "10.0.0.0/8"),
        (ServiceSubnet, "10.96.0.0/30"),
        (ServiceSubnet, "fd00::/64"),
        (ServiceSubnet, "10.96.0.0/12,bar"),
        (DnsDomain, "Bad_Domain"),
        (DnsDomain, "${DOMAIN}"),
        (DnsDomain, long_domain),
        (Version, "v1.36"),
        (Version, "v1.99.0"),
        (Version, "banana"),
        (Version, "v1.37.99"),
        (NodeName, "Node_A"),
        (NodeName, long_name),
        (ImageRepo, "https://reg.example.com"),
        (ImageRepo, "Reg.Example.com/Foo"),
        (ImageRepo, "reg.example.com/foo:tag"),
        (ImageRepo, "k8s.gcr.io"),
        (CriSocket, "containerd"),
        (CriSocket, "tcp://10.0.0.1:1234"),
        (CriSocket, "unix://relative.sock"),
        (CertSans, "bad name"),
        (CertSans, "ok.example.com,bad name"),
        (CertSans, "foo,,bar"),
        (KeyAlgo, "RSA-1024"),
    ]
}

/// `msg` is `label "value" …` with the value once, then a verb or a colon.
fn assert_once(msg: &str, label: &str, v: &str) {
    let quoted = format!("{v:?}");
    let head = format!("{label} {quoted}");
    assert!(msg.starts_with(&head), "{msg:?} should start with {head:?}");
    assert!(
        msg[head.len()..].starts_with([' ', ':']),
        "{msg:?}: the value and the rule are not joined by a space or a colon"
    );
    assert_eq!(msg.matches(&quoted).count(), 1, "{v:?} twice in {msg:?}");
    if v.len() >= 3 {
        assert_eq!(tokens_equal_to(msg, v), 1, "{v:?} twice in {msg:?}");
    }
}

/// How often `v` stands in `msg` as a word of its own (not a part of a longer address, path
/// or version such as the examples of a rule).
fn tokens_equal_to(msg: &str, v: &str) -> usize {
    let part = |c: char| c.is_ascii_alphanumeric() || "./:_-[]$".contains(c);
    msg.match_indices(v)
        .filter(|(i, _)| {
            let before = msg[..*i].chars().next_back();
            let after = msg[i + v.len()..].chars().next();
            !before.is_some_and(part) && !after.is_some_and(part)
        })
        .count()
}

#[test]
fn every_field_message_prints_its_value_once() {
    let f = facts();
    let base = Answers::from_config(&app().base);
    let mut seen = 0;
    for (field, v) in bad_values() {
        let mut a = base.clone();
        a.set(field, v.to_string());
        let label = crate::tui::strings::label(field);
        let err = form::validate_field(&a, field).err();
        let warn = form::field_warning(&a, field, &f);
        assert!(
            err.is_some() || warn.is_some(),
            "{field:?}={v:?} is neither refused nor warned"
        );
        for m in err.iter().chain(warn.iter()) {
            assert_once(m, label, v);
            seen += 1;
        }
    }
    assert!(seen >= bad_values().len());
}

#[test]
fn every_config_rule_prints_its_value_once() {
    let facts = facts();
    for (field, v) in bad_values() {
        let mut a = Answers::from_config(&app().base);
        a.set(field, v.to_string());
        // The file path: the answers written into a configuration as they are, unchecked.
        let mut cfg = app().base.clone();
        let c = &mut cfg.cluster;
        let i = &mut cfg.init;
        match field {
            FieldId::Advertise => i.local_api_endpoint.advertise_address = v.into(),
            FieldId::BindPort => i.local_api_endpoint.bind_port = v.parse().unwrap_or(-1),
            FieldId::Endpoint => c.control_plane_endpoint = v.into(),
            FieldId::PodSubnet => c.networking.pod_subnet = v.into(),
            FieldId::ServiceSubnet => c.networking.service_subnet = v.into(),
            FieldId::DnsDomain => c.networking.dns_domain = v.into(),
            FieldId::Version => c.kubernetes_version = v.into(),
            FieldId::NodeName => i.node_registration.name = v.into(),
            FieldId::ImageRepo => c.image_repository = v.into(),
            FieldId::CriSocket => i.node_registration.cri_socket = v.into(),
            FieldId::CertSans => c.api_server.cert_sans = v.split(',').map(Into::into).collect(),
            FieldId::KeyAlgo => c.encryption_algorithm = v.into(),
        }
        for e in crate::config::validate::validate_init(&cfg, &facts) {
            let m = e.to_string();
            if e.value.is_empty() || e.value == "<redacted>" {
                continue;
            }
            let quoted = format!("{:?}", e.value);
            let head = format!("{}: {quoted}", e.path);
            assert!(m.starts_with(&head), "{m:?} should start with {head:?}");
            assert!(
                m[head.len()..].starts_with([' ', ':']),
                "{m:?}: the value and the rule are not joined by a space or a colon"
            );
            assert_eq!(m.matches(&quoted).count(), 1, "value twice in {m:?}");
        }
    }
}

#[test]
fn broadcast_is_named_as_such() {
    let mut a = Answers::from_config(&app().base);
    a.advertise = "255.255.255.255".into();
    let e = form::validate_field(&a, FieldId::Advertise).unwrap_err();
    assert_eq!(
        e,
        "Advertise address \"255.255.255.255\" is the broadcast address, which cannot be used as the API server address; use an address of this host's network"
    );
    a.advertise = "k8s_api.example".into();
    a.endpoint = "k8s_api.example".into();
    let e = form::validate_field(&a, FieldId::Endpoint).unwrap_err();
    assert_eq!(
        e,
        "Control-plane endpoint \"k8s_api.example\" is not an IP address or a lower-case DNS name"
    );
    a.endpoint = "k8s_api.example:6443".into();
    let e = form::validate_field(&a, FieldId::Endpoint).unwrap_err();
    assert!(
        e.starts_with(
            "Control-plane endpoint \"k8s_api.example:6443\": host \"k8s_api.example\" is not"
        ),
        "{e}"
    );
    a.image_repo = "k8s.gcr.io".into();
    let w = form::field_warning(&a, FieldId::ImageRepo, &facts()).unwrap();
    assert!(
        w.starts_with("Image repository \"k8s.gcr.io\" is frozen: "),
        "{w}"
    );
}

/// Issue 12: what `config validate` warns about, the wizard shows under the field.
#[test]
fn an_unknown_patch_is_warned_in_the_wizard_as_in_a_file() {
    let mut a = Answers::from_config(&app().base);
    a.version = "v1.37.99".into();
    assert_eq!(form::validate_field(&a, FieldId::Version), Ok(()));
    let w = form::field_warning(&a, FieldId::Version, &facts()).expect("a warning");
    let mut cfg = app().base.clone();
    cfg.cluster.kubernetes_version = "v1.37.99".into();
    let file = crate::config::validate::validate_init(&cfg, &facts());
    let file = file
        .iter()
        .find(|e| e.path == "kubernetesVersion")
        .expect("config validate warns");
    assert!(file.warning);
    assert_eq!(
        w,
        format!("Kubernetes version \"v1.37.99\" {}", file.rule),
        "the same rule in the wizard and the file"
    );
    assert!(
        w.contains("is newer than the newest v1.37 patch kubestrap knows"),
        "{w}"
    );
    a.version = "v1.37.2".into();
    assert_eq!(form::field_warning(&a, FieldId::Version, &facts()), None);
}

/// A node name over 63 characters is refused saying why (the kubelet's hostname label), in
/// the wizard and in a file alike; kubeadm's own validation lets it pass.
#[test]
fn a_64_character_node_name_is_refused_naming_the_63_character_limit() {
    let name = "a".repeat(64);
    let mut a = Answers::from_config(&app().base);
    a.node_name = name.clone();
    let e = form::validate_field(&a, FieldId::NodeName).unwrap_err();
    assert!(
        e.contains("is 64 characters long, more than 63: the kubelet labels its Node kubernetes.io/hostname"),
        "{e}"
    );
    let mut cfg = app().base.clone();
    cfg.init.node_registration.name = name;
    let errs = crate::config::validate::validate_init(&cfg, &facts());
    assert!(
        errs.iter().any(|e| e.path == "nodeRegistration.name"
            && !e.warning
            && e.rule.starts_with("is 64 characters long, more than 63")),
        "{errs:?}"
    );
    a.node_name = "a".repeat(63);
    assert_eq!(form::validate_field(&a, FieldId::NodeName), Ok(()));
    a.dns_domain = format!("{}.local", "b".repeat(64));
    let e = form::validate_field(&a, FieldId::DnsDomain).unwrap_err();
    assert!(
        e.ends_with("has a label of 64 characters; a DNS label has at most 63"),
        "{e}"
    );
}

/// Fields whose help gives a default take it when left empty, as an empty field of a file
/// does: the advertise address the default-route address, the service subnet 10.96.0.0/12.
#[test]
fn empty_fields_with_a_default_take_it_as_in_a_file() {
    let base = app().base;
    let mut a = Answers::from_config(&base);
    for f in form::NETWORK_FIELDS.iter().chain(form::CLUSTER_FIELDS) {
        if form::has_default(*f) {
            assert!(
                crate::tui::strings::help(*f).contains("Default"),
                "{f:?}: a default the help does not mention"
            );
        } else {
            assert!(
                !crate::tui::strings::help(*f).contains("Default"),
                "{f:?}: the help promises a default an empty field does not take"
            );
        }
    }
    a.advertise = String::new();
    a.service_subnet = " ".into();
    a.dns_domain = String::new();
    assert_eq!(form::validate_field(&a, FieldId::Advertise), Ok(()));
    assert_eq!(form::validate_field(&a, FieldId::ServiceSubnet), Ok(()));
    assert_eq!(form::validate_field(&a, FieldId::PodSubnet), Ok(()));
    let cfg = form::to_config(&a, &base, &facts()).unwrap();
    assert_eq!(cfg.init.local_api_endpoint.advertise_address, "192.0.2.10");
    assert_eq!(cfg.cluster.networking.service_subnet, "10.96.0.0/12");
    assert_eq!(cfg.cluster.networking.dns_domain, "cluster.local");
    // no default route: nothing to take the address from
    let mut f = facts();
    f.default_route_addr = None;
    let e = form::to_config(&a, &base, &f).unwrap_err();
    assert_eq!(
        e,
        "Advertise address is empty and this machine has no default route to take it from; type one"
    );
    // the pod subnet has no default: empty means none, as in a file
    a.pod_subnet = String::new();
    assert!(!form::has_default(FieldId::PodSubnet));
    assert_eq!(form::validate_field(&a, FieldId::PodSubnet), Ok(()));
}
