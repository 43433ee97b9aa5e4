"""The ``training:`` config section: run features that are neither model nor trainer options."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainingOptions:
    """Extra training features, all off by default.

    Args:
        compile: ``torch.compile`` the network before training (``nn.Module.compile``, so the
            checkpoint keys do not change).
        ema_decay: keep an exponential moving average of the weights with this decay (e.g.
            0.999) and validate, test and export the averaged weights (Lightning's
            ``EMAWeightAveraging``). None: off.
        checkpoint_every_n_steps: also write ``last.ckpt`` every this many training steps, so a
            killed run resumes mid-epoch (0: only at epoch ends).
        recompute_expand: KAN layers recompute their expanded inputs in backward (the default,
            least memory); False keeps them from the forward instead, which skips one expand per
            layer and step for about K + 1 times the layers' input activations in memory (it may
            be faster on CPUs, where the expand is a large share of a step;
            ``benchmarks/train_step.py`` measures it; ``kanvision.layers.set_recompute_expand``).
            The weights and results are the same.
    """

    compile: bool = False
    ema_decay: float | None = None
    checkpoint_every_n_steps: int = 200
    recompute_expand: bool = True
