//! `kubestrap token`: create, list, delete and generate bootstrap tokens (kubeadm
//! `app/cmd/token.go`; reference §5.4).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};

use crate::cli::TokenCommand;
use crate::config::defaults::DEFAULT_TOKEN_GROUP;
use crate::config::token::{BootstrapTokenString, is_valid_token_id};
use crate::config::{BootstrapToken, GoDuration};
use crate::engine::JoinInfo;
use crate::host::{Host, RealHost};

/// The Secret type of bootstrap tokens.
const TOKEN_TYPE: &str = "bootstrap.kubernetes.io/token";

/// Checks token usages and groups as kubeadm does (reference §5.3). Errors name the value
/// and the rule.
pub fn validate_usages_groups(usages: &[String], groups: &[String]) -> Result<(), String> {
    let valid = ["signing", "authentication"];
    let bad: Vec<&String> = usages
        .iter()
        .filter(|u| !valid.contains(&u.as_str()))
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "--usages: invalid bootstrap token usage(s) {bad:?}, valid values are signing, authentication"
        ));
    }
    for g in groups {
        let rest = g.strip_prefix("system:bootstrappers:").unwrap_or("");
        let ok = !rest.is_empty()
            && rest.len() <= 256
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'-')
            && rest.as_bytes()[rest.len() - 1].is_ascii_alphanumeric();
        if !ok {
            return Err(format!(
                "--groups: {g:?} must match system:bootstrappers:[a-z0-9:-]{{0,255}}[a-z0-9]"
            ));
        }
    }
    if !groups.is_empty() && !usages.iter().any(|u| u == "authentication") {
        return Err("--groups: token groups need the usage \"authentication\" (--usages signing,authentication)".into());
    }
    Ok(())
}

/// kubeadm's `ShortHumanDuration` for the TTL column: `<invalid>`, `0s`, `42s`, `5m`, `23h`, `6d`, `2y`.
pub fn short_human_duration(secs: i64) -> String {
    if secs < -1 {
        "<invalid>".into()
    } else if secs < 0 {
        "0s".into()
    } else if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else if secs < 86400 {
        format!("{}h", secs / 3600)
    } else if secs < 86400 * 365 {
        format!("{}d", secs / 86400)
    } else {
        format!("{}y", secs / 86400 / 365)
    }
}

fn data(s: &Secret, k: &str) -> Option<String> {
    s.data
        .as_ref()?
        .get(k)
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
}

/// The rows of `token list` for token Secrets (columns TOKEN, TTL, EXPIRES, USAGES,
/// DESCRIPTION, EXTRA GROUPS). Secrets that are not valid tokens are returned as errors.
pub fn list_rows(secrets: &[Secret], now: time::OffsetDateTime) -> (Vec<[String; 6]>, Vec<String>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for s in secrets
        .iter()
        .filter(|s| s.type_.as_deref() == Some(TOKEN_TYPE))
    {
        let name = s.metadata.name.clone().unwrap_or_default();
        let (Some(id), Some(secret)) = (data(s, "token-id"), data(s, "token-secret")) else {
            bad.push(format!(
                "Secret {name} is not a valid bootstrap token (token-id/token-secret missing)"
            ));
            continue;
        };
        if name != format!("bootstrap-token-{id}") {
            bad.push(format!("Secret {name} does not match its token id {id}"));
            continue;
        }
        let (ttl, expires) = match data(s, "expiration") {
            Some(exp) => match time::OffsetDateTime::parse(
                &exp,
                &time::format_description::well_known::Rfc3339,
            ) {
                Ok(t) => (short_human_duration((t - now).whole_seconds()), exp),
                Err(_) => ("<invalid>".into(), exp),
            },
            None => ("<forever>".into(), "<never>".into()),
        };
        let mut usages: Vec<String> = s
            .data
            .as_ref()
            .map(|d| {
                d.iter()
                    .filter(|(k, v)| k.starts_with("usage-bootstrap-") && v.0 == b"true")
                    .map(|(k, _)| k.trim_start_matches("usage-bootstrap-").to_string())
                    .collect()
            })
            .unwrap_or_default();
        usages.sort();
        let none = |s: String| {
            if s.is_empty() {
                "<none>".to_string()
            } else {
                s
            }
        };
        rows.push([
            format!("{id}.{secret}"),
            ttl,
            expires,
            none(usages.join(",")),
            none(data(s, "description").unwrap_or_default()),
            none(data(s, "auth-extra-groups").unwrap_or_default()),
        ]);
    }
    (rows, bad)
}

