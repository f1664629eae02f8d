//! The wizard's typed form model: one text value per field, per-field validation (pure
//! functions returning the message shown under the field), and the conversion of the
//! answers into an [`InitConfig`] with the source of every value.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::net::{parse_subnets, split_host_port};
use crate::config::versions::KubeVersion;
use crate::config::{Arg, InitConfig, Source};
use crate::host::HostFacts;

/// The fields of the Network and Cluster screens, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldId {
    Advertise,
    BindPort,
    Endpoint,
    PodSubnet,
    ServiceSubnet,
    DnsDomain,
    Version,
    NodeName,
    ImageRepo,
    CriSocket,
    CertSans,
    KeyAlgo,
}

/// Network screen fields in order.
pub const NETWORK_FIELDS: &[FieldId] = &[
    FieldId::Advertise,
    FieldId::BindPort,
    FieldId::Endpoint,
    FieldId::PodSubnet,
    FieldId::ServiceSubnet,
    FieldId::DnsDomain,
];

/// Cluster screen fields in order.
pub const CLUSTER_FIELDS: &[FieldId] = &[
    FieldId::Version,
    FieldId::NodeName,
    FieldId::ImageRepo,
    FieldId::CriSocket,
    FieldId::CertSans,
    FieldId::KeyAlgo,
];

/// Pod-subnet presets for common CNI plugins: (label, subnet).
pub const CNI_PRESETS: &[(&str, &str)] = &[
    ("Flannel", "10.244.0.0/16"),
    ("Calico", "192.168.0.0/16"),
    ("Cilium", "10.0.0.0/16"),
];

/// `encryptionAlgorithm` values kubeadm v1beta4 accepts.
pub const KEY_ALGORITHMS: &[&str] = &[
    "RSA-2048",
    "RSA-3072",
    "RSA-4096",
    "ECDSA-P256",
    "ECDSA-P384",
];

/// CRI sockets kubeadm probes for, in its order.
pub const CRI_SOCKETS: &[&str] = &[
    "unix:///var/run/containerd/containerd.sock",
    "unix:///var/run/crio/crio.sock",
    "unix:///var/run/cri-dockerd.sock",
];

/// The wizard's answers as typed text, plus what was detected on the host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answers {
    pub advertise: String,
    pub bind_port: String,
    pub endpoint: String,
    pub pod_subnet: String,
    pub service_subnet: String,
    pub dns_domain: String,
    pub version: String,
    pub node_name: String,
    pub image_repo: String,
    pub cri_socket: String,
    pub cert_sans: String,
    pub key_algo: String,
    /// The apiserver extra args, in order (a later entry wins; duplicates are kept).
    pub extra_args: Vec<Arg>,
}

impl Answers {
    /// The answers a configuration implies (the starting point of the form).
    pub fn from_config(cfg: &InitConfig) -> Self {
        let port = cfg.init.local_api_endpoint.bind_port;
        Answers {
            advertise: cfg.init.local_api_endpoint.advertise_address.clone(),
            bind_port: if port == 0 {
                "6443".into()
            } else {
                port.to_string()
            },
            endpoint: cfg.cluster.control_plane_endpoint.clone(),
            pod_subnet: cfg.cluster.networking.pod_subnet.clone(),
            service_subnet: cfg.cluster.networking.service_subnet.clone(),
            dns_domain: cfg.cluster.networking.dns_domain.clone(),
            version: cfg.cluster.kubernetes_version.clone(),
            node_name: cfg.init.node_registration.name.clone(),
            image_repo: cfg.cluster.image_repository.clone(),
            cri_socket: cfg.init.node_registration.cri_socket.clone(),
            cert_sans: cfg.cluster.api_server.cert_sans.join(","),
            key_algo: cfg.cluster.encryption_algorithm.clone(),
            extra_args: cfg.cluster.api_server.extra_args.clone(),
        }
    }

