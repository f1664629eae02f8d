//! Rules on values that kubeadm lets pass but that break or weaken a cluster (issue 12,
//! item 4): loopback advertise addresses, bind ports that clash with other control-plane
//! components, pod and service subnets of different families, a pod subnet with room for
//! one node, certificates that outlive their CA, tokens that never expire, unexpanded shell
//! or template variables, image repositories that are not references or are frozen.
//!
//! The per-value rules (`Result<(), String>`) are called from the per-field validators of
//! [`super::validate`], so the flags, the file loader and the wizard share them; the
//! whole-configuration rules return [`FieldError`]s that `validate_init` adds to its report.

use std::net::IpAddr;

use super::defaults;
use super::net::parse_subnets;
use super::types::*;
use super::validate::FieldError;

fn problem(path: &str, value: &str, rule: impl Into<String>, warning: bool) -> FieldError {
    FieldError {
        path: path.to_string(),
        value: value.to_string(),
        rule: rule.into(),
        line: None,
        warning,
    }
}

/// The advertise address must not be loopback (127.0.0.0/8, ::1): other nodes, and the
/// kubernetes Service, would reach themselves instead of this API server.
pub fn refuse_loopback(ip: IpAddr) -> Result<(), String> {
    if ip.is_loopback() {
        return Err("is a loopback address: other nodes and the kubernetes Service could not reach the API server on it; use an address of this host's network".into());
    }
    Ok(())
}

/// Ports the other control-plane components listen on, with their owner.
pub const RESERVED_PORTS: &[(i32, &str)] = &[
    (2379, "etcd (client)"),
    (2380, "etcd (peer)"),
    (10250, "the kubelet"),
    (10257, "kube-controller-manager"),
    (10259, "kube-scheduler"),
];

/// The API server's bind port must not be one another component of this node listens on.
pub fn refuse_reserved_port(port: i32) -> Result<(), String> {
    match RESERVED_PORTS.iter().find(|(p, _)| *p == port) {
        Some((_, owner)) => Err(format!(
            "clashes with {owner}, which listens on this port on this node; use another port (the default is 6443)"
        )),
        None => Ok(()),
    }
}

/// The pod and service subnets must share at least one IP family: an IPv6-only pod subnet
/// with an IPv4 service subnet (or the reverse) leaves Services unable to reach pods.
/// Unparsable values pass (their own rules report them).
pub fn check_subnet_families(pod: &str, service_subnet: &str) -> Result<(), String> {
    let (Ok(p), Ok(s)) = (parse_subnets(pod), parse_subnets(service_subnet)) else {
        return Ok(());
    };
    if p.is_empty() || s.is_empty() {
        return Ok(());
    }
    let fam = |v4: bool| if v4 { "IPv4" } else { "IPv6" };
    let shared = p
        .iter()
        .any(|n| s.iter().any(|m| n.addr().is_ipv4() == m.addr().is_ipv4()));
    if shared {
        return Ok(());
    }
    Err(format!(
        "is {} only but networking.serviceSubnet {service_subnet:?} is {} only; pods and Services need a common IP family (use one family for both, or dual-stack)",
        fam(p[0].addr().is_ipv4()),
        fam(s[0].addr().is_ipv4()),
    ))
}

/// A warning when a pod subnet has room for one node block only (e.g. an IPv4 `/24` with the
/// default node mask /24): every node after the first gets no pod CIDR.
pub fn pod_subnet_one_node(pod: &str, node_mask: (u8, u8)) -> Option<String> {
    let nets = parse_subnets(pod).ok()?;
    for (n, entry) in nets.into_iter().zip(pod.split(',').map(str::trim)) {
        let (mask, flag) = if n.addr().is_ipv4() {
            (node_mask.0, "node-cidr-mask-size-ipv4")
        } else {
            (node_mask.1, "node-cidr-mask-size-ipv6")
        };
        if mask == n.prefix_len() {
            return Some(format!(
                "{entry:?} has room for one node only (node blocks are /{mask}); other nodes get no pod CIDR: use a larger subnet, or a larger controllerManager.extraArgs {flag}"
            ));
        }
    }
    None
}

