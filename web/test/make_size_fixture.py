"""Writes web/test/fixtures/size_report.json: `vibevoice-asr-web size-report`'s numbers, which the web
library's pre-flight estimate (src/vibevoice/model/footprint.ts) must reproduce from config.json alone.

The configs are the real model's (fixtures/real_model.py) and the three tiny shapes (default, alt,
odd: other widths, depths, heads, a tied lm_head), each with the size report of every dtype and its
browser memory at 1, 10 and 60 minutes. Run it again after changing size_report.py, inventory.py or
those configs, and commit the result:

    PYTHONPATH=python <project venv>/bin/python3 web/test/make_size_fixture.py

Needs torch and transformers (size_report builds the model on the meta device).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "python"))

from vibevoice_asr_web import inventory, size_report  # noqa: E402
from vibevoice_asr_web.artifact import contract  # noqa: E402
from vibevoice_asr_web.fixtures import tiny_checkpoint  # noqa: E402
from vibevoice_asr_web.fixtures.real_model import bitnet_config, real_config  # noqa: E402

MINUTES = (1, 10, 60)
OUTPUT = HERE / "fixtures" / "size_report.json"


def entry(config: dict) -> dict:
    sizes = size_report.variant_sizes(config)
    return {
        "config": config,
        "parameters": sum(p.numel for p in inventory.parameters(config)),
        "dtypes": {
            dtype: {
                "total_bytes": s.total,
                "graph_bytes": s.graph_bytes,
                "largest": {"name": s.largest[0], "bytes": s.largest[1]},
                "kv_bytes_per_token": s.kv_bytes_per_token,
                "memory_bytes": {str(m): s.memory_for(m) for m in MINUTES},
            }
            for dtype, s in sizes.items()
        },
    }


def main() -> int:
    configs = {"real": real_config(), "bitnet": bitnet_config()}
    for variant in ("default", "alt", "odd"):
        configs[variant] = tiny_checkpoint.build_tiny_config(variant).to_dict()
    data = {
        "made_by": "web/test/make_size_fixture.py",
        "int4_block": contract.INT4_BLOCK_SIZE,
        "audio_tokens_per_minute": size_report.AUDIO_TOKENS_PER_MINUTE,
        "text_tokens_per_minute": size_report.TEXT_TOKENS_PER_MINUTE,
        "minutes": list(MINUTES),
        "models": {name: entry(config) for name, config in configs.items()},
    }
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
