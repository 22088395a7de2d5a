"""scikit-learn estimators around the primer's models and ``dp.fit``.

``SigmoidClassifier`` (Model I), ``SoftmaxClassifier`` (Model II), ``FeedForwardClassifier``
and ``FeedForwardRegressor`` (Model III) follow scikit-learn's conventions, so they work in
``Pipeline``, ``GridSearchCV`` and ``cross_val_score``: hyperparameters are stored unchanged
by ``__init__`` and read in ``fit``; what ``fit`` learns ends in an underscore.

Input is checked once, by scikit-learn's own ``validate_data``; training is ``dp.fit``.
What ``fit`` leaves behind:

- ``model_``: the trained dlprimer model (``model_.explain()``, ``dp.save(model_, ...)``);
  it carries the fitted standardizer and the original class labels, so ``model_.predict``
  agrees with the estimator's ``predict``.
- ``history_``: the ``dp.History`` of the run; ``loss_curve_`` and
  ``validation_loss_curve_`` are its per-epoch losses as lists of floats.
- ``classes_`` (classifiers), ``n_features_in_``, ``feature_names_in_`` (DataFrames only),
  ``n_iter_`` (epochs run).
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import dlprimer.optim as optim
from dlprimer.engine.checks import is_dask
from dlprimer.engine.tensor import no_grad
from dlprimer.models import ACTIVATIONS, FeedForward, SigmoidModel, SoftmaxModel
from dlprimer.nn.module import require_finite_outputs
from dlprimer.sklearn.streaming import fit_on_dask, partial_epoch, target_scaling
from dlprimer.training import fit

__all__ = [
    "SigmoidClassifier",
    "SoftmaxClassifier",
    "FeedForwardClassifier",
    "FeedForwardRegressor",
]

_SHARED_PARAMETERS = """\
    optimizer : {"adam", "sgd", "gd", "lbfgs"}, default="adam"
        ``dp.optim.Adam``, ``SGD`` (with ``momentum``), ``GradientDescent`` (eq. (31)
        verbatim) or ``LBFGS`` (full batch; ``learning_rate`` and ``batch_size`` unused).
    learning_rate : float, default=0.01
        α, the step size of eq. (31) and its variants.
    momentum : float, default=0.9
        μ, used by ``optimizer="sgd"`` only.
    epochs : int, default=200
        Passes over the data (iterations for L-BFGS).
    batch_size : int or None, default=None
        None is full batch, eq. (31) exactly; otherwise shuffled mini-batches.
    l2 : float, default=1e-4
        Penalty (l2 / 2) Σ ‖W‖² on the weights, not the biases, added to the mean loss.
    standardize : bool, default=True
        Standardize the features (eq. (13)) with statistics of the training rows (the
        regressor standardizes y as well, see above).
    early_stopping : int or None, default=None
        Patience in epochs: stop when the validation loss (the training loss without
        ``validation_split``) has not improved for that many epochs; the best parameters
        are restored.
    validation_split : float or None, default=None
        Fraction of the training rows held out to compute ``validation_loss_curve_``.
    tol : float or None, default=None
        Stop when the loss changes by less than ``tol`` between epochs (for L-BFGS: the
        gradient tolerance, 1e-8 when None).
    random_state : int, numpy RandomState or None, default=None
        Seeds the initial weights, the shuffling and the validation split; an int makes
        ``fit`` deterministic.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the parameters and the arithmetic.
    verbose : bool, default=False
        A progress bar while training (on a terminal only)."""


_FEEDFORWARD_PARAMETERS = """\
    hidden_layer_sizes : sequence of int, default=(32,)
        N_1, ..., N_{L-1}, the widths of the hidden layers; () gives no hidden layer.
    activation : {"relu", "sigmoid", "tanh"}, default="relu"
        σ of the hidden layers, element-wise.
"""


_FITTED_ATTRIBUTES = """\
    history_ : dp.History
    loss_curve_, validation_loss_curve_ : list of float, one per epoch
    n_features_in_ : int; feature_names_in_ : ndarray of str (DataFrame input only)
    n_iter_ : int
