"""The "not learning" call: chance level measured independently, one suggestion from the learning rate."""

import numpy as np

from nntui.train.config import apply_overrides, default_config
from nntui.train.insight import progress
from nntui.train.session import TrainingSession


def test_chance_is_the_share_of_the_most_common_class():
    assert progress.chance_accuracy(np.array([0, 1, 2, 2])) == 0.5
    assert progress.chance_accuracy(np.array([1, 1, 1])) == 1.0


def test_a_run_at_chance_for_three_epochs_is_called_out_with_one_suggestion():
    text = progress.not_learning([0.34, 0.33, 0.333], chance=1 / 3, lr=2.5, optimizer="sgd")
    assert text == "not learning: val acc 33% = chance after 3 epochs; try - (lower rate), then r"
    assert len(text) <= 78  # the title line of a chart at 80 columns


def test_too_early_or_above_chance_says_nothing():
    assert progress.not_learning([0.33, 0.33], chance=1 / 3, lr=2.5, optimizer="sgd") is None
    assert progress.not_learning([0.33, 0.33, 0.6], chance=1 / 3, lr=0.01, optimizer="adam") is None
    assert progress.not_learning([0.5, 0.9, 0.95, 0.97], chance=0.5, lr=0.01, optimizer="adam") is None


def test_the_suggestion_follows_the_rate_for_the_optimizer():
    assert progress.suggestion(2.5, "sgd") == progress.LOWER
    assert progress.suggestion(0.1, "adam") == progress.LOWER
    assert progress.suggestion(1e-6, "adam") == progress.RAISE
    assert progress.suggestion(0.01, "adam") == progress.RESET


def test_sgd_at_a_rate_of_2_5_on_the_spiral_is_caught():
    # The case: SGD at lr 2.5 ends at 33.3% on 3 classes with no word.
    config = apply_overrides(default_config("spiral"), {"optimizer.name": "sgd", "optimizer.lr": 2.5,
                                                        "training.epochs": 5})
    session = TrainingSession(config)
    session.train()
    accuracies = [record.val_accuracy for record in session.history.epochs]
    chance = progress.chance_accuracy(session.dataset.y_train)
    assert progress.not_learning(accuracies, chance, 2.5, "sgd") is not None, accuracies
