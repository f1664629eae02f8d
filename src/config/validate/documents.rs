//! Rules over a whole document: node registration, bootstrap tokens, the cluster
//! configuration (networking, etcd, components, extra args and volumes) and subnet overlap.

use super::*;

/// extraArgs of one component: every entry needs a name; for kube-apiserver,
/// kube-controller-manager, kube-scheduler and etcd the name must be a flag the component
/// knows and the value one its flag parser takes (see [`flags`]).
pub(super) fn check_extra_args(
    r: &mut Report,
    path: &str,
    component: Option<&str>,
    args: &[Arg],
    version: &str,
) {
    for (i, a) in args.iter().enumerate() {
        let p = format!("{path}[{i}].name");
        if a.name.is_empty() {
            r.add(&p, "", "argument has no name", false);
            continue;
        }
        if let Some(c) = component {
            if let Err(e) = validate_extra_arg_name(c, &a.name) {
                r.add(&p, &a.name, e, false);
            } else if let Err(e) = validate_extra_arg_value(c, &a.name, &a.value, version) {
                r.add(&format!("{path}[{i}].value"), &a.value, e, false);
            }
        }
    }
}

pub(super) fn check_volumes(r: &mut Report, path: &str, vols: &[HostPathMount]) {
    let mut names = BTreeSet::new();
    for (i, v) in vols.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if !is_dns1123_label(&v.name) {
            r.add(
                &format!("{p}.name"),
                &v.name,
                "must be a lower-case RFC 1123 label (a volume name)",
                false,
            );
        } else if !names.insert(v.name.clone()) {
            r.add(
                &format!("{p}.name"),
                &v.name,
                "is used by another volume of this component",
                false,
            );
        }
        r.check(
            &format!("{p}.hostPath"),
            &v.host_path,
            validate_abs_path(&v.host_path),
        );
        r.check(
            &format!("{p}.mountPath"),
            &v.mount_path,
            validate_abs_path(&v.mount_path),
        );
        if !matches!(
            v.path_type.as_str(),
            "" | "DirectoryOrCreate"
                | "Directory"
                | "FileOrCreate"
                | "File"
                | "Socket"
                | "CharDevice"
                | "BlockDevice"
        ) {
            r.add(&format!("{p}.pathType"), &v.path_type, "must be one of DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice", false);
        }
    }
}

pub(super) fn is_dns1123_label(s: &str) -> bool {
    !s.contains('.') && is_dns1123_subdomain(s) && s.len() <= 63
}

pub(super) fn check_token(r: &mut Report, path: &str, t: &BootstrapToken) {
    if !t.token.is_empty()
        && let Err(e) = validate_token(&t.token)
    {
        r.add(&format!("{path}.token"), "<redacted>", e, false);
    }
    if t.ttl.is_some() && !t.expires.is_empty() {
        r.add(
            &format!("{path}.ttl"),
            &t.ttl.map(|d| d.to_string()).unwrap_or_default(),
            "ttl and expires are mutually exclusive",
            false,
        );
    }
    if !t.expires.is_empty()
        && time::OffsetDateTime::parse(&t.expires, &time::format_description::well_known::Rfc3339)
            .is_err()
    {
        r.add(
            &format!("{path}.expires"),
            &t.expires,
            "is not an RFC 3339 time such as 2030-01-02T15:04:05Z",
            false,
        );
    }
    r.check(
        &format!("{path}.usages"),
        &t.usages.join(","),
        validate_token_usages(&t.usages),
    );
    r.check(
        &format!("{path}.groups"),
        &t.groups.join(","),
        validate_token_groups(&t.groups, &t.usages),
    );
}

pub(super) fn check_node_registration(r: &mut Report, n: &NodeRegistrationOptions) {
    r.check(
        "nodeRegistration.name",
        &n.name,
        validate_node_name(&n.name),
    );
    r.check(
        "nodeRegistration.criSocket",
        &n.cri_socket,
        validate_cri_socket(&n.cri_socket),
    );
    if !n.image_pull_policy.is_empty() {
        r.check(
            "nodeRegistration.imagePullPolicy",
            &n.image_pull_policy,
            validate_image_pull_policy(&n.image_pull_policy),
        );
    }
    r.check(
        "nodeRegistration.ignorePreflightErrors",
        &n.ignore_preflight_errors.join(","),
        validate_ignore_preflight_errors(&n.ignore_preflight_errors),
    );
    check_extra_args(
        r,
        "nodeRegistration.kubeletExtraArgs",
        None,
        &n.kubelet_extra_args,
        "",
    );
}

