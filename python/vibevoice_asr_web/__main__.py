import sys

from vibevoice_asr_web.cli import main

sys.exit(main())
