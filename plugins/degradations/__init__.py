"""Degradations: upsampling, denoising, deartifacting, inpainting and their compositions."""
