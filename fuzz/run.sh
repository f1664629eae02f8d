#!/usr/bin/env bash
# Run the `load_documents` fuzz target (kubeadm config loader) for N seconds.
#
#   fuzz/run.sh [SECONDS]        # default 60
#
# - Installs cargo-fuzz (`cargo install cargo-fuzz --locked`) when it is absent.
# - Works on the stable toolchain: cargo-fuzz needs nightly-only flags
#   (`-Zsanitizer=address`), which RUSTC_BOOTSTRAP=1 unlocks on stable.
# - Seeds fuzz/corpus/load_documents (git-ignored) from tests/data/configs/*.yaml.
# - libFuzzer options: -max_total_time=SECONDS -max_len=8192 -timeout=5 (per input)
#   -rss_limit_mb=2048. Crashes, hangs and OOMs are written to fuzz/artifacts/load_documents/.
# - The instrumented build has its own target dir (fuzz/target) and rebuilds every
#   dependency with coverage + ASan: allow ~10 minutes on 2 cores and several GB of disk.
#   Extra arguments after SECONDS are passed to libFuzzer (e.g. -jobs=2).
set -euo pipefail

secs="${1:-60}"
shift || true

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

corpus="$here/corpus/load_documents"
mkdir -p "$corpus"
for f in "$root"/tests/data/configs/*.yaml; do
    [ -e "$f" ] || continue
    cp -n "$f" "$corpus/seed-$(basename "$f")"
done

cd "$here"
RUSTC_BOOTSTRAP=1 cargo fuzz run load_documents "$corpus" -- \
    -max_total_time="$secs" -max_len=8192 -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 "$@"