"""


def _fill_doc(cls):
    """Put the shared parameter and attribute descriptions into a class docstring."""
    cls.__doc__ = (cls.__doc__.replace("    {hidden}\n", _FEEDFORWARD_PARAMETERS)
                   .replace("    {shared}", _SHARED_PARAMETERS)
                   .replace("    {fitted}\n", _FITTED_ATTRIBUTES))
    return cls


class _DLPrimerEstimator(BaseEstimator):
    """What the four estimators share: the training hyperparameters, building the
    optimizer, running ``dp.fit`` and reading back its history."""

    def __init__(self, optimizer="adam", learning_rate=0.01, momentum=0.9, epochs=200,
                 batch_size=None, l2=1e-4, standardize=True, early_stopping=None,
                 validation_split=None, tol=None, random_state=None, dtype="float64",
                 verbose=False):
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.epochs = epochs
        self.batch_size = batch_size
        self.l2 = l2
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.validation_split = validation_split
        self.tol = tol
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose

    def _check_params(self) -> tuple[type, int]:
        """(the numpy float type, an int seed drawn from random_state), once per fit;
        the optimizer's name and numbers are checked here too (by building it), before any
        work is done; ``dp.fit`` checks the rest."""
        self._make_optimizer()
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in (np.float32, np.float64):
            raise ValueError(f'dtype must be "float64" or "float32", got {self.dtype!r}')
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        return dtype.type, seed

    def _make_optimizer(self) -> optim.Optimizer:
        """``optim.by_name``; L-BFGS takes no learning rate, and ``epochs`` caps its
        iterations; only SGD takes ``momentum``."""
        if self.optimizer == "lbfgs":
            return optim.by_name("lbfgs", max_iter=self.epochs,
                                 tol=1e-8 if self.tol is None else self.tol)
        extra = {"momentum": self.momentum} if self.optimizer == "sgd" else {}
        return optim.by_name(self.optimizer, self.learning_rate, **extra)

    def _train(self, model, X, target, seed: int) -> None:
        """``dp.fit`` on validated X and encoded targets; sets the fitted attributes."""
        history = fit(
            model, X, target, optimizer=self._make_optimizer(), epochs=self.epochs,
            batch_size=self.batch_size, validation_split=self.validation_split, seed=seed,
            progress=bool(self.verbose), early_stopping=self.early_stopping,
            tol=None if self.optimizer == "lbfgs" else self.tol, l2=self.l2,
            standardize=bool(self.standardize),
        )
        model.feature_names = (list(self.feature_names_in_)
                               if hasattr(self, "feature_names_in_") else None)
        self.model_ = model
        self.history_ = history
        self.loss_curve_ = [float(v) for v in history.loss]
        self.validation_loss_curve_ = [float(v) for v in history.val_loss]
        self.n_iter_ = history.epochs

    def _validated(self, X) -> np.ndarray:
        """X at predict time: fitted estimator, same features, the model's dtype."""
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=self.model_.dtype)

    def _logits(self, X) -> np.ndarray:
        X = self._validated(X)
        with no_grad(), np.errstate(all="ignore"):
            z = self.model_.logits(self.model_.prepare(X)).data
        require_finite_outputs(self.model_, z)  # overflow inside the model, by row
        return z


