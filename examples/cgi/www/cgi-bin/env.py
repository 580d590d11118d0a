"""Shows the CGI environment the server built for this request (run by /usr/bin/python3)."""

import os
import sys

sys.stdout.write("Content-Type: text/plain; charset=utf-8\n\n")
for name in sorted(os.environ):
    sys.stdout.write(f"{name}={os.environ[name]}\n")
sys.stdout.write(f"cwd={os.getcwd()}\n")
