import sys

from postbot.cli import main

sys.exit(main())
