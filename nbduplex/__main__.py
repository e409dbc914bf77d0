"""`python -m nbduplex` == the `nbduplex` command."""

import sys

from nbduplex.cli import main

sys.exit(main())
