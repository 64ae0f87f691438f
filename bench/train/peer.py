"""The peer: churnline's training protocol written in pandas + scikit-learn, as a data scientist would.

1. read_csv; TotalCharges coerced to numeric (blanks become NaN and are imputed with the median
   inside the pipeline); categoricals one-hot encoded with get_dummies; numerics standardised by a
   StandardScaler inside a Pipeline.
2. The penalty: LogisticRegressionCV(Cs=10, StratifiedKFold(5, shuffle), neg_log_loss). As is usual
   with LogisticRegressionCV in a Pipeline, the imputer and scaler are fitted on all rows before its
   inner folds; it refits on all rows with the chosen C (its default, refit=True).
3. Reported metrics: RepeatedStratifiedKFold(5 splits, 3 repeats); per repeat, plain out-of-fold
   predict_proba of Pipeline(imputer + scaler, LogisticRegression(C=best)) refitted on each training
   fold (so nothing leaks), and ROC AUC / Brier / log loss of those probabilities; the mean of the
   repeats. No calibration step.
4. The final model: the same pipeline fitted on every row (pickled when a path is given).

Usage: peer.py <input.csv> [<model.pkl>]
Prints one JSON line: {seconds (read_csv → final fit), rows, max_rss_kb, roc_auc, brier, log_loss,
best_c, per_repeat, threads, convergence_warnings, versions}.
"""
import json
import pickle
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

SEED = 7919
FOLDS = 5
REPEATS = 3
MAX_ITER = 1000

input_path = sys.argv[1]
model_path = sys.argv[2] if len(sys.argv) > 2 else None


def preprocessing(numeric):
    scale = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    return ColumnTransformer([("numeric", scale, numeric)], remainder="passthrough")


def threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [
        {
            "api": pool.get("internal_api"),
            "user_api": pool.get("user_api"),
            "num_threads": pool.get("num_threads"),
            "threading_layer": pool.get("threading_layer"),
        }
        for pool in threadpool_info()
    ]


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    started = time.perf_counter()

    frame = pd.read_csv(input_path)
    y = (frame["Churn"] == "Yes").to_numpy()
    frame = frame.drop(columns=["customerID", "Churn"])
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"], errors="coerce")
    numeric = frame.select_dtypes("number").columns.tolist()
    x = pd.get_dummies(frame, dtype=float)

    # 1. The penalty.
    selection = Pipeline([
        ("prepare", preprocessing(numeric)),
        ("model", LogisticRegressionCV(
            Cs=10,
            cv=StratifiedKFold(FOLDS, shuffle=True, random_state=SEED),
            scoring="neg_log_loss",
            max_iter=MAX_ITER,
        )),
    ]).fit(x, y)
    best_c = float(selection.named_steps["model"].C_[0])

    def model():
        return Pipeline([
            ("prepare", preprocessing(numeric)),
            ("model", LogisticRegression(C=best_c, max_iter=MAX_ITER)),
        ])

    # 2. Repeated cross-validated metrics from out-of-fold probabilities.
    splits = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=REPEATS, random_state=SEED + 1)
    out_of_fold = np.full((REPEATS, len(y)), np.nan)
    for split, (train, test) in enumerate(splits.split(x, y)):
        fitted = model().fit(x.iloc[train], y[train])
        out_of_fold[split // FOLDS, test] = fitted.predict_proba(x.iloc[test])[:, 1]
    per_repeat = [
        {
            "roc_auc": roc_auc_score(y, p),
            "brier": brier_score_loss(y, p),
            "log_loss": log_loss(y, p),
        }
        for p in out_of_fold
    ]

    # 3. The final model on every row.
    final = model().fit(x, y)
    if model_path:
        with open(model_path, "wb") as out:
            pickle.dump(final, out)

    seconds = time.perf_counter() - started

convergence = sum(1 for w in caught if issubclass(w.category, ConvergenceWarning))
for w in caught:
    if not issubclass(w.category, ConvergenceWarning):
        print(f"warning: {w.category.__name__}: {w.message}", file=sys.stderr)

print(json.dumps({
    "seconds": seconds,
    "rows": int(len(y)),
    "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "roc_auc": float(np.mean([r["roc_auc"] for r in per_repeat])),
    "brier": float(np.mean([r["brier"] for r in per_repeat])),
    "log_loss": float(np.mean([r["log_loss"] for r in per_repeat])),
    "best_c": best_c,
    "per_repeat": per_repeat,
    "features": int(x.shape[1]),
    "threads": threads(),
    "convergence_warnings": convergence,
    "versions": {"sklearn": sklearn.__version__, "pandas": pd.__version__, "numpy": np.__version__},
}))
