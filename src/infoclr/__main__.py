import sys

from infoclr.cli import main

sys.exit(main())
