//! kubeadm's certificate list as data: name, file, signing CA, subject, usages and a SAN
//! rule per certificate, plus the kubeconfig client identities.
//!
//! Mirrors `app/phases/certs/certlist.go` and `app/phases/kubeconfig/kubeconfig.go`
//! (init reference §3 and §4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::{InitConfig, net};

use super::PkiError;

/// What a certificate is for: decides basicConstraints, keyUsage and extKeyUsage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A self-signed CA: keyCertSign + digitalSignature + keyEncipherment, CA:TRUE.
    Ca,
    /// serverAuth only.
    Server,
    /// clientAuth only.
    Client,
    /// serverAuth + clientAuth (etcd server and peer).
    ServerClient,
}

/// Which SAN rule a certificate follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanRule {
    None,
    /// DNS = the CA's common name (kubeadm's CAs carry their CN as DNS SAN).
    CommonName,
    ApiServer,
    EtcdServer,
    EtcdPeer,
}

/// The common name of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommonName {
    Fixed(&'static str),
    /// `nodeRegistration.name`.
    NodeName,
}

/// One row of kubeadm's certificate table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertSpec {
    /// kubeadm's base name and file stem under the certificates dir: `apiserver`, `etcd/server`.
    pub name: &'static str,
    /// Sub-phase name of `certs`: `apiserver`, `etcd-server`.
    pub subphase: &'static str,
    /// One line for `--help` and the TUI.
    pub description: &'static str,
    /// Base name of the signing CA; `None` for a self-signed CA.
    pub ca: Option<&'static str>,
    pub common_name: CommonName,
    pub organizations: &'static [&'static str],
    pub usage: Usage,
    pub sans: SanRule,
}

/// Every certificate `kubeadm init` issues, in sub-phase order (CAs before their leaves).
pub const CERTS: &[CertSpec] = &[
    CertSpec {
        name: "ca",
        subphase: "ca",
        description: "Generate the self-signed Kubernetes CA to provision identities for other Kubernetes components",
        ca: None,
        common_name: CommonName::Fixed("kubernetes"),
        organizations: &[],
        usage: Usage::Ca,
        sans: SanRule::CommonName,
    },
    CertSpec {
        name: "apiserver",
        subphase: "apiserver",
        description: "Generate the certificate for serving the Kubernetes API",
        ca: Some("ca"),
        common_name: CommonName::Fixed("kube-apiserver"),
        organizations: &[],
        usage: Usage::Server,
        sans: SanRule::ApiServer,
    },
    CertSpec {
        name: "apiserver-kubelet-client",
        subphase: "apiserver-kubelet-client",
        description: "Generate the certificate for the API server to connect to kubelet",
        ca: Some("ca"),
        common_name: CommonName::Fixed("kube-apiserver-kubelet-client"),
        // Up to v1.35; see CertSpec::orgs.
        organizations: &["kubeadm:cluster-admins"],
        usage: Usage::Client,
        sans: SanRule::None,
    },
    CertSpec {
        name: "front-proxy-ca",
        subphase: "front-proxy-ca",
        description: "Generate the self-signed CA to provision identities for front proxy",
        ca: None,
        common_name: CommonName::Fixed("front-proxy-ca"),
        organizations: &[],
        usage: Usage::Ca,
        sans: SanRule::CommonName,
    },
    CertSpec {
        name: "front-proxy-client",
        subphase: "front-proxy-client",
        description: "Generate the certificate for the front proxy client",
        ca: Some("front-proxy-ca"),
        common_name: CommonName::Fixed("front-proxy-client"),
        organizations: &[],
        usage: Usage::Client,
        sans: SanRule::None,
    },
    CertSpec {
        name: "etcd/ca",
        subphase: "etcd-ca",
        description: "Generate the self-signed CA to provision identities for etcd",
        ca: None,
        common_name: CommonName::Fixed("etcd-ca"),
        organizations: &[],
        usage: Usage::Ca,
        sans: SanRule::CommonName,
    },
    CertSpec {
        name: "etcd/server",
        subphase: "etcd-server",
        description: "Generate the certificate for serving etcd",
        ca: Some("etcd/ca"),
        common_name: CommonName::NodeName,
        organizations: &[],
        usage: Usage::ServerClient,
        sans: SanRule::EtcdServer,
    },
    CertSpec {
        name: "etcd/peer",
        subphase: "etcd-peer",
        description: "Generate the certificate for etcd nodes to communicate with each other",
        ca: Some("etcd/ca"),
        common_name: CommonName::NodeName,
        organizations: &[],
        usage: Usage::ServerClient,
        sans: SanRule::EtcdPeer,
    },
    CertSpec {
        name: "etcd/healthcheck-client",
        subphase: "etcd-healthcheck-client",
        description: "Generate the certificate for liveness probes to healthcheck etcd",
        ca: Some("etcd/ca"),
        common_name: CommonName::Fixed("kube-etcd-healthcheck-client"),
        organizations: &[],
        usage: Usage::Client,
        sans: SanRule::None,
    },
    CertSpec {
        name: "apiserver-etcd-client",
        subphase: "apiserver-etcd-client",
        description: "Generate the certificate the apiserver uses to access etcd",
        ca: Some("etcd/ca"),
        common_name: CommonName::Fixed("kube-apiserver-etcd-client"),
        organizations: &[],
        usage: Usage::Client,
        sans: SanRule::None,
    },
];

