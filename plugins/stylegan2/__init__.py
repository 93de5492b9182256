"""StyleGAN2-ADA generator plugin: restorefw's own network, safe checkpoint loading, convert/generate."""

from restorefw_plugins.stylegan2.checkpoint import build_generator, load_generator, save_safetensors
from restorefw_plugins.stylegan2.network import Generator

__all__ = ["Generator", "build_generator", "load_generator", "save_safetensors"]
