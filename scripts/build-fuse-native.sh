#!/usr/bin/env bash
# Builds node_modules/fuse-native from source with kidfs's patch (patches/fuse-native+2.2.6.patch),
# with npm's own node-gyp and this machine's Node headers (no downloads). Run by scripts/setup.sh
# after npm ci; does nothing when the build in place was made from the current patch.
# The untouched package is kept in node_modules/.fuse-native-2.2.6-upstream: each build starts from
# it, and the tests use it to show the upstream defects.
set -euo pipefail
cd "$(dirname "$0")/.."

package=node_modules/fuse-native
upstream=node_modules/.fuse-native-2.2.6-upstream
patch_file=patches/fuse-native+2.2.6.patch
stamp=$package/.kidfs-patch.sha256

wanted=$(sha256sum "$patch_file" | cut -d' ' -f1)
if [[ -f $stamp && $(<"$stamp") == "$wanted" && -f $package/build/Release/fuse.node ]]; then
  exit 0
fi

version=$(node -p "require('./$package/package.json').version")
if [[ $version != 2.2.6 ]]; then
  echo "build-fuse-native: $package is version $version, the patch is for 2.2.6: update $patch_file" >&2
  exit 1
fi
if [[ ! -d $upstream ]]; then
  if [[ -f $stamp ]]; then
    echo "build-fuse-native: $package is patched but $upstream is missing: run npm ci, then this again" >&2
    exit 1
  fi
  cp -a "$package" "$upstream"
fi

echo "setup: building fuse-native from source with $patch_file"
rm -rf "$package"
cp -a "$upstream" "$package"
patch -p1 --silent --forward --no-backup-if-mismatch -d "$package" < "$patch_file"

node_gyp="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
node_dir=$(node -p "require('path').resolve(process.execPath, '../..')")
if [[ ! -f $node_dir/include/node/node_api.h ]]; then
  echo "build-fuse-native: no Node headers in $node_dir/include/node (install Node with its headers)" >&2
  exit 1
fi
(cd "$package" && node "$node_gyp" rebuild --nodedir="$node_dir" --loglevel=error >/dev/null)

# Loading checks the binary's patch level against the patched index.js.
node -e "require('./$package')"
echo "$wanted" > "$stamp"
