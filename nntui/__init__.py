"""nntui: build, train and understand small neural networks written from scratch in NumPy."""

__version__ = "0.1.0"
