"""Built-in handler: try_files."""
