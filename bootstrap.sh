#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine, then either train or test.
#   bash bootstrap.sh train [fashiongan train args...]   install what is missing, train, draw
#   bash bootstrap.sh test  [pytest args...]             install what is missing, run all tests
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-train}"; shift || true
case "$mode" in train|test) ;; *) echo "usage: bash bootstrap.sh train|test [args]" >&2; exit 2 ;; esac
VENV="${FASHIONGAN_VENV:-.venv}"
# As root apt-get runs directly; otherwise through sudo. `env` carries DEBIAN_FRONTEND either way
# (a bare `VAR=value cmd` after an empty "$SUDO" would be taken as the command's name).
AS_ROOT=(); [ "$(id -u)" -eq 0 ] || AS_ROOT=(sudo)

apt_install() {  # install Debian packages that are not there yet
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bootstrap: apt-get install ${missing[*]}"
  "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# The data: the Debian package, unless the files are already somewhere fashiongan looks.
if [ -z "${FASHION_MNIST_DIR:-}" ] && [ ! -e "$HOME/.cache/fashiongan/fashion-mnist/train-images-idx3-ubyte.gz" ] \
   && [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  apt_install dataset-fashion-mnist
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
# The CPU wheel first: a bare `torch` requirement would pull a multi-GB CUDA build.
# pip byte-compiles every module it installs, half of torch's install time (35 s of it here).
# Where Python writes its own caches it compiles only the modules imported, once: skip pip's
# pass there. With PYTHONDONTWRITEBYTECODE set (CI here) nothing would be cached and every
# start would recompile torch, so pip compiles.
NOCOMPILE=(); [ -n "${PYTHONDONTWRITEBYTECODE:-}" ] || NOCOMPILE=(--no-compile)
"$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q "${NOCOMPILE[@]}" torch==2.13.0
extras="serve,metrics"
if [ "$mode" = test ]; then
  extras="serve,metrics,share,test"
  apt_install chromium chromium-driver shellcheck  # the browser test; .ci/run lints with it
fi
# pip only when this checkout, its extras or pyproject.toml changed since the last install:
# a second run starts training in seconds instead of re-resolving every requirement.
stamp="$VENV/.fashiongan-installed"
want="$(pwd) $(sha256sum pyproject.toml | cut -d' ' -f1)"
case "$(cat "$stamp" 2>/dev/null || true)" in
  "$want "*"$extras"*) "$PY" -c "import fashiongan" 2>/dev/null || rm -f "$stamp" ;;
  *) rm -f "$stamp" ;;
esac
if [ ! -e "$stamp" ]; then
  "$PY" -m pip install -q "${NOCOMPILE[@]}" -e ".[$extras]"
  echo "$want $extras" >"$stamp"
fi

case "$mode" in
  train) exec "$VENV/bin/fashiongan" train "$@" ;;
  # Two workers, a test file each at a time (module fixtures stay in one process): the suite's
  # tests mostly wait on subprocesses, so two cores halve its wall time (17 -> 10.5 min here).
  test)  exec "$VENV/bin/python" -m pytest -n "${FASHIONGAN_TEST_WORKERS:-2}" --dist loadfile "$@" ;;
esac
