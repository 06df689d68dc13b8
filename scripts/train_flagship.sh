#!/usr/bin/env bash
# The flagship run: AlphaGo's 13-layer k=192 policy net on KGS train + Tygem, on a GPU.
#
#   scripts/train_flagship.sh [RUN_DIR]      (default runs/flagship)
#
# Each call is one resumable chunk of training (CHUNK_MINUTES, default 8, or CHUNK_SECONDS, so
# that a chunk and its evaluation fit a 10-minute slot): it builds the compact training data once
# (replayable game records, < 64 MiB), continues from the run's last checkpoint, writes a
# checkpoint at the end of the chunk, and prints the accuracy on kgs/val. Call it again to
# continue. The model file is RUN_DIR/model.pt.
#
# Environment: DATA (prepared training folders, space-separated; default: prepared here
# from ../shared), VAL_DATA (prepared validation folder), EVAL_DATA (SGF records for the
# final accuracy), INIT_FROM (a model file to start a new run from, e.g. the shipped one),
# GONET (the gonet command, e.g. "python3 -m gonet"), VALUE_HEAD=1 (train the dual-head net),
# and the training settings FILTERS, LAYERS, BATCH_SIZE, LR, MAX_STEPS, VAL_EVERY, VAL_POSITIONS, VALUE_WEIGHT,
# VALUE_TOWER, WORKERS. scripts/device_window.py runs this script in a window of a lent GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/flagship}
shared=${SHARED_DATA:-../shared/data}
chunk_seconds=${CHUNK_SECONDS:-$((${CHUNK_MINUTES:-8} * 60))}
read -ra gonet <<< "${GONET:-gonet}"
command -v "${gonet[0]}" >/dev/null || gonet=(.venv/bin/gonet)

mkdir -p "$run"
# 1. compact training data (resumable itself); kgs/val prepared whole for validation
if [ -z "${DATA:-}" ]; then
    [ -f "$run/data/manifest.json" ] || "${gonet[@]}" prepare "$shared/kgs/train" "$shared/tygem" --out "$run/data" --val-fraction 0.002
    DATA="$run/data"
fi
val=${VAL_DATA:-$run/val}
[ -f "$val/manifest.json" ] || "${gonet[@]}" prepare "$shared/kgs/val" --out "$val" --val-fraction 0
read -ra data <<< "$DATA"
du -shc "${data[@]}" | awk 'END {print "training data: " $1}'

# 2. one chunk of training, resumed from the last checkpoint when there is one
"${gonet[@]}" train "${data[@]}" --val-data "$val" --out "$run" \
    --filters "${FILTERS:-192}" --layers "${LAYERS:-13}" --batch-size "${BATCH_SIZE:-512}" \
    --lr "${LR:-0.03}" --warmup-steps "${WARMUP_STEPS:-1000}" --grad-clip "${GRAD_CLIP:-2}" --max-steps "${MAX_STEPS:-400000}" --max-time "$chunk_seconds" \
    --val-every "${VAL_EVERY:-2000}" --val-positions "${VAL_POSITIONS:-20000}" --checkpoint-every "${VAL_EVERY:-2000}" \
    --workers "${WORKERS:-15}" --resume last ${INIT_FROM:+--init-from "$INIT_FROM"} \
    ${VALUE_HEAD:+--value-head} ${VALUE_WEIGHT:+--value-weight "$VALUE_WEIGHT"} ${VALUE_TOWER:+--value-tower "$VALUE_TOWER"}

# 3. the chunk's result on kgs/val
"${gonet[@]}" eval "${EVAL_DATA:-$shared/kgs/val}" --model "$run/model.pt" --max-positions "${EVAL_POSITIONS:-50000}" \
    --device "${EVAL_DEVICE:-cuda}" --json | tee "$run/eval.json"
