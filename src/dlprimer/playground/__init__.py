"""The playground: TensorFlow Playground's page, on dlprimer's own engine.

A small local server (``server``) trains with the real ``dp.fit`` in a background thread
(``trainer``), paused, stepped and stopped by a Callback between epochs, and streams what
the page draws (``pictures``) as Server-Sent Events to a plain JavaScript page shipped in
``static/`` (no CDN: it works offline). The JSON API is ``api.Playground``; the data are
TF Playground's toys, the bundled sets or a CSV (``data``); ``settings`` checks what the
page asks for; ``code`` writes the ``dp.fit`` call and the ``dlprimer fit`` command that
reproduce a run.

    dlprimer playground [--data F --target T] [--host 127.0.0.1] [--port N] [--no-browser]

>>> from dlprimer.playground import Playground, serve
>>> server = serve(Playground(), port=0).start()
>>> server.url.startswith("http://127.0.0.1:")
True
>>> server.close()
"""

from dlprimer.playground.api import Playground
from dlprimer.playground.server import PlaygroundServer, serve

__all__ = ["Playground", "PlaygroundServer", "serve"]
