"""Echoes the request body back, streaming (a 100 MB POST uses little memory)."""

import os
import sys

sys.stdout.buffer.write(b"Content-Type: application/octet-stream\r\n")
if "CONTENT_LENGTH" in os.environ:
    sys.stdout.buffer.write(b"Content-Length: %s\r\n" % os.environ["CONTENT_LENGTH"].encode())
sys.stdout.buffer.write(b"\r\n")
sys.stdout.flush()
while block := sys.stdin.buffer.read1(65536):
    sys.stdout.buffer.write(block)
