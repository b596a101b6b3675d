"""``python -m skinsr_tf.rating [rate] COMMAND ...``"""

import sys

from skinsr_tf.rating.cli import main

sys.exit(main())
