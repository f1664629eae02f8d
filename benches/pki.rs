//! The whole `certs` + `kubeconfig` work (16 key pairs, 15 certificates, sa.key/sa.pub,
//! 5 kubeconfig files written under a temporary root), for ECDSA-P256 and RSA-2048, next to
//! openssl generating the same set serially (benches/openssl_pki.sh), plus Start → whole PKI
//! on disk with a warm RSA-2048 key pool. Files go through `Host::write_atomic` (fsync), so
//! the figures depend on the disk; a tmpfs variant shows the CPU part alone.
//!
//! Run: `cargo bench --bench pki`. Targets: ECDSA-P256 < 20 ms; RSA-2048 ≤ half of
//! openssl's serial time; warm RSA-2048 pool < 50 ms.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kubestrap::config::defaults::example_init_config;
use kubestrap::engine::{EventSink, PhaseCtx};
use kubestrap::host::RealHost;
use kubestrap::phases::{certs, kubeconfig};
use kubestrap::pki::{KeyAlgorithm, KeyPool};

fn ctx(alg: &str) -> (tempfile::TempDir, PhaseCtx) {
    ctx_in(alg, None)
}

/// A context rooted in a new temporary directory, under `parent` when given.
fn ctx_in(alg: &str, parent: Option<&Path>) -> (tempfile::TempDir, PhaseCtx) {
    let dir = match parent {
        Some(p) => tempfile::tempdir_in(p).expect("tempdir"),
        None => tempfile::tempdir().expect("tempdir"),
    };
    let mut cfg = example_init_config("v1.33.6");
    cfg.cluster.encryption_algorithm = alg.into();
    let host = RealHost::new(dir.path(), false).expect("host");
    let ctx = PhaseCtx::new(Arc::new(cfg), Arc::new(host), EventSink::discard());
    (dir, ctx)
}

fn whole_pki(ctx: &PhaseCtx) {
    certs::run(ctx, "all").expect("certs");
    kubeconfig::run(ctx, "all").expect("kubeconfig");
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pki_whole_set");
    g.sample_size(20);
    g.bench_function("kubestrap/ECDSA-P256", |b| {
        b.iter_batched(
            || ctx("ECDSA-P256"),
            |(dir, ctx)| {
                whole_pki(&ctx);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    // The same on tmpfs, where fsync costs nothing: the CPU part of the work alone.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        g.bench_function("kubestrap/ECDSA-P256 (tmpfs root, no fsync cost)", |b| {
            b.iter_batched(
                || ctx_in("ECDSA-P256", Some(shm)),
                |(dir, ctx)| {
                    whole_pki(&ctx);
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("kubestrap/RSA-2048", |b| {
        b.iter_batched(
            || ctx("RSA-2048"),
            |(dir, ctx)| {
                whole_pki(&ctx);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    // Start → whole PKI on disk with a warm pool: the pool is started and filled untimed
    // (the wizard does that while the user types); only the phases are timed.
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_millis(100));
    g.bench_function("kubestrap/RSA-2048 warm key pool", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (dir, mut ctx) = ctx("RSA-2048");
                let pool = KeyPool::start(KeyAlgorithm::Rsa2048, KeyPool::INIT_KEYS);
                assert!(pool.wait_ready(KeyPool::INIT_KEYS, Duration::from_secs(60)));
                ctx.key_pool = Some(pool);
                let t = Instant::now();
                whole_pki(&ctx);
                total += t.elapsed();
                drop(dir);
            }
            total
        })
    });
    // openssl, serially, the same set (one round of the script per iteration).
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/openssl_pki.sh");
    g.measurement_time(Duration::from_secs(5));
    for alg in ["ECDSA-P256", "RSA-2048"] {
        g.bench_function(format!("openssl serial/{alg}"), |b| {
            b.iter(|| {
                let out = Command::new("sh")
                    .arg(&script)
                    .args([alg, "1"])
                    .output()
                    .expect("run benches/openssl_pki.sh");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
