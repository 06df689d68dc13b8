#!/usr/bin/env bash
# The flagship run: AlphaGo's 13-layer k=192 policy net on KGS train + Tygem, on a GPU.
#
#   scripts/train_flagship.sh [RUN_DIR]      (default runs/flagship)
#
# Each call is one resumable chunk of at most 10 minutes (CHUNK_MINUTES=8 of training, default): it builds
# the compact training data once (replayable game records, < 64 MiB), continues from the
# run's last checkpoint, writes a checkpoint at the end of the chunk, and prints the
# accuracy on kgs/val. Call it again to continue. The model file is RUN_DIR/model.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/flagship}
shared=${SHARED_DATA:-../shared/data}
chunk_minutes=${CHUNK_MINUTES:-8}
gonet=${GONET:-gonet}
command -v "$gonet" >/dev/null || gonet=".venv/bin/gonet"

mkdir -p "$run"
# 1. compact training data (resumable itself); kgs/val prepared whole for validation
[ -f "$run/data/manifest.json" ] || "$gonet" prepare "$shared/kgs/train" "$shared/tygem" --out "$run/data" --val-fraction 0.002
[ -f "$run/val/manifest.json" ] || "$gonet" prepare "$shared/kgs/val" --out "$run/val" --val-fraction 0
du -sh "$run/data" | awk '{print "training data: " $1}'

# 2. one chunk of training, resumed from the last checkpoint when there is one
"$gonet" train "$run/data" --val-data "$run/val" --out "$run" \
    --filters "${FILTERS:-192}" --layers "${LAYERS:-13}" --batch-size "${BATCH_SIZE:-512}" \
    --lr "${LR:-0.1}" --max-steps "${MAX_STEPS:-400000}" --max-time "$(printf "00:00:%02d:00" "$chunk_minutes")" \
    --val-every "${VAL_EVERY:-2000}" --val-positions 20000 --checkpoint-every 2000 \
    --workers "${WORKERS:-15}" --resume last

# 3. the chunk's result on kgs/val
"$gonet" eval "$shared/kgs/val" --model "$run/model.pt" --max-positions "${EVAL_POSITIONS:-50000}" \
    --device "${EVAL_DEVICE:-cuda}"
