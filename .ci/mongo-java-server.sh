# shellcheck shell=bash
# mongo-java-server (Maven Central, Java 17): the atomic MongoDB-wire server the suite runs on.
# A real mongod cannot be downloaded on our machines; FerretDB v1 is not atomic (see
# ../docs/ARCHITECTURE.md), so it only runs the store conformance tests (ferretdb.sh).
# Built once from .ci/mongo-java-server (Main.java + pom.xml) into the cache, like FerretDB.

MJS_VERSION=1.47.0
MJS_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/deferflow/mongo-java-server-$MJS_VERSION"
MJS_PID=""
MJS_LOG=""

mjs_source_hash() {
  cat "$(dirname "${BASH_SOURCE[0]}")/mongo-java-server/Main.java" "$(dirname "${BASH_SOURCE[0]}")/mongo-java-server/pom.xml" | sha256sum | cut -d' ' -f1
}

# The class path file lists jars in ~/.m2; a cache is usable only while all of them are there,
# and only for the Main.java and pom.xml it was built from.
mjs_cache_ok() {
  [[ -f "$MJS_CACHE_DIR/classes/Main.class" && -f "$MJS_CACHE_DIR/classpath.txt" ]] || return 1
  [[ "$(cat "$MJS_CACHE_DIR/source.sha256" 2>/dev/null)" == "$(mjs_source_hash)" ]] || return 1
  local jar
  while IFS= read -r jar; do
    [[ -f "$jar" ]] || return 1
  done < <(tr ':' '\n' <"$MJS_CACHE_DIR/classpath.txt")
}

mjs_ensure_build() {
  if mjs_cache_ok; then
    echo "mongo-java-server: reusing $MJS_CACHE_DIR"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || { echo "mongo-java-server: Maven is needed (apt-get install maven)" >&2; return 1; }
  command -v javac >/dev/null 2>&1 || { echo "mongo-java-server: a JDK ≥ 17 is needed" >&2; return 1; }
  local src tmp
  src="$(cd "$(dirname "${BASH_SOURCE[0]}")/mongo-java-server" && pwd)"
  tmp="$MJS_CACHE_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/classes"
  echo "mongo-java-server: resolving $MJS_VERSION from Maven Central"
  (cd "$src" && mvn -q -B dependency:build-classpath -Dmdep.outputFile="$tmp/classpath.txt") || return 1
  javac --release 17 -d "$tmp/classes" -cp "$(cat "$tmp/classpath.txt")" "$src/Main.java" || return 1
  mjs_source_hash >"$tmp/source.sha256"
  rm -rf "$MJS_CACHE_DIR"
  mv "$tmp" "$MJS_CACHE_DIR"
}

# Start on a free loopback port; sets MJS_URI (the caller decides what to export it as).
# MJS_STOCK_PLANNER=1 runs the library's own query planner (for before/after benchmarks).
mjs_start() {
  local port
  port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});')"
  MJS_LOG="$(mktemp -t deferflow-mjs.XXXXXX.log)"
  # The memory backend keeps every test database in the heap; the suite peaks well below 2 GiB.
  java -Xmx3g -XX:+UseParallelGC -cp "$MJS_CACHE_DIR/classes:$(cat "$MJS_CACHE_DIR/classpath.txt")" Main "$port" ${MJS_STOCK_PLANNER:+--stock-planner} >"$MJS_LOG" 2>&1 &
  MJS_PID=$!
  local i
  for i in $(seq 1 300); do
    if ! kill -0 "$MJS_PID" 2>/dev/null; then
      echo "mongo-java-server: exited during start; its log:" >&2
      cat "$MJS_LOG" >&2
      return 1
    fi
    if grep -q listening "$MJS_LOG" 2>/dev/null; then
      MJS_URI="mongodb://127.0.0.1:$port/"
      echo "mongo-java-server: listening on 127.0.0.1:$port (pid $MJS_PID)"
      return 0
    fi
    sleep 0.2
  done
  echo "mongo-java-server: did not start within 60 s; its log:" >&2
  cat "$MJS_LOG" >&2
  return 1
}

mjs_stop() {
  if [[ -n "$MJS_PID" ]] && kill -0 "$MJS_PID" 2>/dev/null; then
    kill "$MJS_PID" 2>/dev/null || true
    wait "$MJS_PID" 2>/dev/null || true
  fi
  MJS_PID=""
  [[ -n "$MJS_LOG" ]] && rm -f "$MJS_LOG"
  MJS_LOG=""
}
