//! Engine, host, preflight, kubelet-start and faces: the workflow order, skips,
//! cancellation, resume and the event stream; preflight with scripted host facts (pass,
//! warn, fail per check, ignore lists, fixes); the real checks on this machine; the real
//! binary killed with SIGKILL and run again; a golden of the plain-text dry run and a schema
//! test of the JSON events.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kubestrap::config::defaults::example_init_config;
use kubestrap::config::{Arg, InitConfig};
use kubestrap::engine::workflow::RunFn;
use kubestrap::engine::{
    Event, EventSink, LogLevel, PhaseCtx, PhaseError, Plan, RunOutcome, Severity, Workflow,
    run_workflow,
};
use kubestrap::host::{FakeHost, Host, RealHost};
use kubestrap::phases::{kubelet, preflight, upload_config};

// ---------------------------------------------------------------- helpers

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ctx_with(
    cfg: InitConfig,
    host: Arc<dyn Host>,
) -> (PhaseCtx, tokio::sync::mpsc::UnboundedReceiver<Event>) {
    let (sink, rx) = EventSink::channel();
    (PhaseCtx::new(Arc::new(cfg), host, sink), rx)
}

fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

/// A workflow where every leaf records its id into `log` and succeeds.
fn recording_workflow(log: Arc<Mutex<Vec<String>>>) -> Workflow {
    let mut wf = kubestrap::phases::init_workflow();
    for p in wf.phases.clone() {
        let top = p.name.clone();
        let log = log.clone();
        let run: RunFn = Arc::new(move |_ctx, sub| {
            let id = if sub.is_empty() {
                top.clone()
            } else {
                format!("{top}/{sub}")
            };
            log.lock().unwrap().push(id);
            Box::pin(async { Ok(()) })
        });
        assert!(wf.set_run(&p.name, run));
    }
    wf
}

fn leaf_ids(wf: &Workflow) -> Vec<String> {
    let mut v = Vec::new();
    for p in &wf.phases {
        if p.children.is_empty() {
            v.push(p.name.clone());
        } else {
            for c in &p.children {
                v.push(format!("{}/{}", p.name, c.name));
            }
        }
    }
    v
}

fn started(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PhaseStarted { phase } => Some(phase.clone()),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- engine

#[test]
fn runs_every_phase_in_kubeadm_order_with_paired_events() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = recording_workflow(log.clone());
    let host = Arc::new(FakeHost::new().unwrap());
    let (ctx, mut rx) = ctx_with(example_init_config("v1.37.2"), host);
    let outcome = rt().block_on(run_workflow(&wf, &ctx, &Plan::default()));
    assert_eq!(outcome, RunOutcome::Succeeded);
    let ran = log.lock().unwrap().clone();
    // upload-certs is skipped without --upload-certs, as kubeadm does.
    let expected: Vec<String> = leaf_ids(&wf)
        .into_iter()
        .filter(|id| id != "upload-certs")
        .collect();
    assert_eq!(ran, expected);
    assert_eq!(ran.first().map(String::as_str), Some("preflight"));
    assert_eq!(ran.last().map(String::as_str), Some("show-join-command"));
    let events = drain(&mut rx);
    // Each started phase finishes; parents wrap their children.
    let s = started(&events);
    let finished: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::PhaseFinished { phase, .. } => Some(phase.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(s.len(), finished.len());
    let pos = |id: &str| s.iter().position(|x| x == id).unwrap();
    assert!(pos("certs") < pos("certs/ca"));
    assert!(pos("control-plane/scheduler") < pos("kubelet-start"));
    assert!(events.iter().any(|e| matches!(e,
        Event::PhaseSkipped { phase, reason } if phase == "upload-certs" && reason.contains("--upload-certs"))));
    assert_eq!(
        events.last(),
        Some(&Event::Finished {
            outcome: RunOutcome::Succeeded
        })
    );
}

#[test]
fn skip_phases_parent_skips_children_and_leaf_skips_one() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = recording_workflow(log.clone());
    let host = Arc::new(FakeHost::new().unwrap());
    let (ctx, mut rx) = ctx_with(example_init_config("v1.37.2"), host);
    let plan = Plan {
        skip: vec![
            "certs".into(),
            "addon/kube-proxy".into(),
            "kubeconfig/all".into(),
        ],
        ..Plan::default()
    };
    assert_eq!(
        rt().block_on(run_workflow(&wf, &ctx, &plan)),
        RunOutcome::Succeeded
    );
    let ran = log.lock().unwrap().clone();
    assert!(
        !ran.iter()
            .any(|r| r.starts_with("certs/") || r.starts_with("kubeconfig/"))
    );
    assert!(ran.contains(&"addon/coredns".to_string()));
    assert!(!ran.contains(&"addon/kube-proxy".to_string()));
    let events = drain(&mut rx);
    let skipped: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::PhaseSkipped { phase, reason } if reason == "--skip-phases" => {
                Some(phase.clone())
            }
            _ => None,
        })
        .collect();
    assert!(skipped.contains(&"certs".to_string()));
    assert!(skipped.contains(&"certs/apiserver".to_string()));
    assert!(skipped.contains(&"addon/kube-proxy".to_string()));
    // disabled addons are skipped by configuration too
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.dns.disabled = true;
    let log2 = Arc::new(Mutex::new(Vec::new()));
    let wf2 = recording_workflow(log2.clone());
    let (ctx2, _rx2) = ctx_with(cfg, Arc::new(FakeHost::new().unwrap()));
    rt().block_on(run_workflow(&wf2, &ctx2, &Plan::default()));
    assert!(!log2.lock().unwrap().contains(&"addon/coredns".to_string()));
}

#[test]
fn init_phase_selection_runs_only_that_phase() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let wf = recording_workflow(log.clone());
    let (ctx, _rx) = ctx_with(
        example_init_config("v1.37.2"),
        Arc::new(FakeHost::new().unwrap()),
    );
    let plan = Plan {
        only: Some(wf.select("certs", Some("apiserver")).unwrap()),
        ..Plan::default()
    };
    rt().block_on(run_workflow(&wf, &ctx, &plan));
    assert_eq!(*log.lock().unwrap(), vec!["certs/apiserver".to_string()]);
    let e = wf.select("nope", None).unwrap_err();
    assert!(e.contains("unknown phase \"nope\""), "{e}");
}

