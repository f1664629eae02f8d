//! A static pod runner for tests: it plays the kubelet for the control plane's static pods.
//!
//! It watches `<root>/etc/kubernetes/manifests`, and as each manifest appears runs each
//! container's `command` + `args` as a process of the real binary of the same name (from the
//! folder of scripts/k8s-bins.sh), in a network namespace when given. The only rewriting is
//! the hostPath mapping `--root` uses: a flag value under a container's `mountPath` becomes
//! `<root>/<hostPath>/rest` (a hostPath already under `<root>` is kept as it is). Containers
//! that exit are restarted with the kubelet's crash-loop back-off (10 s, doubling). Logs are
//! kept per container under `<work>/cri/<id>.log`, and a `crictl` stand-in in `<work>/bin`
//! answers `ps -a [--name N] [-q|-o json]` and `logs [--tail N] ID` from them, as crictl would
//! for a kubelet's containers. It also serves the kubelet's healthz (127.0.0.1:10248 in the
//! namespace) and can register a Node with kubelet.conf once the apiserver answers.
//! As the kubelet does, it restarts a pod when its manifest changes: the running container
//! is stopped (SIGTERM, SIGKILL after 10 s) and the new manifest's command started. With
//! [`StaticPodRunner::start_with`] the binary follows the image tag of each manifest
//! (`registry.k8s.io/kube-apiserver:v1.36.3` runs the v1.36.3 binary), and a whole image can
//! be replaced by another program (a broken binary for a test).
//! Everything stops and is reaped on drop.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use k8s_openapi::api::core::v1::Pod;

/// What the runner does.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// The `--root` kubestrap writes under.
    pub root: PathBuf,
    /// The folder of the real binaries.
    pub bins: PathBuf,
    /// The network namespace the pods run in (`None`: this one).
    pub netns: Option<String>,
    /// The runner's folder: logs, the crictl stand-in and its state.
    pub work: PathBuf,
    /// Components (pod names) never started, as if the kubelet could not run them.
    pub skip: Vec<String>,
    /// Register this Node with `<root>/etc/kubernetes/kubelet.conf` once the apiserver answers.
    pub register_node: Option<String>,
    /// Serve the kubelet's healthz on 127.0.0.1:10248.
    pub kubelet_healthz: bool,
}

/// Which program runs a manifest's image (shared with the watch thread, changeable while the
/// runner runs).
#[derive(Debug, Clone, Default)]
pub struct Images {
    /// Image tag → folder of that version's binaries (`v1.36.3` and `3.6.8-0` → the v1.36.3
    /// folder). A tag not listed runs from [`RunnerOptions::bins`].
    pub tag_bins: BTreeMap<String, PathBuf>,
    /// Whole image reference → the program run instead of the binary.
    pub replace: BTreeMap<String, PathBuf>,
    /// Publish a mirror Pod of each static pod (`<pod>-<node>` in kube-system, with the
    /// kubelet's `kubernetes.io/config.*` annotations and the node's ownerReference) through
    /// kubelet.conf once the Node is registered, replaced when the manifest changes, as the
    /// kubelet does; and keep the Node Ready as the kubelet's status updates and Lease renewals
    /// do (every 10 s), so the node lifecycle controller does not mark it NotReady. Needs
    /// [`RunnerOptions::register_node`].
    pub mirror_pods: bool,
}

impl Images {
    /// The folder and program for `image` whose command starts with `binary`.
    fn program(&self, image: &str, binary: &str, default: &Path) -> PathBuf {
        if let Some(p) = self.replace.get(image) {
            return p.clone();
        }
        let tag = image
            .rsplit('/')
            .next()
            .and_then(|l| l.split_once(':'))
            .map(|(_, t)| t)
            .unwrap_or("");
        self.tag_bins
            .get(tag)
            .map(PathBuf::as_path)
            .unwrap_or(default)
            .join(binary)
    }
}

