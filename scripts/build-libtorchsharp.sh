#!/usr/bin/env bash
# Compiles TorchSharp's native library, libLibTorchSharp.so, against a given libtorch: the way to run this project on
# a libtorch other than the CPU one TorchSharp-cpu ships, e.g. the CUDA build inside PyTorch's Python package on a GPU
# machine (the CUDA TorchSharp packages are not served here, and TorchSharp 0.107's own LibTorchSharp is linked
# against libtorch 2.10). The result is used through TREEPO_LIBTORCH / TREEPO_LIBTORCHSHARP (docs/deploy.md,
# "Engines on GPUs").
#
#   scripts/build-libtorchsharp.sh --source DIR [--torch DIR] [--out DIR] [--jobs N]
#
#   --source  TorchSharp's src/Native folder, from github.com/dotnet/TorchSharp at the tag of the TorchSharp package
#             this project references (v0.107.0): the exported functions must be the ones TorchSharp.dll calls.
#             scripts/gpu-bundle.sh puts it in the bundle.
#   --torch   a libtorch root holding include/ and lib/ (default: the installed PyTorch package,
#             python3 -c 'import torch; print(torch.__path__[0])')
#   --out     where libLibTorchSharp.so is written (default: ./libtorchsharp)
#   --jobs    parallel compilations (default: nproc)
#
# It compiles the sources directly instead of through TorchSharp's CMake project, because that project's
# find_package(Torch) looks for a CUDA toolkit, cuDNN and NVTX of its own, which PyTorch's Python package does not
# lay out where TorchConfig.cmake expects them; the headers and libraries below are all a LibTorchSharp needs.
# What differs from TorchSharp's own build, and why:
#   * no -Werror: newer libtorch headers deprecate APIs TorchSharp 0.107 still calls (warnings, not failures);
#   * _GLIBCXX_USE_CXX11_ABI follows the libtorch (torch._C._GLIBCXX_USE_CXX11_ABI), not a fixed 1;
#   * c10/util/Optional.h: TorchSharp includes it; where a newer libtorch has dropped it, a shim maps c10::optional to
#     std::optional, which is what that header had become (an alias) before it went;
#   * libtorch_cuda / libc10_cuda are linked with --no-as-needed when present, so that loading LibTorchSharp registers
#     the CUDA kernels even though no symbol of theirs is called directly;
#   * the libtorch folder goes into the library's RUNPATH, so it finds its libtorch without LD_LIBRARY_PATH.
# Each source file is compiled on its own; when some fail, the script names each one with its first error and stops.
set -euo pipefail

source_dir="" torch_dir="" out_dir="libtorchsharp" jobs="$(nproc 2>/dev/null || echo 2)"
while [ $# -gt 0 ]; do
  case "$1" in
    --source) source_dir="$2"; shift 2 ;;
    --torch) torch_dir="$2"; shift 2 ;;
    --out) out_dir="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "build-libtorchsharp: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "build-libtorchsharp: $*" >&2; exit 1; }

[ -n "$source_dir" ] || fail "--source is required: TorchSharp's src/Native folder (github.com/dotnet/TorchSharp, tag v0.107.0)"
[ -f "$source_dir/LibTorchSharp/THSTensor.cpp" ] || fail "--source $source_dir: no LibTorchSharp/THSTensor.cpp there; give TorchSharp's src/Native folder"
if [ -z "$torch_dir" ]; then
  torch_dir="$(python3 -c 'import torch; print(torch.__path__[0])' 2>/dev/null)" \
    || fail "no --torch given and python3 cannot import torch; give --torch DIR (a libtorch with include/ and lib/)"
fi
[ -f "$torch_dir/include/torch/torch.h" ] || [ -f "$torch_dir/include/torch/csrc/api/include/torch/torch.h" ] \
  || fail "--torch $torch_dir: no include/torch/csrc/api/include/torch/torch.h; give a libtorch root (include/ and lib/)"
[ -f "$torch_dir/lib/libtorch_cpu.so" ] || fail "--torch $torch_dir: no lib/libtorch_cpu.so"

