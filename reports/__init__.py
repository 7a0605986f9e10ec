"""eager-vs-compiled's reading side: results files into pandas tables, matplotlib plots, a
computed verdict and the Markdown/HTML report (``python -m reports build``). Never imports torch
or jax: it reads results files only."""
