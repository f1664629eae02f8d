//! Whole `init --dry-run --non-interactive` in process: every phase of the workflow on a
//! dry-run host rooted at `/` (real preflight checks of this machine), ECDSA-P256 keys,
//! events formatted by the plain-text face. Target: under 50 ms. Two variants: the default
//! private dry-run directory (`RealHost::scratch`: removed at the end, so nothing is synced
//! and no records are kept), and a kept `--dry-run-dir` (every file synced, progress and
//! commit records written).
//!
//! Run: `cargo bench --bench init_dry_run`

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use kubestrap::config::defaults::example_init_config;
use kubestrap::engine::{EventSink, PhaseCtx, Plan, RunOutcome, run_workflow};
use kubestrap::host::RealHost;

fn init_dry_run(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cfg = example_init_config("v1.34.2");
    cfg.cluster.encryption_algorithm = "ECDSA-P256".into();
    // Real preflight: every error is reported, the dry run continues.
    let cfg = Arc::new(cfg);
    let mut n = 0u64;
    for (name, scratch) in [
        ("init --dry-run --non-interactive (ECDSA-P256)", true),
        (
            "init --dry-run --dry-run-dir DIR --non-interactive (ECDSA-P256, synced)",
            false,
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                let overlay = tmp.path().join(format!("run{n}"));
                let mut host = RealHost::dry_run_overlay("/", &overlay).expect("dry-run host");
                if scratch {
                    host = host.scratch();
                }
                let host = Arc::new(host);
                let (sink, mut rx) = EventSink::channel();
                let ctx = PhaseCtx::new(cfg.clone(), host, sink);
                let wf = kubestrap::phases::init_workflow();
                let outcome = rt.block_on(async move {
                    let plan = Plan {
                        resume: true,
                        ..Plan::default()
                    };
                    let h = tokio::spawn(async move { run_workflow(&wf, &ctx, &plan).await });
                    let mut lines = 0usize;
                    while let Some(ev) = rx.recv().await {
                        if kubestrap::output::text::format(&ev).is_some() {
                            lines += 1;
                        }
                    }
                    (h.await.expect("runner"), lines)
                });
                assert_eq!(outcome.0, RunOutcome::Succeeded);
                let _ = std::fs::remove_dir_all(&overlay);
                outcome.1
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = init_dry_run
}
criterion_main!(benches);
