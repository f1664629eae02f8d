//! The configuration API: the reference's "Cases worth a test" (config and validation rows),
//! the traps of issue 2, the corpus under tests/data/configs, round-trip and no-panic
//! property tests, and the `kubestrap config` commands.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use kubestrap::cli::InitFlags;
use kubestrap::config::defaults::{apply_static_init_defaults, example_init_config};
use kubestrap::config::export::{export_init, export_join};
use kubestrap::config::load::{ApiVersion, load_documents};
use kubestrap::config::net::{https_url, join_host_port};
use kubestrap::config::overlay::init_from_loaded;
use kubestrap::config::validate::*;
use kubestrap::config::*;
use kubestrap::host::{HostFacts, InterfaceAddr};
use proptest::prelude::*;

mod support;

fn facts() -> HostFacts {
    HostFacts {
        hostname: " CP1 ".into(),
        default_route_addr: Some("192.168.1.10".parse().unwrap()),
        ..Default::default()
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn errs_under(errs: &[FieldError], prefix: &str) -> Vec<String> {
    errs.iter()
        .filter(|e| !e.warning && e.path.starts_with(prefix))
        .map(|e| e.to_string())
        .collect()
}

fn load_err(text: &str) -> String {
    load_documents(text, "t.yaml").unwrap_err().to_string()
}

// ---------------------------------------------------------------- reference rows 8-11 (tokens)

#[test]
fn row08_09_token_groups() {
    for ok in [
        "system:bootstrappers:foo",
        "system:bootstrappers:foo:bar:baz",
        "system:bootstrappers:foo-bar-42",
    ] {
        assert_eq!(validate_token_group(ok), Ok(()), "{ok}");
    }
    let long = format!("system:bootstrappers:{}", "x".repeat(300));
    for bad in [
        "system:bootstrappers:Foo",
        "foo",
        "system:bootstrappers:",
        "system:bootstrappers:*",
        "system:bootstrappers:foo:",
        "system:bootstrappers:foo-",
        long.as_str(),
    ] {
        assert!(validate_token_group(bad).is_err(), "{bad}");
    }
}

#[test]
fn row10_11_token_usages_and_groups() {
    for ok in [
        &["signing"][..],
        &["authentication"],
        &["signing", "authentication"],
    ] {
        assert_eq!(validate_token_usages(&s(ok)), Ok(()));
    }
    assert!(validate_token_usages(&[]).is_err());
    assert_eq!(
        validate_token_usages(&s(&["authentication", "foo"])).unwrap_err(),
        "invalid usage(s) foo; valid: signing, authentication"
    );
    assert_eq!(
        validate_token_groups(
            &s(&["system:bootstrappers:anygroup"]),
            &s(&["authentication"])
        ),
        Ok(())
    );
    assert_eq!(
        validate_token_groups(&s(&["system:bootstrappers:anygroup"]), &s(&["some usage"]))
            .unwrap_err(),
        "groups require the authentication usage"
    );
    assert!(validate_token_groups(&s(&["some group"]), &s(&["authentication"])).is_err());
    // ttl and expires are mutually exclusive; bad token format is reported without the secret.
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.bootstrap_tokens[0].expires = "2030-01-01T00:00:00Z".into();
    cfg.init.bootstrap_tokens[0].token = "abcdef.1234567890123456@foobar".into();
    let e = validate_init(&cfg, &facts());
    assert_eq!(
        errs_under(&e, "bootstrapTokens"),
        vec![
            "bootstrapTokens[0].token: the value (not shown) is not valid: a bootstrap token must match [a-z0-9]{6}.[a-z0-9]{16}, e.g. abcdef.0123456789abcdef",
            "bootstrapTokens[0].ttl: \"24h0m0s\" ttl and expires are mutually exclusive",
        ]
    );
}

// ---------------------------------------------------------------- rows 21-34

#[test]
fn row21_22_cert_sans() {
    for ok in [
        "my-hostname",
        "my.subdomain",
        "1.2.3.4",
        "2001:db8::10",
        "*.my-hostname2",
    ] {
        assert_eq!(validate_cert_san(ok), Ok(()), "{ok}");
    }
    for bad in ["1,2,,3", "???&?.garbage", "**.x", "*.*.x", "a.*.x", "*"] {
        assert_eq!(
            validate_cert_san(bad).unwrap_err(),
            "is not an IP address, a DNS name, or a DNS name with a single leading '*.' wildcard",
            "{bad}"
        );
    }
    // An empty list is valid.
    let cfg = example_init_config("v1.37.2");
    assert!(cfg.cluster.api_server.cert_sans.is_empty());
    assert!(validate_init(&cfg, &facts()).is_empty());
}

#[test]
fn row23_ip_addresses() {
    for bad in [
        "",
        "1234",
        "1.2",
        "1.2.3.4/16",
        "2001:db8::1/64",
        "2001:xb8::",
        "2001::db8::",
    ] {
        assert_eq!(
            validate_ip(bad).unwrap_err(),
            "is not a valid IP address",
            "{bad}"
        );
    }
    for ok in ["1.2.3.4", "2001:db8::1"] {
        assert_eq!(validate_ip(ok), Ok(()));
        assert_eq!(validate_advertise_address(ok), Ok(()));
    }
    for bad in ["0.0.0.0", "169.254.1.1", "fe80::1", "224.0.0.1"] {
        assert!(
            validate_advertise_address(bad)
                .unwrap_err()
                .contains("cannot be used as the API server address")
        );
    }
    // Loopback is refused (issue 12): other nodes could not reach the API server on it.
    for bad in ["127.0.0.1", "127.1.2.3", "::1"] {
        assert!(
            validate_advertise_address(bad)
                .unwrap_err()
                .starts_with("is a loopback address"),
            "{bad}"
        );
    }
}

#[test]
fn row24_ports() {
    for bad in [-1234, 0, 65538] {
        assert_eq!(
            validate_bind_port(bad).unwrap_err(),
            "is not a valid port number (1-65535)"
        );
    }
    for ok in [1, 300, 65535] {
        assert_eq!(validate_bind_port(ok), Ok(()));
    }
}

#[test]
fn row25_26_subnets_min_10() {
    for ok in [
        "10.0.0.16/12",
        "2001:db8::/98",
        "10.0.0.16/12,2001:db8::/98",
    ] {
        assert!(validate_subnets(ok, 10).is_ok(), "{ok}");
    }
    assert_eq!(
        validate_subnets("1.2.3.4,2001:db8::/98", 10).unwrap_err(),
        "\"1.2.3.4\" is not a CIDR (expected e.g. 10.96.0.0/12)"
    );
    assert_eq!(
        validate_subnets("10.0.0.16/29,2001:db8::/98", 10).unwrap_err(),
        "\"10.0.0.16/29\" has 8 addresses, fewer than the minimum 10"
    );
    assert_eq!(
        validate_subnets("10.0.0.16/12,192.168.0.0/16", 10).unwrap_err(),
        "a dual-stack value needs exactly one IPv4 and one IPv6 CIDR"
    );
    assert_eq!(
        validate_subnets("10.0.0.16/12,2001:db8::/98,10.1.0.0/16", 10).unwrap_err(),
        "expected one CIDR or two (one IPv4 and one IPv6) separated by a comma"
    );
}

#[test]
fn row27_service_subnet_size() {
    assert_eq!(
        validate_service_subnet("10.0.0.16/2").unwrap_err(),
        "\"10.0.0.16/2\" is too large: an IPv4 service subnet needs a mask of at least /12"
    );
    assert_eq!(
        validate_service_subnet("2001:db8::1/64").unwrap_err(),
        "\"2001:db8::1/64\" is too large: an IPv6 service subnet needs a mask of at least /108"
    );
    assert!(validate_service_subnet("2001:db8::1/112,10.0.0.16/6").is_err());
    assert_eq!(validate_service_subnet("2001:db8::/112"), Ok(()));
    assert_eq!(validate_service_subnet("10.0.0.16/12"), Ok(()));
    assert!(
        validate_service_subnet("10.0.0.16/29")
            .unwrap_err()
            .contains("fewer than the minimum 10")
    );
}

#[test]
fn row28_29_30_pod_subnet_and_node_mask() {
    let svc = "10.96.0.0/12";
    assert!(
        validate_pod_subnet("10.0.0.16/29", svc, (24, 64))
            .unwrap_err()
            .contains("fewer than the minimum 14")
    );
    assert_eq!(
        validate_pod_subnet("10.0.0.16/24", svc, (23, 64)).unwrap_err(),
        "\"10.0.0.16/24\" is smaller than one node block (/23); use a larger subnet or a larger node-cidr-mask-size"
    );
    assert_eq!(
        validate_pod_subnet("2001:db8::1/12", svc, (24, 64)).unwrap_err(),
        "\"2001:db8::1/12\" and node mask /64 differ by more than 16 bits; use a smaller subnet or a smaller node mask"
    );
    assert!(validate_pod_subnet("2001:db8::1/64", svc, (24, 120)).is_err());
    for ok in [
        "10.0.0.16/12",
        "2001:db8::/48",
        "10.0.0.16/12,2001:db8::/48",
    ] {
        assert_eq!(
            validate_pod_subnet(ok, "192.168.0.0/16,fd00:96::/112", (24, 64)),
            Ok(()),
            "{ok}"
        );
    }
    let arg = |n: &str, v: &str| Arg {
        name: n.into(),
        value: v.into(),
    };
    assert_eq!(node_cidr_mask_sizes(&[]), Ok((24, 64)));
    assert_eq!(
        node_cidr_mask_sizes(&[
            arg("node-cidr-mask-size", "21"),
            arg("node-cidr-mask-size-ipv4", "23")
        ]),
        Ok((23, 64))
    );
    assert_eq!(
        node_cidr_mask_sizes(&[arg("node-cidr-mask-size", "21")]),
        Ok((24, 64))
    );
    assert_eq!(
        node_cidr_mask_sizes(&[arg("node-cidr-mask-size-ipv4", "aa")]).unwrap_err(),
        "controllerManager.extraArgs node-cidr-mask-size-ipv4=\"aa\" is not an integer from 0 to 32"
    );
    // Through the whole config: the mask comes from controllerManager.extraArgs.
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.networking.pod_subnet = "10.244.0.0/24".into();
    cfg.cluster.controller_manager.extra_args = vec![arg("node-cidr-mask-size-ipv4", "23")];
    assert_eq!(
        errs_under(&validate_init(&cfg, &facts()), "networking").len(),
        1
    );
    cfg.cluster.controller_manager.extra_args = vec![arg("allocate-node-cidrs", "false")];
    assert!(errs_under(&validate_init(&cfg, &facts()), "networking").is_empty());
}

#[test]
fn row31_32_control_plane_endpoint() {
    for ok in [
        "cp.k8s.io:8081",
        "cp.k8s.io",
        "1.2.3.4:8081",
        "[2001:db7::1]:8081",
        "2001:db7::1",
        "1.2.34",
    ] {
        assert_eq!(validate_control_plane_endpoint(ok), Ok(()), "{ok}");
    }
    assert_eq!(
        validate_control_plane_endpoint("a.B.c.d.e").unwrap_err(),
        "is not an IP address or a lower-case DNS name"
    );
    assert_eq!(
        validate_control_plane_endpoint("a.B.c.d.e:6443").unwrap_err(),
        "host \"a.B.c.d.e\" is not an IP address or a lower-case DNS name"
    );
    assert!(
        validate_control_plane_endpoint("2001:db7:1")
            .unwrap_err()
            .contains("needs brackets")
    );
    assert!(
        validate_control_plane_endpoint("1.2.3.4:0")
            .unwrap_err()
            .contains("is not a number from 1 to 65535")
    );
}

#[test]
fn row33_certificate_key() {
    assert_eq!(
        validate_certificate_key(
            "e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204"
        ),
        Ok(())
    );
    assert_eq!(
        validate_certificate_key(
            "z6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204"
        )
        .unwrap_err(),
        "is not hex (expected 64 hex characters)"
    );
    assert_eq!(
        validate_certificate_key("e6a2").unwrap_err(),
        "is 2 bytes, must be 32 (64 hex characters)"
    );
}

#[test]
fn row34_node_names() {
    assert_eq!(validate_node_name("").unwrap_err(), "is required");
    for bad in [
        "INVALID-NODENAME",
        "invalid-nodename-",
        "invalid-node?name",
        "node_1",
    ] {
        assert!(
            validate_node_name(bad).unwrap_err().contains("RFC 1123"),
            "{bad}"
        );
    }
    assert_eq!(validate_node_name("valid-nodename"), Ok(()));
    assert_eq!(normalize_node_name("OVERRIDDEN").unwrap(), "overridden");
    assert_eq!(
        normalize_node_name(" ").unwrap_err(),
        "is empty after trimming; set a node name"
    );
}

// ---------------------------------------------------------------- rows 35-41 (join, cri, etcd)

fn join_base() -> JoinConfiguration {
    JoinConfiguration {
        node_registration: NodeRegistrationOptions {
            name: "aaa".into(),
            cri_socket: "unix:///var/run/containerd/containerd.sock".into(),
            ..Default::default()
        },
        ca_cert_path: "/some/cert.crt".into(),
        discovery: Discovery {
            bootstrap_token: Some(BootstrapTokenDiscovery {
                token: "abcdef.1234567890123456".into(),
                api_server_endpoint: "1.2.3.4:6443".into(),
                ca_cert_hashes: s(&["aaaa"]),
                unsafe_skip_ca_verification: false,
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn row35_to_39_join_discovery() {
    let f = facts();
    assert!(validate_join(&join_base(), &f).is_empty());
    // 35: both, neither, no endpoint, no hashes and unsafe=false.
    let mut j = join_base();
    j.discovery.file = Some(FileDiscovery {
        kube_config_path: "https://url/file.conf".into(),
    });
    assert_eq!(
        errs_under(&validate_join(&j, &f), "discovery"),
        vec!["discovery: \"\" bootstrapToken and file are mutually exclusive"]
    );
    let mut j = join_base();
    j.discovery.bootstrap_token = None;
    assert_eq!(
        errs_under(&validate_join(&j, &f), "discovery"),
        vec!["discovery: \"\" one of bootstrapToken or file must be set"]
    );
    let mut j = join_base();
    j.discovery
        .bootstrap_token
        .as_mut()
        .unwrap()
        .api_server_endpoint
        .clear();
    assert_eq!(validate_join(&j, &f).len(), 1);
    let mut j = join_base();
    j.discovery
        .bootstrap_token
        .as_mut()
        .unwrap()
        .ca_cert_hashes
        .clear();
    assert!(
        validate_join(&j, &f)[0]
            .rule
            .contains("without caCertHashes is unsafe")
    );
    j.discovery
        .bootstrap_token
        .as_mut()
        .unwrap()
        .unsafe_skip_ca_verification = true;
    assert!(validate_join(&j, &f).is_empty());
    // 36: a hash with unsafe false or true.
    for unsafe_skip in [false, true] {
        let mut j = join_base();
        let bt = j.discovery.bootstrap_token.as_mut().unwrap();
        bt.ca_cert_hashes =
            s(&["sha256:7173b809ca12ec5dee4506cd86be934c4596dd234ee82c0662eac04a8c2c71dc"]);
        bt.unsafe_skip_ca_verification = unsafe_skip;
        assert!(validate_join(&j, &f).is_empty());
    }
    // 37: endpoint without port.
    let mut j = join_base();
    j.discovery
        .bootstrap_token
        .as_mut()
        .unwrap()
        .api_server_endpoint = "192.168.122.100".into();
    assert_eq!(
        validate_join(&j, &f)[0].to_string(),
        "discovery.bootstrapToken.apiServerEndpoint: \"192.168.122.100\" is missing a port (host:port)"
    );
    // 38: discovery file.
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("file.conf");
    std::fs::write(&existing, "x").unwrap();
    let file_join = |p: &str| {
        let mut j = join_base();
        j.discovery.bootstrap_token = None;
        j.discovery.file = Some(FileDiscovery {
            kube_config_path: p.into(),
        });
        validate_join(&j, &f)
    };
    for bad in [
        "foo",
        "/does/not/exist/file.conf",
        "http://url/file.conf",
        "https://u r l/file.conf",
    ] {
        assert_eq!(file_join(bad).len(), 1, "{bad}");
    }
    for ok in [existing.to_str().unwrap(), "https://url/file.conf"] {
        assert!(file_join(ok).is_empty(), "{ok}");
    }
    // 39: control plane.
    let mut j = join_base();
    j.control_plane = Some(JoinControlPlane {
        local_api_endpoint: ApiEndpoint {
            advertise_address: "1.2.3.4".into(),
            bind_port: 1234,
        },
        certificate_key: String::new(),
    });
    assert!(validate_join(&j, &f).is_empty());
    j.control_plane
        .as_mut()
        .unwrap()
        .local_api_endpoint
        .advertise_address = "aaa".into();
    assert_eq!(validate_join(&j, &f).len(), 1);
    j.control_plane.as_mut().unwrap().local_api_endpoint = ApiEndpoint {
        advertise_address: "1.2.3.4".into(),
        bind_port: -1,
    };
    assert_eq!(
        validate_join(&j, &f)[0].path,
        "controlPlane.localAPIEndpoint.bindPort"
    );
    // caCertPath must be absolute and end in .crt.
    for bad in ["ca.crt", "/etc/ca.pem"] {
        let mut j = join_base();
        j.ca_cert_path = bad.into();
        assert_eq!(validate_join(&j, &f)[0].path, "caCertPath");
    }
}

#[test]
fn row40_cri_socket() {
    assert_eq!(validate_cri_socket("unix:///some/path"), Ok(()));
    for bad in ["bla:///some/path", "/some/path", ":::", ""] {
        assert!(validate_cri_socket(bad).is_err(), "{bad}");
    }
}

#[test]
fn row41_etcd() {
    let f = facts();
    let check = |etcd: Etcd| {
        let mut cfg = example_init_config("v1.37.2");
        cfg.cluster.etcd = etcd;
        errs_under(&validate_init(&cfg, &f), "etcd")
    };
    let ext = |eps: &[&str], ca: &str, cert: &str, key: &str| ExternalEtcd {
        endpoints: s(eps),
        ca_file: ca.into(),
        cert_file: cert.into(),
        key_file: key.into(),
        ..Default::default()
    };
    assert_eq!(
        check(Etcd::default()),
        vec!["etcd: \"\" either local or external is required"]
    );
    assert_eq!(
        check(Etcd {
            local: Some(LocalEtcd {
                data_dir: "/var/lib/etcd".into(),
                ..Default::default()
            }),
            external: Some(ext(&["https://e:2379"], "", "", ""))
        }),
        vec!["etcd: \"\" local and external are mutually exclusive"]
    );
    assert!(
        !check(Etcd {
            external: Some(ext(&["https://e:2379"], "", "/c.crt", "")),
            ..Default::default()
        })
        .is_empty()
    );
    assert!(
        !check(Etcd {
            external: Some(ext(&["https://e:2379"], "", "/c.crt", "/c.key")),
            ..Default::default()
        })
        .is_empty()
    );
    assert!(
        check(Etcd {
            external: Some(ext(&["https://e:2379"], "/ca.crt", "/c.crt", "/c.key")),
            ..Default::default()
        })
        .is_empty()
    );
    assert!(
        check(Etcd {
            external: Some(ext(&["http://e:2379"], "", "", "")),
            ..Default::default()
        })
        .is_empty()
    );
    assert!(
        !check(Etcd {
            external: Some(ext(&["http://e:2379"], "/ca.crt", "/c.crt", "/c.key")),
            ..Default::default()
        })
        .is_empty()
    );
    assert!(
        !check(Etcd {
            external: Some(ext(&["example.com"], "", "", "")),
            ..Default::default()
        })
        .is_empty()
    );
}

// ---------------------------------------------------------------- rows 42-49

#[test]
fn row42_43_44_algorithms_repositories_paths() {
    for ok in [
        "RSA-2048",
        "RSA-3072",
        "RSA-4096",
        "ECDSA-P256",
        "ECDSA-P384",
    ] {
        assert_eq!(validate_encryption_algorithm(ok), Ok(()));
    }
    for bad in ["foo", ""] {
        assert!(validate_encryption_algorithm(bad).is_err());
    }
    for ok in [
        "a",
        "a.b.c/repo",
        "a:5000",
        "127.0.0.1:5000/repo",
        "a/b/c",
        "registry.k8s.io",
    ] {
        assert_eq!(validate_image_repository(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        " a.b.c",
        "a.b c",
        "a.b.c:5000/",
        "https://a.b.c:5000",
        "a//b/c",
        "a.b.c:5000/test:1.0",
    ] {
        assert!(validate_image_repository(bad).is_err(), "{bad}");
    }
    assert_eq!(validate_abs_path("/etc/cert/dir"), Ok(()));
    for bad in ["./tmp", "foo.."] {
        assert_eq!(
            validate_abs_path(bad).unwrap_err(),
            "must be an absolute path"
        );
    }
}

#[test]
fn extra_args_values_are_checked_by_the_flags_type() {
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.api_server.extra_args = vec![
        Arg {
            name: "audit-log-maxage".into(),
            value: "ten".into(),
        },
        Arg {
            name: "profiling".into(),
            value: "off".into(),
        },
        Arg {
            name: "request-timeout".into(),
            value: "90".into(),
        },
        Arg {
            name: "audit-log-path".into(),
            value: "-".into(),
        },
    ];
    let errs = validate_init(&cfg, &facts());
    let at = |p: &str| {
        errs.iter()
            .find(|e| e.path == p)
            .unwrap_or_else(|| panic!("no error at {p}: {errs:?}"))
            .rule
            .clone()
    };
    assert!(at("apiServer.extraArgs[0].value").contains("takes an integer"));
    assert!(at("apiServer.extraArgs[1].value").contains("takes a boolean (true or false)"));
    assert!(at("apiServer.extraArgs[2].value").contains("a duration such as 30s"));
    assert!(
        !errs
            .iter()
            .any(|e| e.path == "apiServer.extraArgs[3].value")
    );
}

#[test]
fn row45_extra_args_names() {
    let count = |args: Vec<Arg>| {
        let mut cfg = example_init_config("v1.37.2");
        cfg.init.node_registration.kubelet_extra_args = args;
        errs_under(
            &validate_init(&cfg, &facts()),
            "nodeRegistration.kubeletExtraArgs",
        )
        .len()
    };
    let a = |n: &str, v: &str| Arg {
        name: n.into(),
        value: v.into(),
    };
    assert_eq!(count(vec![a("foo", "bar")]), 0);
    assert_eq!(count(vec![a("", "bar")]), 1);
    assert_eq!(count(vec![a("", "bar"), a("", "baz")]), 2);
}

#[test]
fn row46_ignore_preflight_errors() {
    assert_eq!(
        merge_ignore_preflight_errors(&s(&["a", "b", "a"]), &s(&["c", "b"])).unwrap(),
        s(&["a", "b", "c"])
    );
    assert_eq!(
        merge_ignore_preflight_errors(&s(&["all"]), &s(&["all"])).unwrap(),
        s(&["all"])
    );
    assert!(merge_ignore_preflight_errors(&s(&["a", "b", "all"]), &[]).is_err());
    assert!(merge_ignore_preflight_errors(&s(&["a", "b"]), &s(&["all"])).is_err());
}

#[test]
fn row47_config_mixed_with_flags_is_allowed_and_flags_win() {
    // kubeadm refuses most flags next to --config; kubestrap allows mixing and keeps sources.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("kubeadm.yaml");
    std::fs::write(
        &p,
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: 10.244.0.0/16\n  dnsDomain: example.local\n",
    )
    .unwrap();
    let flags = InitFlags {
        config: Some(p),
        pod_network_cidr: Some("10.32.0.0/12".into()),
        ignore_preflight_errors: s(&["Swap"]),
        ..Default::default()
    };
    let (cfg, _) = resolve_init(&flags, &facts()).unwrap();
    assert_eq!(cfg.cluster.networking.pod_subnet, "10.32.0.0/12");
    assert_eq!(cfg.sources["networking.podSubnet"], Source::Flag);
    assert_eq!(cfg.cluster.networking.dns_domain, "example.local");
    assert_eq!(
        cfg.sources["networking.dnsDomain"],
        Source::File { line: 5 }
    );
    assert_eq!(cfg.sources["networking.serviceSubnet"], Source::Default);
    assert_eq!(cfg.sources["nodeRegistration.name"], Source::Detected);
    assert_eq!(
        cfg.sources["localAPIEndpoint.advertiseAddress"],
        Source::Detected
    );
    assert_eq!(cfg.init.node_registration.name, "cp1");
    assert_eq!(
        cfg.init.local_api_endpoint.advertise_address,
        "192.168.1.10"
    );
    assert_eq!(
        cfg.init.node_registration.ignore_preflight_errors,
        s(&["swap"])
    );
}

#[test]
fn row48_feature_gates_pull_policy_unmount_flags() {
    for v in [true, false] {
        let mut cfg = example_init_config("v1.37.2");
        cfg.cluster.feature_gates.insert("Unknown".into(), v);
        assert_eq!(
            errs_under(&validate_init(&cfg, &facts()), "featureGates").len(),
            1
        );
    }
    assert_eq!(
        validate_feature_gate("ControlPlaneKubeletLocalMod", 34).unwrap_err(),
        "unknown feature gate (did you mean ControlPlaneKubeletLocalMode?)"
    );
    assert!(validate_image_pull_policy("foo").is_err());
    let r = ResetConfiguration {
        unmount_flags: s(&["foo", "bar"]),
        ..Default::default()
    };
    assert_eq!(validate_reset(&r).len(), 2);
}

#[test]
fn row49_kubernetes_version() {
    assert_eq!(normalize_kubernetes_version("1.2.3"), "v1.2.3");
    assert_eq!(
        normalize_kubernetes_version("stable-1"),
        versions::default_version()
    );
    assert_eq!(normalize_kubernetes_version("stable-1.36"), "v1.36.3");
    assert!(
        validate_kubernetes_version("v1.18")
            .unwrap_err()
            .contains("semantic version")
    );
    assert_eq!(
        validate_kubernetes_version("v1.18.0").unwrap_err(),
        "is not supported; kubestrap carries Kubernetes v1.34 to v1.37"
    );
    assert_eq!(validate_kubernetes_version("v1.34.0"), Ok(()));
    assert!(validate_kubernetes_version("v1.33.6").is_err());
    // A patch newer than the newest kubestrap knows is a warning, not an error.
    let cfg = example_init_config("v1.37.9");
    let errs = validate_init(&cfg, &facts());
    let w: Vec<_> = errs
        .iter()
        .filter(|e| e.path == "kubernetesVersion")
        .collect();
    assert!(
        w.len() == 1
            && w[0].warning
            && w[0]
                .rule
                .contains("newest v1.37 patch kubestrap knows (v1.37.2)"),
        "{errs:?}"
    );
}

// ---------------------------------------------------------------- traps

#[test]
fn trap_yaml11_scalars_in_string_fields() {
    let e = load_err(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    profiling: off\n",
    );
    assert_eq!(
        e,
        "t.yaml: apiServer.extraArgs[0].value: \"off\" is read as a boolean by kubeadm's YAML 1.1 decoder, but this field is a string: write \"false\" (--profiling is a boolean flag of kube-apiserver: it takes true or false) (line 5)"
    );
    for (v, word) in [
        ("yes", "a boolean"),
        ("10", "a number"),
        ("1.30", "a number"),
        ("0x1F", "a number"),
    ] {
        let e = load_err(&format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nscheduler:\n  extraArgs:\n  - name: v\n    value: {v}\n"
        ));
        assert!(
            e.contains(&format!("is read as {word}")) && e.contains("quote it"),
            "{e}"
        );
    }
    let e = load_err(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: 1.30\n",
    );
    assert!(
        e.contains("kubernetesVersion: \"1.30\" is read as a number") && e.contains("(line 3)"),
        "{e}"
    );
    // Quoted values are strings; YAML 1.1 booleans in bool fields are accepted like kubeadm does.
    let l = load_documents(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ndns:\n  disabled: yes\nscheduler:\n  extraArgs:\n  - name: profiling\n    value: \"off\"\n",
        "t",
    )
    .unwrap();
    let c = l.cluster.unwrap();
    assert!(c.dns.disabled);
    assert_eq!(c.scheduler.extra_args[0].value, "off");
}

#[test]
fn trap_yaml11_values_are_quoted_on_export_and_read_back_by_a_yaml11_parser() {
    let mut cfg = example_init_config("v1.37.2");
    for v in [
        "off", "yes", "10", "1.30", "", "a: b", "#x", " lead", "~", "null", "0o17", "n",
    ] {
        cfg.cluster.api_server.extra_args.push(Arg {
            name: "profiling".into(),
            value: v.into(),
        });
    }
    let text = export_init(&cfg, ApiVersion::V1beta4, true);
    // PyYAML implements YAML 1.1: every value must come back as the same string.
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys,yaml,json; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin)]))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(text.as_bytes())?;
            c.wait_with_output()
        });
    if let Ok(out) = out
        && out.status.success()
    {
        let docs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let args = &docs[1]["apiServer"]["extraArgs"];
        let vals: Vec<&str> = args
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["value"].as_str().unwrap())
            .collect();
        assert_eq!(
            vals,
            vec![
                "off", "yes", "10", "1.30", "", "a: b", "#x", " lead", "~", "null", "0o17", "n"
            ]
        );
    }
    let back = load_documents(&text, "x").unwrap();
    assert_eq!(
        back.cluster.unwrap().api_server.extra_args,
        cfg.cluster.api_server.extra_args
    );
}

#[test]
fn trap_extra_args_shape_per_api_version() {
    for path in ["apiServer", "etcd:\n  local"] {
        let e = load_err(&format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n{path}:\n    extraArgs:\n      v: \"2\"\n"
        ));
        assert!(e.contains("extraArgs: \"{...}\" kubeadm.k8s.io/v1beta4 expects extraArgs as a list of name/value entries"), "{e}");
    }
    let e = load_err(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n    node-ip: 10.0.0.1\n",
    );
    assert!(e.starts_with("t.yaml: nodeRegistration.kubeletExtraArgs: \"{...}\" kubeadm.k8s.io/v1beta4 expects extraArgs as a list"), "{e}");
    assert!(e.ends_with("(line 4)"), "{e}");
    let e = load_err(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  local:\n    extraArgs:\n    - name: v\n      value: \"2\"\n",
    );
    assert!(
        e.contains(
            "etcd.local.extraArgs: \"[...]\" kubeadm.k8s.io/v1beta3 expects extraArgs as a map"
        ),
        "{e}"
    );
    // The same key twice in a v1beta3 map is an error.
    let e = load_err(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    v: \"2\"\n    v: \"3\"\n",
    );
    assert!(
        e.contains("duplicate key \"v\" (first at line 5)") && e.contains("(line 6)"),
        "{e}"
    );
    // Repeated names in a v1beta4 list are kept in order; v1beta3 maps are sorted by name.
    let l = load_documents(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: feature-gates\n    value: B=true\n  - name: feature-gates\n    value: A=true\n",
        "t",
    )
    .unwrap();
    let vals: Vec<_> = l
        .cluster
        .unwrap()
        .api_server
        .extra_args
        .into_iter()
        .map(|a| a.value)
        .collect();
    assert_eq!(vals, vec!["B=true", "A=true"]);
    let l = load_documents(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    v: \"2\"\n    authorization-mode: Node,RBAC\n",
        "t",
    )
    .unwrap();
    let names: Vec<_> = l
        .cluster
        .unwrap()
        .api_server
        .extra_args
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, vec!["authorization-mode", "v"]);
}

