#!/bin/sh
# nph-: the script writes the whole response itself, status line included.
body="hello, unparsed"
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\n\r\n%s' "${#body}" "$body"
