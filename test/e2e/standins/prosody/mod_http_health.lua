-- Serves GET /health with status 200 while Prosody runs, for the container healthcheck.
module:depends("http");

module:provides("http", {
	default_path = "/health";
	route = {
		GET = function(event)
			event.response.headers.content_type = "text/plain";
			return "healthy\n";
		end;
	};
});