#[test]
fn trap_multi_document_rules() {
    // A kind init does not use is skipped with a warning.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.yaml");
    std::fs::write(
        &p,
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 1.2.3.4:6443\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: true\n",
    )
    .unwrap();
    let (_, w) = resolve_init(
        &InitFlags {
            config: Some(p),
            ..Default::default()
        },
        &facts(),
    )
    .unwrap();
    assert!(
        w.iter()
            .any(|w| w == "line 5: JoinConfiguration is not used by init; the document is skipped"),
        "{w:?}"
    );
    // The same kind twice; no apiVersion; no kind; separator with text.
    assert!(load_err("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n")
        .contains("kind: \"InitConfiguration\" InitConfiguration appears twice (first at line 2); give each kind once (line 5)"));
    assert!(load_err("kind: InitConfiguration\n").contains("has no apiVersion"));
    assert!(load_err("apiVersion: kubeadm.k8s.io/v1beta4\n").contains("has no kind"));
    assert!(
        load_err("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---foo\n")
            .contains("(line 3)")
    );
    // A comment-only document and a separator followed by a comment are fine.
    let l = load_documents("# header\n--- # first\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---\n# nothing\n", "t").unwrap();
    assert!(l.init.is_some());
    // Unknown kinds and apiVersions name what is accepted.
    assert!(load_err("apiVersion: kubeadm.k8s.io/v1beta4\nkind: FooConfiguration\n").contains("accepted kinds: InitConfiguration, ClusterConfiguration, JoinConfiguration, ResetConfiguration"));
    assert!(
        load_err("apiVersion: foo/v1\nkind: InitConfiguration\n")
            .contains("accepted: kubeadm.k8s.io/v1beta4")
    );
    assert!(
        load_err("apiVersion: kubelet.config.k8s.io/v1\nkind: KubeletConfiguration\n")
            .contains("must use apiVersion kubelet.config.k8s.io/v1beta1")
    );
}

