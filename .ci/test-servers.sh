#!/usr/bin/env bash
# The servers of the Prometheus HTTP API that the Prometheus data source tests start (docs/prometheus.md,
# "Prometheus 2.x and 3.x, Thanos, VictoriaMetrics"): Debian's prometheus (it brings promtool) and Debian's
# victoria-metrics. Installs those missing, and does nothing when both are there; run by .ci/run, and by
# hand on a developer's machine that wants these tests (root, or sudo). Without them the tests skip, except
# under CI=true, where they fail.
#
# Prometheus 3.x and Thanos have no Debian package, and this project's machines reach no Go module proxy
# to build them from: they are not tested (docs/prometheus.md).
set -uo pipefail

missing=()
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || missing+=(prometheus)
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
echo "Installing Debian's ${missing[*]} for the Prometheus data source tests"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# policy-rc.d-less machines with systemd would start the packages' own services on their default ports; the
# tests start their own servers on free ports and need none of them.
if $SUDO apt-get update -qq \
  && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  for service in "${missing[@]}"; do
    $SUDO systemctl disable --now "$service" >/dev/null 2>&1 || true
  done
else
  echo "${missing[*]} could not be installed; the Prometheus data source tests will fail under CI"
fi
exit 0
