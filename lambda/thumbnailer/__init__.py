"""serverless-image-pipeline: S3 uploads in, web-ready renditions (WebP, AVIF, crops) out."""
