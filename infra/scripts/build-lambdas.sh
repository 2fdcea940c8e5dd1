#!/usr/bin/env bash
# Builds the deployment zip of every Lambda (arm64, runtime provided.al2023):
#
#   bash infra/scripts/build-lambdas.sh            # all six functions
#   bash infra/scripts/build-lambdas.sh poll push  # a subset
#
# Output: <cargo target dir>/lambda/<name>/bootstrap.zip (honours CARGO_TARGET_DIR), and a
# table of zip sizes. `sam build` runs the same cargo-lambda build per function (the
# template's BuildMethod is rust-cargolambda); this script builds all of them in one cargo
# invocation, checks each binary really is aarch64, and reports sizes and build time.
#
# Tools: cargo-lambda and zig come as PyPI wheels, installed into .venv (no Docker needed;
# cargo-lambda cross-links with zig). The aarch64 Rust std comes from rustup.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv="$root/.venv"

# Pinned: a cargo-lambda / zig pair known to link aarch64-unknown-linux-gnu here.
cargo_lambda_version="1.9.2"
zig_version="0.14.1"
rust_target="aarch64-unknown-linux-gnu"

all_functions=(oauth poll push sweep report ingest)
functions=("$@")
if [ ${#functions[@]} -eq 0 ]; then
  functions=("${all_functions[@]}")
fi
for f in "${functions[@]}"; do
  case " ${all_functions[*]} " in
    *" $f "*) ;;
    *) echo "unknown function '$f' (expected one of: ${all_functions[*]})" >&2; exit 2 ;;
  esac
done

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/cargo-lambda" lambda --version >/dev/null 2>&1 \
  || ! "$venv/bin/python" -m ziglang version >/dev/null 2>&1; then
  echo "== installing cargo-lambda $cargo_lambda_version and ziglang $zig_version into .venv"
  "$venv/bin/python" -m pip install --quiet \
    "cargo-lambda==$cargo_lambda_version" "ziglang==$zig_version"
fi
if ! rustup target list --installed | grep -qx "$rust_target"; then
  echo "== rustup target add $rust_target"
  rustup target add "$rust_target"
fi

# cargo-lambda finds zig through `python3 -m ziglang` when no `zig` is on PATH.
export PATH="$venv/bin:$PATH"

package_args=()
for f in "${functions[@]}"; do
  package_args+=(--package "$f") # each crate's package and binary are both named <f>
done

echo "== cargo lambda build --release --arm64 --output-format zip (${functions[*]})"
start=$(date +%s)
cargo lambda build --release --arm64 --output-format zip "${package_args[@]}"
elapsed=$(($(date +%s) - start))

target_dir="$(cargo metadata --format-version 1 --no-deps \
  | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"

# Lambda takes a zip of up to 50 MB directly; ours should be far below that.
"$venv/bin/python" - "$target_dir/lambda" "${functions[@]}" <<'PY'
import os, struct, sys, zipfile

base, names = sys.argv[1], sys.argv[2:]
failed = False
print(f"{'function':<8} {'zip bytes':>12} {'bootstrap bytes':>16}  arch")
for name in names:
    path = os.path.join(base, name, "bootstrap.zip")
    if not os.path.isfile(path):
        print(f"{name:<8} missing: {path}")
        failed = True
        continue
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("bootstrap")
        head = z.open(info).read(20)
    # ELF e_machine (offset 18, little-endian): 0xB7 = AArch64.
    machine = struct.unpack_from("<H", head, 18)[0] if head[:4] == b"\x7fELF" else None
    arch = "aarch64" if machine == 0xB7 else f"NOT aarch64 (e_machine={machine})"
    failed |= machine != 0xB7
    print(f"{name:<8} {os.path.getsize(path):>12} {info.file_size:>16}  {arch}")
sys.exit(1 if failed else 0)
PY
echo "== built ${#functions[@]} zip(s) in ${elapsed}s under $target_dir/lambda"
