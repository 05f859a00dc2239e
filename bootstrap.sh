#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine, then either train or test.
#   bash bootstrap.sh train [fashiongan train args...]   install what is missing, train, draw
#   bash bootstrap.sh test  [pytest args...]             install what is missing, run all tests
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-train}"; shift || true
VENV="${FASHIONGAN_VENV:-.venv}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_install() {  # install Debian packages that are not there yet
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bootstrap: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# The data: the Debian package, unless the files are already somewhere fashiongan looks.
if [ -z "${FASHION_MNIST_DIR:-}" ] && [ ! -e "$HOME/.cache/fashiongan/fashion-mnist/train-images-idx3-ubyte.gz" ] \
   && [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  apt_install dataset-fashion-mnist
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
# The CPU wheel first: a bare `torch` requirement would pull a multi-GB CUDA build.
"$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q torch==2.13.0
extras="serve,metrics"
if [ "$mode" = test ]; then
  extras="serve,metrics,test"
  apt_install chromium chromium-driver
fi
"$PY" -m pip install -q -e ".[$extras]"

case "$mode" in
  train) exec "$VENV/bin/fashiongan" train "$@" ;;
  test)  exec "$VENV/bin/python" -m pytest "$@" ;;
  *) echo "usage: bash bootstrap.sh train|test [args]" >&2; exit 2 ;;
esac
