"""A local twin of the deployed stack: moto over HTTP, S3's own notifications, the real handler.

Data flows one way through its modules, each of one job:

    server        LocalAws: moto's server in its own process, on a free 127.0.0.1 port
    resources     LocalStack: the template's resources created there
    environment   ExecutionEnvironment: one warm worker process running the real handler
    invoker       LambdaInvoker: Lambda's invoke; asynchronously, an error, a crash or a timeout
                  is retried twice, then the event goes to the DLQ, as Lambda does
    event_source  EventSourceMapping: IngestMode=queue, Lambda's SQS poller, batches in the shape
                  Lambda delivers them, partial batch responses honoured, failed messages left to
                  reappear (and to be redriven to the DLQ by the queue itself)
    pipeline      LocalPipeline: all of it, plus a dispatcher thread that feeds every notification
                  S3 sent (s3:TestEvent included) to the invoker, untouched (IngestMode=queue: the
                  event source mapping's poller instead)

    template_model, execution_role  the template as CloudFormation sees it, and the function's
                  and operators' roles made from it in moto, which enforces IAM once the stack
                  exists: the function runs under exactly the role the template gives it

and the commands over them: demo (`make demo`, scripts/invoke_local.sh) and local_aws
(`make local-aws`).

No event is built by hand on this path: the handler sees exactly the JSON moto's S3 produced.
The handler runs in its own processes, one per execution environment, so a crash there (an
exit, a segfault, a hang) costs only that environment and never the stand-in or the runner.
Everything is shut down on exit, Ctrl-C included, and moto's server and the workers exit by
themselves if the runner is killed outright.
"""
