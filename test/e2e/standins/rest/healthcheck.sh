#!/bin/sh
# Container healthcheck: succeeds when the REST API returns 200 on /about/health.
exec curl --fail --silent --show-error --max-time 4 --output /dev/null "http://127.0.0.1:${STANDIN_REST_PORT}/about/health"
