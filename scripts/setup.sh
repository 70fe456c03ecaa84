#!/usr/bin/env bash
# Installs what relaygate needs to build, run and test on Debian 12 (as root, or with sudo),
# skipping the install when everything is already there.
set -euo pipefail

packages=(
    # build
    g++ cmake ninja-build pkg-config
    # libraries (DEPENDENCIES.md)
    libcli11-dev nlohmann-json3-dev catch2 libmimetic-dev libldns-dev
    libopendkim-dev libopendmarc-dev libpsl-dev publicsuffix libssl-dev libcurl4-openssl-dev
    libicu-dev libgumbo-dev libarchive-dev libmagic-dev
    # test servers and oracles
    unbound ldnsutils opendkim-tools python3-dkim python3-aiosmtpd python3-yaml openssl
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages present"
    exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
