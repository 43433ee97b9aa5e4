"""Train a kanvision model: ``python train.py --config configs/mnist/kan_convnet.yaml``.

Overrides follow LightningCLI: ``--trainer.max_epochs 2 --data.root DIR --model.kan none``;
``--print_config`` shows the full resolved config.
"""

from kanvision.training.cli import main

if __name__ == "__main__":
    main()