    /// The text of one field.
    pub fn get(&self, f: FieldId) -> &str {
        match f {
            FieldId::Advertise => &self.advertise,
            FieldId::BindPort => &self.bind_port,
            FieldId::Endpoint => &self.endpoint,
            FieldId::PodSubnet => &self.pod_subnet,
            FieldId::ServiceSubnet => &self.service_subnet,
            FieldId::DnsDomain => &self.dns_domain,
            FieldId::Version => &self.version,
            FieldId::NodeName => &self.node_name,
            FieldId::ImageRepo => &self.image_repo,
            FieldId::CriSocket => &self.cri_socket,
            FieldId::CertSans => &self.cert_sans,
            FieldId::KeyAlgo => &self.key_algo,
        }
    }

    /// Sets the text of one field.
    pub fn set(&mut self, f: FieldId, v: String) {
        let slot = match f {
            FieldId::Advertise => &mut self.advertise,
            FieldId::BindPort => &mut self.bind_port,
            FieldId::Endpoint => &mut self.endpoint,
            FieldId::PodSubnet => &mut self.pod_subnet,
            FieldId::ServiceSubnet => &mut self.service_subnet,
            FieldId::DnsDomain => &mut self.dns_domain,
            FieldId::Version => &mut self.version,
            FieldId::NodeName => &mut self.node_name,
            FieldId::ImageRepo => &mut self.image_repo,
            FieldId::CriSocket => &mut self.cri_socket,
            FieldId::CertSans => &mut self.cert_sans,
            FieldId::KeyAlgo => &mut self.key_algo,
        };
        *slot = v;
    }
}

