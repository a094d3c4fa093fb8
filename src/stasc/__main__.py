"""``python -m stasc`` = the ``stasc`` command."""

import sys

from stasc.cli import main

sys.exit(main())