/// One container run.
#[derive(Debug)]
struct Container {
    id: String,
    attempt: u32,
    child: Option<Child>,
    pid: u32,
    started: SystemTime,
    exit_code: Option<i32>,
}

/// One static pod.
#[derive(Debug)]
struct PodRun {
    image: String,
    argv: Vec<String>,
    /// The manifest's bytes this pod was started from.
    manifest: Vec<u8>,
    /// The container id prefix: the pod name, `-g<N>` after the N-th manifest change.
    key: String,
    containers: Vec<Container>,
    restart_at: Option<Instant>,
}

/// Shared state: pods by name, and events for reports.
#[derive(Debug, Default)]
struct State {
    pods: BTreeMap<String, PodRun>,
    /// PIDs of containers of pods replaced after a manifest change.
    replaced_pids: Vec<u32>,
    /// How many times each pod was restarted for a changed manifest.
    manifest_restarts: BTreeMap<String, usize>,
    /// Pod name → the config hash of its published mirror Pod.
    mirrors: BTreeMap<String, String>,
    node_registered: bool,
    log: Vec<String>,
}

/// The running runner; stops every process it started (SIGTERM, then SIGKILL after 5 s) and
/// reaps it on drop.
#[derive(Debug)]
pub struct StaticPodRunner {
    opts: RunnerOptions,
    images: Arc<Mutex<Images>>,
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    threads: Vec<JoinHandle<()>>,
    started: Instant,
}

/// The kubelet's crash-loop back-off after `restarts` exits (10 s doubling, at most 5 min).
pub fn backoff(restarts: u32) -> Duration {
    Duration::from_secs((10u64 << restarts.min(5)).min(300))
}

