#!/usr/bin/env bash
# Installs what the tests need (on a fresh Debian machine, as root), builds everything with
# warnings as errors, and runs every test. Prints "N passed, N failed, N skipped" at the end.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '==> %s\n' "$*"; }

install_packages() {
  local wanted=(ca-certificates libicu72 openssl curl openssh-server openssh-client time bsdutils chromium vsftpd libssh-4 passwd postgresql)
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "missing packages: ${missing[*]} (run as root, or install them)" >&2
      exit 1
    fi
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_packages
command -v dotnet >/dev/null || { echo "the .NET SDK 10 (dotnet) is required" >&2; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log "building (Release, warnings are errors)"
dotnet build SecureXfer.sln -c Release -nologo -v quiet

# One run of the test project; its counters are added to the totals.
passed=0; failed=0; skipped=0; broken=0
run_tests() {
  local name=$1 filter=$2 results
  results=$(mktemp -d)
  log "running tests: $name"
  local args=(tests/SecureXfer.Tests/SecureXfer.Tests.csproj -c Release --no-build -nologo
    --logger "console;verbosity=normal" --logger "trx;LogFileName=results.trx" --results-directory "$results")
  [ -n "$filter" ] && args+=(--filter "$filter")
  # The run's own exit status, not the filter's: output goes to a log, shown filtered afterwards.
  local status=0
  dotnet test "${args[@]}" > "$results/console.log" 2>&1 || status=$?
  grep -E '^\s*(Failed|Skipped) |Error Message|Total tests|Passed!|Failed!' "$results/console.log" || true
  local trx="$results/results.trx"
  if [ ! -f "$trx" ]; then
    tail -50 "$results/console.log"
    broken=1
    return
  fi
  local counters
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  local p f t e
  p=$(get passed); f=$(get failed); t=$(get total); e=$(get executed)
  [ "$t" -gt 0 ] || { echo "$name: no tests ran"; broken=1; }
  # A non-zero exit without a failed test is a crash or an abort: it fails the run too.
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    tail -30 "$results/console.log"
    broken=1
  fi
  echo "$name: ${p} passed, ${f} failed, $(( t - e )) skipped"
  passed=$(( passed + p )); failed=$(( failed + f )); skipped=$(( skipped + t - e ))
}

# Everything, with SQLite (the default); then the REST, account and transfer suites again with
# every server keeping its records in PostgreSQL (a private cluster the tests start).
run_tests "all (SQLite)" ""
export SECUREXFER_TEST_DATABASE=postgres
run_tests "REST, accounts, transfers (PostgreSQL)" \
  "FullyQualifiedName~SecureXfer.Tests.Rest|FullyQualifiedName~SecureXfer.Tests.Accounts|FullyQualifiedName~SecureXfer.Tests.Transfers"
unset SECUREXFER_TEST_DATABASE

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ] && [ "$broken" -eq 0 ] && [ "$passed" -gt 0 ] || exit 1
