#!/usr/bin/env bash
# Lints template.yaml with cfn-lint and `sam validate --lint` from .venv.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
"$root/.venv/bin/cfn-lint" template.yaml
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" "$root/.venv/bin/sam" validate --lint --template-file template.yaml
