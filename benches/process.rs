//! Whole-process and machine-limit figures (issue 17):
//!
//! - `kubestrap init --dry-run --non-interactive` as a process, ECDSA-P256 keys, on this
//!   machine (real preflight; every file written and synced under a new temporary directory,
//!   removed at the end): wall time. Target: under 60 ms.
//! - The RSA-2048 PKI of a non-interactive init (16 key pairs, the certs and kubeconfig
//!   phases run leaf by leaf by the engine, with the key pool `init` starts), against the
//!   machine's limit measured in the same run: one aws-lc-rs RSA-2048 key pair × 16 ÷ cores.
//!   Target: at most 1.2 × that limit. Measured with the root on tmpfs (`/dev/shm`), where
//!   fsync costs nothing, so that the figure is the CPU work the limit is about; the disk
//!   variant is benchmarked too. The ratio is printed as `rsa-2048 pki (tmpfs root): ...`.
//!
//! Run: `cargo bench --bench process`

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kubestrap::config::defaults::example_init_config;
use kubestrap::engine::{EventSink, PhaseCtx, Plan, RunOutcome, run_workflow};
use kubestrap::host::RealHost;
use kubestrap::pki::KeyAlgorithm;

const BIN: &str = env!("CARGO_BIN_EXE_kubestrap");

/// A kubeadm.yaml that asks for ECDSA-P256 keys.
fn ecdsa_config(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("kubeadm.yaml");
    let mut f = std::fs::File::create(&p).expect("config file");
    f.write_all(
        b"apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nencryptionAlgorithm: ECDSA-P256\n",
    )
    .expect("write config");
    p
}

fn dry_run_process(config: &std::path::Path) {
    let status = Command::new(BIN)
        .args(["init", "--dry-run", "--non-interactive", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run kubestrap");
    assert!(
        status.success(),
        "kubestrap init --dry-run failed: {status}"
    );
}

fn whole_process(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = ecdsa_config(tmp.path());
    let mut g = c.benchmark_group("process");
    g.sample_size(20);
    g.bench_function(
        "kubestrap init --dry-run --non-interactive (ECDSA-P256)",
        |b| b.iter(|| dry_run_process(&config)),
    );
    g.finish();
}

/// The certs and kubeconfig phases of a non-interactive init under a new temporary root,
/// run by the engine leaf by leaf, with the key pool `init` starts for a fresh PKI.
fn engine_pki(rt: &tokio::runtime::Runtime, alg: &str, parent: Option<&Path>) -> Duration {
    let dir = match parent {
        Some(p) => tempfile::tempdir_in(p),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    let mut cfg = example_init_config("v1.37.2");
    cfg.cluster.encryption_algorithm = alg.into();
    let host = Arc::new(RealHost::new(dir.path(), false).expect("host"));
    let wf = kubestrap::phases::init_workflow();
    let only = wf.leaves_of(&["certs", "kubeconfig"]);
    let t = Instant::now();
    let mut ctx = PhaseCtx::new(Arc::new(cfg), host, EventSink::discard());
    ctx.key_pool = kubestrap::phases::certs::fresh_pki_key_pool(&ctx);
    let plan = Plan {
        only: Some(only),
        ..Plan::default()
    };
    let outcome = rt.block_on(async { run_workflow(&wf, &ctx, &plan).await });
    let took = t.elapsed();
    assert_eq!(outcome, RunOutcome::Succeeded);
    took
}

fn rsa_limit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut g = c.benchmark_group("rsa_limit");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("one aws-lc-rs RSA-2048 key pair", |b| {
        b.iter(|| KeyAlgorithm::Rsa2048.generate().expect("key"))
    });
    // On tmpfs (fsync costs nothing: the CPU part, what the limit is about) and on disk.
    let shm = Path::new("/dev/shm");
    let cpu_root = shm.is_dir().then_some(shm);
    for (what, root) in [("tmpfs root", cpu_root), ("disk root", None)] {
        g.bench_function(
            format!("RSA-2048 PKI, non-interactive init path (16 key pairs, {what})"),
            |b| {
                b.iter_batched(
                    || (),
                    |()| engine_pki(&rt, "RSA-2048", root),
                    BatchSize::PerIteration,
                )
            },
        );
    }
    g.finish();
    // The ratio, from this run (alternating, so both see the same load): wall time against
    // 16 keys ÷ cores, and CPU time (all threads) against 16 keys' CPU, which says how much
    // of the gap is work rather than cores taken by other processes. RSA key generation
    // varies a lot from key to key, so the costs are means over every key and every PKI.
    let (mut one, mut one_cpu, mut pki, mut pki_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..8 {
        for _ in 0..4 {
            let (t, c) = (Instant::now(), cpu_time());
            KeyAlgorithm::Rsa2048.generate().expect("key");
            one.push(t.elapsed());
            one_cpu.push(cpu_time() - c);
        }
        let c = cpu_time();
        pki.push(engine_pki(&rt, "RSA-2048", cpu_root));
        pki_cpu.push(cpu_time() - c);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (one, one_cpu, pki, pki_cpu) = (mean(&one), mean(&one_cpu), mean(&pki), mean(&pki_cpu));
    let limit = one * 16 / cores as u32;
    println!(
        "rsa-2048 pki (tmpfs root, means of 8 PKIs and 32 keys): {:.1} ms; limit 16 x {:.1} ms / {cores} cores = {:.1} ms; ratio {:.2}; cpu {:.1} ms vs 16 x {:.1} ms = {:.1} ms (ratio {:.2})",
        ms(pki),
        ms(one),
        ms(limit),
        pki.as_secs_f64() / limit.as_secs_f64(),
        ms(pki_cpu),
        ms(one_cpu),
        ms(one_cpu * 16),
        pki_cpu.as_secs_f64() / (one_cpu * 16).as_secs_f64()
    );
}

fn mean(v: &[Duration]) -> Duration {
    v.iter().sum::<Duration>() / v.len() as u32
}

/// User + system CPU time of this process (all threads) so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

criterion_group!(benches, whole_process, rsa_limit);
criterion_main!(benches);
