//! Drives the real `kubestrap init` wizard in a pseudo-terminal (portable-pty) and reads the
//! screen through a VT parser (vt100). Recorded engine runs are replayed through
//! `KUBESTRAP_TUI_REPLAY` (tests/fixtures/tui/*.jsonl). Every wait is bounded; the child is
//! killed by a guard when a test fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod support;

use support::pty::Wizard;

const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tui")
        .join(name)
        .display()
        .to_string()
}

const ENTER: &str = "\r";
const TAB: &str = "\t";
const ESC: &str = "\x1b";
const CTRL_C: &str = "\x03";

/// Goes from the welcome screen to the review screen, adding one apiserver extra arg.
fn fill_wizard(w: &mut Wizard) {
    w.wait_for("This machine", 20);
    w.send(ENTER);
    w.wait_for("Advertise address", 5);
    w.send(ENTER);
    w.wait_for("Kubernetes version", 5);
    w.send(ENTER);
    w.wait_for("Extra arguments for kube-apiserver", 5);
    w.send("a");
    w.send("audit-log-ma");
    w.wait_for("Tab completes: audit-log-maxage", 5);
    w.send("xa");
    w.send(TAB);
    w.send("30");
    w.send(ENTER);
    w.wait_for("= 30", 5);
    w.send(ENTER);
    w.wait_for("kubeadm.yaml", 5);
}

/// The join command as shown on the done screen, lines joined.
fn join_from_screen(screen: &str) -> String {
    let mut lines = screen
        .lines()
        .map(|l| l.trim_matches(|c| c == '│' || c == ' '));
    let mut out = String::new();
    for l in lines.by_ref() {
        if l.starts_with("Join worker nodes") {
            break;
        }
    }
    for l in lines {
        if l.starts_with("The token") || l.is_empty() {
            break;
        }
        // lines break at spaces (before a flag or a hash); a hash longer than the line
        // continues without one
        if !out.is_empty() && (l.starts_with("--") || l.starts_with("sha256:")) {
            out.push(' ');
        }
        out.push_str(l);
    }
    out
}

