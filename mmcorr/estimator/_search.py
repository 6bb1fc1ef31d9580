"""scikit-learn's ``GridSearchCV`` that also takes a list of arrays, one per modality.

scikit-learn counts samples with ``len(X)``, so a plain list of two (n, d) arrays would look like
two samples; this subclass wraps such a list in :class:`~mmcorr.estimator._inputs.MultiView`
(indexable by rows) and is otherwise scikit-learn's own, so ``best_estimator_`` is a fitted
``CorrelationModel`` and scoring defaults to its ``score`` (the held-out canonical correlation sum).
"""

from __future__ import annotations

from typing import Any

from sklearn.model_selection import GridSearchCV as _SklearnGridSearchCV

from mmcorr.estimator._inputs import MultiView, check_views

__all__ = ["GridSearchCV"]


class GridSearchCV(_SklearnGridSearchCV):
    """``sklearn.model_selection.GridSearchCV``; ``fit`` also accepts ``[X1, X2, ...]``.

    Example: ``GridSearchCV(CorrelationModel("cca"), {"latent_dim": [2, 4]}, cv=3).fit([X1, X2])``.
    Each fold's model is scored on the held-out rows of every view.
    """

    def fit(self, X: Any, y: Any = None, **params: Any) -> GridSearchCV:
        if isinstance(X, list | tuple):
            X = MultiView(tuple(check_views(X, "X")))
        super().fit(X, y, **params)
        return self
