"""One module per figure family; each has ``run(*, quick: bool) -> list[Figure]`` and is listed in bench/registry.py."""
