#!/usr/bin/env bash
# A private Janus for tests and for trying spectators (docs/broadcast.md),
# without touching the system's /etc/janus: its own generated configuration
# in DIR, only the Streaming plugin and the HTTP transport, the admin API
# off, in the foreground (Ctrl-C or SIGTERM stops it).
#
#   scripts/janus.sh DIR [HTTP_PORT] [RTP_PORTS] [BIND]
#
# RTP_PORTS is a comma-separated list: one Streaming mountpoint each, with
# ids 1, 2, ... in that order, fed by RTP on the port and exchanging RTCP
# (key-frame requests) on the port + 1. Feed it with
#   vizstream-server ... --janus-rtp BIND:RTP_PORT
# and watch at the server's /watch with --janus-url
# http://BIND:HTTP_PORT/janus --janus-mountpoint ID.
# Defaults: 18088, 15004, 127.0.0.1. Environment: JANUS_CODEC=vp8 for a
# server run with --codec vp8 (default h264); JANUS_RTP_RANGE=MIN-MAX for
# the ports Janus talks WebRTC on (default: any); JANUS_ICE=ADDR, the
# address it offers spectators (see below); JANUS_DEBUG=0..7 (3).
# Needs janus (scripts/install-deps.sh installs it).
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail
dir=${1:?usage: janus.sh DIR [HTTP_PORT] [RTP_PORTS] [BIND]}
http_port=${2:-18088}
rtp_ports=${3:-15004}
bind=${4:-127.0.0.1}
codec=${JANUS_CODEC:-h264}
lib=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/janus
command -v janus >/dev/null ||
  { echo "janus.sh: janus missing: apt-get install janus" >&2; exit 1; }
[[ -f $lib/plugins/libjanus_streaming.so ]] ||
  { echo "janus.sh: $lib/plugins/libjanus_streaming.so missing: apt-get install janus" >&2; exit 1; }
case $codec in
  h264) fmtp='videofmtp = "profile-level-id=42e01f;packetization-mode=1"' ;;
  vp8) fmtp='' ;;
  *) echo "janus.sh: JANUS_CODEC wants h264 or vp8" >&2; exit 2 ;;
esac
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# Every plugin, transport, event handler and logger but the two we want.
others() {
  local keep=$1 folder=$2 out=() f
  for f in "$lib/$folder"/*.so; do
    f=$(basename "$f")
    [[ $f == "$keep" ]] || out+=("$f")
  done
  (IFS=,; echo "${out[*]}")
}
range=""
[[ -n ${JANUS_RTP_RANGE:-} ]] && range="rtp_port_range = \"$JANUS_RTP_RANGE\""
# Janus never gathers ICE candidates on a loopback interface: spectators
# on this machine reach it through a LAN address too. ICE on JANUS_ICE, or
# on BIND when that is such an address, else on every interface.
ice=${JANUS_ICE:-}
[[ -z $ice && $bind != 0.0.0.0 && $bind != :: && $bind != 127.* && $bind != ::1 ]] && ice=$bind
enforce=""
[[ -n $ice ]] && enforce="ice_enforce_list = \"$ice\""

cat > "$dir/janus.jcfg" <<CONF
general: {
	configs_folder = "$dir"
	plugins_folder = "$lib/plugins"
	transports_folder = "$lib/transports"
	events_folder = "$lib/events"
	loggers_folder = "$lib/loggers"
	debug_level = ${JANUS_DEBUG:-3}
	admin_secret = "$(head -c 18 /dev/urandom | base64)"
	server_name = "vizstream-janus"
	session_timeout = 60
}
media: {
	$range
}
nat: {
	$enforce
}
plugins: {
	disable = "$(others libjanus_streaming.so plugins)"
}
transports: {
	disable = "$(others libjanus_http.so transports)"
}
events: {
	broadcast = false
	disable = "$(others none events)"
}
loggers: {
	disable = "$(others none loggers)"
}
CONF

cat > "$dir/janus.transport.http.jcfg" <<CONF
general: {
	json = "compact"
	base_path = "/janus"
	http = true
	port = $http_port
	ip = "$bind"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
CONF

{
  echo "general: {"
  echo "	string_ids = false"
  echo "}"
  id=0
  IFS=, read -ra ports <<< "$rtp_ports"
  for port in "${ports[@]}"; do
    id=$((id + 1))
    iface=""
    [[ $bind != 0.0.0.0 && $bind != :: ]] && iface="videoiface = \"$bind\""
    cat <<CONF
vizstream-$id: {
	type = "rtp"
	id = $id
	description = "vizstream $id (RTP $port)"
	video = true
	audio = false
	videoport = $port
	videortcpport = $((port + 1))
	$iface
	videopt = 96
	videocodec = "$codec"
	$fmtp
	videobufferkf = true
}
CONF
  done
} > "$dir/janus.plugin.streaming.jcfg"

shown=""
id=0
for port in "${ports[@]}"; do
  id=$((id + 1))
  shown+=" $id<-rtp://$bind:$port"
done
echo "janus: http://$bind:$http_port/janus, mountpoints$shown ($codec; config $dir)"
exec janus -C "$dir/janus.jcfg" -F "$dir" -o -L "$dir/janus.log"
