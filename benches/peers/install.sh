#!/usr/bin/env bash
# Installs the peer DVH tools used by benches/peers/compare.sh. Idempotent: re-running is cheap.
#
# - plastimatch (C++; `plastimatch convert` + `plastimatch dvh`) from Debian's packages
# - /usr/bin/time (package `time`) for whole-process wall time and peak RSS
# - dicompyler-core + pydicom<3 in a private venv at benches/.venv
#
# None of these is a product dependency: radtox itself needs none of them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/../.venv"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v plastimatch >/dev/null 2>&1 || need_apt+=(plastimatch)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ "${#need_apt[@]}" -gt 0 ]; then
    echo "install.sh: apt-get install ${need_apt[*]}" >&2
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need_apt[@]}"
fi

py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    echo "install.sh: creating venv $venv" >&2
    "$py" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import dicompylercore, pydicom' >/dev/null 2>&1; then
    "$venv/bin/pip" install --quiet --upgrade pip
    # dicompyler-core 0.5.x was written against pydicom 2 (pydicom 3 removed APIs it uses).
    "$venv/bin/pip" install --quiet "dicompyler-core" "pydicom<3"
fi

echo "install.sh: versions" >&2
plastimatch --version 2>&1 | head -n 1 || true
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for p in ("dicompyler-core", "pydicom", "numpy", "matplotlib", "six"):
    try:
        print(f"{p} {md.version(p)}")
    except md.PackageNotFoundError:
        pass
PY
