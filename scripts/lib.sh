# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; don't run it.

set -euo pipefail

EDZ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDZ_STATE="$EDZ_ROOT/.lab"            # git-ignored: SSH key, Vault state, seeded values
EDZ_CACHE="$EDZ_ROOT/.cache"          # git-ignored: apt archives shared by test hosts
EDZ_VENV="$EDZ_ROOT/.venv"
EDZ_IMAGE="${EDZ_TESTHOST_IMAGE:-editaliza/testhost:bookworm}"
export EDZ_ROOT EDZ_STATE EDZ_CACHE EDZ_VENV EDZ_IMAGE

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[33mwarning: %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror: %s\033[0m\n' "$*" >&2; exit 1; }

# One fleet-changing run at a time from this checkout: drift detections and corrections
# (scripts/drift) and the lab's site.yml runs (scripts/lab) hold this lock on fd 9 for as
# long as they run, so a correction never runs beside a converge. Returns 1, naming the
# holder, when another run has it.
fleet_lock() {  # what is running
  mkdir -p "$EDZ_CACHE"
  exec 9>"$EDZ_CACHE/drift.lock"
  if ! flock --nonblock 9; then
    warn "another run holds $EDZ_CACHE/drift.lock ($(cat "$EDZ_CACHE/drift.lock.owner" 2>/dev/null || echo unknown)); this one does not start"
    return 1
  fi
  echo "$1, pid $$, since $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$EDZ_CACHE/drift.lock.owner" 2>/dev/null || true
}

# Put the project's virtualenv first on PATH so ansible, molecule, bao... resolve there.
use_venv() {
  export PATH="$EDZ_VENV/bin:$PATH"
  export VIRTUAL_ENV="$EDZ_VENV"
  export ANSIBLE_CONFIG="$EDZ_ROOT/ansible.cfg"
}

# The lab's Vault (OpenBao dev server on loopback): started when it is not running, and
# its address and AppRole exported for Ansible.
use_lab_vault() {
  "$EDZ_ROOT/scripts/vault" start lab
  eval "$("$EDZ_ROOT/scripts/vault" env lab)"
}

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

sha256_of() {  # sha256 over the contents of the given files, in order
  cat "$@" | sha256sum | cut -d' ' -f1
}

# Vendor APT repositories do not answer from every machine (not from the build
# machines). repository_probe VAR URL MESSAGE exports VAR=true when URL's Release file
# answers, else VAR=false and says MESSAGE; a VAR already set is kept.
repository_probe() {
  [ -n "${!1:-}" ] && return 0
  if curl -sfI --max-time 10 "$2/dists/stable/Release" >/dev/null 2>&1; then
    export "$1=true"
  else
    export "$1=false"
    log "$3"
  fi
}

# Grafana: the lab inventory reads EDZ_LAB_GRAFANA (inventories/lab/group_vars/
# monitoring.yml): where the repository is silent the lab runs without Grafana.
grafana_probe() {
  repository_probe EDZ_LAB_GRAFANA "${EDZ_GRAFANA_APT_URL:-https://apt.grafana.com}" \
    "Grafana's APT repository does not answer from here: the lab runs without Grafana (grafana_enabled: false)"
}

# Elastic (or the mirror EDZ_ELASTIC_APT_URL names): the lab gets its logging host
# (inventories/lab/logging.yml) only where it answers; otherwise the logging group stays
# empty.
elastic_probe() {
  repository_probe EDZ_LAB_LOGGING "${EDZ_ELASTIC_APT_URL:-https://artifacts.elastic.co/packages/8.x/apt}" \
    "Elastic's APT repository does not answer from here: the lab's logging group stays empty (no Elasticsearch, Logstash, Kibana or Filebeat)"
}

# The lab's inventory arguments: hosts.yml, plus logging.yml where Elastic's repository answers.
lab_inventory_args() {  # hosts.yml
  elastic_probe
  printf '%s\n' -i "$1"
  [ "$EDZ_LAB_LOGGING" = true ] && printf '%s\n' -i "$(dirname "$1")/logging.yml"
  return 0
}
