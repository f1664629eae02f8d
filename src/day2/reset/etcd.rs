//! reset's `remove-etcd-member` against etcd: kubeadm's `RemoveStackedEtcdMemberFromCluster`
//! (`app/phases/etcd/local.go`) with `etcdctl`, and where the other members are when this
//! node's own etcd does not answer.

use std::path::Path;

use super::{KUBERNETES_DIR, Out};
use crate::config::InitConfig;
use crate::host::Host;

/// The client URLs of the other etcd members this node knows without its own etcd: the
/// `--initial-cluster` peers of `/etc/kubernetes/manifests/etcd.yaml` (name=peer URL, the
/// client URL being the same host on 2379, as kubeadm writes both) other than `own_peer`,
/// then `cluster` (found through the API), without duplicates and without `own_client`.
/// A missing or unreadable manifest gives only `cluster`.
pub fn other_etcd_endpoints(
    host: &dyn Host,
    own_peer: &str,
    own_client: &str,
    cluster: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let manifest = Path::new(KUBERNETES_DIR).join("manifests/etcd.yaml");
    let text = host
        .read(&manifest)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let pod: Option<k8s_openapi::api::core::v1::Pod> = serde_yaml::from_str(&text).ok();
    let args = pod
        .and_then(|p| p.spec)
        .map(|s| s.containers)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.name == "etcd")
        .flat_map(|c| {
            c.command
                .unwrap_or_default()
                .into_iter()
                .chain(c.args.unwrap_or_default())
        });
    for a in args {
        let Some(list) = a.strip_prefix("--initial-cluster=") else {
            continue;
        };
        for entry in list.split(',') {
            let Some((_, peer)) = entry.split_once('=') else {
                continue;
            };
            let peer = peer.trim();
            if peer == own_peer {
                continue;
            }
            if let Some(base) = peer.strip_suffix(":2380") {
                out.push(format!("{base}:2379"));
            }
        }
    }
    out.extend(cluster.iter().cloned());
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|u| u != own_client && seen.insert(u.clone()));
    out
}

