"""The MNIST study, step by step."""
