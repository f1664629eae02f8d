//! Why a component did not become healthy: its container's exits and log, the flag it
//! rejected, and what an unhealthy apiserver says about etcd.

use super::*;

/// The timeout error: which component, its last answer, and what to look at.
pub(super) fn timeout_error(
    ctx: &PhaseCtx,
    component: &str,
    url: &str,
    answer: &str,
    timeout: Duration,
) -> PhaseError {
    let mut msg = format!(
        "{component} did not become healthy within {}: the last answer from {url} was: {answer}",
        crate::config::GoDuration::from_secs(timeout.as_secs())
    );
    if component == "kubelet" {
        msg.push_str("\nThe kubelet is not running or unhealthy: look at 'systemctl status kubelet' and 'journalctl -xeu kubelet'.");
    } else {
        let logs = container_logs(
            ctx.host.as_ref(),
            &ctx.cfg.init.node_registration.cri_socket,
            component,
        );
        if component == "kube-apiserver"
            && let Some(d) = etcd_diagnosis(ctx, answer, logs.as_deref().unwrap_or(""))
        {
            msg.push_str(&d);
        }
        if let Some(logs) = logs {
            msg.push_str(&logs);
        }
    }
    PhaseError::new(msg).hint(format!(
        "list the control-plane containers with 'crictl --runtime-endpoint {} ps -a | grep kube | grep -v pause', \
         read the failing one's log with 'crictl --runtime-endpoint {} logs CONTAINERID', \
         and look at the kubelet with 'journalctl -xeu kubelet'",
        ctx.cfg.init.node_registration.cri_socket, ctx.cfg.init.node_registration.cri_socket
    ))
}

/// The last 20 log lines of the newest container named `component`: asked of the runtime
/// over CRI (ListContainers, ContainerStatus's log path), or, when no runtime answers on the
/// configured socket but `crictl` is installed, through `crictl ps -a --name <c> -q` and
/// `crictl logs --tail 20 <id>`.
pub(super) fn container_logs(host: &dyn Host, cri_socket: &str, component: &str) -> Option<String> {
    let ep = crate::phases::preflight::cri_endpoint(cri_socket);
    let (id, text) =
        match crate::phases::container_runtime::component_containers(host, &ep, component) {
            Some(c) => {
                let id = c.newest_id?;
                let text =
                    crate::phases::container_runtime::container_log_tail(host, &ep, &id, 20)?;
                (id, text)
            }
            None => {
                host.which("crictl")?;
                let ps = host
                    .run("crictl", &["ps", "-a", "--name", component, "-q"])
                    .ok()?;
                let id = ps
                    .stdout
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())?
                    .to_string();
                let logs = host.run("crictl", &["logs", "--tail", "20", &id]).ok()?;
                (id, format!("{}{}", logs.stdout, logs.stderr))
            }
        };
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(20)..];
    Some(format!(
        "\nLast log lines of container {id} ({component}):\n{}",
        tail.join("\n")
    ))
}

/// Reads a container's last log lines when called (only when they are needed).
type LogReader<'a> = Box<dyn FnOnce() -> String + 'a>;

/// How many times `component`'s container exited, the newest exited container's ID and its
/// last 20 log lines: over CRI, or through `crictl` when no runtime answers on the socket
/// and crictl is installed. `None` when it never exited or nothing can be asked.
fn component_exits<'a>(
    host: &'a dyn Host,
    cri_socket: &str,
    component: &str,
) -> Option<(u32, String, LogReader<'a>)> {
    let ep = crate::phases::preflight::cri_endpoint(cri_socket);
    match crate::phases::container_runtime::component_containers(host, &ep, component) {
        Some(c) => {
            let id = c.exited_id?;
            (c.exits > 0).then_some(())?;
            let id2 = id.clone();
            Some((
                c.exits,
                id,
                Box::new(move || {
                    crate::phases::container_runtime::container_log_tail(host, &ep, &id2, 20)
                        .unwrap_or_default()
                }),
            ))
        }
        None => {
            host.which("crictl")?;
            let ps = host
                .run("crictl", &["ps", "-a", "--name", component, "-o", "json"])
                .ok()?;
            let (exits, id) = container_exits(&ps.stdout, component)?;
            let id2 = id.clone();
            Some((
                exits,
                id,
                Box::new(move || {
                    host.run("crictl", &["logs", "--tail", "20", &id2])
                        .map(|l| format!("{}{}", l.stdout, l.stderr))
                        .unwrap_or_default()
                }),
            ))
        }
    }
}

