#!/usr/bin/env bash
# Run "$@" with the Debian data set hidden, as on a machine without dataset-fashion-mnist.
# Called inside a private mount namespace (unshare -m): the real files are bind-mounted to
# $STANDIN_FMNIST_SRC first, so the stand-in apt-get can make them "appear" again.
set -euo pipefail
real=/usr/share/datasets
mkdir -p "$STANDIN_FMNIST_SRC"
mount --bind "$real/fashion-mnist" "$STANDIN_FMNIST_SRC"
mount -t tmpfs tmpfs "$real"
exec "$@"