#[test]
fn trap_unknown_fields_name_line_and_suggestion_all_collected() {
    let e = load_documents(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrolPlaneEndpont: a:6443\nnetworking:\n  podSubnets: 10.244.0.0/16\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  nmae: x\n",
        "f.yaml",
    )
    .unwrap_err();
    let lines: Vec<String> = e.to_string().lines().map(String::from).collect();
    assert_eq!(
        lines,
        vec![
            "f.yaml: controlPlaneEndpont: \"a:6443\" unknown field (did you mean controlPlaneEndpoint?) (line 3)",
            "f.yaml: networking.podSubnets: \"10.244.0.0/16\" unknown field (did you mean podSubnet?) (line 5)",
            "f.yaml: nodeRegistration.nmae: \"x\" unknown field (did you mean name?) (line 10)",
        ]
    );
}

#[test]
fn trap_conversions_keep_meaning() {
    let l = load_documents(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  timeoutForControlPlane: 7m0s\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n",
        "t",
    )
    .unwrap();
    assert_eq!(
        l.init
            .unwrap()
            .timeouts
            .unwrap()
            .control_plane_component_health_check,
        Some(GoDuration::from_secs(420))
    );
    let l = load_documents(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  timeout: 2m\n  bootstrapToken:\n    apiServerEndpoint: a:6443\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: true\n",
        "t",
    )
    .unwrap();
    let j = l.join.unwrap();
    assert_eq!(
        j.timeouts.as_ref().unwrap().discovery,
        Some(GoDuration::from_secs(120))
    );
    assert!(l.warnings[0].contains("kubeadm.k8s.io/v1beta3 is deprecated"));
    // Export back to v1beta3 restores the v1beta3 fields.
    let mut jd = j.clone();
    jd.timeouts = Some(Timeouts {
        discovery: Some(GoDuration::from_secs(120)),
        ..Default::default()
    });
    let t = export_join(&jd, ApiVersion::V1beta3, true);
    assert!(
        t.contains("discovery:\n  bootstrapToken:")
            && t.contains("  timeout: 2m0s\n")
            && !t.contains("timeouts"),
        "{t}"
    );
    let mut cfg = example_init_config("v1.37.2");
    cfg.init
        .timeouts
        .as_mut()
        .unwrap()
        .control_plane_component_health_check = Some(GoDuration::from_secs(420));
    let t = export_init(&cfg, ApiVersion::V1beta3, false);
    assert!(
        t.contains("apiServer:\n  timeoutForControlPlane: 7m0s\n"),
        "{t}"
    );
    // Values v1beta3 cannot hold are reported when exporting to it.
    let mut cfg = example_init_config("v1.36.3");
    cfg.cluster.encryption_algorithm = "ECDSA-P256".into();
    let (_, w) =
        kubestrap::config::export::export_init_with_warnings(&cfg, ApiVersion::V1beta3, false);
    assert_eq!(
        w,
        vec![
            "ClusterConfiguration.encryptionAlgorithm (\"ECDSA-P256\") has no v1beta3 equivalent and was left out"
        ]
    );
    // kubeadm v1.37 no longer reads v1beta3: an export for it says so.
    cfg.cluster.kubernetes_version = "v1.37.2".into();
    let (_, w) =
        kubestrap::config::export::export_init_with_warnings(&cfg, ApiVersion::V1beta3, false);
    assert!(
        w[0].starts_with("kubeadm v1.37 and newer refuse kubeadm.k8s.io/v1beta3"),
        "{w:?}"
    );
    // v1beta4-only fields in a v1beta3 file are refused, naming the version.
    let e = load_err(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nencryptionAlgorithm: ECDSA-P256\n",
    );
    assert!(e.contains("encryptionAlgorithm: \"ECDSA-P256\" is not a field of ClusterConfiguration in kubeadm.k8s.io/v1beta3"), "{e}");
}

