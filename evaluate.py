"""Evaluate weights on a test set: ``python evaluate.py --model kan_convnet --pretrained mnist
--data.name mnist``, or ``--checkpoint runs/<run>/checkpoints/best-09.ckpt`` (or a .safetensors).
"""

from kanvision.training.evaluate import main

if __name__ == "__main__":
    main()
