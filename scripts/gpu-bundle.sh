#!/usr/bin/env bash
# Packs what a GPU machine without .NET needs to run this project's GPU checks (scripts/gpu-checks.sh):
#   app/                `bench`, `treepo` (client) and the engine tests, published self-contained for linux-x64 into one
#                       folder (they share the runtime and every assembly), built with -p:TreePOExternalTorch=true: no
#                       CPU libtorch or LibTorchSharp inside, the machine's own libtorch is used (TREEPO_LIBTORCH); and
#                       without Roslyn, which Orleans' packages list for their build-time code generator
#                       (build/GpuBundle.targets). Not trimmed: three programs share the folder, and each trimmed
#                       publish keeps only what its own program reaches of the shared framework files (tried: the
#                       last publish's trimmed framework broke the other two).
#   torchsharp-native/  TorchSharp's C++ source (src/Native) at the version this project references, for
#                       scripts/build-libtorchsharp.sh to compile against that machine's libtorch
#   build-libtorchsharp.sh
# compressed with xz. What travels to the GPU machine is limited (the device tool: 64 MiB with the checkout), so the
# script prints the bundle's size next to the checkout's.
#
#   scripts/gpu-bundle.sh [--out FILE] [--torchsharp DIR] [--torchsharp-ref REF]
#
#   --out             the bundle (default: .gpu/treepo-gpu.tar.xz; .gpu/ is git-ignored)
#   --torchsharp      a TorchSharp checkout or bare git repository (default: clone github.com/dotnet/TorchSharp)
#   --torchsharp-ref  the tag or commit of TorchSharp to take src/Native from (default: v0.107.0, the package's)
#
# TREEPO_BUNDLE_UNCOMPRESSED=1 writes a plain tar (quicker, for trying the bundle on this machine).
# The projects are published from a copy of this checkout's files (tracked and untracked-not-ignored, as they are
# now), so the build folders of the checkout itself are left alone.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$repo/.gpu/treepo-gpu.tar.xz" torchsharp="" ref="v0.107.0"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --torchsharp) torchsharp="$2"; shift 2 ;;
    --torchsharp-ref) ref="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "gpu-bundle: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
fail() { echo "gpu-bundle: $*" >&2; exit 1; }
command -v dotnet >/dev/null || fail "needs the .NET SDK (dotnet)"
command -v xz >/dev/null || fail "needs xz"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/stage"
mkdir -p "$work/src" "$stage"

echo "gpu-bundle: copying the checkout"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"; done | xargs -0 cp --parents -t "$work/src")

echo "gpu-bundle: TorchSharp src/Native at $ref"
if [ -z "$torchsharp" ]; then
  git clone --quiet --depth 1 --branch "$ref" https://github.com/dotnet/TorchSharp "$work/torchsharp" \
    || fail "could not clone TorchSharp $ref; give a checkout with --torchsharp DIR"
  torchsharp="$work/torchsharp"
fi
mkdir -p "$stage/torchsharp-native"
if git -C "$torchsharp" rev-parse --verify --quiet "$ref^{commit}" >/dev/null; then
  git -C "$torchsharp" archive "$ref" src/Native | tar -x -C "$work" \
    || fail "$torchsharp has no src/Native at $ref"
  cp -r "$work/src/Native/." "$stage/torchsharp-native/" 2>/dev/null || cp -r "$work"/src/Native/. "$stage/torchsharp-native/"
elif [ -d "$torchsharp/src/Native" ]; then
  cp -r "$torchsharp/src/Native/." "$stage/torchsharp-native/"
else
  fail "--torchsharp $torchsharp: neither a git repository with $ref nor a checkout with src/Native"
fi
[ -f "$stage/torchsharp-native/LibTorchSharp/THSTensor.cpp" ] || fail "TorchSharp's src/Native is incomplete"
grep -q "<MinorVersion>107</MinorVersion>" <(git -C "$torchsharp" show "$ref:build/BranchInfo.props" 2>/dev/null || cat "$torchsharp/build/BranchInfo.props" 2>/dev/null) \
  || echo "gpu-bundle: warning: that TorchSharp is not 0.107 (build/BranchInfo.props); its exports may differ from TorchSharp.dll's"

for project in tests/TreePO.Engine.Tests client bench; do
  echo "gpu-bundle: publishing $project"
  dotnet publish "$work/src/$project" -c Release -r linux-x64 --self-contained \
    -p:TreePOExternalTorch=true -p:TreePOGpuBundle=true -p:DebugType=none -p:DebugSymbols=false \
    -o "$stage/app" 2>&1 | grep -E "error|->" || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "publishing $project failed"
done
# The engine tests the checks run (trait Device=any) need no fixtures (the Qwen3 tokenizer alone is 11 MB), and the
# built-in model travels with the checkout the checks run from.
rm -rf "$stage/app/fixtures" "$stage/app/models"
# The runtime's debugging and tracing helpers and its alternative garbage collectors: loaded only when a debugger,
# a dump, LTTng or DOTNET_GCName asks for them; 7 MB the journey is better without.
rm -f "$stage/app/createdump" "$stage/app/libmscordaccore.so" "$stage/app/libmscordbi.so" "$stage/app/libclrgc.so" \
  "$stage/app/libclrgcexp.so" "$stage/app/libcoreclrtraceptprovider.so"
if ls "$stage/app" | grep -qE '^lib(torch|c10|LibTorchSharp)'; then fail "a CPU libtorch reached the bundle: $(ls "$stage/app" | grep -E '^lib(torch|c10|LibTorchSharp)' | head -3)"; fi
cp "$repo/scripts/build-libtorchsharp.sh" "$stage/"

mkdir -p "$(dirname "$out")"
echo "gpu-bundle: compressing $(du -sh "$stage" | cut -f1)"
if [ "${TREEPO_BUNDLE_UNCOMPRESSED:-0}" = 1 ]; then tar -C "$stage" -cf "$out" .; else tar -C "$stage" -cf - . | xz -9e -T0 > "$out"; fi
bytes=$(stat -c %s "$out")
tree=$(cd "$repo" && git ls-files -z | xargs -0 stat -c %s | awk '{s+=$1} END {print s}')
echo "gpu-bundle: wrote $out: $((bytes >> 20)) MiB; this checkout's tracked files: $((tree >> 20)) MiB; together $(((bytes + tree) >> 20)) MiB"
echo "  on the GPU machine, from this checkout's root: scripts/gpu-checks.sh $out RESULTS_DIR"
