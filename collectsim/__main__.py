"""``python -m collectsim`` runs the command line."""

import sys

from collectsim.cli import main

sys.exit(main())