cxx="${CXX:-g++}" cc="${CC:-gcc}"
command -v "$cxx" >/dev/null || fail "no C++ compiler ($cxx)"
abi=1
if abi_py="$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null)"; then abi="$abi_py"; fi
torch_version="$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo unknown)"

mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/obj" "$work/shim/c10/util"
if [ ! -f "$torch_dir/include/c10/util/Optional.h" ]; then
  cat > "$work/shim/c10/util/Optional.h" <<'EOF'
// Added by build-libtorchsharp.sh: this libtorch no longer ships c10/util/Optional.h.
#pragma once
#include <optional>
namespace c10 {
using std::optional;
using std::nullopt;
using std::nullopt_t;
using std::make_optional;
} // namespace c10
EOF
  echo "build-libtorchsharp: this libtorch has no c10/util/Optional.h; using a shim (c10::optional = std::optional)"
fi

flags=(-std=c++17 -O2 -fPIC -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI="$abi" -D__LINUX__ -D_NO_ASYNCRTIMP -D_NO_PPLXIMP
  -Wno-deprecated-declarations -Wno-unused-local-typedefs
  -I"$source_dir" -I"$source_dir/LibTorchSharp" -I"$work/shim"
  -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include")
echo "build-libtorchsharp: libtorch $torch_version at $torch_dir (C++11 ABI $abi), $jobs jobs, $(${cxx} --version | head -1)"

export cxx cc work
export flags_joined="$(printf '%q ' "${flags[@]}")"
compile() {
  local src="$1" name obj log
  name="$(basename "$src")"
  obj="$work/obj/$name.o"
  log="$work/obj/$name.log"
  if [[ "$src" == *.c ]]; then
    eval "$cc -O2 -fPIC -fvisibility=hidden -c \"$src\" -o \"$obj\"" >"$log" 2>&1 || { echo "$name" >> "$work/failed"; return 0; }
  else
    eval "$cxx $flags_joined -c \"$src\" -o \"$obj\"" >"$log" 2>&1 || { echo "$name" >> "$work/failed"; return 0; }
  fi
  echo "  compiled $name"
}
export -f compile
find "$source_dir/LibTorchSharp" -maxdepth 1 \( -name '*.cpp' -o -name '*.c' \) | sort | xargs -P "$jobs" -I{} bash -c 'compile "$@"' _ {}

if [ -s "$work/failed" ]; then
  echo "build-libtorchsharp: these files did not compile against libtorch $torch_version:" >&2
  while read -r name; do
    echo "--- $name: first errors" >&2
    grep -m 5 -E 'error|Error' "$work/obj/$name.log" >&2 || tail -5 "$work/obj/$name.log" >&2
  done < "$work/failed"
  mkdir -p "$out_dir/logs" && cp "$work"/obj/*.log "$out_dir/logs/"
  fail "compilation failed (full logs in $out_dir/logs)"
fi

libs=(-L"$torch_dir/lib" -Wl,--no-as-needed)
for l in torch torch_cpu c10 torch_cuda c10_cuda; do
  [ -f "$torch_dir/lib/lib$l.so" ] && libs+=("-l$l")
done
libs+=(-Wl,--as-needed)
"$cxx" -shared -o "$out_dir/libLibTorchSharp.so" "$work"/obj/*.o "${libs[@]}" \
  -Wl,-soname,libLibTorchSharp.so -Wl,-rpath,"$torch_dir/lib" -Wl,-Bsymbolic -Wl,-Bsymbolic-functions \
  || fail "linking failed"
cuda="no"
[ -f "$torch_dir/lib/libtorch_cuda.so" ] && cuda="yes"
echo "build-libtorchsharp: wrote $out_dir/libLibTorchSharp.so (libtorch $torch_version, CUDA: $cuda)"
echo "  use it: export TREEPO_LIBTORCH=$torch_dir/lib TREEPO_LIBTORCHSHARP=$out_dir/libLibTorchSharp.so"
