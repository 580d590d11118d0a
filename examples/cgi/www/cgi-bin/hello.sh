#!/bin/sh
# The smallest CGI script: a header block, a blank line, the body.
printf 'Content-Type: text/plain\r\n\r\n'
echo "hello from $SERVER_SOFTWARE"