impl CertSpec {
    /// The certificate's organizations for `cfg`'s version: from v1.36 the
    /// apiserver-kubelet-client certificate has none (it is authorised through the
    /// `kubeadm:apiserver-kubelet-client` ClusterRoleBinding instead;
    /// cmd/kubeadm/app/phases/certs/certlist.go).
    pub fn orgs(&self, cfg: &InitConfig) -> &'static [&'static str] {
        if self.name == "apiserver-kubelet-client"
            && crate::config::versions::minor_of(&cfg.cluster.kubernetes_version) >= 36
        {
            return &[];
        }
        self.organizations
    }

    /// True for rows that exist only with a local (stacked) etcd.
    pub fn is_etcd(&self) -> bool {
        self.name.starts_with("etcd/") || self.name == "apiserver-etcd-client"
    }

    /// The common name for `cfg`.
    pub fn cn(&self, cfg: &InitConfig) -> String {
        match self.common_name {
            CommonName::Fixed(s) => s.to_string(),
            CommonName::NodeName => cfg.init.node_registration.name.clone(),
        }
    }

    /// The SANs this certificate must carry for `cfg`. Errors name the config field that
    /// does not parse (service subnet, advertise address, controlPlaneEndpoint).
    pub fn expected_sans(&self, cfg: &InitConfig) -> Result<Sans, PkiError> {
        match self.sans {
            SanRule::None => Ok(Sans::default()),
            SanRule::CommonName => Ok(Sans::new(vec![self.cn(cfg)], vec![])),
            SanRule::ApiServer => apiserver_sans(cfg),
            SanRule::EtcdServer | SanRule::EtcdPeer => {
                let local = cfg.cluster.etcd.local.as_ref();
                let extra = match (self.sans, local) {
                    (SanRule::EtcdServer, Some(l)) => l.server_cert_sans.as_slice(),
                    (SanRule::EtcdPeer, Some(l)) => l.peer_cert_sans.as_slice(),
                    _ => &[],
                };
                etcd_sans(cfg, extra)
            }
        }
    }
}

/// The certificate rows for `cfg`: the etcd rows are dropped for external etcd.
pub fn cert_list(cfg: &InitConfig) -> Vec<&'static CertSpec> {
    let local_etcd = cfg.cluster.etcd.external.is_none();
    CERTS
        .iter()
        .filter(|c| local_etcd || !c.is_etcd())
        .collect()
}

/// Finds a row by base name (`etcd/ca`).
pub fn by_name(name: &str) -> Option<&'static CertSpec> {
    CERTS.iter().find(|c| c.name == name)
}