class _Classifier(ClassifierMixin, _DLPrimerEstimator):
    """fit / predict / predict_proba / decision_function for the three classifiers."""

    def _build(self, p: int, K: int, seed: int, dtype):  # pragma: no cover - per subclass
        raise NotImplementedError

    def fit(self, X, y):
        """Train on X (n, p) and class labels y (n,) of any kind; returns self. Dask arrays
        train on Dask's exact full-batch path, never gathered."""
        dtype, seed = self._check_params()
        if is_dask(X) or is_dask(y):
            self.classes_ = fit_on_dask(self, X, y, lambda p, K: self._build(p, K, seed, dtype),
                                        self._make_optimizer(), seed)
            return self
        X, y = validate_data(self, X, y, dtype=dtype)
        check_classification_targets(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y has only one class ({self.classes_[0]!r}); a classifier "
                             "needs samples of at least two classes")
        model = self._build(X.shape[1], len(self.classes_), seed, dtype)
        self._train(model, X, indices.reshape(-1), seed)
        self.model_.classes_ = self.classes_  # model_.predict returns the original labels
        return self

    def partial_fit(self, X, y, classes=None):
        """One more epoch on the batch (X, y), from where the last call (or ``fit``) ended;
        ``classes`` (every label any batch will hold) is required on the very first call.
        Works with dask-ml's ``Incremental``; returns self."""
        fresh = not hasattr(self, "model_")
        dtype = self._check_params()[0] if fresh else self.model_.dtype
        X, y = validate_data(self, X, y, dtype=dtype, reset=fresh)
        if fresh:
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit: "
                                 "every label that any batch will hold, e.g. np.unique(y)")
            self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(f"classes holds {len(self.classes_)} label(s); a "
                                 "classifier needs at least two")
            model = self._build(X.shape[1], len(self.classes_), self._check_params()[1], dtype)
            model.classes_ = self.classes_
        unknown = sorted(set(np.unique(y).tolist()) - set(self.classes_.tolist()))
        if unknown:
            raise ValueError(f"y holds label(s) {unknown[:5]} not among classes "
                             f"{self.classes_.tolist()[:10]} given on the first call")
        partial_epoch(self, model if fresh else self.model_, X,
                      np.searchsorted(self.classes_, y), fresh, self._make_optimizer,
                      self._check_params()[1])
        return self

    def decision_function(self, X) -> np.ndarray:
        """Scores, as scikit-learn shapes them: for two classes (n,), positive for
        ``classes_[1]``: the logit z of a sigmoid output, or z₁ - z₀ of a softmax output
        (softmax over two classes is σ(z₁ - z₀)); for K > 2 classes the logits (n, K)."""
        z = self._logits(X)
        if self.model_.output == "sigmoid":
            return z.reshape(len(z))
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, K), columns in the order of ``classes_``; for a sigmoid
        output, [1 - ŷ, ŷ] with ŷ of eq. (1) the probability of ``classes_[1]``."""
        X = self._validated(X)
        y_hat = self.model_.predict_proba(X)
        if self.model_.output == "sigmoid":
            y_hat = y_hat.reshape(-1)
            return np.column_stack([1 - y_hat, y_hat])
        return y_hat

    def predict(self, X) -> np.ndarray:
        """Labels by decision rule (3) (τ = 0.5) or (6) (argmax), from ``classes_``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


