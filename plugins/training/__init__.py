"""`restorefw train`: StyleGAN2-ADA-style training of the stylegan2 plugin's generator."""
