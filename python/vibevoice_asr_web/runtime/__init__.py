"""The onnxruntime reference pipeline (no torch): what the browser must match."""