#[test]
fn cancellation_stops_at_the_next_safe_point_and_reports_what_was_done() {
    let mut wf = kubestrap::phases::init_workflow();
    let count = Arc::new(AtomicUsize::new(0));
    for p in wf.phases.clone() {
        let c = count.clone();
        let run: RunFn = Arc::new(move |_ctx: &PhaseCtx, _sub| {
            c.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(()) })
        });
        wf.set_run(&p.name, run);
    }
    // certs/apiserver cancels while it runs (like Ctrl-C arriving mid-phase).
    wf.set_run(
        "certs/apiserver",
        Arc::new(|ctx: &PhaseCtx, _sub| {
            ctx.cancel.cancel();
            Box::pin(async { Ok(()) })
        }),
    );
    let (ctx, mut rx) = ctx_with(
        example_init_config("v1.37.2"),
        Arc::new(FakeHost::new().unwrap()),
    );
    let outcome = rt().block_on(run_workflow(&wf, &ctx, &Plan::default()));
    assert_eq!(
        outcome,
        RunOutcome::Cancelled {
            after_phase: Some("certs/apiserver".into()),
            interrupted: None,
            completed: vec![
                "preflight".into(),
                "certs/ca".into(),
                "certs/apiserver".into()
            ],
        }
    );
    let events = drain(&mut rx);
    let s = started(&events);
    assert_eq!(s.last().map(String::as_str), Some("certs/apiserver"));
    assert!(!s.contains(&"certs/apiserver-kubelet-client".to_string()));
    // preflight and certs/ca ran before the cancel
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn resume_after_failure_skips_completed_phases_and_a_finished_run_is_not_resumed() {
    let host: Arc<dyn Host> = Arc::new(FakeHost::new().unwrap());
    let fail_once = Arc::new(AtomicBool::new(true));
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut wf = recording_workflow(log.clone());
    let f = fail_once.clone();
    let l = log.clone();
    wf.set_run(
        "kubelet-start",
        Arc::new(move |_ctx, _sub| {
            l.lock().unwrap().push("kubelet-start".into());
            let fail = f.swap(false, Ordering::SeqCst);
            Box::pin(async move {
                if fail {
                    Err(PhaseError::new("writing /var/lib/kubelet/config.yaml")
                        .caused_by(std::io::Error::other("disk full"))
                        .hint("free some space"))
                } else {
                    Ok(())
                }
            })
        }),
    );
    let plan = Plan {
        resume: true,
        ..Plan::default()
    };
    let (ctx, mut rx) = ctx_with(example_init_config("v1.37.2"), host.clone());
    let out = rt().block_on(run_workflow(&wf, &ctx, &plan));
    assert_eq!(
        out,
        RunOutcome::Failed {
            phase: "kubelet-start".into()
        }
    );
    let events = drain(&mut rx);
    let failed = events
        .iter()
        .find_map(|e| match e {
            Event::PhaseFailed {
                phase, error, hint, ..
            } => Some((phase.clone(), error.clone(), hint.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(failed.0, "kubelet-start");
    assert_eq!(
        failed.1,
        "error execution phase kubelet-start: writing /var/lib/kubelet/config.yaml: disk full"
    );
    assert_eq!(failed.2.as_deref(), Some("free some space"));
    assert!(!started(&events).contains(&"wait-control-plane".to_string()));

    // Second run: completed phases are skipped, kubelet-start runs again, the rest follows.
    log.lock().unwrap().clear();
    let (ctx, mut rx) = ctx_with(example_init_config("v1.37.2"), host.clone());
    assert_eq!(
        rt().block_on(run_workflow(&wf, &ctx, &plan)),
        RunOutcome::Succeeded
    );
    let ran = log.lock().unwrap().clone();
    assert_eq!(ran.first().map(String::as_str), Some("kubelet-start"));
    assert!(ran.contains(&"show-join-command".to_string()));
    let events = drain(&mut rx);
    assert!(events.iter().any(|e| matches!(e,
        Event::PhaseSkipped { phase, reason } if phase == "certs/ca" && reason == "completed by an earlier run")));

    // Third run after a finished run: nothing is resumed (preflight runs again).
    log.lock().unwrap().clear();
    let (ctx, _rx) = ctx_with(example_init_config("v1.37.2"), host.clone());
    rt().block_on(run_workflow(&wf, &ctx, &plan));
    assert_eq!(
        log.lock().unwrap().first().map(String::as_str),
        Some("preflight")
    );

    // A different configuration does not resume an unfinished run of another one.
    let mut cfg2 = example_init_config("v1.37.2");
    cfg2.cluster.networking.pod_subnet = "10.244.0.0/16".into();
    let (ctx, _rx) = ctx_with(cfg2, host);
    assert_ne!(
        kubestrap::engine::runner::config_fingerprint(&ctx),
        kubestrap::engine::runner::config_fingerprint(
            &ctx_with(
                example_init_config("v1.37.2"),
                Arc::new(FakeHost::new().unwrap())
            )
            .0
        )
    );
}

#[test]
fn missing_phase_modules_fail_with_their_name_never_succeed() {
    let wf = kubestrap::phases::init_workflow();
    let (ctx, mut rx) = ctx_with(
        example_init_config("v1.37.2"),
        Arc::new(FakeHost::new().unwrap()),
    );
    let missing = wf.missing_phases();
    if missing.is_empty() {
        return; // every module is wired in
    }
    let first = &missing[0];
    let plan = Plan {
        only: Some(wf.select(first, None).unwrap()),
        ..Plan::default()
    };
    let out = rt().block_on(run_workflow(&wf, &ctx, &plan));
    assert!(matches!(out, RunOutcome::Failed { .. }));
    let err = drain(&mut rx)
        .into_iter()
        .find_map(|e| match e {
            Event::PhaseFailed { error, .. } => Some(error),
            _ => None,
        })
        .unwrap();
    assert!(err.contains("phase module phases::"), "{err}");
}

// ---------------------------------------------------------------- preflight (scripted)

/// Turns a fake host into a cgroup v1 host: no cgroup2 controllers file, every v1 controller
/// enabled in /proc/cgroups.
fn make_cgroup_v1(h: &FakeHost) {
    std::fs::remove_file(h.resolve(Path::new("/sys/fs/cgroup/cgroup.controllers"))).unwrap();
    h.put(
        "/proc/cgroups",
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\ncpuacct\t1\t1\t1\ncpuset\t2\t1\t1\ndevices\t3\t1\t1\nfreezer\t4\t1\t1\nmemory\t5\t1\t1\npids\t6\t1\t1\n",
    )
    .unwrap();
}

/// A fake host on which every init check passes: a ready node (support::roots) with
/// what init's own checks and fixes ask for besides.
fn good_host() -> FakeHost {
    let h = support::roots::ready_fake_host("cp1", "v1.37.2");
    h.add_programs(&["containerd", "apt-get", "swapoff", "modprobe", "sysctl"]);
    h.script("systemctl is-active firewalld", 3, "inactive\n");
    h.put(
        "/etc/containerd/config.toml",
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n",
    )
    .unwrap();
    h
}

fn checks(
    host: Arc<FakeHost>,
    cfg: InitConfig,
    ignore: &[&str],
) -> BTreeMap<String, (Severity, bool, String)> {
    let (ctx, _rx) = ctx_with(cfg, host);
    let list: Vec<String> = ignore.iter().map(|s| s.to_string()).collect();
    let set = preflight::parse_ignore_list(&ctx, &list).unwrap();
    preflight::run_checks(&ctx, &set)
        .into_iter()
        .map(|r| (r.name, (r.severity, r.ignored, r.message)))
        .collect()
}

fn sev(map: &BTreeMap<String, (Severity, bool, String)>, name: &str) -> Option<Severity> {
    map.get(name).map(|r| r.0)
}

#[test]
fn every_check_passes_on_a_good_host() {
    let host = Arc::new(good_host());
    let res = checks(host, example_init_config("v1.37.2"), &[]);
    let not_pass: Vec<_> = res.iter().filter(|(_, v)| v.0 != Severity::Pass).collect();
    assert!(not_pass.is_empty(), "{not_pass:?}");
    for name in [
        "NumCPU",
        "Mem",
        "Port-6443",
        "Port-10259",
        "Port-10257",
        "Port-10250",
        "Port-2379",
        "Port-2380",
        "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml",
        "FileAvailable--etc-kubernetes-manifests-etcd.yaml",
        "DirAvailable--var-lib-etcd",
        "CRI",
        "Swap",
        "FileExisting-losetup",
        "FileExisting-mount",
        "FileExisting-cp",
        "SystemVerification",
        "Hostname",
        "KubeletVersion",
        "Service-kubelet",
        "FileContent--proc-sys-net-ipv4-ip_forward",
        "CgroupDriver",
    ] {
        assert!(res.contains_key(name), "missing check {name}");
    }
    // kubeadm v1.34 to v1.37: no conntrack, crictl, iptables or bridge checks
    assert!(!res.contains_key("FileExisting-conntrack"));
    assert!(!res.contains_key("FileExisting-crictl"));
    assert!(!res.contains_key("FileExisting-iptables"));
    assert!(!res.contains_key("FileContent--proc-sys-net-bridge-bridge-nf-call-iptables"));
}

#[test]
fn each_check_fails_or_warns_as_kubeadm_does() {
    type Setup = fn(&FakeHost, &mut InitConfig);
    let cases: Vec<(&str, Setup, Severity)> = vec![
        (
            "NumCPU",
            |h, _| h.set_facts(|f| f.cpus = 1),
            Severity::Error,
        ),
        (
            "Mem",
            |h, _| h.set_facts(|f| f.memory_mib = 1699),
            Severity::Error,
        ),
        ("Port-6443", |h, _| h.busy_port(6443), Severity::Error),
        ("Port-10250", |h, _| h.busy_port(10250), Severity::Error),
        ("Port-2380", |h, _| h.busy_port(2380), Severity::Error),
        (
            "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml",
            |h, _| {
                h.put("/etc/kubernetes/manifests/kube-apiserver.yaml", "x")
                    .unwrap()
            },
            Severity::Error,
        ),
        (
            "DirAvailable--var-lib-etcd",
            |h, _| h.put("/var/lib/etcd/member/x", "x").unwrap(),
            Severity::Error,
        ),
        (
            "Swap",
            |h, _| {
                h.put(
                    "/proc/swaps",
                    "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n",
                )
                .unwrap()
            },
            Severity::Error,
        ),
        (
            "Swap",
            |h, c| {
                h.put(
                    "/proc/swaps",
                    "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n",
                )
                .unwrap();
                c.kubelet = Some(serde_yaml::from_str("failSwapOn: false").unwrap());
            },
            Severity::Warning,
        ),
        (
            "FileExisting-losetup",
            |h, _| h.remove_program("losetup"),
            Severity::Error,
        ),
        (
            "FileExisting-mount",
            |h, _| h.remove_program("mount"),
            Severity::Error,
        ),
        (
            "FileExisting-cp",
            |h, _| h.remove_program("cp"),
            Severity::Error,
        ),
        (
            "FileContent--proc-sys-net-ipv4-ip_forward",
            |h, _| h.put("/proc/sys/net/ipv4/ip_forward", "0\n").unwrap(),
            Severity::Error,
        ),
        (
            "FileContent--proc-sys-net-ipv6-conf-default-forwarding",
            |h, c| {
                c.cluster.networking.pod_subnet = "10.244.0.0/16,fd00:10:244::/56".into();
                h.put("/proc/sys/net/ipv6/conf/default/forwarding", "0\n")
                    .unwrap();
            },
            Severity::Error,
        ),
        (
            "Hostname",
            |h, _| h.script("getent hosts cp1", 2, ""),
            Severity::Warning,
        ),
        (
            "Hostname",
            |_, c| c.init.node_registration.name = "CP_1".into(),
            Severity::Warning,
        ),
        (
            "KubeletVersion",
            |h, _| h.remove_program("kubelet"),
            Severity::Error,
        ),
        (
            "KubeletVersion",
            |h, _| h.script("kubelet --version", 0, "Kubernetes v1.38.0\n"),
            Severity::Error,
        ),
        (
            "KubeletVersion",
            |h, _| h.script("kubelet --version", 0, "Kubernetes v1.30.9\n"),
            Severity::Error,
        ),
        (
            "Service-kubelet",
            |h, _| h.script("systemctl is-enabled kubelet.service", 1, "disabled\n"),
            Severity::Warning,
        ),
        (
            "Firewalld",
            |h, _| h.script("systemctl is-active firewalld", 0, "active\n"),
            Severity::Warning,
        ),
        (
            "HTTPProxy",
            |h, _| h.set_env("https_proxy", "http://proxy:3128"),
            Severity::Warning,
        ),
        (
            "HTTPProxyCIDR",
            |h, _| h.set_env("HTTPS_PROXY", "http://proxy:3128"),
            Severity::Warning,
        ),
        (
            "CRI",
            |h, _| {
                h.remove_file(Path::new("/var/run/containerd/containerd.sock"))
                    .unwrap()
            },
            Severity::Error,
        ),
        (
            "CRI",
            // containerd answers but is not ready (CRI Status: RuntimeReady false)
            |h, _| {
                let mut st = h.runtime().status.lock().unwrap();
                st.conditions[0].status = false;
                st.conditions[0].reason = "NotStarted".into();
            },
            Severity::Error,
        ),
        (
            "CgroupDriver",
            |h, _| {
                h.put("/etc/containerd/config.toml", "version = 2\n")
                    .unwrap()
            },
            Severity::Error,
        ),
        (
            "CgroupDriver",
            |_, c| c.kubelet = Some(serde_yaml::from_str("cgroupDriver: cgroupfs").unwrap()),
            Severity::Error,
        ),
        (
            "SystemVerification",
            |h, _| h.set_facts(|f| f.kernel_release = "4.4.0".into()),
            Severity::Warning,
        ),
        (
            // 5.8 is newer than 4.19 but not one of system-validators' supported kernels.
            "SystemVerification",
            |h, _| h.set_facts(|f| f.kernel_release = "5.8.0-63-generic".into()),
            Severity::Warning,
        ),
        (
            "SystemVerification",
            |h, _| {
                h.put("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io pids\n")
                    .unwrap()
            },
            Severity::Error,
        ),
        (
            // A cgroup v1 host: a kubelet v1.35+ refuses it unless failCgroupV1 is false.
            "SystemVerification",
            |h, _| {
                make_cgroup_v1(h);
            },
            Severity::Error,
        ),
        (
            "SystemVerification",
            |h, c| {
                make_cgroup_v1(h);
                c.kubelet = Some(serde_yaml::from_str("failCgroupV1: false").unwrap());
            },
            Severity::Warning,
        ),
        (
            "KernelModules",
            |h, _| {
                std::fs::remove_dir(h.resolve(Path::new("/sys/module/br_netfilter"))).unwrap();
            },
            Severity::Warning,
        ),
        (
            "KubernetesVersion",
            |h, c| {
                c.cluster.kubernetes_version = "v1.40.0".into();
                h.script("kubelet --version", 0, "Kubernetes v1.40.0\n");
            },
            Severity::Warning,
        ),
    ];
    for (name, setup, want) in cases {
        let host = good_host();
        let mut cfg = example_init_config("v1.37.2");
        setup(&host, &mut cfg);
        let res = checks(Arc::new(host), cfg, &[]);
        assert_eq!(
            sev(&res, name),
            Some(want),
            "check {name}: {:?}",
            res.get(name)
        );
        let others: Vec<_> = res
            .iter()
            .filter(|(n, v)| *n != name && v.0 == Severity::Error)
            .collect();
        assert!(others.is_empty(), "case {name}: other errors {others:?}");
    }
}

#[test]
fn check_messages_match_kubeadm() {
    let host = good_host();
    host.set_facts(|f| {
        f.cpus = 1;
        f.memory_mib = 1024;
    });
    host.busy_port(6443);
    let res = checks(Arc::new(host), example_init_config("v1.37.2"), &[]);
    assert_eq!(
        res["NumCPU"].2,
        "the number of available CPUs 1 is less than the required 2"
    );
    assert_eq!(
        res["Mem"].2,
        "the system RAM (1024 MB) is less than the minimum 1700 MB"
    );
    assert_eq!(res["Port-6443"].2, "Port 6443 is in use");
}

#[test]
fn root_check_runs_first_and_alone() {
    let host = Arc::new(good_host());
    host.set_facts(|f| f.euid = 1000);
    host.busy_port(6443);
    let (ctx, mut rx) = ctx_with(example_init_config("v1.37.2"), host);
    let err = preflight::run(&ctx, "").unwrap_err();
    assert!(
        err.message
            .contains("[ERROR IsPrivilegedUser]: user is not running as root")
    );
    let names: Vec<String> = drain(&mut rx)
        .into_iter()
        .filter_map(|e| match e {
            Event::Check { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    assert_eq!(names, vec!["IsPrivilegedUser"]);
}

#[test]
fn second_init_fails_on_manifests_and_ports_with_a_pointer_to_reset() {
    let host = good_host();
    host.put("/etc/kubernetes/manifests/kube-apiserver.yaml", "x")
        .unwrap();
    host.busy_port(6443);
    let (ctx, _rx) = ctx_with(example_init_config("v1.37.2"), Arc::new(host));
    let e = preflight::run(&ctx, "").unwrap_err();
    assert!(e.message.contains("[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists"));
    assert!(e.message.contains("[ERROR Port-6443]: Port 6443 is in use"));
    assert!(e.hint.unwrap().contains("run 'kubestrap reset' first"));
}

#[test]
fn ignore_lists_work_like_kubeadm() {
    let host = good_host();
    host.set_facts(|f| f.cpus = 1);
    host.put(
        "/proc/swaps",
        "Filename\tType\tSize\tUsed\tPriority\n/dev/sda2 partition 1 0 -2\n",
    )
    .unwrap();
    let host = Arc::new(host);
    let res = checks(
        host.clone(),
        example_init_config("v1.37.2"),
        &["swap", "NumCPU"],
    );
    assert_eq!(
        res["NumCPU"],
        (Severity::Error, true, res["NumCPU"].2.clone())
    );
    assert!(res["Swap"].1);
    let res = checks(host.clone(), example_init_config("v1.37.2"), &["all"]);
    assert!(res.values().filter(|v| v.0 == Severity::Error).all(|v| v.1));

    // preflight passes with the ignored errors, reported as warnings
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.node_registration.ignore_preflight_errors = vec!["Swap".into(), "numcpu".into()];
    let (ctx, _rx) = ctx_with(cfg, host.clone());
    preflight::run(&ctx, "").unwrap();
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.node_registration.ignore_preflight_errors = vec!["Swap".into()];
    let (ctx, _rx) = ctx_with(cfg, host.clone());
    let e = preflight::run(&ctx, "").unwrap_err();
    assert!(e.message.contains("[ERROR NumCPU]"));
    assert!(!e.message.contains("[ERROR Swap]"));
    assert!(e.hint.unwrap().contains("--ignore-preflight-errors=NumCPU"));

    let (ctx, _rx) = ctx_with(example_init_config("v1.37.2"), host);
    let e = preflight::parse_ignore_list(&ctx, &["all".into(), "Swap".into()]).unwrap_err();
    assert!(e.contains("'all'"), "{e}");
    let e = preflight::parse_ignore_list(&ctx, &["Swapp".into()]).unwrap_err();
    assert!(
        e.contains("\"Swapp\" is not a preflight check") && e.contains("did you mean \"Swap\""),
        "{e}"
    );
    assert!(
        preflight::parse_ignore_list(
            &ctx,
            &["Port-6443".into(), "DirAvailable--var-lib-etcd".into()]
        )
        .is_ok()
    );
}

#[test]
fn fixes_change_the_host_only_with_fix_and_are_rechecked() {
    let broken = || {
        let h = good_host();
        h.put(
            "/proc/swaps",
            "Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1024 0 -2\n",
        )
        .unwrap();
        h.put(
            "/etc/fstab",
            "UUID=abc / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n",
        )
        .unwrap();
        h.put("/proc/sys/net/ipv4/ip_forward", "0\n").unwrap();
        h.put("/etc/containerd/config.toml", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n").unwrap();
        std::fs::remove_dir(h.resolve(Path::new("/sys/module/br_netfilter"))).unwrap();
        h
    };
    // Without --fix: nothing changes, the errors stop preflight.
    let host = Arc::new(broken());
    let (ctx, _rx) = ctx_with(example_init_config("v1.37.2"), host.clone());
    let e = preflight::run(&ctx, "").unwrap_err();
    for n in [
        "Swap",
        "FileContent--proc-sys-net-ipv4-ip_forward",
        "CgroupDriver",
    ] {
        assert!(
            e.message.contains(&format!("[ERROR {n}]")),
            "{n}: {}",
            e.message
        );
    }
    assert!(e.hint.as_deref().unwrap().contains("--fix"));
    assert!(host.text("/etc/fstab").unwrap().starts_with("UUID=abc"));
    assert!(
        host.text("/etc/fstab")
            .unwrap()
            .contains("\n/swapfile none swap")
    );
    assert!(host.text("/etc/sysctl.d/k8s.conf").is_none());
    assert!(!host.commands_run().iter().any(|c| c.starts_with("swapoff")));

    // With --fix: each fix changes the fake host, the re-check passes.
    let host = Arc::new(broken());
    let (mut ctx, mut rx) = ctx_with(example_init_config("v1.37.2"), host.clone());
    ctx.options.fix = true;
    preflight::run(&ctx, "").unwrap();
    assert_eq!(host.text("/proc/swaps").unwrap().lines().count(), 1);
    assert!(
        host.text("/etc/fstab")
            .unwrap()
            .contains("# /swapfile none swap sw 0 0")
    );
    assert_eq!(
        host.text("/proc/sys/net/ipv4/ip_forward").unwrap().trim(),
        "1"
    );
    assert_eq!(
        host.text("/etc/sysctl.d/k8s.conf").unwrap(),
        "net.ipv4.ip_forward = 1\n"
    );
    assert_eq!(
        host.text("/etc/modules-load.d/k8s.conf").unwrap(),
        "overlay\nbr_netfilter\n"
    );
    assert!(host.exists(Path::new("/sys/module/br_netfilter")));
    assert_eq!(
        preflight::containerd_systemd_cgroup(&host.text("/etc/containerd/config.toml").unwrap()),
        Some(true)
    );
    let ran = host.commands_run();
    for c in [
        "swapoff -a",
        "sysctl -w net.ipv4.ip_forward=1",
        "modprobe br_netfilter",
        "systemctl restart containerd",
    ] {
        assert!(ran.contains(&c.to_string()), "{c} not run: {ran:?}");
    }
    let events = drain(&mut rx);
    // Swap: first an error with a fix, then (re-check) a pass.
    let swap: Vec<Severity> = events
        .iter()
        .filter_map(|e| match e {
            Event::Check { name, severity, .. } if name == "Swap" => Some(*severity),
            _ => None,
        })
        .collect();
    assert_eq!(swap, vec![Severity::Error, Severity::Pass]);
    assert!(events.iter().any(|e| matches!(e,
        Event::Log { message, .. } if message.starts_with("Fixing Swap:"))));

    // Installing containerd from the distribution's packages.
    let host = good_host();
    host.remove_program("containerd");
    host.remove_file(Path::new("/var/run/containerd/containerd.sock"))
        .unwrap();
    host.remove_file(Path::new("/etc/containerd/config.toml"))
        .unwrap();
    let host = Arc::new(host);
    let (ctx, _rx) = ctx_with(example_init_config("v1.37.2"), host.clone());
    let res = preflight::run_checks(&ctx, &Default::default());
    let cri = res.iter().find(|r| r.name == "CRI").unwrap();
    assert_eq!(cri.severity, Severity::Error);
    let fix = cri.fix.clone().unwrap();
    assert!(
        fix.to_event()
            .steps
            .contains(&"run: apt-get install -y containerd".to_string())
    );
    preflight::apply_fix(&ctx, "CRI", &fix).unwrap();
    assert!(host.which("containerd").is_some());
    let again = preflight::run_checks(&ctx, &Default::default());
    let cri = again.iter().find(|r| r.name == "CRI").unwrap();
    assert_eq!(cri.severity, Severity::Pass, "{}", cri.message);
    assert!(
        host.commands_run()
            .contains(&"systemctl enable --now containerd".to_string())
    );
    assert_eq!(
        preflight::containerd_systemd_cgroup(&host.text("/etc/containerd/config.toml").unwrap()),
        Some(true)
    );
}

#[test]
fn preflight_in_dry_run_reports_errors_but_continues_and_mutates_nothing() {
    let host = good_host().with_dry_run(true);
    host.put("/proc/sys/net/ipv4/ip_forward", "0\n").unwrap();
    let host = Arc::new(host);
    let (mut ctx, mut rx) = ctx_with(example_init_config("v1.37.2"), host.clone());
    ctx.options.fix = true;
    preflight::run(&ctx, "").unwrap();
    // the sysctl command was not run in dry-run
    assert_eq!(
        host.text("/proc/sys/net/ipv4/ip_forward").unwrap().trim(),
        "0"
    );
    let events = drain(&mut rx);
    assert!(events.iter().any(|e| matches!(e,
        Event::Log { message, .. } if message.contains("would stop a real init"))));
    assert!(events.iter().any(|e| matches!(e,
        Event::Log { message, .. } if message.contains("Would pull the required images"))));
}

#[test]
fn real_checks_on_this_machine_fail_by_name() {
    // Asserts only what follows from what this test reads of the machine (PATH, sockets,
    // /proc, systemd), never what it expects the machine to be; a dry-run host never runs
    // a mutating command.
    let host: Arc<dyn Host> = Arc::new(RealHost::new("/", true).unwrap());
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.node_registration.name = host.facts().hostname.to_lowercase();
    let (ctx, _rx) = ctx_with(cfg, host.clone());
    let res = preflight::run_checks(&ctx, &Default::default());
    let by: BTreeMap<&str, &preflight::CheckResult> =
        res.iter().map(|r| (r.name.as_str(), r)).collect();
    if host.which("kubelet").is_none() {
        assert_eq!(by["KubeletVersion"].severity, Severity::Error);
        assert!(
            by["KubeletVersion"]
                .message
                .starts_with("couldn't get kubelet version")
        );
    }
    if !Path::new("/var/run/containerd/containerd.sock").exists() {
        assert_eq!(by["CRI"].severity, Severity::Error);
        assert!(
            by["CRI"]
                .message
                .contains("container runtime is not running")
        );
        // The fix offered follows from what is installed: a package install when
        // containerd is absent and a package manager exists; a restart when containerd is
        // installed and systemd runs; nothing otherwise (installed but stopped, no systemd).
        let installed =
            host.which("containerd").is_some() || Path::new("/etc/containerd/config.toml").exists();
        let manager = ["apt-get", "dnf", "yum"]
            .iter()
            .any(|m| host.which(m).is_some());
        let expect_fix = if installed {
            host.has_systemd()
        } else {
            manager
        };
        assert_eq!(
            by["CRI"].fix.is_some(),
            expect_fix,
            "containerd installed: {installed}, package manager: {manager}, systemd: {}; {:?}",
            host.has_systemd(),
            by["CRI"]
        );
    }
    for bin in ["losetup", "mount", "cp"] {
        if host.which(bin).is_none() {
            let name = format!("FileExisting-{bin}");
            assert_eq!(by[name.as_str()].severity, Severity::Error);
        }
    }
    let fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
    if !fwd.starts_with('1') {
        assert_eq!(
            by["FileContent--proc-sys-net-ipv4-ip_forward"].severity,
            Severity::Error
        );
    }
    // real facts were read
    let f = host.facts();
    assert!(f.cpus >= 1 && f.memory_mib > 0 && !f.kernel_release.is_empty());
    assert_eq!(by["NumCPU"].severity == Severity::Pass, f.cpus >= 2);
}

/// Runs [`real_checks_on_this_machine_fail_by_name`] again in a child test process whose
/// PATH starts with `stubs`.
fn real_checks_with_path(stubs: &Path) -> std::process::Output {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![stubs.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "real_checks_on_this_machine_fail_by_name",
            "--test-threads=1",
        ])
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .output()
        .unwrap()
}

#[test]
fn real_checks_hold_whatever_the_container_runtime_state() {
    // The container runtime installed but stopped (a `containerd` in PATH, its socket
    // absent or not answering), and absent (a PATH entry without it): the real-machine
    // test asserts what follows from what it reads either way.
    if Path::new("/var/run/containerd/containerd.sock").exists() {
        eprintln!("containerd's socket exists here; the stopped state cannot be emulated");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let stub = t.path().join("containerd");
    std::fs::write(&stub, "#!/bin/sh\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    for dir in [t.path().to_path_buf(), t.path().join("empty")] {
        std::fs::create_dir_all(&dir).unwrap();
        let out = real_checks_with_path(&dir);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "with {} first in PATH:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------- kubelet-start

#[test]
fn kubelet_start_writes_files_sets_node_ip_and_restarts_with_systemd() {
    let host = Arc::new(good_host());
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.local_api_endpoint.advertise_address = "192.168.1.20".into();
    cfg.init.node_registration.kubelet_extra_args = vec![Arg {
        name: "v".into(),
        value: "2".into(),
    }];
    cfg.kubelet = Some(
        serde_yaml::from_str(
            "failSwapOn: false\nauthentication:\n  anonymous:\n    enabled: true\n",
        )
        .unwrap(),
    );
    let (ctx, mut rx) = ctx_with(cfg, host.clone());
    kubelet::run(&ctx, "").unwrap();
    let env = host.text(kubelet::FLAGS_ENV).unwrap();
    assert_eq!(
        env,
        "KUBELET_KUBEADM_ARGS=\"--node-ip=192.168.1.20 --v=2\"\n"
    );
    let conf: serde_yaml::Value =
        serde_yaml::from_str(&host.text(kubelet::CONFIG_YAML).unwrap()).unwrap();
    assert_eq!(conf["kind"], "KubeletConfiguration");
    assert_eq!(conf["apiVersion"], "kubelet.config.k8s.io/v1beta1");
    assert_eq!(conf["cgroupDriver"], "systemd");
    assert_eq!(conf["clusterDNS"][0], "10.96.0.10");
    assert_eq!(conf["clusterDomain"], "cluster.local");
    assert_eq!(conf["staticPodPath"], "/etc/kubernetes/manifests");
    assert_eq!(
        conf["authentication"]["x509"]["clientCAFile"],
        "/etc/kubernetes/pki/ca.crt"
    );
    assert_eq!(conf["authentication"]["anonymous"]["enabled"], true); // user value kept
    assert_eq!(conf["failSwapOn"], false);
    assert_eq!(
        conf["containerRuntimeEndpoint"],
        "unix:///var/run/containerd/containerd.sock"
    );
    assert!(
        host.text(kubelet::INSTANCE_CONFIG)
            .unwrap()
            .contains("containerRuntimeEndpoint: \"unix:///var/run/containerd/containerd.sock\"")
    );
    assert_eq!(host.mode(Path::new(kubelet::CONFIG_YAML)).unwrap(), 0o644);
    let ran = host.commands_run();
    let pos = |c: &str| {
        ran.iter()
            .position(|r| r == c)
            .unwrap_or_else(|| panic!("{c} not in {ran:?}"))
    };
    assert!(pos("systemctl stop kubelet") < pos("systemctl daemon-reload"));
    assert!(pos("systemctl daemon-reload") < pos("systemctl restart kubelet"));
    let events = drain(&mut rx);
    assert!(events.iter().any(
        |e| matches!(e, Event::FileWritten { path, mode: 0o644 } if path == kubelet::FLAGS_ENV)
    ));
    // Finding 7: the log names the default-route address the advertise address differs from.
    assert!(events.iter().any(|e| matches!(e, Event::Log { message, .. }
        if message == "The advertise address 192.168.1.20 is not this host's default-route address (192.168.1.10); setting the kubelet's --node-ip=192.168.1.20")), "{events:?}");
}

/// Finding 7: the advertise address equal to the default-route address sets no --node-ip
/// and logs nothing about it; with no default route (an empty --root) the log says so
/// instead of claiming the address is not the default-route one.
#[test]
fn kubelet_start_node_ip_message_compares_with_the_default_route() {
    let host = Arc::new(good_host());
    let mut cfg = example_init_config("v1.37.2");
    cfg.init.local_api_endpoint.advertise_address = "192.168.1.10".into();
    let (ctx, mut rx) = ctx_with(cfg.clone(), host.clone());
    kubelet::run(&ctx, "").unwrap();
    assert!(!host.text(kubelet::FLAGS_ENV).unwrap().contains("node-ip"));
    let events = drain(&mut rx);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Log { message, .. } if message.contains("node-ip"))),
        "{events:?}"
    );

    let host = Arc::new(good_host());
    host.set_facts(|f| f.default_route_addr = None);
    let (ctx, mut rx) = ctx_with(cfg, host.clone());
    kubelet::run(&ctx, "").unwrap();
    let events = drain(&mut rx);
    let msg = events
        .iter()
        .find_map(|e| match e {
            Event::Log { message, .. } if message.contains("--node-ip") => Some(message.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{events:?}"));
    assert!(msg.starts_with("No default route was found in "), "{msg}");
    assert!(
        msg.contains("proc/net/route") && !msg.contains("is not this host's"),
        "{msg}"
    );
}

#[test]
fn kubelet_start_without_systemd_and_on_v1_34_without_node_local_cri_socket() {
    let host = good_host();
    std::fs::remove_dir(host.resolve(Path::new("/run/systemd/system"))).unwrap();
    host.set_facts(|f| f.hostname = "Node-A".into());
    let host = Arc::new(host);
    // node cp1 ≠ hostname node-a, advertise = default route
    let mut cfg = example_init_config("v1.34.4");
    cfg.cluster
        .feature_gates
        .insert("NodeLocalCRISocket".into(), false);
    let (ctx, mut rx) = ctx_with(cfg, host.clone());
    kubelet::run(&ctx, "").unwrap();
    // v1.34 is the last minor whose kubeadm writes --pod-infra-container-image.
    assert_eq!(
        host.text(kubelet::FLAGS_ENV).unwrap(),
        "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --hostname-override=cp1 --pod-infra-container-image=registry.k8s.io/pause:3.10.1\"\n"
    );
    assert!(host.text(kubelet::INSTANCE_CONFIG).is_none());
    assert!(
        !host
            .commands_run()
            .iter()
            .any(|c| c.starts_with("systemctl"))
    );
    assert!(drain(&mut rx).iter().any(|e| matches!(e,
        Event::Log { message, .. } if message.contains("no supported init system"))));
}

// ---------------------------------------------------------------- faces

fn dry_run_events() -> Vec<Event> {
    let host = good_host().with_dry_run(true);
    host.put("/proc/sys/net/ipv4/ip_forward", "0\n").unwrap();
    host.remove_program("losetup");
    let host = Arc::new(host);
    let wf = kubestrap::phases::init_workflow();
    let missing = wf.missing_phases();
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.encryption_algorithm = "ECDSA-P256".into();
    let (ctx, mut rx) = ctx_with(cfg, host);
    let plan = Plan {
        skip: missing,
        ..Plan::default()
    };
    let out = rt().block_on(run_workflow(&wf, &ctx, &plan));
    assert_eq!(out, RunOutcome::Succeeded);
    drain(&mut rx)
}

#[test]
fn golden_plain_text_of_a_dry_run() {
    let text: Vec<String> = dry_run_events()
        .iter()
        .filter_map(kubestrap::output::text::format)
        .collect();
    let mut settings = insta::Settings::clone_current();
    // Random per run: bootstrap tokens, CA pins, certificate/key data, timestamps.
    settings.add_filter(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b", "[TOKEN]");
    settings.add_filter(r"bootstrap-token-[a-z0-9]{6}", "bootstrap-token-[ID]");
    settings.add_filter(r"(expiration|token-id|token-secret): \S+", "$1: [RANDOM]");
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[HASH]");
    settings.add_filter(r"[A-Za-z0-9+/]{60,}={0,2}", "[BASE64]");
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]");
    settings.bind(|| insta::assert_snapshot!("dry_run_text", text.join("\n")));
}

const KINDS: &[&str] = &[
    "phase_started",
    "phase_finished",
    "phase_skipped",
    "phase_failed",
    "check",
    "cert",
    "file_written",
    "probe",
    "readyz_check",
    "would_apply",
    "log",
    "join_ready",
    "finished",
];

fn check_schema(v: &serde_json::Value) {
    use serde_json::Value as J;
    let o = v.as_object().expect("each line is an object");
    let kind = o["event"].as_str().expect("event is a string");
    assert!(KINDS.contains(&kind), "unknown kind {kind}");
    let s = |k: &str| assert!(o[k].is_string(), "{kind}.{k} must be a string: {v}");
    let n = |k: &str| assert!(o[k].is_u64(), "{kind}.{k} must be an unsigned number: {v}");
    match kind {
        "phase_started" => s("phase"),
        "phase_finished" => {
            s("phase");
            n("elapsed_ms")
        }
        "phase_skipped" => {
            s("phase");
            s("reason")
        }
        "phase_failed" => {
            s("phase");
            n("elapsed_ms");
            s("error");
            assert!(
                o["causes"]
                    .as_array()
                    .is_some_and(|c| c.iter().all(serde_json::Value::is_string)),
                "phase_failed.causes must be an array of strings: {v}"
            );
            assert!(o["hint"].is_string() || o["hint"].is_null());
        }
        "check" => {
            s("name");
            assert!(matches!(
                o["severity"].as_str(),
                Some("pass" | "warning" | "error")
            ));
            s("message");
            assert!(o["ignored"].is_boolean());
            match &o["fix"] {
                J::Null => {}
                J::Object(f) => {
                    assert!(f["summary"].is_string());
                    assert!(f["steps"].as_array().unwrap().iter().all(J::is_string));
                }
                other => panic!("fix must be null or an object: {other}"),
            }
        }
        "cert" => {
            s("name");
            s("path");
            s("subject");
            s("not_after");
            s("key_algorithm");
            assert!(o["reused"].is_boolean());
            assert!(o["sans"].as_array().unwrap().iter().all(J::is_string));
        }
        "file_written" => {
            s("path");
            n("mode")
        }
        "log" => {
            assert!(matches!(
                o["level"].as_str(),
                Some("info" | "warn" | "error")
            ));
            assert!(o["phase"].is_string() || o["phase"].is_null());
            s("message");
        }
        "finished" => {
            let st = o["outcome"]["status"].as_str().unwrap();
            assert!(matches!(
                st,
                "succeeded" | "failed" | "cancelled" | "dry_run_finished"
            ));
            if st == "dry_run_finished" {
                assert_eq!(o["outcome"]["real_run_would_stop_in"], "preflight");
                assert!(!o["outcome"]["errors"].as_array().unwrap().is_empty());
            }
        }
        _ => {}
    }
}

#[test]
fn json_events_of_a_dry_run_follow_the_schema() {
    let events = dry_run_events();
    let mut kinds = std::collections::BTreeSet::new();
    for e in &events {
        let line = kubestrap::output::json::format(e);
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        check_schema(&v);
        kinds.insert(v["event"].as_str().unwrap().to_string());
    }
    for k in [
        "phase_started",
        "phase_finished",
        "phase_skipped",
        "check",
        "file_written",
        "log",
        "finished",
    ] {
        assert!(kinds.contains(k), "no {k} event in a dry run");
    }
}

// ---------------------------------------------------------------- the real binary

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kubestrap"))
}

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dry_run_cmd(root: &Path, dry: &Path, output: &str) -> Command {
    let wf = kubestrap::phases::init_workflow();
    let mut c = Command::new(bin());
    c.args(["init", "--non-interactive", "--dry-run", "--output", output])
        .arg("--root")
        .arg(root)
        .args([
            "--apiserver-advertise-address",
            "192.168.1.10",
            "--node-name",
            "cp1",
        ]);
    let missing = wf.missing_phases();
    if !missing.is_empty() {
        c.arg("--skip-phases").arg(missing.join(","));
    }
    c.env("KUBESTRAP_INIT_DRYRUN_DIR", dry)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                all_files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

/// Every file is complete: known files parse, and no temporary file is left behind.
fn assert_complete(dry: &Path, allow_temps: bool) {
    let mut files = Vec::new();
    all_files(dry, &mut files);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains(".tmp-") {
            assert!(allow_temps, "temporary file left behind: {}", f.display());
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        if name == "instance-config.yaml" {
            // kubeadm's instance configuration: a bare patch without apiVersion and kind.
            let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            assert!(
                v["containerRuntimeEndpoint"].is_string(),
                "{} is incomplete",
                f.display()
            );
        } else if name.ends_with(".yaml") {
            let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            assert!(v["kind"].is_string(), "{} is incomplete", f.display());
        } else if name == "kubeadm-flags.env" {
            assert!(text.starts_with("KUBELET_KUBEADM_ARGS=\"") && text.ends_with("\"\n"));
        } else if name.ends_with(".conf") {
            let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            assert_eq!(v["kind"], "Config", "{} is incomplete", f.display());
        } else if name.ends_with(".crt") || name.ends_with(".key") || name.ends_with(".pub") {
            assert!(
                text.starts_with("-----BEGIN ") && text.trim_end().ends_with("-----"),
                "{} is incomplete",
                f.display()
            );
        } else if name.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(&text).unwrap();
        }
    }
}

/// The whole /etc/kubernetes and /var/lib/kubelet tree of an init is there.
fn assert_tree(dry: &Path) {
    let mut want: Vec<String> = [
        "ca",
        "apiserver",
        "apiserver-kubelet-client",
        "front-proxy-ca",
        "front-proxy-client",
        "etcd/ca",
        "etcd/server",
        "etcd/peer",
        "etcd/healthcheck-client",
        "apiserver-etcd-client",
    ]
    .iter()
    .flat_map(|n| {
        [
            format!("etc/kubernetes/pki/{n}.crt"),
            format!("etc/kubernetes/pki/{n}.key"),
        ]
    })
    .collect();
    want.extend([
        "etc/kubernetes/pki/sa.key".into(),
        "etc/kubernetes/pki/sa.pub".into(),
    ]);
    for c in [
        "admin",
        "super-admin",
        "kubelet",
        "controller-manager",
        "scheduler",
    ] {
        want.push(format!("etc/kubernetes/{c}.conf"));
    }
    for m in [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        want.push(format!("etc/kubernetes/manifests/{m}.yaml"));
    }
    for k in ["config.yaml", "kubeadm-flags.env", "instance-config.yaml"] {
        want.push(format!("var/lib/kubelet/{k}"));
    }
    for w in want {
        assert!(dry.join(&w).is_file(), "{w} missing in {}", dry.display());
    }
}

#[test]
fn dry_run_on_this_machine_reports_real_failures_and_writes_a_complete_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let dry = tmp.path().join("dry");
    let had_etc_kubernetes = Path::new("/etc/kubernetes").exists();
    let o = Command::new(bin())
        .args(["init", "--non-interactive", "--dry-run"])
        .env("KUBESTRAP_INIT_DRYRUN_DIR", &dry)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    if which_real("kubelet").is_none() {
        assert!(out.contains("[ERROR KubeletVersion]"), "{out}");
    }
    if !Path::new("/var/run/containerd/containerd.sock").exists() {
        assert!(
            out.contains("[ERROR CRI]: container runtime is not running"),
            "{out}"
        );
        assert!(
            out.contains("[dryrun] Dry run finished in ")
                && out.contains("; a real run would stop in preflight on "),
            "{out}"
        );
        assert!(
            !out.contains("Finished dry-running successfully")
                && !out.contains("initialized successfully"),
            "{out}"
        );
    }
    assert!(out.contains(
        "[dryrun] Would perform action CREATE on resource \"configmaps\" named \"kubeadm-config\""
    ));
    assert!(out.contains("--discovery-token-ca-cert-hash sha256:"));
    assert_tree(&dry);
    assert_complete(&dry, false);
    // the certificates chain to the CA (openssl)
    let v = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(dry.join("etc/kubernetes/pki/ca.crt"))
        .arg(dry.join("etc/kubernetes/pki/apiserver.crt"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    // nothing was written outside the dry-run directory
    if !had_etc_kubernetes {
        assert!(!Path::new("/etc/kubernetes").exists());
    }
}

fn which_real(p: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(p))
            .find(|f| f.is_file())
    })
}

/// After a killed run into `dry`: only whole files (and temporary ones) are there, a re-run
/// succeeds, and then every file is whole, none temporary, and the tree complete.
fn rerun_converges(root: &Path, dry: &Path, after: &str) {
    assert_complete(dry, true);
    let out = dry_run_cmd(root, dry, "json").output().unwrap();
    assert!(
        out.status.success(),
        "rerun after {after} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_complete(dry, false);
    assert_tree(dry);
}

#[test]
fn sigkill_at_several_points_then_a_rerun_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    for (i, delay_ms) in [0u64, 3, 8, 15, 30, 60].into_iter().enumerate() {
        let dry = tmp.path().join(format!("dry{i}"));
        let child = dry_run_cmd(&root, &dry, "json").spawn().unwrap();
        let mut guard = KillOnDrop(child);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(guard.0.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = guard.0.wait();
        rerun_converges(&root, &dry, &format!("kill at {delay_ms} ms"));
        let prog =
            std::fs::read_to_string(dry.join("etc/kubernetes/tmp/kubestrap-init-progress.json"))
                .unwrap();
        assert!(prog.contains("\"finished\": true"));
    }
}

/// Kill points inside the grouped writes (`KUBESTRAP_TEST_KILL_AT`, see
/// `host::fs::KILL_AT_ENV`): a temporary file written, the group synced but nothing renamed,
/// a file renamed into place with the rest of its group not. Each run dies by SIGKILL at its
/// point; the tree holds only whole files (and temporary ones), and a re-run converges.
const KILL_POINTS: &[&str] = &[
    "pki/ca.key@temp",
    "pki/ca.crt@synced",
    "pki/ca.crt@renamed",
    "pki/apiserver.key@renamed",
    "pki/etcd/server.crt@synced",
    "pki/sa.pub@temp",
    "kubernetes/admin.conf@temp",
    "kubernetes/controller-manager.conf@renamed",
    "kubernetes/kubelet.conf@synced",
    "manifests/etcd.yaml@temp",
    "manifests/kube-apiserver.yaml@renamed",
    "manifests/kube-scheduler.yaml@synced",
    "kubelet/kubeadm-flags.env@renamed",
    "kubelet/config.yaml@temp",
];

#[test]
fn sigkill_inside_each_file_group_then_a_rerun_converges() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    for (i, point) in KILL_POINTS.iter().enumerate() {
        let dry = tmp.path().join(format!("killed{i}"));
        let out = dry_run_cmd(&root, &dry, "json")
            .env(kubestrap::host::fs::KILL_AT_ENV, point)
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGKILL),
            "the run did not reach the kill point {point}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        rerun_converges(&root, &dry, &format!("the kill at {point}"));
    }
}

#[test]
fn binary_dry_run_json_and_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let dry = tmp.path().join("dry");
    let start = Instant::now();
    let out = dry_run_cmd(&root, &dry, "json").output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.iter().for_each(check_schema);
    assert_eq!(lines.first().unwrap()["event"], "log");
    assert!(
        lines[0]["message"]
            .as_str()
            .unwrap()
            .contains(&dry.display().to_string())
    );
    // The last line says the dry-run directory (named, so kept) stays; the run's end is
    // just before it.
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "log");
    assert!(
        last["message"].as_str().unwrap().contains("(kept)"),
        "{last}"
    );
    // A dry run never ends "succeeded" when a real run would stop in preflight (issue 12
    // item 8): it says which errors would stop it.
    let errors: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "check" && l["severity"] == "error" && l["ignored"] == false)
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    let fin = &lines[lines.len() - 2];
    assert_eq!(fin["event"], "finished");
    if errors.is_empty() {
        assert_eq!(fin["outcome"]["status"], "succeeded");
    } else {
        assert_eq!(fin["outcome"]["status"], "dry_run_finished", "{fin}");
        assert_eq!(fin["outcome"]["real_run_would_stop_in"], "preflight");
        for e in &errors {
            assert!(
                fin["outcome"]["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == e),
                "{e}: {fin}"
            );
        }
        assert!(!stdout.contains("\"status\":\"succeeded\""), "{stdout}");
    }
    // preflight ran the real checks; the kubelet files were written into the dry-run dir only
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "check" && l["name"] == "KubeletVersion")
    );
    assert!(dry.join("var/lib/kubelet/config.yaml").exists());
    assert!(!root.join("var/lib/kubelet").exists());

    let run = |args: &[&str]| {
        let o = Command::new(bin())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["init", "--root", "/nonexistent/dir", "--non-interactive"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err.trim(),
        "error: --root: /nonexistent/dir does not exist",
        "{err}"
    );
    let (code, err) = run(&["init", "phase", "nope"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown phase \"nope\""), "{err}");
    let (code, err) = run(&[
        "init",
        "--non-interactive",
        "--dry-run",
        "--apiserver-advertise-address",
        "192.168.1.10",
        "--ignore-preflight-errors",
        "Swapp",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("did you mean \"Swap\""), "{err}");
    let (code, err) = run(&[
        "init",
        "--non-interactive",
        "--dry-run",
        "--apiserver-advertise-address",
        "192.168.1.10",
        "--skip-phases",
        "addons",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown phase \"addons\""), "{err}");
    let (code, err) = run(&["init"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--non-interactive"), "{err}");
}

#[test]
fn binary_init_phase_takes_init_flags_after_the_phase_and_checks_the_name_first() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(bin())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let r = root.to_str().unwrap();
    // kubeadm's order: the flags after the phase name
    let (code, err) = run(&[
        "init",
        "phase",
        "certs",
        "ca",
        "--root",
        r,
        "--apiserver-advertise-address",
        "192.168.1.10",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(root.join("etc/kubernetes/pki/ca.crt").exists());
    // an unknown phase is named even when the configuration could not be resolved
    // (a --root without /proc has no default route to take the advertise address from)
    let (code, err) = run(&["init", "phase", "nope", "--root", r]);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown phase \"nope\""), "{err}");
}

#[test]
fn binary_dry_run_that_stops_on_a_bad_flag_leaves_no_directory_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .args([
            "init",
            "--dry-run",
            "--non-interactive",
            "--pod-network-cidr",
            "bad",
        ])
        .env("TMPDIR", tmp.path())
        .env_remove("KUBESTRAP_INIT_DRYRUN_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn binary_real_init_stops_after_preflight_on_this_machine() {
    // No kubelet and no container runtime here: a real init must stop in preflight, exit 1,
    // and write nothing. A temporary --root keeps the machine untouched.
    if Path::new("/var/run/containerd/containerd.sock").exists() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .args([
            "init",
            "--non-interactive",
            "--apiserver-advertise-address",
            "192.168.1.10",
        ])
        .arg("--root")
        .arg(tmp.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("error execution phase preflight"), "{err}");
    assert!(err.contains("[ERROR CRI]"), "{err}");
    assert!(err.contains("To fix before running init again"), "{err}");
    let mut files = Vec::new();
    all_files(tmp.path(), &mut files);
    assert!(files.is_empty(), "{files:?}");
}

/// A TCP listener that accepts connections at the kernel level (backlog) but never answers:
/// every HTTP attempt against it hangs until the client's own timeout.
fn silent_listener() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn ctrl_c_during_wait_control_plane_stops_within_two_seconds_as_cancelled() {
    // The kubelet healthz endpoint is a socket where nothing answers; the phase would wait
    // up to 4 minutes (each attempt up to 5 s). Cancel 300 ms after the phase starts.
    let (_silent, port) = silent_listener();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = example_init_config("v1.36.3");
    cfg.kubelet = Some(
        serde_yaml::from_str(&format!(
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nhealthzBindAddress: 127.0.0.1\nhealthzPort: {port}\n"
        ))
        .unwrap(),
    );
    let host: Arc<dyn Host> = Arc::new(RealHost::new(dir.path(), false).unwrap());
    let (ctx, mut rx) = ctx_with(cfg, host);
    let plan = Plan {
        only: Some(vec!["wait-control-plane".into()]),
        ..Plan::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (outcome, took, events) = rt.block_on(async {
        let cancel = ctx.cancel.clone();
        let handle =
            kubestrap::engine::spawn_workflow(kubestrap::phases::init_workflow(), ctx, plan);
        let mut seen = Vec::new();
        // Wait (bounded) for the phase to start, then cancel 300 ms into it.
        let started = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(ev) = rx.recv().await {
                let go =
                    matches!(&ev, Event::PhaseStarted { phase } if phase == "wait-control-plane");
                seen.push(ev);
                if go {
                    return true;
                }
            }
            false
        })
        .await
        .expect("wait-control-plane starts within 10 s");
        assert!(started, "the phase never started: {seen:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t0 = Instant::now();
        cancel.cancel();
        let outcome = tokio::time::timeout(Duration::from_secs(10), handle)
            .await
            .expect("the run ends after the cancel (bounded)")
            .unwrap();
        let took = t0.elapsed();
        while let Ok(ev) = rx.try_recv() {
            seen.push(ev);
        }
        (outcome, took, seen)
    });
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} after the cancel"
    );
    match &outcome {
        RunOutcome::Cancelled {
            interrupted,
            after_phase,
            completed,
        } => {
            assert_eq!(interrupted.as_deref(), Some("wait-control-plane"));
            assert_eq!(after_phase, &None);
            assert!(completed.is_empty(), "{completed:?}");
        }
        o => panic!("expected Cancelled, got {o:?}"),
    }
    // It really was waiting on the kubelet, was not reported as a failure or a timeout, and
    // said which phase was interrupted.
    assert!(
        events.iter().any(|e| matches!(e, Event::Log { message, .. } if message.contains("Waiting for a healthy kubelet"))),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::PhaseFailed { .. })),
        "{events:?}"
    );
    assert!(
        !events.iter().any(
            |e| matches!(e, Event::PhaseFinished { phase, .. } if phase == "wait-control-plane")
        ),
        "{events:?}"
    );
    let interrupted_log = events.iter().find_map(|e| match e {
        Event::Log {
            level: LogLevel::Warn,
            phase: Some(p),
            message,
        } if p == "wait-control-plane" => Some(message.clone()),
        _ => None,
    });
    let msg = interrupted_log.expect("a warning names the interrupted phase");
    assert!(
        msg.contains("phase wait-control-plane was interrupted"),
        "{msg}"
    );
    assert!(msg.contains("cancelled while waiting for kubelet"), "{msg}");
    assert!(!msg.contains("did not become healthy"), "{msg}");
    assert_eq!(
        events.last(),
        Some(&Event::Finished {
            outcome: outcome.clone()
        })
    );
    // The text face says which phase was interrupted.
    let line = kubestrap::output::format_event(
        kubestrap::cli::OutputFormat::Text,
        &Event::Finished { outcome },
    )
    .unwrap();
    assert!(
        line.contains("Cancelled during phase wait-control-plane"),
        "{line}"
    );
}

// ---------------------------------------------------------------- kubelet-config ConfigMap

/// The `kubelet-config` ConfigMap upload-config would create for `cfg` (dry-run: taken from
/// its WouldApply event), parsed.
fn kubelet_config_map(cfg: &InitConfig) -> serde_yaml::Value {
    let host: Arc<dyn Host> = Arc::new(FakeHost::new().unwrap().with_dry_run(true));
    let (ctx, mut rx) = ctx_with(cfg.clone(), host);
    rt().block_on(upload_config::run(&ctx, "kubelet"))
        .expect("upload-config/kubelet in dry-run");
    let yaml = drain(&mut rx)
        .into_iter()
        .find_map(|e| match e {
            Event::WouldApply {
                resource,
                name,
                yaml,
                ..
            } if resource == "configmaps" && name == upload_config::KUBELET_CONFIG_MAP => {
                Some(yaml)
            }
            _ => None,
        })
        .expect("a kubelet-config ConfigMap");
    serde_yaml::from_str(&yaml).unwrap()
}

#[test]
fn kubelet_config_map_and_config_yaml_agree_on_every_cluster_wide_field() {
    let user_doc = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailSwapOn: false\nmaxPods: 50\nauthentication:\n  anonymous:\n    enabled: true\nclusterDomain: corp.example\n";
    for with_user_doc in [false, true] {
        let mut cfg = example_init_config("v1.37.2");
        cfg.cluster.networking.service_subnet = "10.200.0.0/16".into();
        if with_user_doc {
            cfg.kubelet = Some(serde_yaml::from_str(user_doc).unwrap());
        }
        // kubelet-start on a systemd host where systemd-resolved is active.
        let host = Arc::new(good_host());
        host.script("systemctl is-active systemd-resolved", 0, "active\n");
        let (ctx, _rx) = ctx_with(cfg.clone(), host.clone());
        kubelet::run(&ctx, "").unwrap();
        let written: serde_yaml::Value =
            serde_yaml::from_str(&host.text(kubelet::CONFIG_YAML).unwrap()).unwrap();

        let cm = kubelet_config_map(&cfg);
        let data = cm["data"]["kubelet"]
            .as_str()
            .expect("data.kubelet")
            .to_string();
        let uploaded: serde_yaml::Value = serde_yaml::from_str(&data).unwrap();

        // The local file carries the instance-specific fields; the ConfigMap does not.
        assert_eq!(
            written["containerRuntimeEndpoint"],
            "unix:///var/run/containerd/containerd.sock"
        );
        assert_eq!(written["resolvConf"], "/run/systemd/resolve/resolv.conf");
        for k in kubelet::INSTANCE_SPECIFIC_KEYS {
            assert!(uploaded.get(*k).is_none(), "{k} uploaded: {data}");
        }
        // Every other field is the same, nested ones included.
        let mut local = written.clone();
        if let serde_yaml::Value::Mapping(m) = &mut local {
            for k in kubelet::INSTANCE_SPECIFIC_KEYS {
                m.remove(*k);
            }
        }
        assert_eq!(local, uploaded, "with_user_doc={with_user_doc}\n{data}");
        assert_eq!(uploaded["clusterDNS"][0], "10.200.0.10");
        assert_eq!(uploaded["authentication"]["webhook"]["enabled"], true);
        assert_eq!(
            uploaded["authentication"]["x509"]["clientCAFile"],
            "/etc/kubernetes/pki/ca.crt"
        );
        let annotations = &cm["metadata"]["annotations"];
        if with_user_doc {
            // The user's values win at every depth, kubeadm's defaults fill the rest.
            assert_eq!(uploaded["authentication"]["anonymous"]["enabled"], true);
            assert_eq!(uploaded["failSwapOn"], false);
            assert_eq!(uploaded["maxPods"], 50);
            assert_eq!(uploaded["clusterDomain"], "corp.example");
            assert_eq!(uploaded["authorization"]["mode"], "Webhook");
            // A user KubeletConfiguration: no component-config hash (kubeadm's rule).
            assert!(
                annotations.get(upload_config::HASH_ANNOTATION).is_none(),
                "{cm:?}"
            );
        } else {
            assert_eq!(uploaded["authentication"]["anonymous"]["enabled"], false);
            assert_eq!(uploaded["clusterDomain"], "cluster.local");
            let want = upload_config::config_map_hash(&BTreeMap::from([(
                "kubelet".to_string(),
                data.clone(),
            )]));
            assert_eq!(annotations[upload_config::HASH_ANNOTATION], want.as_str());
        }
    }
}

#[test]
fn cgroup_v1_host_fix_sets_fail_cgroup_v1_false_in_the_kubelet_configuration() {
    let v1_host = || {
        let h = good_host();
        make_cgroup_v1(&h);
        Arc::new(h)
    };
    // v1.34: kubeadm's maintenance-mode warning only.
    let res = checks(v1_host(), example_init_config("v1.34.4"), &[]);
    assert_eq!(res["SystemVerification"].0, Severity::Warning);
    // v1.37 without consent: kubeadm's error, with the fix offered.
    let host = v1_host();
    let (mut ctx, _rx) = ctx_with(example_init_config("v1.37.2"), host.clone());
    let e = preflight::run(&ctx, "").unwrap_err();
    assert!(
        e.message.contains("[ERROR SystemVerification]")
            && e.message.contains("'FailCgroupV1' to 'false'"),
        "{}",
        e.message
    );
    // With --fix: the re-check passes as a warning and the kubelet's configuration (file and
    // ConfigMap builder alike) carries failCgroupV1: false.
    ctx.options.fix = true;
    preflight::run(&ctx, "").unwrap();
    kubelet::run(&ctx, "").unwrap();
    let written: serde_yaml::Value =
        serde_yaml::from_str(&host.text(kubelet::CONFIG_YAML).unwrap()).unwrap();
    assert_eq!(written["failCgroupV1"], serde_yaml::Value::Bool(false));
    let cm = kubelet::kubelet_cluster_config(&ctx).unwrap();
    assert_eq!(cm["failCgroupV1"], serde_yaml::Value::Bool(false));
}

/// A private dry-run directory (`RealHost::scratch`, removed when the run ends) gets the
/// phases' files, whole and with their modes, and nothing kept only for a later run: no
/// progress record, no commit record, no temporary file.
#[test]
fn a_scratch_directory_gets_the_files_and_no_records() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let host: Arc<dyn Host> = Arc::new(RealHost::new(dir.path(), true).unwrap().scratch());
    assert!(host.is_scratch());
    let (ctx, _rx) = ctx_with(example_init_config("v1.37.2"), host);
    let wf = kubestrap::phases::init_workflow();
    let only = wf.leaves_of(&["certs", "kubeconfig"]);
    let plan = Plan {
        only: Some(only),
        ..Plan::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = rt.block_on(kubestrap::engine::run_workflow(&wf, &ctx, &plan));
    assert_eq!(outcome, RunOutcome::Succeeded);
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains(".tmp-") && !n.contains("progress")),
        "records or temporary files left in a scratch directory: {names:?}"
    );
    // 22 PKI files (11 pairs incl. sa.key/sa.pub) and 4 kubeconfigs at least.
    assert!(names.len() >= 26, "{names:?}");
    let key = dir.path().join("etc/kubernetes/pki/ca.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "ca.key mode");
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN") && pem.trim_end().ends_with("-----"));
}

