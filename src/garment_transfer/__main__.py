"""``python -m garment_transfer``: the ``garment-transfer`` command."""

import sys

from garment_transfer.cli import main

if __name__ == "__main__":  # importing the module (the API reference does) runs nothing
    sys.exit(main())
