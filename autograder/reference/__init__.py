"""Reference NumPy implementations, one module per chapter (float64, batch first)."""
