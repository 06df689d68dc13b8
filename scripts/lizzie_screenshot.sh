#!/usr/bin/env bash
# docs/lizzie.png: Lizzie (Debian's liblizzie-java, 0.7.4) analysing a game with `gonet gtp`,
# run headless under Xvfb.
#
#   scripts/lizzie_screenshot.sh [OUT_PNG]        (default docs/lizzie.png)
#
# Needs: apt-get install liblizzie-java xvfb xdotool imagemagick, and the .venv of the README.
# It writes a self-play game (the raw net, deterministic), starts Lizzie on it with a private
# home (config: engine-command = a wrapper that tees the GTP traffic to LOG_DIR/gtp.in and
# gtp.out), steps through the moves with Lizzie's ">" button so that every position gets
# analysed (that draws the winrate graph), lets the last position think, screenshots the
# screen, crops it to the winrate panel and the board and shrinks it under 400 KB.
#
# Environment: GONET (the gonet command, default .venv/bin/gonet), ENGINE_ARGS (extra
# `gonet gtp` options, e.g. "--mix 1" for playout winrates), MOVES (40), STEP_SECONDS (4, the
# analysis time per move), SETTLE_SECONDS (30, for the last position), DISPLAY_NUM (57),
# LOG_DIR (default: a temporary folder, removed at the end).
#
# The /usr/games/lizzie launcher passes its own class name as the first argument, so Lizzie
# would not open a game given to it; the script runs the jar itself. Clicks go to fixed
# points of the 1600x1000 screen (Lizzie ignores xdotool's key events).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-docs/lizzie.png}
gonet=${GONET:-$root/.venv/bin/gonet}
moves=${MOVES:-40}
step=${STEP_SECONDS:-4}
settle=${SETTLE_SECONDS:-30}
display=:${DISPLAY_NUM:-57}
next_button="1129 983"      # Lizzie's ">" (next move) toolbar button on a 1600x1000 screen
coords_button="979 983"     # its "Coordinates" toggle

for tool in Xvfb xdotool import java; do
    command -v "$tool" >/dev/null || { echo "lizzie_screenshot: $tool is missing (apt-get install liblizzie-java xvfb xdotool imagemagick)" >&2; exit 2; }
done
[ -f /usr/share/java/lizzie.jar ] || { echo "lizzie_screenshot: /usr/share/java/lizzie.jar is missing (apt-get install liblizzie-java)" >&2; exit 2; }
[ ! -e "/tmp/.X${display#:}-lock" ] || { echo "lizzie_screenshot: display $display is taken; set DISPLAY_NUM" >&2; exit 2; }

work=$(mktemp -d)
log_dir=${LOG_DIR:-$work}
mkdir -p "$log_dir"
xvfb_pid=""
lizzie_pid=""
cleanup() {
    [ -n "$lizzie_pid" ] && kill -TERM -- "-$lizzie_pid" 2>/dev/null || true   # Lizzie and its engine
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
    sleep 3
    [ -n "$lizzie_pid" ] && kill -KILL -- "-$lizzie_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# 1. the game: the raw net against itself, always the likeliest move
"$gonet" selfplay --max-moves "$moves" --temperature 0 --seed 1 --out "$work/game.sgf" >&2

# 2. the engine as Lizzie starts it, its traffic logged
cat > "$work/engine.sh" <<EOF
#!/bin/sh
cd "$root" || exit 1
tee -a "$log_dir/gtp.in" | "$gonet" gtp ${ENGINE_ARGS:-} 2>>"$log_dir/gtp.err" | tee -a "$log_dir/gtp.out"
EOF
chmod +x "$work/engine.sh"
: > "$log_dir/gtp.out"

# 3. Lizzie's own files under a private home (Lizzie merges them with its defaults)
mkdir -p "$work/home/.config/leela-zero" "$work/home/.local/share/leela-zero"
cat > "$work/home/.config/leela-zero/lizzie-config.txt" <<EOF
{"leelaz": {"engine-command": "$work/engine.sh"}, "ui": {"resume-previous-game": false}}
EOF
cat > "$work/home/.local/share/leela-zero/lizzie-persist" <<EOF
{"ui-persist": {"window-maximized": true, "main-window-position": [0, 0, 1600, 1000]}}
EOF

Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
export DISPLAY=$display
for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.2; done

# setsid: Lizzie and the engine it starts form one process group, ended together
setsid java -Duser.home="$work/home" -jar /usr/share/java/lizzie.jar "$work/game.sgf" \
    > "$log_dir/lizzie.log" 2>&1 &
lizzie_pid=$!

# 4. wait for the first analysis line, then walk through the game
for _ in $(seq 300); do grep -q '^info' "$log_dir/gtp.out" && break; sleep 1; done
grep -q '^info' "$log_dir/gtp.out" || { echo "lizzie_screenshot: no analysis from the engine in 300 s (see $log_dir)" >&2; exit 1; }
sleep 2
xdotool mousemove $coords_button click 1
for _ in $(seq "$moves"); do
    xdotool mousemove $next_button click 1
    sleep "$step"
done
xdotool mousemove 1590 990           # off the board: no variation drawn under the pointer
sleep "$settle"
import -window root "$work/screen.png"

# 5. winrate panel + board, under 400 KB
mkdir -p "$(dirname "$out")"
convert "$work/screen.png" -crop 1270x1000+0+0 +repage -resize 1016x -strip -dither None -colors 64 "$out"
echo "$out: $(du -k "$out" | cut -f1) KB; GTP traffic: $(grep -c . "$log_dir/gtp.in") commands, $(grep -c '^info' "$log_dir/gtp.out") info lines" >&2
