"""The checkpoint as a PyTorch model in fp32: what the parity checks compare the ONNX graphs with."""

from __future__ import annotations

from pathlib import Path

from vibevoice_asr_web import checkpoint_layout, memory
from vibevoice_asr_web.errors import UserError


def load_model(checkpoint: Path):
    import torch
    import transformers
    from transformers import VibeVoiceAsrForConditionalGeneration

    transformers.logging.set_verbosity_error()  # its load bar and length reminders are noise in our logs
    transformers.logging.disable_progress_bar()
    if checkpoint_layout.layout_of(checkpoint) == checkpoint_layout.ORIGINAL:
        return _from_original_layout(checkpoint).eval()
    try:
        model = VibeVoiceAsrForConditionalGeneration.from_pretrained(checkpoint, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as error:
        raise UserError(f"transformers could not load the checkpoint in {checkpoint}: {error}") from None
    return model.eval()


def _from_original_layout(checkpoint: Path):
    """transformers cannot load the original layout: the model from the translated config, each
    tensor read through the checkpoint reader under the model's name."""
    import torch
    from transformers import GenerationConfig, VibeVoiceAsrConfig, VibeVoiceAsrForConditionalGeneration

    from vibevoice_asr_web.checkpoint_weights import SafetensorsCheckpoint

    model = VibeVoiceAsrForConditionalGeneration(VibeVoiceAsrConfig.from_dict(checkpoint_layout.read_config(checkpoint)))
    weights = SafetensorsCheckpoint(checkpoint)
    model.load_state_dict({name: torch.from_numpy(weights.read(name)) for name in model.state_dict()}, strict=True)
    if (checkpoint / "generation_config.json").is_file():  # as from_pretrained reads it
        model.generation_config = GenerationConfig.from_pretrained(checkpoint)
    return model


def fp32_bytes(checkpoint: Path) -> int:
    """The checkpoint's weights in fp32, whatever they are stored as."""
    from vibevoice_asr_web.checkpoint_weights import SafetensorsCheckpoint

    return sum(e.nbytes // e.itemsize * 4 for e in SafetensorsCheckpoint(checkpoint).entries.values())


def model_fits_in_memory(checkpoint: Path) -> bool:
    """Whether PyTorch can hold the model in fp32 here (for validation), with room to spare."""
    return memory.fits_in_memory(4 * fp32_bytes(checkpoint))  # the model, onnxruntime's copy, and working room
