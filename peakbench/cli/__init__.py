"""The command line: one module per command group; the parser and ``main`` in ``cli.main``.
May import every other subpackage; nothing imports it but ``peakbench.__main__``."""
