"""Maintainer scripts: the generators of the reference sections in docs/ (not part of trcli)."""
