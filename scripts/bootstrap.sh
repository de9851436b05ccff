# Shared set-up for scripts/run and scripts/test: find or install uv, then build the locked
# environment in .venv. Needs only python3; installs pip from Debian when python3 lacks it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_PYTHON=python3 UV_NO_PROGRESS=1

find_uv() {
  if command -v uv >/dev/null 2>&1; then UV=(uv); return 0; fi
  if python3 -m uv --version >/dev/null 2>&1; then UV=(python3 -m uv); return 0; fi
  return 1
}

say() { echo "posology set-up: $*" >&2; }

if ! find_uv; then
  say "installing uv (the Python package manager, from PyPI) with pip"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    python3 -m ensurepip --upgrade >/dev/null 2>&1 || {
      say "installing python3-pip from Debian (apt-get), to install uv"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q >/dev/null && apt-get install -y -q python3-pip >/dev/null
    }
  fi
  python3 -m pip install --quiet --user uv 2>/dev/null \
    || python3 -m pip install --quiet --user --break-system-packages uv 2>/dev/null \
    || python3 -m pip install --quiet uv
  find_uv || { echo "could not install uv" >&2; exit 1; }
fi

# POSOLOGY_SYNC_EXTRAS: what to add to or leave out of the locked set: "--extra spark" (the
# audit's Spark engine, scripts/test), "--no-dev" (the runtime alone, scripts/run)
[ -d .venv ] || say "creating .venv with the locked Python packages (uv.lock, from PyPI)"
# shellcheck disable=SC2086
"${UV[@]}" sync --frozen --quiet ${POSOLOGY_SYNC_EXTRAS:-}
