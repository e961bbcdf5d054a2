"""The embedded default's message broker: kombu's filesystem transport, made safe to share.

kombu's filesystem transport writes a message file in place, and a consumer polling the
folder can move it away before the producer has written it: the consumer then reads an empty
file and crashes. Here a message is written under a temporary name and renamed into the queue
when complete (rename is atomic on POSIX), so consumers only ever see whole messages. This is
what lets the web process, several workers and the tests share one folder-based queue.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

SCHEME = "localfs"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".part"  # does not end in ".msg": consumers skip it
        try:
            with open(partial, "wb") as message_file:
                message_file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"
