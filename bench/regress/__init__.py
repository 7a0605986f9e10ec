"""The regression side of the suite: ``compare`` two runs (the CI gate), ``export`` a run for
a benchmark dashboard, ``merge`` the shard folders of one run, keep runs in a ``history``
folder. Each reads run folders through ``bench.results``; the ratio to eager and its interval
are ``ratios``'."""
