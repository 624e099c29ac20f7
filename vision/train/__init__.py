"""Training the goods detector from synth data (needs the optional train extra)."""