#[test]
fn trap_networking() {
    let f = facts();
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.networking.pod_subnet = "10.96.0.0/16".into();
    let e = validate_init(&cfg, &f);
    assert_eq!(
        e[0].to_string(),
        "networking.podSubnet: \"10.96.0.0/16\" overlaps networking.serviceSubnet \"10.96.0.0/12\""
    );
    // The advertise address must match the family of the first service subnet.
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.networking.service_subnet = "fd00:10:96::/112,10.96.0.0/16".into();
    let e = errs_under(&validate_init(&cfg, &f), "localAPIEndpoint");
    assert!(
        e[0].contains("is IPv4 but the first service subnet fd00:10:96::/112 is not"),
        "{e:?}"
    );
    // Overlap with a host interface network is a warning.
    let mut hf = facts();
    hf.interfaces.push(InterfaceAddr {
        interface: "eth0".into(),
        addr: "10.244.3.7".parse::<IpAddr>().unwrap(),
        prefix_len: 16,
    });
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.networking.pod_subnet = "10.244.0.0/16".into();
    // (the example's advertise address is on none of these interfaces: a warning of its own)
    let e: Vec<FieldError> = validate_init(&cfg, &hf)
        .into_iter()
        .filter(|e| e.path != "localAPIEndpoint.advertiseAddress")
        .collect();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].warning
            && e[0]
                .rule
                .contains("overlaps the network 10.244.0.0/16 of interface eth0")
    );
    // Site-local IPv6 is a warning only.
    cfg.cluster.networking.pod_subnet = "fec0::/56".into();
    cfg.cluster.networking.service_subnet = "10.96.0.0/12,fec0:96::/112".into();
    assert!(validate_init(&cfg, &f).iter().all(|e| e.warning));
}

#[test]
fn trap_names_and_ipv6_brackets() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.yaml");
    std::fs::write(
        &p,
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: \"  Node-A \"\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  certSANs: [API.Example.COM]\n",
    )
    .unwrap();
    let (cfg, _) = resolve_init(
        &InitFlags {
            config: Some(p),
            ..Default::default()
        },
        &facts(),
    )
    .unwrap();
    assert_eq!(cfg.init.node_registration.name, "node-a");
    assert_eq!(cfg.cluster.api_server.cert_sans, s(&["api.example.com"]));
    let e = resolve_init(
        &InitFlags {
            node_name: Some("node_1".into()),
            ..Default::default()
        },
        &facts(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("nodeRegistration.name: \"node_1\" must be a lower-case RFC 1123 subdomain")
    );
    assert_eq!(join_host_port("2001:db8::10", 6443), "[2001:db8::10]:6443");
    assert_eq!(
        https_url("2001:db8::10", 6443),
        "https://[2001:db8::10]:6443"
    );
}

#[test]
fn trap_component_flag_names() {
    assert_eq!(
        flags::suggest("kube-apiserver", "featureGates"),
        Some("feature-gates")
    );
    assert!(flags::known_flags("etcd").contains(&"listen-metrics-urls"));
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.api_server.extra_args.push(Arg {
        name: "featureGates".into(),
        value: "X=true".into(),
    });
    cfg.cluster.scheduler.extra_args.push(Arg {
        name: "bind-adress".into(),
        value: "0.0.0.0".into(),
    });
    if let Some(l) = cfg.cluster.etcd.local.as_mut() {
        l.extra_args.push(Arg {
            name: "--data-dir".into(),
            value: "/x".into(),
        });
    }
    let e: Vec<String> = validate_init(&cfg, &facts())
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        e,
        vec![
            "apiServer.extraArgs[0].name: \"featureGates\" is not a kube-apiserver flag (did you mean feature-gates?)",
            "scheduler.extraArgs[0].name: \"bind-adress\" is not a kube-scheduler flag (did you mean bind-address?)",
            "etcd.local.extraArgs[0].name: \"--data-dir\" is not an etcd flag: write the name without leading dashes (data-dir)",
        ]
    );
}

#[test]
fn trap_old_api_versions() {
    let e = load_err("apiVersion: kubeadm.k8s.io/v1beta1\nkind: InitConfiguration\n");
    assert!(
        e.contains("kubeadm v1.15 to v1.16") && e.contains("kubeadm config migrate"),
        "{e}"
    );
    let e = load_err("apiVersion: kubeadm.k8s.io/v1alpha3\nkind: InitConfiguration\n");
    assert!(e.contains("kubeadm v1.13 to v1.14"), "{e}");
    let l = load_documents(
        "apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\nuseHyperKubeImage: false\ndns:\n  type: CoreDNS\napiServer:\n  extraArgs:\n    v: \"2\"\n",
        "t",
    )
    .unwrap();
    assert_eq!(
        l.api_versions["ClusterConfiguration"],
        "kubeadm.k8s.io/v1beta2"
    );
    assert_eq!(l.warnings.len(), 4, "{:?}", l.warnings);
    assert!(load_err("apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\ndns:\n  type: kube-dns\n").contains("only CoreDNS"));
}

#[test]
fn bad_input_never_panics_and_is_bounded() {
    for t in [
        "",
        "---",
        "- a\n- b\n",
        "a",
        "{",
        "apiVersion: [x]\nkind: y\n",
        "!!binary x",
        "? [a]\n: b\n",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  bindPort: \"6443\"\n",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  bindPort: 99999999999\n",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens: {}\n",
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ntimeouts:\n  discovery: 5 minutes\n",
    ] {
        let _ = load_documents(t, "t");
    }
    let e = load_err(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  bindPort: \"6443\"\n",
    );
    assert_eq!(
        e,
        "t.yaml: localAPIEndpoint.bindPort: \"6443\" expected an integer, found a string (line 4)"
    );
    let e = load_err(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ntimeouts:\n  discovery: 5 minutes\n",
    );
    assert!(
        e.contains("timeouts.discovery: \"5 minutes\" invalid duration") && e.ends_with("(line 4)"),
        "{e}"
    );
}

// ---------------------------------------------------------------- corpus

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/configs")
}

#[test]
fn corpus_files_load_as_expected() {
    let dir = corpus_dir();
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut n = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "bad expected.tsv line {line:?}");
        let (code, out) = kubestrap::cmd::config::validate_file(&dir.join(cols[0]), &facts());
        assert_eq!(code == 0, cols[1] == "ok", "{}: {out}", cols[0]);
        for want in cols[2].split('|') {
            assert!(
                out.contains(want),
                "{}: output lacks {want:?}:\n{out}",
                cols[0]
            );
        }
        n += 1;
    }
    assert!(n >= 15);
    // Specific outcomes beyond the message.
    let l = load_documents(
        &std::fs::read_to_string(dir.join("09-component-configs.yaml")).unwrap(),
        "09",
    )
    .unwrap();
    assert_eq!(
        l.kubelet.as_ref().unwrap()["maxPods"],
        serde_yaml::Value::from(200)
    );
    assert_eq!(
        l.kubelet.as_ref().unwrap()["failSwapOn"],
        serde_yaml::Value::from(false)
    );
    assert_eq!(
        l.kube_proxy.as_ref().unwrap()["mode"],
        serde_yaml::Value::from("ipvs")
    );
    let l = load_documents(
        &std::fs::read_to_string(dir.join("08-v1beta2-legacy.yaml")).unwrap(),
        "08",
    )
    .unwrap();
    assert_eq!(
        l.init.as_ref().unwrap().node_registration.taints,
        Some(vec![])
    );
    assert_eq!(
        l.init
            .unwrap()
            .timeouts
            .unwrap()
            .control_plane_component_health_check,
        Some(GoDuration::from_secs(240))
    );
    let (_, out) = kubestrap::cmd::config::validate_file(&dir.join("18-bad-many.yaml"), &facts());
    assert_eq!(out.lines().count(), 7, "{out}");
}

// ---------------------------------------------------------------- round trip (proptest)

fn arb_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9=,/._:-]{0,12}",
        Just("off".to_string()),
        Just("true".to_string()),
        Just("10".to_string()),
        Just("1.5".to_string()),
        Just("".to_string()),
        Just("a: b #c".to_string()),
        Just(" x ".to_string()),
        Just("line1\nline2".to_string()),
        Just("\"q\" 'x'".to_string()),
    ]
}

fn arb_args(
    names: &'static [&'static str],
    unique_sorted: bool,
) -> impl Strategy<Value = Vec<Arg>> {
    prop::collection::vec((prop::sample::select(names), arb_value()), 0..5).prop_map(move |v| {
        let mut args: Vec<Arg> = v
            .into_iter()
            .map(|(n, val)| Arg {
                name: n.to_string(),
                value: val,
            })
            .collect();
        if unique_sorted {
            args.sort_by(|a, b| a.name.cmp(&b.name));
            args.dedup_by(|a, b| a.name == b.name);
        }
        args
    })
}

