"""The peers of bench/model: pandas + scikit-learn on the synthetic SaaS export, as a data scientist would.

Features, made by hand from the training file (the same code is applied to the test file):
- dropped: `Account ID` (an identifier) and `Company` (free text);
- money: `MRR ($)` parsed from "$1,234.50" / "1234.5" / blank (blank -> NaN);
- dates: `tenure_days` = as-of - `Signup Date` (m/d/yyyy) and `days_since_login` = as-of -
  `Last Login` (ISO 8601, UTC), in days; a blank `Last Login` (never logged in) stays NaN;
- numbers: Seats, Support Tickets (90d), NPS, Sessions (30d), Sessions (prev 30d), Payment
  Failures (12m) as they are (blanks -> NaN); `Champion Left` Yes/No -> 1/0;
- categoricals: Plan (trimmed and title-cased: the export mixes "growth", "GROWTH", " Growth "),
  Contract, Billing, Country, Account Owner.

Models (mode):
- hgb: HistGradientBoostingClassifier, categoricals ordinal-encoded from the training file's
  categories (unseen -> NaN) and passed as `categorical_features`; NaN left to HGB's own
  missing-value handling. Light tuning: early_stopping=True on a 10% stratified validation
  fraction (the default), n_iter_no_change=10 (default), max_iter raised from 100 to 1000 so that
  early stopping, not the cap, ends training; learning_rate 0.1, max_leaf_nodes 31,
  min_samples_leaf 20, l2_regularization 0 (all defaults); random_state fixed.
- logistic: LogisticRegression (C=1, lbfgs, max_iter 2000) on the same features: numbers
  median-imputed with missing-indicator columns (so "never logged in", "no NPS answer" and "no
  ticket count" are flags) and standardised; categoricals one-hot encoded (unknown ignored).
- bayes: no model; the true probabilities of the test file (joined on Account ID) as predictions,
  the best any model can do on these labels.

Usage: peer.py <hgb|logistic|bayes> <train.csv> <test.csv> <test-truth.csv> <as-of YYYY-MM-DD>
Prints one JSON line: {seconds (read_csv of the training file -> fit done; 0 for bayes), rocAuc,
brier, logLoss, rows (test), trainRows, positiveRate (test), details, versions}.
"""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SEED = 7919
LABEL = "Churned?"

mode, train_path, test_path, truth_path, as_of_text = sys.argv[1:6]
if mode not in ("hgb", "logistic", "bayes"):
    raise SystemExit(f"unknown mode {mode}")
as_of = pd.Timestamp(as_of_text, tz="UTC")

NUMERIC = [
    "Seats",
    "MRR ($)",
    "Support Tickets (90d)",
    "NPS",
    "Sessions (30d)",
    "Sessions (prev 30d)",
    "Payment Failures (12m)",
    "Champion Left",
    "tenure_days",
    "days_since_login",
]
CATEGORICAL = ["Plan", "Contract", "Billing", "Country", "Account Owner"]


def read(path):
    # Everything as text first: the columns are parsed by hand below.
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def labels(frame):
    return (frame[LABEL].str.strip().str.lower() == "yes").to_numpy()


def number(series):
    return pd.to_numeric(series.str.strip().replace("", np.nan), errors="coerce")


def features(frame):
    x = pd.DataFrame(index=frame.index)
    for column in NUMERIC[:7]:
        text = frame[column]
        if column == "MRR ($)":
            text = text.str.replace(r"[$,\s]", "", regex=True)
        x[column] = number(text)
    x["Champion Left"] = (frame["Champion Left"].str.strip().str.lower() == "yes").astype(float)
    signup = pd.to_datetime(frame["Signup Date"], format="%m/%d/%Y", errors="coerce", utc=True)
    x["tenure_days"] = (as_of - signup).dt.total_seconds() / 86_400
    login = pd.to_datetime(frame["Last Login"].replace("", np.nan), errors="coerce", utc=True)
    x["days_since_login"] = (as_of - login).dt.total_seconds() / 86_400  # never -> NaN
    for column in CATEGORICAL:
        x[column] = frame[column].str.strip().replace("", np.nan)
    x["Plan"] = x["Plan"].str.title()
    return x


def metrics(y, p):
    return {
        "rocAuc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "logLoss": float(log_loss(y, p)),
    }


def fit_hgb(x, y):
    categories = {c: sorted(x[c].dropna().unique()) for c in CATEGORICAL}

    def encode(frame):
        out = frame[NUMERIC].copy()
        for c in CATEGORICAL:
            codes = pd.Categorical(frame[c], categories=categories[c]).codes.astype(float)
            out[c] = np.where(codes < 0, np.nan, codes)
        return out

    model = HistGradientBoostingClassifier(
        categorical_features=[c in CATEGORICAL for c in NUMERIC + CATEGORICAL],
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_iter=1000,
        random_state=SEED,
    ).fit(encode(x), y)
    details = {
        "iterations": int(model.n_iter_),
        "features": len(NUMERIC) + len(CATEGORICAL),
        "categorical": len(CATEGORICAL),
    }
    return (lambda frame: model.predict_proba(encode(frame))[:, 1]), details


def fit_logistic(x, y):
    numeric = Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True)),
        ("scale", StandardScaler()),
    ])
    categorical = Pipeline([
        ("impute", SimpleImputer(strategy="constant", fill_value="(blank)")),
        ("onehot", OneHotEncoder(handle_unknown="ignore")),
    ])
    model = Pipeline([
        ("prepare", ColumnTransformer([
            ("numeric", numeric, NUMERIC),
            ("categorical", categorical, CATEGORICAL),
        ])),
        ("model", LogisticRegression(max_iter=2000)),
    ]).fit(x, y)
    columns = model.named_steps["prepare"].transform(x.head(1)).shape[1]
    details = {"features": int(columns), "iterations": int(model.named_steps["model"].n_iter_[0])}
    return (lambda frame: model.predict_proba(frame)[:, 1]), details


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    started = time.perf_counter()
    train_rows = 0
    if mode != "bayes":
        train = read(train_path)
        y_train = labels(train)
        x_train = features(train)
        predict, details = (fit_hgb if mode == "hgb" else fit_logistic)(x_train, y_train)
        train_rows = len(train)
    seconds = time.perf_counter() - started if mode != "bayes" else 0.0

    test = read(test_path)
    y_test = labels(test)
    if mode == "bayes":
        truth = pd.read_csv(truth_path, dtype={"Account ID": str})
        joined = test[["Account ID"]].merge(truth, on="Account ID", how="left", validate="1:1")
        if joined["true_probability"].isna().any() or len(joined) != len(test):
            raise SystemExit("the truth file does not cover every test row")
        p = joined["true_probability"].to_numpy()
        details = {"meanTrueProbability": float(p.mean())}
    else:
        p = predict(features(test))

for w in caught:
    print(f"warning: {w.category.__name__}: {w.message}", file=sys.stderr)

print(json.dumps({
    "mode": mode,
    "seconds": seconds,
    **metrics(y_test, p),
    "rows": int(len(y_test)),
    "trainRows": int(train_rows),
    "positiveRate": float(y_test.mean()),
    "details": details,
    "warnings": len(caught),
    "versions": {"sklearn": sklearn.__version__, "pandas": pd.__version__, "numpy": np.__version__},
}))