/// Issue 12 item 12: the CgroupDriver message quotes the containerd setting it read (or says
/// that none is set and what containerd then uses), and says "pods" on a worker, where no
/// control-plane pods run.
#[test]
fn cgroup_driver_message_quotes_what_containerd_sets_and_says_pods_on_a_worker() {
    let h = good_host();
    let node = |host: &FakeHost, worker: bool| {
        let n = preflight::NodeChecks {
            host,
            cri_socket: "",
            node_name: "",
            kubelet: None,
            minor: 37,
            control_plane_version: None,
            kubelet_allow_cgroup_v1: false,
            worker,
        };
        preflight::cgroup_driver_check(&n)
    };
    h.put("/etc/containerd/config.toml", "version = 2\n")
        .unwrap();
    let r = node(&h, false);
    assert_eq!(r.severity, Severity::Error);
    assert!(
        r.message.contains("(/etc/containerd/config.toml does not set SystemdCgroup; containerd's default is false); control-plane pods would restart in a loop"),
        "{}",
        r.message
    );
    h.put(
        "/etc/containerd/config.toml",
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n",
    )
    .unwrap();
    let r = node(&h, true);
    assert!(
        r.message.contains(
            "(SystemdCgroup = false in /etc/containerd/config.toml); pods would restart in a loop"
        ) && !r.message.contains("control-plane"),
        "{}",
        r.message
    );
}

