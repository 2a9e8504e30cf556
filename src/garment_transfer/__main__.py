import sys

from garment_transfer.cli import main

sys.exit(main())
