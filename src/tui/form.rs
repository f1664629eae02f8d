//! The wizard's typed form model: one text value per field, per-field validation (pure
//! functions returning the message shown under the field), and the conversion of the
//! answers into an [`InitConfig`] with the source of every value.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::net::parse_subnets;
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

pub use crate::config::validate::is_dns1123_subdomain;

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// True for the fields whose help gives a default: left empty, they take it, as an empty
/// field of a configuration file does ([`default_for`]).
pub fn has_default(f: FieldId) -> bool {
    matches!(
        f,
        FieldId::Advertise
            | FieldId::BindPort
            | FieldId::ServiceSubnet
            | FieldId::DnsDomain
            | FieldId::Version
            | FieldId::NodeName
            | FieldId::ImageRepo
            | FieldId::KeyAlgo
    )
}

/// The value an empty field takes, as the file loader defaults an empty field: the
/// default-route address, 6443, 10.96.0.0/12, cluster.local, the newest carried version, the
/// host name in lower case, registry.k8s.io, RSA-2048. `None` when the field has no default
/// ([`has_default`]) or the machine has nothing to take it from (no default route, no host
/// name).
pub fn default_for(f: FieldId, facts: &HostFacts) -> Option<String> {
    use crate::config::defaults as d;
    match f {
        FieldId::Advertise => facts.default_route_addr.map(|ip| ip.to_string()),
        FieldId::BindPort => Some("6443".into()),
        FieldId::ServiceSubnet => Some(d::DEFAULT_SERVICE_SUBNET.into()),
        FieldId::DnsDomain => Some(d::DEFAULT_DNS_DOMAIN.into()),
        FieldId::Version => Some(crate::config::versions::default_version()),
        FieldId::NodeName => {
            let h = facts.hostname.trim().to_lowercase();
            (!h.is_empty()).then_some(h)
        }
        FieldId::ImageRepo => Some(d::DEFAULT_IMAGE_REPOSITORY.into()),
        FieldId::KeyAlgo => Some(d::DEFAULT_ENCRYPTION_ALGORITHM.into()),
        _ => None,
    }
}

/// The service subnet the other fields are checked against: the typed one, or the default.
fn service_subnet_or_default(a: &Answers) -> &str {
    match a.service_subnet.trim() {
        "" => crate::config::defaults::DEFAULT_SERVICE_SUBNET,
        s => s,
    }
}

/// Validates one field against the answers; `Err` is the message shown under the field,
/// naming the field, the value and the rule. Mirrors kubeadm's `ValidateInitConfiguration`
/// / `ValidateClusterConfiguration` rules for these fields. An empty field with a default
/// ([`has_default`]) passes: it takes the default ([`to_config`]).
pub fn validate_field(a: &Answers, f: FieldId) -> Result<(), String> {
    use crate::config::validate as cv;
    let v = a.get(f).trim();
    let label = crate::tui::strings::label(f);
    if v.is_empty() && has_default(f) {
        return Ok(());
    }
    // The same rules as the flags and the config file (src/config/validate.rs).
    let res = match f {
        FieldId::Advertise => cv::validate_advertise_address(v)
            .and_then(|()| cv::validate_advertise_family(v, service_subnet_or_default(a))),
        FieldId::BindPort => v
            .parse::<i32>()
            .map_err(|_| "is not a valid port number (1-65535)".to_string())
            .and_then(cv::validate_bind_port),
        FieldId::Endpoint if v.is_empty() => Ok(()),
        FieldId::Endpoint => cv::validate_control_plane_endpoint(v),
        FieldId::PodSubnet if v.is_empty() => Ok(()),
        FieldId::PodSubnet => {
            let svc = service_subnet_or_default(a);
            // the wizard has no controller-manager args: kubeadm's default node masks
            cv::validate_pod_subnet(v, svc, (24, 64))
        }
        FieldId::ServiceSubnet => cv::validate_service_subnet(v),
        FieldId::DnsDomain => cv::validate_dns_domain(v),
        FieldId::Version => cv::validate_kubernetes_version(v),
        FieldId::NodeName => cv::validate_node_name(v),
        FieldId::ImageRepo => cv::validate_image_repository(v),
        FieldId::CriSocket => cv::validate_cri_socket(v),
        FieldId::CertSans => cv::validate_cert_san_list(v),
        FieldId::KeyAlgo => cv::validate_encryption_algorithm(v),
    };
    res.map_err(|e| format!("{label} {}", cv::value_and_rule(v, &e)))
}

