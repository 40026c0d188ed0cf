"""One report: the sections' metrics, their history, the rules in words, the build."""
