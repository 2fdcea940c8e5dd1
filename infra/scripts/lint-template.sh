#!/usr/bin/env bash
# Lints template.yaml with cfn-lint and `sam validate --lint` from .venv. Both must pass
# clean: cfn-lint exits non-zero on warnings as well as errors. The template needs no
# rule ignores today; add one only with a comment saying why.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export SAM_CLI_TELEMETRY=0
"$root/.venv/bin/cfn-lint" template.yaml
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" "$root/.venv/bin/sam" validate --lint --template-file template.yaml
