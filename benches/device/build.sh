#!/usr/bin/env bash
# Builds everything the device script needs into target/device-kit (carry that path):
# stripped release binaries (trajwalk and the `gpu` criterion bench), the shared libraries
# they load that a bare machine may lack (HDF5 and its dependencies, the Vulkan loader),
# and the inputs (cluster2101.bod, the generated workloads). Run here, not on the device.
set -euo pipefail
cd "$(dirname "$0")/../.."
kit=target/device-kit
rm -rf "$kit" && mkdir -p "$kit/lib" "$kit/data"
cargo build --release --bin trajwalk --example make_workloads
bench=$(cargo bench --bench gpu --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "gpu" and m.get("executable"): print(m["executable"])')
cp target/release/trajwalk "$kit/trajwalk"
cp "$bench" "$kit/gpu-bench"
strip "$kit/trajwalk" "$kit/gpu-bench"
# Every shared library the binaries link, except the C library's own, which the device's
# must provide (a different glibc would be refused at start, and says so).
for lib in $(ldd "$kit/trajwalk" "$kit/gpu-bench" | awk '/=> \//{print $3}' | sort -u); do
  case "$(basename "$lib")" in libc.so*|libm.so*|libgcc_s.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*) ;; *) cp -L "$lib" "$kit/lib/";; esac
done
# wgpu opens the Vulkan loader at run time; the NVIDIA driver brings its own ICD.
cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$kit/lib/"
cp ../shared/data/cluster2101.bod "$kit/data/" 2>/dev/null || echo "warning: ../shared/data/cluster2101.bod absent: the bench falls back to a generated chain" >&2
target/release/examples/make_workloads "$kit/data"
cp benches/device/run.sh "$kit/run.sh"
du -sh "$kit"
