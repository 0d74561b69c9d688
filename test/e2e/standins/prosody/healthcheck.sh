#!/bin/sh
# Container healthcheck: succeeds when Prosody's HTTP server returns 200 on /health.
exec curl --fail --silent --show-error --max-time 4 --output /dev/null http://127.0.0.1:5280/health