/// Why `s` looks like an unexpanded shell or template variable (`$VAR`, `$(VAR)`, `${VAR}`,
/// `{{ .x }}`), or `None`.
pub fn unexpanded_variable(s: &str) -> Option<&'static str> {
    if s.contains("{{") && s.contains("}}") {
        return Some("{{ ... }}");
    }
    let b = s.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c != b'$' {
            continue;
        }
        match b.get(i + 1) {
            Some(b'{') => return Some("${...}"),
            Some(b'(') => return Some("$(...)"),
            Some(n) if n.is_ascii_alphabetic() || *n == b'_' => return Some("$VAR"),
            _ => {}
        }
    }
    None
}

/// Refuses a value that looks like an unexpanded shell or template variable.
pub fn refuse_unexpanded(s: &str) -> Result<(), String> {
    match unexpanded_variable(s) {
        Some(form) => Err(format!(
            "looks like an unexpanded shell or template variable ({form}); substitute it before passing the file or flag (e.g. with envsubst or your template tool)"
        )),
        None => Ok(()),
    }
}

/// `imageRepository` warnings: `k8s.gcr.io` is frozen (no images after 2023).
pub fn image_repository_warning(s: &str) -> Option<String> {
    let host = s.split('/').next().unwrap_or_default();
    (host == "k8s.gcr.io").then(|| {
        "is frozen: it receives no new images (Kubernetes moved to registry.k8s.io in 2023), so this version's images are not there; use registry.k8s.io".to_string()
    })
}

/// The whole-configuration rules of this module for an init configuration: unexpanded
/// variables in addresses, endpoints and names; token TTL 0; certificate validity longer
/// than the CA's; the one-node pod subnet; the `k8s.gcr.io` repository.
pub fn check_init(cfg: &InitConfig) -> Vec<FieldError> {
    let mut out = Vec::new();
    let i = &cfg.init;
    let c = &cfg.cluster;
    // Values that name addresses, endpoints and names. The rules of their own fields also
    // refuse most of these, but without the hint; the hint replaces them (see the filter in
    // `validate_init`).
    let mut named: Vec<(String, &str)> = vec![
        (
            "localAPIEndpoint.advertiseAddress".into(),
            &i.local_api_endpoint.advertise_address,
        ),
        ("nodeRegistration.name".into(), &i.node_registration.name),
        (
            "nodeRegistration.criSocket".into(),
            &i.node_registration.cri_socket,
        ),
        ("controlPlaneEndpoint".into(), &c.control_plane_endpoint),
        ("imageRepository".into(), &c.image_repository),
        ("clusterName".into(), &c.cluster_name),
        ("networking.podSubnet".into(), &c.networking.pod_subnet),
        (
            "networking.serviceSubnet".into(),
            &c.networking.service_subnet,
        ),
        ("networking.dnsDomain".into(), &c.networking.dns_domain),
        ("certificatesDir".into(), &c.certificates_dir),
    ];
    for (n, s) in c.api_server.cert_sans.iter().enumerate() {
        named.push((format!("apiServer.certSANs[{n}]"), s));
    }
    if let Some(l) = &c.etcd.local {
        for (n, s) in l.server_cert_sans.iter().enumerate() {
            named.push((format!("etcd.local.serverCertSANs[{n}]"), s));
        }
        for (n, s) in l.peer_cert_sans.iter().enumerate() {
            named.push((format!("etcd.local.peerCertSANs[{n}]"), s));
        }
    }
    if let Some(x) = &c.etcd.external {
        for (n, s) in x.endpoints.iter().enumerate() {
            named.push((format!("etcd.external.endpoints[{n}]"), s));
        }
    }
    for (path, v) in named {
        if let Err(e) = refuse_unexpanded(v) {
            out.push(problem(&path, v, e, false));
        }
    }
    for (n, t) in i.bootstrap_tokens.iter().enumerate() {
        if t.ttl.is_some_and(|d| d.as_std().is_zero()) {
            out.push(problem(
                &format!("bootstrapTokens[{n}].ttl"),
                "0s",
                "makes the token never expire: anyone who sees it can join nodes for ever; use a limited ttl (default 24h0m0s) and `kubestrap token create` when needed",
                true,
            ));
        }
    }
    let ca = c
        .ca_certificate_validity_period
        .unwrap_or_else(defaults::default_ca_validity);
    if let Some(d) = c.certificate_validity_period
        && d > ca
    {
        out.push(problem(
            "certificateValidityPeriod",
            &d.to_string(),
            format!(
                "is longer than the CA's validity (caCertificateValidityPeriod {ca}): the certificates stop being trusted when the CA expires, before their own end date"
            ),
            true,
        ));
    }
    let allocate = c
        .controller_manager
        .extra_args
        .iter()
        .rev()
        .find(|a| a.name == "allocate-node-cidrs")
        .is_none_or(|a| a.value != "false");
    if allocate
        && !c.networking.pod_subnet.is_empty()
        && let Ok(mask) = super::validate::node_cidr_mask_sizes(&c.controller_manager.extra_args)
        && let Some(w) = pod_subnet_one_node(&c.networking.pod_subnet, mask)
    {
        out.push(problem(
            "networking.podSubnet",
            &c.networking.pod_subnet,
            w,
            true,
        ));
    }
    if let Some(w) = image_repository_warning(&c.image_repository) {
        out.push(problem("imageRepository", &c.image_repository, w, true));
    }
    out
}

