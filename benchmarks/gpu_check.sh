#!/usr/bin/env bash
# The GPU check (under 8 minutes on one CUDA machine): installs ".[gpu]" into a fresh venv, then
# benchmarks/gpu_check.py prints one Markdown table (GPUs seen, train step per model float32 /
# mixed x XLA off / on at the full preset, inference at 1024^2 and 4096^2 output, a short
# mirrored run over all visible GPUs, input pipeline images/s vs the fastest step).
#
#   bash benchmarks/gpu_check.sh                 # fresh venv in a temporary folder
#   bash benchmarks/gpu_check.sh --venv DIR      # fresh venv in DIR, kept (rerun: --venv DIR --no-install)
#   bash benchmarks/gpu_check.sh --no-install    # $PYTHON or python3 as it is (a machine without PyPI access)
#   bash benchmarks/gpu_check.sh --cpu-smoke     # the same code paths on CPU, tiny preset, no install (~1 min)
#
# Other arguments go to gpu_check.py (e.g. --models=unet,edge_sisr). Exit status 1 if a row failed.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
python=${PYTHON:-python3}
venv=""
install=1
args=()
while (($#)); do
  case "$1" in
    --cpu-smoke|--cpu_smoke) install=0; args+=(--cpu_smoke) ;;
    --no-install) install=0 ;;
    --venv) venv="$2"; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done

if ((install)); then
  venv=${venv:-$(mktemp -d)/venv}
  echo "installing .[gpu] into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q ".[gpu]" >&2
  python="$venv/bin/python"
  echo "installed in $((SECONDS - start)) s" >&2
elif [[ -n "$venv" ]]; then
  python="$venv/bin/python"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv >&2 || true

export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
if [[ " ${args[*]} " != *" --cpu_smoke "* && " ${args[*]}" != *" --budget_s"* ]]; then
  args+=(--budget_s=$((420 - (SECONDS - start) > 60 ? 420 - (SECONDS - start) : 60)))  # 8 min in all
fi
status=0
"$python" benchmarks/gpu_check.py "${args[@]}" || status=$?
echo "gpu_check.sh: $((SECONDS - start)) s in all" >&2
exit $status
