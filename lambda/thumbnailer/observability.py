"""The one place that creates Powertools' Logger, Metrics and Tracer.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE, which the SAM template sets in Globals.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()
# Only the AWS SDK is traced: by default the X-Ray SDK patches every library it knows, and
# importing sqlite3 and http.client for that costs a cold start 20 to 30 ms for nothing.
tracer = Tracer(patch_modules=("botocore",))
