"""The playground's JSON API against the library itself: a server in this process on a free
port, trained through the API, compared with ``dp.fit`` run here on the same rows."""

import json
import shlex
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from helpers.playground import Client

import dlprimer as dp
from dlprimer.cli import main
from dlprimer.playground import Playground, serve
from dlprimer.playground.data import toy
from dlprimer.playground.settings import Settings


def rows(y, share, stratify, seed):
    """The fit and validation rows as `dlprimer fit --test-size 0` holds them out."""
    fit_rows, val_rows, _, _ = dp.data.train_test_split(np.arange(len(y)), y, share, stratify,
                                                        seed)
    return np.sort(fit_rows), np.sort(val_rows)


def fit_here(model_of, X, y, epochs, optimizer, batch_size, l2, seed, share=0.2,
             stratify=True, drop_first=False):
    fit_rows, val_rows = rows(y, share, stratify, seed)
    pre = dp.data.Preprocessor(standardize=True, drop_first=drop_first).fit(X.iloc[fit_rows])
    model = model_of(pre.n_features_out_)
    history = dp.fit(model, X.iloc[fit_rows], y[fit_rows], optimizer=optimizer, epochs=epochs,
                     batch_size=batch_size, validation_data=(X.iloc[val_rows], y[val_rows]),
                     seed=seed, l2=l2, preprocessor=pre, progress=False)
    return model, history


def exported(client, tmp_path, name="model.safetensors"):
    path = tmp_path / name
    path.write_bytes(client.bytes("/api/export/model"))
    return dp.load(path)


def test_the_token_is_enforced(server, client):
    for path in ("/api/state", "/", "/static/app.js", "/api/export/model"):
        assert client.request("GET", path, token=False)[0] == 401
        assert client.request("GET", path, token="not-the-token")[0] == 403
    status, _, body = client.request("POST", "/api/play", body={}, token=False)
    assert status == 401 and "token" in json.loads(body)["error"]
    assert client.get("/api/state")["status"] == "paused"  # the refused play did nothing
    status, _, _ = client.request("GET", "/api/state", token=False,
                                  headers={"X-Playground-Token": server.token})
    assert status == 200
    # a request for another host name (DNS rebinding) is refused even with the token
    status, _, _ = client.request("GET", "/api/state", headers={"Host": "evil.example:80"})
    assert status == 403
    status, headers, page = client.request("GET", "/")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    assert f"static/app.js?token={server.token}" in page.decode()
    status, headers, _ = client.request("GET", "/static/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")


def test_k_epochs_are_dp_fit_with_epochs_k(client, tmp_path):
    settings = {"model": "III", "hidden": [5, 3], "activation": "relu", "optimizer": "sgd",
                "lr": 0.1, "batch_size": 16, "l2": 0.001, "seed": 3, "validation": 0.2}
    client.post("/api/data", {"toy": "xor", "n": 200, "noise": 0.1, "seed": 1})
    client.post("/api/config", settings)
    client.post("/api/step", {"epochs": 7})
    state = client.wait(7)
    X, y = toy("xor", n=200, noise=0.1, seed=1)
    model, history = fit_here(
        lambda p: dp.FeedForward([p, 5, 3, 1], activation="relu", output="sigmoid", seed=3),
        X, y, 7, dp.optim.SGD(lr=0.1), 16, 0.001, 3)
    np.testing.assert_array_equal(exported(client, tmp_path).theta(), model.theta())
    assert state["history"]["loss"] == history.loss
    assert state["history"]["val_loss"] == history.val_loss
    assert state["accuracy"] == history.metric[-1] and state["loss"] == history.loss[-1]
    # play and pause anywhere: still dp.fit with as many epochs
    client.post("/api/play")
    time.sleep(0.2)
    client.post("/api/pause")
    epochs = client.paused()["epoch"]
    assert epochs > 7
    model, _ = fit_here(
        lambda p: dp.FeedForward([p, 5, 3, 1], activation="relu", output="sigmoid", seed=3),
        X, y, epochs, dp.optim.SGD(lr=0.1), 16, 0.001, 3)
    np.testing.assert_array_equal(exported(client, tmp_path).theta(), model.theta())


