"""Presets: settings that train each built-in dataset well, and a general-purpose start for a user's file."""

from __future__ import annotations

from nntui.train.config.schema import DataConfig, RunConfig, validate_field


def default_config(dataset: str = "spiral") -> RunConfig:
    """Settings that train the given dataset well; a .csv or .npz path gets a general-purpose network."""
    dataset = validate_field("data.dataset", dataset)
    config = RunConfig(data=DataConfig(dataset=dataset))
    model, opt, training = config.model, config.optimizer, config.training
    if dataset == "spiral":  # three interleaved arms: needs depth and a fair number of epochs
        model.hidden, model.activations = [64, 64], ["relu", "relu"]
        opt.name, opt.lr = "adam", 0.01
        training.batch_size, training.epochs = 32, 60
    elif dataset in ("moons", "circles", "xor"):  # two smooth classes: small tanh nets draw round boundaries
        config.data.n_classes = 2
        model.hidden, model.activations = [16, 16], ["tanh", "tanh"]
        opt.name, opt.lr = "adam", 0.01
        training.epochs = 40
    elif dataset == "blobs":  # nearly linearly separable: plain momentum SGD is enough
        model.hidden, model.activations = [16], ["relu"]
        opt.name, opt.lr, opt.momentum = "sgd", 0.1, 0.9
        training.epochs = 20
    elif dataset == "digits":  # 8x8 images, 64 inputs, 10 classes: ~97-98% validation accuracy in 30 epochs
        config.data.n_classes = 10
        model.hidden, model.activations = [128, 64], ["relu", "relu"]
        opt.name, opt.lr = "adam", 0.003
        training.epochs = 30
    else:  # a user's CSV or NPZ file
        model.hidden, model.activations = [64, 64], ["relu", "relu"]
        opt.name, opt.lr = "adam", 0.003
        training.epochs = 30
    return config.validate()