/// Maps `value` (a flag value, possibly comma-separated) through `mounts`
/// (`mountPath` → host path under the root), longest mountPath first, on whole path components.
pub fn map_paths(value: &str, mounts: &[(String, PathBuf)]) -> String {
    value
        .split(',')
        .map(|part| {
            for (mp, host) in mounts {
                if part == mp {
                    return host.display().to_string();
                }
                if let Some(rest) = part.strip_prefix(mp.as_str())
                    && rest.starts_with('/')
                {
                    return format!("{}{rest}", host.display());
                }
            }
            part.to_string()
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Where the hostPath `path` of a manifest lives: under `root` as `--root` maps it, except a
/// path already under `root` (as in manifests the real kubeadm wrote with its
/// `certificatesDir` / etcd `dataDir` set under the test's root), which is kept.
pub fn host_path(path: &str, root: &Path) -> PathBuf {
    if Path::new(path).starts_with(root) {
        PathBuf::from(path)
    } else {
        root.join(path.trim_start_matches('/'))
    }
}

/// The command line a kubelet would run for the first container of `pod`, with the binary
/// from `bins` and hostPath volumes mapped under `root`. Creates `DirectoryOrCreate` dirs.
pub fn command_line(pod: &Pod, root: &Path, bins: &Path) -> Result<(String, Vec<String>), String> {
    command_line_with(pod, root, bins, &Images::default())
}

/// [`command_line`] with the program chosen by `images`.
pub fn command_line_with(
    pod: &Pod,
    root: &Path,
    bins: &Path,
    images: &Images,
) -> Result<(String, Vec<String>), String> {
    let spec = pod.spec.as_ref().ok_or("no spec")?;
    let c = spec.containers.first().ok_or("no container")?;
    let mut hostpaths = BTreeMap::new();
    for v in spec.volumes.iter().flatten() {
        if let Some(hp) = &v.host_path {
            let p = host_path(&hp.path, root);
            if hp.type_.as_deref() == Some("DirectoryOrCreate") {
                fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            }
            hostpaths.insert(v.name.clone(), p);
        }
    }
    let mut mounts: Vec<(String, PathBuf)> = c
        .volume_mounts
        .iter()
        .flatten()
        .filter_map(|m| {
            hostpaths
                .get(&m.name)
                .map(|h| (m.mount_path.trim_end_matches('/').to_string(), h.clone()))
        })
        .collect();
    mounts.sort_by_key(|(mp, _)| std::cmp::Reverse(mp.len()));
    let mut words: Vec<String> = c
        .command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect();
    if words.is_empty() {
        return Err("empty command".into());
    }
    let image = c.image.clone().unwrap_or_default();
    let bin = images.program(&image, &words[0], bins);
    words[0] = bin.display().to_string();
    for w in words.iter_mut().skip(1) {
        if let Some((k, v)) = w.split_once('=')
            && k.starts_with("--")
        {
            *w = format!("{k}={}", map_paths(v, &mounts));
        } else {
            *w = map_paths(w, &mounts);
        }
    }
    Ok((c.image.clone().unwrap_or_default(), words))
}

impl StaticPodRunner {
    /// Starts watching; writes the crictl stand-in to `<work>/bin/crictl`.
    pub fn start(opts: RunnerOptions) -> StaticPodRunner {
        Self::start_with(opts, Images::default())
    }

    /// Like [`StaticPodRunner::start`], each image run as `images` says.
    pub fn start_with(opts: RunnerOptions, images: Images) -> StaticPodRunner {
        let images = Arc::new(Mutex::new(images));
        let cri = opts.work.join("cri");
        fs::create_dir_all(&cri).unwrap();
        fs::create_dir_all(opts.work.join("bin")).unwrap();
        write_crictl(&opts.work.join("bin/crictl"), &cri);
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(State::default()));
        let mut threads = Vec::new();
        {
            let (o, s, st, im) = (opts.clone(), stop.clone(), state.clone(), images.clone());
            threads.push(std::thread::spawn(move || watch(o, s, st, im)));
        }
        if opts.kubelet_healthz {
            let (o, s) = (opts.clone(), stop.clone());
            threads.push(std::thread::spawn(move || healthz(o, s)));
        }
        if opts.register_node.is_some() {
            let (o, s, st) = (opts.clone(), stop.clone(), state.clone());
            threads.push(std::thread::spawn(move || register(o, s, st)));
            if images.lock().unwrap().mirror_pods {
                let (o, s, st) = (opts.clone(), stop.clone(), state.clone());
                threads.push(std::thread::spawn(move || mirror(o, s, st)));
            }
        }
        StaticPodRunner {
            opts,
            images,
            stop,
            state,
            threads,
            started: Instant::now(),
        }
    }

    /// The folder holding the `crictl` stand-in (put it first on the PATH of kubestrap).
    pub fn bin_dir(&self) -> PathBuf {
        self.opts.work.join("bin")
    }

    /// PIDs of the processes running now.
    pub fn pids(&self) -> Vec<u32> {
        let st = self.state.lock().unwrap();
        st.pods
            .values()
            .flat_map(|p| p.containers.iter())
            .filter(|c| c.child.is_some())
            .map(|c| c.pid)
            .collect()
    }

    /// Every PID the runner ever started.
    pub fn all_pids(&self) -> Vec<u32> {
        let st = self.state.lock().unwrap();
        st.pods
            .values()
            .flat_map(|p| p.containers.iter())
            .map(|c| c.pid)
            .chain(st.replaced_pids.iter().copied())
            .collect()
    }

    /// Changes which program runs an image (takes effect at the next start).
    pub fn set_images(&self, f: impl FnOnce(&mut Images)) {
        f(&mut self.images.lock().unwrap());
    }

    /// The image pod `name` runs now.
    pub fn image(&self, name: &str) -> Option<String> {
        self.state
            .lock()
            .unwrap()
            .pods
            .get(name)
            .map(|p| p.image.clone())
    }

    /// How many times pod `name` was restarted because its manifest changed.
    pub fn manifest_restarts(&self, name: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .manifest_restarts
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// The PID of pod `name`'s running container.
    pub fn pid(&self, name: &str) -> Option<u32> {
        let st = self.state.lock().unwrap();
        let c = st.pods.get(name)?.containers.last()?;
        c.child.is_some().then_some(c.pid)
    }

    /// The names of the pods started so far.
    pub fn pods(&self) -> Vec<String> {
        self.state.lock().unwrap().pods.keys().cloned().collect()
    }

    /// The command line run for pod `name`.
    pub fn argv(&self, name: &str) -> Option<Vec<String>> {
        self.state
            .lock()
            .unwrap()
            .pods
            .get(name)
            .map(|p| p.argv.clone())
    }

    /// How many times pod `name`'s container exited.
    pub fn exits(&self, name: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .pods
            .get(name)
            .map(|p| p.containers.iter().filter(|c| c.child.is_none()).count())
            .unwrap_or(0)
    }

    /// True once the Node was registered.
    pub fn node_registered(&self) -> bool {
        self.state.lock().unwrap().node_registered
    }

    /// The runner's own log (starts, exits, registrations), with seconds since start.
    pub fn events(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    /// The last `n` lines of every container's log, for failure reports.
    pub fn log_tails(&self, n: usize) -> String {
        let st = self.state.lock().unwrap();
        let mut out = String::new();
        for (name, p) in &st.pods {
            for c in &p.containers {
                let text =
                    fs::read_to_string(self.opts.work.join("cri").join(format!("{}.log", c.id)))
                        .unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                out.push_str(&format!(
                    "----- {name} attempt {} (exit {:?}) -----\n{}\n",
                    c.attempt,
                    c.exit_code,
                    lines[lines.len().saturating_sub(n)..].join("\n")
                ));
            }
        }
        out.push_str("----- runner -----\n");
        out.push_str(&st.log.join("\n"));
        out
    }

    /// Stops everything now (also done on drop).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for StaticPodRunner {
    fn drop(&mut self) {
        self.stop();
    }
}

fn note(state: &Mutex<State>, start: Instant, msg: String) {
    state
        .lock()
        .unwrap()
        .log
        .push(format!("{:7.3}s {msg}", start.elapsed().as_secs_f64()));
}

fn spawn(
    opts: &RunnerOptions,
    name: &str,
    argv: &[String],
    attempt: u32,
) -> Result<Container, String> {
    let id = format!("{name}-{attempt}");
    let log_path = opts.work.join("cri").join(format!("{id}.log"));
    let log = fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .current_dir(&opts.work);
    match &opts.netns {
        Some(ns) => super::netns::command_in(&mut cmd, ns),
        None => {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl only, between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
    }
    let child = cmd.spawn().map_err(|e| format!("{}: {e}", argv[0]))?;
    Ok(Container {
        id,
        attempt,
        pid: child.id(),
        child: Some(child),
        started: SystemTime::now(),
        exit_code: None,
    })
}

/// The watch loop: start pods as manifests appear, restart exited ones after the back-off,
/// keep the crictl state current; on stop, terminate and reap every process.
/// Stops `child` as the kubelet stops a container: SIGTERM, then SIGKILL after 10 s; reaps it.
fn terminate(child: &mut Child) -> Option<i32> {
    // SAFETY: kill on the PID of a child we have not reaped yet.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait().ok().map(|s| s.code().unwrap_or(-1))
}

fn watch(
    opts: RunnerOptions,
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    images: Arc<Mutex<Images>>,
) {
    let start = Instant::now();
    let dir = opts.root.join("etc/kubernetes/manifests");
    while !stop.load(Ordering::SeqCst) {
        let mut changed = false;
        let mut names: Vec<PathBuf> = fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        for path in names {
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let Ok(data) = fs::read(&path) else { continue };
            let Ok(pod) = serde_yaml::from_slice::<Pod>(&data) else {
                continue;
            };
            let name = pod.metadata.name.clone().unwrap_or_default();
            if opts.skip.contains(&name) {
                continue;
            }
            let old = state.lock().unwrap().pods.remove(&name);
            if let Some(mut old) = old {
                if old.manifest == data {
                    state.lock().unwrap().pods.insert(name, old);
                    continue;
                }
                // The manifest changed: the kubelet stops the pod and starts the new one.
                for c in old.containers.iter_mut() {
                    if let Some(ch) = c.child.as_mut() {
                        c.exit_code = terminate(ch);
                        c.child = None;
                    }
                }
                let mut st = state.lock().unwrap();
                st.replaced_pids
                    .extend(old.containers.iter().map(|c| c.pid));
                *st.manifest_restarts.entry(name.clone()).or_default() += 1;
                drop(st);
                note(
                    &state,
                    start,
                    format!("{name}: manifest changed; stopped the old container"),
                );
            }
            let im = images.lock().unwrap().clone();
            let key = match state.lock().unwrap().manifest_restarts.get(&name) {
                Some(n) => format!("{name}-g{n}"),
                None => name.clone(),
            };
            match command_line_with(&pod, &opts.root, &opts.bins, &im) {
                Ok((image, argv)) => {
                    let c = spawn(&opts, &key, &argv, 0);
                    let mut st = state.lock().unwrap();
                    let containers = match c {
                        Ok(c) => vec![c],
                        Err(e) => {
                            st.log.push(format!("cannot start {name}: {e}"));
                            vec![]
                        }
                    };
                    st.pods.insert(
                        name.clone(),
                        PodRun {
                            image,
                            argv,
                            manifest: data,
                            key,
                            containers,
                            restart_at: None,
                        },
                    );
                    drop(st);
                    note(&state, start, format!("started {name}"));
                    changed = true;
                }
                Err(e) => note(&state, start, format!("{}: {e}", path.display())),
            }
        }
        {
            let mut st = state.lock().unwrap();
            let mut msgs = Vec::new();
            for (name, p) in st.pods.iter_mut() {
                let Some(last) = p.containers.last_mut() else {
                    continue;
                };
                if let Some(child) = last.child.as_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        last.exit_code = Some(status.code().unwrap_or(-1));
                        last.child = None;
                        let restarts = last.attempt;
                        p.restart_at = Some(Instant::now() + backoff(restarts));
                        msgs.push(format!(
                            "{name} attempt {} exited with {:?}; restart in {:?}",
                            last.attempt,
                            last.exit_code,
                            backoff(restarts)
                        ));
                        changed = true;
                    }
                } else if p.restart_at.is_some_and(|t| Instant::now() >= t) {
                    let attempt = last.attempt + 1;
                    p.restart_at = None;
                    match spawn(&opts, &p.key, &p.argv, attempt) {
                        Ok(c) => p.containers.push(c),
                        Err(e) => msgs.push(format!("cannot restart {name}: {e}")),
                    }
                    msgs.push(format!("restarted {name} (attempt {attempt})"));
                    changed = true;
                }
            }
            for m in msgs {
                st.log
                    .push(format!("{:7.3}s {m}", start.elapsed().as_secs_f64()));
            }
            if changed {
                write_cri_state(&opts.work.join("cri"), &st);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Stop: SIGTERM everything, wait up to 5 s, then SIGKILL, and reap.
    let mut st = state.lock().unwrap();
    let mut running: Vec<&mut Child> = st
        .pods
        .values_mut()
        .flat_map(|p| p.containers.iter_mut())
        .filter_map(|c| c.child.as_mut())
        .collect();
    for c in running.iter() {
        // SAFETY: kill on the PID of a child we have not reaped yet.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        running.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for c in running.iter_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
    for c in st.pods.values_mut().flat_map(|p| p.containers.iter_mut()) {
        c.child = None;
    }
}

fn ts(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Writes `ps-<name>.json` / `ps-<name>.ids` (and `ps-.json`, `ps-.ids` for all), newest
/// container first, as `crictl ps -a -o json` / `-q` print them.
fn write_cri_state(dir: &Path, st: &State) {
    let mut all = Vec::new();
    for (name, p) in &st.pods {
        let mut list = Vec::new();
        for c in p.containers.iter().rev() {
            let state = if c.child.is_some() {
                "CONTAINER_RUNNING"
            } else {
                "CONTAINER_EXITED"
            };
            list.push(serde_json::json!({
                "id": c.id,
                "podSandboxId": format!("{name}-sandbox"),
                "metadata": {"name": name, "attempt": c.attempt},
                "image": {"image": p.image},
                "imageRef": p.image,
                "state": state,
                "createdAt": ts(c.started).to_string(),
                "labels": {
                    "io.kubernetes.container.name": name,
                    "io.kubernetes.pod.name": format!("{name}-node"),
                    "io.kubernetes.pod.namespace": "kube-system",
                },
                "annotations": {"io.kubernetes.container.restartCount": c.attempt.to_string()},
            }));
        }
        write_ps(dir, name, &list);
        all.extend(list);
    }
    write_ps(dir, "", &all);
}

fn write_ps(dir: &Path, name: &str, list: &[serde_json::Value]) {
    let json = serde_json::json!({ "containers": list });
    let ids: Vec<String> = list
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect();
    let tmp = dir.join(format!(".ps-{name}.tmp"));
    fs::write(&tmp, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    fs::rename(&tmp, dir.join(format!("ps-{name}.json"))).unwrap();
    let mut ids = ids.join("\n");
    ids.push('\n');
    fs::write(&tmp, ids).unwrap();
    fs::rename(&tmp, dir.join(format!("ps-{name}.ids"))).unwrap();
}

/// The crictl stand-in: a shell script reading the runner's state folder.
fn write_crictl(path: &Path, cri: &Path) {
    let script = format!(
        r#"#!/bin/sh
# crictl stand-in of the test static pod runner: ps and logs of the runner's containers.
S='{}'
cmd=; name=; json=; tail=; id=
while [ $# -gt 0 ]; do
  case "$1" in
    -r|--runtime-endpoint|-i|--image-endpoint|--timeout|-t) shift ;;
    --name) shift; name=$1 ;;
    --name=*) name=${{1#--name=}} ;;
    -o|--output) shift; [ "$1" = json ] && json=1 ;;
    -o=json|--output=json) json=1 ;;
    --tail) shift; tail=$1 ;;
    --tail=*) tail=${{1#--tail=}} ;;
    -*) ;;
    *) if [ -z "$cmd" ]; then cmd=$1; else id=$1; fi ;;
  esac
  shift
done
case "$cmd" in
  ps)
    if [ -n "$json" ]; then cat "$S/ps-$name.json" 2>/dev/null || echo '{{"containers":[]}}'
    else cat "$S/ps-$name.ids" 2>/dev/null; fi ;;
  logs)
    [ -f "$S/$id.log" ] || {{ echo "container $id not found" >&2; exit 1; }}
    if [ -n "$tail" ]; then tail -n "$tail" "$S/$id.log"; else cat "$S/$id.log"; fi ;;
  *) echo "crictl stand-in: '$cmd' is not supported" >&2; exit 1 ;;
esac
"#,
        cri.display()
    );
    fs::write(path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Serves `ok` on 127.0.0.1:10248 (in the namespace) until stop, as the kubelet's healthz.
fn healthz(opts: RunnerOptions, stop: Arc<AtomicBool>) {
    if let Some(ns) = &opts.netns {
        super::netns::enter(ns);
    }
    let l = std::net::TcpListener::bind("127.0.0.1:10248").expect("kubelet healthz port");
    l.set_nonblocking(true).unwrap();
    while !stop.load(Ordering::SeqCst) {
        match l.accept() {
            Ok((mut s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The kubelet's config hash of a manifest (here: the first 32 hex digits of its SHA-256).
fn config_hash(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))[..32].to_string()
}

/// Runs kubectl with kubelet.conf in the runner's namespace (each request bounded by
/// `--request-timeout`; deletes do not wait); (success, stdout, stderr).
fn kubelet_kubectl(opts: &RunnerOptions, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(opts.bins.join("kubectl"));
    cmd.arg("--kubeconfig")
        .arg(opts.root.join("etc/kubernetes/kubelet.conf"))
        .arg("--request-timeout=5s")
        .args(args)
        .stdin(Stdio::null());
    if let Some(ns) = &opts.netns {
        super::netns::command_in(&mut cmd, ns);
    }
    match cmd.output() {
        Ok(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (false, String::new(), e.to_string()),
    }
}

/// The kubelet's heartbeat: the Node's Ready condition and its Lease in kube-node-lease,
/// through kubelet.conf. Returns the error of the first call that failed.
fn heartbeat(opts: &RunnerOptions, node: &str) -> Result<(), String> {
    let now = time_now_rfc3339();
    // The node may update but not GET nodes/status: read the Node, replace its status.
    let (ok, out, err) = kubelet_kubectl(opts, &["get", "node", node, "-o", "json"]);
    if !ok {
        return Err(err);
    }
    let mut n: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    n["status"]["conditions"] = serde_json::json!([{
        "type": "Ready", "status": "True", "reason": "KubeletReady",
        "message": "the test's static pod runner is posting ready status",
        "lastHeartbeatTime": now, "lastTransitionTime": now,
    }]);
    let file = opts.work.join("node-status.json");
    fs::write(&file, n.to_string()).map_err(|e| e.to_string())?;
    let (ok, _, err) = kubelet_kubectl(
        opts,
        &[
            "replace",
            "--subresource=status",
            "-f",
            file.to_str().unwrap(),
        ],
    );
    if !ok {
        return Err(err);
    }
    let micro = now.replace('Z', ".000000Z");
    let lease = serde_json::json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": node, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": micro},
    });
    let file = opts.work.join("lease.json");
    fs::write(&file, lease.to_string()).map_err(|e| e.to_string())?;
    let (ok, _, err) = kubelet_kubectl(opts, &["apply", "-f", file.to_str().unwrap()]);
    if ok { Ok(()) } else { Err(err) }
}

/// Now as RFC 3339 in UTC, whole seconds (`2026-12-07T07:19:51Z`).
fn time_now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Publishes the mirror Pods (see [`Images::mirror_pods`]) every second and the heartbeat
/// every 10 s until stop.
fn mirror(opts: RunnerOptions, stop: Arc<AtomicBool>, state: Arc<Mutex<State>>) {
    let start = Instant::now();
    let node = opts.register_node.clone().unwrap();
    let mut uid = String::new();
    let mut last_beat: Option<Instant> = None;
    let mut beat_error = String::new();
    while !stop.load(Ordering::SeqCst) {
        for _ in 0..10 {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if !state.lock().unwrap().node_registered {
            continue;
        }
        if last_beat.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            last_beat = Some(Instant::now());
            match heartbeat(&opts, &node) {
                Ok(()) => beat_error.clear(),
                Err(e) if e != beat_error => {
                    note(
                        &state,
                        start,
                        format!("heartbeat of Node {node}: {}", e.trim()),
                    );
                    beat_error = e;
                }
                Err(_) => {}
            }
        }
        if uid.is_empty() {
            let (ok, out, _) = kubelet_kubectl(
                &opts,
                &["get", "node", &node, "-o", "jsonpath={.metadata.uid}"],
            );
            if !ok {
                continue;
            }
            uid = out.trim().to_string();
        }
        let todo: Vec<(String, Vec<u8>, String)> = {
            let st = state.lock().unwrap();
            st.pods
                .iter()
                .filter(|(n, p)| st.mirrors.get(*n) != Some(&config_hash(&p.manifest)))
                .map(|(n, p)| (n.clone(), p.manifest.clone(), config_hash(&p.manifest)))
                .collect()
        };
        for (name, manifest, hash) in todo {
            let Ok(mut pod) = serde_yaml::from_slice::<serde_json::Value>(&manifest) else {
                continue;
            };
            let mirror_name = format!("{name}-{node}");
            pod["metadata"]["name"] = mirror_name.clone().into();
            pod["metadata"]["namespace"] = "kube-system".into();
            let ann = &mut pod["metadata"]["annotations"];
            if !ann.is_object() {
                *ann = serde_json::json!({});
            }
            ann["kubernetes.io/config.hash"] = hash.clone().into();
            ann["kubernetes.io/config.mirror"] = hash.clone().into();
            ann["kubernetes.io/config.source"] = "file".into();
            ann["kubernetes.io/config.seen"] = "2026-01-01T00:00:00Z".into();
            pod["metadata"]["ownerReferences"] = serde_json::json!([{
                "apiVersion": "v1", "kind": "Node", "name": node, "uid": uid, "controller": true
            }]);
            pod["spec"]["nodeName"] = node.clone().into();
            let file = opts.work.join(format!("mirror-{name}.json"));
            if fs::write(&file, serde_json::to_vec(&pod).unwrap()).is_err() {
                continue;
            }
            let published = state.lock().unwrap().mirrors.contains_key(&name);
            if published {
                let _ = kubelet_kubectl(
                    &opts,
                    &[
                        "delete",
                        "pod",
                        "-n",
                        "kube-system",
                        &mirror_name,
                        "--grace-period=0",
                        "--force",
                        "--ignore-not-found",
                        "--wait=false",
                    ],
                );
            }
            let (ok, _, err) = kubelet_kubectl(&opts, &["create", "-f", file.to_str().unwrap()]);
            if ok {
                state.lock().unwrap().mirrors.insert(name.clone(), hash);
                note(&state, start, format!("published mirror Pod {mirror_name}"));
            } else if err.contains("AlreadyExists") {
                // An older mirror Pod is still there (its deletion failed while the apiserver
                // restarted): delete it now, publish at the next round.
                let _ = kubelet_kubectl(
                    &opts,
                    &[
                        "delete",
                        "pod",
                        "-n",
                        "kube-system",
                        &mirror_name,
                        "--grace-period=0",
                        "--force",
                        "--ignore-not-found",
                        "--wait=false",
                    ],
                );
            } else {
                note(
                    &state,
                    start,
                    format!("mirror Pod {mirror_name}: {}", err.trim()),
                );
            }
        }
    }
}

/// Creates the Node with kubelet.conf's identity once the apiserver accepts it, as the
/// kubelet's registration does (retried every second until stop).
fn register(opts: RunnerOptions, stop: Arc<AtomicBool>, state: Arc<Mutex<State>>) {
    let start = Instant::now();
    let name = opts.register_node.clone().unwrap();
    let node = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
            "beta.kubernetes.io/os": "linux",
        }},
    });
    let file = opts.work.join("node.json");
    fs::write(&file, serde_json::to_vec(&node).unwrap()).unwrap();
    let kubeconfig = opts.root.join("etc/kubernetes/kubelet.conf");
    let mut last = String::new();
    while !stop.load(Ordering::SeqCst) {
        let api_up = state
            .lock()
            .unwrap()
            .pods
            .get("kube-apiserver")
            .is_some_and(|p| p.containers.last().is_some_and(|c| c.child.is_some()));
        if api_up && kubeconfig.exists() {
            let mut cmd = Command::new(opts.bins.join("kubectl"));
            cmd.arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["create", "--request-timeout=5s", "-f"])
                .arg(&file);
            if let Some(ns) = &opts.netns {
                super::netns::command_in(&mut cmd, ns);
            }
            if let Ok(out) = cmd.output() {
                let err = String::from_utf8_lossy(&out.stderr).into_owned();
                if out.status.success() || err.contains("AlreadyExists") {
                    let mut st = state.lock().unwrap();
                    st.node_registered = true;
                    st.log.push(format!(
                        "{:7.3}s registered Node {name} with kubelet.conf",
                        start.elapsed().as_secs_f64()
                    ));
                    return;
                }
                last = err;
            }
        }
        for _ in 0..10 {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    if !last.is_empty() {
        note(
            &state,
            start,
            format!("Node registration's last error: {last}"),
        );
    }
}