fn arb_config(v1beta3: bool) -> impl Strategy<Value = InitConfig> {
    let nets = prop::sample::select(vec![
        ("192.168.1.10", "10.96.0.0/12", "10.244.0.0/16"),
        ("10.0.0.5", "172.16.0.0/16", ""),
        ("2001:db8::10", "fd00:96::/112", "fd00:244::/56"),
        (
            "10.1.2.3",
            "10.96.0.0/16,fd00:96::/112",
            "10.244.0.0/16,fd00:244::/56",
        ),
    ]);
    let versions = prop::sample::select(vec!["v1.34.4", "v1.35.0", "v1.36.3", "v1.37.2"]);
    (
        (
            nets,
            versions,
            "[a-z][a-z0-9-]{0,8}[a-z0-9]",
            prop::option::of("[a-z0-9]{6}\\.[a-z0-9]{16}"),
        ),
        (
            // String-typed flags: any string is a value their components take (typed flags'
            // values are checked by flags::check_flag_value, tested against the binaries).
            arb_args(
                &[
                    "audit-log-path",
                    "etcd-prefix",
                    "audit-policy-file",
                    "tls-cipher-suites",
                ],
                v1beta3,
            ),
            arb_args(&["cluster-name", "root-ca-file"], v1beta3),
            arb_args(&["node-ip", "max-pods"], v1beta3),
            prop::collection::vec(
                prop::sample::select(vec![
                    "api.example.com",
                    "10.0.0.100",
                    "*.svc.example",
                    "2001:db8::1",
                ]),
                0..3,
            ),
            prop::sample::select(vec![None, Some(vec![])]),
            prop::option::of(prop::sample::select(vec![
                "cp.example.com:6443",
                "[2001:db8::100]:6443",
                "10.0.0.100",
            ])),
            (1u64..3600).prop_map(GoDuration::from_secs),
            any::<bool>(),
        ),
    )
        .prop_map(
            move |(
                (net, ver, name, token),
                (api_args, cm_args, kubelet_args, sans, taints, cpe, cp_timeout, with_kubelet),
            )| {
                let mut cfg = InitConfig::default();
                cfg.init.node_registration.name = name;
                cfg.init.local_api_endpoint.advertise_address = net.0.into();
                cfg.cluster.networking.service_subnet = net.1.into();
                cfg.cluster.networking.pod_subnet = net.2.into();
                cfg.cluster.kubernetes_version = ver.into();
                cfg.cluster.api_server.extra_args = api_args;
                cfg.cluster.api_server.cert_sans = sans.into_iter().map(String::from).collect();
                cfg.cluster.controller_manager.extra_args = cm_args
                    .into_iter()
                    .map(|mut a| {
                        if a.name == "node-cidr-mask-size-ipv4" {
                            a.value = "24".into();
                        }
                        a
                    })
                    .collect();
                cfg.init.node_registration.kubelet_extra_args = kubelet_args;
                cfg.init.node_registration.taints = taints;
                cfg.cluster.control_plane_endpoint = cpe.unwrap_or_default().into();
                if !v1beta3 {
                    cfg.cluster.encryption_algorithm = "ECDSA-P256".into();
                }
                apply_static_init_defaults(&mut cfg);
                cfg.init.bootstrap_tokens[0].token = token.unwrap_or_default();
                cfg.init
                    .timeouts
                    .as_mut()
                    .unwrap()
                    .control_plane_component_health_check = Some(cp_timeout);
                if with_kubelet {
                    let mut m = serde_yaml::Mapping::new();
                    m.insert("apiVersion".into(), "kubelet.config.k8s.io/v1beta1".into());
                    m.insert("kind".into(), "KubeletConfiguration".into());
                    m.insert("maxPods".into(), 150.into());
                    m.insert("cgroupDriver".into(), "systemd".into());
                    cfg.kubelet = Some(serde_yaml::Value::Mapping(m));
                }
                cfg
            },
        )
}

fn reload(text: &str) -> InitConfig {
    let loaded = load_documents(text, "export").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (mut cfg, _, _) = init_from_loaded(loaded, "export").unwrap();
    apply_static_init_defaults(&mut cfg);
    cfg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn roundtrip_v1beta4(cfg in arb_config(false)) {
        let errs: Vec<_> = validate_init(&cfg, &facts()).into_iter().filter(|e| !e.warning).collect();
        prop_assert!(errs.is_empty(), "generated config invalid: {:?}", errs);
        let text = export_init(&cfg, ApiVersion::V1beta4, true);
        let back = reload(&text);
        prop_assert_eq!(back, cfg);
    }

    #[test]
    fn roundtrip_v1beta3_and_migration_keep_meaning(cfg in arb_config(true)) {
        let text = export_init(&cfg, ApiVersion::V1beta3, true);
        prop_assert!(text.contains("kubeadm.k8s.io/v1beta3"));
        let back = reload(&text);
        prop_assert_eq!(&back, &cfg);
        // v1beta3 -> v1beta4 (what `config migrate` writes) -> load: same configuration.
        let migrated = export_init(&back, ApiVersion::V1beta4, true);
        prop_assert_eq!(reload(&migrated), cfg);
    }

    #[test]
    fn loader_never_panics_on_arbitrary_text(t in "(apiVersion: kubeadm.k8s.io/v1beta[234]\nkind: (Init|Cluster|Join)Configuration\n)?[ -~\n\t]{0,200}") {
        let _ = load_documents(&t, "fuzz");
    }

    #[test]
    fn loader_never_panics_on_mutated_exports(cfg in arb_config(false), cut in 0usize..2000, junk in "[ -~\n]{0,8}") {
        let text = export_init(&cfg, ApiVersion::V1beta4, true);
        let mut at = cut.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{}{}", &text[..at], junk, &text[at..]);
        let _ = load_documents(&mutated, "fuzz");
    }
}

#[test]
fn export_leaves_out_token_secrets_unless_asked() {
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.bootstrap_tokens[0].token = "abcdef.0123456789abcdef".into();
    assert!(!export_init(&cfg, ApiVersion::V1beta4, false).contains("0123456789abcdef"));
    assert!(
        export_init(&cfg, ApiVersion::V1beta4, true).contains("token: abcdef.0123456789abcdef")
    );
}

// ---------------------------------------------------------------- the commands

