# Shared by the end-to-end CLI tests (sourced): a temp folder, counters and the check helpers.
# The sourcing script sets bin, src and weights first; it ends with `finish NAME`.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python=${PYTHON:-/usr/bin/python3}  # Debian's, which sees python3-torch and friends
failures=0; count=0

# expect CODE "stderr/stdout must contain" -- command...
expect() {
  local code=$1 needle=$2; shift 3
  count=$((count + 1))
  "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
  if [ "$got" != "$code" ] || ! grep -qF -- "$needle" "$tmp/out" "$tmp/err"; then
    failures=$((failures + 1))
    echo "FAIL: $* -> exit $got (want $code), output lacks '$needle'"; sed 's/^/  | /' "$tmp/err" | head -5
  fi
}
# json_check FILE PYTHON-EXPR: the expression (over the document d) must hold.
json_check() {
  count=$((count + 1))
  if ! "$python" -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$1" 2>"$tmp/jerr"; then
    failures=$((failures + 1)); echo "FAIL: JSON check '$2'"; head -3 "$tmp/jerr"
  fi
}
# check "what" PYTHON-SCRIPT ARGS...: the script asserts; a failure is reported with its message.
check() {
  local what=$1 script=$2; shift 2
  count=$((count + 1))
  if ! "$python" -c "$script" "$@" 2>"$tmp/perr"; then
    failures=$((failures + 1)); echo "FAIL: $what"; tail -3 "$tmp/perr" | sed 's/^/  | /'
  fi
}
finish() {
  echo "$1: $((count - failures)) of $count checks passed"
  [ "$failures" = 0 ]
}