pub(super) fn check_cluster(
    r: &mut Report,
    c: &ClusterConfiguration,
    facts: Option<&HostFacts>,
    advertise: Option<&str>,
) {
    // Networking.
    let svc = &c.networking.service_subnet;
    r.check(
        "networking.serviceSubnet",
        svc,
        validate_service_subnet(svc),
    );
    match node_cidr_mask_sizes(&c.controller_manager.extra_args) {
        Ok(mask) => {
            let allocate = c
                .controller_manager
                .extra_args
                .iter()
                .rev()
                .find(|a| a.name == "allocate-node-cidrs")
                .is_none_or(|a| a.value != "false");
            let pod = &c.networking.pod_subnet;
            if !pod.is_empty() {
                let res = if allocate {
                    validate_pod_subnet(pod, svc, mask)
                } else {
                    validate_subnets(pod, 14).and_then(|_| check_overlap(pod, svc))
                };
                r.check("networking.podSubnet", pod, res);
            }
        }
        Err(e) => r.add("controllerManager.extraArgs", "", e, false),
    }
    for (path, val) in [
        ("networking.serviceSubnet", svc),
        ("networking.podSubnet", &c.networking.pod_subnet),
    ] {
        for n in parse_subnets(val).unwrap_or_default() {
            if let IpNet::V6(v6) = n
                && (v6.network().segments()[0] & 0xffc0) == 0xfec0
            {
                r.add(
                    path,
                    val,
                    format!("{n} is in the deprecated site-local range fec0::/10"),
                    true,
                );
            }
            if let Some(f) = facts {
                for i in &f.interfaces {
                    if let Ok(inet) = IpNet::new(i.addr, i.prefix_len) {
                        let inet = inet.trunc();
                        if inet.contains(&n.network()) || n.contains(&inet.network()) {
                            r.add(path, val, format!("overlaps the network {inet} of interface {}; traffic to those addresses will be misrouted", i.interface), true);
                        }
                    }
                }
            }
        }
    }
    r.check(
        "networking.dnsDomain",
        &c.networking.dns_domain,
        validate_dns_domain(&c.networking.dns_domain),
    );
    if let Some(adv) = advertise
        && let Err(e) = validate_advertise_family(adv, svc)
    {
        r.add("localAPIEndpoint.advertiseAddress", adv, e, false);
    }
    // Version and names.
    r.check(
        "kubernetesVersion",
        &c.kubernetes_version,
        validate_kubernetes_version(&c.kubernetes_version),
    );
    if let Some(w) = kubernetes_version_warning(&c.kubernetes_version) {
        r.add("kubernetesVersion", &c.kubernetes_version, w, true);
    }
    if !c.control_plane_endpoint.is_empty() {
        r.check(
            "controlPlaneEndpoint",
            &c.control_plane_endpoint,
            validate_control_plane_endpoint(&c.control_plane_endpoint),
        );
    }
    for (i, s) in c.api_server.cert_sans.iter().enumerate() {
        r.check(&format!("apiServer.certSANs[{i}]"), s, validate_cert_san(s));
    }
    r.check(
        "certificatesDir",
        &c.certificates_dir,
        validate_abs_path(&c.certificates_dir),
    );
    r.check(
        "imageRepository",
        &c.image_repository,
        validate_image_repository(&c.image_repository),
    );
    r.check(
        "encryptionAlgorithm",
        &c.encryption_algorithm,
        validate_encryption_algorithm(&c.encryption_algorithm),
    );
    r.check(
        "clusterName",
        &c.cluster_name,
        if c.cluster_name.is_empty() {
            Err("is required".into())
        } else {
            Ok(())
        },
    );
    for name in c.feature_gates.keys() {
        r.check(
            &format!("featureGates.{name}"),
            name,
            validate_feature_gate(
                name,
                crate::config::versions::minor_of(&c.kubernetes_version),
            ),
        );
    }
    if let Some(d) = c.certificate_validity_period
        && d > defaults::default_cert_validity()
    {
        r.add(
            "certificateValidityPeriod",
            &d.to_string(),
            "is longer than the default 8760h0m0s",
            true,
        );
    }
    if let Some(d) = c.ca_certificate_validity_period
        && d > defaults::default_ca_validity()
    {
        r.add(
            "caCertificateValidityPeriod",
            &d.to_string(),
            "is longer than the default 87600h0m0s",
            true,
        );
    }
    // Components.
    check_extra_args(
        r,
        "apiServer.extraArgs",
        Some("kube-apiserver"),
        &c.api_server.extra_args,
        &c.kubernetes_version,
    );
    check_extra_args(
        r,
        "controllerManager.extraArgs",
        Some("kube-controller-manager"),
        &c.controller_manager.extra_args,
        &c.kubernetes_version,
    );
    check_extra_args(
        r,
        "scheduler.extraArgs",
        Some("kube-scheduler"),
        &c.scheduler.extra_args,
        &c.kubernetes_version,
    );
    check_volumes(r, "apiServer.extraVolumes", &c.api_server.extra_volumes);
    check_volumes(
        r,
        "controllerManager.extraVolumes",
        &c.controller_manager.extra_volumes,
    );
    check_volumes(r, "scheduler.extraVolumes", &c.scheduler.extra_volumes);
    // Etcd.
    match (&c.etcd.local, &c.etcd.external) {
        (Some(_), Some(_)) => r.add(
            "etcd",
            "",
            "local and external are mutually exclusive",
            false,
        ),
        (None, None) => r.add("etcd", "", "either local or external is required", false),
        (Some(l), None) => {
            r.check(
                "etcd.local.dataDir",
                &l.data_dir,
                validate_abs_path(&l.data_dir),
            );
            check_extra_args(
                r,
                "etcd.local.extraArgs",
                Some("etcd"),
                &l.extra_args,
                &c.kubernetes_version,
            );
            for (i, s) in l.server_cert_sans.iter().enumerate() {
                r.check(
                    &format!("etcd.local.serverCertSANs[{i}]"),
                    s,
                    validate_cert_san(s),
                );
            }
            for (i, s) in l.peer_cert_sans.iter().enumerate() {
                r.check(
                    &format!("etcd.local.peerCertSANs[{i}]"),
                    s,
                    validate_cert_san(s),
                );
            }
        }
        (None, Some(x)) => check_external_etcd(r, x),
    }
}