/// Formats rows under kubeadm's header with columns padded by three spaces.
pub fn format_table(rows: &[[String; 6]]) -> String {
    let header = [
        "TOKEN",
        "TTL",
        "EXPIRES",
        "USAGES",
        "DESCRIPTION",
        "EXTRA GROUPS",
    ]
    .map(String::from);
    let mut widths = [0usize; 6];
    for r in std::iter::once(&header).chain(rows.iter()) {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows.iter()) {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i == 5 {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}", w = widths[i] + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The `--print-join-command` line for a kubeconfig: `kubestrap join <host:port> --token <t>
/// --discovery-token-ca-cert-hash sha256:<hex>` (one hash per CA certificate).
/// With `certificate_key`, the control-plane join command (`--control-plane
/// --certificate-key KEY`), as kubeadm's `token create --print-join-command --certificate-key`.
/// Errors: the kubeconfig lacks a current cluster or CA; a malformed certificate key.
pub fn join_command(
    kubeconfig: &str,
    token: &str,
    certificate_key: Option<&str>,
) -> Result<String, String> {
    if let Some(k) = certificate_key {
        crate::config::validate::validate_certificate_key(k)
            .map_err(|e| format!("--certificate-key (not shown): {e}"))?;
    }
    let kc = crate::pki::kubeconfig::from_yaml(kubeconfig.as_bytes(), "kubeconfig")
        .map_err(|e| e.to_string())?;
    let (server, ca) =
        crate::pki::kubeconfig::current_cluster(&kc, "kubeconfig").map_err(|e| e.to_string())?;
    let pins = crate::pki::ca_pins_from_pem(&ca).map_err(|e| e.to_string())?;
    let endpoint = server
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    let info = JoinInfo {
        endpoint,
        token: token.to_string(),
        ca_cert_hashes: pins,
        certificate_key: certificate_key.map(str::to_string),
        control_plane: certificate_key.is_some(),
        token_ttl_secs: None,
        root: None,
        redacted: false,
    };
    Ok(info
        .control_plane_command(JoinInfo::CONTROL_PLANE_JOIN_PROGRAM)
        .unwrap_or_else(|| info.worker_command("kubestrap")))
}

/// A client from the kubeconfig at `path` (read under `--root`), its text, and where it
/// talks to (`server from --kubeconfig PATH`), for error messages.
async fn client(host: &dyn Host, path: &Path) -> Result<(kube::Client, String, String), String> {
    let data = host
        .read(path)
        .map_err(|e| format!("cannot read --kubeconfig {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&data).into_owned();
    let c = crate::kubeapi::client_from_kubeconfig_str(&text, &path.display().to_string())
        .await
        .map_err(|e| e.chain())?;
    let server = kubeconfig_server(&text).unwrap_or_else(|| "the cluster".into());
    let tried = format!("tried {server} from --kubeconfig {}", path.display());
    Ok((c, text, tried))
}

/// The server of a kubeconfig's current context (else of its first cluster).
fn kubeconfig_server(text: &str) -> Option<String> {
    let v: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let clusters = v.get("clusters")?.as_sequence()?;
    let want = v
        .get("current-context")
        .and_then(|c| c.as_str())
        .and_then(|cc| {
            v.get("contexts")?
                .as_sequence()?
                .iter()
                .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(cc))?
                .get("context")?
                .get("cluster")?
                .as_str()
        });
    let cluster = clusters
        .iter()
        .find(|c| want.is_some() && c.get("name").and_then(|n| n.as_str()) == want)
        .or_else(|| clusters.first())?;
    Some(cluster.get("cluster")?.get("server")?.as_str()?.to_string())
}

/// A kube error with its causes (a transport error: "cannot reach the API server at URL:
/// dial tcp HOST:PORT: connect: connection refused") and the address tried.
fn why(e: &kube::Error, tried: &str) -> String {
    let mut parts = vec![crate::kubeapi::error_text(e)];
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = c.source();
    }
    format!("{} ({tried})", parts.join(": "))
}

async fn run_async(host: &dyn Host, cmd: TokenCommand) -> Result<String, String> {
    match cmd {
        TokenCommand::Generate => Ok(format!("{}\n", BootstrapTokenString::generate())),
        TokenCommand::Create {
            token,
            print_join_command,
            certificate_key,
            ttl,
            usages,
            groups,
            description,
            kubeconfig,
        } => {
            if let Some(k) = &certificate_key {
                crate::config::validate::validate_certificate_key(k)
                    .map_err(|e| format!("--certificate-key (not shown): {e}"))?;
            }
            let value = match token {
                Some(t) => BootstrapTokenString::parse(&t).map_err(|e| format!("token: {e}"))?,
                None => BootstrapTokenString::generate(),
            };
            let ttl = GoDuration::parse(&ttl).map_err(|e| format!("--ttl: {e}"))?;
            let groups: Vec<String> = groups.into_iter().filter(|g| !g.is_empty()).collect();
            validate_usages_groups(&usages, &groups)?;
            let t = BootstrapToken {
                token: value.to_string(),
                description,
                ttl: Some(ttl),
                expires: String::new(),
                usages,
                groups,
            };
            let secret =
                crate::phases::bootstrap_token::token_secret(&value, &t, SystemTime::now());
            let (c, kc_text, tried) = client(host, &kubeconfig).await?;
            let api: Api<Secret> = Api::namespaced(c, "kube-system");
            match api.create(&PostParams::default(), &secret).await {
                Ok(_) => {}
                Err(e) if crate::kubeapi::api_code(&e) == Some(409) => {
                    return Err(format!("a token with id {:?} already exists", value.id));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot create bootstrap token Secret {}: {}",
                        value.secret_name(),
                        why(&e, &tried)
                    ));
                }
            }
            if print_join_command {
                Ok(format!(
                    "{}\n",
                    join_command(&kc_text, &value.to_string(), certificate_key.as_deref())?
                ))
            } else {
                Ok(format!("{value}\n"))
            }
        }
        TokenCommand::List { kubeconfig } => {
            let (c, _, tried) = client(host, &kubeconfig).await?;
            let api: Api<Secret> = Api::namespaced(c, "kube-system");
            let lp = ListParams::default().fields(&format!("type={TOKEN_TYPE}"));
            let list = api.list(&lp).await.map_err(|e| {
                format!(
                    "cannot list bootstrap token Secrets in kube-system: {}",
                    why(&e, &tried)
                )
            })?;
            let (rows, bad) = list_rows(&list.items, time::OffsetDateTime::now_utc());
            for b in bad {
                eprintln!("[token] {b}; skipping");
            }
            Ok(format_table(&rows))
        }
        TokenCommand::Delete { tokens, kubeconfig } => {
            if tokens.is_empty() {
                return Err("token delete: give one or more token ids or tokens".into());
            }
            let mut ids = Vec::new();
            for t in &tokens {
                if let Ok(full) = BootstrapTokenString::parse(t) {
                    ids.push(full.id);
                } else if is_valid_token_id(t) {
                    ids.push(t.clone());
                } else {
                    return Err(format!(
                        "given token {t:?} is neither a token id ([a-z0-9]{{6}}) nor a token ([a-z0-9]{{6}}.[a-z0-9]{{16}})"
                    ));
                }
            }
            let (c, _, tried) = client(host, &kubeconfig).await?;
            let api: Api<Secret> = Api::namespaced(c, "kube-system");
            let mut out = String::new();
            for id in ids {
                let name = format!("bootstrap-token-{id}");
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => out.push_str(&format!("bootstrap token {id:?} deleted\n")),
                    Err(e) if crate::kubeapi::api_code(&e) == Some(404) => {
                        return Err(format!(
                            "bootstrap token {id:?} not found (Secret kube-system/{name})"
                        ));
                    }
                    Err(e) => {
                        return Err(format!(
                            "cannot delete Secret kube-system/{name}: {}",
                            why(&e, &tried)
                        ));
                    }
                }
            }
            Ok(out)
        }
    }
}