/// Subject Alternative Names: DNS names (lower-cased, unique) and IPs (unique, in order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sans {
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
}

impl Sans {
    /// Lower-cases and de-duplicates `dns` (keeping first occurrence) and de-duplicates `ips`.
    pub fn new(dns: Vec<String>, ips: Vec<IpAddr>) -> Self {
        let mut s = Sans::default();
        for d in dns {
            let d = d.to_ascii_lowercase();
            if !s.dns.contains(&d) {
                s.dns.push(d);
            }
        }
        for ip in ips {
            if !s.ips.contains(&ip) {
                s.ips.push(ip);
            }
        }
        s
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.dns.is_empty() && self.ips.is_empty()
    }

    /// All SANs as strings, DNS names first (for events).
    pub fn to_strings(&self) -> Vec<String> {
        self.dns
            .iter()
            .cloned()
            .chain(self.ips.iter().map(|i| i.to_string()))
            .collect()
    }
}

fn advertise_ip(cfg: &InitConfig) -> Result<IpAddr, PkiError> {
    let a = &cfg.init.local_api_endpoint.advertise_address;
    a.parse::<IpAddr>().map_err(|_| PkiError::Config {
        field: "localAPIEndpoint.advertiseAddress",
        value: a.clone(),
        rule: "must be an IPv4 or IPv6 address".into(),
    })
}

/// True for a DNS-1123 subdomain, optionally with a leading `*.` wildcard label.
fn is_dns_name(s: &str) -> bool {
    crate::config::validate::is_dns1123_subdomain(s.strip_prefix("*.").unwrap_or(s))
}

/// apiserver SANs: DNS node name, kubernetes, kubernetes.default, kubernetes.default.svc,
/// kubernetes.default.svc.<dnsDomain>, the controlPlaneEndpoint host when a name, DNS
/// certSANs (sorted, unique); IPs: first IP of the first service subnet, advertise address,
/// controlPlaneEndpoint host when an IP, IP certSANs (unique, in order). Invalid certSANs
/// are dropped (kubeadm warns). Mirrors `GetAPIServerAltNames` in `pki_helpers.go`.
pub fn apiserver_sans(cfg: &InitConfig) -> Result<Sans, PkiError> {
    let c = &cfg.cluster;
    let svc_ip = net::apiserver_service_ip(&c.networking.service_subnet).map_err(|rule| {
        PkiError::Config {
            field: "networking.serviceSubnet",
            value: c.networking.service_subnet.clone(),
            rule,
        }
    })?;
    let mut dns = vec![
        cfg.init.node_registration.name.clone(),
        "kubernetes".into(),
        "kubernetes.default".into(),
        "kubernetes.default.svc".into(),
        format!("kubernetes.default.svc.{}", c.networking.dns_domain),
    ];
    let mut ips = vec![svc_ip, advertise_ip(cfg)?];
    if !c.control_plane_endpoint.is_empty() {
        let (host, _) =
            net::split_host_port(&c.control_plane_endpoint).map_err(|rule| PkiError::Config {
                field: "controlPlaneEndpoint",
                value: c.control_plane_endpoint.clone(),
                rule,
            })?;
        match host.parse::<IpAddr>() {
            Ok(ip) => ips.push(ip),
            Err(_) => dns.push(host),
        }
    }
    for san in &c.api_server.cert_sans {
        let san = san.trim();
        if let Ok(ip) = san.parse::<IpAddr>() {
            ips.push(ip);
        } else if is_dns_name(&san.to_ascii_lowercase()) {
            dns.push(san.to_string());
        }
    }
    let mut sans = Sans::new(dns, ips);
    sans.dns.sort();
    Ok(sans)
}

/// The `apiServer.certSANs` entries that are neither an IP nor a DNS-1123 name (kubeadm
/// drops them with a warning).
pub fn invalid_cert_sans(cfg: &InitConfig) -> Vec<String> {
    cfg.cluster
        .api_server
        .cert_sans
        .iter()
        .filter(|s| {
            let s = s.trim();
            s.parse::<IpAddr>().is_err() && !is_dns_name(&s.to_ascii_lowercase())
        })
        .cloned()
        .collect()
}

