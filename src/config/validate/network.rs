//! Addresses, ports, subnets, certificate SANs, the DNS domain and the control-plane
//! endpoint.

use super::*;

/// An IP address (no prefix length). Mirrors `ValidateIPFromString`.
pub fn validate_ip(s: &str) -> Result<(), String> {
    s.parse::<IpAddr>()
        .map(|_| ())
        .map_err(|_| "is not a valid IP address".to_string())
}

/// The API server advertise address: an IP that is global unicast, private or loopback —
/// not unspecified (`0.0.0.0` means "detect" and must be resolved first), link-local or
/// multicast. Mirrors `ValidateAPIEndpoint` + `ChooseAPIServerBindAddress`.
pub fn validate_advertise_address(s: &str) -> Result<(), String> {
    crate::config::validate_values::refuse_unexpanded(s)?;
    let ip: IpAddr = s.parse().map_err(|_| {
        "is not a valid IP address (expected e.g. 192.168.1.10 or 2001:db8::10)".to_string()
    })?;
    crate::config::validate_values::refuse_loopback(ip)?;
    let kind = match ip {
        IpAddr::V4(v) if v.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(v) if v.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(v) if v.is_link_local() => Some("a link-local address"),
        IpAddr::V4(v) if v.is_multicast() => Some("a multicast address"),
        IpAddr::V6(v) if v.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(v) if v.is_multicast() => Some("a multicast address"),
        IpAddr::V6(v) if (v.segments()[0] & 0xffc0) == 0xfe80 => Some("a link-local address"),
        _ => None,
    };
    match kind {
        Some(kind) => Err(format!(
            "is {kind}, which cannot be used as the API server address; use an address of this host's network"
        )),
        None => Ok(()),
    }
}

/// A TCP port 1–65535. Mirrors `ValidatePort`.
pub fn validate_bind_port(port: i32) -> Result<(), String> {
    crate::config::validate_values::refuse_reserved_port(port)?;
    if (1..=65535).contains(&port) {
        Ok(())
    } else {
        Err("is not a valid port number (1-65535)".into())
    }
}

/// A subnet list: one CIDR, or two (one IPv4 and one IPv6) comma-separated, each holding at
/// least `min_addresses` addresses. Mirrors `ValidateIPNetFromString`.
pub fn validate_subnets(value: &str, min_addresses: u128) -> Result<Vec<IpNet>, String> {
    crate::config::validate_values::refuse_unexpanded(value)?;
    let nets = parse_subnets(value)?;
    if nets.len() > 2 {
        return Err("expected one CIDR or two (one IPv4 and one IPv6) separated by a comma".into());
    }
    if nets.len() == 2 && nets[0].addr().is_ipv4() == nets[1].addr().is_ipv4() {
        return Err("a dual-stack value needs exactly one IPv4 and one IPv6 CIDR".into());
    }
    for (n, entry) in nets.iter().zip(value.split(',').map(str::trim)) {
        let bits = n.max_prefix_len() - n.prefix_len();
        let size = if bits >= 127 {
            u128::MAX
        } else {
            1u128 << bits
        };
        if size < min_addresses {
            return Err(format!(
                "{entry:?} has {size} addresses, fewer than the minimum {min_addresses}"
            ));
        }
    }
    Ok(nets)
}

/// `networking.serviceSubnet`: at least 10 addresses; at most 20 host bits for IPv4 (mask
/// ≥ /12) and mask ≥ /108 for IPv6. Mirrors `ValidateServiceSubnetSize`.
pub fn validate_service_subnet(value: &str) -> Result<(), String> {
    let nets = validate_subnets(value, 10)?;
    for (n, entry) in nets.iter().zip(value.split(',').map(str::trim)) {
        let (min_mask, fam) = if n.addr().is_ipv4() {
            (12, "IPv4")
        } else {
            (108, "IPv6")
        };
        if n.prefix_len() < min_mask {
            return Err(format!(
                "{entry:?} is too large: an {fam} service subnet needs a mask of at least /{min_mask}"
            ));
        }
    }
    Ok(())
}

