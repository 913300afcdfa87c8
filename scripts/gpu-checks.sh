#!/usr/bin/env bash
# The GPU checks of docs/deploy.md ("Engines on GPUs"), in one run on a machine with an NVIDIA GPU, PyTorch (its
# libtorch) and a C++ compiler, and no .NET: unpacks the bundle scripts/gpu-bundle.sh made, compiles LibTorchSharp
# against the machine's libtorch, then runs, each on cuda:
#   1. treepo doctor (the CUDA devices TorchSharp sees);
#   2. the engine tests that hold on any device (trait Device=any: cached decode equals a full recompute, a fork equals
#      a fresh sequence, batched equals single, a weight swap drops the KV, ...);
#   3. bench engine on Qwen2.5-0.5B's shapes (and the built-in one) at batch 1/32/64/256, context 512, against the same
#      step's matrix products alone and the GPU's measured roofline, with the share of time the GPU is busy; again in
#      bf16 (weights, activations and K/V);
#   4. bench sampling, tree against sequential: the built-in model with many queries, and Qwen2.5-0.5B's shapes with
#      random weights and a fixed response length;
#   5. a short `treepo train` with the engine and the trainer on cuda.
# RESULTS_DIR gets at most eight files (for tools that bring back only a few): summary.txt (each step's exit code and
# time, and its key lines, written as the steps end), the LibTorchSharp built (so that a later run can skip the build),
# the benchmarks' JSON, bench.cuda.txt (their output) and logs.tar.gz (every step's output). A failed step is named in
# summary.txt and the later steps still run.
#
#   scripts/gpu-checks.sh BUNDLE.tar.xz RESULTS_DIR [--device cuda:0] [--quick] [--only STEPS]
#                         [--libtorchsharp FILE [--libtorch DIR]]
#
#   --quick   the smallest workloads that still run every path (a first look, or a dry run on a CPU)
#   --only    some of doctor,tests,engine,sampling,train (default all), to split the checks over several runs
#   --libtorchsharp FILE   a LibTorchSharp built before (an earlier run's RESULTS_DIR has one): no build
#   --libtorch DIR         the libtorch it goes with (default: PyTorch's torch/lib); with TorchSharp-cpu's libraries
#             and --device cpu, everything but the native build and CUDA runs on a machine without a GPU
#
# It runs from any folder: the built-in model is taken from the checkout the script is in.
set -uo pipefail

[ $# -ge 2 ] || { echo "usage: scripts/gpu-checks.sh BUNDLE.tar.xz RESULTS_DIR [--device cuda:0] [--quick] [--only STEPS] [--libtorchsharp FILE [--libtorch DIR]]" >&2; exit 2; }
bundle="$(realpath "$1")" results="$(mkdir -p "$2" && cd "$2" && pwd)"
shift 2
device="cuda:0" quick=0 given_lib="" given_sharp="" only="doctor,tests,engine,sampling,train"
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --only) only="$2"; shift 2 ;;
    --libtorch) given_lib="$(realpath "$2")"; shift 2 ;;
    --libtorchsharp) given_sharp="$(realpath "$2")"; shift 2 ;;
    *) echo "gpu-checks: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[ -f "$bundle" ] || { echo "gpu-checks: no bundle at $bundle (scripts/gpu-bundle.sh makes it)" >&2; exit 2; }
for s in ${only//,/ }; do
  case "$s" in doctor|tests|engine|sampling|train) ;; *) echo "gpu-checks: --only: '$s' is not one of doctor,tests,engine,sampling,train" >&2; exit 2 ;; esac
done
wants() { [[ ",$only," == *",$1,"* ]]; }
[ -z "$given_lib" ] || [ -n "$given_sharp" ] || { echo "gpu-checks: --libtorch goes with --libtorchsharp" >&2; exit 2; }
checkout="$(cd "$(dirname "$0")/.." && pwd)"
[ -d "$checkout/models/builtin" ] || { echo "gpu-checks: no models/builtin in $checkout, the checkout this script is in" >&2; exit 2; }

summary="$results/summary.txt" logs="$(mktemp -d)"
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
started=$(date +%s)
# step NAME TIMEOUT_S COMMAND...: runs it with its output in $logs/NAME.txt, and records the exit code and duration.
step() {
  local name="$1" limit="$2" t0 rc
  shift 2
  t0=$(date +%s)
  echo "== $name: $*" > "$logs/$name.txt"
  timeout "$limit" "$@" >> "$logs/$name.txt" 2>&1
  rc=$?
  say "$name: exit $rc in $(( $(date +%s) - t0 )) s$([ $rc -eq 124 ] && echo " (timed out after $limit s)")"
  return $rc
}

say "gpu-checks on $(hostname) at $(date -u +%FT%TZ), device $device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$summary"

