"""A small HTTP client for a playground server (tests/playground)."""

import http.client
import json
import time
from urllib.parse import urlencode


class Client:
    """Requests to one server; ``token=False`` leaves the token out."""

    def __init__(self, server):
        self.server = server

    def request(self, method, path, body=None, token=True, headers=None, params=None,
                content_type="application/json"):
        query = dict(params or {})
        if token is True:
            query["token"] = self.server.token
        elif token:
            query["token"] = token
        url = path + ("?" + urlencode(query) if query else "")
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        sent = {"Content-Type": content_type} if body is not None else {}
        sent.update(headers or {})
        connection.request(method, url, body=body, headers=sent)
        answer = connection.getresponse()
        data = answer.read()
        connection.close()
        return answer.status, dict(answer.getheaders()), data

    def get(self, path, **params):
        status, _, data = self.request("GET", path, params=params)
        assert status == 200, (status, data[:500])
        return json.loads(data)

    def post(self, path, body=None, **params):
        status, _, data = self.request("POST", path, body if body is not None else {},
                                       params=params)
        assert status == 200, (status, data[:500])
        return json.loads(data)

    def bytes(self, path, **params):
        status, _, data = self.request("GET", path, params=params)
        assert status == 200, (status, data[:500])
        return data

    def wait(self, epoch, timeout=30.0):
        """The state once the run is paused at ``epoch``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            state = self.get("/api/state")
            assert state["error"] is None, state["error"]
            if state["status"] == "paused" and state["epoch"] == epoch:
                return state
            time.sleep(0.01)
        raise AssertionError(f"the run did not pause at epoch {epoch}: {state['status']}, "
                             f"epoch {state['epoch']}")

    def paused(self, timeout=30.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            state = self.get("/api/state")
            if state["status"] == "paused":
                return state
            time.sleep(0.01)
        raise AssertionError("the run did not pause")
