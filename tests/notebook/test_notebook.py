"""dlprimer in Jupyter, for real: one notebook built with nbformat and executed in a fresh
IPython kernel by nbclient. Figures come back as image/png (not the text
``<Figure size ...>``), once, with or without ``%matplotlib inline``; fit's progress bar
reaches the notebook with progress=True and nothing does with progress=False; models,
History, Summary and Explanation show as text/html."""

from pathlib import Path

import pytest

import dlprimer as dp

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

CELLS = {
    "setup": """
import numpy as np
import dlprimer as dp
print(dp.__file__)
ds = dp.datasets.load("iris")
X, y = ds.X, np.array(ds.class_names)[ds.y]
""",
    "progress": """
model = dp.SoftmaxModel(4, 3)
h = dp.fit(model, X, y, optimizer=dp.optim.Adam(lr=0.05), epochs=25, validation_split=0.2,
           standardize=True, progress=True)
""",
    "silent": """
h_quiet = dp.fit(dp.FeedForward([4, 5, 3], activation="relu", output="softmax"), X, y,
                 epochs=25, standardize=True, progress=False)
""",
    # NOTE: pyplot is not imported before this cell, so no printer is registered for
    # matplotlib Figures: the image comes from the figure's own _repr_png_.
    "figure": "dp.plots.loss_curves(h)",
    "figure_inline": """
%matplotlib inline
import matplotlib.pyplot as plt
dp.plots.loss_curves(h)
""",
    "model": "model",
    "history": "h",
    "summary": """
bc = dp.datasets.load("breast_cancer")
model_1 = dp.SigmoidModel(4)
dp.fit(model_1, bc.X[:, :4], bc.y, optimizer=dp.optim.LBFGS(), standardize=True,
       progress=False)
model_1.summary(bc.X[:, :4], bc.y)
""",
    "explanation": "model.explain(X[0])",
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Cell name → its outputs, from ONE execution of the notebook (a kernel's start costs
    seconds)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source.strip()) for source in CELLS.values()]
    cwd = tmp_path_factory.mktemp("notebook")
    # allow_errors: a failing cell fails its own test (with its traceback), not every test
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return {name: cell.outputs for name, cell in zip(CELLS, nb.cells, strict=True)}


def errors(outputs) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]


def streams(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


def displayed(outputs) -> list[dict]:
    """The mime bundles of the cell's results and displays; the cell ran without error."""
    assert errors(outputs) == []
    return [o["data"] for o in outputs if o["output_type"] in ("execute_result", "display_data")]


def test_the_kernel_imports_this_repository(outputs):
    assert errors(outputs["setup"]) == []
    path = Path(streams(outputs["setup"]).strip())
    assert path == Path(dp.__file__)


@pytest.mark.parametrize("cell", ["figure", "figure_inline"])
def test_a_figure_shows_as_one_png(outputs, cell):
    bundles = displayed(outputs[cell])
    images = [b for b in bundles if "image/png" in b]
    assert len(images) == 1, bundles  # shown once, even with the inline backend active
    assert all("image/png" in b for b in bundles), "a bundle of only <Figure size ...> text"
    import base64

    assert base64.b64decode(images[0]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_true_shows_a_tqdm_bar(outputs):
    assert errors(outputs["progress"]) == []
    text = streams(outputs["progress"])
    assert "%|" in text and "25/25" in text, text


def test_progress_false_is_silent(outputs):
    assert streams(outputs["silent"]) == ""
    assert displayed(outputs["silent"]) == []


@pytest.mark.parametrize("cell, expected", [
    ("model", "Model II, the softmax model"),
    ("history", "best epoch"),
    ("summary", "odds ratio"),
    ("explanation", "Model II, the softmax model"),
])
def test_models_and_results_show_as_html(outputs, cell, expected):
    (bundle,) = displayed(outputs[cell])
    assert expected in bundle["text/html"]