/// True for a DNS-1123 subdomain (lower-case alphanumerics, `-` and `.`, at most 253
/// characters, each label starting and ending with an alphanumeric).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn check_subnets(label: &str, v: &str) -> Result<Vec<IpNet>, String> {
    let nets = parse_subnets(v).map_err(|e| format!("{label}: {e}"))?;
    if nets.len() > 2 {
        return Err(format!(
            "{label} {v:?} has {} entries; give one CIDR or a dual-stack pair (IPv4,IPv6)",
            nets.len()
        ));
    }
    if nets.len() == 2 && nets[0].addr().is_ipv4() == nets[1].addr().is_ipv4() {
        return Err(format!(
            "{label} {v:?}: a dual-stack pair needs one IPv4 and one IPv6 CIDR"
        ));
    }
    for n in &nets {
        if n.trunc() != *n {
            return Err(format!(
                "{label}: {n} has host bits set; the network is {}",
                n.trunc()
            ));
        }
    }
    Ok(nets)
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Validates one field against the answers; `Err` is the message shown under the field,
/// naming the field, the value and the rule. Mirrors kubeadm's `ValidateInitConfiguration`
/// / `ValidateClusterConfiguration` rules for these fields.
pub fn validate_field(a: &Answers, f: FieldId) -> Result<(), String> {
    let v = a.get(f).trim();
    match f {
        FieldId::Advertise => {
            let ip: IpAddr = v.parse().map_err(|_| {
                format!(
                    "Advertise address {v:?} is not an IP address (e.g. 192.0.2.10 or 2001:db8::10)"
                )
            })?;
            if ip.is_unspecified() {
                return Err(format!(
                    "Advertise address {v} is unspecified; pick an address of this machine"
                ));
            }
            if ip.is_loopback() {
                return Err(format!(
                    "Advertise address {v} is a loopback address; other nodes could not reach it"
                ));
            }
            if ip.is_multicast() {
                return Err(format!("Advertise address {v} is a multicast address"));
            }
            // The kubernetes Service gets the first service subnet's family; kubeadm (and
            // `config validate`) reject an advertise address of the other family.
            if let Some(first) = parse_subnets(a.service_subnet.trim())
                .ok()
                .and_then(|n| n.first().copied())
            {
                if first.addr().is_ipv4() != ip.is_ipv4() {
                    let (fam, other) = if ip.is_ipv4() {
                        ("IPv4", "IPv6")
                    } else {
                        ("IPv6", "IPv4")
                    };
                    return Err(format!(
                        "Advertise address {v} is {fam} but the first service subnet {first} is {other}; list the {fam} service subnet first or pick an {other} address"
                    ));
                }
            }
            Ok(())
        }
        FieldId::BindPort => match v.parse::<u32>() {
            Ok(p) if (1..=65535).contains(&p) => Ok(()),
            _ => Err(format!(
                "Bind port {v:?} is not a port number from 1 to 65535"
            )),
        },
        FieldId::Endpoint => {
            if v.is_empty() {
                return Ok(());
            }
            let (host, _) =
                split_host_port(v).map_err(|e| format!("Control-plane endpoint {e}"))?;
            if host.parse::<IpAddr>().is_ok() || is_dns1123_subdomain(&host) {
                Ok(())
            } else {
                Err(format!(
                    "Control-plane endpoint host {host:?} is neither an IP address nor a DNS name (lower case, e.g. cp.example.com)"
                ))
            }
        }
        FieldId::PodSubnet => {
            if v.is_empty() {
                return Ok(());
            }
            let pods = check_subnets("Pod subnet", v)?;
            if let Ok(svcs) = parse_subnets(a.service_subnet.trim()) {
                for p in &pods {
                    for s in &svcs {
                        if overlaps(p, s) {
                            return Err(format!(
                                "Pod subnet {p} overlaps the service subnet {s}; pick ranges that do not intersect"
                            ));
                        }
                    }
                }
            }
            Ok(())
        }
        FieldId::ServiceSubnet => {
            let nets = check_subnets("Service subnet", v)?;
            for n in nets {
                let (max_bits, host_bits) = match n {
                    IpNet::V4(x) => (20, 32 - x.prefix_len() as u32),
                    IpNet::V6(x) => (20, 128 - x.prefix_len() as u32),
                };
                if host_bits > max_bits {
                    let min = if n.addr().is_ipv4() { 12 } else { 108 };
                    return Err(format!(
                        "Service subnet {n} is too large: the prefix must be /{min} or longer (at most 2^20 service IPs)"
                    ));
                }
            }
            Ok(())
        }
        FieldId::DnsDomain => {
            if is_dns1123_subdomain(v) {
                Ok(())
            } else {
                Err(format!(
                    "DNS domain {v:?} is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', e.g. cluster.local)"
                ))
            }
        }
        FieldId::Version => {
            let kv = KubeVersion::parse(v).map_err(|e| format!("Kubernetes version {e}"))?;
            if kv.info().is_none() {
                return Err(format!(
                    "Kubernetes version {kv} is not supported; kubestrap carries {}",
                    crate::config::versions::supported_range()
                ));
            }
            Ok(())
        }
        FieldId::NodeName => {
            if is_dns1123_subdomain(v) {
                Ok(())
            } else {
                Err(format!(
                    "Node name {v:?} is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.')"
                ))
            }
        }
        FieldId::ImageRepo => {
            if v.is_empty() {
                Err("Image repository is empty; the default is registry.k8s.io".into())
            } else if v.contains("://") {
                Err(format!(
                    "Image repository {v:?} must not have a scheme; write e.g. registry.example.com/k8s"
                ))
            } else if v
                .chars()
                .any(|c| c.is_whitespace() || c.is_ascii_uppercase())
            {
                Err(format!(
                    "Image repository {v:?} may hold only lower-case letters, digits, '.', '-', '_', ':' and '/'"
                ))
            } else {
                Ok(())
            }
        }
        FieldId::CriSocket => {
            if v.starts_with("unix:///") && v.len() > 8 {
                Ok(())
            } else if v.starts_with('/') {
                Err(format!(
                    "CRI socket {v:?} needs the unix:// scheme: unix://{v}"
                ))
            } else {
                Err(format!(
                    "CRI socket {v:?} is not a unix socket URL (e.g. unix:///var/run/containerd/containerd.sock)"
                ))
            }
        }
        FieldId::CertSans => {
            for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let name = s.strip_prefix("*.").unwrap_or(s);
                if s.parse::<IpAddr>().is_err() && !is_dns1123_subdomain(name) {
                    return Err(format!(
                        "Certificate SAN {s:?} is neither an IP address nor a DNS name"
                    ));
                }
            }
            Ok(())
        }
        FieldId::KeyAlgo => {
            if KEY_ALGORITHMS.contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "Key algorithm {v:?} is not one of {}",
                    KEY_ALGORITHMS.join(", ")
                ))
            }
        }
    }
}