/// etcd server/peer SANs: DNS node name, `localhost`; IP advertise address, 127.0.0.1, ::1;
/// plus the given extra SANs. Mirrors `GetEtcdAltNames` / `GetEtcdPeerAltNames`.
pub fn etcd_sans(cfg: &InitConfig, extra: &[String]) -> Result<Sans, PkiError> {
    let mut dns = vec![cfg.init.node_registration.name.clone(), "localhost".into()];
    let mut ips = vec![
        advertise_ip(cfg)?,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    for san in extra {
        let san = san.trim();
        if let Ok(ip) = san.parse::<IpAddr>() {
            ips.push(ip);
        } else if is_dns_name(&san.to_ascii_lowercase()) {
            dns.push(san.to_string());
        }
    }
    let mut sans = Sans::new(dns, ips);
    sans.dns.sort();
    Ok(sans)
}

/// Where a kubeconfig's server URL comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// controlPlaneEndpoint when set, else the local advertise address.
    ControlPlaneEndpoint,
    /// `https://<advertiseAddress>:<bindPort>`.
    Local,
    /// Local when the `ControlPlaneKubeletLocalMode` gate is on (default ≥1.33), else CPE.
    KubeletMode,
}

/// One kubeconfig file of the `kubeconfig` phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeconfigSpec {
    /// Sub-phase name: `admin`, `super-admin`, `kubelet`, `controller-manager`, `scheduler`.
    pub subphase: &'static str,
    /// File name under /etc/kubernetes.
    pub file: &'static str,
    pub description: &'static str,
    /// Client CN; `None` = `system:node:<nodeName>`.
    pub cn: Option<&'static str>,
    pub organizations: &'static [&'static str],
    pub server: ServerKind,
}

/// The kubeconfig files in sub-phase order (init reference §4).
pub const KUBECONFIGS: &[KubeconfigSpec] = &[
    KubeconfigSpec {
        subphase: "admin",
        file: "admin.conf",
        description: "Generate a kubeconfig file for the admin to use and for kubeadm itself",
        cn: Some("kubernetes-admin"),
        organizations: &["kubeadm:cluster-admins"],
        server: ServerKind::ControlPlaneEndpoint,
    },
    KubeconfigSpec {
        subphase: "super-admin",
        file: "super-admin.conf",
        description: "Generate a kubeconfig file for the super-admin",
        cn: Some("kubernetes-super-admin"),
        organizations: &["system:masters"],
        server: ServerKind::ControlPlaneEndpoint,
    },
    KubeconfigSpec {
        subphase: "kubelet",
        file: "kubelet.conf",
        description: "Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes",
        cn: None,
        organizations: &["system:nodes"],
        server: ServerKind::KubeletMode,
    },
    KubeconfigSpec {
        subphase: "controller-manager",
        file: "controller-manager.conf",
        description: "Generate a kubeconfig file for the controller manager to use",
        cn: Some("system:kube-controller-manager"),
        organizations: &[],
        server: ServerKind::Local,
    },
    KubeconfigSpec {
        subphase: "scheduler",
        file: "scheduler.conf",
        description: "Generate a kubeconfig file for the scheduler to use",
        cn: Some("system:kube-scheduler"),
        organizations: &[],
        server: ServerKind::Local,
    },
];

impl KubeconfigSpec {
    /// The client certificate CN (= kubeconfig user name) for `cfg`.
    pub fn user(&self, cfg: &InitConfig) -> String {
        match self.cn {
            Some(cn) => cn.to_string(),
            None => format!("system:node:{}", cfg.init.node_registration.name),
        }
    }

