#!/usr/bin/env bash
# Training speed and memory of both HR-VITON stages on a CUDA GPU, official widths:
# steps/s and peak memory per batch size, fp32 vs fp16 (autocast + gradient scaling) vs bf16.
# Run from the repository root, as is:   bash bench/train_gpu.sh   (about 5-15 minutes)
# Needs: the vtonkit environment with a CUDA build of torch, and the VITON-HD samples in
# ../shared/data/vitonhd (or DATASET=<root with test/> SPLIT=test bash bench/train_gpu.sh).
# A batch size that does not fit prints the CUDA out-of-memory error and the loop goes on.
set -u
PY=${PY:-.venv/bin/python}
DATASET=${DATASET:-../shared/data/vitonhd}
SPLIT=${SPLIT:-test}
STEPS=${STEPS:-6}
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0), torch.__version__)" || exit 1
for stage in condition generator; do
  for precision in fp32 fp16 bf16; do
    for batch in 1 2 4 8; do
      "$PY" bench/train_bench.py --full --device cuda --stage "$stage" --precision "$precision" \
        --batch-size "$batch" --steps "$STEPS" --dataset "$DATASET" --split "$SPLIT" 2>&1 | grep -E '^\| (condition|generator)|Error' \
        || echo "| $stage | - | $batch | $precision | failed (see above) |"
    done
  done
done
