#!/bin/sh
# Container healthcheck: succeeds when the web server returns 200 on port 8000.
exec curl --fail --silent --show-error --max-time 4 --output /dev/null http://127.0.0.1:8000/
