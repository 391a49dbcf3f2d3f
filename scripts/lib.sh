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

# Put the project's virtualenv first on PATH so ansible, molecule, bao... resolve there.
use_venv() {
  export PATH="$EDZ_VENV/bin:$PATH"
  export VIRTUAL_ENV="$EDZ_VENV"
  export ANSIBLE_CONFIG="$EDZ_ROOT/ansible.cfg"
}

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

sha256_of() {  # sha256 over the contents of the given files, in order
  cat "$@" | sha256sum | cut -d' ' -f1
}
