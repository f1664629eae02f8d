//! Token discovery (`kubestrap::join::discovery::discover_token`) against the strict test
//! apiserver on loopback, answering at once: requests per discovery (target ≤ 3) and the
//! median time of a whole discovery (target < 20 ms): insecure fetch, JWS check, pin check,
//! CA-verified second fetch, each on a fresh TLS connection as kubeadm makes them.
//!
//! Run: `cargo bench --bench discovery`.

#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kubestrap::config::defaults::example_init_config;
use kubestrap::config::token::BootstrapTokenString;
use kubestrap::engine::{EventSink, PhaseCtx};
use kubestrap::host::RealHost;
use kubestrap::join::discovery::{TokenDiscovery, discover_token};
use kubestrap::phases::bootstrap_token;
use support::apiserver::TestApiServer;
use support::pki::TestPki;

const TOKEN: &str = "abcdef.0123456789abcdef";

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::new(dir.path());
    let server = TestApiServer::start(&pki);
    pki.write_kubeconfigs(&server.url());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut cfg = example_init_config("v1.33.1");
    cfg.init.bootstrap_tokens[0].token = TOKEN.into();
    let host = Arc::new(RealHost::new(dir.path(), false).expect("host"));
    let ctx = PhaseCtx::new(Arc::new(cfg), host, EventSink::discard());
    rt.block_on(bootstrap_token::run(&ctx, ""))
        .expect("bootstrap-token phase");
    let pin = kubestrap::pki::ca_pin(&pki.ca.pair.cert_der).expect("pin");
    let opts = TokenDiscovery::new(
        &server.addr.to_string(),
        BootstrapTokenString::parse(TOKEN).expect("token"),
        vec![pin],
        Duration::from_secs(10),
    );

    let before = server.shared.log.lock().expect("log").len();
    let d = rt
        .block_on(discover_token(&opts, &EventSink::discard()))
        .expect("discovery");
    let served = server.shared.log.lock().expect("log").len() - before;
    println!(
        "discovery: {} requests made, {served} served by the apiserver (target <= 3)",
        d.requests
    );
    assert!(d.requests <= 3 && served <= 3);

    c.bench_function("token discovery on loopback (pinned, 2 fetches)", |b| {
        b.iter(|| {
            rt.block_on(discover_token(&opts, &EventSink::discard()))
                .expect("discovery")
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
