#!/usr/bin/env bash
# UNTESTED: written without access to a GPU (no device was lent to the session that wrote it).
# One prepared GPU check, ~8 minutes: the CUDA tests, then the engine benchmark (FFHQ channel sizes,
# RUSIR's loss) at 256² and 1024², batch 1 and 8, float32 and bfloat16. Run from the repository root:
#     bash benchmarks/gpu.sh | tee gpu.txt
set -euo pipefail
python - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device visible"
print("device:", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| CUDA", torch.version.cuda)
PY
nvidia-smi --query-gpu=name,memory.total,utilization.gpu --format=csv || true
timeout 120 python -m pytest -q -k cuda tests/ || echo "CUDA tests: FAILED or timed out"
for precision in float32 bfloat16; do
  timeout 170 python benchmarks/engine_speed.py --device cuda --sizes 256 1024 --batches 1 8 --steps 5 \
      --precision "$precision" || echo "engine_speed $precision: FAILED or timed out"
done
