#!/usr/bin/env bash
# Browser tests of the admin page (/ui/): headless Chromium from Debian's packages
# (chromium + chromium-driver, installed here when missing), driven by Selenium from
# .venv against `crmsync dev` on 127.0.0.1. Screenshots go to target/ui-screenshots/.
# Bounded: the runner stops itself after 7 minutes, and `timeout` backs it up.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing chromium and chromium-driver (apt-get)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi

python="${CRMSYNC_TEST_PYTHON:-$root/.venv/bin/python}"
if ! "$python" -c "import selenium" 2>/dev/null; then
  bash infra/scripts/python-env.sh
fi

cargo build -q -p crmsync-cli
# Selenium must use the Debian driver and never look for one online.
export SE_OFFLINE=true
timeout --kill-after=20 540 "$python" tests/browser/admin_page.py \
  --crmsync "$root/target/debug/crmsync" --screenshots "$root/target/ui-screenshots"
