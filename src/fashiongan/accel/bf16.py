"""Whether bf16 autocast pays on a device: `amp: auto` in a preset turns it on only there.

On a CPU it pays where oneDNN has bf16 kernels (AVX512-BF16 or AMX): the colour loop ran 1.7x
faster at 64 px and 1.85x at 128 px, at a better FID for the same CPU time
(docs/results/2026-12-06-colour-catalogue.md). Without those instructions oneDNN emulates bf16
and the loop runs slower than in float32, so `auto` leaves it off. On CUDA it pays where the
GPU has bf16 tensor cores (Ampere and later).
"""

from __future__ import annotations

import torch


def fast_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return bool(torch.backends.mkldnn.is_available()
                    and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def resolve_amp(amp: str, device: torch.device) -> str:
    """`auto` made concrete for this device (what a run records, so its resume does the same);
    `none` and `bf16` as they are."""
    if amp != "auto":
        return amp
    return "bf16" if fast_bf16(device) else "none"
