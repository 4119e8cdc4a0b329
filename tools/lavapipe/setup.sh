#!/usr/bin/env bash
# Mesa's lavapipe (software Vulkan with shader-f16 and 8-lane subgroups) for the WebGPU tests that run
# on Dawn in Node (//e2e:webgpu_f16), unpacked privately: the system's Mesa and apt setup are untouched.
#
# Debian 12's own Mesa (22.3) is too old for Dawn, so mesa-vulkan-drivers and the libdrm2 it needs
# come from <codename>-backports, and the Vulkan loader (libvulkan1) from the release itself, all from
# the mirror this machine's apt sources already use. Downloads and lists live under the cache folder;
# nothing needs root.
#
# Usage: tools/lavapipe/setup.sh [--prefix DIR] [--print-env]
#   --prefix DIR  where to unpack (default: $VIBEVOICE_CACHE_DIR/lavapipe, else ~/.cache/vibevoice-asr-web/lavapipe)
#   --print-env   print the variables a test needs, one NAME=VALUE a line:
#                 VK_ICD_FILENAMES (the ICD json) and VIBEVOICE_LAVAPIPE_LIB (for LD_LIBRARY_PATH)
# Layout of DIR: icd.d/lvp.json (library path relative to it, so DIR may be copied), lib/*.so*, versions.txt.
set -euo pipefail

cache="${VIBEVOICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vibevoice-asr-web}"
prefix="$cache/lavapipe"
print_env=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --print-env) print_env=1; shift ;;
    *) echo "lavapipe setup: unknown argument '$1'; expected [--prefix DIR] [--print-env]." >&2; exit 2 ;;
  esac
done

# Bump when the layout or the package set changes: a stale folder is then rebuilt.
layout=1
packages=(mesa-vulkan-drivers libdrm2 libvulkan1)
libs=(libvulkan_lvp.so libdrm.so.2 libvulkan.so.1)

fail() {
  echo "lavapipe setup: $*" >&2
  exit 1
}

print() {
  if [[ "$print_env" == 1 ]]; then
    echo "VK_ICD_FILENAMES=$prefix/icd.d/lvp.json"
    echo "VIBEVOICE_LAVAPIPE_LIB=$prefix/lib"
  fi
}

if [[ -f "$prefix/complete" && "$(cat "$prefix/complete")" == "$layout" ]]; then
  print
  exit 0
fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
  fail "needs apt-get and dpkg (Debian 12): on another system, install Mesa >= 24's lavapipe and point VK_ICD_FILENAMES at its ICD json."
[[ "$(uname -m)" == x86_64 ]] || fail "only x86_64 is set up (found $(uname -m))."
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[[ -n "$codename" ]] || fail "/etc/os-release names no VERSION_CODENAME: cannot tell which backports suite to use."

# The mirror that already serves this release (deb822 or one-line sources alike): backports is a
# suite beside it, so no package host is named here.
mirror="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 'Identifier: Packages' 2>/dev/null |
  awk -v suite="$codename" '$2 == suite && $3 == "deb" { print $1; exit }')"
[[ -n "$mirror" ]] || fail "no apt source for '$codename' in /etc/apt/sources.list(.d): add the Debian mirror you use, then rerun."

work="$cache/lavapipe-apt"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
signed=""
[[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] && signed="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
printf 'deb %s%s %s main\ndeb %s%s %s-backports main\n' "$signed" "$mirror" "$codename" "$signed" "$mirror" "$codename" >"$work/sources.list"
apt_options=(
  -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Debug::NoLocking=1"
  # apt's download sandbox user cannot write to a private folder; these are our own files.
  -o "APT::Sandbox::User=root"
)
echo "lavapipe setup: fetching ${packages[*]} from ${mirror} ${codename}(-backports) into $prefix" >&2
apt-get "${apt_options[@]}" -qq update >&2 || fail "apt-get update of ${mirror} ${codename}-backports failed (network, or no backports on that mirror)."
want=()
for p in "${packages[@]}"; do
  # Highest version wins: backports for Mesa and libdrm, the release for the loader.
  version="$(apt-cache "${apt_options[@]}" madison "$p" | awk '{ print $3 }' | sort -V | tail -1)"
  [[ -n "$version" ]] || fail "$p is not in ${mirror} ${codename} or ${codename}-backports."
  want+=("$p=$version")
done
(cd "$work/debs" && rm -f ./*.deb && apt-get "${apt_options[@]}" -qq download "${want[@]}" >&2) ||
  fail "downloading ${want[*]} failed."

staging="$prefix.partial"
rm -rf "$staging"
mkdir -p "$staging/unpacked" "$staging/lib" "$staging/icd.d"
for deb in "$work/debs"/*.deb; do dpkg -x "$deb" "$staging/unpacked"; done
multiarch="$staging/unpacked/usr/lib/x86_64-linux-gnu"
for lib in "${libs[@]}"; do
  cp -a "$multiarch/$lib"* "$staging/lib/" 2>/dev/null || fail "the packages hold no $lib."
done
rm -rf "$staging/unpacked"
missing="$(LD_LIBRARY_PATH="$staging/lib" ldd "$staging/lib/libvulkan_lvp.so" | awk '/not found/ { print $1 }' | tr '\n' ' ')"
[[ -z "$missing" ]] || fail "libvulkan_lvp.so needs ${missing}which this machine lacks: install it (e.g. 'apt-get install libllvm15'), then rerun."
# The loader reads a relative library_path relative to the json file.
cat >"$staging/icd.d/lvp.json" <<'EOF'
{"file_format_version": "1.0.0", "ICD": {"library_path": "../lib/libvulkan_lvp.so", "api_version": "1.3.0"}}
EOF
printf '%s\n' "${want[@]}" >"$staging/versions.txt"
echo "$layout" >"$staging/complete"
rm -rf "$prefix"
mv "$staging" "$prefix"
echo "lavapipe setup: ready ($(tr '\n' ' ' <"$prefix/versions.txt"))" >&2
print