/// Errors when any subnet of `pod` overlaps any subnet of `service_subnet`.
pub fn check_overlap(pod: &str, service_subnet: &str) -> Result<(), String> {
    crate::config::validate_values::check_subnet_families(pod, service_subnet)?;
    let (Ok(p), Ok(s)) = (parse_subnets(pod), parse_subnets(service_subnet)) else {
        return Ok(());
    };
    if p.iter().any(|n| {
        s.iter()
            .any(|m| m.contains(&n.network()) || n.contains(&m.network()))
    }) {
        return Err(format!(
            "overlaps networking.serviceSubnet {service_subnet:?}"
        ));
    }
    Ok(())
}

pub(super) fn check_external_etcd(r: &mut Report, x: &ExternalEtcd) {
    if x.endpoints.is_empty() {
        r.add(
            "etcd.external.endpoints",
            "",
            "at least one endpoint is required",
            false,
        );
    }
    let tls = !x.cert_file.is_empty() || !x.key_file.is_empty();
    if x.cert_file.is_empty() != x.key_file.is_empty() {
        r.add(
            "etcd.external.certFile",
            &x.cert_file,
            "certFile and keyFile must be set together",
            false,
        );
    }
    if tls && x.ca_file.is_empty() {
        r.add(
            "etcd.external.caFile",
            "",
            "is required when certFile and keyFile are set",
            false,
        );
    }
    for (p, f) in [
        ("caFile", &x.ca_file),
        ("certFile", &x.cert_file),
        ("keyFile", &x.key_file),
    ] {
        if !f.is_empty() {
            r.check(&format!("etcd.external.{p}"), f, validate_abs_path(f));
        }
    }
    for (i, e) in x.endpoints.iter().chain(&x.http_endpoints).enumerate() {
        let p = format!("etcd.external.endpoints[{i}]");
        match e.split_once("://") {
            Some(("https", rest)) if !rest.is_empty() => {}
            Some(("http", rest)) if !rest.is_empty() => {
                if tls {
                    r.add(&p, e, "must use https:// when TLS files are set", false);
                }
            }
            _ => r.add(&p, e, "is not a URL with http:// or https:// scheme", false),
        }
    }
}