work="$(mktemp -d /tmp/treepo-gpu.XXXXXX)"
tar -xf "$bundle" -C "$work" || { say "unpacking $bundle failed"; exit 1; }
app="$work/app"
if [ -n "$given_sharp" ]; then
  if [ -z "$given_lib" ]; then
    given_lib="$(python3 -c 'import torch, os; print(os.path.join(torch.__path__[0], "lib"))')" || { say "python3 cannot import torch"; exit 1; }
  fi
  say "libtorch: $given_lib, LibTorchSharp: $given_sharp (given: not built)"
  export TREEPO_LIBTORCH="$given_lib" TREEPO_LIBTORCHSHARP="$given_sharp"
else
torch_dir="$(python3 -c 'import torch; print(torch.__path__[0])')" || { say "python3 cannot import torch"; exit 1; }
say "torch: $(python3 -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "devices", torch.cuda.device_count())')"

if ! step build-libtorchsharp 900 bash "$work/build-libtorchsharp.sh" --source "$work/torchsharp-native" --torch "$torch_dir" \
    --out "$work/libtorchsharp" --jobs "$(nproc)"; then
  tail -40 "$logs/build-libtorchsharp.txt" >> "$summary"
  tar -C "$logs" -czf "$results/logs.tar.gz" .
  [ -d "$work/libtorchsharp/logs" ] && tar -C "$work/libtorchsharp" -czf "$results/compile-logs.tar.gz" logs
  exit 1
fi
cp "$work/libtorchsharp/libLibTorchSharp.so" "$results/"   # a later run takes it with --libtorchsharp
export TREEPO_LIBTORCH="$torch_dir/lib" TREEPO_LIBTORCHSHARP="$work/libtorchsharp/libLibTorchSharp.so"
fi
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

run_dir="$work/run"
mkdir -p "$run_dir"
cp -r "$checkout/models" "$run_dir/"   # the built-in model, found from the working folder; runs/ and bench files land here
cd "$run_dir"
if wants doctor; then
step doctor 180 "$app/treepo" doctor
grep -E "libtorch|devices|matmul|all checks" "$logs/doctor.txt" | sed 's/^/  /' >> "$summary"
fi

if wants tests; then
TREEPO_TEST_DEVICE="$device" step engine-tests 600 "$app/TreePO.Engine.Tests" -trait "Device=any"
grep -E "Total:|Failed|\[FAIL\]" "$logs/engine-tests.txt" | head -20 | sed 's/^/  /' >> "$summary"
fi

# --quick: the smallest workloads that still run every path (a dry run on a CPU, or a first look).
reps=5 queries=64 steps=8 batches=1,32,64,256 context=512 small=() train_steps=5 concurrency=64,256
[ $quick -eq 1 ] && reps=1 queries=4 steps=2 batches=1,4 context=64 small=(-w 4 --d 2 --l 4) train_steps=2 concurrency=0
if wants engine; then
step bench-engine 900 "$app/TreePO.Bench" engine --device "$device" --shapes qwen2.5-0.5b,builtin --batches "$batches" \
  --context "$context" --steps "$steps" --out "$results/engine.cuda.json"
grep -E "batch|machine|fixed" "$logs/bench-engine.txt" | sed 's/^/  /' >> "$summary"
step bench-engine-bf16 600 "$app/TreePO.Bench" engine --device "$device" --dtype bfloat16 --shapes qwen2.5-0.5b \
  --batches "$batches" --context "$context" --steps "$steps" --out "$results/engine-bf16.cuda.json"
grep -E "batch|machine|fixed" "$logs/bench-engine-bf16.txt" | sed 's/^/  /' >> "$summary"
fi

if wants sampling; then
step bench-sampling 600 "$app/TreePO.Bench" sampling --device "$device" --queries "$queries" --reps "$reps" --no-lower-bound \
  --concurrency "$concurrency" --kv-mb 8192 --out "$results/sampling.cuda.json"
grep -E "tree / sequential|traj/s|computed|steps" "$logs/bench-sampling.txt" | head -12 | sed 's/^/  /' >> "$summary"

step bench-sampling-0.5b 600 "$app/TreePO.Bench" sampling --device "$device" --random-shape qwen2.5-0.5b --queries "$queries" \
  "${small[@]}" --reps "$reps" --no-lower-bound --concurrency 0 --kv-mb 16384 --out "$results/sampling-0.5b.cuda.json"
grep -E "tree / sequential|traj/s|computed|steps" "$logs/bench-sampling-0.5b.txt" | head -12 | sed 's/^/  /' >> "$summary"
fi

if wants train; then
step train 600 "$app/treepo" train --steps "$train_steps" --name gpu-check --engine.devices="$device" --trainer.device="$device"
tail -15 "$logs/train.txt" | sed 's/^/  /' >> "$summary"
fi

say "gpu-checks: done in $(( $(date +%s) - started )) s"
cat "$logs"/bench-*.txt > "$results/bench.cuda.txt" 2>/dev/null
tar -C "$logs" -czf "$results/logs.tar.gz" .