def test_model_ii_on_iris_grid_command_and_code(client, tmp_path, monkeypatch):
    client.post("/api/data", {"dataset": "iris"})
    client.post("/api/config", {"model": "II", "lr": 0.05, "batch_size": None})
    client.post("/api/step", {"epochs": 5})
    state = client.wait(5)
    assert state["data"]["classes"] == ["setosa", "versicolor", "virginica"]
    ds = dp.datasets.load("iris")
    X = pd.DataFrame(ds.X, columns=ds.feature_names)
    y = np.asarray(ds.class_names)[ds.y]
    model, _ = fit_here(lambda p: dp.SoftmaxModel(p, 3, seed=0), X, y, 5,
                        dp.optim.Adam(lr=0.05), None, 0.0, 0, drop_first=True)
    served = exported(client, tmp_path)
    np.testing.assert_array_equal(served.theta(), model.theta())
    # the regions are predict_proba at the plane's points (the principal plane of x̃)
    pictures = client.get("/api/pictures", points="1")
    plane = pictures["plane"]
    assert plane["kind"] == "pca" and plane["invertible"]
    raw = pd.DataFrame(plane["raw"]["rows"], columns=plane["raw"]["columns"]).astype(float)
    grid = np.array(pictures["grid"]["values"])
    assert grid.shape == (plane["size"] ** 2, 3)
    np.testing.assert_allclose(grid, model.predict_proba(raw), atol=2e-5)
    # the exported command, run here, ends at the same θ
    code = client.get("/api/export/code")
    monkeypatch.chdir(tmp_path)
    args = shlex.split(code["command"])
    assert args[:2] == ["dlprimer", "fit"]
    assert main(args[1:] + ["--quiet"]) == 0
    np.testing.assert_array_equal(dp.load(tmp_path / "model.safetensors").theta(),
                                  served.theta())
    # and so does the exported Python
    (tmp_path / "model.safetensors").unlink()
    exec(compile(code["python"], "playground_run.py", "exec"), {})  # noqa: S102
    np.testing.assert_array_equal(dp.load(tmp_path / "model.safetensors").theta(),
                                  served.theta())


def test_toy_grid_explain_and_exports(client, tmp_path, monkeypatch):
    client.post("/api/step", {"epochs": 4})
    client.wait(4)
    served = exported(client, tmp_path, "served.safetensors")
    pictures = client.get("/api/pictures", points="1")
    plane = pictures["plane"]
    assert plane["kind"] == "features" and plane["axes"] == ["x1", "x2"]
    raw = pd.DataFrame(plane["raw"]["rows"], columns=plane["raw"]["columns"]).astype(float)
    np.testing.assert_allclose(pictures["grid"]["values"], served.predict_proba(raw), atol=1e-5)
    # the thumbnails: every hidden neuron of every hidden layer, on the coarse grid
    thumbs = pictures["thumbnails"]
    assert [len(layer["values"]) for layer in thumbs["neurons"]] == [8, 4]
    assert len(thumbs["neurons"][0]["values"][0]) == thumbs["size"] ** 2
    # the network: W[ℓ] of shape (N_ℓ, N_{ℓ-1}), eq. (8), as the model holds them
    network = pictures["network"]
    assert network["sizes"] == [2, 8, 4, 1]
    np.testing.assert_allclose(network["layers"][1]["W"], served.layers[1].W.data, atol=1e-4)
    # the equations of row 3, with the model's own numbers
    X, _ = toy("circle", n=300, noise=0.1, seed=0)
    e = client.get("/api/explain", row="3")
    want = served.explain(X.iloc[[3]])
    assert e["title"] == want.title and e["text"] == want.text()
    assert [tuple(step) for step in e["steps"]] == want.steps
    for key in ("x", "x_tilde", "z", "a[1]", "a[2]", "y_hat"):
        np.testing.assert_allclose(e["values"][key], want.values[key], rtol=1e-12)
    assert e["values"]["class"] == want.values["class"] and e["truth"] in (0, 1)
    assert e["y_hat"] == pytest.approx(float(served.predict_proba(X.iloc[[3]])[0]))
    # a point between the rows: the raw row at (u, v)
    e = client.get("/api/explain", u="1.5", v="-2")
    want = served.explain(pd.DataFrame({"x1": [1.5], "x2": [-2.0]}))
    assert e["values"]["z"] == pytest.approx(want.values["z"], rel=1e-12)
    # the exported model predicts as the page does, and the data file reads back the same
    np.testing.assert_allclose(served.predict_proba(X), served.predict_proba(X.to_numpy()))
    (tmp_path / "circle.csv").write_bytes(client.bytes("/api/export/data"))
    table = dp.data.read_csv(tmp_path / "circle.csv", target="label")
    pd.testing.assert_frame_equal(table.X, X)
    monkeypatch.chdir(tmp_path)
    args = shlex.split(client.get("/api/export/code")["command"])
    assert main(args[1:] + ["--quiet"]) == 0
    np.testing.assert_array_equal(dp.load("model.safetensors").theta(), served.theta())


