"""``python -m stasc.cli`` = the ``stasc`` command."""

import sys

from stasc.cli import main

sys.exit(main())