/// From `crictl ps -a --name <component> -o json`: how many times `component`'s container
/// exited (the newest container's restart attempt, plus one when it is exited too) and the id
/// of the newest exited container. `None` when it never exited or the JSON is not crictl's.
pub fn container_exits(ps_json: &str, component: &str) -> Option<(u32, String)> {
    let v: serde_json::Value = serde_json::from_str(ps_json).ok()?;
    let mut mine: Vec<(u64, bool, String)> = v["containers"]
        .as_array()?
        .iter()
        .filter(|c| c["metadata"]["name"] == component)
        .map(|c| {
            (
                c["metadata"]["attempt"].as_u64().unwrap_or(0),
                c["state"] == "CONTAINER_EXITED",
                c["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    mine.sort_by_key(|c| c.0);
    let (attempt, newest_exited, _) = mine.last()?.clone();
    let exits = attempt as u32 + u32::from(newest_exited);
    let id = mine.iter().rev().find(|c| c.1)?.2.clone();
    (exits > 0).then_some((exits, id))
}

/// The command-line flag a Go component's log says it rejects at start, and the reason:
/// `Error: unknown flag: --x` (pflag), `invalid argument "v" for "--x" flag: …`, or
/// `flag provided but not defined: -x` (Go's flag package).
pub fn rejected_flag(log: &str) -> Option<(String, String)> {
    for line in log.lines().rev() {
        if let Some(i) = line.find("unknown flag: ") {
            let flag = line[i + 14..].split_whitespace().next()?.to_string();
            return Some((flag, line[i..].trim().to_string()));
        }
        if let Some(i) = line.find("flag provided but not defined: ") {
            let flag = line[i + 31..].split_whitespace().next()?;
            return Some((
                format!("--{}", flag.trim_start_matches('-')),
                line[i..].trim().to_string(),
            ));
        }
        if let Some(i) = line.find("invalid argument \"") {
            let rest = &line[i..];
            let flag = rest
                .split("\" for \"")
                .nth(1)?
                .split('"')
                .next()?
                .to_string();
            return Some((flag, rest.trim().to_string()));
        }
    }
    None
}

/// Where a component's extra flags come from in kubeadm.yaml, and their names.
pub(super) fn extra_args_of(
    cfg: &crate::config::InitConfig,
    component: &str,
) -> Option<(&'static str, Vec<String>)> {
    let c = &cfg.cluster;
    let (field, args) = match component {
        "kube-apiserver" => ("apiServer.extraArgs", &c.api_server.extra_args),
        "kube-controller-manager" => (
            "controllerManager.extraArgs",
            &c.controller_manager.extra_args,
        ),
        "kube-scheduler" => ("scheduler.extraArgs", &c.scheduler.extra_args),
        "etcd" => ("etcd.local.extraArgs", &c.etcd.local.as_ref()?.extra_args),
        _ => return None,
    };
    Some((field, args.iter().map(|a| a.name.clone()).collect()))
}

/// When `component`'s container exited [`CRASH_EXITS`] times or more (asked over CRI, see
/// [`component_exits`]),
/// the message naming it, how often it exited, the flag its log rejects (and the kubeadm.yaml
/// field it came from) and its last 20 log lines. `None` otherwise.
pub fn crash_report(
    host: &dyn Host,
    cfg: &crate::config::InitConfig,
    component: &str,
) -> Option<String> {
    let (exits, id, logs) =
        component_exits(host, &cfg.init.node_registration.cri_socket, component)?;
    if exits < CRASH_EXITS {
        return None;
    }
    let text = logs();
    let mut msg = format!(
        "{component} exits at start: its container exited {exits} times and the kubelet keeps restarting it"
    );
    if let Some((flag, why)) = rejected_flag(&text) {
        msg.push_str(&format!("\n{component} rejects the flag {flag}: {why}"));
        if let Some((field, names)) = extra_args_of(cfg, component)
            && names.iter().any(|n| format!("--{n}") == flag)
        {
            msg.push_str(&format!(" (the flag comes from {field})"));
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    msg.push_str(&format!(
        "\nLast log lines of container {id} ({component}):\n{}",
        lines[lines.len().saturating_sub(20)..].join("\n")
    ));
    Some(msg)
}

/// For kube-apiserver: when its last answer or log shows it cannot reach etcd, a line naming
/// etcd and its `--etcd-servers`, and, over CRI, the state of the etcd container.
pub(super) fn etcd_diagnosis(ctx: &PhaseCtx, answer: &str, logs: &str) -> Option<String> {
    let api = manifest_flags(
        ctx.host.as_ref(),
        &ctx.paths.manifests_dir.join("kube-apiserver.yaml"),
    );
    let servers = api.get("etcd-servers")?.clone();
    let hostports: Vec<String> = servers
        .split(',')
        .map(|u| {
            u.split("://")
                .last()
                .unwrap_or(u)
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    let mentions = answer.contains("[-]etcd")
        || logs
            .lines()
            .any(|l| hostports.iter().any(|h| l.contains(h.as_str())));
    if !mentions {
        return None;
    }
    let reason = logs
        .lines()
        .rev()
        .find(|l| hostports.iter().any(|h| l.contains(h.as_str())))
        .map(|l| {
            if l.contains("connection refused") {
                ": connection refused".to_string()
            } else if l.contains("deadline exceeded") || l.contains("timeout") {
                ": timed out".to_string()
            } else {
                String::new()
            }
        })
        .unwrap_or_default();
    let mut msg =
        format!("\nkube-apiserver cannot reach etcd at {servers} (--etcd-servers){reason}.");
    if ctx.cfg.cluster.etcd.external.is_none() {
        let ep = crate::phases::preflight::cri_endpoint(&ctx.cfg.init.node_registration.cri_socket);
        let listed =
            crate::phases::container_runtime::component_containers(ctx.host.as_ref(), &ep, "etcd")
                .map(|c| c.count)
                .or_else(|| {
                    ctx.host.which("crictl")?;
                    let o = ctx
                        .host
                        .run("crictl", &["ps", "-a", "--name", "etcd", "-o", "json"])
                        .ok()?;
                    let v = serde_json::from_str::<serde_json::Value>(&o.stdout).ok()?;
                    v["containers"]
                        .as_array()
                        .map(|a| a.iter().filter(|c| c["metadata"]["name"] == "etcd").count())
                });
        match listed {
            Some(0) => msg.push_str(&format!(
                " There is no etcd container: the kubelet has not started the etcd static pod ({}).",
                ctx.paths.manifests_dir.join("etcd.yaml").display()
            )),
            Some(_) => {
                if let Some(r) = crash_report(ctx.host.as_ref(), &ctx.cfg, "etcd") {
                    msg.push('\n');
                    msg.push_str(&r);
                }
            }
            None => {}
        }
    }
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readyz_lines_and_bodies() {
        let body = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed\n";
        assert_eq!(
            parse_readyz(body),
            vec![
                ("ping".into(), true),
                ("log".into(), true),
                ("etcd".into(), false)
            ]
        );
        assert_eq!(short_body(body), "[-]etcd failed: reason withheld");
        assert_eq!(short_body(" ok \n"), "ok");
    }

    #[test]
    fn exits_and_rejected_flags() {
        let ps = r#"{"containers":[
            {"id":"b","metadata":{"name":"kube-apiserver","attempt":1},"state":"CONTAINER_EXITED"},
            {"id":"a","metadata":{"name":"kube-apiserver","attempt":0},"state":"CONTAINER_EXITED"},
            {"id":"e","metadata":{"name":"etcd","attempt":0},"state":"CONTAINER_RUNNING"}]}"#;
        assert_eq!(container_exits(ps, "kube-apiserver"), Some((2, "b".into())));
        assert_eq!(container_exits(ps, "etcd"), None);
        assert_eq!(container_exits("{}", "etcd"), None);
        let log = "I1207 server.go:151] Version: v1.37.2\nError: invalid argument \"ten\" for \"--audit-log-maxage\" flag: strconv.ParseInt: parsing \"ten\": invalid syntax\n";
        assert_eq!(rejected_flag(log).unwrap().0, "--audit-log-maxage");
        assert_eq!(
            rejected_flag("Error: unknown flag: --bogus-flag\n")
                .unwrap()
                .0,
            "--bogus-flag"
        );
        assert_eq!(
            rejected_flag("flag provided but not defined: -bogus\n")
                .unwrap()
                .0,
            "--bogus"
        );
        assert_eq!(rejected_flag("all fine"), None);
    }
}