def test_reset_and_view_settings(client, tmp_path):
    client.post("/api/step", {"epochs": 3})
    client.wait(3)
    client.post("/api/config", {"plane": "pca", "speed": 50})
    state = client.get("/api/state")
    assert state["epoch"] == 3 and state["settings"]["plane"] == "pca"  # the run goes on
    assert client.get("/api/pictures")["plane"]["kind"] == "pca"
    client.post("/api/reset")
    state = client.wait(0)
    fresh = dp.FeedForward([2, 8, 4, 1], activation="tanh", output="sigmoid", seed=0)
    np.testing.assert_array_equal(exported(client, tmp_path).theta(), fresh.theta())
    assert state["history"]["loss"] == []


def test_a_diverging_run_is_said_on_the_page(client):
    client.post("/api/data", {"toy": "bumps", "n": 200})
    client.post("/api/config", {"optimizer": "gd", "lr": 10.0})
    client.post("/api/step", {"epochs": 20})
    end = time.monotonic() + 20
    while (state := client.get("/api/state"))["status"] != "error":
        assert time.monotonic() < end, state
        time.sleep(0.02)
    assert "DivergenceError" in state["error"] and "Lower the learning rate" in state["error"]
    assert client.get("/api/pictures")["grid"]["size"] > 0  # the kept θ is still drawn
    client.post("/api/reset")
    assert client.wait(0)["error"] is None


def test_bad_requests_say_what_is_wrong(client):
    cases = [
        ("POST", "/api/config", {"lr": -1}, 400, "learning rate"),
        ("POST", "/api/config", {"colour": "red"}, 400, "unknown setting"),
        ("POST", "/api/config", {"model": "I", "hidden": "8,x"}, 400, "widths"),
        ("POST", "/api/step", {"epochs": 0}, 400, "epochs"),
        ("POST", "/api/data", {"toy": "moons"}, 400, "circle"),
        ("POST", "/api/data", {"dataset": "mnist"}, 400, "iris"),
        ("GET", "/api/explain", None, 400, "row="),
        ("GET", "/api/nothing", None, 404, "no such"),
        ("GET", "/api/play", None, 405, "POST"),
    ]
    for method, path, body, status, words in cases:
        got, _, data = client.request(method, path, body)
        assert got == status and words in json.loads(data)["error"], (path, body, data)
    got, _, data = client.request("GET", "/api/explain", params={"row": "100000"})
    assert got == 400 and "[0, 299]" in json.loads(data)["error"]
    got, _, data = client.request("POST", "/api/config", b"{not json")
    assert got == 400 and "JSON" in json.loads(data)["error"]
    client.post("/api/data", {"dataset": "iris"})  # Model I cannot learn three classes
    got, _, data = client.request("POST", "/api/config", {"model": "I"})
    assert got == 400 and "Model II or III" in json.loads(data)["error"]


