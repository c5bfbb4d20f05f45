#!/usr/bin/env bash
# scripts/check-function-length.py on made-up C++ whose function lengths are known: a function with a
# default argument `= {}`, a constructor with brace member initialisers, a member after an access
# label, a function after a macro with braces and #include lines, a raw string holding braces; each is
# counted from its signature's first line to its closing brace, and one line over the limit fails.
# Usage: check-function-counter.sh SOURCE_DIR
set -euo pipefail
SRC=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/function-counter.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
body() { for ((k = 0; k < $1; ++k)); do echo "  x += $k;"; done; }
{
  echo '#include <string>'
  echo '#define GUARD(call) \'
  echo '  do {            \'
  echo '    call;         \'
  echo '  } while (0)'
  echo '#include <vector>'
  echo 'int with_default(int x, std::vector<int> v = {}) {'  # line 7: 10 lines to its brace
  body 8
  echo '}'
  echo 'struct Holder {'
  echo ' public:'
  echo '  Holder(int a) : a_{a}, b_{a + 1} {'                 # line 19: 5 lines
  echo '    int x = 0;'
  body 2
  echo '  }'
  echo '  int a_, b_;'
  echo '};'
  echo 'const char* text() {'                                  # line 26: 3 lines, braces in a raw string
  echo '  return R"({ { {)";'
  echo '}'
  echo 'int eighty_one(int x) {'                               # line 29: 81 lines
  body 79
  echo '}'
} > "$T/sample.cpp"
out=$(python3 "$SRC/scripts/check-function-length.py" --max 0 "$T/sample.cpp" 2> /dev/null) || true
for expected in "10 lines  $T/sample.cpp:7  with_default" "5 lines  $T/sample.cpp:19  Holder" \
  "3 lines  $T/sample.cpp:26  text" "81 lines  $T/sample.cpp:29  eighty_one"; do
  grep -q "$expected\$" <<< "$out" || fail "expected '$expected' in: $out"
done
[[ $(grep -c "lines  " <<< "$out") == 4 ]] || fail "four functions expected (no macro, no type): $out"
if python3 "$SRC/scripts/check-function-length.py" "$T/sample.cpp" > "$T/out" 2>&1; then fail "81 lines passed at 80"; fi
grep -q "81 lines .*eighty_one" "$T/out" || fail "the long one named: $(cat "$T/out")"
python3 "$SRC/scripts/check-function-length.py" --max 81 "$T/sample.cpp" > /dev/null || fail "81 lines failed at 81"
if python3 "$SRC/scripts/check-function-length.py" "$T/missing" 2> "$T/err"; then fail "a missing path passed"; fi
grep -q "missing: no such folder or file" "$T/err" || fail "the missing path's message: $(cat "$T/err")"
echo "check-function-length: lengths counted as written, the limit enforced"
