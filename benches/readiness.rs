//! Readiness detection of wait-control-plane against the strict test apiserver.
//!
//! `readiness/detect_healthy_apiserver`: the time from the moment the test apiserver turns
//! healthy (its health endpoints start answering 200) to the moment
//! `wait_control_plane::wait_healthy` returns, for the kube-apiserver target (`/livez`, then
//! `/readyz?verbose`), polling every `POLL_INTERVAL`. The healthy moment is placed at a random
//! offset so that it falls anywhere within a polling interval. After the criterion run, the
//! median/p90/max of all measured latencies are printed, then the CPU cost of probing: the CPU
//! time (user + system) of the probing thread while waiting 5 s on an unhealthy apiserver,
//! as a share of one core. The test apiserver runs on its own thread and is not counted.
//!
//! Run: `cargo bench --bench readiness`

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use kubestrap::config::defaults::example_init_config;
use kubestrap::engine::{EventSink, PhaseCtx};
use kubestrap::host::RealHost;
use kubestrap::phases::wait_control_plane::{POLL_INTERVAL, ProbeTarget, ProbeTls, wait_healthy};
use rand::Rng;
use support::apiserver::TestApiServer;
use support::pki::TestPki;

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the zeroed struct we own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn readiness(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::new(dir.path());
    let server = TestApiServer::start(&pki);
    pki.write_kubeconfigs(&server.url());
    let host = Arc::new(RealHost::new(dir.path(), false).expect("host"));
    let ctx = PhaseCtx::new(
        Arc::new(example_init_config("v1.33.1")),
        host,
        EventSink::discard(),
    );
    let target = ProbeTarget {
        component: "kube-apiserver".into(),
        url: format!("{}/livez", server.url()),
        tls: ProbeTls::Ca(pki.ca.pair.cert_pem.clone().into_bytes()),
        readyz: true,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let targets = [target];
    let mut latencies: Vec<Duration> = Vec::new();
    let mut rng = rand::rng();

    let mut group = c.benchmark_group("readiness");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("detect_healthy_apiserver", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let offset = Duration::from_millis(rng.random_range(150..350));
                let healthy_at = Instant::now() + offset;
                server.set_healthy_at(healthy_at);
                rt.block_on(wait_healthy(
                    &ctx,
                    &targets,
                    Duration::from_secs(10),
                    POLL_INTERVAL,
                ))
                .expect("healthy");
                let lat = Instant::now().saturating_duration_since(healthy_at);
                latencies.push(lat);
                total += lat;
            }
            total
        })
    });
    group.finish();

    latencies.sort();
    let n = latencies.len();
    if n > 0 {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "readiness detection over {n} runs, poll interval {} ms: median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
            POLL_INTERVAL.as_millis(),
            ms(latencies[n / 2]),
            ms(latencies[n * 9 / 10]),
            ms(latencies[n - 1]),
        );
    }

    // CPU cost while waiting on an unhealthy apiserver for 5 s.
    server.set_healthy_at(Instant::now() + Duration::from_secs(3600));
    let before = server
        .shared
        .health_requests
        .load(std::sync::atomic::Ordering::Relaxed);
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let res = rt.block_on(wait_healthy(
        &ctx,
        &targets,
        Duration::from_secs(5),
        POLL_INTERVAL,
    ));
    let wall = t0.elapsed();
    let cpu = thread_cpu() - cpu0;
    assert!(res.is_err(), "the apiserver was unhealthy");
    let attempts = server
        .shared
        .health_requests
        .load(std::sync::atomic::Ordering::Relaxed)
        - before;
    println!(
        "probing cost: {attempts} attempts in {:.2} s used {:.1} ms CPU = {:.3}% of one core",
        wall.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0,
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0
    );
}

criterion_group!(benches, readiness);
criterion_main!(benches);
