"""serverless-image-pipeline: S3 uploads in, web-ready WebP thumbnails out."""
