"""The life of one source object, a module a stage, in the order `processing.process` runs them:

    plan          which keys its set is written to, in which order; refuse keys S3 would refuse
    currency      is this event's source newer than what made the outputs; may this delete run
    writer        read the source, render every rendition, write them, then the manifest
    deletes       the source is gone: delete what it made
    dead_letters  a bad object: its one record on the dead-letter queue
    announcements what happened, published on the notification topic

Each stage talks to AWS only through `thumbnailer.storage`; none imports another stage's module
but for `plan` (the keys) and `currency` (the provenance checks).
"""
