#!/usr/bin/env bash
# scripts/park-runs.sh: a run parked in the middle, its folder lost (a new
# machine), restored and resumed records what the run never stopped records
# (every log row but the wall clock, every evaluation); and its refusals.
# Usage: check-park-runs.sh AAREN_BINARY SOURCE_DIR
set -euo pipefail
A=$1 SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/park-runs.XXXXXX")
trap 'rm -rf "$T"' EXIT
export IN_FLIGHT=$T/in-flight
PARK=$SRC/scripts/park-runs.sh
fail() { echo "FAIL: $*" >&2; exit 1; }

tiny=(train --dataset "$SRC/data/bundled/hopper-mixed-v0.hdf5" --backbone aaren --embed-dim 16 --layers 1
      --aaren-batch 2 --chunk-steps 50 --warmup 5 --lr 3e-3 --dropout 0 --threads 1 --seed 7
      --eval-episodes 2 --eval-every 10 --checkpoint-every 10 --keep-last 1)
"$A" "${tiny[@]}" --updates 30 --out "$T/runs/straight" > "$T/straight.log" 2>&1 || fail "the straight run: $(tail -3 "$T/straight.log")"
# A run caught in flight at update 20: its state there as a periodic checkpoint
# (checkpoint_20.pt, beside the older checkpoint_10.pt), no final checkpoint.pt.
"$A" "${tiny[@]}" --updates 20 --out "$T/runs/staged" > "$T/staged.log" 2>&1 || fail "the staged run"
mv "$T/runs/staged/checkpoint.pt" "$T/runs/staged/checkpoint_20.pt"

out=$("$PARK" "$T/runs/staged") || fail "park exited $?"
grep -q "parked at 20 updates" <<<"$out" || fail "park said: $out"
rm -rf "$T/runs/staged"  # the machine is lost
out=$("$PARK" --restore "$T/runs/staged") || fail "restore exited $?"
grep -q "restored from" <<<"$out" || fail "restore said: $out"
"$A" train --resume "$T/runs/staged" --updates 30 > "$T/resumed.log" 2>&1 || fail "resume: $(tail -3 "$T/resumed.log")"
drop_seconds() { cut -d, -f1-3,5 "$1"; }
diff <(drop_seconds "$T/runs/straight/train_log.csv") <(drop_seconds "$T/runs/staged/train_log.csv") ||
  fail "the restored run's train_log.csv differs from the straight run's"
diff "$T/runs/straight/eval.csv" "$T/runs/staged/eval.csv" || fail "eval.csv differs"

# A SAC run caught in flight (its state saved at an episode end near step 450, no
# policy_final.pt) is parked as its state, logs and policies; its folder lost, it
# is restored and resumed, and records what the run never stopped records.
sac=(sac --env hopper --learning-starts 200 --batch-size 32 --hidden-dim 32 --eval-every 300 --eval-episodes 2
     --buffer-size 400 --seed 9 --state-every 150 --save-policy-steps 300 --threads 1)
