#!/usr/bin/env bash
# Renders the README's GIF (docs/media/hopper-aaren.gif) from the Aaren agent
# that scripts/demo.sh trains (runs/demo/aaren/checkpoint.pt: 1,500 updates on
# the bundled hopper-medium-expert cut), and records what the GIF shows in
# docs/media/hopper-aaren.json: the rollout's own JSON (return, D4RL normalised
# score, length), the command, and the agent's training config with its
# provenance. The README's caption is written from that file.
#
# The episode is the first one the rollout seed gives (seed 0, env 0), not a
# pick among several, conditioned on DT's higher Hopper target (3600).
#
# Usage: scripts/readme-gif.sh [CHECKPOINT]   (AAREN: the binary, default build/aaren)
set -euo pipefail
cd "$(dirname "$0")/.."
A=${AAREN:-build/aaren}
CHECKPOINT=${1:-runs/demo/aaren/checkpoint.pt}
GIF=docs/media/hopper-aaren.gif
RECORD=docs/media/hopper-aaren.json
[[ -x $A ]] || { echo "readme-gif: $A: no aaren binary (build it, or set AAREN)" >&2; exit 2; }
[[ -f $CHECKPOINT ]] || {
  echo "readme-gif: $CHECKPOINT: no agent (scripts/demo.sh trains it)" >&2
  exit 2
}
RUN_DIR=$(dirname "$CHECKPOINT")
[[ -f $RUN_DIR/config.json ]] || { echo "readme-gif: $RUN_DIR/config.json: missing (the agent's run folder)" >&2; exit 2; }

COMMAND=("$A" rollout --checkpoint "$CHECKPOINT" --episodes 1 --seed 0 --target-return 3600
  --video "$GIF" --video-size 256x192 --video-fps 30 --json)
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
"${COMMAND[@]}" > "$TMP"
/usr/bin/python3 - "$TMP" "$RUN_DIR/config.json" "$RECORD" "${COMMAND[@]:1}" <<'EOF'
import json, os, sys
rollout_file, config_file, record, *command = sys.argv[1:]
rollout = json.load(open(rollout_file))
record_json = {
    "command": ["aaren"] + command,
    "rollout": rollout,
    "agent_config": json.load(open(config_file)),
}
tmp = record + ".tmp"
with open(tmp, "w") as f:
    json.dump(record_json, f, indent=2)
    f.write("\n")
os.replace(tmp, record)
print(f"{record}: return {rollout['return_mean']:.1f}, D4RL normalised score {rollout['score_mean']:.1f}, "
      f"{int(rollout['lengths'][0])} steps")
EOF
