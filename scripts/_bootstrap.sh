# Sourced by the scripts: make .venv with the project installed (editable) if it is missing
# or older than pyproject.toml. Needs only python3 >= 3.11 with venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "EnforceHub needs Python 3.11 or newer as '$PY' (set PYTHON=...)" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    echo "[bootstrap] python venv module missing; installing python3-venv" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    "$PY" -m venv .venv
  fi
  echo "[bootstrap] installing enforcement-hub and its dev tools into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -c 'import paho.mqtt, psycopg, pydantic, pytest' \
    || { echo "[bootstrap] install failed" >&2; exit 2; }
  touch .venv/.installed
fi
export PATH="$ROOT/.venv/bin:$PATH"
