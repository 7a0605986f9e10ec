"""eager-vs-compiled's measuring side: backends, the timer, the case runner, results, the CLI."""