/// A warning (not an error) for a field: the pod subnet overlapping a host network, or the
/// advertise address not being the default-route address (it then becomes the node-ip).
pub fn field_warning(a: &Answers, f: FieldId, facts: &HostFacts) -> Option<String> {
    match f {
        FieldId::PodSubnet => {
            let pods = parse_subnets(a.pod_subnet.trim()).ok()?;
            for p in &pods {
                for i in &facts.interfaces {
                    let Ok(host_net) = IpNet::new(i.addr, i.prefix_len) else {
                        continue;
                    };
                    if overlaps(p, &host_net.trunc()) {
                        return Some(format!(
                            "Pod subnet {p} overlaps {} on {} ({}): pod traffic may be misrouted",
                            host_net.trunc(),
                            i.interface,
                            i.addr
                        ));
                    }
                }
            }
            None
        }
        FieldId::Advertise => node_ip(a, facts).map(|ip| {
            format!("{ip} is not the default-route address; it also becomes the kubelet's node-ip")
        }),
        _ => None,
    }
}

/// The kubelet `node-ip` the wizard adds: the advertise address when the host has several
/// addresses and it is not the default-route address (otherwise the kubelet would register
/// the default-route address and the API server would be unreachable on it).
pub fn node_ip(a: &Answers, facts: &HostFacts) -> Option<IpAddr> {
    let ip: IpAddr = a.advertise.trim().parse().ok()?;
    let dr = facts.default_route_addr?;
    (ip != dr).then_some(ip)
}

/// Errors of every field of `fields`, in order.
pub fn validate_fields(a: &Answers, fields: &[FieldId]) -> Vec<(FieldId, String)> {
    fields
        .iter()
        .filter_map(|f| validate_field(a, *f).err().map(|e| (*f, e)))
        .collect()
}

/// The config field path (as in [`InitConfig::sources`]) of a form field.
pub fn source_key(f: FieldId) -> &'static str {
    match f {
        FieldId::Advertise => "localAPIEndpoint.advertiseAddress",
        FieldId::BindPort => "localAPIEndpoint.bindPort",
        FieldId::Endpoint => "controlPlaneEndpoint",
        FieldId::PodSubnet => "networking.podSubnet",
        FieldId::ServiceSubnet => "networking.serviceSubnet",
        FieldId::DnsDomain => "networking.dnsDomain",
        FieldId::Version => "kubernetesVersion",
        FieldId::NodeName => "nodeRegistration.name",
        FieldId::ImageRepo => "imageRepository",
        FieldId::CriSocket => "nodeRegistration.criSocket",
        FieldId::CertSans => "apiServer.certSANs",
        FieldId::KeyAlgo => "encryptionAlgorithm",
    }
}