/// Removes this node's member from a stacked etcd cluster as kubeadm's
/// `RemoveStackedEtcdMemberFromCluster` does, with `etcdctl` (TLS with
/// `<pki>/etcd/ca.crt` and `healthcheck-client`): the last member is left alone; the member
/// whose first peer URL is `https://<advertise>:2380` is removed; none is fine. The members
/// are listed through this node's etcd, and when it does not answer (stopped, broken) through
/// the other members ([`other_etcd_endpoints`] with `cluster_endpoints`, kubeadm's client
/// knows every member too; that is said through `out`). Errors: no etcdctl, no answer from any endpoint (each named),
/// a removal etcd keeps refusing past `timeouts.etcdAPICall`.
pub fn remove_etcd_member(
    host: &dyn Host,
    cfg: &InitConfig,
    cluster_endpoints: &[String],
    out: &mut dyn Out,
) -> Result<String, String> {
    let adv = cfg.init.local_api_endpoint.advertise_address.clone();
    let ip: std::net::IpAddr = adv
        .parse()
        .map_err(|_| format!("localAPIEndpoint.advertiseAddress {adv:?} is not an IP address"))?;
    let host_part = match ip {
        std::net::IpAddr::V6(_) => format!("[{ip}]"),
        std::net::IpAddr::V4(_) => ip.to_string(),
    };
    let client_url = format!("https://{host_part}:2379");
    let peer_url = format!("https://{host_part}:2380");
    if host.which("etcdctl").is_none() {
        return Err("etcdctl is not in PATH".into());
    }
    let pki = Path::new(&cfg.cluster.certificates_dir);
    let real = |p: &str| host.resolve(&pki.join(p)).display().to_string();
    let (ca, cert, key) = (
        real("etcd/ca.crt"),
        real("etcd/healthcheck-client.crt"),
        real("etcd/healthcheck-client.key"),
    );
    let base = [
        "--endpoints",
        client_url.as_str(),
        "--cacert",
        ca.as_str(),
        "--cert",
        cert.as_str(),
        "--key",
        key.as_str(),
        "--command-timeout",
        "10s",
    ];
    let list_args: Vec<&str> = base
        .iter()
        .copied()
        .chain(["member", "list", "-w", "json"])
        .collect();
    let o = host
        .run("etcdctl", &list_args)
        .map_err(|e| format!("etcdctl member list: {e}"))?;
    let o = if o.success() {
        o
    } else {
        // This node's etcd does not answer: ask the others.
        let local_err = last_line(&o.stderr);
        let others = other_etcd_endpoints(host, &peer_url, &client_url, cluster_endpoints);
        if others.is_empty() {
            return Err(format!(
                "etcdctl member list through {client_url}: {local_err}; no other etcd member is known (no --initial-cluster peers in etcd.yaml, none found through the API)"
            ));
        }
        let joined = others.join(",");
        let args: Vec<&str> = list_args
            .iter()
            .enumerate()
            .map(|(i, a)| if i == 1 { joined.as_str() } else { a })
            .collect();
        let o2 = host
            .run("etcdctl", &args)
            .map_err(|e| format!("etcdctl member list: {e}"))?;
        if !o2.success() {
            return Err(format!(
                "etcdctl member list through {client_url}: {local_err}; through {joined}: {}",
                last_line(&o2.stderr)
            ));
        }
        out.warn(&format!(
            "[reset] This node's etcd ({client_url}) does not answer ({local_err}); listed the etcd members through {joined}"
        ));
        o2
    };
    let v: serde_json::Value = serde_json::from_str(&o.stdout)
        .map_err(|e| format!("etcdctl member list: unexpected output: {e}"))?;
    let members = v["members"].as_array().cloned().unwrap_or_default();
    let urls = |m: &serde_json::Value, k: &str| -> Vec<String> {
        m[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    if members.len() == 1 && urls(&members[0], "clientURLs").contains(&client_url) {
        return Ok(
            "This is the only remaining etcd member in the etcd cluster, skip removing it".into(),
        );
    }
    let Some(m) = members
        .iter()
        .find(|m| urls(m, "peerURLs").first() == Some(&peer_url))
    else {
        return Ok(format!(
            "member was already removed, because no member id exists for peer {peer_url}"
        ));
    };
    let id = m["ID"]
        .as_u64()
        .ok_or_else(|| "etcdctl member list: a member has no ID".to_string())?;
    let hex = format!("{id:x}");
    // As kubeadm's client, which knows every member: the removal goes through the other
    // members, since a removed member (the leader, say) may stop before it answers.
    let others: Vec<String> = members
        .iter()
        .filter(|o| urls(o, "peerURLs").first() != Some(&peer_url))
        .flat_map(|o| urls(o, "clientURLs"))
        .collect();
    let rm_endpoints = if others.is_empty() {
        client_url.clone()
    } else {
        others.join(",")
    };
    let rm_args: Vec<&str> = base
        .iter()
        .copied()
        .enumerate()
        .map(|(i, a)| if i == 1 { rm_endpoints.as_str() } else { a })
        .chain(["member", "remove", hex.as_str()])
        .collect();
    // kubeadm retries MemberRemove every 500 ms until timeouts.etcdAPICall (2 minutes):
    // etcd refuses ("unhealthy cluster") until every member has been connected for a while.
    let limit = cfg
        .init
        .timeouts
        .as_ref()
        .and_then(|t| t.etcd_api_call.as_ref())
        .map(|d| d.as_std())
        .unwrap_or(std::time::Duration::from_secs(120));
    let started = std::time::Instant::now();
    loop {
        let o = host
            .run("etcdctl", &rm_args)
            .map_err(|e| format!("etcdctl member remove {hex}: {e}"))?;
        let last = o.stderr.lines().last().unwrap_or("").trim().to_string();
        if o.success() || o.stderr.contains("member not found") {
            return Ok(format!("removed etcd member {peer_url} (id {hex})"));
        }
        if started.elapsed() >= limit {
            return Err(format!(
                "etcdctl member remove {hex} (peer {peer_url}), retried for {}s: {last}",
                limit.as_secs()
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;

    #[test]
    fn other_etcd_endpoints_from_initial_cluster_and_the_api() {
        let h = FakeHost::new().unwrap();
        let own = ("https://10.0.0.3:2380", "https://10.0.0.3:2379");
        // no manifest: only what the API gave, without this node
        assert_eq!(
            other_etcd_endpoints(&h, own.0, own.1, &["https://10.0.0.3:2379".into()]),
            Vec::<String>::new()
        );
        h.put(
            "/etc/kubernetes/manifests/etcd.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\nspec:\n  containers:\n  - name: etcd\n    command:\n    - etcd\n    - --name=cp3\n    - --initial-cluster=cp1=https://10.0.0.1:2380,cp3=https://10.0.0.3:2380,cp2=https://[fd00::2]:2380\n    - --initial-cluster-state=existing\n",
        )
        .unwrap();
        assert_eq!(
            other_etcd_endpoints(
                &h,
                own.0,
                own.1,
                &[
                    "https://10.0.0.1:2379".into(),
                    "https://10.0.0.4:2379".into()
                ]
            ),
            vec![
                "https://10.0.0.1:2379".to_string(),
                "https://[fd00::2]:2379".to_string(),
                "https://10.0.0.4:2379".to_string(),
            ]
        );
    }
}
