"""moto server for the scheduler benchmark, with one measurement artefact removed.

moto 5.x builds a queue's full attribute map (which counts every message in the queue,
visible, delayed and in flight) each time it reads `ContentBasedDeduplication` while
sending a message, so a send costs time proportional to the queue's depth and a pass
that queues 10,000 connections is quadratic. Amazon SQS's SendMessageBatch does not
depend on the depth. While a send runs, this launcher answers that one attribute from
the queue's field; everything else (the wire protocol, FIFO de-duplication,
GetQueueAttributes) is moto's own. Used only by `crmsync-bench --scheduler-moto` runs that
opt in (`CRMSYNC_MOTO_FAST_SQS=1 source infra/scripts/moto.sh`); tests use plain moto.
"""

import sys
import threading

from moto.server import main
from moto.sqs import models

_sending = threading.local()
_full_attributes = models.Queue.attributes.fget


def _attributes(queue):
    if getattr(_sending, "active", False):
        value = getattr(queue, "content_based_deduplication", False)
        if isinstance(value, bool):
            value = str(value).lower()
        return {"ContentBasedDeduplication": value}
    return _full_attributes(queue)


def _while_sending(send):
    def wrapped(*args, **kwargs):
        before = getattr(_sending, "active", False)
        _sending.active = True
        try:
            return send(*args, **kwargs)
        finally:
            _sending.active = before

    return wrapped


models.Queue.attributes = property(_attributes)
models.SQSBackend.send_message = _while_sending(models.SQSBackend.send_message)
models.SQSBackend.send_message_batch = _while_sending(models.SQSBackend.send_message_batch)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
