"""The run directory a search leaves: its layout, lock, storage, resume checks and results."""