fn kubestrap(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubestrap"))
        .args(args)
        .output()
        .expect("run kubestrap");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_config_commands() {
    let dir = corpus_dir();
    // validate: ok and bad files, one problem per line with path and line.
    let (code, out, _) = kubestrap(&[
        "config",
        "validate",
        "--config",
        dir.join("01-single-node.yaml").to_str().unwrap(),
    ]);
    assert_eq!((code, out.trim_end().lines().last()), (0, Some("ok")));
    let bad = dir.join("18-bad-many.yaml");
    let (code, _, err) = kubestrap(&["config", "validate", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 7, "{err}");
    assert!(
        err.lines()
            .all(|l| l.starts_with(&format!("{}: ", bad.display()))),
        "{err}"
    );
    // usage error: clap exits 2.
    assert_eq!(kubestrap(&["config", "validate"]).0, 2);
    // print init-defaults reloads; unknown component config fails with 1.
    let (code, out, _) = kubestrap(&[
        "config",
        "print",
        "init-defaults",
        "--component-configs",
        "KubeletConfiguration,KubeProxyConfiguration",
    ]);
    assert_eq!(code, 0);
    let l = load_documents(&out, "print").unwrap();
    assert!(
        l.init.is_some() && l.cluster.is_some() && l.kubelet.is_some() && l.kube_proxy.is_some()
    );
    assert!(out.contains("etcdAPICall: 2m0s") && out.contains("kubernetesAPICall: 1m0s"));
    assert_eq!(
        kubestrap(&[
            "config",
            "print",
            "init-defaults",
            "--component-configs",
            "Foo"
        ])
        .0,
        1
    );
    let (code, out, _) = kubestrap(&["config", "print", "join-defaults"]);
    assert_eq!(code, 0);
    assert!(load_documents(&out, "join").unwrap().join.is_some());
    // migrate: v1beta2 and v1beta3 to v1beta4, readable again, component configs dropped.
    for f in [
        "07-v1beta3.yaml",
        "08-v1beta2-legacy.yaml",
        "09-component-configs.yaml",
    ] {
        let (code, out, err) = kubestrap(&[
            "config",
            "migrate",
            "--old-config",
            dir.join(f).to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{f}: {err}");
        // migrate does not advise running migrate
        assert!(!err.contains("config migrate"), "{f}: {err}");
        assert!(
            !out.contains("v1beta3")
                && !out.contains("v1beta2")
                && !out.contains("KubeletConfiguration"),
            "{out}"
        );
        let l = load_documents(&out, f).unwrap();
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    }
    let tmp = tempfile::tempdir().unwrap();
    let newp = tmp.path().join("new.yaml");
    let (code, _, _) = kubestrap(&[
        "config",
        "migrate",
        "--old-config",
        dir.join("07-v1beta3.yaml").to_str().unwrap(),
        "--new-config",
        newp.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let migrated = load_documents(&std::fs::read_to_string(&newp).unwrap(), "new").unwrap();
    let c = migrated.cluster.unwrap();
    assert_eq!(c.kubernetes_version, "v1.34.4");
    assert_eq!(
        c.api_server.extra_args[0],
        Arg {
            name: "audit-log-maxage".into(),
            value: "30".into()
        }
    );
    assert_eq!(
        migrated
            .init
            .unwrap()
            .timeouts
            .unwrap()
            .control_plane_component_health_check,
        Some(GoDuration::from_secs(480))
    );
    // export: flags over file, v1beta3 on request, no overwrite, bad values exit 1.
    let out_file = tmp.path().join("kubeadm.yaml");
    let ha = dir.join("02-ha-endpoint.yaml");
    let args = [
        "config",
        "export",
        "--config",
        ha.to_str().unwrap(),
        "--pod-network-cidr",
        "10.32.0.0/12",
        "--api-version",
        "v1beta3",
        "--output",
        out_file.to_str().unwrap(),
    ];
    let (code, _, err) = kubestrap(&args);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(
        text.contains("apiVersion: kubeadm.k8s.io/v1beta3")
            && text.contains("podSubnet: 10.32.0.0/12"),
        "{text}"
    );
    assert!(
        text.contains("- k8s-api.example.com"),
        "certSANs lower-cased: {text}"
    );
    let (code, _, err) = kubestrap(&args);
    assert_eq!(code, 1);
    assert!(err.contains("refusing to overwrite"));
    let (code, _, err) = kubestrap(&[
        "config",
        "export",
        "--apiserver-advertise-address",
        "10.0.0.1",
        "--node-name",
        "n1",
        "--pod-network-cidr",
        "10.96.0.0/16",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "error: networking.podSubnet: \"10.96.0.0/16\" overlaps networking.serviceSubnet \"10.96.0.0/12\""
    );
    let (code, out, _) = kubestrap(&[
        "config",
        "export",
        "--apiserver-advertise-address",
        "2001:db8::10",
        "--service-cidr",
        "fd00::/112",
        "--node-name",
        "n1",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("advertiseAddress: 2001:db8::10") && !out.contains("token:"),
        "{out}"
    );
}

#[test]
fn etcd_flag_list_covers_the_installed_etcd() {
    // The Debian etcd (3.4) is older than the 3.5/3.6 kubeadm pins; every flag it prints that
    // 3.5 still has must be in assets/flags/etcd.txt.
    let Ok(out) = Command::new("etcd").arg("--help").output() else {
        eprintln!("etcd not installed; skipped (scripts/test.sh installs it)");
        return;
    };
    let help =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let removed_in_3_5 = ["debug", "log-package-levels"];
    let mut missing = Vec::new();
    let mut seen = 0;
    for line in help.lines() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("--") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if name.is_empty() || removed_in_3_5.contains(&name.as_str()) {
            continue;
        }
        seen += 1;
        if !flags::known_flags("etcd").contains(&name.as_str()) {
            missing.push(name);
        }
    }
    assert!(seen > 50, "etcd --help listed only {seen} flags");
    assert!(
        missing.is_empty(),
        "etcd flags missing from assets/flags/etcd.txt: {missing:?}"
    );
}

// ---------------------------------------------------------------- message wording

#[test]
fn messages_name_the_value_once_and_never_as_empty_quotes() {
    // a rule that already starts with the value does not get it twice
    let mut c = example_init_config("v1.37.2");
    c.cluster.networking.pod_subnet = "10.244.0.0/33".into();
    c.cluster.control_plane_endpoint = "lb:99999".into();
    let errs = validate_init(&c, &facts());
    let pod = errs_under(&errs, "networking.podSubnet");
    assert_eq!(
        pod,
        ["networking.podSubnet: \"10.244.0.0/33\" is not a CIDR (expected e.g. 10.96.0.0/12)"]
    );
    let cpe = errs_under(&errs, "controlPlaneEndpoint");
    assert_eq!(
        cpe,
        ["controlPlaneEndpoint: \"lb:99999\": port \"99999\" is not a number from 1 to 65535"]
    );
    // a YAML syntax error has no value to quote
    let e = load_err("kind: ClusterConfiguration\nnetworking:\n\tpodSubnet: 10.244.0.0/16\n");
    assert!(e.starts_with("t.yaml: (yaml): tabs"), "{e}");
    // other rules keep the value in front
    c = example_init_config("v1.37.2");
    c.cluster.networking.dns_domain = "Bad_Domain".into();
    let dns = errs_under(&validate_init(&c, &facts()), "networking.dnsDomain");
    assert!(
        dns[0].starts_with("networking.dnsDomain: \"Bad_Domain\" must be"),
        "{dns:?}"
    );
}

#[test]
fn a_bad_token_ttl_says_what_a_duration_looks_like() {
    let mut c = example_init_config("v1.37.2");
    let flags = InitFlags {
        token_ttl: Some("5xyz".into()),
        ..Default::default()
    };
    let errs = kubestrap::config::overlay::apply_flags(&mut c, &flags);
    assert_eq!(
        errs[0].to_string(),
        "--token-ttl: \"5xyz\" is not a duration: unknown unit (expected e.g. 24h0m0s, 2h or 0 for never)"
    );
}

/// A reader that stops early (`kubestrap completion bash | head -1`) must not make kubestrap
/// panic on the broken pipe: it ends quietly, as kubeadm does.
#[test]
fn a_closed_stdout_pipe_ends_quietly_without_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    for args in [
        &["completion", "bash"][..],
        &["man"][..],
        &["config", "print", "init-defaults"][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kubestrap"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubestrap");
        // Close the read end before kubestrap writes anything: every write gets EPIPE.
        drop(child.stdout.take());
        let mut err = String::new();
        let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
        let _ = child.wait();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Tester's message blemishes: `--root` says whether the path is missing (path once), secret
/// values are never printed and the message has a verb, `config export` errors carry the
/// `error:` prefix, and `config validate` refuses a file without any kubeadm document.
#[test]
fn cli_messages_name_the_problem_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let m = missing.to_str().unwrap();
    let (code, _, err) = kubestrap(&["--root", m, "init", "--dry-run", "--non-interactive"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim(), format!("error: --root: {m} does not exist"));
    let file = dir.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let f = file.to_str().unwrap();
    let (code, _, err) = kubestrap(&["--root", f, "init", "--dry-run", "--non-interactive"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim(), format!("error: --root: {f} is not a directory"));

    let (code, _, err) = kubestrap(&[
        "config",
        "export",
        "--apiserver-advertise-address",
        "10.0.0.1",
        "--token",
        "abc",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains("the value (not shown) is not valid: "),
        "{err}"
    );
    assert!(!err.contains("\"<redacted>\""), "{err}");
    assert!(!err.contains("\"abc\""), "{err}");
    assert!(!err.contains("<flags>"), "{err}");

    // A bad flag value is reported once, under the flag (not again under the field it sets).
    let (code, _, err) = kubestrap(&[
        "config",
        "export",
        "--apiserver-advertise-address",
        "10.0.0.1",
        "--apiserver-bind-port",
        "70000",
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err.trim(),
        "error: --apiserver-bind-port: \"70000\" is not a valid port number (1-65535)"
    );

    for text in ["", "# only a comment\n"] {
        let cfg = dir.path().join("empty.yaml");
        std::fs::write(&cfg, text).unwrap();
        let (code, out, err) =
            kubestrap(&["config", "validate", "--config", cfg.to_str().unwrap()]);
        assert_eq!(code, 1, "{text:?}: {out}");
        assert!(!out.contains("ok"), "{out}");
        assert!(
            err.contains("there is no InitConfiguration, ClusterConfiguration or JoinConfiguration document to validate"),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------- issue 12: values that must not pass silently

fn rules_of(errs: &[FieldError], path: &str) -> Vec<String> {
    errs.iter()
        .filter(|e| e.path == path)
        .map(|e| format!("{}{}", if e.warning { "warning: " } else { "" }, e))
        .collect()
}

#[test]
fn loopback_advertise_address_is_refused_in_files_flags_and_validators() {
    for adv in ["127.0.0.1", "127.0.1.1", "::1"] {
        let mut cfg = example_init_config("v1.37.2");
        cfg.init.local_api_endpoint.advertise_address = adv.into();
        if adv == "::1" {
            cfg.cluster.networking.service_subnet = "fd00:96::/112".into();
            cfg.cluster.networking.pod_subnet = "fd00:244::/56".into();
        }
        let e = rules_of(
            &validate_init(&cfg, &facts()),
            "localAPIEndpoint.advertiseAddress",
        );
        assert_eq!(
            e,
            [format!(
                "localAPIEndpoint.advertiseAddress: {adv:?} is a loopback address: other nodes and the kubernetes Service could not reach the API server on it; use an address of this host's network"
            )]
        );
    }
    // the flag goes through the same rule
    let (code, _, err) = kubestrap(&[
        "config",
        "export",
        "--apiserver-advertise-address",
        "127.0.0.1",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("\"127.0.0.1\" is a loopback address"), "{err}");
}

#[test]
fn bind_ports_of_other_components_are_refused_naming_the_component() {
    for (port, owner) in [
        (2379, "etcd (client)"),
        (2380, "etcd (peer)"),
        (10250, "the kubelet"),
        (10257, "kube-controller-manager"),
        (10259, "kube-scheduler"),
    ] {
        assert_eq!(
            validate_bind_port(port).unwrap_err(),
            format!(
                "clashes with {owner}, which listens on this port on this node; use another port (the default is 6443)"
            )
        );
        let mut cfg = example_init_config("v1.37.2");
        cfg.init.local_api_endpoint.bind_port = port;
        assert_eq!(
            rules_of(&validate_init(&cfg, &facts()), "localAPIEndpoint.bindPort").len(),
            1
        );
    }
    for ok in [6443, 443, 8443] {
        assert_eq!(validate_bind_port(ok), Ok(()));
    }
}

#[test]
fn pod_and_service_subnets_of_different_families_are_refused() {
    let rule = |pod: &str, svc: &str| {
        let mut cfg = example_init_config("v1.37.2");
        cfg.cluster.networking.pod_subnet = pod.into();
        cfg.cluster.networking.service_subnet = svc.into();
        rules_of(&validate_init(&cfg, &facts()), "networking.podSubnet")
    };
    assert_eq!(
        rule("fd00:10::/56", "10.96.0.0/12"),
        [
            "networking.podSubnet: \"fd00:10::/56\" is IPv6 only but networking.serviceSubnet \"10.96.0.0/12\" is IPv4 only; pods and Services need a common IP family (use one family for both, or dual-stack)"
        ]
    );
    let e = rule("10.244.0.0/16", "fd00:96::/112");
    assert!(
        e[0].contains("is IPv4 only but networking.serviceSubnet \"fd00:96::/112\" is IPv6 only"),
        "{e:?}"
    );
    // dual-stack on either side shares a family: accepted
    assert!(rule("10.244.0.0/16,fd00:244::/56", "10.96.0.0/12").is_empty());
    assert!(rule("10.244.0.0/16", "10.96.0.0/12,fd00:96::/112").is_empty());
    // the wizard's field validator says the same
    assert!(
        validate_pod_subnet("fd00:10::/56", "10.96.0.0/12", (24, 64))
            .unwrap_err()
            .contains("need a common IP family")
    );
}

#[test]
fn a_pod_subnet_with_room_for_one_node_is_a_warning_naming_the_mask_flag() {
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.networking.pod_subnet = "10.244.0.0/24".into();
    let e = validate_init(&cfg, &facts());
    assert!(e.iter().all(|e| e.warning), "{e:?}");
    assert_eq!(
        rules_of(&e, "networking.podSubnet"),
        [
            "warning: networking.podSubnet: \"10.244.0.0/24\" has room for one node only (node blocks are /24); other nodes get no pod CIDR: use a larger subnet, or a larger controllerManager.extraArgs node-cidr-mask-size-ipv4"
        ]
    );
    // with a larger node mask there is room for more nodes
    cfg.cluster.controller_manager.extra_args = vec![Arg {
        name: "node-cidr-mask-size-ipv4".into(),
        value: "26".into(),
    }];
    assert!(rules_of(&validate_init(&cfg, &facts()), "networking.podSubnet").is_empty());
    // without node CIDR allocation the node mask does not matter
    cfg.cluster.controller_manager.extra_args = vec![Arg {
        name: "allocate-node-cidrs".into(),
        value: "false".into(),
    }];
    assert!(rules_of(&validate_init(&cfg, &facts()), "networking.podSubnet").is_empty());
    // IPv6 names the IPv6 flag
    assert!(
        kubestrap::config::validate_values::pod_subnet_one_node("fd00::/64", (24, 64))
            .unwrap()
            .contains("node-cidr-mask-size-ipv6")
    );
}

#[test]
fn certificate_validity_longer_than_the_cas_is_a_warning() {
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.ca_certificate_validity_period = Some(GoDuration::parse("8760h").unwrap());
    cfg.cluster.certificate_validity_period = Some(GoDuration::parse("17520h").unwrap());
    let e = validate_init(&cfg, &facts());
    assert!(e.iter().all(|e| e.warning), "{e:?}");
    assert!(
        rules_of(&e, "certificateValidityPeriod").iter().any(|m| m
            == "warning: certificateValidityPeriod: \"17520h0m0s\" is longer than the CA's validity (caCertificateValidityPeriod 8760h0m0s): the certificates stop being trusted when the CA expires, before their own end date"),
        "{e:?}"
    );
    cfg.cluster.certificate_validity_period = Some(GoDuration::parse("4380h").unwrap());
    assert!(rules_of(&validate_init(&cfg, &facts()), "certificateValidityPeriod").is_empty());
}

#[test]
fn a_token_that_never_expires_is_a_warning() {
    let l = load_documents(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: abcdef.0123456789abcdef\n  ttl: 0s\n",
        "t.yaml",
    )
    .unwrap();
    let (cfg, _, _) = init_from_loaded(l, "t.yaml").unwrap();
    let mut cfg = cfg;
    cfg.init.local_api_endpoint.advertise_address = "192.168.1.10".into();
    cfg.init.node_registration.name = "cp1".into();
    apply_static_init_defaults(&mut cfg);
    let e = validate_init(&cfg, &facts());
    assert!(e.iter().all(|e| e.warning), "{e:?}");
    let w = rules_of(&e, "bootstrapTokens[0].ttl");
    assert_eq!(w.len(), 1, "{e:?}");
    assert!(
        w[0].starts_with("warning: bootstrapTokens[0].ttl: \"0s\" makes the token never expire"),
        "{w:?}"
    );
}

#[test]
fn unexpanded_variables_are_refused_with_that_hint_once_per_field() {
    let hint = "looks like an unexpanded shell or template variable";
    for v in [
        "$NODE",
        "$(hostname)",
        "${NODE_NAME}",
        "{{ .nodeName }}",
        "cp-${N}",
    ] {
        assert!(
            kubestrap::config::validate_values::refuse_unexpanded(v)
                .unwrap_err()
                .starts_with(hint),
            "{v}"
        );
    }
    for ok in ["cp1", "10.0.0.1", "a$", "price$1"] {
        assert_eq!(
            kubestrap::config::validate_values::refuse_unexpanded(ok),
            Ok(()),
            "{ok}"
        );
    }
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.local_api_endpoint.advertise_address = "$ADVERTISE_IP".into();
    cfg.init.node_registration.name = "${node}".into();
    cfg.cluster.control_plane_endpoint = "{{ .endpoint }}:6443".into();
    cfg.cluster.networking.pod_subnet = "$(POD_CIDR)".into();
    cfg.cluster.api_server.cert_sans = vec!["$SAN".into()];
    cfg.cluster.image_repository = "${REGISTRY}/k8s".into();
    let e = validate_init(&cfg, &facts());
    for path in [
        "localAPIEndpoint.advertiseAddress",
        "nodeRegistration.name",
        "controlPlaneEndpoint",
        "networking.podSubnet",
        "apiServer.certSANs[0]",
        "imageRepository",
    ] {
        let m = rules_of(&e, path);
        assert_eq!(m.len(), 1, "{path}: {m:?}");
        assert!(m[0].contains(hint), "{m:?}");
    }
    // in a file, with the line
    let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: \"${LB}:6443\"\n";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.yaml");
    std::fs::write(&p, text).unwrap();
    let (code, out, err) = kubestrap(&["config", "validate", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        (out.clone() + &err).contains("controlPlaneEndpoint: \"${LB}:6443\" looks like an unexpanded shell or template variable (${...})") && (out.clone() + &err).contains("(line 3)"),
        "{out}{err}"
    );
}

#[test]
fn image_repositories_must_be_references_and_k8s_gcr_io_is_a_warning() {
    for ok in [
        "registry.k8s.io",
        "localhost:5000/k8s",
        "Registry.Example.com/a_b/c__d/e--f",
        "myorg",
    ] {
        assert_eq!(validate_image_repository(ok), Ok(()), "{ok}");
    }
    for (bad, why) in [
        ("registry.k8s.io/Upper", "path component \"Upper\""),
        ("registry.k8s.io/-a", "path component \"-a\""),
        ("registry.k8s.io/a.", "path component \"a.\""),
        ("reg_istry.io/a", "registry host \"reg_istry.io\""),
        ("Myorg/app", "\"Myorg\" is neither a registry host"),
        ("registry.k8s.io/pause@sha256:abc", "a digest"),
        ("registry.k8s.io:port", "port \"port\""),
    ] {
        let e = validate_image_repository(bad).unwrap_err();
        assert!(
            e.starts_with("is not a valid image repository: ") && e.contains(why),
            "{bad}: {e}"
        );
    }
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.image_repository = "k8s.gcr.io".into();
    let e = validate_init(&cfg, &facts());
    assert!(e.iter().all(|e| e.warning), "{e:?}");
    assert!(
        rules_of(&e, "imageRepository")[0].contains("is frozen: it receives no new images"),
        "{e:?}"
    );
}

#[test]
fn external_ca_lists_every_missing_file_and_refuses_upload_certs_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let pki = root.join("etc/kubernetes/pki");
    std::fs::create_dir_all(&pki).unwrap();
    // an external CA: ca.crt without ca.key (content is not read by this check)
    std::fs::write(pki.join("ca.crt"), "x").unwrap();
    std::fs::write(pki.join("apiserver.crt"), "x").unwrap();
    std::fs::write(pki.join("apiserver.key"), "x").unwrap();
    let r = root.to_str().unwrap();
    let (code, out, err) = kubestrap(&[
        "--root",
        r,
        "init",
        "--dry-run",
        "--non-interactive",
        "--apiserver-advertise-address",
        "192.0.2.10",
        "--node-name",
        "cp1",
        "--upload-certs",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("--upload-certs cannot be used with an external CA (/etc/kubernetes/pki/ca.crt present without /etc/kubernetes/pki/ca.key)"),
        "{err}"
    );
    // every missing file at once, in one message; nothing ran
    for f in [
        "/etc/kubernetes/pki/apiserver-kubelet-client.crt",
        "/etc/kubernetes/pki/apiserver-kubelet-client.key",
        "/etc/kubernetes/pki/sa.key",
        "/etc/kubernetes/pki/sa.pub",
        "/etc/kubernetes/admin.conf",
        "/etc/kubernetes/super-admin.conf",
        "/etc/kubernetes/kubelet.conf",
        "/etc/kubernetes/controller-manager.conf",
        "/etc/kubernetes/scheduler.conf",
    ] {
        assert!(err.contains(f), "{f} not in {err}");
    }
    assert!(err.contains("9 file(s) are missing"), "{err}");
    assert!(!err.contains("/etc/kubernetes/pki/apiserver.crt,"), "{err}");
    assert!(
        !out.contains("[preflight]") && !out.contains("[certs]"),
        "{out}"
    );
    // a CA with its key is not external: no complaint
    std::fs::write(pki.join("ca.key"), "x").unwrap();
    let cfg = {
        let mut c = example_init_config("v1.37.2");
        apply_static_init_defaults(&mut c);
        c
    };
    let host = kubestrap::host::RealHost::new(root, false).unwrap();
    assert_eq!(
        kubestrap::phases::external_ca::check_external_ca(&host, &cfg, true),
        Ok(())
    );
}

// ---------------------------------------------------------------- issue 12: component config fields

#[test]
fn unknown_component_config_fields_are_errors_with_a_suggestion_and_line() {
    let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.36.3\n---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupdriver: systemd\nauthentication:\n  x509:\n    clientCAfile: /etc/ca.crt\nevictionHard:\n  memory.available: 100Mi\nlogging:\n  vmodule:\n  - filePattern: a.go\n    verbosty: 2\n---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmoed: ipvs\nipvs:\n  strictARP: true\n";
    let e = load_err(text);
    for want in [
        "t.yaml: KubeletConfiguration.cgroupdriver: \"systemd\" unknown field of KubeletConfiguration in Kubernetes v1.36 (did you mean cgroupDriver?); the component would drop it (line 7)",
        "KubeletConfiguration.authentication.x509.clientCAfile: \"/etc/ca.crt\" unknown field of KubeletConfiguration in Kubernetes v1.36 (did you mean clientCAFile?)",
        "KubeletConfiguration.logging.vmodule.verbosty: \"2\" unknown field of KubeletConfiguration in Kubernetes v1.36 (did you mean verbosity?); the component would drop it (line 16)",
        "KubeProxyConfiguration.moed: \"ipvs\" unknown field of KubeProxyConfiguration in Kubernetes v1.36 (did you mean mode?); the component would drop it (line 20)",
    ] {
        assert!(e.contains(want), "{want}\nnot in\n{e}");
    }
    // maps (evictionHard) are not looked into; known fields pass
    assert!(
        !e.contains("memory.available") && !e.contains("strictARP"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 4, "{e}");
    // per version: memoryReservationPolicy is new in v1.37's kubelet
    let f = |v: &str| {
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {v}\n---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nmemoryReservationPolicy: None\n"
        )
    };
    assert!(load_documents(&f("v1.37.2"), "t.yaml").is_ok());
    assert!(load_err(&f("v1.34.4")).contains("memoryReservationPolicy: \"None\" unknown field of KubeletConfiguration in Kubernetes v1.34"));
}

/// The json tags of the struct `root` of a Go file and of the structs of that file its fields
/// reach (by type name), as the generator reads them.
fn go_json_tags(src: &str, root: &str) -> std::collections::BTreeSet<String> {
    use std::collections::{BTreeMap, BTreeSet};
    // struct name -> (json tag, field type's last identifier)
    let mut structs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for l in src.lines() {
        let l = l.trim();
        if let Some(rest) = l.strip_prefix("type ")
            && let Some(name) = rest.strip_suffix(" struct {")
        {
            cur = Some(name.trim().to_string());
            structs.entry(name.trim().to_string()).or_default();
            continue;
        }
        if l == "}" {
            cur = None;
            continue;
        }
        let Some(c) = &cur else { continue };
        if l.starts_with("//") {
            continue;
        }
        let Some(i) = l.find("json:\"") else { continue };
        let tag: String = l[i + 6..]
            .chars()
            .take_while(|c| *c != ',' && *c != '"')
            .collect();
        let ty = l.split_whitespace().nth(1).unwrap_or_default();
        let ty = ty
            .rsplit([']', '*', '.'])
            .next()
            .unwrap_or_default()
            .to_string();
        structs.get_mut(c).unwrap().push((tag, ty));
    }
    let mut out = BTreeSet::new();
    let mut todo = vec![root.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(t) = todo.pop() {
        if !seen.insert(t.clone()) {
            continue;
        }
        for (tag, ty) in structs.get(&t).cloned().unwrap_or_default() {
            if !tag.is_empty() && tag != "-" {
                out.insert(tag);
            }
            if structs.contains_key(&ty) {
                todo.push(ty);
            }
        }
    }
    out
}

#[test]
fn component_field_lists_match_the_go_types_in_the_module_cache() {
    // The lists are generated by scripts/gen-component-fields.sh; every json tag of the
    // component's own types.go must be a field name of the list of that version, and every
    // top-level field of the list a tag there (or a field of an embedded type).
    let Ok(out) = Command::new("go").args(["env", "GOMODCACHE"]).output() else {
        eprintln!("go not installed; skipped (scripts/test.sh installs it)");
        return;
    };
    let cache = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let mut checked = 0;
    for (kind, module, pkg, file) in [
        (
            "KubeletConfiguration",
            "kubelet",
            "config/v1beta1",
            "kubelet",
        ),
        (
            "KubeProxyConfiguration",
            "kube-proxy",
            "config/v1alpha1",
            "kube-proxy",
        ),
    ] {
        for (minor, v) in [
            (34, "0.34.4"),
            (35, "0.35.4"),
            (36, "0.36.3"),
            (37, "0.37.2"),
        ] {
            let types = cache.join(format!("k8s.io/{module}@v{v}/{pkg}/types.go"));
            let Ok(src) = std::fs::read_to_string(&types) else {
                eprintln!("{} not in the module cache; skipped", types.display());
                continue;
            };
            let list = std::fs::read_to_string(format!(
                "{}/assets/component-fields/{file}-v1.{minor}.txt",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            assert!(
                list.contains(&format!("{module} v{v}")),
                "{file} v1.{minor}: header names another version"
            );
            let names: std::collections::BTreeSet<&str> = list
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| l.rsplit('.').next().unwrap())
                .collect();
            let tags = go_json_tags(&src, kind);
            let missing: Vec<&String> = tags
                .iter()
                .filter(|t| !names.contains(t.as_str()))
                .collect();
            assert!(
                missing.is_empty(),
                "{kind} v1.{minor}: json tags of types.go missing from the list: {missing:?}"
            );
            let fields = kubestrap::config::component_fields::fields(kind, minor).unwrap();
            let extra: Vec<&&str> = fields
                .iter()
                .filter(|f| {
                    !f.contains('.') && !tags.contains(**f) && !["apiVersion", "kind"].contains(*f)
                })
                .collect();
            assert!(
                extra.is_empty(),
                "{kind} v1.{minor}: top-level fields not in types.go: {extra:?}"
            );
            checked += 1;
        }
    }
    eprintln!("{checked} lists checked against their types.go");
}

#[test]
fn v1beta3_map_form_extra_args_are_named_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.yaml");
    std::fs::write(
        &p,
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    audit-log-path: /var/log/a.log\n    profiling: \"maybe\"\n",
    )
    .unwrap();
    let (code, out, err) = kubestrap(&["config", "validate", "--config", p.to_str().unwrap()]);
    let all = out + &err;
    assert_eq!(code, 1, "{all}");
    assert!(
        all.contains("apiServer.extraArgs[\"profiling\"]: \"maybe\"") && all.contains("(line 6)"),
        "{all}"
    );
    assert!(!all.contains("extraArgs[1]"), "{all}");
}

#[test]
fn unknown_component_fields_come_with_every_other_problem_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.yaml");
    std::fs::write(
        &p,
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 127.0.0.1\n  bindPort: 10259\n---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupdriver: systemd\n",
    )
    .unwrap();
    let (code, out, err) = kubestrap(&["config", "validate", "--config", p.to_str().unwrap()]);
    let all = out + &err;
    assert_eq!(code, 1, "{all}");
    for want in [
        "localAPIEndpoint.advertiseAddress: \"127.0.0.1\" is a loopback address",
        "localAPIEndpoint.bindPort: \"10259\" clashes with kube-scheduler",
        "KubeletConfiguration.cgroupdriver: \"systemd\" unknown field of KubeletConfiguration in Kubernetes v1.37 (did you mean cgroupDriver?); the component would drop it (line 9)",
    ] {
        assert!(all.contains(want), "{want}\nnot in\n{all}");
    }
    // init --config reports them together too, before anything runs
    let (code, out, err) = kubestrap(&[
        "init",
        "--dry-run",
        "--non-interactive",
        "--config",
        p.to_str().unwrap(),
    ]);
    let all = out + &err;
    assert_eq!(code, 1, "{all}");
    assert!(
        all.contains("is a loopback address") && all.contains("did you mean cgroupDriver?"),
        "{all}"
    );
}

/// Issue 12 item 4: an advertise address that is on none of this machine's interfaces is a
/// warning of `validate_init` (dry runs, `config validate`, the wizard's fields) and an error
/// for a real run; an address of the host, or a host whose interfaces are unknown, passes.
#[test]
fn an_advertise_address_not_on_this_machine_is_an_error_for_a_real_init_and_a_warning_otherwise() {
    use kubestrap::host::Host;
    let host = kubestrap::host::FakeHost::new().unwrap();
    let f = host.facts();
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.local_api_endpoint.advertise_address = "192.0.2.99".into();
    let errs = validate_init(&cfg, &f);
    let w: Vec<&FieldError> = errs
        .iter()
        .filter(|e| e.path == "localAPIEndpoint.advertiseAddress")
        .collect();
    assert_eq!(w.len(), 1, "{errs:?}");
    assert!(w[0].warning);
    assert_eq!(
        w[0].to_string(),
        "localAPIEndpoint.advertiseAddress: \"192.0.2.99\" is not an address of any interface of this machine (it has 192.168.1.10 (eth0)); etcd and the API server could not listen on it (a real init refuses it)"
    );
    let e = advertise_on_host_problem(&cfg, &f, true).unwrap();
    assert!(!e.warning);
    assert!(!e.rule.contains("a real init refuses it"), "{e}");
    cfg.init.local_api_endpoint.advertise_address = "192.168.1.10".into();
    assert_eq!(advertise_on_host_problem(&cfg, &f, true), None);
    assert!(
        validate_init(&cfg, &f)
            .iter()
            .all(|e| e.path != "localAPIEndpoint.advertiseAddress")
    );
    cfg.init.local_api_endpoint.advertise_address = "192.0.2.99".into();
    assert_eq!(advertise_on_host_problem(&cfg, &facts(), true), None);
    // --non-interactive dry run on this machine: a warning, the run goes on
    let dir = tempfile::tempdir().unwrap();
    let (_, out, err) = kubestrap(&[
        "--root",
        dir.path().to_str().unwrap(),
        "init",
        "--dry-run",
        "--non-interactive",
        "--apiserver-advertise-address",
        "203.0.113.77",
        "--node-name",
        "cp1",
    ]);
    let all = format!("{out}{err}");
    assert!(
        all.contains("\"203.0.113.77\" is not an address of any interface of this machine")
            && all.contains("(a real init refuses it)"),
        "{all}"
    );
    assert!(all.contains("[certs]"), "the dry run went on: {all}");
}

/// Issue 12 item 5: the loader's problems (an unknown field, a YAML 1.1 boolean in a string
/// field, a value of the wrong type) come with the validation's (a loopback advertise
/// address, an extra arg value its flag refuses) in one run of `config validate` and of
/// `init --config`, each with its line, in file order; nothing is reported twice.
/// A first-time user's file with a problem on almost every line (the v1beta3 extraArgs map in
/// a v1beta4 file among them): `config validate` reports them all in one run, in line order,
/// and the YAML 1.1 `off` of a boolean flag is answered with the value to write.
#[test]
fn a_file_with_many_problems_reports_them_all_in_one_run_in_line_order() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tester-all-problems.yaml");
    let (code, out, err) = kubestrap(&["config", "validate", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    let text = format!("{out}{err}");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("tester-all-problems.yaml: "))
        .collect();
    let want = [
        (
            "localAPIEndpoint.advertiseAddress: \"127.0.0.1\" is a loopback address",
            4,
        ),
        (
            "localAPIEndpoint.bindPort: \"2379\" clashes with etcd (client)",
            5,
        ),
        ("nodeRegistration.name: ", 7),
        (
            "bootstrapTokens[0].token: the value (not shown) is not valid",
            10,
        ),
        (
            "warning: bootstrapTokens[0].ttl: \"0s\" makes the token never expire",
            11,
        ),
        (
            "controlPlaneEndpoint: \"${LB}:6443\" looks like an unexpanded",
            16,
        ),
        (
            "networking.podSubnet: \"10.96.0.0/16\" overlaps networking.serviceSubnet",
            18,
        ),
        (
            "networking.dnsDomian: \"cluster.local\" unknown field (did you mean dnsDomain?)",
            20,
        ),
        ("warning: imageRepository: \"k8s.gcr.io\" is frozen", 21),
        (
            "apiServer.extraArgs: \"{...}\" kubeadm.k8s.io/v1beta4 expects extraArgs as a list",
            23,
        ),
        (
            "apiServer.extraArgs[0].value: \"off\" is read as a boolean by kubeadm's YAML 1.1 decoder, but this field is a string: write \"false\" (--profiling is a boolean flag of kube-apiserver",
            24,
        ),
        (
            "apiServer.certSANs[0]: \"bad_san\" is not an IP address",
            26,
        ),
        (
            "etcd.local.extraArgs[0].value: \"10000\" is read as a number",
            31,
        ),
        (
            "KubeletConfiguration.cgroupdriver: \"systemd\" unknown field",
            35,
        ),
    ];
    assert_eq!(lines.len(), want.len(), "{text}");
    for (l, (w, line)) in lines.iter().zip(want) {
        assert!(l.contains(w), "{w:?} not in {l:?}\n{text}");
        assert!(
            l.ends_with(&format!("(line {line})")),
            "{l:?} is not line {line}"
        );
    }
}

#[test]
fn loader_and_validation_problems_are_reported_together_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.yaml");
    std::fs::write(
        &p,
        "apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 127.0.0.1
  bindPort: abc
nodeRegistration:
  name: cp1
  critSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: off
apiServer:
  extraArgs:
  - name: audit-log-maxage
    value: ten
",
    )
    .unwrap();
    let want = [
        "localAPIEndpoint.advertiseAddress: \"127.0.0.1\" is a loopback address",
        "localAPIEndpoint.bindPort: \"abc\" expected an integer, found a string (line 5)",
        "nodeRegistration.critSocket: \"unix:///run/containerd/containerd.sock\" unknown field (did you mean criSocket?) (line 8)",
        "clusterName: \"off\" is read as a boolean by kubeadm's YAML 1.1 decoder, but this field is a string: quote it (\"off\") (line 12)",
        "apiServer.extraArgs[0].value: \"ten\" is not a valid value of kube-apiserver --audit-log-maxage",
    ];
    let check = |what: &str, text: &str| {
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("k.yaml: ")).collect();
        assert_eq!(lines.len(), want.len(), "{what}:\n{text}");
        for (l, w) in lines.iter().zip(want) {
            assert!(l.contains(w), "{what}: {w:?} not in {l:?}\n{text}");
        }
        assert!(
            lines[0].ends_with("(line 4)") && lines[4].ends_with("(line 16)"),
            "{text}"
        );
    };
    let (code, out, err) = kubestrap(&["config", "validate", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    check("config validate", &format!("{out}{err}"));
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let (code, out, err) = kubestrap(&[
        "--root",
        root.to_str().unwrap(),
        "init",
        "--dry-run",
        "--non-interactive",
        "--config",
        p.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    check("init --config", &format!("{out}{err}"));
    // the library's strict loader reports the loader's three at once too
    let e = load_documents(&std::fs::read_to_string(&p).unwrap(), "k.yaml").unwrap_err();
    assert_eq!(e.errors.len(), 3, "{e}");
}

/// Issue 12 item 2: extraArgs values of `feature-gates` are checked against the component's
/// gates of the carried version (and locked values), admission plugin names against
/// kube-apiserver's, in files as in the wizard; each problem names the entry and its line.
#[test]
fn feature_gates_and_admission_plugins_in_extra_args_are_checked_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.yaml");
    std::fs::write(
        &p,
        "apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
apiServer:
  extraArgs:
  - name: feature-gates
    value: APIServerIdentity=true,NoSuchGate=true
  - name: enable-admission-plugins
    value: NodeRestriction,AlwaysPullImage
controllerManager:
  extraArgs:
  - name: feature-gates
    value: wardle:Foo=true
scheduler:
  extraArgs:
  - name: feature-gates
    value: AllAlpha=yes
",
    )
    .unwrap();
    let (code, out, err) = kubestrap(&["config", "validate", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    let all = format!("{out}{err}");
    for want in [
        "apiServer.extraArgs[0].value: \"APIServerIdentity=true,NoSuchGate=true\" is not a valid value of kube-apiserver --feature-gates: entry \"NoSuchGate=true\": NoSuchGate is not a feature gate of kube-apiserver v1.37, and kube-apiserver would exit at start (line 7)",
        "apiServer.extraArgs[1].value: \"NodeRestriction,AlwaysPullImage\" is not a valid value of kube-apiserver --enable-admission-plugins: names an admission plugin that kube-apiserver v1.37 does not have: AlwaysPullImage (did you mean AlwaysPullImages?)",
        "controllerManager.extraArgs[0].value: \"wardle:Foo=true\" is not a valid value of kube-controller-manager --feature-gates: entry \"wardle:Foo=true\" names component \"wardle\"",
        "scheduler.extraArgs[0].value: \"AllAlpha=yes\" is not a valid value of kube-scheduler --feature-gates: entry \"AllAlpha=yes\": \"yes\" is not a boolean (true or false)",
    ] {
        assert!(all.contains(want), "{want}\nnot in:\n{all}");
    }
    // the same value for another carried version: only the form is checked
    let mut cfg = example_init_config("v1.34.4");
    cfg.cluster.api_server.extra_args = vec![Arg {
        name: "feature-gates".into(),
        value: "NoSuchGate=true".into(),
    }];
    assert!(
        validate_init(&cfg, &facts())
            .iter()
            .all(|e| !e.path.starts_with("apiServer.extraArgs")),
    );
}

/// Issue 12 item 2: an extraArgs override of a kube-apiserver flag kubestrap derives from
/// another answer is refused naming the field to change where kubeadm v1.37.2 breaks on it
/// (secure-port, service-cluster-ip-range, etcd-servers), warned where kubeadm goes on
/// (advertise-address, certificate files), and passes when it equals the derived value; the
/// later entry is the one that counts. The real kubeadm accepts the file (it does not look).
#[test]
fn overrides_of_derived_apiserver_flags_are_refused_or_warned_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.yaml");
    std::fs::write(
        &p,
        "apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.0.2.10
  bindPort: 6443
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
apiServer:
  extraArgs:
  - name: secure-port
    value: \"7443\"
  - name: service-cluster-ip-range
    value: 10.100.0.0/16
  - name: etcd-servers
    value: https://10.0.0.5:2379
  - name: advertise-address
    value: 192.0.2.11
  - name: tls-cert-file
    value: /etc/kubernetes/pki/custom.crt
  - name: client-ca-file
    value: /etc/kubernetes/pki/ca.crt
",
    )
    .unwrap();
    let (code, out, err) = kubestrap(&["config", "validate", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    let all = format!("{out}{err}");
    let lines: Vec<&str> = all.lines().filter(|l| l.contains("extraArgs")).collect();
    assert_eq!(lines.len(), 5, "{all}");
    for (i, field, refused) in [
        (0, "localAPIEndpoint.bindPort", true),
        (1, "networking.serviceSubnet", true),
        (2, "etcd.external.endpoints", true),
        (3, "localAPIEndpoint.advertiseAddress", false),
        (4, "certificatesDir", false),
    ] {
        let l = lines
            .iter()
            .find(|l| l.contains(&format!("apiServer.extraArgs[{i}].value")))
            .unwrap_or_else(|| panic!("entry {i}: {all}"));
        assert!(
            l.contains(&format!("which kubestrap derives from {field}")),
            "{l}"
        );
        assert_eq!(l.contains("warning: "), !refused, "{l}");
        if refused {
            assert!(l.contains(&format!("set {field} instead")), "{l}");
        }
    }
    // client-ca-file with the derived value: nothing to say
    assert!(!all.contains("extraArgs[5]"), "{all}");
    // a later entry equal to the derived value wins
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.local_api_endpoint.bind_port = 6443;
    cfg.cluster.api_server.extra_args = vec![
        Arg {
            name: "secure-port".into(),
            value: "7443".into(),
        },
        Arg {
            name: "secure-port".into(),
            value: "6443".into(),
        },
    ];
    assert!(derived_override_problems(&cfg).is_empty());
    // kubeadm itself takes the file: the refusal is kubestrap's (README: where it differs)
    if let Some(bins) = support::k8s::bin_dir() {
        let (code, out, err) = support::k8s::run(
            &bins.join("kubeadm"),
            &["config", "validate", "--config", p.to_str().unwrap()],
            &[],
        );
        assert_eq!(code, 0, "{out}{err}");
    }
}
