"""Checkpoint -> ONNX export (needs torch and transformers; the runtime does not)."""
