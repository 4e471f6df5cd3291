#!/usr/bin/env bash
# deps.sh: installs the Debian 12 packages Faith needs to build, test and run, when any is missing.
# Used by the README's two commands (configs/demo.sh and tests/run.sh); safe to run again.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git libopenmpi-dev openmpi-bin libzstd-dev zstd
      libcjson-dev libopenblas-openmp-dev libcmocka-dev)
[ "${FAITH_WITH_SLURM:-0}" = 1 ] && pkgs+=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
