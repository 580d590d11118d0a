"""``python -m framework`` is the ``webserv`` command."""

import sys

from framework.cli import main

sys.exit(main())