/// kubeadm's init flags `--cert-dir`, `--feature-gates`, `--skip-token-print`,
/// `--skip-certificate-key-print` and `--v` in a dry run: the certificates go to the
/// directory, the gate reaches the uploaded ClusterConfiguration, each skip withholds its
/// secret even with --show-secrets, and `--v 5` prints the phases and files.
#[test]
fn kubeadm_init_flags_cert_dir_feature_gates_skip_prints_and_verbosity() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let dry = tmp.path().join("dry");
    let o = dry_run_cmd(&root, &dry, "text")
        .args([
            "--cert-dir",
            "/etc/kubernetes/custom-pki",
            "--feature-gates",
            "RootlessControlPlane=false",
            "--control-plane-endpoint",
            "cp.example.com:6443",
            "--upload-certs",
            "--show-secrets",
            "--skip-token-print",
            "--v",
            "5",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(dry.join("etc/kubernetes/custom-pki/ca.crt").is_file());
    assert!(!dry.join("etc/kubernetes/pki/ca.crt").exists());
    let apiserver =
        std::fs::read_to_string(dry.join("etc/kubernetes/manifests/kube-apiserver.yaml")).unwrap();
    assert!(
        apiserver.contains("--client-ca-file=/etc/kubernetes/custom-pki/ca.crt"),
        "{apiserver}"
    );
    assert!(
        out.contains("RootlessControlPlane: false"),
        "the kubeadm-config ConfigMap: {out}"
    );
    // --v 5: the phases and the files written
    assert!(out.contains("[certs] Running phase certs/ca"), "{out}");
    assert!(
        out.contains("[files] Wrote /etc/kubernetes/custom-pki/ca.crt (0644)"),
        "{out}"
    );
    // --skip-token-print withholds the token even with --show-secrets; the key is shown
    let join = out
        .lines()
        .find(|l| l.contains("join cp.example.com:6443") && l.contains("--control-plane"))
        .expect("the control-plane join command");
    assert!(
        join.contains("--token ") && join.contains(".<redacted> "),
        "{join}"
    );
    let key = join.rsplit(' ').next().unwrap();
    assert!(
        key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "{join}"
    );

    // --skip-certificate-key-print: the key withheld, the token shown; --v 0 is quiet
    let dry2 = tmp.path().join("dry2");
    let o = dry_run_cmd(&root, &dry2, "text")
        .args([
            "--control-plane-endpoint",
            "cp.example.com:6443",
            "--upload-certs",
            "--show-secrets",
            "--skip-certificate-key-print",
            "-v",
            "0",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.contains("Running phase"), "{out}");
    let join = out
        .lines()
        .find(|l| l.contains("join cp.example.com:6443") && l.contains("--control-plane"))
        .expect("the control-plane join command");
    assert!(join.ends_with("--certificate-key <redacted>"), "{join}");
    assert!(!join.contains(".<redacted>"), "the token is shown: {join}");
    assert!(
        out.contains("<redacted> (withheld: --skip-certificate-key-print)"),
        "{out}"
    );

    // bad values are refused naming the flag
    for (args, want) in [
        (
            vec!["--feature-gates", "RootlessControlPlane"],
            "--feature-gates: \"RootlessControlPlane\" has no value; write Name=true or Name=false",
        ),
        (
            vec!["--feature-gates", "RootlessControlPlane=false,Other=maybe"],
            ": entry \"Other=maybe\" is not true or false",
        ),
        (
            vec!["--feature-gates", "NoSuchGate=true"],
            "featureGates.NoSuchGate",
        ),
        (
            vec!["--cert-dir", "pki"],
            "--cert-dir: \"pki\" must be an absolute path",
        ),
        (vec!["--v", "11"], "11"),
    ] {
        let o = dry_run_cmd(&root, &tmp.path().join("dry3"), "text")
            .args(&args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_ne!(o.status.code(), Some(0), "{args:?}: {text}");
        assert!(text.contains(want), "{args:?}: {want:?} not in {text}");
    }
}

/// Finding 6: SIGTERM of a non-interactive init (under `--root`, waiting for the kubelet)
/// cancels it like Ctrl-C: it ends at the safe point, reports what was done and exits with
/// the interrupted run's code (1), not death by the signal.
#[test]
fn sigterm_cancels_a_non_interactive_init() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let tmp = t.path().join("tmp");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let logs = t.path().join("logs");
    let r = support::roots::sigterm_when(
        &[
            "--root",
            root.to_str().unwrap(),
            "init",
            "--non-interactive",
            "--ignore-preflight-errors=all",
            "--apiserver-advertise-address",
            "192.0.2.2",
        ],
        &[
            ("TMPDIR", tmp.as_path()),
            ("KUBESTRAP_LOG_DIR", logs.as_path()),
            ("XDG_STATE_HOME", t.path()),
        ],
        t.path(),
        "[kubelet-check] Waiting for a healthy kubelet",
    );
    assert_eq!(
        r.code,
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stderr.contains("[init] SIGTERM: cancelling"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .contains("[init] Cancelled during phase wait-control-plane"),
        "{}",
        r.stdout
    );
}

/// Finding 7: with an empty --root and no --apiserver-advertise-address, the error says
/// where the default route is read from under --root and what to pass instead.
#[test]
fn an_empty_root_explains_where_the_advertise_address_comes_from() {
    let t = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubestrap"))
        .args([
            "--root",
            t.path().to_str().unwrap(),
            "init",
            "--non-interactive",
        ])
        .env("KUBESTRAP_LOG_DIR", t.path().join("logs"))
        .env("XDG_STATE_HOME", t.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("localAPIEndpoint.advertiseAddress")
            && err.contains("under --root DIR from DIR/proc/net/route")
            && err.contains("set --apiserver-advertise-address"),
        "{err}"
    );
}
