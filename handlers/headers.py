"""Built-in handler: add_header, expires, charset and server_tokens."""
