//! Side by side with the real kubeadm: the whole `kubestrap init --dry-run --non-interactive`
//! process against `kubeadm init --dry-run --ignore-preflight-errors=all` on the same config,
//! ECDSA-P256 and RSA-2048, run alternately so both see the same machine load. Prints the
//! median wall time of each and the ratio kubestrap / kubeadm (target: at most 0.5).
//!
//! Needs the binaries of scripts/k8s-bins.sh ($KUBESTRAP_K8S_BIN, or the script's cache).
//! Run: `cargo bench --bench side_by_side` (release build of kubestrap first:
//! `cargo build --release`). `SIDE_BY_SIDE_RUNS` sets the runs per tool (default 15).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const VERSION: &str = "v1.37.2";

fn config(alg: &str) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
localAPIEndpoint:
  advertiseAddress: 192.0.2.10
nodeRegistration:
  name: bench
  criSocket: unix:///var/run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: {VERSION}
encryptionAlgorithm: {alg}
networking:
  podSubnet: 10.244.0.0/16
"
    )
}

fn bins() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("KUBESTRAP_K8S_BIN") {
        return Some(PathBuf::from(d));
    }
    let home = std::env::var_os("HOME")?;
    let d = PathBuf::from(home).join(format!(".cache/kubestrap/k8s/{VERSION}/bin"));
    d.join("kubeadm").is_file().then_some(d)
}

fn kubestrap() -> PathBuf {
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/kubestrap");
    if release.is_file() {
        release
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug/kubestrap")
    }
}

fn time_one(program: &Path, args: &[&str], env: (&str, &Path)) -> Duration {
    let t = Instant::now();
    let st = Command::new(program)
        .args(args)
        .env(env.0, env.1)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start");
    let d = t.elapsed();
    assert!(st.success(), "{} {args:?} failed", program.display());
    d
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let Some(bins) = bins() else {
        println!("side_by_side: skipped: no kubeadm (run scripts/k8s-bins.sh)");
        return;
    };
    let kubeadm = bins.join("kubeadm");
    let ks = kubestrap();
    if !ks.is_file() {
        println!("side_by_side: skipped: build kubestrap first (cargo build --release)");
        return;
    }
    let runs: usize = if quick {
        1
    } else {
        std::env::var("SIDE_BY_SIDE_RUNS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(15)
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    println!("kubestrap: {}", ks.display());
    for alg in ["ECDSA-P256", "RSA-2048"] {
        let cfg = tmp.path().join(format!("{alg}.yaml"));
        std::fs::write(&cfg, config(alg)).unwrap();
        let cfg_s = cfg.to_str().unwrap().to_string();
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for i in 0..runs {
            let d1 = tmp.path().join(format!("ks-{alg}-{i}"));
            let d2 = tmp.path().join(format!("ka-{alg}-{i}"));
            std::fs::create_dir_all(&d2).unwrap();
            ours.push(time_one(
                &ks,
                &["init", "--dry-run", "--non-interactive", "--config", &cfg_s],
                ("KUBESTRAP_INIT_DRYRUN_DIR", &d1),
            ));
            theirs.push(time_one(
                &kubeadm,
                &[
                    "init",
                    "--dry-run",
                    "--config",
                    &cfg_s,
                    "--ignore-preflight-errors=all",
                ],
                ("KUBEADM_INIT_DRYRUN_DIR", &d2),
            ));
        }
        let (a, b) = (median(ours), median(theirs));
        println!(
            "init --dry-run {alg}: kubestrap median {:.1} ms, kubeadm {VERSION} median {:.1} ms, ratio {:.2} ({runs} runs each, alternating)",
            a.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            a.as_secs_f64() / b.as_secs_f64()
        );
    }
}
