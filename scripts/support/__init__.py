"""Helpers the tests, the demos and the bench share: sample images, PSNR."""