/// Node CIDR mask sizes (IPv4, IPv6) from controller-manager extraArgs
/// `node-cidr-mask-size-ipv4` / `-ipv6` (last one wins), default 24 and 64; the legacy
/// `node-cidr-mask-size` is ignored as kubeadm does. Mirrors `getClusterNodeMask`.
pub fn node_cidr_mask_sizes(args: &[Arg]) -> Result<(u8, u8), String> {
    let get = |name: &str, default: u8, max: u8| -> Result<u8, String> {
        match args.iter().rev().find(|a| a.name == name) {
            Some(a) if !a.value.is_empty() => match a.value.parse::<u8>() {
                Ok(v) if v <= max => Ok(v),
                _ => Err(format!(
                    "controllerManager.extraArgs {name}={:?} is not an integer from 0 to {max}",
                    a.value
                )),
            },
            _ => Ok(default),
        }
    };
    Ok((
        get("node-cidr-mask-size-ipv4", 24, 32)?,
        get("node-cidr-mask-size-ipv6", 64, 128)?,
    ))
}

/// `networking.podSubnet`: dual-stack rules, at least 14 addresses, room for at least one node
/// block of `node_mask` (IPv4, IPv6) and at most 16 bits between the two, and no overlap
/// with `service_subnet` (kubestrap's own rule; kubeadm does not check it).
pub fn validate_pod_subnet(
    value: &str,
    service_subnet: &str,
    node_mask: (u8, u8),
) -> Result<(), String> {
    let nets = validate_subnets(value, 14)?;
    for (n, entry) in nets.iter().zip(value.split(',').map(str::trim)) {
        let mask = if n.addr().is_ipv4() {
            node_mask.0
        } else {
            node_mask.1
        };
        if mask < n.prefix_len() {
            return Err(format!(
                "{entry:?} is smaller than one node block (/{mask}); use a larger subnet or a larger node-cidr-mask-size"
            ));
        }
        if mask - n.prefix_len() > 16 {
            return Err(format!(
                "{entry:?} and node mask /{mask} differ by more than 16 bits; use a smaller subnet or a smaller node mask"
            ));
        }
    }
    check_overlap(value, service_subnet)
}

/// The advertise address `adv` must have the family of the first subnet of
/// `service_subnet` (the kubernetes Service's ClusterIP family); unparsable inputs pass
/// (their own checks report them). Errors name both families.
pub fn validate_advertise_family(adv: &str, service_subnet: &str) -> Result<(), String> {
    let (Ok(ip), Ok(nets)) = (adv.parse::<IpAddr>(), parse_subnets(service_subnet)) else {
        return Ok(());
    };
    match nets.first() {
        Some(first) if ip.is_ipv4() != first.addr().is_ipv4() => Err(format!(
            "is {} but the first service subnet {first} is not; the kubernetes Service would not reach the API server (list the subnet of the advertise address family first)",
            if ip.is_ipv4() { "IPv4" } else { "IPv6" }
        )),
        _ => Ok(()),
    }
}

/// `apiServer.certSANs` as one comma-separated text (the wizard's field, the joined
/// `--apiserver-cert-extra-sans` list): empty text means no SANs; otherwise every entry,
/// trimmed, must pass [`validate_cert_san`] — an empty entry (`foo,,bar`) is refused.
/// Errors name the entry.
pub fn validate_cert_san_list(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Ok(());
    }
    for e in s.split(',').map(str::trim) {
        if e.is_empty() {
            return Err("has an empty entry; remove the extra comma".into());
        }
        // A list of one names no entry: the value is the entry.
        validate_cert_san(e).map_err(|m| {
            if e == s.trim() {
                m
            } else {
                format!("entry {e:?} {m}")
            }
        })?;
    }
    Ok(())
}

