//! Real host facts: hostname, CPUs, memory (sysinfo), euid, interface addresses
//! (getifaddrs), the default route (`/proc/net/route`, `/proc/net/ipv6_route`, read through
//! the root prefix) and the kernel release.
//!
//! Mirrors kubeadm's `ChooseHostInterface` (`k8s.io/apimachinery/pkg/util/net/interface.go`):
//! the advertise address is the first global-unicast address of the interface that carries
//! the IPv4 default route, else the IPv6 one.

use std::net::IpAddr;

use super::{HostFacts, InterfaceAddr};

/// Total memory in MiB from `sysinfo(2)` (`totalram × mem_unit ÷ 1024 ÷ 1024`, as kubeadm's
/// `Mem` check). Returns 0 when the call fails.
pub fn memory_mib() -> u64 {
    // SAFETY: sysinfo only writes into the zeroed struct we pass.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::sysinfo(&mut info) };
    if rc != 0 {
        return 0;
    }
    (info.totalram as u64).saturating_mul(info.mem_unit as u64) / 1024 / 1024
}

/// Every address of every interface that is up (loopback included), from getifaddrs.
pub fn interfaces() -> Vec<InterfaceAddr> {
    let Ok(iter) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ifa in iter {
        if !ifa.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP) {
            continue;
        }
        let Some(addr) = ifa.address.as_ref() else {
            continue;
        };
        let (ip, prefix) = if let Some(v4) = addr.as_sockaddr_in() {
            let mask = ifa
                .netmask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in().map(|m| u32::from(m.ip()).count_ones()))
                .unwrap_or(32);
            (IpAddr::V4(v4.ip()), mask as u8)
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            let mask = ifa
                .netmask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in6().map(|m| u128::from(m.ip()).count_ones()))
                .unwrap_or(128);
            (IpAddr::V6(v6.ip()), mask as u8)
        } else {
            continue;
        };
        out.push(InterfaceAddr {
            interface: ifa.interface_name.clone(),
            addr: ip,
            prefix_len: prefix,
        });
    }
    out
}

/// Name of the interface carrying the IPv4 default route in a `/proc/net/route` text
/// (destination `00000000`, mask `00000000`, flag RTF_UP|RTF_GATEWAY); the lowest metric wins.
pub fn default_route_iface_v4(proc_net_route: &str) -> Option<String> {
    let mut best: Option<(u32, String)> = None;
    for line in proc_net_route.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let flags = u32::from_str_radix(f[3], 16).unwrap_or(0);
        if f[1] != "00000000" || f[7] != "00000000" || flags & 0x1 == 0 {
            continue;
        }
        let metric = f[6].parse::<u32>().unwrap_or(u32::MAX);
        if best.as_ref().is_none_or(|(m, _)| metric < *m) {
            best = Some((metric, f[0].to_string()));
        }
    }
    best.map(|(_, i)| i)
}

/// Name of the interface carrying the IPv6 default route in a `/proc/net/ipv6_route` text
/// (destination `::/0`, not the loopback `lo` reject route); the lowest metric wins.
pub fn default_route_iface_v6(proc_net_ipv6_route: &str) -> Option<String> {
    let mut best: Option<(u32, String)> = None;
    for line in proc_net_ipv6_route.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        if f[0] != "00000000000000000000000000000000" || f[1] != "00" || f[9] == "lo" {
            continue;
        }
        let flags = u32::from_str_radix(f[8], 16).unwrap_or(0);
        if flags & 0x1 == 0 {
            continue;
        }
        let metric = u32::from_str_radix(f[5], 16).unwrap_or(u32::MAX);
        if best.as_ref().is_none_or(|(m, _)| metric < *m) {
            best = Some((metric, f[9].to_string()));
        }
    }
    best.map(|(_, i)| i)
}

fn is_global_unicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// kubeadm's suggested advertise address: the first global-unicast IPv4 address of the
/// IPv4 default-route interface, else the first global-unicast IPv6 address of the IPv6
/// default-route interface. Takes the two route tables' texts (`None` when unreadable).
pub fn default_route_addr(
    interfaces: &[InterfaceAddr],
    route_v4: Option<&str>,
    route_v6: Option<&str>,
) -> Option<IpAddr> {
    if let Some(iface) = route_v4.and_then(default_route_iface_v4)
        && let Some(a) = interfaces
            .iter()
            .find(|a| a.interface == iface && a.addr.is_ipv4() && is_global_unicast(&a.addr))
    {
        return Some(a.addr);
    }
    if let Some(iface) = route_v6.and_then(default_route_iface_v6)
        && let Some(a) = interfaces
            .iter()
            .find(|a| a.interface == iface && a.addr.is_ipv6() && is_global_unicast(&a.addr))
    {
        return Some(a.addr);
    }
    None
}

/// Collects the facts of the real machine; the route tables are given by the caller (read
/// through the host's root prefix).
pub fn collect(route_v4: Option<&str>, route_v6: Option<&str>) -> HostFacts {
    let interfaces = interfaces();
    let default_route_addr = default_route_addr(&interfaces, route_v4, route_v6);
    HostFacts {
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_mib: memory_mib(),
        euid: nix::unistd::geteuid().as_raw(),
        interfaces,
        default_route_addr,
        kernel_release: nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth1\t00000000\t010200C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

    #[test]
    fn picks_lowest_metric_default_route() {
        assert_eq!(default_route_iface_v4(ROUTE).as_deref(), Some("eth0"));
        let ifs = vec![
            InterfaceAddr {
                interface: "eth0".into(),
                addr: "fe80::1".parse().unwrap(),
                prefix_len: 64,
            },
            InterfaceAddr {
                interface: "eth0".into(),
                addr: "192.0.2.5".parse().unwrap(),
                prefix_len: 24,
            },
            InterfaceAddr {
                interface: "eth1".into(),
                addr: "10.0.0.5".parse().unwrap(),
                prefix_len: 8,
            },
        ];
        assert_eq!(
            default_route_addr(&ifs, Some(ROUTE), None),
            Some("192.0.2.5".parse().unwrap())
        );
    }

    #[test]
    fn ipv6_default_route() {
        let r6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo\n";
        assert_eq!(default_route_iface_v6(r6).as_deref(), Some("eth0"));
        let ifs = vec![InterfaceAddr {
            interface: "eth0".into(),
            addr: "2001:db8::5".parse().unwrap(),
            prefix_len: 64,
        }];
        assert_eq!(
            default_route_addr(&ifs, None, Some(r6)),
            Some("2001:db8::5".parse().unwrap())
        );
    }

    #[test]
    fn real_facts_are_plausible() {
        let f = collect(None, None);
        assert!(f.cpus >= 1);
        assert!(f.memory_mib > 0);
        assert!(!f.kernel_release.is_empty());
        assert!(f.interfaces.iter().any(|i| i.addr.is_loopback()));
    }
}
