"""Training: the LightningModule, logger set-up, run export and the CLI behind train.py."""

from kanvision.training.module import ImageClassifier

__all__ = ["ImageClassifier"]
