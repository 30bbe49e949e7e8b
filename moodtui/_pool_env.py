"""Imported first by the analysis pool's fork server, before numpy: one BLAS / OpenMP thread.

The pool's parallelism is its processes; a BLAS thread pool inside each would only fight them
for the cores, and a process holding threads must never be forked.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
