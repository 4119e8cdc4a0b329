"""VibeVoice-ASR for the browser: export, validation, quantization and an onnxruntime runtime."""

__version__ = "0.1.0"