/// Applies the (valid) answers on top of `base`: fields whose text differs from what
/// `base` implies get [`Source::Typed`]; the node-ip rule adds `kubeletExtraArgs node-ip`.
/// Errors: the first field error, as [`validate_field`] words it.
pub fn to_config(a: &Answers, base: &InitConfig, facts: &HostFacts) -> Result<InitConfig, String> {
    let all: Vec<FieldId> = NETWORK_FIELDS
        .iter()
        .chain(CLUSTER_FIELDS)
        .copied()
        .collect();
    if let Some((_, e)) = validate_fields(a, &all).into_iter().next() {
        return Err(e);
    }
    let orig = Answers::from_config(base);
    let mut cfg = base.clone();
    for f in &all {
        if orig.get(*f).trim() != a.get(*f).trim() {
            cfg.sources.insert(source_key(*f).into(), Source::Typed);
        }
    }
    if orig.extra_args != a.extra_args {
        cfg.sources
            .insert("apiServer.extraArgs".into(), Source::Typed);
    }
    let t = |s: &str| s.trim().to_string();
    cfg.init.local_api_endpoint.advertise_address = t(&a.advertise);
    cfg.init.local_api_endpoint.bind_port = a.bind_port.trim().parse().unwrap_or(6443);
    cfg.cluster.control_plane_endpoint = t(&a.endpoint);
    cfg.cluster.networking.pod_subnet = t(&a.pod_subnet).replace(' ', "");
    cfg.cluster.networking.service_subnet = t(&a.service_subnet).replace(' ', "");
    cfg.cluster.networking.dns_domain = t(&a.dns_domain);
    cfg.cluster.kubernetes_version = KubeVersion::parse(a.version.trim())
        .map(|v| v.to_string())
        .unwrap_or_else(|_| t(&a.version));
    cfg.init.node_registration.name = t(&a.node_name);
    cfg.cluster.image_repository = t(&a.image_repo);
    cfg.init.node_registration.cri_socket = t(&a.cri_socket);
    cfg.cluster.api_server.cert_sans = a
        .cert_sans
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    cfg.cluster.encryption_algorithm = t(&a.key_algo);
    cfg.cluster.api_server.extra_args = a.extra_args.clone();
    let kargs = &mut cfg.init.node_registration.kubelet_extra_args;
    kargs.retain(|x| x.name != "node-ip");
    if let Some(ip) = node_ip(a, facts) {
        kargs.push(Arg {
            name: "node-ip".into(),
            value: ip.to_string(),
        });
        cfg.sources
            .insert("nodeRegistration.kubeletExtraArgs".into(), Source::Typed);
    }
    Ok(cfg)
}

/// The next value of a field's choice list after `current` (wrapping): detected addresses
/// for the advertise address, CNI presets for the pod subnet, supported versions, CRI
/// sockets and key algorithms. `None` for free-text fields.
pub fn next_choice(f: FieldId, current: &str, facts: &HostFacts) -> Option<String> {
    let list: Vec<String> = match f {
        FieldId::Advertise => facts
            .interfaces
            .iter()
            .filter(|i| usable_address(&i.addr))
            .map(|i| i.addr.to_string())
            .collect(),
        FieldId::PodSubnet => CNI_PRESETS.iter().map(|(_, s)| s.to_string()).collect(),
        FieldId::Version => crate::config::versions::SUPPORTED
            .iter()
            .rev()
            .map(|v| format!("v1.{}.{}", v.minor, v.latest_patch))
            .collect(),
        FieldId::CriSocket => CRI_SOCKETS.iter().map(|s| s.to_string()).collect(),
        FieldId::KeyAlgo => KEY_ALGORITHMS.iter().map(|s| s.to_string()).collect(),
        _ => return None,
    };
    if list.is_empty() {
        return None;
    }
    let pos = list.iter().position(|x| x == current.trim());
    Some(match pos {
        Some(i) => list[(i + 1) % list.len()].clone(),
        None => list[0].clone(),
    })
}

/// True for an address other nodes could reach: not loopback, not IPv6 link-local.
pub fn usable_address(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local(),
        IpAddr::V6(v6) => !v6.is_loopback() && (v6.segments()[0] & 0xffc0) != 0xfe80,
    }
}

/// The CNI preset name matching a pod subnet, if any.
pub fn cni_for(pod_subnet: &str) -> Option<&'static str> {
    CNI_PRESETS
        .iter()
        .find(|(_, s)| *s == pod_subnet.trim())
        .map(|(n, _)| *n)
}