@_fill_doc
class SigmoidClassifier(_Classifier):
    """Model I as a scikit-learn binary classifier: ŷ = σ_Sig(b₀ + wᵀx), eq. (1).

    Trained by minimizing the binary cross-entropy (plus the ``l2`` penalty); with
    ``optimizer="lbfgs"`` and ``l2 = 1 / (C n)`` this is scikit-learn's
    ``LogisticRegression(C=C)``. Labels may be of any kind, two distinct values.

    Parameters
    ----------
    {shared}

    Attributes
    ----------
    classes_ : ndarray (2,)
    model_ : dp.SigmoidModel
    {fitted}

    >>> from sklearn.datasets import load_breast_cancer
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = SigmoidClassifier(optimizer="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.score(X, y) > 0.95
    ((2, 2), True)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _build(self, p, K, seed, dtype):
        if K != 2:  # scikit-learn's checks look for its own wording, the first sentence
            raise ValueError(f"Only binary classification is supported. SigmoidClassifier "
                             f"separates two classes, but y has {K}: "
                             f"{self.classes_.tolist()[:10]}; use SoftmaxClassifier")
        return SigmoidModel(p, seed=seed, dtype=dtype)


@_fill_doc
class SoftmaxClassifier(_Classifier):
    """Model II as a scikit-learn classifier: ŷ = S_Softmax(b + W x), eq. (4), K ≥ 2.

    Trained by minimizing the categorical cross-entropy (plus the ``l2`` penalty); it is
    multinomial logistic regression. Predictions use rule (6), the argmax.

    Parameters
    ----------
    {shared}

    Attributes
    ----------
    classes_ : ndarray (K,)
    model_ : dp.SoftmaxModel
    {fitted}

    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxClassifier(random_state=0).fit(X, y)
    >>> clf.model_.W.shape, clf.predict_proba(X[:1]).shape
    ((3, 4), (1, 3))
    >>> clf.score(X, y) > 0.9
    True
    """

    def _build(self, p, K, seed, dtype):
        return SoftmaxModel(p, K, seed=seed, dtype=dtype)


class _FeedForwardEstimator(_DLPrimerEstimator):
    """Adds Model III's architecture to the training hyperparameters."""

    def __init__(self, hidden_layer_sizes=(32,), activation="relu", optimizer="adam",
                 learning_rate=0.01, momentum=0.9, epochs=200, batch_size=None, l2=1e-4,
                 standardize=True, early_stopping=None, validation_split=None, tol=None,
                 random_state=None, dtype="float64", verbose=False):
        super().__init__(optimizer=optimizer, learning_rate=learning_rate, momentum=momentum,
                         epochs=epochs, batch_size=batch_size, l2=l2, standardize=standardize,
                         early_stopping=early_stopping, validation_split=validation_split,
                         tol=tol, random_state=random_state, dtype=dtype, verbose=verbose)
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation

    def _sizes(self, p: int, q: int) -> list[int]:
        """[N_0 = p, N_1, ..., N_L = q], with the hidden widths and activation checked."""
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got "
                             f"{self.activation!r}")
        hidden = self.hidden_layer_sizes
        hidden = (hidden,) if isinstance(hidden, numbers.Integral) else hidden
        if isinstance(hidden, str) or not np.iterable(hidden) or not all(
                isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) and n >= 1
                for n in hidden):
            raise ValueError("hidden_layer_sizes must be a tuple of positive integers, one width "
                             "per hidden layer, as in scikit-learn's MLPClassifier (e.g. (32,) "
                             f"or (64, 32); () for none), got {self.hidden_layer_sizes!r}")
        return [p, *(int(n) for n in hidden), q]


@_fill_doc
class FeedForwardClassifier(_Classifier, _FeedForwardEstimator):
    """Model III as a scikit-learn classifier: the network of eqs. (7), (8) and (33).

    Layer widths are [p, *hidden_layer_sizes, q]: one sigmoid output (q = 1, eq. (1),
    binary cross-entropy) for two classes, a softmax output (q = K, eq. (4),
    cross-entropy) for more.

    Parameters
    ----------
    {hidden}
    {shared}

    Attributes
    ----------
    classes_ : ndarray (K,)
    model_ : dp.FeedForward
    {fitted}

    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = FeedForwardClassifier(hidden_layer_sizes=(8,), random_state=0).fit(X, y)
    >>> clf.model_.sizes, clf.model_.num_parameters()      # d = (4·8 + 8) + (8·3 + 3)
    ([4, 8, 3], 67)
    >>> clf.score(X, y) > 0.9
    True
    """

    def _build(self, p, K, seed, dtype):
        q, output = (1, "sigmoid") if K == 2 else (K, "softmax")
        return FeedForward(self._sizes(p, q), activation=self.activation, output=output,
                           seed=seed, dtype=dtype)


