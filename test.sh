#!/usr/bin/env bash
# Installs what the tests need (on a fresh Debian machine, as root), builds everything with
# warnings as errors, and runs every test. Prints "N passed, N failed, N skipped" at the end.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '==> %s\n' "$*"; }

install_packages() {
  local wanted=(ca-certificates libicu72 openssl curl openssh-server openssh-client time bsdutils chromium vsftpd libssh-4 passwd)
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

log "running tests"
results=$(mktemp -d)
set +e
dotnet test tests/SecureXfer.Tests/SecureXfer.Tests.csproj -c Release --no-build -nologo \
  --logger "console;verbosity=normal" --logger "trx;LogFileName=results.trx" --results-directory "$results" 2>&1 \
  | tee "$results/console.log" | grep -E '^\s*(Failed|Passed|Skipped) |Error Message|Total tests|Passed!|Failed!' | grep -vE '^\s*Passed ' || true
status=${PIPESTATUS[0]}
set -e

trx="$results/results.trx"
if [ -f "$trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$(get passed); failed=$(get failed); total=$(get total); executed=$(get executed)
  skipped=$(( total - executed ))
  if [ "$failed" -ne 0 ] || [ "$status" -ne 0 ]; then
    grep -E '^\s*Failed ' "$results/console.log" || true
  fi
  echo "${passed} passed, ${failed} failed, ${skipped} skipped"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ "$status" -eq 0 ] || exit 1
else
  tail -50 "$results/console.log"
  echo "0 passed, 1 failed"
  exit 1
fi