#[test]
fn wizard_runs_a_dry_run_to_done_and_exports_kubeadm_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let mut w = Wizard::spawn(
        &[
            "init",
            "--dry-run",
            "--root",
            root.to_str().unwrap(),
            "--apiserver-advertise-address",
            "192.0.2.10",
        ],
        dir.path(),
        Some(&fixture("run-ok.jsonl")),
        80,
        24,
    );
    fill_wizard(&mut w);
    let review = w.wait_for("advertiseAddress: 192.0.2.10", 5);
    assert!(review.contains("step 5 of 6"), "{review}");
    assert!(
        review.contains("advertiseAddress: 192.0.2.10") && review.contains("│ flag"),
        "{review}"
    );
    // export kubeadm.yaml
    w.send("x");
    w.wait_for("Export kubeadm.yaml to:", 5);
    w.send(ENTER);
    w.wait_for("kubeadm.yaml exported to kubeadm.yaml", 5);
    let exported = dir.path().join("kubeadm.yaml");
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(
        text.starts_with("apiVersion: kubeadm.k8s.io/v1beta4\n"),
        "{text}"
    );
    assert!(text.contains("\nkind: InitConfiguration\n"), "{text}");
    assert!(
        text.contains("- name: audit-log-maxage\n    value: \"30\""),
        "{text}"
    );
    // exporting again asks before overwriting
    w.send("x");
    w.wait_for("Export kubeadm.yaml to:", 5);
    w.send(ENTER);
    w.wait_for("already exists. Overwrite it?", 5);
    w.send("n");
    // start and run to the end
    w.send(ENTER);
    w.wait_for("running", 5);
    let done = w.wait_for("Dry run finished; nothing was started.", 20);
    let cmd = join_from_screen(&done);
    let replay = std::fs::read_to_string(fixture("run-ok.jsonl")).unwrap();
    let info: serde_json::Value = replay
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "join_ready")
        .unwrap();
    let want = format!(
        "kubestrap join {} --token {} --discovery-token-ca-cert-hash {}",
        info["endpoint"].as_str().unwrap(),
        info["token"].as_str().unwrap(),
        info["ca_cert_hashes"][0].as_str().unwrap()
    );
    assert_eq!(cmd, want, "join command read off the screen:\n{done}");
    // write it to a file
    w.send("w");
    w.wait_for("Write the join command to:", 5);
    w.send(ENTER);
    w.wait_for("join command written to join-command.txt", 5);
    let written = std::fs::read_to_string(dir.path().join("join-command.txt")).unwrap();
    assert_eq!(written, format!("{want}\n"));
    // quit: the join command is printed again on the normal screen
    w.send("q");
    assert_eq!(w.wait_exit(10), 0);
    w.assert_restored();
    let after = w.screen();
    assert!(
        after.contains("Finished dry-running successfully"),
        "{after}"
    );
    // ... with the token secret redacted (no --show-secrets), saying how to get it.
    let raw = w.raw();
    let (id, secret) = info["token"].as_str().unwrap().split_once('.').unwrap();
    let redacted = want.replace(secret, "<redacted>");
    assert!(
        raw.contains(&redacted) && redacted.contains(&format!("--token {id}.<redacted>")),
        "the one-line join command, redacted, is in the scrollback"
    );
    assert!(after.contains("--show-secrets"), "{after}");
    // load the exported file back
    let out = std::process::Command::new(BIN)
        .args(["config", "validate", "--config"])
        .arg(&exported)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "config validate: {stdout}{stderr}");
    eprintln!(
        "config validate of the exported kubeadm.yaml: {}",
        stdout.trim()
    );
    // ... and the real kubeadm of the default version accepts it too.
    if let Some(bins) = support::k8s::bin_dir() {
        let (code, out, err) = support::k8s::run(
            &bins.join("kubeadm"),
            &["config", "validate", "--config", exported.to_str().unwrap()],
            &[],
        );
        assert_eq!(
            code, 0,
            "kubeadm config validate of the wizard's export: {err}{out}"
        );
    }
    // started with --config, the wizard opens on the review screen with the file's values
    let mut w = Wizard::spawn(
        &[
            "init",
            "--dry-run",
            "--config",
            "kubeadm.yaml",
            "--root",
            root.to_str().unwrap(),
        ],
        dir.path(),
        Some(&fixture("run-ok.jsonl")),
        80,
        24,
    );
    let s = w.wait_for("step 5 of 6", 20);
    // the review screen may be drawn in more than one write under load: wait for its body
    let s = if s.contains("file line") {
        s
    } else {
        w.wait_for("file line", 10)
    };
    assert!(s.contains("step 5 of 6"), "{s}");
    w.send("q");
    w.wait_for("Quit the wizard?", 5);
    w.send("y");
    assert_eq!(w.wait_exit(10), 0);
    w.assert_restored();
    let docs: Vec<&str> = text.split("\n---\n").collect();
    let init: serde_yaml::Value = serde_yaml::from_str(docs[0]).unwrap();
    let mut init_map = init.as_mapping().unwrap().clone();
    init_map.remove("apiVersion");
    init_map.remove("kind");
    let _: kubestrap::config::InitConfiguration =
        serde_yaml::from_value(serde_yaml::Value::Mapping(init_map)).expect("InitConfiguration");
    let cluster: serde_yaml::Value = serde_yaml::from_str(docs[1]).unwrap();
    let mut cm = cluster.as_mapping().unwrap().clone();
    cm.remove("apiVersion");
    cm.remove("kind");
    let c: kubestrap::config::ClusterConfiguration =
        serde_yaml::from_value(serde_yaml::Value::Mapping(cm)).expect("ClusterConfiguration");
    assert_eq!(c.networking.pod_subnet, "10.244.0.0/16");
    assert_eq!(c.api_server.extra_args[0].name, "audit-log-maxage");
}