/// Runs `kubestrap token`; returns the exit code. `--kubeconfig` is read under `--root`.
pub fn run(root: Option<PathBuf>, cmd: TokenCommand) -> i32 {
    let _ = DEFAULT_TOKEN_GROUP;
    let host = match RealHost::new(root.unwrap_or_else(|| PathBuf::from("/")), false) {
        Ok(h) => h,
        Err(e) => return super::fail(e),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return super::fail(format!("cannot start the runtime: {e}")),
    };
    match rt.block_on(run_async(&host, cmd)) {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(e) => super::fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usages_groups_and_ttl() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(
            validate_usages_groups(
                &s(&["signing", "authentication"]),
                &s(&[DEFAULT_TOKEN_GROUP])
            )
            .is_ok()
        );
        assert!(validate_usages_groups(&s(&["authentication", "foo"]), &[]).is_err());
        assert!(
            validate_usages_groups(&s(&["signing"]), &s(&["system:bootstrappers:foo"])).is_err()
        );
        for bad in [
            "system:bootstrappers:Foo",
            "foo",
            "system:bootstrappers:",
            "system:bootstrappers:foo-",
        ] {
            assert!(
                validate_usages_groups(&s(&["authentication"]), &s(&[bad])).is_err(),
                "{bad}"
            );
        }
        assert_eq!(short_human_duration(86399), "23h");
        assert_eq!(short_human_duration(-5), "<invalid>");
        assert_eq!(short_human_duration(90), "1m");
        assert_eq!(short_human_duration(86400 * 3), "3d");
    }
}
