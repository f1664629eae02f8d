//! Network helpers shared by validation, certificates, manifests and addons:
//! subnet lists (`v4,v6` dual-stack pairs), the n-th address of a subnet, and
//! `host:port` formatting with IPv6 brackets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Parses a comma-separated subnet list as kubeadm's `networking.*Subnet` fields hold it
/// (`10.96.0.0/12` or `10.96.0.0/12,fd00::/108`). Errors name the entry that does not parse.
pub fn parse_subnets(value: &str) -> Result<Vec<IpNet>, String> {
    value
        .split(',')
        .map(|s| s.trim())
        .map(|s| {
            s.parse::<IpNet>()
                .map_err(|_| format!("{s:?} is not a CIDR (expected e.g. 10.96.0.0/12)"))
        })
        .collect()
}

/// The `n`-th address of `net` counting the network address as 0 (so `n = 1` is the first
/// usable address, `n = 10` kube-dns's). `None` when the subnet is too small.
///
/// Mirrors kubeadm's `GetIndexedIP` (`cmd/kubeadm/app/constants`).
pub fn nth_ip(net: &IpNet, n: u128) -> Option<IpAddr> {
    match net {
        IpNet::V4(v4) => {
            let base = u32::from(v4.network()) as u128;
            let size = 1u128 << (32 - v4.prefix_len());
            (n < size).then(|| IpAddr::V4(Ipv4Addr::from((base + n) as u32)))
        }
        IpNet::V6(v6) => {
            let base = u128::from(v6.network());
            let bits = 128 - v6.prefix_len() as u32;
            let fits = bits >= 128 || n < (1u128 << bits);
            fits.then(|| IpAddr::V6(Ipv6Addr::from(base.wrapping_add(n))))
        }
    }
}

/// The first address of the first subnet in a `networking.serviceSubnet` value: the
/// `kubernetes` Service's ClusterIP and an apiserver certificate SAN (`10.96.0.1`).
pub fn apiserver_service_ip(service_subnet: &str) -> Result<IpAddr, String> {
    let nets = parse_subnets(service_subnet)?;
    let first = nets
        .first()
        .ok_or_else(|| "empty service subnet".to_string())?;
    nth_ip(first, 1).ok_or_else(|| format!("service subnet {first} has no first address"))
}

/// The 10th address of the first service subnet: kube-dns's ClusterIP and the kubelet's
/// `clusterDNS` (`10.96.0.10`).
pub fn dns_service_ip(service_subnet: &str) -> Result<IpAddr, String> {
    let nets = parse_subnets(service_subnet)?;
    let first = nets
        .first()
        .ok_or_else(|| "empty service subnet".to_string())?;
    nth_ip(first, 10).ok_or_else(|| format!("service subnet {first} has fewer than 10 addresses"))
}

/// `host:port`, with the host in brackets when it is an IPv6 address (`[2001:db8::10]:6443`).
pub fn join_host_port(host: &str, port: u16) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<Ipv6Addr>().is_ok() {
        format!("[{bare}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `https://host:port` with IPv6 brackets.
pub fn https_url(host: &str, port: u16) -> String {
    format!("https://{}", join_host_port(host, port))
}

/// Splits a controlPlaneEndpoint-style `host[:port]` into host (without brackets) and port.
/// Errors when the port is not a number in 1–65535 or an IPv6 address with a port lacks brackets.
pub fn split_host_port(endpoint: &str) -> Result<(String, Option<u16>), String> {
    if let Some((scheme, rest)) = endpoint.split_once("://") {
        return Err(format!(
            "{endpoint:?}: write host:port without the {scheme}:// scheme, e.g. {:?}",
            rest.trim_end_matches('/')
        ));
    }
    if let Some(rest) = endpoint.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{endpoint:?}: missing ']'"))?;
        return match after {
            "" => Ok((host.to_string(), None)),
            p if p.starts_with(':') => Ok((host.to_string(), Some(parse_port(&p[1..], endpoint)?))),
            _ => Err(format!("{endpoint:?}: unexpected text after ']'")),
        };
    }
    if endpoint.parse::<Ipv6Addr>().is_ok() {
        return Ok((endpoint.to_string(), None));
    }
    match endpoint.rsplit_once(':') {
        Some((host, port)) => {
            if host.contains(':') {
                return Err(format!(
                    "{endpoint:?}: an IPv6 address with a port needs brackets, e.g. [2001:db8::10]:6443"
                ));
            }
            Ok((host.to_string(), Some(parse_port(port, endpoint)?)))
        }
        None => Ok((endpoint.to_string(), None)),
    }
}

fn parse_port(p: &str, endpoint: &str) -> Result<u16, String> {
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(format!(
            "{endpoint:?}: port {p:?} is not a number from 1 to 65535"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_rejected_for_its_scheme_not_as_ipv6() {
        let e = split_host_port("https://cp.example.com:6443/").unwrap_err();
        assert_eq!(
            e,
            "\"https://cp.example.com:6443/\": write host:port without the https:// scheme, e.g. \"cp.example.com:6443\""
        );
        assert!(
            !split_host_port("http://10.0.0.1:6443")
                .unwrap_err()
                .contains("IPv6")
        );
    }

    #[test]
    fn indexed_ips_match_kubeadm() {
        assert_eq!(
            apiserver_service_ip("10.96.0.0/12").unwrap().to_string(),
            "10.96.0.1"
        );
        assert_eq!(
            dns_service_ip("10.96.0.0/12").unwrap().to_string(),
            "10.96.0.10"
        );
        assert_eq!(
            dns_service_ip("192.168.0.0/16").unwrap().to_string(),
            "192.168.0.10"
        );
        assert_eq!(
            dns_service_ip("fd00:10:96::/112").unwrap().to_string(),
            "fd00:10:96::a"
        );
        assert_eq!(
            apiserver_service_ip("10.96.0.0/12,fd00::/108")
                .unwrap()
                .to_string(),
            "10.96.0.1"
        );
    }

    #[test]
    fn brackets_ipv6() {
        assert_eq!(join_host_port("2001:db8::10", 6443), "[2001:db8::10]:6443");
        assert_eq!(join_host_port("10.0.0.1", 6443), "10.0.0.1:6443");
        assert_eq!(
            split_host_port("[2001:db7::1]:8081").unwrap(),
            ("2001:db7::1".into(), Some(8081))
        );
        assert_eq!(
            split_host_port("cp.k8s.io").unwrap(),
            ("cp.k8s.io".into(), None)
        );
        assert!(split_host_port("1.2.3.4:0").is_err());
        assert!(split_host_port("2001:db7:1").is_err());
    }
}
