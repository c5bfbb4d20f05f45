#!/usr/bin/env bash
# Installs the Debian packages aaren-rl needs (Debian 12). Idempotent: when
# everything is installed it only asks dpkg and returns in well under a second.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev                  # LibTorch 1.13 (CPU)
  libopenblas0-openmp           # without it LibTorch uses the reference BLAS (~16x slower)
  libmujoco-dev                 # MuJoCo C API
  libhdf5-dev                   # HDF5 C and C++ APIs
  libboost-program-options-dev  # command-line flags
  libboost-context-dev          # fibers: the CUDA kernels' test emulator runs each CUDA thread as one
  nlohmann-json3-dev            # JSON output of the commands
  libgloo-dev                   # Gloo headers: data-parallel training on LibTorch's c10d
  libblas-dev                   # cblas.h: the fused CPU attention calls OpenBLAS directly
  libegl-dev libegl-mesa0 libgl1-mesa-dri  # offscreen rendering for videos (EGL; Mesa's software GL without a GPU)
  ffmpeg                        # encodes rollout videos (--video FILE.mp4 / .gif)
  libssl-dev                    # SHA-256 of a run's dataset (OpenSSL)
  locales                       # de_DE.UTF-8 for the tests under users' locales (ctest -L environment)
  catch2                        # Catch2 v2 (single header), the test framework
  clang-format                  # the sources' style, checked by a test (version 14 on Debian 12)
  python3 python3-h5py python3-numpy  # Python-side references used by some tests
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: done" >&2
fi

# LibTorch resolves BLAS through Debian's libblas.so.3 alternative. Point it at
# the OpenMP build of OpenBLAS: never the reference BLAS (~16x slower), and not
# the pthread build, whose own thread pool ignores LibTorch's thread setting and
# spins (sched_yield) beside LibTorch's OpenMP threads.
dir=/usr/lib/x86_64-linux-gnu/openblas-openmp
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  [[ -e "$dir/$lib" ]] || continue
  current=$(readlink -f "/usr/lib/x86_64-linux-gnu/$lib" 2>/dev/null || true)
  if [[ "$current" != "$(readlink -f "$dir/$lib")" ]]; then
    echo "setup: pointing $lib at OpenBLAS/OpenMP (was: ${current:-none})" >&2
    $SUDO update-alternatives --set "$lib-x86_64-linux-gnu" "$dir/$lib" >/dev/null
  fi
done

# A decimal-comma locale for the tests that run again under what users'
# machines have (tests/run-in-user-environment.sh, `ctest -L environment`).
# (Listed first, then searched: under pipefail, grep -q leaving the pipe early could fail the writer.)
if ! grep -qix 'de_DE.utf8' <<< "$(locale -a 2>/dev/null || true)"; then
  echo "setup: generating the de_DE.UTF-8 locale (for the tests)" >&2
  $SUDO sed -i 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' | $SUDO tee -a /etc/locale.gen >/dev/null
  $SUDO locale-gen >/dev/null
fi