#[test]
fn cancel_in_the_middle_of_a_run_and_before_starting() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wizard::spawn(
        &["init", "--dry-run"],
        dir.path(),
        Some(&fixture("run-slow.jsonl")),
        80,
        24,
    );
    fill_wizard(&mut w);
    w.send(ENTER);
    w.wait_for("running", 5);
    // preflight warned (Swap): the phase list says so, never ✓ (issue 12 item 7)
    let s = w.wait_for("! preflight", 10);
    assert!(!s.contains("✓ preflight"), "{s}");
    w.send(CTRL_C);
    w.wait_for("Cancel the run?", 5);
    w.send("n");
    std::thread::sleep(Duration::from_millis(50));
    assert!(w.screen().contains("running"));
    w.send("q");
    w.wait_for("Cancel the run?", 5);
    w.send("y");
    let s = w.wait_for("The run was cancelled.", 10);
    assert!(s.contains("It stopped after phase"), "{s}");
    assert!(s.contains("Done before it stopped: preflight"), "{s}");
    w.send("q");
    assert_eq!(w.wait_exit(10), 1);
    w.assert_restored();
    assert!(w.screen().contains("init was cancelled"));

    // quitting on the welcome screen asks first and changes nothing
    let mut w = Wizard::spawn(&["init", "--dry-run"], dir.path(), None, 80, 24);
    w.wait_for("This machine", 20);
    w.send(CTRL_C);
    w.wait_for("Quit the wizard?", 5);
    w.send(ESC);
    w.send("q");
    w.wait_for("Quit the wizard?", 5);
    w.send("y");
    // nothing ran, nothing failed: exit 0 as kubeadm would
    assert_eq!(w.wait_exit(10), 0);
    w.assert_restored();
    assert!(w.screen().contains("init was not started"));
}

#[test]
fn a_failed_preflight_is_retried_to_success() {
    let dir = tempfile::tempdir().unwrap();
    let replay = format!("{},{}", fixture("run-fail.jsonl"), fixture("run-ok.jsonl"));
    let mut w = Wizard::spawn(&["init", "--dry-run"], dir.path(), Some(&replay), 80, 24);
    fill_wizard(&mut w);
    w.send(ENTER);
    w.wait_for("phase preflight failed", 10);
    // The failure screen is drawn in several writes under load: wait for its last line.
    let s = w.wait_for("Full log: ", 10);
    assert!(s.contains("phase preflight failed"), "{s}");
    assert!(s.contains("✗ [Swap] swap is on"), "{s}");
    assert!(s.contains("Hint:"), "{s}");
    w.send("r");
    w.wait_for("Dry run finished; nothing was started.", 20);
    w.send("q");
    assert_eq!(w.wait_exit(10), 0);
    w.assert_restored();
}

#[test]
fn sigterm_and_small_terminal_and_no_tty() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wizard::spawn(&["init", "--dry-run"], dir.path(), None, 60, 20);
    w.wait_for("The terminal is too small for the wizard.", 20);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(w.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(w.wait_exit(10), 1);
    w.assert_restored();

    let out = std::process::Command::new(BIN)
        .args(["init", "--dry-run"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("pass --non-interactive"), "{e}");
}

fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // fields after the name: state is [0]; utime [11], stime [12]
    f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
}

