#!/usr/bin/env bash
# The one command that runs every check and test. CI (.ci/run) calls exactly this.
# It installs what it needs (a Python venv with moto, simple-salesforce, cfn-lint, SAM CLI,
# selenium; Debian's chromium and chromium-driver for the browser tests) and starts/stops
# moto server on 127.0.0.1 itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# A clean build of every test binary needs several GB; say so up front rather
# than failing in the linker with "No space left on device".
free_kb=$(df -Pk "$root" | awk 'NR==2 {print $4}')
echo "== disk: $((free_kb / 1024 / 1024)) GB free under $root"
if [ "$free_kb" -lt $((12 * 1024 * 1024)) ]; then
  echo "warning: under 12 GB free; a clean build of the tests may run out of disk" >&2
fi
# Incremental caches only pay off across edits; CI builds once.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== python tools (.venv)"
bash infra/scripts/python-env.sh
export CRMSYNC_TEST_PYTHON="$root/.venv/bin/python"

echo "== headless browser (chromium, chromium-driver)"
bash infra/scripts/chromium.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "== template lint"
bash infra/scripts/lint-template.sh

echo "== moto server"
# shellcheck source=scripts/moto.sh
source infra/scripts/moto.sh

echo "== cargo test"
# --no-fail-fast: one run reports every failing suite, not just the first.
cargo test --workspace --all-targets --no-fail-fast
