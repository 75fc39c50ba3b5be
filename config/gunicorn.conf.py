"""gunicorn settings of the production server, ``bash scripts/serve.sh`` (the one place they live).

gthread workers: each worker process serves ``threads`` requests at once, so a slow client
or a Kafka acknowledgement does not hold a whole process. gunicorn de-chunks request bodies
and sets ``wsgi.input_terminated``; ``config.wsgi.BodyToEof`` then reads them in full.
Every value can be overridden from the environment (FLYWHEEL_BIND, FLYWHEEL_WORKERS, ...)
or on serve.sh's command line (``--workers 8``).
"""
import multiprocessing
import os

wsgi_app = "config.wsgi:application"
bind = os.environ.get("FLYWHEEL_BIND", "127.0.0.1:8000").split(",")
worker_class = "gthread"
# One worker per core, not gunicorn's usual 2n+1: each worker holds a Kafka producer, and on
# the 2-core benchmark machine 3-4 workers x 2 threads ingested about half as fast as 2 x 4
# (docs/operations.md). Threads cover the waits for broker acknowledgements.
workers = int(os.environ.get("FLYWHEEL_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("FLYWHEEL_THREADS", "4"))
timeout = int(os.environ.get("FLYWHEEL_TIMEOUT_S", "60"))
graceful_timeout = 30
keepalive = 5
# Access log to stdout unless FLYWHEEL_ACCESS_LOG names a file (or is empty: no access log).
accesslog = os.environ.get("FLYWHEEL_ACCESS_LOG", "-") or None
errorlog = "-"