/// Measures (and prints) the key-press-to-screen latency and the idle CPU use. Figures, not
/// timed assertions: the test only checks that every key press reached the screen.
#[test]
fn measure_key_latency_and_idle_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wizard::spawn(&["init", "--dry-run"], dir.path(), None, 120, 40);
    w.wait_for("This machine", 20);
    // the background key generation ends before the idle measurement
    w.wait_for("Key pairs generated in the background: 16 of 16", 60);
    w.send(ENTER);
    w.wait_for("Advertise address", 5);
    w.send(TAB);
    w.send(TAB);
    w.wait_for("Optional. A DNS name", 5);
    let mut samples = vec![];
    let word = "abcdefghijklmnopqrstuvwxyzabcd";
    for (i, c) in word.chars().enumerate() {
        let want: String = word.chars().take(i + 1).collect();
        let t = Instant::now();
        w.send(&c.to_string());
        w.wait_for_now(&format!("[{want} "), 5);
        samples.push(t.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    eprintln!(
        "key press to screen: median {:.2} ms, max {:.2} ms over {} presses",
        median.as_secs_f64() * 1000.0,
        samples.last().unwrap().as_secs_f64() * 1000.0,
        samples.len()
    );
    let pid = w.pid();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let t0 = cpu_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let used = (cpu_ticks(pid) - t0) as f64 / hz;
    let wall = start.elapsed().as_secs_f64();
    eprintln!(
        "idle wizard: {:.3} s CPU over {:.1} s = {:.2}% of a core",
        used,
        wall,
        used / wall * 100.0
    );
    w.send(CTRL_C);
    w.wait_for("Quit the wizard?", 5);
    w.send("y");
    assert_eq!(w.wait_exit(10), 0);
    w.assert_restored();
}

/// Measures (and prints) the time from Start to the whole PKI on disk (certs + kubeconfig
/// phases) with RSA-2048 keys the wizard generated in the background, against generating
/// them on demand. Checks that every key came from the pool and the files exist.
#[test]
fn measure_pki_with_pregenerated_rsa_keys() {
    use kubestrap::engine::{EventSink, PhaseCtx};
    use kubestrap::host::{Host, RealHost};
    use kubestrap::pki::{KeyAlgorithm, KeyPool};
    use std::sync::Arc;

    let mut cfg = kubestrap::config::defaults::example_init_config("v1.37.2");
    cfg.cluster.encryption_algorithm = "RSA-2048".into();
    let cfg = Arc::new(cfg);
    let mut pooled = vec![];
    // KUBESTRAP_PKI_BENCH_DIR picks the file system (e.g. a tmpfs, to leave out fsync).
    let base = std::env::var_os("KUBESTRAP_PKI_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    for _ in 0..3 {
        let dir = tempfile::tempdir_in(&base).unwrap();
        let host: Arc<dyn Host> = Arc::new(RealHost::new(dir.path(), false).unwrap());
        let pool = KeyPool::start(KeyAlgorithm::parse("RSA-2048").unwrap(), KeyPool::INIT_KEYS);
        assert!(pool.wait_ready(KeyPool::INIT_KEYS, Duration::from_secs(120)));
        let mut ctx = PhaseCtx::new(cfg.clone(), host.clone(), EventSink::discard());
        ctx.key_pool = Some(pool.clone());
        let t = Instant::now();
        kubestrap::phases::certs::run(&ctx, "all").expect("certs");
        kubestrap::phases::kubeconfig::run(&ctx, "all").expect("kubeconfig");
        pooled.push(t.elapsed());
        assert_eq!(
            pool.served(),
            KeyPool::INIT_KEYS,
            "every key came from the pool"
        );
        for f in [
            "/etc/kubernetes/pki/ca.key",
            "/etc/kubernetes/pki/apiserver.crt",
            "/etc/kubernetes/pki/sa.key",
            "/etc/kubernetes/admin.conf",
            "/etc/kubernetes/super-admin.conf",
        ] {
            assert!(host.exists(Path::new(f)), "{f}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let host: Arc<dyn Host> = Arc::new(RealHost::new(dir.path(), false).unwrap());
    let ctx = PhaseCtx::new(cfg.clone(), host, EventSink::discard());
    let t = Instant::now();
    kubestrap::phases::certs::run(&ctx, "all").expect("certs");
    kubestrap::phases::kubeconfig::run(&ctx, "all").expect("kubeconfig");
    let on_demand = t.elapsed();
    pooled.sort();
    eprintln!(
        "PKI on disk (certs + kubeconfig, RSA-2048): {:.1} ms median of {} with pre-generated keys; {:.1} ms generating keys on demand",
        pooled[pooled.len() / 2].as_secs_f64() * 1000.0,
        pooled.len(),
        on_demand.as_secs_f64() * 1000.0
    );
}

fn openssl_pin(ca: &Path) -> String {
    let pubkey = std::process::Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(ca)
        .output()
        .expect("openssl x509");
    assert!(pubkey.status.success());
    let mut der = std::process::Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "der"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl pkey");
    der.stdin.take().unwrap().write_all(&pubkey.stdout).unwrap();
    let out = der.wait_with_output().unwrap();
    assert!(out.status.success());
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout)))
}

/// The real engine end to end: the wizard runs `init --dry-run` with every phase, and the
/// join command read off the done screen matches the files written (CA pin computed by
/// openssl from ca.crt, endpoint and the typed extra arg in the kube-apiserver manifest).
#[test]
fn real_engine_dry_run_join_command_matches_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let dry = dir.path().join("dry");
    let state = dir.path().join("state");
    std::fs::create_dir(&root).unwrap();
    // KUBESTRAP_INIT_DRYRUN_DIR puts the dry-run files in this test's directory, and
    // XDG_STATE_HOME the run log of this dry run.
    {
        let mut w = Wizard::spawn_env(
            &[
                "init",
                "--dry-run",
                "--root",
                root.to_str().unwrap(),
                "--apiserver-advertise-address",
                "192.0.2.10",
                "--node-name",
                "cp1",
            ],
            dir.path(),
            None,
            80,
            24,
            &[
                ("KUBESTRAP_INIT_DRYRUN_DIR", &dry),
                ("XDG_STATE_HOME", &state),
            ],
        );
        // as a person would: the key pairs are ready before Start
        w.wait_for("Key pairs generated in the background: 16 of 16", 60);
        fill_wizard(&mut w);
        w.send(ENTER);
        let done = w.wait_for("Dry run finished; nothing was started.", 90);
        let cmd = join_from_screen(&done);
        let pin = openssl_pin(&dry.join("etc/kubernetes/pki/ca.crt"));
        assert!(
            cmd.starts_with("kubestrap join 192.0.2.10:6443 --token "),
            "{cmd}\n{done}"
        );
        assert!(
            cmd.ends_with(&format!(" --discovery-token-ca-cert-hash {pin}")),
            "{cmd} vs {pin}\n{done}"
        );
        let token = cmd.split_whitespace().nth(4).unwrap();
        assert!(
            token.len() == 23 && token.as_bytes()[6] == b'.',
            "token {token:?}"
        );
        let manifest =
            std::fs::read_to_string(dry.join("etc/kubernetes/manifests/kube-apiserver.yaml"))
                .unwrap();
        assert!(
            manifest.contains("--advertise-address=192.0.2.10"),
            "{manifest}"
        );
        assert!(manifest.contains("--audit-log-maxage=30"), "{manifest}");
        // the run's event log: how long certs + kubeconfig took with the keys the wizard
        // generated while the answers were typed
        // It is no longer a predictable world-readable file in /tmp ...
        let old_path = std::env::temp_dir().join(format!("kubestrap-init-{}.log", w.pid()));
        assert!(!old_path.exists(), "{}", old_path.display());
        // ... but a new 0600 file in a 0700 directory, without secrets.
        let log_dir = state.join("kubestrap");
        let mode = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode(&log_dir), 0o700);
        let logs: Vec<_> = std::fs::read_dir(&log_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(logs.len(), 1, "{logs:?}");
        let log_path = logs[0].clone();
        assert_eq!(mode(&log_path), 0o600);
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let secret = token.split_once('.').unwrap().1;
        assert!(log.contains("join_ready"), "{log}");
        assert!(!log.contains(secret), "the token secret is in the run log");
        assert!(
            !log.contains("PRIVATE KEY"),
            "a private key is in the run log"
        );
        let ms: u64 = log
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| {
                v["event"] == "phase_finished"
                    && (v["phase"] == "certs" || v["phase"] == "kubeconfig")
            })
            .filter_map(|v| v["elapsed_ms"].as_u64())
            .sum();
        eprintln!(
            "wizard run: certs + kubeconfig phases took {ms} ms (RSA-2048, keys pre-generated)"
        );
        if std::env::var_os("KUBESTRAP_KEEP_LOG").is_none() {
            let _ = std::fs::remove_file(&log_path);
        }
        w.send("q");
        assert_eq!(w.wait_exit(10), 0);
        w.assert_restored();
    }
}

