"""Tests of the benchmark helpers under bench/ (fast, no anchor tools needed)."""
