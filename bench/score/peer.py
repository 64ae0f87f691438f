"""The peer: the same CSV-to-CSV scoring job in pandas + scikit-learn, without reasons.

Fits a LogisticRegression on the Telco training data (one-hot categoricals, as a data scientist
would), then times the scoring pipeline: read_csv, one-hot, predict_proba, to_csv.
Prints one JSON line: {"seconds": pipeline wall time, "rows": n, "max_rss_kb": peak RSS}.
"""
import json
import resource
import sys
import time

import pandas as pd
from sklearn.linear_model import LogisticRegression

train_path, input_path, output_path = sys.argv[1:4]


def features(frame):
    frame = frame.drop(columns=["customerID", "Churn"], errors="ignore")
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"], errors="coerce").fillna(0)
    return pd.get_dummies(frame, dtype=float)


train = pd.read_csv(train_path)
x_train = features(train)
model = LogisticRegression(max_iter=2000).fit(x_train, train["Churn"] == "Yes")

started = time.perf_counter()
scoring = pd.read_csv(input_path)
x = features(scoring).reindex(columns=x_train.columns, fill_value=0.0)
scoring["churn_probability"] = model.predict_proba(x)[:, 1]
scoring.to_csv(output_path, index=False)
seconds = time.perf_counter() - started

print(json.dumps({
    "seconds": seconds,
    "rows": len(scoring),
    "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