/// `networking.dnsDomain`: a lower-case RFC 1123 subdomain. A label over 63 characters, or a
/// name over 253, is named as such.
pub fn validate_dns_domain(s: &str) -> Result<(), String> {
    crate::config::validate_values::refuse_unexpanded(s)?;
    if is_dns1123_subdomain(s) {
        return Ok(());
    }
    if s.len() > 253 {
        return Err(format!(
            "is {} characters long; a DNS name has at most 253",
            s.len()
        ));
    }
    if let Some(l) = s.split('.').find(|l| l.len() > 63) {
        return Err(format!(
            "has a label of {} characters; a DNS label has at most 63",
            l.len()
        ));
    }
    Err(SUBDOMAIN_RULE.into())
}

/// A certificate SAN: an IP, a DNS name, or a DNS name with one leading `*.` wildcard.
pub fn validate_cert_san(s: &str) -> Result<(), String> {
    crate::config::validate_values::refuse_unexpanded(s)?;
    if s.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let name = s.strip_prefix("*.").unwrap_or(s);
    if is_dns1123_subdomain(name) {
        Ok(())
    } else {
        Err(
            "is not an IP address, a DNS name, or a DNS name with a single leading '*.' wildcard"
                .into(),
        )
    }
}

/// `controlPlaneEndpoint`: `host[:port]` where host is an IP or a lower-case DNS name and
/// port 1–65535; IPv6 with a port needs brackets.
pub fn validate_control_plane_endpoint(s: &str) -> Result<(), String> {
    crate::config::validate_values::refuse_unexpanded(s)?;
    let (host, _port) = split_host_port(s)?;
    if host.parse::<IpAddr>().is_ok() || is_dns1123_subdomain(&host) {
        Ok(())
    } else if host == s {
        Err("is not an IP address or a lower-case DNS name".into())
    } else {
        Err(format!(
            "host {host:?} is not an IP address or a lower-case DNS name"
        ))
    }
}

/// The advertise address must be an address of one of this machine's interfaces (`facts`):
/// etcd listens on it (`--listen-peer-urls`, `--listen-client-urls`), the kubelet registers
/// it, and other nodes join through it; an address of another machine makes etcd exit at
/// start. Unparsable addresses, and hosts whose interfaces are unknown, pass (their own
/// rules report them). kubeadm does not check this (etcd fails after its 4-minute wait).
/// `Err` names the addresses this machine has.
pub fn validate_advertise_on_host(adv: &str, facts: &HostFacts) -> Result<(), String> {
    let Ok(ip) = adv.trim().parse::<IpAddr>() else {
        return Ok(());
    };
    if facts.interfaces.is_empty() || facts.interfaces.iter().any(|i| i.addr == ip) {
        return Ok(());
    }
    let mut have: Vec<String> = facts
        .interfaces
        .iter()
        .filter(|i| !i.addr.is_loopback())
        .map(|i| format!("{} ({})", i.addr, i.interface))
        .collect();
    have.truncate(6);
    Err(format!(
        "is not an address of any interface of this machine (it has {}); etcd and the API server could not listen on it",
        if have.is_empty() {
            "loopback only".to_string()
        } else {
            have.join(", ")
        }
    ))
}

/// [`validate_advertise_on_host`] for an init configuration: an error when `real_run` (a run
/// that changes this machine: not `--dry-run`, not under `--root`), a warning otherwise (a
/// dry run, or a file checked for another machine). `None` when the address is on this host.
pub fn advertise_on_host_problem(
    cfg: &InitConfig,
    facts: &HostFacts,
    real_run: bool,
) -> Option<FieldError> {
    let adv = &cfg.init.local_api_endpoint.advertise_address;
    validate_advertise_on_host(adv, facts)
        .err()
        .map(|rule| FieldError {
            path: "localAPIEndpoint.advertiseAddress".into(),
            value: adv.clone(),
            rule: if real_run {
                rule
            } else {
                format!("{rule} (a real init refuses it)")
            },
            line: None,
            warning: !real_run,
        })
}
