#!/usr/bin/env bash
# The RL and reward-model benchmarks on a CUDA GPU: the CPU sizes first, then larger models.
# Each run writes its JSON to $OUT_DIR (default artifacts/benchmarks/gpu); a failed run does
# not stop the next one.
#
#   bash benchmarks/gpu.sh            # needs torch with CUDA, ray, trl and datasets importable
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT_DIR:-artifacts/benchmarks/gpu}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PYTHON" -c 'import sys, torch, transformers, ray, trl; print(sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__, "ray", ray.__version__, "trl", trl.__version__)'

run() {  # name, seconds, command...
  local name=$1 limit=$2; shift 2
  echo "=== $name"
  timeout "$limit" "$@" 2>&1 | grep -v -E "Warning|warn\(|^\{'loss'" | tail -n 25
  echo "=== $name: exit ${PIPESTATUS[0]}"
}

run "rl tiny (CPU benchmark size)" 150 "$PYTHON" benchmarks/rl.py --device cuda --json "$OUT_DIR/rl_tiny.json"
run "rl 512x8" 180 "$PYTHON" benchmarks/rl.py --device cuda --hidden-size 512 --layers 8 --heads 8 --json "$OUT_DIR/rl_512x8.json"
run "reward model tiny" 90 "$PYTHON" benchmarks/reward_model_vs_trl.py --device cuda --json "$OUT_DIR/rm_tiny.json"
run "reward model 512x8" 100 "$PYTHON" benchmarks/reward_model_vs_trl.py --device cuda --hidden-size 512 --layers 8 --heads 8 --json "$OUT_DIR/rm_512x8.json"
