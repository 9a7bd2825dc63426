"""The image core: an upload's bytes in, encoded renditions out. No AWS in here.

Each upload goes through the same fixed pipeline, one module a stage, and decodes as little as
it can:

    boundary   every entry point that takes an upload's bytes: whatever fails is a bad object
    formats    sniff the format from the bytes; only its decoder may open them
    decode     open (header only), shrink-on-load, the EXIF orientation
    budget     what the decode will cost in pixels, checked before any pixel is decoded
    render     decode once, then resize: every width's picture (animation.py: every frame's;
               gif.py: the canvas GIF frames grow; apng.py: an unreadable animation's still)
    resize     resizable mode, Lanczos to the largest width, orient, sRGB (colour.py), smaller
               widths each from the one just larger
    geometry   the sizes: each width's, each crop's cover width, WebP's side limit
    saliency   where the subject is: the focus point and the crops' windows
    placeholder  what a page shows before the picture arrives
    encoders   WebP and AVIF, without metadata
    renditions the whole: widths and crops, in each format, with what a manifest says of them
"""
