"""One module per metric, each with ``run(bench) -> list[Row]``."""
