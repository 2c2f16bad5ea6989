"""Stand-in for comfy.model_management (CPU only)."""

import torch


def get_torch_device():
    return torch.device("cpu")


def intermediate_device():
    return torch.device("cpu")


def soft_empty_cache(force=False):
    return None


def processing_interrupted():
    return False


class InterruptProcessingException(Exception):
    pass


def throw_exception_if_processing_interrupted():
    return None
