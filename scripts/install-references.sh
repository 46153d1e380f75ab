#!/usr/bin/env bash
# Installs the reference systems the comparison benches run against, from Debian's packages, when they
# are missing: etcd (etcd-server, 3.4), ZooKeeper (zookeeper, 3.8) and NATS (nats-server).
# Usage: scripts/install-references.sh [etcd|zookeeper|nats ...]   (all three when none is named)
# Idempotent: a reference already installed is left alone. Needs root (apt-get).
set -euo pipefail

usage="Usage: scripts/install-references.sh [etcd|zookeeper|nats ...]"

package_of() {
  case "$1" in
    etcd) echo etcd-server ;;
    zookeeper) echo zookeeper ;;
    nats) echo nats-server ;;
    *) return 1 ;;
  esac
}

references=("$@")
if [ "${#references[@]}" -eq 0 ]; then references=(etcd zookeeper nats); fi

missing=()
for reference in "${references[@]}"; do
  case "$reference" in
    -h | --help) echo "$usage"; exit 0 ;;
  esac
  if ! package=$(package_of "$reference"); then
    echo "install-references: unknown reference \"$reference\"" >&2
    echo "$usage" >&2
    exit 2
  fi
  if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    echo "install-references: $reference is installed ($package $(dpkg-query -W -f='${Version}' "$package"))"
  else
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi

echo "install-references: apt-get install -y --no-install-recommends ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  # A fresh machine may have no package lists yet: fetch them once and try again.
  echo "install-references: the install failed; running apt-get update and trying again"
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
for package in "${missing[@]}"; do
  echo "install-references: installed $package $(dpkg-query -W -f='${Version}' "$package")"
done