/// Keeps one message per field whose value is an unexpanded variable: the hint of
/// [`refuse_unexpanded`] replaces the field's generic errors, and repeats of it go.
pub fn prefer_variable_hint(errs: &mut Vec<FieldError>) {
    let is_hint = |e: &FieldError| e.rule.starts_with("looks like an unexpanded");
    let hinted: Vec<String> = errs
        .iter()
        .filter(|e| is_hint(e))
        .map(|e| e.path.clone())
        .collect();
    let mut seen: Vec<String> = Vec::new();
    errs.retain(|e| {
        if !hinted.contains(&e.path) {
            return true;
        }
        if !is_hint(e) || seen.contains(&e.path) {
            return false;
        }
        seen.push(e.path.clone());
        true
    });
}

/// `imageRepository` as the distribution reference grammar has it (without tag or digest):
/// a registry host (DNS labels or a bracketed IPv6 address, optional port) or a first path
/// component, then lower-case path components (`[a-z0-9]+` joined by `.`, `_`, `__` or
/// dashes), at most 255 characters. Errors say which part is wrong.
pub fn check_image_reference(s: &str) -> Result<(), String> {
    refuse_unexpanded(s)?;
    let bad = |why: String| {
        Err(format!(
            "is not a valid image repository: {why} (expected e.g. registry.k8s.io or 127.0.0.1:5000/mirror, without scheme or tag)"
        ))
    };
    if s.is_empty() {
        return bad("it is empty".into());
    }
    if s.contains("://") {
        return bad("a URL scheme is not part of an image reference".into());
    }
    if s.contains('@') {
        return bad("a digest (@sha256:...) is not part of a repository".into());
    }
    if s.len() > 255 {
        return bad(format!("it is {} characters long, more than 255", s.len()));
    }
    let path_component = |p: &str| -> bool {
        // [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
        let b = p.as_bytes();
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            if alnum(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !alnum(b[i]) {
                i += 1;
            }
            let sep = &p[start..i];
            let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
            if !ok {
                return false;
            }
        }
        true
    };
    let mut parts = s.split('/');
    let first = parts.next().unwrap_or_default();
    let is_host = first.contains('.') || first.contains(':') || first == "localhost";
    if is_host {
        let (host, port) = if let Some(rest) = first.strip_prefix('[') {
            let Some((addr, after)) = rest.split_once(']') else {
                return bad(format!("registry host {first:?} has no closing ']'"));
            };
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return bad(format!("{addr:?} in brackets is not an IPv6 address"));
            }
            match after {
                "" => (None, None),
                p => match p.strip_prefix(':') {
                    Some(p) => (None, Some(p)),
                    None => return bad(format!("unexpected {p:?} after the IPv6 address")),
                },
            }
        } else {
            match first.split_once(':') {
                Some((h, p)) => (Some(h), Some(p)),
                None => (Some(first), None),
            }
        };
        if let Some(h) = host {
            let label_ok = |l: &str| {
                let b = l.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            };
            if !h.split('.').all(label_ok) {
                return bad(format!(
                    "registry host {h:?} is not a DNS name or an IP address"
                ));
            }
        }
        if let Some(p) = port
            && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return bad(format!("port {p:?} is not a number"));
        }
    } else if !path_component(first) {
        return bad(format!(
            "{first:?} is neither a registry host (with a '.' or a port) nor a lower-case path component"
        ));
    }
    for p in parts {
        if p.contains(':') {
            return bad(format!("{p:?} has a tag; give the repository only"));
        }
        if !path_component(p) {
            return bad(format!(
                "path component {p:?} must be lower-case letters and digits joined by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}
