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
command -v "$A" > /dev/null || { echo "readme-gif: $A: no aaren binary (build it, or set AAREN)" >&2; exit 2; }
[[ -f $CHECKPOINT ]] || {
  echo "readme-gif: $CHECKPOINT: no agent (scripts/demo.sh trains it)" >&2
  exit 2
}
RUN_DIR=$(dirname "$CHECKPOINT")
[[ -f $RUN_DIR/config.json ]] || { echo "readme-gif: $RUN_DIR/config.json: missing (the agent's run folder)" >&2; exit 2; }

# Rendered into a scratch folder: the GIF and its record replace the committed
# pair only once both are made, so the two never disagree.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ARGS=(rollout --checkpoint "$CHECKPOINT" --episodes 1 --seed 0 --target-return 3600
  --video-size 256x192 --video-fps 30 --json)
"$A" "${ARGS[@]}" --video "$TMP/episode.gif" > "$TMP/rollout.json"
/usr/bin/python3 - "$TMP" "$RUN_DIR/config.json" "$GIF" "${ARGS[@]}" << 'PYTHON'
import json, sys
tmp, config_file, gif, *args = sys.argv[1:]
rollout = json.load(open(f"{tmp}/rollout.json"))
record = {
    "command": ["aaren"] + args + ["--video", gif],
    "rollout": rollout,
    "agent_config": json.load(open(config_file)),
}
with open(f"{tmp}/record.json", "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
print(f"return {rollout['return_mean']:.1f}, D4RL normalised score {rollout['score_mean']:.1f}, "
      f"{int(rollout['lengths'][0])} steps")
PYTHON
mv "$TMP/episode.gif" "$GIF"
mv "$TMP/record.json" "$RECORD"
echo "readme-gif: $GIF and $RECORD"
