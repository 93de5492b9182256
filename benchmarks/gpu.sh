#!/usr/bin/env bash
# The prepared GPU check (issue 14), about 8 minutes on one recent NVIDIA GPU. Run from the repository
# root, with restorefw installed in the Python that `$PYTHON` names (default python3):
#     bash benchmarks/gpu.sh [OUTDIR]
# Stages, each under its own time limit so that one slow or failing stage leaves the others their time:
#   1. the CUDA tests (degradations' targets on CUDA equal the CPU's; backward runs);
#   2. the engine benchmark (FFHQ channel sizes, RUSIR's loss) at 256² and 1024², batch 1 and 8,
#      float32 then bfloat16;
#   3. the equal-quality benchmark at 256², 4 seeds, RUSIR's schedule against examples/fast.yaml, wall
#      seconds; stopped at its limit with SIGINT, it prints the table of the images it finished.
# OUTDIR (default .) receives gpu.txt (everything printed) and equal-quality-256-cuda.jsonl (the record).
set -uo pipefail
out=${1:-.}
python=${PYTHON:-python3}
mkdir -p "$out"
exec > >(tee "$out/gpu.txt") 2>&1
export PYTHONUNBUFFERED=1

stage() {
    local limit=$1 started=$SECONDS status
    shift
    echo
    echo "== $* (limit ${limit} s)"
    timeout -s INT -k 20 "$limit" "$@"
    status=$?
    echo "== exit status $status after $((SECONDS - started)) s"
}

"$python" - <<'PY' || exit 1
import torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("device:", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| CUDA", torch.version.cuda,
      "| cuDNN", torch.backends.cudnn.version(), "| TF32 convolutions", torch.backends.cudnn.allow_tf32)
PY
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true

mapfile -t cuda_tests < <(grep -l "cuda" tests/test_*.py)
stage 90 "$python" -m pytest -q -p no:cacheprovider -k cuda "${cuda_tests[@]}"
for precision in float32 bfloat16; do
    stage 110 "$python" benchmarks/engine_speed.py --device cuda --sizes 256 1024 --batches 1 8 --steps 5 \
        --precision "$precision"
done
stage 240 "$python" benchmarks/equal_quality.py --device cuda --sizes 256 --seeds 4 --clock wall --phases \
    --contenders examples/fast.yaml --record "$out/equal-quality-256-cuda.jsonl"
