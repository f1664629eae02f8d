//! Under `--root DIR`, no command that changes this machine reaches the command runner: a
//! recording stand-in replaces it while preflight (with `--fix`), kubelet-start and
//! kubelet-finalize run on a root that fails every fixable check.

mod support;

use support::roots::{broken_root, put};

/// A recording stand-in for the command runner: every command that reaches it is recorded
/// and "succeeds".
#[derive(Debug, Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl kubestrap::host::CommandRunner for Recorder {
    fn run(&self, program: &str, args: &[&str]) -> std::io::Result<kubestrap::host::CmdOutput> {
        self.0
            .lock()
            .unwrap()
            .push(format!("{program} {}", args.join(" ")));
        Ok(kubestrap::host::CmdOutput {
            status: Some(0),
            ..Default::default()
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_host_changing_command_reaches_the_runner_under_root() {
    use kubestrap::host::Host;
    use std::sync::Arc;
    let t = tempfile::tempdir().unwrap();
    broken_root(t.path());
    let recorder = Arc::new(Recorder::default());
    let host = Arc::new(
        kubestrap::host::RealHost::new(t.path(), false)
            .unwrap()
            .with_runner(recorder.clone()),
    );
    let mut cfg = kubestrap::config::defaults::example_init_config("v1.37.2");
    cfg.init.node_registration.ignore_preflight_errors = vec!["all".into()];
    let (sink, mut rx) = kubestrap::engine::EventSink::channel();
    let mut ctx = kubestrap::engine::PhaseCtx::new(Arc::new(cfg), host.clone(), sink);
    ctx.options.fix = true;
    kubestrap::phases::preflight::run(&ctx, "").unwrap();
    kubestrap::phases::kubelet::run(&ctx, "").unwrap();
    // kubelet-finalize restarts the kubelet when the rotating certificate exists.
    put(
        t.path(),
        "/var/lib/kubelet/pki/kubelet-client-current.pem",
        "x",
    );
    put(
        t.path(),
        "/etc/kubernetes/kubelet.conf",
        "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context:\n    user: u\nusers:\n- name: u\n  user:\n    client-certificate-data: eA==\n    client-key-data: eA==\n",
    );
    kubestrap::phases::kubelet_finalize::run(&ctx, "all")
        .await
        .unwrap();
    // Every fix preflight could offer, applied directly, is refused before its first step.
    let plans = [
        ("Swap", vec!["swapoff -a"]),
        ("Modules", vec!["modprobe br_netfilter"]),
        ("Sysctl", vec!["sysctl -w net.ipv4.ip_forward=1"]),
        ("Install", vec!["apt-get install -y containerd"]),
        ("Restart", vec!["systemctl restart containerd"]),
    ];
    for (name, lines) in plans {
        for l in lines {
            let mut w = l.split(' ');
            let program = w.next().unwrap();
            let args: Vec<&str> = w.collect();
            let e = host.run(program, &args).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{name}");
            assert!(
                e.to_string()
                    .contains(&format!("does not run `{l}` under --root")),
                "{e}"
            );
        }
    }
    let seen = recorder.0.lock().unwrap().clone();
    let bad: Vec<&String> = seen
        .iter()
        .filter(|l| {
            let mut w = l.split_whitespace();
            let p = w.next().unwrap_or("");
            let a: Vec<&str> = w.collect();
            !kubestrap::host::is_read_only_command(p, &a)
        })
        .collect();
    assert!(bad.is_empty(), "{bad:?} reached the runner under --root");
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(format!("{e:?}"));
    }
    let all = events.join("\n");
    assert!(all.contains("no fix offered"), "{all}");
    assert!(all.contains("the kubelet was not restarted"), "{all}");
}
