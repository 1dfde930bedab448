# shellcheck shell=bash
# Browser tests (test/ui) drive Debian's Chromium through playwright-core; browsers cannot be
# downloaded by playwright here, so install the distribution package when it is missing.

chromium_ensure() {
  if [[ -x /usr/bin/chromium ]]; then
    export CHROMIUM_PATH=/usr/bin/chromium
    return 0
  fi
  echo "chromium: installing Debian's chromium for the UI tests"
  local sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  export CHROMIUM_PATH=/usr/bin/chromium
}
