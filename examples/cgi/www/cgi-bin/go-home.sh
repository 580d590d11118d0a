#!/bin/sh
# A local redirect: Location is a path and there is no body, so the server serves / itself.
printf 'Location: /\r\n\r\n'
