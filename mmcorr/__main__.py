import sys

from mmcorr.cli import main

sys.exit(main())
