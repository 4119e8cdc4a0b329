"""The comparisons that decide whether an artifact folder may be used: fp32 against PyTorch, a variant against fp32."""
