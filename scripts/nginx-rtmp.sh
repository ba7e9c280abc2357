#!/usr/bin/env bash
# A private nginx-rtmp on 127.0.0.1 for tests and for trying broadcasts,
# without touching the system's nginx: its own prefix, configuration, logs
# and HLS folder, in the foreground (Ctrl-C or SIGTERM stops it).
#
#   scripts/nginx-rtmp.sh DIR [RTMP_PORT] [HTTP_PORT] [BIND]
#
# Publish to rtmp://BIND:RTMP_PORT/live/NAME; play the same URL (VLC, OBS
# Media Source, ffplay) or HLS at http://BIND:HTTP_PORT/hls/NAME.m3u8.
# Defaults: 1935, 8088, 127.0.0.1. Needs nginx and libnginx-mod-rtmp
# (scripts/install-deps.sh installs them).
set -euo pipefail
dir=${1:?usage: nginx-rtmp.sh DIR [RTMP_PORT] [HTTP_PORT] [BIND]}
rtmp_port=${2:-1935}
http_port=${3:-8088}
bind=${4:-127.0.0.1}
module=/usr/lib/nginx/modules/ngx_rtmp_module.so
[[ -f $module ]] || { echo "nginx-rtmp.sh: $module missing: apt-get install nginx libnginx-mod-rtmp" >&2; exit 1; }
mkdir -p "$dir/hls" "$dir/tmp" "$dir/logs"
dir=$(cd "$dir" && pwd)
cat > "$dir/nginx.conf" <<CONF
load_module $module;
daemon off;
master_process off;
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 256; }
rtmp {
    server {
        listen $bind:$rtmp_port;
        chunk_size 4096;
        application live {
            live on;
            record off;
            # HLS fan-out: 1 s fragments, a 6 s playlist.
            hls on;
            hls_path $dir/hls;
            hls_fragment 1s;
            hls_playlist_length 6s;
            hls_cleanup on;
        }
    }
}
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen $bind:$http_port;
        location /hls/ {
            alias $dir/hls/;
            types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin *;
        }
    }
}
CONF
echo "nginx-rtmp: rtmp://$bind:$rtmp_port/live/NAME, HLS http://$bind:$http_port/hls/NAME.m3u8 (prefix $dir)"
exec nginx -p "$dir" -c "$dir/nginx.conf"
