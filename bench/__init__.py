"""eager-vs-compiled's measuring side: backends, the timer, the case runner, results, the CLI."""

import logging

# torch.utils.benchmark imports cpp_extension, which warns about CUDA_HOME on CPU-only hosts.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
