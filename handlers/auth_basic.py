"""Built-in handler: auth_basic with htpasswd files."""