    /// The server URL for `cfg`. Errors name the field that does not parse.
    pub fn server_url(&self, cfg: &InitConfig) -> Result<String, PkiError> {
        let local = local_url(cfg)?;
        match self.server {
            ServerKind::Local => Ok(local),
            ServerKind::ControlPlaneEndpoint => cpe_url(cfg),
            ServerKind::KubeletMode => {
                if kubelet_local_mode(cfg) {
                    Ok(local)
                } else {
                    cpe_url(cfg)
                }
            }
        }
    }
}

fn bind_port(cfg: &InitConfig) -> u16 {
    u16::try_from(cfg.init.local_api_endpoint.bind_port)
        .ok()
        .filter(|p| *p != 0)
        .unwrap_or(6443)
}

/// `https://<advertiseAddress>:<bindPort>` with IPv6 brackets.
pub fn local_url(cfg: &InitConfig) -> Result<String, PkiError> {
    let ip = advertise_ip(cfg)?;
    Ok(net::https_url(&ip.to_string(), bind_port(cfg)))
}

/// The controlPlaneEndpoint URL (`https://host:port`, port defaulting to bindPort), or the
/// local URL when no endpoint is set. Mirrors `GetControlPlaneEndpoint` (`app/util/endpoint.go`).
pub fn cpe_url(cfg: &InitConfig) -> Result<String, PkiError> {
    let cpe = &cfg.cluster.control_plane_endpoint;
    if cpe.is_empty() {
        return local_url(cfg);
    }
    let (host, port) = net::split_host_port(cpe).map_err(|rule| PkiError::Config {
        field: "controlPlaneEndpoint",
        value: cpe.clone(),
        rule,
    })?;
    Ok(net::https_url(&host, port.unwrap_or(bind_port(cfg))))
}

/// Whether kubelet.conf points at the local API server: the `ControlPlaneKubeletLocalMode`
/// feature gate, on by default in v1.34 (an explicit featureGates entry wins) and always on
/// from v1.35, where the gate went GA (cmd/kubeadm/app/cmd/phases/init/kubeconfig.go).
pub fn kubelet_local_mode(cfg: &InitConfig) -> bool {
    if crate::config::versions::minor_of(&cfg.cluster.kubernetes_version) >= 35 {
        return true;
    }
    cfg.cluster
        .feature_gates
        .get("ControlPlaneKubeletLocalMode")
        .copied()
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::defaults::example_init_config;

    #[test]
    fn apiserver_sans_match_reference_facts() {
        let cfg = example_init_config("v1.36.3");
        let s = apiserver_sans(&cfg).unwrap();
        assert_eq!(
            s.dns,
            [
                "cp1",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local"
            ]
        );
        assert_eq!(s.to_strings()[5..], ["10.96.0.1", "192.168.1.10"]);
    }

    #[test]
    fn cpe_and_certsans_are_added_once_lower_cased() {
        let mut cfg = example_init_config("v1.36.3");
        cfg.cluster.control_plane_endpoint = "LB.Example:8443".into();
        cfg.cluster.api_server.cert_sans = vec![
            "lb.example".into(),
            "10.0.0.5".into(),
            "192.168.1.10".into(),
            "bad_name!".into(),
        ];
        let s = apiserver_sans(&cfg).unwrap();
        assert_eq!(s.dns.iter().filter(|d| *d == "lb.example").count(), 1);
        assert!(!s.dns.iter().any(|d| d.contains('!')));
        assert_eq!(
            s.to_strings()[6..],
            ["10.96.0.1", "192.168.1.10", "10.0.0.5"]
        );
        assert_eq!(cpe_url(&cfg).unwrap(), "https://LB.Example:8443");
    }

    #[test]
    fn ipv6_urls_are_bracketed() {
        let mut cfg = example_init_config("v1.36.3");
        cfg.init.local_api_endpoint.advertise_address = "2001:db8::10".into();
        assert_eq!(local_url(&cfg).unwrap(), "https://[2001:db8::10]:6443");
        let kcm = KUBECONFIGS[3];
        cfg.cluster.control_plane_endpoint = "lb.example:8443".into();
        assert_eq!(kcm.server_url(&cfg).unwrap(), "https://[2001:db8::10]:6443");
    }
}
