from peakbench.cli.main import entry

entry()
