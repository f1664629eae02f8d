//! File and HTTPS discovery: a kubeconfig from a file or an `https://` URL, inspected and then
//! refreshed from cluster-info.

use super::*;

/// The cluster of a cluster-info kubeconfig: the unnamed cluster `""` first, else the current
/// context's cluster. Returns (server, CA PEM bytes).
pub fn cluster_of(kc: &Kubeconfig) -> Result<(String, Vec<u8>), String> {
    let named = kc.clusters.iter().find(|c| c.name.is_empty()).or_else(|| {
        let ctx = kc.current_context.as_deref()?;
        let cluster = &kc
            .contexts
            .iter()
            .find(|c| c.name == ctx)?
            .context
            .as_ref()?
            .cluster;
        kc.clusters.iter().find(|c| &c.name == cluster)
    });
    let named = named
        .or_else(|| {
            if kc.clusters.len() == 1 {
                kc.clusters.first()
            } else {
                None
            }
        })
        .ok_or("it has no unnamed cluster and no current context naming a cluster")?;
    let c = named.cluster.as_ref().ok_or("its cluster entry is empty")?;
    let server = c.server.clone().ok_or("its cluster has no server")?;
    let ca = c
        .certificate_authority_data
        .as_deref()
        .ok_or("its cluster has no certificate-authority-data")?;
    let ca = B64
        .decode(ca.trim())
        .map_err(|e| format!("certificate-authority-data is not base64: {e}"))?;
    Ok((server, ca))
}

pub(super) fn subject_of(ca_pem: &[u8]) -> String {
    pem::parse_many(ca_pem)
        .ok()
        .and_then(|blocks| {
            blocks
                .into_iter()
                .find(|b| b.tag() == "CERTIFICATE")
                .and_then(|b| {
                    x509_parser::parse_x509_certificate(b.contents())
                        .ok()
                        .map(|(_, c)| c.subject().to_string())
                })
        })
        .unwrap_or_default()
}

/// A parsed discovery kubeconfig with its cluster's server and CA.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub kubeconfig: Kubeconfig,
    /// Server URL of the cluster.
    pub server: String,
    /// CA bundle (PEM).
    pub ca_pem: Vec<u8>,
    /// `sha256:` pin per CA certificate.
    pub ca_pins: Vec<String>,
    /// Subject of the first CA certificate.
    pub ca_subject: String,
}

/// Parses a cluster-info/discovery kubeconfig and computes its CA pins and subject.
/// Errors: [`DiscoveryError::BadKubeconfig`] naming what is missing or malformed.
pub fn inspect_kubeconfig(yaml: &str) -> Result<Inspected, DiscoveryError> {
    let kc =
        Kubeconfig::from_yaml(yaml).map_err(|e| DiscoveryError::BadKubeconfig(e.to_string()))?;
    let (server, ca) = cluster_of(&kc).map_err(DiscoveryError::BadKubeconfig)?;
    let pins = crate::pki::ca_pins_from_pem(&ca)
        .map_err(|e| DiscoveryError::BadKubeconfig(format!("its CA: {e}")))?;
    let subject = subject_of(&ca);
    Ok(Inspected {
        kubeconfig: kc,
        server,
        ca_pem: ca,
        ca_pins: pins,
        ca_subject: subject,
    })
}

/// Settings of file or HTTPS discovery.
#[derive(Debug, Clone)]
pub struct FileDiscoveryOpts {
    /// A kubeconfig path or an `https://` URL.
    pub location: String,
    /// The discovery timeout.
    pub timeout: Duration,
    /// Interval between attempts.
    pub retry_interval: Duration,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

/// File / HTTPS discovery (`app/discovery/file`, `app/discovery/https`): reads the kubeconfig
/// (file, or an HTTPS GET verified with the system trust store), then polls cluster-info with
/// the file's CA: a 403 is accepted as is ("TLS certificate is valid"), a parsed cluster-info
/// refreshes the CA when the file has none and a different server is reported.
///
/// Errors: unreadable file/URL, a kubeconfig without a usable cluster, and the last polling
/// error after the timeout.
pub async fn discover_file(
    opts: &FileDiscoveryOpts,
    events: &EventSink,
) -> Result<Discovered, DiscoveryError> {
    let mut requests = 0;
    let text = if opts.location.starts_with("https://") {
        requests += 1;
        let client = reqwest::Client::builder()
            .user_agent(concat!("kubestrap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(tls_err)?;
        let resp = client
            .get(&opts.location)
            .timeout(opts.request_timeout)
            .send()
            .await
            .map_err(|e| {
                DiscoveryError::File(format!(
                    "cannot fetch {}: {}",
                    opts.location,
                    transport_reason(&e, opts.request_timeout)
                ))
            })?;
        if resp.status().as_u16() != 200 {
            return Err(DiscoveryError::File(format!(
                "{} answered {}",
                opts.location,
                resp.status()
            )));
        }
        resp.text()
            .await
            .map_err(|e| DiscoveryError::File(format!("cannot read {}: {e}", opts.location)))?
    } else {
        std::fs::read_to_string(&opts.location).map_err(|e| {
            DiscoveryError::File(format!(
                "cannot read --discovery-file {}: {e}",
                opts.location
            ))
        })?
    };
    let kc = Kubeconfig::from_yaml(&text)
        .map_err(|e| DiscoveryError::File(format!("{} is not a kubeconfig: {e}", opts.location)))?;
    let (server, ca_pem) =
        cluster_of(&kc).map_err(|e| DiscoveryError::File(format!("{}: {e}", opts.location)))?;
    let endpoint = server
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    let url = format!("{server}{CLUSTER_INFO_PATH}");
    let client = client_trusting(&ca_pem)?;
    events.log(
        PHASE,
        format!(
            "Using the kubeconfig from {} to reach {server}",
            opts.location
        ),
    );
    let data = poll(
        events,
        "discovery",
        &url,
        opts.timeout,
        opts.retry_interval,
        opts.request_timeout,
        |rt| {
            requests += 1;
            let client = &client;
            let endpoint = &endpoint;
            async move {
                match fetch_cluster_info(client, endpoint, rt).await {
                    Ok(d) => Ok(Some(d)),
                    Err(DiscoveryError::Http { status: 403, .. }) => Ok(None),
                    Err(e) => Err((e, true)),
                }
            }
        },
    )
    .await?;
    if data.is_none() {
        events.log(PHASE, "cluster-info is not readable, but the API server's TLS certificate is valid; proceeding");
    }
    if let Some(ci) = data.as_ref().and_then(|d| d.get("kubeconfig"))
        && let Ok(Inspected {
            server: ci_server, ..
        }) = inspect_kubeconfig(ci)
        && ci_server != server
    {
        events.warn(
            PHASE,
            format!("the server in cluster-info ({ci_server}) differs from the one in {} ({server}); using the file's", opts.location),
        );
    }
    let ca_pins = crate::pki::ca_pins_from_pem(&ca_pem)
        .map_err(|e| DiscoveryError::File(format!("{}: its CA: {e}", opts.location)))?;
    Ok(Discovered {
        ca_subject: subject_of(&ca_pem),
        kubeconfig_yaml: text,
        kubeconfig: kc,
        server,
        ca_pem,
        ca_pins,
        pinned: true,
        requests,
    })
}
