#!/usr/bin/env bash
# Installs what kidfs needs on a fresh Debian 12 machine, and only what is missing:
# Debian packages (apt-get) and the npm dependencies (npm ci). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
  fuse3 libfuse3-dev pkg-config       # fuse-native on libfuse 3 (headers, library); fusermount3 for unmount
  libfuse2                            # upstream fuse-native's prebuilt binary, run beside the patch by defect tests
  g++ make python3 patch              # build fuse-native from source with kidfs's patch
  rpcbind nfs-ganesha nfs-ganesha-vfs # the loopback NFS server
  libnfs-utils libnfs-dev gcc         # the benchmark's references: nfs-cp, and a libnfs loop built here
  acl sqlite3 git                     # used by the tests' workloads
)
missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the installed tree is not the locked one.
if ! cmp -s package-lock.json node_modules/.kidfs-installed-lock 2>/dev/null; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.kidfs-installed-lock
fi

# fuse-native from source with kidfs's patch (skipped when the build matches the patch).
bash scripts/build-fuse-native.sh
