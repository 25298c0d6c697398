#!/usr/bin/env bash
# CI: installs Debian's Go and nats.go sources for the Go ingress client's test
# (integration/go-client.test.ts builds examples/go-client/ offline, in GOPATH mode against
# /usr/share/gocode). Best effort: it never fails the build. Without them that test skips and
# says so in its name.
set -u

say() { echo "install-go: $*"; }

NATS_GO=/usr/share/gocode/src/github.com/nats-io/nats.go/kv.go

if command -v go >/dev/null 2>&1 && [ -f "$NATS_GO" ]; then
  say "found $(go version) and Debian's nats.go; nothing to install"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  say "no go or no Debian nats.go sources, and not root: not installing (the Go client test will skip)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "no go or no Debian nats.go sources, and no apt-get: not installing (the Go client test will skip)"
  exit 0
fi

say "installing Debian's golang-go and golang-github-nats-io-go-nats-dev with apt-get"
log="$(mktemp)"
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-github-nats-io-go-nats-dev >>"$log" 2>&1; then
  say "installed: $(go version 2>/dev/null || echo 'go (version unknown)')"
else
  say "could not install them (the Go client test will skip); last lines of apt-get:"
  tail -n 5 "$log" | sed 's/^/  /'
fi
rm -f "$log"
exit 0