"$A" "${sac[@]}" --env-steps 900 --out "$T/sac/straight" > "$T/sac-straight.log" 2>&1 || fail "the straight SAC run"
"$A" "${sac[@]}" --env-steps 500 --out "$T/sac/staged" > "$T/sac-staged.log" 2>&1 || fail "the staged SAC run"
rm "$T/sac/staged/policy_final.pt"
out=$("$PARK" "$T/sac/staged") || fail "SAC park exited $?"
grep -q "parked at" <<<"$out" || fail "SAC park said: $out"
for f in resume.pt config.json log.csv eval.csv policy_step300.pt; do
  [[ -f $IN_FLIGHT/${T#/}/sac/staged/$f ]] || fail "the parked SAC run has no $f"
done
rm -rf "$T/sac/staged"
out=$("$PARK" --restore "$T/sac/staged") && grep -q "SAC steps logged" <<<"$out" || fail "SAC restore said: $out"
"$A" sac --resume "$T/sac/staged" --env-steps 900 > "$T/sac-resumed.log" 2>&1 || fail "SAC resume: $(tail -3 "$T/sac-resumed.log")"
for f in log.csv eval.csv; do diff "$T/sac/straight/$f" "$T/sac/staged/$f" || fail "the restored SAC run's $f differs"; done
cmp "$T/sac/straight/policy_final.pt" "$T/sac/staged/policy_final.pt" || fail "the restored SAC run's final policy differs"
out=$("$PARK" "$T/sac/straight") && grep -q "finished: nothing to park" <<<"$out" || fail "finished SAC run: $out"
# A finished run continued further (its folder's states newer than its policy_final.pt) is in flight again.
touch -d '+1 minute' "$T/sac/straight/resume.pt"
out=$("$PARK" "$T/sac/straight") && grep -q "parked at" <<<"$out" || fail "a continued SAC run: $out"

# A finished run needs no parking; a run without a periodic checkpoint is not parked; restoring
# over a present run changes nothing; bad input is refused in one line, exit non-zero.
out=$("$PARK" "$T/runs/straight") && grep -q "finished: nothing to park" <<<"$out" || fail "finished run: $out"
[[ ! -e $IN_FLIGHT/${T#/}/runs/straight ]] || fail "a finished run was parked"
mkdir -p "$T/runs/young" && cp "$T/runs/straight/config.json" "$T/runs/straight/train_log.csv" "$T/runs/young/"
out=$("$PARK" "$T/runs/young") && grep -q "no checkpoint_<update>.pt yet" <<<"$out" || fail "young run: $out"
out=$("$PARK" --restore "$T/runs/straight") && grep -q "nothing to restore" <<<"$out" || fail "restore over a run: $out"
if err=$("$PARK" "$T/runs/missing" 2>&1); then fail "a missing run was accepted"; fi
[[ $(wc -l <<<"$err") == 1 && $err == *"runs/missing: not a run folder"* ]] || fail "missing run: $err"
if err=$("$PARK" --restore "$T/runs/other" 2>&1); then fail "restoring a run never parked was accepted"; fi
[[ $err == *"no parked run"* ]] || fail "restore of nothing: $err"
# A RUN_DIR relative to the caller's folder (not the repository's), parked and restored.
mkdir -p "$T/runs/caught"
cp "$T/runs/straight"/{config.json,train_log.csv,eval.csv} "$T/runs/caught/"
cp "$T/runs/straight/checkpoint.pt" "$T/runs/caught/checkpoint_30.pt"
out=$(cd "$T" && "$PARK" runs/caught/) || fail "park from the caller's folder exited $?: $out"
[[ -f $IN_FLIGHT/${T#/}/runs/caught/config.json ]] || fail "parked from the caller's folder: $out"
# A restore whose copy fails leaves no config.json behind (nothing half-restored), and says so.
mkdir "$IN_FLIGHT/${T#/}/runs/caught/a-folder"
rm -r "$T/runs/caught"
if err=$("$PARK" --restore "$T/runs/caught" 2>&1); then fail "a failed restore exited 0: $err"; fi
[[ ! -f $T/runs/caught/config.json && $(tail -1 <<<"$err") == *"not restored"* ]] || fail "a failed restore: $err"
# --stop: the run's trainer (a stand-in named as aaren is, its command line a cell's) is stopped before
# the run is parked; the run named relatively from another folder still matches the trainer's absolute path.
mkdir -p "$T/runs/stopped"
cp "$T/runs/straight"/{config.json,train_log.csv,eval.csv} "$T/runs/stopped/"
cp "$T/runs/straight/checkpoint.pt" "$T/runs/stopped/checkpoint_30.pt"
printf '#!/usr/bin/env bash\ntrap "exit 143" TERM\nwhile :; do sleep 0.1; done\n' > "$T/aaren-stand-in"
chmod +x "$T/aaren-stand-in"
"$T/aaren-stand-in" train --resume "$T/runs/stopped" --threads 1 &
trainer=$!
out=$(cd "$T/runs" && "$PARK" --stop stopped) || fail "--stop exited $?: $out"
if kill -0 "$trainer" 2> /dev/null; then kill "$trainer"; fail "--stop left the trainer running: $out"; fi
grep -q "parked at 30 updates" <<<"$out" || fail "--stop: $out"
if err=$("$PARK" --bogus 2>&1); then fail "--bogus accepted"; fi
[[ $err == *"unknown flag '--bogus'"* ]] || fail "--bogus: $err"
echo "park-runs: parked, restored and resumed == the straight run (train and sac); refusals checked"