const CTRL_U: &str = "\x15";

/// The screen's text with the frame's borders removed and wrapped lines joined (runs of
/// spaces become one), so a message can be matched whatever its width.
fn flat(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Waits (at most `secs`) until the joined screen ([`flat`]) contains `text`; returns it.
fn wait_msg(w: &Wizard, text: &str, secs: u64) -> String {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = flat(&w.screen());
        if s.contains(text) {
            return s;
        }
        if Instant::now() > end {
            panic!("timed out waiting for {text:?}; screen:\n{}", w.screen());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Clears the focused text field (Ctrl-U) and types `text`.
fn retype(w: &mut Wizard, text: &str) {
    w.send(CTRL_U);
    w.send(text);
}

/// Presses Enter and asserts the wizard stays where it is (on `step`, still showing
/// `message`): Enter does not advance past an invalid field.
fn enter_is_refused(w: &mut Wizard, step: &str, message: &str) {
    w.send(ENTER);
    // the key is handled in order: a later key's effect shows that Enter was handled
    std::thread::sleep(Duration::from_millis(300));
    let s = wait_msg(w, message, 5);
    assert!(s.contains(step), "Enter advanced past {message:?}:\n{s}");
}

/// Issue 12, "Done means": a value of each category of the issue's rules typed into the
/// real wizard's fields in a pseudo-terminal. Each shows its message as typed and Enter does
/// not advance past it; a dry run warns (not refuses) about an advertise address of another
/// machine; after correcting them the export (`x`) is accepted by `kubestrap config
/// validate` and by the real `kubeadm config validate`, and a YAML 1.1 look-alike value
/// (`off`) round-trips quoted.
#[test]
fn every_category_of_bad_value_is_shown_in_the_wizard_and_the_export_loads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let mut w = Wizard::spawn(
        &["init", "--dry-run", "--root", root.to_str().unwrap()],
        dir.path(),
        None,
        120,
        40,
    );
    w.wait_for("This machine", 20);
    w.send(ENTER);
    wait_msg(&w, "Advertise address", 5);
    let net = "step 2 of 6";
    // advertise address: loopback
    retype(&mut w, "127.0.0.1");
    wait_msg(
        &w,
        "Advertise address \"127.0.0.1\" is a loopback address",
        5,
    );
    enter_is_refused(&mut w, net, "\"127.0.0.1\" is a loopback address");
    // ... unexpanded variable
    retype(&mut w, "$NODE_IP");
    wait_msg(
        &w,
        "looks like an unexpanded shell or template variable ($VAR)",
        5,
    );
    enter_is_refused(&mut w, net, "unexpanded shell or template variable");
    // ... an address of another machine: a warning in a dry run
    retype(&mut w, "192.0.2.10");
    let s = wait_msg(&w, "is not an address of any interface of this machine", 5);
    assert!(s.contains("a dry run goes on, a real init"), "{s}");
    assert!(!s.contains("✗ Advertise address"), "{s}");
    // bind port clashing with the kubelet
    w.send(TAB);
    retype(&mut w, "10250");
    wait_msg(&w, "Bind port \"10250\" clashes with the kubelet", 5);
    enter_is_refused(&mut w, net, "clashes with the kubelet");
    retype(&mut w, "6443");
    // control-plane endpoint: template variable
    w.send(TAB);
    retype(&mut w, "{{ .Endpoint }}:6443");
    wait_msg(
        &w,
        "looks like an unexpanded shell or template variable ({{ ... }})",
        5,
    );
    enter_is_refused(&mut w, net, "({{ ... }})");
    retype(&mut w, "");
    // pod subnet: not a CIDR, then the other family than the service subnet
    w.send(TAB);
    retype(&mut w, "10.244.0.0/33");
    wait_msg(&w, "\"10.244.0.0/33\" is not a CIDR", 5);
    enter_is_refused(&mut w, net, "is not a CIDR");
    retype(&mut w, "fd00:10::/56");
    wait_msg(
        &w,
        "is IPv6 only but networking.serviceSubnet \"10.96.0.0/12\" is IPv4 only",
        5,
    );
    enter_is_refused(&mut w, net, "is IPv6 only but");
    // ... and a /24, room for one node: a warning naming the mask flag
    retype(&mut w, "10.244.0.0/24");
    wait_msg(&w, "node-cidr-mask-size-ipv4", 5);
    retype(&mut w, "10.244.0.0/16");
    w.send(ENTER);
    let cluster = "step 3 of 6";
    wait_msg(&w, cluster, 5);
    // version kubestrap does not carry
    retype(&mut w, "v1.99.0");
    wait_msg(&w, "Kubernetes version \"v1.99.0\" is not supported", 5);
    enter_is_refused(&mut w, cluster, "is not supported");
    retype(&mut w, "v1.37.2");
    // node name: ${VAR}
    w.send(TAB);
    retype(&mut w, "${NODE}");
    wait_msg(&w, "Node name \"${NODE}\" looks like an unexpanded", 5);
    enter_is_refused(
        &mut w,
        cluster,
        "Node name \"${NODE}\" looks like an unexpanded",
    );
    retype(&mut w, "cp1");
    // image repository: not a reference; k8s.gcr.io is a warning
    w.send(TAB);
    retype(&mut w, "https://registry.k8s.io");
    wait_msg(&w, "a URL scheme is not part of an image reference", 5);
    enter_is_refused(
        &mut w,
        cluster,
        "a URL scheme is not part of an image reference",
    );
    retype(&mut w, "k8s.gcr.io");
    wait_msg(&w, "is frozen", 5);
    retype(&mut w, "registry.k8s.io");
    w.send(ENTER);
    let args = "step 4 of 6";
    wait_msg(&w, "Extra arguments for kube-apiserver", 5);
    // extra args: an unknown flag name
    w.send("a");
    w.send("featureGates");
    w.send(ENTER);
    wait_msg(
        &w,
        "\"featureGates\" is not a kube-apiserver flag; did you mean feature-gates?",
        5,
    );
    // ... a value the flag's type refuses (the editor stays open on the value)
    w.send(CTRL_U);
    w.send("audit-log-maxage");
    w.send(TAB);
    w.send("ten");
    w.send(ENTER);
    wait_msg(&w, "audit-log-maxage \"ten\" is not a valid value", 5);
    enter_is_refused(&mut w, args, "it takes an integer");
    retype(&mut w, "30");
    w.send(ENTER);
    wait_msg(&w, "= 30", 5);
    // ... a feature gate the version does not have, and an admission plugin name
    w.send("a");
    w.send("feature-gates");
    w.send(TAB);
    w.send("APIServerIdentiy=true");
    w.send(ENTER);
    wait_msg(
        &w,
        "APIServerIdentiy is not a feature gate of kube-apiserver v1.37 (did you mean APIServerIdentity?)",
        5,
    );
    enter_is_refused(&mut w, args, "(did you mean APIServerIdentity?)");
    retype(&mut w, "APIServerIdentity=true");
    w.send(ENTER);
    wait_msg(&w, "= APIServerIdentity=true", 5);
    w.send("a");
    w.send("enable-admission-plugins");
    w.send(TAB);
    w.send("NodeRestriction,AlwaysPullImage");
    w.send(ENTER);
    wait_msg(&w, "AlwaysPullImage (did you mean AlwaysPullImages?)", 5);
    retype(&mut w, "NodeRestriction,AlwaysPullImages");
    w.send(ENTER);
    wait_msg(&w, "= NodeRestriction,AlwaysPullImages", 5);
    // ... an override of a flag kubestrap derives from another answer, where kubeadm breaks
    w.send("a");
    w.send("secure-port");
    w.send(TAB);
    w.send("7443");
    w.send(ENTER);
    wait_msg(
        &w,
        "secure-port \"7443\" overrides --secure-port \"6443\", which kubestrap derives from localAPIEndpoint.bindPort",
        5,
    );
    enter_is_refused(&mut w, args, "set localAPIEndpoint.bindPort instead");
    w.send(ESC);
    // (a key right after Esc would be read as Alt+key)
    std::thread::sleep(Duration::from_millis(300));
    // ... a YAML 1.1 boolean look-alike in a string flag: accepted, exported quoted
    w.send("a");
    w.send("external-hostname");
    w.send(TAB);
    w.send("off");
    w.send(ENTER);
    wait_msg(&w, "= off", 5);
    w.send(ENTER);
    wait_msg(&w, "step 5 of 6", 5);
    // "upload certificates" on, with no control-plane endpoint: the CLI's warning is shown,
    // and the export names the flag in a comment (kubeadm's configuration has no field)
    w.send("u");
    wait_msg(
        &w,
        "[x] Upload certificates for more control-plane nodes",
        5,
    );
    wait_msg(&w, "this cluster cannot take more control-plane nodes", 5);
    w.send("x");
    wait_msg(&w, "Export kubeadm.yaml to:", 5);
    w.send(ENTER);
    wait_msg(&w, "kubeadm.yaml exported to kubeadm.yaml", 5);
    w.send("q");
    wait_msg(&w, "Quit the wizard?", 5);
    w.send("y");
    assert_eq!(w.wait_exit(10), 0);
    w.assert_restored();
    let exported = dir.path().join("kubeadm.yaml");
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(
        text.contains("- name: external-hostname\n    value: \"off\""),
        "{text}"
    );
    assert!(text.contains("advertiseAddress: 192.0.2.10"), "{text}");
    assert!(
        text.starts_with("# Upload certificates for more control-plane nodes")
            && text.lines().next().unwrap().ends_with("--upload-certs"),
        "{text}"
    );
    let out = std::process::Command::new(BIN)
        .args(["config", "validate", "--config"])
        .arg(&exported)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "config validate: {stdout}{stderr}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");
    if let Some(bins) = support::k8s::bin_dir() {
        let (code, out, err) = support::k8s::run(
            &bins.join("kubeadm"),
            &["config", "validate", "--config", exported.to_str().unwrap()],
            &[],
        );
        assert_eq!(
            code, 0,
            "kubeadm config validate of the wizard's export: {err}{out}"
        );
    }
}

/// Issue 12 item 12: changing the key type on the Cluster screen starts generating key pairs
/// of the new type in the background (said in a notice); the welcome screen's count then
/// reaches all of them again.
#[test]
fn changing_the_key_type_regenerates_the_pre_made_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wizard::spawn(&["init", "--dry-run"], dir.path(), None, 120, 40);
    w.wait_for("This machine", 20);
    w.send(ENTER);
    wait_msg(&w, "step 2 of 6", 5);
    w.send(ENTER);
    wait_msg(&w, "step 3 of 6", 5);
    for _ in 0..5 {
        w.send(TAB);
    }
    retype(&mut w, "ECDSA-P256");
    wait_msg(
        &w,
        "Key type ECDSA-P256: generating its key pairs in the background",
        10,
    );
    w.send(ESC);
    std::thread::sleep(Duration::from_millis(300));
    w.send(ESC);
    wait_msg(&w, "Key pairs generated in the background: 16 of 16", 60);
    w.send("q");
    wait_msg(&w, "Quit the wizard?", 5);
    w.send("y");
    assert_eq!(w.wait_exit(10), 0);
    w.assert_restored();
}
