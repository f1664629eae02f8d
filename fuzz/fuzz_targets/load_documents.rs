//! Fuzz the kubeadm configuration loader: any bytes must give Ok or a clear error, never a
//! panic, and a loaded configuration must survive defaulting, validation and export.
//!
//! Run: `fuzz/run.sh [SECONDS]` (stable toolchain via RUSTC_BOOTSTRAP=1, see the script).
#![no_main]

use kubestrap::config::defaults::apply_static_init_defaults;
use kubestrap::config::export::export_init;
use kubestrap::config::load::{ApiVersion, load_documents};
use kubestrap::config::overlay::init_from_loaded;
use kubestrap::config::validate::validate_init;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = load_documents(text, "fuzz") else {
        return;
    };
    if let Ok((mut cfg, _, _)) = init_from_loaded(loaded, "fuzz") {
        apply_static_init_defaults(&mut cfg);
        let _ = validate_init(&cfg, &Default::default());
        let out = export_init(&cfg, ApiVersion::V1beta4, true);
        let _ = load_documents(&out, "fuzz-export");
    }
});
