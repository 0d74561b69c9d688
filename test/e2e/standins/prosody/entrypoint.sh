#!/bin/bash
# Prosody stand-in: write prosody.cfg.lua from the container environment,
# register the focus and jvb accounts, then run Prosody in the foreground.
#
# The root file system is read-only, so the config goes to the /config mount
# and account data to the /var/lib/prosody mount, as in the prosody image.
# BOSH and websocket on 5280 count as secure because only the TLS proxy
# reaches them, so SASL mechanisms are offered over them.
set -euo pipefail

readonly CONFIG_FILE=/config/prosody.cfg.lua
readonly DATA_DIR=/var/lib/prosody

die() {
    printf 'prosody stand-in: error: %s\n' "$*" >&2
    exit 1
}

# Domains are written into Lua strings, so only DNS name characters are allowed.
require_domain() {
    local name=$1
    [[ -n ${!name:-} ]] || die "$name is missing from the environment"
    [[ ${!name} =~ ^[A-Za-z0-9.-]+$ ]] || die "$name='${!name}' is not a valid domain name"
}

require_value() {
    [[ -n ${!1:-} ]] || die "$1 is missing from the environment"
}

for variable in XMPP_DOMAIN XMPP_AUTH_DOMAIN XMPP_MUC_DOMAIN XMPP_INTERNAL_MUC_DOMAIN; do
    require_domain "$variable"
done
for variable in JICOFO_AUTH_PASSWORD JVB_AUTH_USER JVB_AUTH_PASSWORD; do
    require_value "$variable"
done
[[ -w /config ]] || die "/config is not writable by uid $(id -u); the host directory must belong to uid $(id -u)"
[[ -w $DATA_DIR ]] || die "$DATA_DIR is not writable by uid $(id -u); the host directory must belong to uid $(id -u)"

# Prosody indexes the certs directory beside its config at start and logs an
# error when it is missing. TLS ends at the proxy, so it stays empty.
mkdir -p /config/certs

websocket_module=""
if [[ ${ENABLE_XMPP_WEBSOCKET:-0} == 1 ]]; then
    websocket_module='"websocket";'
fi

cat >"$CONFIG_FILE" <<CONFIG
-- Written by the prosody stand-in at container start; edits are replaced.
data_path = "$DATA_DIR"
plugin_paths = { "/prosody-plugins-custom", "/usr/local/lib/prosody/modules" }
log = { info = "*console" }

-- IPv4 only: the container network has no IPv6.
interfaces = { "*" }
c2s_ports = { 5222 }
http_ports = { 5280 }
http_interfaces = { "*" }
https_ports = {}
-- The proxy sends "Host: $XMPP_DOMAIN"; requests with any other Host, such as
-- the healthcheck's 127.0.0.1, are served by the same host.
http_default_host = "$XMPP_DOMAIN"

modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "bosh"; $websocket_module "http_health" }
modules_disabled = { "s2s" }
allow_registration = false
consider_bosh_secure = true
consider_websocket_secure = true
-- jicofo and jvb connect to 5222 over the private container network without TLS.
c2s_require_encryption = false

VirtualHost "$XMPP_DOMAIN"
    authentication = "anonymous"

VirtualHost "$XMPP_AUTH_DOMAIN"
    authentication = "internal_hashed"

Component "$XMPP_MUC_DOMAIN" "muc"
Component "$XMPP_INTERNAL_MUC_DOMAIN" "muc"
CONFIG

# Registering again at every start sets the passwords from the environment,
# so a replaced container with new passwords keeps working with the old data.
prosodyctl --config "$CONFIG_FILE" register focus "$XMPP_AUTH_DOMAIN" "$JICOFO_AUTH_PASSWORD"
prosodyctl --config "$CONFIG_FILE" register "$JVB_AUTH_USER" "$XMPP_AUTH_DOMAIN" "$JVB_AUTH_PASSWORD"

exec prosody --config "$CONFIG_FILE" -F