@_fill_doc
class FeedForwardRegressor(RegressorMixin, _FeedForwardEstimator):
    """Model III as a scikit-learn regressor: an identity output trained on the MSE (20).

    Layer widths are [p, *hidden_layer_sizes, q] for y of shape (n,) (q = 1) or (n, q).
    With ``standardize=True`` the targets are standardized too while training, which
    makes the default learning rate work whatever the units of y; the scaling is then
    folded into the last layer (W ← s W, b ← s b + ȳ), so ``model_`` predicts in the
    units of y. ``loss_curve_`` is then the MSE in standardized units.

    Parameters
    ----------
    {hidden}
    {shared}

    Attributes
    ----------
    model_ : dp.FeedForward
    n_outputs_ : int
    {fitted}

    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = FeedForwardRegressor(hidden_layer_sizes=(16,), random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape, reg.score(X, y) > 0.4
    ((3,), True)
    """

    def fit(self, X, y):
        """Train on X (n, p) and numeric targets y, (n,) or (n, q); returns self."""
        dtype, seed = self._check_params()
        X, y = validate_data(self, X, y, dtype=dtype, multi_output=True, y_numeric=True)
        self._y_ndim = y.ndim
        Y = y.reshape(len(y), -1).astype(np.float64)  # (n, q)
        self.n_outputs_ = Y.shape[1]
        peak = np.max(np.abs(Y), axis=0)  # (q,)
        limits = np.finfo(dtype)
        outside = (peak > limits.max) | ((peak > 0) & (peak < limits.tiny))
        if outside.any():
            raise ValueError(f"y has values up to {peak[outside][0]:.3g} in magnitude, outside "
                             f"what {np.dtype(dtype).name} holds ({limits.tiny:.3g} to "
                             f"{limits.max:.3g}); rescale y (e.g. change its units) or use "
                             'dtype="float64"')
        self._y_scaling = target_scaling(Y, peak) if self.standardize else (
            np.zeros(self.n_outputs_), np.ones(self.n_outputs_))
        model = FeedForward(self._sizes(X.shape[1], self.n_outputs_),
                            activation=self.activation, output="identity", seed=seed,
                            dtype=dtype)
        self._train(model, X, self._scaled(Y, dtype), seed)
        self._fold(model, +1)
        return self

    def _scaled(self, Y, dtype) -> np.ndarray:
        """(Y - ȳ) / s, computed without overflow."""
        y_mean, y_scale = self._y_scaling
        peak = np.where(np.max(np.abs(Y), axis=0) > 0, np.max(np.abs(Y), axis=0), 1.0)
        return ((Y / peak - y_mean / peak) * (peak / y_scale)).astype(dtype)

    def _fold(self, model, direction: int) -> None:
        """ŷ = ȳ + s ⊙ (b + W a): fold the target scaling into the last layer (+1), or
        take it out again (-1) before more training."""
        y_mean, y_scale = self._y_scaling
        last, dtype = model.layers[-1], model.dtype
        if direction > 0:
            last.W.data *= y_scale[:, None].astype(dtype)
            last.b.data[...] = (y_scale * last.b.data + y_mean).astype(dtype)
        else:
            last.W.data /= y_scale[:, None].astype(dtype)
            last.b.data[...] = ((last.b.data - y_mean) / y_scale).astype(dtype)

    def partial_fit(self, X, y):
        """One more epoch on the batch (X, y), from where the last call (or ``fit``) ended;
        inputs and targets standardized by the first batch's statistics; returns self."""
        fresh = not hasattr(self, "model_")
        dtype = self._check_params()[0] if fresh else self.model_.dtype
        X, y = validate_data(self, X, y, dtype=dtype, multi_output=True, y_numeric=True,
                             reset=fresh)
        Y = y.reshape(len(y), -1).astype(np.float64)
        if fresh:
            self._y_ndim, self.n_outputs_ = y.ndim, Y.shape[1]
            self._y_scaling = target_scaling(Y, np.max(np.abs(Y), axis=0)) if \
                self.standardize else (np.zeros(self.n_outputs_), np.ones(self.n_outputs_))
            model = FeedForward(self._sizes(X.shape[1], self.n_outputs_),
                                activation=self.activation, output="identity",
                                seed=self._check_params()[1], dtype=dtype)
        else:
            model = self.model_
            self._fold(model, -1)
        partial_epoch(self, model, X, self._scaled(Y, dtype), fresh, self._make_optimizer,
                      self._check_params()[1])
        self._fold(model, +1)
        return self

    def predict(self, X) -> np.ndarray:
        """ŷ = f^[L](... f^[1](x)): (n,) when fit on 1-D y, else (n, q)."""
        X = self._validated(X)
        y_hat = self.model_.predict(X)
        return y_hat.reshape(-1) if self._y_ndim == 1 else y_hat.reshape(len(y_hat), -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
