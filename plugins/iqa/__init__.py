"""Image-quality plugin: perceptual and IQA losses, paired and set metrics, pretrained-weight management."""