/// A warning (not an error) for a field: the pod subnet overlapping a host network or having
/// room for one node, a frozen image repository, a Kubernetes version with a patch newer than
/// kubestrap knows (as `config validate` warns), or the advertise address not being on this
/// machine or not the default-route address (it then becomes the node-ip). Worded as
/// [`validate_field`]'s errors: the field's label, its value once, the rule.
pub fn field_warning(a: &Answers, f: FieldId, facts: &HostFacts) -> Option<String> {
    let v = a.get(f).trim();
    let rule = match f {
        FieldId::PodSubnet => pod_subnet_warning(v, facts),
        FieldId::ImageRepo => crate::config::validate_values::image_repository_warning(v),
        FieldId::Version => crate::config::validate::kubernetes_version_warning(v),
        FieldId::Advertise => match crate::config::validate::validate_advertise_on_host(v, facts) {
            Err(e) => Some(format!("{e}; a dry run goes on, a real init refuses it")),
            Ok(()) => node_ip(a, facts).map(|_| {
                "is not the default-route address; it also becomes the kubelet's node-ip"
                    .to_string()
            }),
        },
        _ => None,
    }?;
    Some(format!(
        "{} {}",
        crate::tui::strings::label(f),
        crate::config::validate::value_and_rule(v, &rule)
    ))
}

/// The pod subnet's warning rule: an entry overlapping a host network, else room for one node.
fn pod_subnet_warning(v: &str, facts: &HostFacts) -> Option<String> {
    let pods = parse_subnets(v).ok()?;
    for (p, entry) in pods.iter().zip(v.split(',').map(str::trim)) {
        for i in &facts.interfaces {
            let Ok(host_net) = IpNet::new(i.addr, i.prefix_len) else {
                continue;
            };
            if overlaps(p, &host_net.trunc()) {
                return Some(format!(
                    "{entry:?} overlaps {} on {} ({}): pod traffic may be misrouted",
                    host_net.trunc(),
                    i.interface,
                    i.addr
                ));
            }
        }
    }
    crate::config::validate_values::pod_subnet_one_node(v, (24, 64))
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
/// Empty fields with a default take it ([`default_for`]), as in a configuration file.
/// Errors: the first field error, as [`validate_field`] words it, else the first error of
/// the whole configuration (`config::validate::validate_init`, e.g. a file's feature gate that
/// the chosen version does not know).
pub fn to_config(a: &Answers, base: &InitConfig, facts: &HostFacts) -> Result<InitConfig, String> {
    let all: Vec<FieldId> = NETWORK_FIELDS
        .iter()
        .chain(CLUSTER_FIELDS)
        .copied()
        .collect();
    // Empty fields take their defaults, as in a configuration file.
    let mut filled = a.clone();
    for f in &all {
        if a.get(*f).trim().is_empty() && has_default(*f) {
            match default_for(*f, facts) {
                Some(v) => filled.set(*f, v),
                None => {
                    return Err(format!(
                        "{} is empty and this machine has no {} to take it from; type one",
                        crate::tui::strings::label(*f),
                        if *f == FieldId::NodeName {
                            "host name"
                        } else {
                            "default route"
                        }
                    ));
                }
            }
        }
    }
    let a = &filled;
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
    // The whole configuration through the same rules as `config validate`: an answer can make
    // a value from the file invalid (a feature gate the chosen version's kubeadm dropped).
    if let Some(e) = crate::config::validate::validate_init(&cfg, facts)
        .into_iter()
        .find(|e| !e.warning)
    {
        return Err(e.to_string());
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