def plants_csv() -> str:
    """30 plants of three species: an identifier, a category, a gap in one column."""
    rng = np.random.default_rng(0)
    lines = ["plant,site,petal_mm,height_cm,species"]
    for i in range(30):
        k = i % 3
        height = "" if i == 4 else f"{30 + 20 * k + rng.normal(0, 2):.1f}"
        lines.append(f"p{i},{'north' if i % 2 else 'south'},{14 + 16 * k + rng.normal(0, 2):.1f},"
                     f"{height},{['setosa', 'versicolor', 'virginica'][k]}")
    return "\n".join(lines) + "\n"


def test_uploads_are_read_as_dlprimer_fit_reads_them_and_limited(tmp_path):
    server = serve(Playground(settings=Settings(speed=0.0)), port=0, max_upload=2000).start()
    client = Client(server)
    try:
        big = ("a,b,label\n" + "1.0,2.0,x\n" * 300).encode()
        assert len(big) > 2000
        status, _, data = client.request("POST", "/api/data", big, params={"name": "big.csv"},
                                         content_type="text/csv")
        assert status == 413 and "at most 2000 bytes" in json.loads(data)["error"]
        assert client.get("/api/state")["data"]["name"] == "circle"  # nothing changed
        status, _, data = client.request("POST", "/api/data", plants_csv().encode(),
                                         params={"name": "plants.csv"}, content_type="text/csv")
        assert status == 200, data
        state = json.loads(data)
        d = state["data"]
        assert d["name"] == "plants.csv" and d["task"] == "multiclass"
        assert d["classes"] == ["setosa", "versicolor", "virginica"]
        assert "site=south" in d["features"] and "height_cm missing" in d["features"]
        assert "plant" not in d["features"]  # an identifier, set aside
        client.post("/api/config", {"validation": 0.0})
        client.post("/api/step", {"epochs": 3})
        client.wait(3)
        e = client.get("/api/explain", row="4")  # the row whose height is missing
        assert e["steps"][0][0] == "from the table" and "missing" in e["text"]
        assert e["values"]["raw"]["height_cm"] is None
        pictures = client.get("/api/pictures")
        assert pictures["plane"]["kind"] == "pca" and not pictures["plane"]["invertible"]
        got, _, data = client.request("GET", "/api/explain", params={"u": "0", "v": "0"})
        assert got == 400 and "click a data point" in json.loads(data)["error"]
        # another target column of the same file
        state = client.post("/api/data", {"target": "height_cm"})
        assert state["data"]["task"] == "regression" and state["metric"] == "r2"
        path = tmp_path / "plants.csv"
        path.write_text(plants_csv())
        code = client.get("/api/export/code")
        assert "--data plants.csv --target height_cm" in code["command"]
    finally:
        server.close()


def test_events_stream_snapshots(server, client):
    client.post("/api/step", {"epochs": 2})
    client.wait(2)
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", f"/api/events?token={server.token}")
    answer = connection.getresponse()
    assert answer.status == 200
    assert answer.getheader("Content-Type").startswith("text/event-stream")
    assert answer.readline() == b"event: snapshot\n"
    line = answer.readline()
    assert line.startswith(b"data: ")
    snapshot = json.loads(line[len(b"data: "):])
    assert snapshot["state"]["epoch"] == 2 and snapshot["pictures"]["epoch"] == 2
    assert set(snapshot["pictures"]) >= {"grid", "points", "network", "thumbnails", "plane"}
    connection.close()


def test_the_command_prints_its_url_first():
    import signal
    import urllib.request

    with subprocess.Popen([sys.executable, "-m", "dlprimer.cli", "playground", "--no-browser",
                           "--port", "0", "--data", "iris"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and "/?token=" in url
            base, token = url.split("/?token=")
            with urllib.request.urlopen(f"{base}/api/state?token={token}") as answer:
                state = json.loads(answer.read())
            assert state["data"]["name"] == "iris" and state["epoch"] == 0
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl+C: a clean stop
            out, err = process.communicate(timeout=20)
    assert process.returncode == 0 and "stopped" in out, err
    assert main(["playground", "--data", "nope", "--no-browser"]) == 2
