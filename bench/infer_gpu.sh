#!/usr/bin/env bash
# Try-on inference speed and memory on a CUDA GPU, then training steps (bench/train_gpu.sh):
# per setting (fp32, fp16, bf16, channels-last, official operations) and batch size (1, 4, 8):
# pairs/s, peak GPU memory and max deviation of the output from fp32.
# Run from the repository root of a fresh clone after `make setup`, as is:   bash bench/infer_gpu.sh
# (about 2-5 minutes for inference, then 5-15 for training; SKIP_TRAIN=1 skips the latter)
# Needs: the vtonkit environment with a CUDA build of torch, and the VITON-HD samples in
# ../shared/data/vitonhd (or DATASET=<root with test/>).
# Weights: the published HR-VITON checkpoints if present at $CHECKPOINTS/mtviton.pth and
# $CHECKPOINTS/gen.pth (default CHECKPOINTS=checkpoints, see docs/inference.md), otherwise the
# reference fixtures' deterministic fill (../shared/reference/hrviton/fill_weights.py): speed is
# the same, the layout (and so the sparse modulation's work) is more speckled than with trained weights.
set -u
PY=${PY:-.venv/bin/python}
DATASET=${DATASET:-../shared/data/vitonhd}
CHECKPOINTS=${CHECKPOINTS:-checkpoints}
BATCHES=${BATCHES:-5}
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'" || exit 1
weights=()
if [ -f "$CHECKPOINTS/mtviton.pth" ] && [ -f "$CHECKPOINTS/gen.pth" ]; then
  weights=(--tocg-checkpoint "$CHECKPOINTS/mtviton.pth" --gen-checkpoint "$CHECKPOINTS/gen.pth")
fi
echo "## vtonkit infer (HR-VITON, 1024x768)"
"$PY" bench/infer_bench.py --throughput --device cuda --batches "$BATCHES" --batch-sizes 1 4 8 \
  --dataset "$DATASET/test" ${weights[@]+"${weights[@]}"}
if [ "${SKIP_TRAIN:-0}" != 1 ]; then
  echo
  echo "## vtonkit train steps (bench/train_gpu.sh)"
  DATASET="$DATASET" PY="$PY" bash bench/train_gpu.sh
fi
