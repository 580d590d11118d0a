"""Built-in handler: gzip compression, gzip_static and brotli_static."""
