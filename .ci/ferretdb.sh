# shellcheck shell=bash
# FerretDB v1 (a MongoDB-wire server on SQLite) for the test suite: a real mongod cannot be
# downloaded on our machines, so CI builds FerretDB from source (.ci/ferretdb) once and caches it.

FERRETDB_VERSION=1.24.2
FERRETDB_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/deferflow"
FERRETDB_BIN="$FERRETDB_CACHE_DIR/ferretdb-$FERRETDB_VERSION"
FERRETDB_PID=""
FERRETDB_DATA_DIR=""

# Build .ci/ferretdb into $FERRETDB_BIN unless a cached binary is there already.
ferretdb_ensure_binary() {
  if [[ -x "$FERRETDB_BIN" ]]; then
    echo "ferretdb: reusing cached $FERRETDB_BIN"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1 || { echo "ferretdb: Go is needed to build FerretDB (Go >= 1.24)" >&2; return 1; }
  mkdir -p "$FERRETDB_CACHE_DIR"
  local src tmp_bin
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")/ferretdb" && pwd)"
  tmp_bin="$FERRETDB_BIN.tmp.$$"
  echo "ferretdb: building v$FERRETDB_VERSION from $src"
  if ! (cd "$src" && GOFLAGS=-mod=mod go build -o "$tmp_bin" .); then
    # The module proxy is reachable but the checksum database may not be: let the proxy alone serve.
    echo "ferretdb: build failed; retrying without the Go checksum database"
    (cd "$src" && GOFLAGS=-mod=mod GONOSUMDB='*' GOSUMDB=off go build -o "$tmp_bin" .)
  fi
  mv "$tmp_bin" "$FERRETDB_BIN"
}

# A free TCP port on 127.0.0.1 (the kernel picks it; tiny race window accepted).
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

# Start FerretDB on a free loopback port with a throwaway SQLite dir; exports MONGODB_URI.
ferretdb_start() {
  local port log
  port="$(free_port)"
  FERRETDB_DATA_DIR="$(mktemp -d -t deferflow-ferretdb.XXXXXX)"
  log="$FERRETDB_DATA_DIR/ferretdb.log"
  "$FERRETDB_BIN" -listen "127.0.0.1:$port" -dir "$FERRETDB_DATA_DIR/data" >"$log" 2>&1 &
  FERRETDB_PID=$!
  local i
  for i in $(seq 1 150); do
    if ! kill -0 "$FERRETDB_PID" 2>/dev/null; then
      echo "ferretdb: exited during start; its log:" >&2
      cat "$log" >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      export MONGODB_URI="mongodb://127.0.0.1:$port/"
      echo "ferretdb: listening on 127.0.0.1:$port (pid $FERRETDB_PID, data $FERRETDB_DATA_DIR)"
      return 0
    fi
    sleep 0.2
  done
  echo "ferretdb: did not accept connections on 127.0.0.1:$port within 30 s; its log:" >&2
  cat "$log" >&2
  return 1
}

ferretdb_stop() {
  if [[ -n "$FERRETDB_PID" ]] && kill -0 "$FERRETDB_PID" 2>/dev/null; then
    kill "$FERRETDB_PID" 2>/dev/null || true
    wait "$FERRETDB_PID" 2>/dev/null || true
  fi
  FERRETDB_PID=""
  if [[ -n "$FERRETDB_DATA_DIR" && -d "$FERRETDB_DATA_DIR" ]]; then
    rm -rf "$FERRETDB_DATA_DIR"
  fi
  FERRETDB_DATA_DIR=""
}
